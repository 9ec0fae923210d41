-- The payment-token PKI: the platform plays Apple's role for in-app and web payments. A root
-- ("Tessera Root CA"), the intermediate that issues everything else ("Tessera Application Integration
-- CA"), the leaves that sign payment tokens (one EC for EC_v1, one RSA for RSA_v1, as real tokens do),
-- and the merchants' payment-processing and identity certificates. Private keys of the platform's
-- authorities are stored only wrapped by the KEK; merchants' private keys are never stored.

ALTER TABLE platform.authorities DROP CONSTRAINT authorities_purpose_check;
ALTER TABLE platform.authorities ADD CONSTRAINT authorities_purpose_check
  CHECK (purpose IN ('device_ca', 'payment_root', 'payment_intermediate', 'payment_signing_ec', 'payment_signing_rsa'));

ALTER TABLE platform.authorities
  -- The authority whose key signed this one's certificate (none for self-signed roots).
  ADD COLUMN parent_id text REFERENCES platform.authorities (id),
  -- Certificate serial number, lower-case hex as in the certificate.
  ADD COLUMN serial text CHECK (serial ~ '^[0-9a-f]{2,40}$'),
  ADD COLUMN not_after timestamptz,
  -- A retired signing leaf signs no more tokens; its certificate stays valid, so tokens it signed
  -- still verify until it expires.
  ADD COLUMN retired_at timestamptz;

-- Every payment authority records its place in the chain; the device CA predates these columns.
ALTER TABLE platform.authorities ADD CONSTRAINT authorities_payment_chain_check CHECK (
  purpose = 'device_ca'
  OR (serial IS NOT NULL AND not_after IS NOT NULL
      AND (parent_id IS NULL) = (purpose = 'payment_root')
      AND active = (retired_at IS NULL))
);
CREATE UNIQUE INDEX authorities_serial_unique ON platform.authorities (serial) WHERE serial IS NOT NULL;
-- (authorities_one_active from 0002 already keeps one active authority per purpose: two processes
-- creating the hierarchy at once, or two rotations at once, cannot both win.)

CREATE TABLE platform.merchant_certificates (
  id text PRIMARY KEY CHECK (id LIKE 'mcert\_%'),
  merchant_identifier text NOT NULL CHECK (merchant_identifier ~ '^merchant\.[A-Za-z0-9][A-Za-z0-9._-]{0,118}$'),
  team_id text NOT NULL CHECK (team_id ~ '^[A-Z0-9]{10}$'),
  kind text NOT NULL CHECK (kind IN ('processing', 'identity')),
  key_type text NOT NULL CHECK (key_type IN ('ec_p256', 'rsa_2048')),
  -- base64(SHA-256(DER SubjectPublicKeyInfo)): the header.publicKeyHash of tokens for this key.
  public_key_hash text NOT NULL CHECK (public_key_hash ~ '^[A-Za-z0-9+/]{43}=$'),
  issuer_id text NOT NULL REFERENCES platform.authorities (id),
  serial text NOT NULL CHECK (serial ~ '^[0-9a-f]{2,40}$'),
  -- The certificate only: the merchant's private key is never stored.
  certificate_pem text NOT NULL CHECK (certificate_pem LIKE '-----BEGIN CERTIFICATE-----%'),
  not_before timestamptz NOT NULL,
  not_after timestamptz NOT NULL,
  status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'revoked')),
  revoked_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT merchant_certificates_validity_check CHECK (not_after > not_before),
  CONSTRAINT merchant_certificates_revoked_check CHECK ((status = 'revoked') = (revoked_at IS NOT NULL)),
  CONSTRAINT merchant_certificates_serial_unique UNIQUE (issuer_id, serial)
);
-- Several active processing certificates per merchant (rotation: tokens name their key by
-- publicKeyHash), but one key is certified once per merchant at a time, and never both for
-- processing and for identity.
CREATE UNIQUE INDEX merchant_certificates_key_unique ON platform.merchant_certificates (merchant_identifier, public_key_hash) WHERE status = 'active';
CREATE INDEX merchant_certificates_merchant ON platform.merchant_certificates (merchant_identifier, kind, created_at DESC);

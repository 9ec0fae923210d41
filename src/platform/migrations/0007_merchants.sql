-- The merchant registry (flow 3): merchants that accept in-app and web payments, the web domains they
-- verified, and the merchant sessions the platform issued to them over mutual TLS. Their certificates
-- live in platform.merchant_certificates (0004), keyed by merchant identifier.

CREATE TABLE platform.merchants (
  id text PRIMARY KEY CHECK (id LIKE 'mch\_%'),
  -- Apple-style reverse-DNS merchant identifier, e.g. merchant.com.example.shop.
  merchant_identifier text NOT NULL CHECK (merchant_identifier ~ '^merchant\.[A-Za-z0-9][A-Za-z0-9._-]{0,118}$'),
  team_id text NOT NULL CHECK (team_id ~ '^[A-Z0-9]{10}$'),
  display_name text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 64),
  status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT merchants_identifier_unique UNIQUE (merchant_identifier)
);

CREATE TABLE platform.merchant_domains (
  id text PRIMARY KEY CHECK (id LIKE 'mdom\_%'),
  merchant_id text NOT NULL REFERENCES platform.merchants (id) ON DELETE CASCADE,
  -- Lower-case host name; a port only for loopback hosts (sandbox pages on this machine).
  domain text NOT NULL CHECK (domain = lower(domain) AND length(domain) BETWEEN 1 AND 253),
  -- What the merchant serves at /.well-known/apple-developer-merchantid-domain-association (public).
  association text NOT NULL CHECK (association ~ '^[0-9a-f]+$' AND length(association) BETWEEN 64 AND 4096),
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'verified')),
  verified_at timestamptz,
  last_checked_at timestamptz,
  -- Why the last verification failed (a fixed phrase, never the fetched content).
  last_failure text CHECK (length(last_failure) <= 200),
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT merchant_domains_verified_check CHECK ((status = 'verified') = (verified_at IS NOT NULL)),
  CONSTRAINT merchant_domains_unique UNIQUE (merchant_id, domain)
);

-- Merchant sessions answered to /paymentservices/startSession: the opaque object carries a signature,
-- this row makes it single use (used_at set once, atomically) and ties it to the identity certificate
-- that asked for it.
CREATE TABLE platform.merchant_sessions (
  id text PRIMARY KEY CHECK (id ~ '^[0-9A-F]{64}$'),
  merchant_id text NOT NULL REFERENCES platform.merchants (id) ON DELETE CASCADE,
  identity_certificate_id text NOT NULL REFERENCES platform.merchant_certificates (id),
  initiative text NOT NULL CHECK (initiative IN ('web', 'in_app')),
  initiative_context text NOT NULL CHECK (length(initiative_context) BETWEEN 1 AND 255),
  domain_name text NOT NULL,
  display_name text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 64),
  nonce text NOT NULL CHECK (nonce ~ '^[0-9a-f]{8}$'),
  issued_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  used_at timestamptz,
  CONSTRAINT merchant_sessions_expiry_check CHECK (expires_at > issued_at)
);
CREATE INDEX merchant_sessions_expires ON platform.merchant_sessions (expires_at);

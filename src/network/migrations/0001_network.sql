-- The card networks' token service (one schema, four brands): token requestors, the networks' card-data
-- encryption keys, the HSM's issuer master keys (wrapped), the token vault and PARs. No card number,
-- token number or key is stored in clear: numbers are AES-256-GCM under a data key (data_keys, wrapped
-- by the KEK) plus a keyed HMAC fingerprint; private and master keys are wrapped by the KEK.
CREATE SCHEMA IF NOT EXISTS network;

-- Envelope encryption data keys (src/infra/keys/envelope.ts), exactly that DDL.
CREATE TABLE network.data_keys (
  id text PRIMARY KEY CHECK (id LIKE 'dk\_%'),
  kek_id text NOT NULL,
  wrapped bytea NOT NULL,
  active boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX data_keys_one_active ON network.data_keys (active) WHERE active;

-- Token requestors (wallet platforms): id = 3-digit TSP code of the brand + 8 assigned digits (EMV 9F19).
CREATE TABLE network.token_requestors (
  id text PRIMARY KEY CHECK (id ~ '^[0-9]{11}$'),
  brand text NOT NULL CHECK (brand IN ('visa', 'mastercard', 'amex', 'discover')),
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  -- The requestor's device CA: the networks encrypt payloads only to SE keys it certified.
  device_ca_pem text NOT NULL CHECK (device_ca_pem LIKE '-----BEGIN CERTIFICATE-----%'),
  status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT token_requestors_tsp_code CHECK (
    substr(id, 1, 3) = CASE brand WHEN 'visa' THEN '401' WHEN 'mastercard' THEN '501' WHEN 'amex' THEN '301' ELSE '601' END
  )
);

-- Each brand's P-256 card-data encryption key (the device encrypts card data to it as a JWE).
CREATE TABLE network.encryption_keys (
  kid text PRIMARY KEY CHECK (kid ~ '^[a-z]+-enc-[0-9A-Za-z]{8,}$'),
  brand text NOT NULL CHECK (brand IN ('visa', 'mastercard', 'amex', 'discover')),
  public_jwk jsonb NOT NULL,
  kek_id text NOT NULL,
  -- PKCS#8 of the private key, wrapped by the KEK (context "network.encryption_keys:<kid>").
  private_wrapped bytea NOT NULL,
  active boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX encryption_keys_one_active ON network.encryption_keys (brand) WHERE active;

-- The HSM's issuer master keys, one per brand and token range, wrapped by the KEK (context
-- "network.hsm_keys:<id>"). 3DES double-length for Visa and Mastercard, AES-128 for Amex and Discover.
CREATE TABLE network.hsm_keys (
  id text PRIMARY KEY CHECK (id ~ '^imk_[a-z]+_[0-9]{6}$'),
  brand text NOT NULL CHECK (brand IN ('visa', 'mastercard', 'amex', 'discover')),
  token_bin text NOT NULL CHECK (token_bin ~ '^[0-9]{6}$'),
  alg text NOT NULL CHECK (alg IN ('3des', 'aes')),
  kek_id text NOT NULL,
  wrapped bytea NOT NULL,
  kcv text NOT NULL CHECK (kcv ~ '^[0-9A-F]{4}$'),
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT hsm_keys_range_unique UNIQUE (brand, token_bin),
  CONSTRAINT hsm_keys_alg_of_brand CHECK ((brand IN ('visa', 'mastercard')) = (alg = '3des'))
);

-- Payment account references (EMV 9F24): exactly one per card number (by its keyed fingerprint), 29
-- characters = the brand's 4-character BIN-controller id + 25 from the issuer's stable per-card seed (or
-- random when the issuer gives none). A reissued card (new number, same account) keeps its PAR, so one
-- PAR may cover several fingerprints; a fingerprint never has two.
CREATE TABLE network.par_accounts (
  pan_fingerprint bytea PRIMARY KEY CHECK (length(pan_fingerprint) = 32),
  par text NOT NULL CHECK (par ~ '^[0-9A-Z]{29}$'),
  brand text NOT NULL CHECK (brand IN ('visa', 'mastercard', 'amex', 'discover')),
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX par_accounts_par ON network.par_accounts (par);

-- The token vault.
CREATE TABLE network.tokens (
  token_ref text PRIMARY KEY CHECK (token_ref LIKE 'tok\_%'),
  brand text NOT NULL CHECK (brand IN ('visa', 'mastercard', 'amex', 'discover')),
  token_pan_encrypted bytea NOT NULL,
  token_fingerprint bytea NOT NULL CHECK (length(token_fingerprint) = 32),
  token_last4 text NOT NULL CHECK (token_last4 ~ '^[0-9]{4}$'),
  token_exp_month smallint NOT NULL CHECK (token_exp_month BETWEEN 1 AND 12),
  token_exp_year smallint NOT NULL CHECK (token_exp_year BETWEEN 2000 AND 2099),
  psn text NOT NULL DEFAULT '00' CHECK (psn ~ '^[0-9]{2}$'),
  pan_encrypted bytea NOT NULL,
  pan_fingerprint bytea NOT NULL CHECK (length(pan_fingerprint) = 32),
  card_last4 text NOT NULL CHECK (card_last4 ~ '^[0-9]{4}$'),
  card_exp_month smallint NOT NULL CHECK (card_exp_month BETWEEN 1 AND 12),
  card_exp_year smallint NOT NULL CHECK (card_exp_year BETWEEN 2000 AND 2099),
  product text CHECK (product IN ('credit', 'debit', 'prepaid')),
  issuer_id text NOT NULL CHECK (length(issuer_id) BETWEEN 1 AND 64),
  issuer_name text,
  issuer_verification_id text,
  -- Known once the issuer has answered (built from its PAR seed).
  par text CHECK (par ~ '^[0-9A-Z]{29}$'),
  token_requestor_id text NOT NULL REFERENCES network.token_requestors (id),
  device_id text NOT NULL CHECK (length(device_id) BETWEEN 1 AND 64),
  device_kind text NOT NULL CHECK (device_kind IN ('phone', 'watch')),
  -- The device SE's certificate (public): payloads are encrypted to its key, also after a step-up.
  se_certificate_pem text NOT NULL CHECK (se_certificate_pem LIKE '-----BEGIN CERTIFICATE-----%'),
  wallet_account_id text NOT NULL CHECK (length(wallet_account_id) BETWEEN 1 AND 64),
  status text NOT NULL DEFAULT 'inactive' CHECK (status IN ('inactive', 'active', 'suspended', 'deleted')),
  -- ID&V: pending (reserved, issuer not yet answered), green, yellow (awaiting the code), verified
  -- (yellow then the code), red (declined), failed (issuer error or unreachable).
  idv text NOT NULL DEFAULT 'pending' CHECK (idv IN ('pending', 'green', 'yellow', 'verified', 'red', 'failed')),
  decline_code text CHECK (decline_code IS NULL OR length(decline_code) BETWEEN 1 AND 64),
  -- Domain restriction controls.
  domains text[] NOT NULL DEFAULT '{contactless,inapp}'
    CHECK (cardinality(domains) BETWEEN 1 AND 4 AND domains <@ ARRAY['contactless', 'inapp', 'ecommerce', 'card_on_file']::text[]),
  cryptogram_required boolean NOT NULL DEFAULT true,
  cvn text NOT NULL CHECK (cvn IN ('18', '20', 'A1', 'D1')),
  -- Highest ATC accepted so far (in-store authorizations): the ATC only goes up.
  atc_high_water integer NOT NULL DEFAULT 0 CHECK (atc_high_water BETWEEN 0 AND 65535),
  activated_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT tokens_token_fingerprint_unique UNIQUE (token_fingerprint),
  CONSTRAINT tokens_active_needs_idv CHECK (status IN ('inactive', 'deleted') OR idv IN ('green', 'verified')),
  CONSTRAINT tokens_par_once_answered CHECK (idv IN ('pending', 'red', 'failed') OR par IS NOT NULL),
  CONSTRAINT tokens_cvn_of_brand CHECK (
    cvn = CASE brand WHEN 'visa' THEN '18' WHEN 'mastercard' THEN '20' WHEN 'amex' THEN 'A1' ELSE 'D1' END
  )
);
-- One token per device per card (the same card on another device gets another token).
CREATE UNIQUE INDEX tokens_device_card_unique ON network.tokens (device_id, pan_fingerprint) WHERE status <> 'deleted';
CREATE INDEX tokens_pan_fingerprint ON network.tokens (pan_fingerprint);
CREATE INDEX tokens_requestor ON network.tokens (token_requestor_id, created_at);

-- Step-up verifications (yellow path): the network's verification object over the issuer's.
CREATE TABLE network.verifications (
  id text PRIMARY KEY CHECK (id LIKE 'ver\_%'),
  token_ref text NOT NULL REFERENCES network.tokens (token_ref),
  issuer_id text NOT NULL,
  issuer_verification_id text NOT NULL CHECK (length(issuer_verification_id) BETWEEN 1 AND 64),
  methods jsonb NOT NULL CHECK (jsonb_typeof(methods) = 'array'),
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'confirmed', 'failed')),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT verifications_token_unique UNIQUE (token_ref)
);

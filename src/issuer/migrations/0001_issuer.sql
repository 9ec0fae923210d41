-- The issuing banks' own data: accounts, cards (the card number only encrypted), identity and
-- verification at provisioning, and the sandbox's simulated SMS / e-mail. Several issuers share the
-- schema; every row says which issuer it belongs to. No CVV is ever stored, not even encrypted.
CREATE SCHEMA IF NOT EXISTS issuer;

CREATE TABLE issuer.issuers (
  id text PRIMARY KEY CHECK (id LIKE 'iss\_%' AND length(id) <= 64),
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
  country text NOT NULL DEFAULT 'US' CHECK (country ~ '^[A-Z]{2}$'),
  created_at timestamptz NOT NULL DEFAULT now()
);

-- The card ranges an issuer issues from. One prefix has one owner (the network routes by it).
CREATE TABLE issuer.bin_ranges (
  prefix text PRIMARY KEY CHECK (prefix ~ '^[0-9]{6,8}$'),
  issuer_id text NOT NULL REFERENCES issuer.issuers (id),
  network text NOT NULL CHECK (network IN ('visa', 'mastercard', 'amex', 'discover'))
);
CREATE INDEX bin_ranges_issuer ON issuer.bin_ranges (issuer_id);

-- Key material of each issuer's HSM module (CVV keys, MAC keys), only ever wrapped by the KEK.
CREATE TABLE issuer.issuer_keys (
  issuer_id text NOT NULL REFERENCES issuer.issuers (id),
  purpose text NOT NULL CHECK (purpose IN ('cvk', 'sandbox_cvv', 'otp')),
  kek_id text NOT NULL,
  wrapped bytea NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (issuer_id, purpose)
);

-- Amounts in minor units of `currency`. Available funds = posted_balance + credit_limit (- holds, once the
-- in-store flow adds them): a debit account has credit_limit 0, a credit account a negative balance when owed.
CREATE TABLE issuer.accounts (
  id text PRIMARY KEY CHECK (id LIKE 'acct\_%'),
  issuer_id text NOT NULL REFERENCES issuer.issuers (id),
  holder_name text NOT NULL CHECK (length(holder_name) BETWEEN 1 AND 100),
  currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  posted_balance bigint NOT NULL DEFAULT 0,
  credit_limit bigint NOT NULL DEFAULT 0 CHECK (credit_limit >= 0),
  status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'frozen', 'closed')),
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX accounts_issuer ON issuer.accounts (issuer_id);

CREATE TABLE issuer.cards (
  id text PRIMARY KEY CHECK (id LIKE 'icard\_%'),
  account_id text NOT NULL REFERENCES issuer.accounts (id),
  network text NOT NULL CHECK (network IN ('visa', 'mastercard', 'amex', 'discover')),
  -- AES-256-GCM under a data key of issuer.data_keys, bound to 'issuer:pan:<card id>'.
  pan_encrypted bytea NOT NULL,
  -- HMAC-SHA-256 under the issuer schema's fingerprint key (PCI DSS 3.5.1.1): how a card is found.
  pan_fingerprint bytea NOT NULL CHECK (length(pan_fingerprint) = 32),
  last4 text NOT NULL CHECK (last4 ~ '^[0-9]{4}$'),
  exp_month smallint NOT NULL CHECK (exp_month BETWEEN 1 AND 12),
  exp_year smallint NOT NULL CHECK (exp_year BETWEEN 2000 AND 2099),
  product text NOT NULL CHECK (product IN ('credit', 'debit')),
  status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'blocked', 'closed', 'expired')),
  -- Stable per card (kept across a reissue): the network builds the PAR from it; reveals nothing of the PAN.
  par_seed text NOT NULL CHECK (par_seed ~ '^[0-9A-Z]{25}$'),
  -- How the CVV is checked. 'cvk': recomputed from the PAN and expiry under the issuer's CVV key (how
  -- issuers really do it). 'sandbox_fixed': the documented test cards, whose CVV is a published constant;
  -- only an HMAC of it under the issuer's sandbox-CVV key is kept.
  cvv_method text NOT NULL CHECK (cvv_method IN ('cvk', 'sandbox_fixed')),
  sandbox_cvv_mac bytea CHECK (sandbox_cvv_mac IS NULL OR length(sandbox_cvv_mac) = 32),
  -- Sandbox test cards take any future expiry (the documentation says "any future date").
  accept_any_future_expiry boolean NOT NULL DEFAULT false,
  -- The sandbox's stand-in for the issuer's risk engine at provisioning.
  idv_policy text NOT NULL DEFAULT 'green' CHECK (idv_policy IN ('green', 'yellow', 'red')),
  -- Where the simulated one-time codes go (sandbox destinations; never real ones).
  cardholder_phone text CHECK (cardholder_phone IS NULL OR cardholder_phone ~ '^\+[0-9]{8,15}$'),
  cardholder_email text CHECK (cardholder_email IS NULL OR cardholder_email ~ '^[^@\s]+@[^@\s]+$'),
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT cards_pan_fingerprint_unique UNIQUE (pan_fingerprint),
  CONSTRAINT cards_par_seed_unique UNIQUE (par_seed),
  CONSTRAINT cards_cvv_material CHECK ((cvv_method = 'sandbox_fixed') = (sandbox_cvv_mac IS NOT NULL))
);
CREATE INDEX cards_account ON issuer.cards (account_id);

-- Failed CVV checks, counted per card over a sliding 24 hours ("too many attempts").
CREATE TABLE issuer.cvv_failures (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  card_id text NOT NULL REFERENCES issuer.cards (id),
  failed_at timestamptz NOT NULL
);
CREATE INDEX cvv_failures_card ON issuer.cvv_failures (card_id, failed_at);

-- Identity and verification for one token request (green / yellow with a one-time code / red).
CREATE TABLE issuer.verifications (
  id text PRIMARY KEY CHECK (id LIKE 'civ\_%'),
  issuer_id text NOT NULL REFERENCES issuer.issuers (id),
  card_id text NOT NULL REFERENCES issuer.cards (id),
  -- Who asked ('network:<owner id>'): only they may continue it.
  requester text NOT NULL CHECK (length(requester) BETWEEN 1 AND 200),
  network text NOT NULL CHECK (network IN ('visa', 'mastercard', 'amex', 'discover')),
  token_requestor_id text NOT NULL CHECK (token_requestor_id ~ '^[0-9]{11}$'),
  token_ref text NOT NULL CHECK (length(token_ref) BETWEEN 1 AND 64),
  device_id text NOT NULL CHECK (length(device_id) BETWEEN 1 AND 64),
  device_kind text NOT NULL CHECK (device_kind IN ('phone', 'watch')),
  device_score smallint NOT NULL CHECK (device_score BETWEEN 1 AND 5),
  decision text NOT NULL CHECK (decision IN ('green', 'yellow', 'red')),
  reasons text[] NOT NULL DEFAULT '{}',
  status text NOT NULL CHECK (status IN ('pending', 'code_sent', 'verified', 'locked', 'expired', 'declined')),
  -- HMAC-SHA-256 of the current one-time code under the issuer's OTP key: never the code.
  otp_hmac bytea CHECK (otp_hmac IS NULL OR length(otp_hmac) = 32),
  otp_method text CHECK (otp_method IS NULL OR otp_method IN ('sms', 'email')),
  otp_expires_at timestamptz,
  otp_sent_count smallint NOT NULL DEFAULT 0 CHECK (otp_sent_count BETWEEN 0 AND 5),
  -- Wrong codes over the whole verification (3 lock it, whatever codes were resent).
  attempts smallint NOT NULL DEFAULT 0 CHECK (attempts BETWEEN 0 AND 3),
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  verified_at timestamptz,
  -- A retried request for the same token gets the same verification.
  CONSTRAINT verifications_token_unique UNIQUE (issuer_id, token_ref),
  CONSTRAINT verifications_status_matches_decision CHECK (
    (decision = 'green' AND status = 'verified') OR
    (decision = 'red' AND status = 'declined') OR
    (decision = 'yellow' AND status IN ('pending', 'code_sent', 'verified', 'locked', 'expired'))
  ),
  CONSTRAINT verifications_code_sent_has_code CHECK (status <> 'code_sent' OR (otp_hmac IS NOT NULL AND otp_expires_at IS NOT NULL)),
  CONSTRAINT verifications_verified_at CHECK ((status = 'verified') = (verified_at IS NOT NULL))
);
CREATE INDEX verifications_card ON issuer.verifications (card_id);

-- The sandbox's outbox of simulated SMS and e-mail. The body holds the one-time code in clear: that is
-- acceptable here and only here, because this row IS the simulated text message the cardholder reads
-- (a real issuer hands it to an SMS gateway and keeps nothing). Destinations are stored masked.
CREATE TABLE issuer.sandbox_messages (
  id text PRIMARY KEY CHECK (id LIKE 'smsg\_%'),
  -- Insertion order, for "newest first" when two messages share a timestamp.
  seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
  verification_id text NOT NULL REFERENCES issuer.verifications (id),
  channel text NOT NULL CHECK (channel IN ('sms', 'email')),
  destination text NOT NULL CHECK (length(destination) BETWEEN 1 AND 100),
  body text NOT NULL CHECK (length(body) BETWEEN 1 AND 1000),
  created_at timestamptz NOT NULL
);
CREATE INDEX sandbox_messages_verification ON issuer.sandbox_messages (verification_id, seq);

-- Envelope encryption data keys (src/infra/keys/envelope.ts), wrapped by the KEK.
CREATE TABLE issuer.data_keys (
  id text PRIMARY KEY CHECK (id LIKE 'dk\_%'),
  kek_id text NOT NULL,
  wrapped bytea NOT NULL,
  active boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX data_keys_one_active ON issuer.data_keys (active) WHERE active;

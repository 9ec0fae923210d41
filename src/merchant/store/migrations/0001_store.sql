-- The demo online store "Tessera Outfitters": a merchant built on the platform like any other. Its own
-- schema: its catalogue, its orders and their payment attempts, its keys and certificates, and what
-- it learned while setting itself up as a merchant (registry, domain, acquirer).
CREATE SCHEMA IF NOT EXISTS store;

-- Envelope encryption (src/infra/keys/envelope.ts): data keys wrapped by the KEK.
CREATE TABLE store.data_keys (
  id text PRIMARY KEY CHECK (id LIKE 'dk\_%'),
  kek_id text NOT NULL,
  wrapped bytea NOT NULL,
  active boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX data_keys_one_active ON store.data_keys (active) WHERE active;

-- One row per onboarding step done (register, domain, processing certificate, ...): start-up repeats
-- only the steps missing, so a crash half-way through set-up resumes where it stopped.
CREATE TABLE store.setup (
  step text PRIMARY KEY CHECK (step ~ '^[a-z_]{1,40}$'),
  result jsonb NOT NULL DEFAULT '{}'::jsonb,
  -- Secrets the step produced (the acquirer merchant API key), envelope-encrypted.
  secret_enc bytea,
  done_at timestamptz NOT NULL DEFAULT now()
);

-- The store's own private keys (payment processing, merchant identity), generated here, never sent
-- anywhere: only the certificate request leaves. The key is envelope-encrypted (PKCS#8 DER).
CREATE TABLE store.keys (
  id text PRIMARY KEY CHECK (id LIKE 'skey\_%'),
  kind text NOT NULL CHECK (kind IN ('processing', 'identity')),
  key_type text NOT NULL CHECK (key_type IN ('ec_p256', 'rsa_2048')),
  private_key_enc bytea NOT NULL,
  -- Filled once the platform issued the certificate for it.
  certificate_pem text,
  chain_pem text,
  -- base64 SHA-256 of the SPKI: header.publicKeyHash of tokens for this key.
  public_key_hash text NOT NULL,
  not_after timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT keys_public_key_hash_unique UNIQUE (public_key_hash),
  CONSTRAINT keys_certificate_with_chain CHECK ((certificate_pem IS NULL) = (chain_pem IS NULL))
);

CREATE TABLE store.products (
  id text PRIMARY KEY CHECK (id ~ '^prod_[a-z0-9_]{1,40}$'),
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 80),
  description text NOT NULL DEFAULT '' CHECK (length(description) <= 300),
  price bigint NOT NULL CHECK (price > 0 AND price <= 10000000),
  currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  -- The product tile's colour (#rrggbb).
  image text NOT NULL DEFAULT '#777777' CHECK (image ~ '^#[0-9a-f]{6}$'),
  position integer NOT NULL DEFAULT 0
);

-- pending → authorizing → paid | declined; declined → authorizing (another card). Paid is final.
CREATE TABLE store.orders (
  id text PRIMARY KEY CHECK (id LIKE 'ord\_%'),
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'authorizing', 'paid', 'declined')),
  items jsonb NOT NULL,
  total bigint NOT NULL CHECK (total > 0 AND total <= 999999999999),
  currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  -- The attempt that paid it: set exactly when status is paid.
  paid_attempt_id text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT orders_paid_has_attempt CHECK ((status = 'paid') = (paid_attempt_id IS NOT NULL))
);

-- Each payment token accepted for an order: one authorization at the acquirer each.
CREATE TABLE store.payment_attempts (
  id text PRIMARY KEY CHECK (id LIKE 'pay\_%'),
  order_id text NOT NULL REFERENCES store.orders (id),
  -- 1, 2, ...: with the order id, the Idempotency-Key of its authorization at the acquirer.
  attempt_no integer NOT NULL CHECK (attempt_no > 0),
  -- header.transactionId (lower-case hex): a token is accepted once, whatever the order.
  transaction_id text NOT NULL CHECK (transaction_id ~ '^[0-9a-f]{2,128}$'),
  status text NOT NULL DEFAULT 'authorizing' CHECK (status IN ('authorizing', 'approved', 'declined')),
  -- The authorization request (device token, cryptogram), envelope-encrypted while it may be re-sent.
  request_enc bytea,
  -- What the demo page shows of the decrypted payload: never the whole device token.
  summary jsonb NOT NULL,
  acquirer_authorization_id text,
  response_code text CHECK (response_code ~ '^[A-Za-z0-9 ]{2}$'),
  auth_code text,
  decline_reason text,
  created_at timestamptz NOT NULL DEFAULT now(),
  completed_at timestamptz,
  CONSTRAINT payment_attempts_transaction_unique UNIQUE (transaction_id),
  CONSTRAINT payment_attempts_number_unique UNIQUE (order_id, attempt_no),
  CONSTRAINT payment_attempts_completed CHECK ((status = 'authorizing') = (completed_at IS NULL)),
  CONSTRAINT payment_attempts_request_while_authorizing CHECK (status = 'authorizing' OR request_enc IS NULL)
);
-- The guard behind "paid exactly once": at most one attempt per order is in flight or approved.
CREATE UNIQUE INDEX payment_attempts_one_live ON store.payment_attempts (order_id) WHERE status IN ('authorizing', 'approved');

ALTER TABLE store.orders ADD CONSTRAINT orders_paid_attempt_fk FOREIGN KEY (paid_attempt_id) REFERENCES store.payment_attempts (id);

-- Accepted payment-token transactionIds (the SDK's replay cache, shared by every process).
CREATE TABLE store.seen_transactions (
  transaction_id text PRIMARY KEY,
  order_id text NOT NULL,
  expires_at timestamptz NOT NULL
);
CREATE INDEX seen_transactions_expiry ON store.seen_transactions (expires_at);

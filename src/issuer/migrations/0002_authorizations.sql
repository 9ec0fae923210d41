-- Authorizations at the issuer (flow 2 of design.md, docs/authorization.md): the decision on every 0100,
-- the holds approvals place on the cardholder's account, the reversals (0400 / 0420) that release them,
-- and a double-entry ledger of both. Every decision, hold, ledger posting and outbox event of one message
-- is written in ONE serializable transaction (src/issuer/authorizations.ts).
--
-- Sign convention (issuer.accounts, 0001): posted_balance is the money the holder HAS: positive on a debit
-- account in funds, negative (minus what is owed) on a credit account. credit_limit >= 0 (0 for debit).
--   available = posted_balance + credit_limit - sum(active holds of the account)
--
-- The network's transaction key (txn_key) names one 0100 as the issuer received it:
--   DE32 acquiring institution id, zero-filled to 11 digits (00000000000 when absent)
--   ':' DE11 STAN (6) ':' DE7 transmission date-time (10) ':' DE41 terminal id (8 characters)
-- A reversal names its original with DE90 (original STAN, DE7 and acquirer id) and its own DE41.

-- One row per decided 0100 (approved or declined): a repeated 0100 with the same key gets this answer
-- again. The UNIQUE constraint is the guard, whatever the concurrency.
CREATE TABLE issuer.authorizations (
  id text PRIMARY KEY CHECK (id LIKE 'iauth\_%'),
  issuer_id text NOT NULL REFERENCES issuer.issuers (id),
  txn_key text NOT NULL CHECK (txn_key ~ '^[0-9]{11}:[0-9]{6}:[0-9]{10}:[\x20-\x7E]{8}$'),
  -- HMAC-SHA-256 of DE2 under the fingerprint key (never the number): a repeat must be for the same card.
  pan_fingerprint bytea CHECK (pan_fingerprint IS NULL OR length(pan_fingerprint) = 32),
  card_id text REFERENCES issuer.cards (id),
  account_id text REFERENCES issuer.accounts (id),
  processing_code text CHECK (processing_code IS NULL OR processing_code ~ '^[0-9]{6}$'),
  -- DE4, minor units of DE49.
  amount bigint NOT NULL CHECK (amount >= 0),
  currency_numeric text CHECK (currency_numeric IS NULL OR currency_numeric ~ '^[0-9]{3}$'),
  pos_entry_mode text CHECK (pos_entry_mode IS NULL OR pos_entry_mode ~ '^[0-9]{3}$'),
  rrn text CHECK (rrn IS NULL OR length(rrn) = 12),
  merchant_id text CHECK (merchant_id IS NULL OR length(merchant_id) = 15),
  merchant_name text CHECK (merchant_name IS NULL OR length(merchant_name) <= 40),
  -- DE39 answered and DE38 on approval.
  response_code text NOT NULL CHECK (response_code ~ '^[0-9]{2}$'),
  auth_code text CHECK (auth_code IS NULL OR auth_code ~ '^[0-9A-Z]{6}$'),
  -- Why, in one word (approved, insufficient_funds, cvm_required, ...).
  reason text NOT NULL CHECK (reason ~ '^[a-z_]{1,40}$'),
  -- Consumer-device CVM as the chip data reported it (NULL when there was no chip data to read).
  cdcvm boolean,
  created_at timestamptz NOT NULL,
  CONSTRAINT authorizations_txn_key_unique UNIQUE (issuer_id, txn_key),
  CONSTRAINT authorizations_approval_has_code CHECK ((response_code = '00') = (auth_code IS NOT NULL)),
  CONSTRAINT authorizations_approval_has_card CHECK (response_code <> '00' OR (card_id IS NOT NULL AND account_id IS NOT NULL AND amount > 0))
);
-- Velocity: approvals per card over a sliding window.
CREATE INDEX authorizations_card_approved ON issuer.authorizations (card_id, created_at) WHERE response_code = '00';

-- Money set aside by an approval until it is captured (clearing, later) or released (reversal).
CREATE TABLE issuer.holds (
  id text PRIMARY KEY CHECK (id LIKE 'hold\_%'),
  issuer_id text NOT NULL REFERENCES issuer.issuers (id),
  authorization_id text NOT NULL REFERENCES issuer.authorizations (id),
  account_id text NOT NULL REFERENCES issuer.accounts (id),
  card_id text NOT NULL REFERENCES issuer.cards (id),
  amount bigint NOT NULL CHECK (amount > 0),
  currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'released', 'captured')),
  auth_code text NOT NULL CHECK (auth_code ~ '^[0-9A-Z]{6}$'),
  txn_key text NOT NULL,
  created_at timestamptz NOT NULL,
  released_at timestamptz,
  CONSTRAINT holds_txn_key_unique UNIQUE (issuer_id, txn_key),
  CONSTRAINT holds_authorization_unique UNIQUE (authorization_id),
  CONSTRAINT holds_released_at CHECK ((status = 'released') = (released_at IS NOT NULL))
);
CREATE INDEX holds_account_active ON issuer.holds (account_id) WHERE status = 'active';
CREATE INDEX holds_card ON issuer.holds (card_id);

-- One row per reversed original (0400 / 0420), whatever came of it: the first reversal releases the hold,
-- later ones find this row and change nothing. A reversal whose original has not arrived (the network timed
-- out and reversed before the slow 0100 reached the issuer) leaves this row as a tombstone: the late 0100
-- is declined without a hold.
CREATE TABLE issuer.reversals (
  id text PRIMARY KEY CHECK (id LIKE 'irev\_%'),
  issuer_id text NOT NULL REFERENCES issuer.issuers (id),
  -- The ORIGINAL 0100's key.
  txn_key text NOT NULL CHECK (txn_key ~ '^[0-9]{11}:[0-9]{6}:[0-9]{10}:[\x20-\x7E]{8}$'),
  mti text NOT NULL CHECK (mti IN ('0400', '0420')),
  stan text CHECK (stan IS NULL OR stan ~ '^[0-9]{6}$'),
  transmitted text CHECK (transmitted IS NULL OR transmitted ~ '^[0-9]{10}$'),
  outcome text NOT NULL CHECK (outcome IN ('released', 'nothing_held', 'before_original')),
  authorization_id text REFERENCES issuer.authorizations (id),
  pan_fingerprint bytea CHECK (pan_fingerprint IS NULL OR length(pan_fingerprint) = 32),
  amount bigint CHECK (amount IS NULL OR amount >= 0),
  created_at timestamptz NOT NULL,
  CONSTRAINT reversals_original_unique UNIQUE (issuer_id, txn_key),
  CONSTRAINT reversals_outcome_original CHECK ((outcome = 'before_original') = (authorization_id IS NULL))
);

-- Double entry: each posting (transaction_id: the authorization for a hold, the reversal for its release)
-- sums to zero. A hold moves the amount from the cardholder's account (negative: less available) to the
-- issuer's 'authorizations_pending' liability (positive); a release moves it back.
CREATE TABLE issuer.ledger_entries (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  issuer_id text NOT NULL REFERENCES issuer.issuers (id),
  transaction_id text NOT NULL CHECK (transaction_id LIKE 'iauth\_%' OR transaction_id LIKE 'irev\_%'),
  ledger_account text NOT NULL CHECK (ledger_account LIKE 'acct\_%' OR ledger_account = 'authorizations_pending'),
  amount bigint NOT NULL CHECK (amount <> 0),
  currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  kind text NOT NULL CHECK (kind IN ('hold', 'release')),
  hold_id text NOT NULL REFERENCES issuer.holds (id),
  created_at timestamptz NOT NULL
);
CREATE INDEX ledger_entries_transaction ON issuer.ledger_entries (transaction_id);
CREATE INDEX ledger_entries_account ON issuer.ledger_entries (ledger_account);

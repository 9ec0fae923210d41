-- Refunds (0200, processing code 20) of an approved authorization: the issuer credits the cardholder's
-- account. The credit is a posting of its own in the double-entry ledger (transaction_id irfd_…): the
-- account gets the amount (positive), the issuer's 'refunds_clearing' account pays it (negative, settled
-- with the acquirer at clearing); it sums to zero and touches no hold.
CREATE TABLE issuer.refunds (
  id text PRIMARY KEY CHECK (id LIKE 'irfd\_%'),
  issuer_id text NOT NULL REFERENCES issuer.issuers (id),
  -- DE32 ‖ DE11 ‖ DE7 ‖ DE41 of the 0200: a retransmission gets the first answer again.
  txn_key text NOT NULL CHECK (txn_key ~ '^[0-9]{11}:[0-9]{6}:[0-9]{10}:[\x20-\x7E]{8}$'),
  authorization_id text REFERENCES issuer.authorizations (id),
  card_id text REFERENCES issuer.cards (id),
  account_id text REFERENCES issuer.accounts (id),
  amount bigint NOT NULL CHECK (amount >= 0),
  currency_numeric text CHECK (currency_numeric ~ '^[0-9]{3}$'),
  response_code text NOT NULL CHECK (response_code ~ '^[0-9]{2}$'),
  auth_code text CHECK (auth_code ~ '^[0-9A-Z]{6}$'),
  reason text NOT NULL CHECK (reason ~ '^[a-z_]{1,40}$'),
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT refunds_key_unique UNIQUE (issuer_id, txn_key),
  CONSTRAINT refunds_approval_has_original CHECK (response_code <> '00' OR (authorization_id IS NOT NULL AND account_id IS NOT NULL AND amount > 0))
);
CREATE INDEX refunds_authorization ON issuer.refunds (authorization_id) WHERE response_code = '00';

ALTER TABLE issuer.ledger_entries DROP CONSTRAINT ledger_entries_transaction_id_check;
ALTER TABLE issuer.ledger_entries ADD CONSTRAINT ledger_entries_transaction_id_check
  CHECK (transaction_id LIKE 'iauth\_%' OR transaction_id LIKE 'irev\_%' OR transaction_id LIKE 'irfd\_%');
ALTER TABLE issuer.ledger_entries DROP CONSTRAINT ledger_entries_ledger_account_check;
ALTER TABLE issuer.ledger_entries ADD CONSTRAINT ledger_entries_ledger_account_check
  CHECK (ledger_account LIKE 'acct\_%' OR ledger_account IN ('authorizations_pending', 'refunds_clearing'));
ALTER TABLE issuer.ledger_entries DROP CONSTRAINT ledger_entries_kind_check;
ALTER TABLE issuer.ledger_entries ADD CONSTRAINT ledger_entries_kind_check CHECK (kind IN ('hold', 'release', 'refund'));
ALTER TABLE issuer.ledger_entries ALTER COLUMN hold_id DROP NOT NULL;
ALTER TABLE issuer.ledger_entries ADD CONSTRAINT ledger_entries_hold_unless_refund CHECK ((kind = 'refund') = (hold_id IS NULL));

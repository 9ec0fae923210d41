-- Transaction history as the wallet platform sees it: what the networks told it, per token.
CREATE TABLE platform.transactions (
  id text PRIMARY KEY CHECK (id LIKE 'txn\_%'),
  user_id text NOT NULL REFERENCES platform.users (id),
  card_id text NOT NULL REFERENCES platform.cards (id),
  device_id text NOT NULL REFERENCES platform.devices (id),
  network text NOT NULL CHECK (network IN ('visa', 'mastercard', 'amex', 'discover')),
  -- The network's id of the authorization: a redelivered event is the same transaction.
  network_transaction_id text NOT NULL,
  type text NOT NULL CHECK (type IN ('nfc', 'inapp', 'web', 'refund', 'reversal')),
  status text NOT NULL CHECK (status IN ('approved', 'declined', 'reversed', 'refunded', 'timed_out')),
  amount bigint NOT NULL CHECK (amount >= 0),
  currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  merchant_name text NOT NULL,
  mcc text,
  response_code text,
  auth_code text,
  decline_reason text,
  -- For refunds and reversals: the transaction they undo.
  original_id text REFERENCES platform.transactions (id),
  occurred_at timestamptz NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT transactions_network_unique UNIQUE (network, network_transaction_id)
);
CREATE INDEX transactions_user ON platform.transactions (user_id, id DESC);
CREATE INDEX transactions_card ON platform.transactions (card_id, id DESC);

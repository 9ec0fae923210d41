-- Issuer ↔ network notifications through the outbox (flow 4).
-- Outgoing: each card change the networks must hear of (reissue → PAN update; close, block, unblock →
-- card lifecycle) is written with its outbox event in the card's own transaction; this row follows its
-- delivery. The card numbers it carries travel only inside the outbox payload, encrypted.
CREATE TABLE issuer.network_notifications (
  event_id text PRIMARY KEY CHECK (event_id LIKE 'evt\_%'),
  issuer_id text NOT NULL REFERENCES issuer.issuers (id),
  card_id text NOT NULL REFERENCES issuer.cards (id),
  kind text NOT NULL CHECK (kind IN ('pan_update', 'card_lifecycle')),
  action text NOT NULL CHECK (action IN ('reissue', 'close', 'block', 'unblock')),
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'rejected')),
  tokens_changed integer CHECK (tokens_changed >= 0),
  error text CHECK (length(error) <= 200),
  created_at timestamptz NOT NULL DEFAULT now(),
  delivered_at timestamptz
);
CREATE INDEX network_notifications_card ON issuer.network_notifications (card_id, created_at);

-- Reissues by Idempotency-Key: a retried reissue answers the same new number, never makes a second.
-- The number is kept encrypted (context issuer:reissue:<id>); the CVV is recomputed, never stored.
CREATE TABLE issuer.card_reissues (
  id text PRIMARY KEY CHECK (id LIKE 'reiss\_%'),
  issuer_id text NOT NULL REFERENCES issuer.issuers (id),
  card_id text NOT NULL REFERENCES issuer.cards (id),
  idem_key text NOT NULL CHECK (length(idem_key) BETWEEN 1 AND 255),
  request jsonb NOT NULL,
  pan_encrypted bytea NOT NULL,
  exp_month smallint NOT NULL CHECK (exp_month BETWEEN 1 AND 12),
  exp_year smallint NOT NULL CHECK (exp_year BETWEEN 2000 AND 2099),
  event_id text NOT NULL REFERENCES issuer.network_notifications (event_id),
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT card_reissues_key_unique UNIQUE (issuer_id, idem_key)
);

-- Incoming: the networks' token events about this issuer's cards (created, suspended, resumed, deleted,
-- PAN updated, keys refreshed), de-duplicated by the network's event id.
CREATE TABLE issuer.token_notifications (
  id text PRIMARY KEY CHECK (id LIKE 'tnot\_%'),
  event_id text NOT NULL CHECK (event_id LIKE 'evt\_%'),
  issuer_id text NOT NULL REFERENCES issuer.issuers (id),
  network text NOT NULL CHECK (network IN ('visa', 'mastercard', 'amex', 'discover')),
  card_id text REFERENCES issuer.cards (id),
  token_ref text NOT NULL CHECK (length(token_ref) BETWEEN 1 AND 64),
  type text NOT NULL CHECK (type IN ('token.created', 'token.suspended', 'token.resumed', 'token.deleted', 'token.pan_updated', 'token.keys_refreshed')),
  status text NOT NULL CHECK (status IN ('inactive', 'active', 'suspended', 'deleted')),
  reason text NOT NULL CHECK (length(reason) BETWEEN 1 AND 64),
  actor text NOT NULL CHECK (actor IN ('platform', 'issuer', 'network')),
  token_last4 text CHECK (token_last4 ~ '^[0-9]{4}$'),
  occurred_at timestamptz NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT token_notifications_event_unique UNIQUE (network, event_id)
);
CREATE INDEX token_notifications_issuer ON issuer.token_notifications (issuer_id, id);

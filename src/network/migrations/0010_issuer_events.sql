-- The issuers' card events (PAN updates, card lifecycle) arrive through their outbox at least once:
-- each event id is recorded in the same transaction as the change it made, so a redelivery changes
-- nothing (design.md: events de-duplicated by event id).
CREATE TABLE network.issuer_events (
  event_id text PRIMARY KEY CHECK (event_id LIKE 'evt\_%'),
  issuer_id text NOT NULL CHECK (length(issuer_id) BETWEEN 1 AND 64),
  kind text NOT NULL CHECK (kind IN ('pan_update', 'card_lifecycle')),
  received_at timestamptz NOT NULL DEFAULT now()
);

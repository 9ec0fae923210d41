-- Refunds (0200, processing code 20) through the switch (flow 5): each names an approved authorization
-- of the same acquirer and token (DE 90); the network routes it to the card's issuer with the card
-- number and records the answer. No card or token number is stored here.
CREATE TABLE network.refunds (
  id text PRIMARY KEY CHECK (id LIKE 'nrfd\_%'),
  acquirer_id text NOT NULL CHECK (length(acquirer_id) BETWEEN 1 AND 64),
  stan text NOT NULL CHECK (stan ~ '^[0-9]{6}$'),
  transmitted text NOT NULL CHECK (transmitted ~ '^[0-9]{10}$'),
  terminal_id text NOT NULL CHECK (length(terminal_id) = 8),
  authorization_id text NOT NULL REFERENCES network.authorizations (id),
  token_ref text NOT NULL REFERENCES network.tokens (token_ref),
  brand text NOT NULL CHECK (brand IN ('visa', 'mastercard', 'amex', 'discover')),
  issuer_id text NOT NULL CHECK (length(issuer_id) BETWEEN 1 AND 64),
  amount bigint NOT NULL CHECK (amount > 0),
  currency text NOT NULL CHECK (currency ~ '^[0-9]{3}$'),
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'declined')),
  response_code text CHECK (response_code ~ '^[0-9A-Z]{2}$'),
  auth_code text CHECK (length(auth_code) = 6),
  created_at timestamptz NOT NULL DEFAULT now(),
  completed_at timestamptz,
  CONSTRAINT refunds_transmission_unique UNIQUE (acquirer_id, stan, transmitted, terminal_id)
);
CREATE INDEX refunds_authorization ON network.refunds (authorization_id);

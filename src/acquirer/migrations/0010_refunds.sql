-- Merchant refunds (flow 5): a refund of an approved authorization, sent to the network as a 0200 with
-- processing code 20 whose DE 90 names the 0100 as the network received it. The message keeps the token
-- number (as the authorization's forwarded 0100 does), never a card number.
CREATE TABLE acquirer.refunds (
  id text PRIMARY KEY CHECK (id LIKE 'rfd\_%'),
  authorization_id text NOT NULL REFERENCES acquirer.authorizations (id),
  merchant_id text NOT NULL REFERENCES acquirer.merchants (id),
  brand text NOT NULL CHECK (brand IN ('visa', 'mastercard', 'amex', 'discover')),
  amount bigint NOT NULL CHECK (amount > 0),
  currency text NOT NULL CHECK (currency ~ '^[0-9]{3}$'),
  stan text NOT NULL CHECK (stan ~ '^[0-9]{6}$'),
  transmitted text NOT NULL CHECK (transmitted ~ '^[0-9]{10}$'),
  message bytea NOT NULL,
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'declined')),
  response_code text CHECK (response_code ~ '^[A-Za-z0-9 ]{2}$'),
  auth_code text CHECK (auth_code ~ '^[ -~]{6}$'),
  created_at timestamptz NOT NULL DEFAULT now(),
  completed_at timestamptz
);
CREATE INDEX refunds_authorization ON acquirer.refunds (authorization_id);
CREATE INDEX refunds_merchant ON acquirer.refunds (merchant_id, id);

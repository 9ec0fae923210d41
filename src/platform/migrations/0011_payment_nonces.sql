-- In-app / web payments (docs/inapp.md): the one-time nonces the platform gives a device for one payment.
-- A nonce is bound to the device and to one merchant session, valid 2 minutes, used once; the Secure
-- Element's cryptogram carries SHA-256(nonce)'s first 4 bytes. Once used, the row says what it paid
-- (never a token or card number).
CREATE TABLE platform.payment_nonces (
  id text PRIMARY KEY CHECK (id LIKE 'pnc\_%'),
  user_id text NOT NULL REFERENCES platform.users (id),
  device_id text NOT NULL REFERENCES platform.devices (id),
  -- 32 random bytes, hex: not secret (the device hands its hash to the merchant inside the cryptogram).
  nonce text NOT NULL CHECK (nonce ~ '^[0-9a-f]{64}$'),
  merchant_session_identifier text NOT NULL CHECK (length(merchant_session_identifier) BETWEEN 1 AND 255),
  expires_at timestamptz NOT NULL,
  used_at timestamptz,
  card_id text REFERENCES platform.cards (id),
  merchant_identifier text,
  amount bigint CHECK (amount >= 0),
  currency text CHECK (currency ~ '^[0-9]{3}$'),
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT payment_nonces_nonce_unique UNIQUE (nonce),
  CONSTRAINT payment_nonces_used CHECK ((used_at IS NULL) = (card_id IS NULL))
);
CREATE INDEX payment_nonces_expiry ON platform.payment_nonces (expires_at);

-- Devices carry their Secure Element's public key and certificate; provisioned cards are references only.

ALTER TABLE platform.devices
  ADD COLUMN se_public_key jsonb,
  ADD COLUMN se_certificate_pem text,
  ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();

-- The platform's own certificate authorities (the device CA now, the payment-token PKI later).
-- Private keys are stored only wrapped by the KEK.
CREATE TABLE platform.authorities (
  id text PRIMARY KEY CHECK (id LIKE 'ca\_%'),
  purpose text NOT NULL CHECK (purpose IN ('device_ca')),
  certificate_pem text NOT NULL,
  key_wrapped bytea NOT NULL,
  kek_id text NOT NULL,
  active boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX authorities_one_active ON platform.authorities (purpose) WHERE active;

-- The platform's registration with each network's token service (its token requestor id there).
CREATE TABLE platform.token_requestors (
  network text PRIMARY KEY CHECK (network IN ('visa', 'mastercard', 'amex', 'discover')),
  token_requestor_id text NOT NULL CHECK (token_requestor_id ~ '^[0-9]{11}$'),
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE platform.cards (
  id text PRIMARY KEY CHECK (id LIKE 'card\_%'),
  user_id text NOT NULL REFERENCES platform.users (id),
  device_id text NOT NULL REFERENCES platform.devices (id),
  network text NOT NULL CHECK (network IN ('visa', 'mastercard', 'amex', 'discover')),
  -- The network's opaque reference; never the token number itself.
  token_ref text NOT NULL,
  -- Payment account reference: names the card across its tokens without revealing its number.
  par text NOT NULL CHECK (length(par) = 29),
  last4 text NOT NULL CHECK (last4 ~ '^[0-9]{4}$'),
  token_last4 text NOT NULL CHECK (token_last4 ~ '^[0-9]{4}$'),
  card_type text NOT NULL CHECK (card_type IN ('credit', 'debit', 'prepaid')),
  issuer_name text NOT NULL,
  art_id text NOT NULL,
  exp_month integer NOT NULL CHECK (exp_month BETWEEN 1 AND 12),
  exp_year integer NOT NULL CHECK (exp_year BETWEEN 2000 AND 2100),
  status text NOT NULL CHECK (status IN ('inactive', 'active', 'suspended', 'deleted')),
  verification_id text,
  verification_methods jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT cards_token_ref_unique UNIQUE (network, token_ref)
);
-- One live card per user, device and card (known by its PAR).
CREATE UNIQUE INDEX cards_one_per_device ON platform.cards (user_id, device_id, par) WHERE status <> 'deleted';
CREATE INDEX cards_user ON platform.cards (user_id, id DESC);
CREATE INDEX cards_device ON platform.cards (device_id, id DESC);

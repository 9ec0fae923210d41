-- The wallet platform's own data. It never holds a card number or a token's keys.
CREATE SCHEMA IF NOT EXISTS platform;

CREATE TABLE platform.users (
  id text PRIMARY KEY CHECK (id LIKE 'usr\_%'),
  email text NOT NULL CHECK (email = lower(email) AND length(email) BETWEEN 3 AND 254),
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  -- scrypt$N$r$p$salt$hash (base64 parts): never the password.
  password_hash text NOT NULL CHECK (password_hash LIKE 'scrypt$%'),
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT users_email_unique UNIQUE (email)
);

CREATE TABLE platform.devices (
  id text PRIMARY KEY CHECK (id LIKE 'dev\_%'),
  user_id text NOT NULL REFERENCES platform.users (id),
  kind text NOT NULL CHECK (kind IN ('phone', 'watch')),
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
  status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'lost', 'erased')),
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX devices_user ON platform.devices (user_id);

CREATE TABLE platform.sessions (
  id text PRIMARY KEY CHECK (id LIKE 'ses\_%'),
  user_id text NOT NULL REFERENCES platform.users (id),
  -- A session bound to a registered device may use the wallet API; an unbound one only manages the account.
  device_id text REFERENCES platform.devices (id),
  secret_hash bytea NOT NULL CHECK (length(secret_hash) = 32),
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  revoked_at timestamptz,
  CONSTRAINT sessions_secret_unique UNIQUE (secret_hash),
  CONSTRAINT sessions_expiry_after_creation CHECK (expires_at > created_at)
);
CREATE INDEX sessions_user ON platform.sessions (user_id);

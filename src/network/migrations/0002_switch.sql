-- The networks' switch (docs/authorization.md, flow 2): authorizations as the network saw them, the
-- reversals it owes issuers, and the count of refused ATCs per token. No card number, token number or
-- ICC data (DE 55) is stored here: authorizations carry the token's reference; a reversal's message is
-- stored without DE 2 (the card number is taken from the vault when it is sent).

-- Replayed or lower ATCs refused for this token (the security metric of the switch).
ALTER TABLE network.tokens ADD COLUMN atc_rejections integer NOT NULL DEFAULT 0 CHECK (atc_rejections >= 0);

-- The network's own STANs (DE 11) for the messages it originates (reversals to issuers).
CREATE SEQUENCE network.stan_seq;

CREATE TABLE network.authorizations (
  id text PRIMARY KEY CHECK (id LIKE 'nauth\_%'),
  -- The acquirer that sent the 0100 (its API key's owner id): with DE 11, DE 7 and DE 41 the
  -- duplicate-transmission key.
  acquirer_id text NOT NULL CHECK (length(acquirer_id) BETWEEN 1 AND 64),
  stan text NOT NULL CHECK (stan ~ '^[0-9]{6}$'),
  transmitted text NOT NULL CHECK (transmitted ~ '^[0-9]{10}$'),
  terminal_id text NOT NULL CHECK (length(terminal_id) = 8),
  -- Keyed HMAC of the packed 0100 (the vault's fingerprint key): a retransmission is byte-identical.
  request_hash bytea NOT NULL CHECK (length(request_hash) = 32),
  -- NULL when DE 2 is no token of this network (answered 14).
  token_ref text REFERENCES network.tokens (token_ref),
  brand text NOT NULL CHECK (brand IN ('visa', 'mastercard', 'amex', 'discover')),
  processing_code text NOT NULL CHECK (processing_code ~ '^[0-9]{6}$'),
  amount bigint NOT NULL CHECK (amount >= 0),
  currency text NOT NULL CHECK (currency ~ '^[0-9]{3}$'),
  -- DE 32, 37, 42, 43, 18, 22.
  acquiring_institution text CHECK (acquiring_institution ~ '^[0-9]{1,11}$'),
  rrn text CHECK (length(rrn) = 12),
  merchant_id text CHECK (length(merchant_id) = 15),
  merchant_name text CHECK (length(merchant_name) <= 40),
  mcc text CHECK (mcc ~ '^[0-9]{4}$'),
  pos_entry_mode text CHECK (pos_entry_mode ~ '^[0-9]{3}$'),
  -- DE 39 and DE 38 of the answer given to the acquirer (NULL while pending).
  response_code text CHECK (response_code ~ '^[0-9A-Z]{2}$'),
  auth_code text CHECK (length(auth_code) = 6),
  -- The ATC the cryptogram was accepted with (in store).
  atc integer CHECK (atc BETWEEN 0 AND 65535),
  issuer_id text CHECK (length(issuer_id) BETWEEN 1 AND 64),
  -- pending: admitted (ATC advanced) and sent to the issuer, answer not yet recorded; timed_out: no
  -- usable answer from the issuer (answered 91 or 96, a reversal is owed); reversed: by the acquirer.
  status text NOT NULL CHECK (status IN ('pending', 'approved', 'declined', 'timed_out', 'reversed')),
  decline_reason text CHECK (length(decline_reason) <= 64),
  latency_ms integer CHECK (latency_ms >= 0),
  created_at timestamptz NOT NULL,
  completed_at timestamptz,
  reversed_at timestamptz,
  CONSTRAINT authorizations_transmission_unique UNIQUE (acquirer_id, stan, transmitted, terminal_id),
  CONSTRAINT authorizations_answered CHECK (status = 'pending' OR response_code IS NOT NULL OR status = 'reversed')
);
CREATE INDEX authorizations_token ON network.authorizations (token_ref, created_at);
CREATE INDEX authorizations_rrn ON network.authorizations (acquirer_id, rrn);
CREATE INDEX authorizations_pending ON network.authorizations (created_at) WHERE status = 'pending';

-- Reversals the network owes issuers (after an issuer timeout, an unknown outcome, or the acquirer's
-- 0400/0420), sent until the issuer acknowledges them with a 0410/0430.
CREATE TABLE network.issuer_reversals (
  id text PRIMARY KEY CHECK (id LIKE 'nrev\_%'),
  authorization_id text NOT NULL REFERENCES network.authorizations (id),
  token_ref text NOT NULL REFERENCES network.tokens (token_ref),
  brand text NOT NULL CHECK (brand IN ('visa', 'mastercard', 'amex', 'discover')),
  issuer_id text NOT NULL CHECK (length(issuer_id) BETWEEN 1 AND 64),
  reason text NOT NULL CHECK (reason IN ('issuer_timeout', 'issuer_unavailable', 'issuer_unreadable', 'stale', 'acquirer_reversal', 'acquirer_advice')),
  mti text NOT NULL CHECK (mti IN ('0400', '0420')),
  stan text NOT NULL CHECK (stan ~ '^[0-9]{6}$'),
  -- The packed message without DE 2, fixed when the reversal is recorded and sent as is every time.
  message bytea NOT NULL,
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'acknowledged')),
  attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  next_attempt_at timestamptz NOT NULL,
  response_code text CHECK (response_code ~ '^[0-9A-Z]{2}$'),
  last_error text CHECK (length(last_error) <= 200),
  created_at timestamptz NOT NULL,
  acknowledged_at timestamptz,
  -- At most one reversal per authorization, however often it is asked for.
  CONSTRAINT issuer_reversals_one_per_authorization UNIQUE (authorization_id)
);
CREATE INDEX issuer_reversals_due ON network.issuer_reversals (next_attempt_at) WHERE status = 'pending';

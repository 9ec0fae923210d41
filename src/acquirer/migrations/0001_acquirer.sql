-- The acquirer: merchants and their terminals, the authorizations it switched to the card networks,
-- the reversals it owes them, and what it clears. It sees payment tokens in DE 2, never a card number.
CREATE SCHEMA IF NOT EXISTS acquirer;

CREATE TABLE acquirer.merchants (
  id text PRIMARY KEY CHECK (id LIKE 'mer\_%'),
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
  mcc text NOT NULL CHECK (mcc ~ '^[0-9]{4}$'),
  country text NOT NULL CHECK (country ~ '^[A-Z]{2}$'),
  city text NOT NULL CHECK (length(city) BETWEEN 1 AND 13),
  -- ISO 4217 alphabetic; the messages carry the numeric code (DE 49).
  currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  -- DE 42 and DE 43 exactly as they travel (ans 15, ans 40).
  card_acceptor_id text NOT NULL CHECK (card_acceptor_id ~ '^[ -~]{15}$'),
  name_location text NOT NULL CHECK (name_location ~ '^[ -~]{40}$'),
  status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended', 'closed')),
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT merchants_card_acceptor_id_unique UNIQUE (card_acceptor_id)
);

CREATE TABLE acquirer.terminals (
  -- Also the owner id of the terminal's API key: the key says which terminal is speaking.
  id text PRIMARY KEY CHECK (id LIKE 'term\_%'),
  merchant_id text NOT NULL REFERENCES acquirer.merchants (id),
  -- DE 41 (ans 8).
  terminal_id text NOT NULL CHECK (terminal_id ~ '^[ -~]{8}$'),
  kind text NOT NULL CHECK (kind IN ('contactless', 'ecommerce')),
  name text NOT NULL DEFAULT '' CHECK (length(name) <= 100),
  status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended', 'closed')),
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT terminals_terminal_id_unique UNIQUE (terminal_id)
);
CREATE INDEX terminals_merchant ON acquirer.terminals (merchant_id, id);

-- The acquirer's own trace numbers toward the networks (DE 11 of what it sends) and the counter
-- behind the retrieval reference numbers it assigns (DE 37).
CREATE SEQUENCE acquirer.stan_seq MINVALUE 1 MAXVALUE 999999 CYCLE;
CREATE SEQUENCE acquirer.rrn_seq MINVALUE 1 MAXVALUE 99999999 CYCLE;

CREATE TABLE acquirer.authorizations (
  id text PRIMARY KEY CHECK (id LIKE 'auth\_%'),
  terminal_id text NOT NULL REFERENCES acquirer.terminals (id),
  merchant_id text NOT NULL REFERENCES acquirer.merchants (id),
  -- Duplicate transmission detection: the terminal's STAN (DE 11) and transmission date-time (DE 7).
  -- DE 7 has no year, so a retention job should drop rows older than the dispute window long before
  -- a terminal could repeat both a year later.
  stan text NOT NULL CHECK (stan ~ '^[0-9]{6}$'),
  transmitted text NOT NULL CHECK (transmitted ~ '^[0-9]{10}$'),
  -- SHA-256 of the terminal's bytes: a retransmission is byte-identical, anything else is another message.
  request_hash bytea NOT NULL CHECK (length(request_hash) = 32),
  rrn text NOT NULL CHECK (rrn ~ '^[A-Za-z0-9 ]{12}$'),
  -- What the acquirer sent to the network under its own STAN and DE 7 (a reversal's DE 90 names them).
  network_stan text NOT NULL CHECK (network_stan ~ '^[0-9]{6}$'),
  network_transmitted text NOT NULL CHECK (network_transmitted ~ '^[0-9]{10}$'),
  -- NULL when the number routes to no network (answered 14 by the acquirer itself).
  brand text CHECK (brand IN ('visa', 'mastercard', 'amex', 'discover')),
  -- First six and last four digits only (PCI DSS 3.4.1), for lists and clearing.
  token_masked text NOT NULL CHECK (token_masked ~ '^[0-9]{6}[*]{3,9}[0-9]{4}$'),
  amount bigint NOT NULL CHECK (amount BETWEEN 0 AND 999999999999),
  currency text NOT NULL CHECK (currency ~ '^[0-9]{3}$'),
  pos_entry_mode text CHECK (pos_entry_mode ~ '^[0-9]{3}$'),
  -- The 0100 as forwarded, without DE 35, 52 and 55 (ICC data is not kept after authorization):
  -- what a reversal or an answer on behalf of a crashed process is built from. It holds the token
  -- PAN; tokens are surrogates bound to their domain, not card numbers, and the network alone maps
  -- them to a PAN, so this design keeps them (as every acquirer keeps DE 2 for clearing).
  forwarded bytea NOT NULL,
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'declined', 'timed_out', 'reversed')),
  response_code text CHECK (response_code ~ '^[A-Za-z0-9 ]{2}$'),
  auth_code text CHECK (auth_code ~ '^[ -~]{6}$'),
  -- The 0110 the terminal got, byte for byte: a retransmission gets exactly these bytes again.
  response bytea,
  latency_ms integer CHECK (latency_ms >= 0),
  created_at timestamptz NOT NULL,
  completed_at timestamptz,
  CONSTRAINT authorizations_transmission_unique UNIQUE (terminal_id, stan, transmitted),
  -- RRNs the acquirer assigns are unique by construction; one a terminal brings may not repeat for it.
  CONSTRAINT authorizations_rrn_unique UNIQUE (terminal_id, rrn),
  CONSTRAINT authorizations_answered CHECK ((status = 'pending') = (response IS NULL)),
  CONSTRAINT authorizations_completed CHECK ((status = 'pending') = (completed_at IS NULL)),
  CONSTRAINT authorizations_code_when_answered CHECK (status = 'pending' OR response_code IS NOT NULL)
);
CREATE INDEX authorizations_merchant ON acquirer.authorizations (merchant_id, id);
CREATE INDEX authorizations_terminal ON acquirer.authorizations (terminal_id, id);
CREATE INDEX authorizations_network_transmission ON acquirer.authorizations (network_stan, network_transmitted);
-- No index covers `status` (nor any column the answer sets), and pages keep room: answering an
-- authorization is then a HOT update that writes no index page, which is what keeps concurrent
-- SERIALIZABLE transactions from failing each other on the hot right-most index pages.
CREATE INDEX authorizations_created ON acquirer.authorizations (created_at);
ALTER TABLE acquirer.authorizations SET (fillfactor = 70);

-- Reversals owed to a network (0400 until a 0410 comes back): after a timeout, a broken answer, or
-- at the terminal's request. At most one per authorization, so it can never be reversed twice.
CREATE TABLE acquirer.reversals (
  id text PRIMARY KEY CHECK (id LIKE 'rev\_%'),
  authorization_id text NOT NULL REFERENCES acquirer.authorizations (id),
  reason text NOT NULL CHECK (reason IN ('network_timeout', 'network_error', 'terminal_request')),
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'acknowledged', 'failed')),
  brand text NOT NULL CHECK (brand IN ('visa', 'mastercard', 'amex', 'discover')),
  stan text NOT NULL CHECK (stan ~ '^[0-9]{6}$'),
  transmitted text NOT NULL CHECK (transmitted ~ '^[0-9]{10}$'),
  -- The 0400, sent byte for byte on every attempt: the network recognises a repeat by its STAN and DE 7.
  -- Holds the token PAN (see authorizations.forwarded), never ICC data.
  message bytea NOT NULL,
  attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  -- Also the lease of the worker that is sending it: claimed rows move here before the call.
  next_attempt_at timestamptz NOT NULL,
  last_error text CHECK (length(last_error) <= 200),
  response_code text CHECK (response_code ~ '^[A-Za-z0-9 ]{2}$'),
  created_at timestamptz NOT NULL,
  acknowledged_at timestamptz,
  CONSTRAINT reversals_one_per_authorization UNIQUE (authorization_id),
  CONSTRAINT reversals_acknowledged_at CHECK ((status = 'acknowledged') = (acknowledged_at IS NOT NULL))
);
CREATE INDEX reversals_due ON acquirer.reversals (next_attempt_at) WHERE status = 'pending';

-- Shared mechanisms that know no party: API keys, idempotency records, the outbox.

CREATE TABLE infra.api_keys (
  id text PRIMARY KEY CHECK (id LIKE 'key\_%'),
  -- Which kind of party holds the key and which object of that party it speaks for.
  role text NOT NULL CHECK (role IN ('admin', 'platform', 'merchant', 'acquirer', 'terminal', 'issuer', 'network')),
  owner_id text NOT NULL,
  name text NOT NULL DEFAULT '' CHECK (length(name) <= 200),
  -- SHA-256 of the whole secret: the secret itself is shown once and never stored.
  secret_hash bytea NOT NULL UNIQUE CHECK (length(secret_hash) = 32),
  -- The first characters, to let a person recognise a key in a list.
  secret_prefix text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  revoked_at timestamptz,
  last_used_at timestamptz
);
CREATE INDEX api_keys_owner ON infra.api_keys (role, owner_id);

CREATE TABLE infra.idempotency_keys (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  -- The authenticated principal the key is scoped to, e.g. 'apikey:key_...' or 'user:usr_...'.
  principal text NOT NULL CHECK (length(principal) BETWEEN 1 AND 200),
  idem_key text NOT NULL CHECK (length(idem_key) BETWEEN 1 AND 255),
  -- SHA-256 of method, route and body: the same key with other parameters is refused with 422.
  request_hash bytea NOT NULL CHECK (length(request_hash) = 32),
  method text NOT NULL,
  route text NOT NULL,
  status text NOT NULL DEFAULT 'started' CHECK (status IN ('started', 'finished')),
  -- Set while a request holds the key; a lock older than the timeout is taken over by a retry.
  locked_at timestamptz,
  -- Recovery points of multi-phase flows: step name → its stored result.
  recovery jsonb NOT NULL DEFAULT '{}'::jsonb,
  response_status integer CHECK (response_status BETWEEN 100 AND 599),
  response_body jsonb,
  response_headers jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz,
  CONSTRAINT idempotency_unique_per_principal UNIQUE (principal, idem_key),
  CONSTRAINT idempotency_finished_has_response CHECK (status <> 'finished' OR (response_status IS NOT NULL AND finished_at IS NOT NULL))
);
CREATE INDEX idempotency_created ON infra.idempotency_keys (created_at);

-- Events written in the same transaction as the change they describe, delivered by a worker.
CREATE TABLE infra.outbox (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  event_id text NOT NULL UNIQUE CHECK (event_id LIKE 'evt\_%'),
  topic text NOT NULL CHECK (length(topic) BETWEEN 1 AND 100),
  -- The object the event is about: delivery keeps order per object.
  aggregate_id text NOT NULL,
  payload jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  delivered_at timestamptz,
  attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  last_error text
);
CREATE INDEX outbox_pending ON infra.outbox (next_attempt_at) WHERE delivered_at IS NULL;

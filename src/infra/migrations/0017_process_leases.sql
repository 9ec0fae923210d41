-- Each running process holds a lease under a boot id made at start and renewed by its background work.
-- Work a process leaves in flight (an idempotency key it holds) carries that boot id: once the lease is
-- ended (a clean stop, or a restart on the same host finding the old process gone) or not renewed for
-- its time-to-live, that work is known dead and a retry or the recovery worker takes it over at once,
-- instead of waiting for the key's lock to time out.
CREATE TABLE infra.process_leases (
  boot_id text PRIMARY KEY CHECK (boot_id LIKE 'boot\_%'),
  host text NOT NULL CHECK (length(host) BETWEEN 1 AND 255),
  pid integer NOT NULL CHECK (pid > 0),
  started_at timestamptz NOT NULL DEFAULT now(),
  renewed_at timestamptz NOT NULL DEFAULT now(),
  ended_at timestamptz
);
CREATE INDEX process_leases_live ON infra.process_leases (host) WHERE ended_at IS NULL;

-- The boot id of the process holding the key (NULL for rows written before leases existed).
ALTER TABLE infra.idempotency_keys ADD COLUMN owner_boot text;
-- The recovery worker looks for unfinished keys only.
CREATE INDEX idempotency_started ON infra.idempotency_keys (created_at) WHERE status = 'started';

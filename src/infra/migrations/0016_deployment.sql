-- The identity of this deployment's database: a random id made once, when the database is created.
-- Cache keys are namespaced by it (src/server/tessera.ts), so a second database sharing the KEK and the
-- Redis (a reset, a restore beside the original, the bench run twice) never reads the first one's
-- cached lookups (network keys, API keys, tokens).
CREATE TABLE infra.deployment (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  id text NOT NULL CHECK (id ~ '^[0-9a-f]{32}$'),
  created_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO infra.deployment (id) VALUES (replace(gen_random_uuid()::text, '-', ''));

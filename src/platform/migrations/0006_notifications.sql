-- The push channel to devices (design.md flows 4-5): what happened to a user's cards and transactions,
-- in the order it happened, for `GET /platform/v1/events` (server-sent events). The identity is the
-- stream's cursor (Last-Event-ID). Rows are written in the same transaction as the change they describe,
-- under a per-user lock held to commit, so a user's events commit in the order of their ids and a
-- client resuming after one id can never miss an earlier one that committed late.
CREATE TABLE platform.device_events (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  user_id text NOT NULL REFERENCES platform.users (id),
  -- NULL: for every device of the user; otherwise only for that device.
  device_id text REFERENCES platform.devices (id),
  type text NOT NULL CHECK (type ~ '^[a-z_]+(\.[a-z_]+)+$' AND length(type) <= 100),
  payload jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX device_events_user ON platform.device_events (user_id, id);

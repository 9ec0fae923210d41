-- Merchant webhooks (design.md flow 5, api-conventions.md "Webhooks"): where each merchant wants to hear
-- about its transactions, and every delivery attempt (for the console). Events themselves wait in
-- infra.outbox (topic acquirer.transaction, aggregate = the merchant: delivered in order per merchant).
CREATE TABLE acquirer.webhook_endpoints (
  id text PRIMARY KEY CHECK (id LIKE 'we\_%'),
  merchant_id text NOT NULL REFERENCES acquirer.merchants (id),
  url text NOT NULL CHECK (url ~ '^https?://' AND length(url) <= 2048),
  -- The signing secret (whsec_…), shown once at creation and stored only wrapped by the KEK.
  secret_wrapped bytea NOT NULL,
  kek_id text NOT NULL,
  status text NOT NULL DEFAULT 'enabled' CHECK (status IN ('enabled', 'disabled')),
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_endpoints_merchant ON acquirer.webhook_endpoints (merchant_id, id);

CREATE TABLE acquirer.webhook_deliveries (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  endpoint_id text NOT NULL REFERENCES acquirer.webhook_endpoints (id),
  -- The outbox event's id (evt_…), also the body's `id`: receivers de-duplicate by it.
  event_id text NOT NULL,
  status_code integer,
  -- Why an attempt failed (connection refused, timeout, non-2xx); never the response body.
  error text CHECK (length(error) <= 200),
  succeeded boolean NOT NULL,
  duration_ms integer NOT NULL CHECK (duration_ms >= 0),
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_deliveries_event ON acquirer.webhook_deliveries (event_id, endpoint_id) WHERE succeeded;
CREATE INDEX webhook_deliveries_endpoint ON acquirer.webhook_deliveries (endpoint_id, id DESC);

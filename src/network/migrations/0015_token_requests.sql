-- The token requestor's Idempotency-Key of the request that made each token: a requestor that lost the
-- answer (its process died mid-request) cancels by that key whatever the request made, even when it
-- never learnt the token_ref.
ALTER TABLE network.tokens ADD COLUMN request_key text CHECK (request_key IS NULL OR length(request_key) BETWEEN 1 AND 600);
CREATE INDEX tokens_request_key ON network.tokens (token_requestor_id, request_key) WHERE request_key IS NOT NULL;

-- Requests cancelled by their requestor: a late or resumed request with that key makes no token.
CREATE TABLE network.cancelled_token_requests (
  token_requestor_id text NOT NULL REFERENCES network.token_requestors (id),
  request_key text NOT NULL CHECK (length(request_key) BETWEEN 1 AND 600),
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (token_requestor_id, request_key)
);
CREATE INDEX cancelled_token_requests_created ON network.cancelled_token_requests (created_at);

-- Token key refresh (flow 4): a new per-token master key (a new PSN, so the HSM derives another key;
-- by policy also a new token number). The new provisioning payload reaches the device through the
-- token requestor; cryptograms made with the old key are declined (88) from the refresh on.
ALTER TABLE network.tokens
  ADD COLUMN keys_refreshed_at timestamptz,
  ADD COLUMN key_version integer NOT NULL DEFAULT 1 CHECK (key_version >= 1);

-- Token lifecycle on the wallet platform (flow 4): the cards mirror their token's state at the network
-- (the source of truth), and devices can be reported lost, found or erased from another session.

-- Why the card's token last changed (user_request, device_lost, fraud, card_closed, ...), and who
-- suspended it: "found" resumes only the tokens the platform suspended for a lost device.
ALTER TABLE platform.cards
  ADD COLUMN status_reason text CHECK (length(status_reason) BETWEEN 1 AND 64),
  ADD COLUMN suspended_by text CHECK (suspended_by IN ('platform', 'issuer'));
CREATE INDEX cards_device_live ON platform.cards (device_id) WHERE status <> 'deleted';

ALTER TABLE platform.devices ADD COLUMN status_changed_at timestamptz;

CREATE INDEX sessions_device ON platform.sessions (device_id) WHERE device_id IS NOT NULL;

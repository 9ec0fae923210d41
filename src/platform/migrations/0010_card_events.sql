-- Card changes on the push channel (flow 4): when the network set the status the card mirrors (its
-- clock: the answer's changed_at or the event's occurred_at). A network event no newer than it is late
-- news about a state already mirrored, and is not applied again (nor pushed to the devices again).
ALTER TABLE platform.cards ADD COLUMN network_status_at timestamptz;

-- Card lifecycle at the issuer (flow 4): a reissue (new number and/or expiry) keeps the card's id,
-- account and PAR seed; the networks holding tokens for it are told, and re-map them.
ALTER TABLE issuer.cards
  ADD COLUMN reissued_at timestamptz,
  ADD COLUMN status_changed_at timestamptz;

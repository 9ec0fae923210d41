-- A network may suspend a token itself (repeated cryptogram failures): the platform mirrors who suspended it.
ALTER TABLE platform.cards DROP CONSTRAINT cards_suspended_by_check;
ALTER TABLE platform.cards ADD CONSTRAINT cards_suspended_by_check CHECK (suspended_by IN ('platform', 'issuer', 'network'));

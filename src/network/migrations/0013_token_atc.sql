-- The ATC high-water mark of each token, in a narrow table of its own. It advances on every tap: as a
-- column of network.tokens each tap wrote a new version of that wide row (encrypted numbers, five indexes
-- when the update could not stay on its page) and evaluated its thirty-odd CHECK constraints; here it is
-- one small row. A token without a row has seen no cryptogram yet (high water 0).
CREATE TABLE network.token_atc (
  token_ref text PRIMARY KEY REFERENCES network.tokens (token_ref),
  atc_high_water integer NOT NULL CHECK (atc_high_water BETWEEN 0 AND 65535)
);
INSERT INTO network.token_atc (token_ref, atc_high_water) SELECT token_ref, atc_high_water FROM network.tokens WHERE atc_high_water > 0;
ALTER TABLE network.tokens DROP COLUMN atc_high_water;

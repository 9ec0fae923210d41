-- The network itself suspends a token whose cryptograms keep failing (docs/authorization.md, "Cryptogram
-- failures"): suspended_by may now be the network. Only the issuer resumes such a token.
ALTER TABLE network.tokens DROP CONSTRAINT tokens_suspended_by_check;
ALTER TABLE network.tokens ADD CONSTRAINT tokens_suspended_by_check CHECK (suspended_by IN ('platform', 'issuer', 'network'));

-- One reversal policy for every party (src/infra/reversal-policy.ts): a reversal the issuer never
-- acknowledges is given up after its last attempt and left `failed` for the operator, as the acquirer's are.
ALTER TABLE network.issuer_reversals DROP CONSTRAINT issuer_reversals_status_check;
ALTER TABLE network.issuer_reversals ADD CONSTRAINT issuer_reversals_status_check CHECK (status IN ('pending', 'acknowledged', 'failed'));

-- The issuer no longer writes an outbox event per authorization decision or reversal (topic
-- issuer.authorization): nothing ever consumed one, so each stayed pending for ever. Those already
-- written are dropped; the decisions themselves stay in issuer.authorizations and issuer.reversals.
DELETE FROM infra.outbox WHERE topic = 'issuer.authorization' AND delivered_at IS NULL;

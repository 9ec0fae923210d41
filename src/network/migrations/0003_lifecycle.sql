-- Token lifecycle (flow 4 of design.md): suspend, resume, delete, and the issuer's PAN updates. The
-- network is the source of truth; the allowed status changes are enforced here as well as in code.

ALTER TABLE network.tokens
  -- Who suspended the token: only that party (or the issuer) may resume it.
  ADD COLUMN suspended_by text CHECK (suspended_by IN ('platform', 'issuer')),
  -- Why the status last changed (device_lost, user_request, card_closed, fraud, ...).
  ADD COLUMN status_reason text CHECK (length(status_reason) BETWEEN 1 AND 64),
  ADD COLUMN status_changed_at timestamptz,
  -- Stamped by every resume: suspended → active is allowed only together with it (see the trigger).
  ADD COLUMN resumed_at timestamptz,
  -- When the issuer last re-mapped the token to a reissued card (new number or expiry).
  ADD COLUMN pan_updated_at timestamptz;
ALTER TABLE network.tokens ADD CONSTRAINT tokens_suspended_by_when_suspended CHECK (suspended_by IS NULL OR status = 'suspended');

-- inactive → active | deleted; active → suspended | deleted; suspended → deleted, or → active only
-- through a resume (which stamps resumed_at); deleted is final.
CREATE FUNCTION network.tokens_status_transition() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.status = OLD.status THEN
    RETURN NEW;
  END IF;
  IF (OLD.status = 'inactive' AND NEW.status IN ('active', 'deleted'))
     OR (OLD.status = 'active' AND NEW.status IN ('suspended', 'deleted'))
     OR (OLD.status = 'suspended' AND NEW.status = 'deleted')
     OR (OLD.status = 'suspended' AND NEW.status = 'active' AND NEW.resumed_at IS DISTINCT FROM OLD.resumed_at) THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'token status change % -> % is not allowed', OLD.status, NEW.status
    USING ERRCODE = 'check_violation', CONSTRAINT = 'tokens_status_transition';
END
$$;

CREATE TRIGGER tokens_status_transition BEFORE UPDATE OF status ON network.tokens
  FOR EACH ROW EXECUTE FUNCTION network.tokens_status_transition();

-- The operations console's read-only keys: role 'ops' may read the console's APIs (/ops/v1/…, GET only)
-- and nothing else; it cannot create keys or change any party's state.
ALTER TABLE infra.api_keys DROP CONSTRAINT api_keys_role_check;
ALTER TABLE infra.api_keys ADD CONSTRAINT api_keys_role_check
  CHECK (role IN ('admin', 'platform', 'merchant', 'acquirer', 'terminal', 'issuer', 'network', 'ops'));

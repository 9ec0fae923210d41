-- Running totals on the account and card rows, so a decision reads one row of each instead of
-- summing holds or counting approvals. Under serializable isolation a range read over a shared index
-- page conflicts with every concurrent insert into that page (other cards' approvals, other accounts'
-- holds); a row read conflicts only with writers of that row: the same account, the same card.

ALTER TABLE issuer.accounts ADD COLUMN held bigint NOT NULL DEFAULT 0 CHECK (held >= 0);
UPDATE issuer.accounts a SET held = coalesce((SELECT sum(h.amount) FROM issuer.holds h WHERE h.account_id = a.id AND h.status = 'active'), 0);

-- Velocity: approvals counted in a window that starts at the first approval after the previous one ended.
ALTER TABLE issuer.cards
  ADD COLUMN velocity_window_start timestamptz,
  ADD COLUMN velocity_count integer NOT NULL DEFAULT 0 CHECK (velocity_count >= 0);

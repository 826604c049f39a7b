-- 010: what organisation administration and the integrity checks need beyond 002.
--
-- The blacklist is lifted on a business date ("today", which --today may set), so that
-- `credit_clean` as of any date agrees with what the administrator did on that date;
-- lifted_at keeps the wall-clock time. The reason for lifting is kept beside it.
ALTER TABLE stpm.blacklist
    ADD COLUMN lifted_on date,
    ADD COLUMN lift_reason text;

-- 回避 look-ups by organisation (`org show`, the no_conflict check).
CREATE INDEX conflicts_org ON stpm.conflicts (org_id);

-- The org_no_overdue and leader_limit checks look only at unclosed projects.
CREATE INDEX projects_org_unclosed ON stpm.projects (org_id, due_date)
    WHERE closed_date IS NULL;
CREATE INDEX projects_leader_unclosed ON stpm.projects (leader_id)
    WHERE closed_date IS NULL;

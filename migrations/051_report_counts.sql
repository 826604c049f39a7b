-- 051: `report summary` and `report targets` without reading every project.
--
-- stpm.report_counts holds, per combination of everything the reports group or filter by
-- (plan year, plan, level, town, field, current state) and of the milestones a project
-- reached (applied, admitted, approved, funded, the closed state), the number of projects
-- and the sums of their amounts. A report reads a few hundred rows, however many projects
-- there are; only `overdue` (as of a date) comes from the partial index of 052.
--
-- Writers never update a counter row (a hot row every transition of a group would queue
-- on, and whose dead versions a bulk advance of 10,000 projects piles up): a trigger on
-- stpm.project_facts — which the trigger on stpm.events (040) keeps — appends the change as
-- delta rows to stpm.report_deltas in the same transaction (-1 and the amounts for the old
-- combination, +1 for the new one). Readers add the deltas to the counts. Every 4096th
-- delta the writer folds all committed deltas into the counts (stpm.report_compact, one
-- writer at a time, the others skip), so the deltas stay few.

CREATE TABLE stpm.report_counts (
    year             integer NOT NULL,
    plan_id          uuid NOT NULL,
    level            text NOT NULL,
    town             text,
    field            text,
    state            text NOT NULL,
    applied          boolean NOT NULL,
    admitted         boolean NOT NULL,
    approved         boolean NOT NULL,
    funded           boolean NOT NULL,    -- approved, funded plan, amount_approved > 0
    closed_state     text,
    projects         bigint NOT NULL,
    requested        numeric NOT NULL,    -- sum of amount_requested (NULL as 0)
    approved_amount  numeric NOT NULL,    -- sum of amount_approved (NULL as 0)
    CONSTRAINT report_counts_key UNIQUE NULLS NOT DISTINCT (year, plan_id, level, town, field,
        state, applied, admitted, approved, funded, closed_state)
);

-- The changes not yet folded into report_counts: same columns, no key, insert only.
CREATE TABLE stpm.report_deltas (LIKE stpm.report_counts);
CREATE SEQUENCE stpm.report_deltas_written;

-- The combination a facts row counts in, and the row of it: one project, its amounts.
CREATE FUNCTION stpm.report_counts_row(f stpm.project_facts, sign integer)
RETURNS stpm.report_counts
LANGUAGE sql IMMUTABLE AS $$
    SELECT ROW(f.year, f.plan_id, f.level, f.town, f.field, f.state, f.applied_on IS NOT NULL,
               f.admitted_on IS NOT NULL, f.approved_on IS NOT NULL,
               coalesce(f.approved_on IS NOT NULL AND f.funded_plan AND f.amount_approved > 0,
                        false),
               f.closed_state, sign, sign * coalesce(f.amount_requested, 0),
               sign * coalesce(f.amount_approved, 0))::stpm.report_counts
$$;

-- Fold the committed deltas into the counts. Returns the number of counter rows touched,
-- 0 when another transaction is folding already.
CREATE FUNCTION stpm.report_compact() RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, stpm AS $$
DECLARE
    n bigint;
BEGIN
    IF NOT pg_try_advisory_xact_lock(hashtext('stpm.report_compact')) THEN
        RETURN 0;
    END IF;
    WITH d AS (DELETE FROM stpm.report_deltas RETURNING *)
    INSERT INTO stpm.report_counts AS c
    SELECT year, plan_id, level, town, field, state, applied, admitted, approved, funded,
           closed_state, sum(projects), sum(requested), sum(approved_amount)
    FROM d GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11
    ORDER BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11
    ON CONFLICT ON CONSTRAINT report_counts_key DO UPDATE SET
        projects = c.projects + EXCLUDED.projects,
        requested = c.requested + EXCLUDED.requested,
        approved_amount = c.approved_amount + EXCLUDED.approved_amount;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END $$;

-- Runs as its owner: the stpm roles may read the counts and deltas, never write them.
CREATE FUNCTION stpm.report_counts_track() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, stpm AS $$
DECLARE
    o stpm.report_counts;
    n stpm.report_counts;
BEGIN
    IF TG_OP <> 'INSERT' THEN
        o := stpm.report_counts_row(OLD, -1);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        n := stpm.report_counts_row(NEW, 1);
    END IF;
    IF TG_OP = 'UPDATE'
       AND (o.year, o.plan_id, o.level, o.town, o.field, o.state, o.applied, o.admitted,
            o.approved, o.funded, o.closed_state)
           IS NOT DISTINCT FROM
           (n.year, n.plan_id, n.level, n.town, n.field, n.state, n.applied, n.admitted,
            n.approved, n.funded, n.closed_state) THEN
        -- Same combination: only the amounts changed.
        n.projects := 0;
        n.requested := n.requested + o.requested;
        n.approved_amount := n.approved_amount + o.approved_amount;
        o := NULL;
    END IF;
    INSERT INTO stpm.report_deltas SELECT (r).* FROM (VALUES (o), (n)) v(r)
        WHERE (r).projects IS NOT NULL;
    IF nextval('stpm.report_deltas_written') % 4096 = 0 THEN
        PERFORM stpm.report_compact();
    END IF;
    RETURN NULL;
END $$;

-- Only changes to what the counts hold reach the function.
CREATE TRIGGER project_facts_counts_ins AFTER INSERT OR DELETE ON stpm.project_facts
    FOR EACH ROW EXECUTE FUNCTION stpm.report_counts_track();
CREATE TRIGGER project_facts_counts_upd AFTER UPDATE ON stpm.project_facts
    FOR EACH ROW WHEN ((OLD.year, OLD.plan_id, OLD.level, OLD.town, OLD.field, OLD.state,
                        OLD.applied_on IS NULL, OLD.admitted_on IS NULL, OLD.approved_on IS NULL,
                        OLD.funded_plan, OLD.closed_state, OLD.amount_requested,
                        OLD.amount_approved)
                       IS DISTINCT FROM
                       (NEW.year, NEW.plan_id, NEW.level, NEW.town, NEW.field, NEW.state,
                        NEW.applied_on IS NULL, NEW.admitted_on IS NULL, NEW.approved_on IS NULL,
                        NEW.funded_plan, NEW.closed_state, NEW.amount_requested,
                        NEW.amount_approved))
    EXECUTE FUNCTION stpm.report_counts_track();

-- Backfill from the facts already there.
INSERT INTO stpm.report_counts (year, plan_id, level, town, field, state, applied, admitted,
        approved, funded, closed_state, projects, requested, approved_amount)
SELECT f.year, f.plan_id, f.level, f.town, f.field, f.state, f.applied_on IS NOT NULL,
       f.admitted_on IS NOT NULL, f.approved_on IS NOT NULL,
       coalesce(f.approved_on IS NOT NULL AND f.funded_plan AND f.amount_approved > 0, false),
       f.closed_state, count(*), coalesce(sum(f.amount_requested), 0),
       coalesce(sum(f.amount_approved), 0)
FROM stpm.project_facts f
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11;

REVOKE EXECUTE ON FUNCTION stpm.report_compact() FROM PUBLIC;
GRANT SELECT ON stpm.report_counts, stpm.report_deltas
    TO stpm_admin, stpm_officer, stpm_expert, stpm_auditor;

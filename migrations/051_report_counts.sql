-- 051: `report summary` and `report targets` without reading every project.
--
-- stpm.report_counts holds, per combination of everything the reports group or filter by
-- (plan year, plan, level, town, field, current state) and of the milestones a project
-- reached (applied, admitted, approved, funded, the closed state), the number of projects
-- and the sums of their amounts. It is kept by a trigger on stpm.project_facts — which the
-- trigger on stpm.events (040) keeps — as deltas in the same transaction: a project that
-- moves from one combination to another takes 1 (and its amounts) from the first and adds
-- them to the second. A report then reads a few hundred or thousand rows, however many
-- projects there are; only `overdue` (as of a date) comes from the partial index of 040.
--
-- Writers of projects in the same combination queue on its row for the rest of their
-- transaction (a transition holds it for the few statements after the event). The two rows
-- of one change are always locked in the same order, so two opposite moves cannot deadlock.

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

-- Add sign × one project (its combination and amounts) to the counts.
-- Not SECURITY DEFINER: only the trigger below (which is) can write the counts through it.
CREATE FUNCTION stpm.report_counts_add(f stpm.project_facts, sign integer) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO stpm.report_counts AS c (year, plan_id, level, town, field, state, applied,
            admitted, approved, funded, closed_state, projects, requested, approved_amount)
    VALUES (f.year, f.plan_id, f.level, f.town, f.field, f.state, f.applied_on IS NOT NULL,
            f.admitted_on IS NOT NULL, f.approved_on IS NOT NULL,
            coalesce(f.approved_on IS NOT NULL AND f.funded_plan AND f.amount_approved > 0, false),
            f.closed_state, sign, sign * coalesce(f.amount_requested, 0),
            sign * coalesce(f.amount_approved, 0))
    ON CONFLICT ON CONSTRAINT report_counts_key DO UPDATE SET
        projects = c.projects + EXCLUDED.projects,
        requested = c.requested + EXCLUDED.requested,
        approved_amount = c.approved_amount + EXCLUDED.approved_amount
$$;

-- The combination a facts row counts in, as text (to compare and to order the locks).
CREATE FUNCTION stpm.report_counts_key(f stpm.project_facts) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT ROW(f.year, f.plan_id, f.level, f.town, f.field, f.state, f.applied_on IS NOT NULL,
               f.admitted_on IS NOT NULL, f.approved_on IS NOT NULL,
               coalesce(f.approved_on IS NOT NULL AND f.funded_plan AND f.amount_approved > 0,
                        false),
               f.closed_state)::text
$$;

CREATE FUNCTION stpm.report_counts_track() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, stpm AS $$
DECLARE
    ko text;
    kn text;
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM stpm.report_counts_add(NEW, 1);
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM stpm.report_counts_add(OLD, -1);
    ELSE
        ko := stpm.report_counts_key(OLD);
        kn := stpm.report_counts_key(NEW);
        IF ko = kn THEN
            IF OLD.amount_requested IS DISTINCT FROM NEW.amount_requested
               OR OLD.amount_approved IS DISTINCT FROM NEW.amount_approved THEN
                PERFORM stpm.report_counts_add(OLD, -1);
                PERFORM stpm.report_counts_add(NEW, 1);
            END IF;
        ELSIF ko < kn THEN
            PERFORM stpm.report_counts_add(OLD, -1);
            PERFORM stpm.report_counts_add(NEW, 1);
        ELSE
            PERFORM stpm.report_counts_add(NEW, 1);
            PERFORM stpm.report_counts_add(OLD, -1);
        END IF;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER project_facts_counts AFTER INSERT OR UPDATE OR DELETE ON stpm.project_facts
    FOR EACH ROW EXECUTE FUNCTION stpm.report_counts_track();

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

REVOKE EXECUTE ON FUNCTION stpm.report_counts_add(stpm.project_facts, integer) FROM PUBLIC;
GRANT SELECT ON stpm.report_counts TO stpm_admin, stpm_officer, stpm_expert, stpm_auditor;

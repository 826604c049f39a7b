-- 052: `audit unclosed` and the `overdue` of `report summary` read only the periods that
-- are still open after the date asked about.
--
-- 040's partial index is keyed by `due`: for a recent date it reads every period that was
-- ever overdue, also those that ended long ago (a project accepted late stays in it for
-- ever), and then the table to see whether each was still open. This one is keyed by the
-- end of the period (open periods as 'infinity') and carries what the query needs, so the
-- answer for a date D is one index-only range scan over the periods ending after D.
CREATE INDEX project_states_open_after ON stpm.project_states
    ((coalesce(to_date, 'infinity'::date))) INCLUDE (due, from_date, to_date, project_id, state)
    WHERE due IS NOT NULL AND (to_date IS NULL OR to_date > due) AND NOT closed;
-- No ANALYZE here: on a new, empty database it would tell the planner the tables are empty
-- until autovacuum looks again, and the triggers' cached plans would scan them.

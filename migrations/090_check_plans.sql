-- The integrity checks plan their lookups on the indexes, always, and once per session.
--
-- Every statement of stpm.checks_run reads a handful of rows of one project, its
-- organisation, its leader or its year, each through an index. The planner does not always
-- see it so for no_duplicate: it prices `title % $1` and similarity() at the cost of a
-- cheap operator, so once ANALYZE has seen a full year it takes a sequential scan of
-- stpm.project_titles that computes the similarity of every title of the table — measured
-- at 10,000 projects: 184-300 ms per check against 3.5 ms through the trigram index (and
-- linear in the year's projects, so seconds at 100,000). Turning sequential scans off for
-- the function's own statements makes the index path the one taken; it does not forbid a
-- sequential scan where there is no index, it only prices it last.
--
-- With sequential scans priced last, a plan's estimated cost can pass jit_above_cost and
-- JIT would compile the statement (measured: 185 ms to compile for a 0.5 ms scan): JIT
-- never pays for a lookup of a few rows, so it is off too.
ALTER FUNCTION stpm.checks_run(jsonb, uuid, date) SET enable_seqscan = off;
ALTER FUNCTION stpm.checks_run(jsonb, uuid, date) SET jit = off;

-- PL/pgSQL plans a statement with parameters for their values the first five times, then
-- keeps a generic plan only when it looks no dearer; the checks' statements (five joins
-- and a NOT EXISTS for no_duplicate) never pass that test, so each was planned anew at
-- every call: 5-9 ms of planning against 0.4 ms of execution for no_duplicate. Their plans
-- do not depend on the values (a key, a title probed through the trigram index), so the
-- generic plan is the right one: measured on a bulk admit of 10,000 projects (7 checks),
-- the server's CPU time fell from 45.2 s to 28.4 s. The same holds for every statement of
-- the transition itself and of the triggers of its event (lookups by key): 28.4 s to 23.5 s.
ALTER FUNCTION stpm.checks_run(jsonb, uuid, date) SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION stpm.transition_take(text, text, date, jsonb, text, boolean, uuid[], text)
    SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION stpm.project_track() SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION stpm.events_chain() SET plan_cache_mode = force_generic_plan;

SELECT stpm.door_close();

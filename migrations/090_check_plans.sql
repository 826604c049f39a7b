-- The integrity checks plan their lookups on the indexes, always.
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

SELECT stpm.door_close();

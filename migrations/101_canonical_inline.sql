-- 101: the canonical text of an event is inlined where it is hashed (issue 8, "Figures").
--
-- stpm.event_canonical (085's plpgsql) was a call of its own for every event: the trigger
-- events_chain for one at a time and 099's set path for a chunk (measured: 0.03-0.1 ms an
-- event, 0.34 s of a bulk admit of 10,000 projects). As an SQL function declared STABLE,
-- what its body is (to_char, convert_to), the planner puts its expression, and
-- stpm.canon_field's (085), into the statement that calls it. The same two recipes of 080,
-- byte for byte the same text: `audit verify`, which recomputes every hash in C
-- (core/audit/chain.c), checks it.
CREATE OR REPLACE FUNCTION stpm.event_canonical(e stpm.events) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN e.canon = 1
        THEN pg_catalog.concat_ws(E'\x1f',
            e.chain, e.seq::text, coalesce(e.project_id::text, ''),
            pg_catalog.to_char(e.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
            CASE WHEN pg_catalog.isfinite(e.on_date)
                THEN pg_catalog.to_char(e.on_date, 'YYYY-MM-DD')
                     || CASE WHEN e.on_date < DATE '0001-01-01' THEN ' BC' ELSE '' END
                ELSE e.on_date::text END,
            e.actor, e.kind, coalesce(e.transition, ''),
            coalesce(e.from_state, ''), coalesce(e.to_state, ''), coalesce(e.reason, ''),
            e.data::text, e.prev_hash)
        ELSE 'stpm-event-2'
            || stpm.canon_field(e.chain) || stpm.canon_field(e.seq::text)
            || stpm.canon_field(e.project_id::text)
            || stpm.canon_field(pg_catalog.to_char(e.at AT TIME ZONE 'UTC',
                                                   'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))
            || stpm.canon_field(CASE WHEN pg_catalog.isfinite(e.on_date)
                                    THEN pg_catalog.to_char(e.on_date, 'YYYY-MM-DD')
                                         || CASE WHEN e.on_date < DATE '0001-01-01'
                                                 THEN ' BC' ELSE '' END
                                    ELSE e.on_date::text END)
            || stpm.canon_field(e.actor) || stpm.canon_field(e.kind)
            || stpm.canon_field(e.transition) || stpm.canon_field(e.from_state)
            || stpm.canon_field(e.to_state) || stpm.canon_field(e.reason)
            || stpm.canon_field(e.data::text) || stpm.canon_field(e.prev_hash::text) END
$$;

SELECT stpm.door_close();

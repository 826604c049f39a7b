-- 050: the canonical text of an event no longer depends on the session's settings.
--
-- 002 wrote the business date as `e.on_date::text`, which follows the session's DateStyle:
-- a writer with `SET DateStyle = 'SQL, DMY'` would hash "01/03/2021" where `audit verify`
-- (and every ISO session) reads "2021-03-01", and its events would never verify. The date
-- is now formatted explicitly, exactly as DateStyle ISO prints it, so every hash already
-- written under ISO (the default) still verifies:
--   finite AD dates  YYYY-MM-DD (4 digits at least, more after 9999)
--   BC dates         YYYY-MM-DD BC
--   ±infinity        infinity / -infinity (the same in every DateStyle)
-- The other parts were already independent of the session: seq (bigint), project (uuid),
-- at (to_char of `at AT TIME ZONE 'UTC'` with numeric fields only — not TimeZone, not
-- DateStyle, not lc_time), the text columns as stored, data (jsonb's text form: keys
-- sorted, numbers as numeric — not extra_float_digits), prev_hash; nulls are ''. Nothing
-- uses intervals, floats or bytea (IntervalStyle, extra_float_digits, bytea_output).
-- convert_to(..., 'UTF8') in the trigger does not depend on client_encoding.
CREATE OR REPLACE FUNCTION stpm.event_canonical(e stpm.events) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT pg_catalog.concat_ws(E'\x1f',
        e.chain, e.seq::text, coalesce(e.project_id::text, ''),
        pg_catalog.to_char(e.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
        CASE WHEN pg_catalog.isfinite(e.on_date)
             THEN pg_catalog.to_char(e.on_date, 'YYYY-MM-DD')
                  || CASE WHEN e.on_date < DATE '0001-01-01' THEN ' BC' ELSE '' END
             ELSE e.on_date::text END,
        e.actor, e.kind, coalesce(e.transition, ''),
        coalesce(e.from_state, ''), coalesce(e.to_state, ''), coalesce(e.reason, ''),
        e.data::text, e.prev_hash)
$$;

-- 071: the expression language of workflows (docs/expressions.md) on the server, so that
-- the server can decide guards and `set:` values itself (DESIGN §5; issue 8).
--
--   stpm.calendar_shipped   the shipped working-day calendar, the days that
--                           stpm_calendar_new_default lists (data/calendar/cn.yaml);
--                           stpm.calendar_days, the administrator's additions, override it
--   stpm.is_workday(d)      a working day?
--   stpm.workdays_add(d, n) the n-th working day after d (before it when n < 0)
--   stpm.duration_add(d, unit, n)   d moved by n days, working days, months or years
--   stpm.expr_eval(ast, vals, today)  the value of an expression tree (jsonb)
--   stpm.expr_true(ast, vals, today)  a guard: true only when the value is true
--
-- The tree is what libstpm writes with stpm_expr_to_json (core/workflow/expr_json.c):
-- every node an object with "k" (kind) and "t" (static type). Values (vals, results) are
-- JSON: int and amount numbers, dates "YYYY-MM-DD", text strings, booleans; an absent key
-- or JSON null is a field that is not set. The semantics are exactly those of the C
-- evaluator (core/workflow/expr_eval.c): tests/unit/test_expr_server.c compares the two
-- on thousands of generated expressions.
--
-- Inside the evaluator a value travels as text, interpreted by the node's static type:
-- bool 'true'/'false', int and amount their digits (amounts with four places), a date its
-- day number since 1970-01-01 (as stpm_date; no DateStyle is involved), text itself, and
-- SQL NULL for not set.

CREATE TABLE stpm.calendar_shipped (
    day      date PRIMARY KEY,
    workday  boolean NOT NULL
);

-- Written by scripts/calendar_sql.py data/calendar/cn.yaml.
INSERT INTO stpm.calendar_shipped (day, workday) VALUES
    ('2016-01-01', false),
    ('2016-01-02', false),
    ('2016-01-03', false),
    ('2016-02-06', true),
    ('2016-02-07', false),
    ('2016-02-08', false),
    ('2016-02-09', false),
    ('2016-02-10', false),
    ('2016-02-11', false),
    ('2016-02-12', false),
    ('2016-02-13', false),
    ('2016-02-14', true),
    ('2016-04-02', false),
    ('2016-04-03', false),
    ('2016-04-04', false),
    ('2016-04-30', false),
    ('2016-05-01', false),
    ('2016-05-02', false),
    ('2016-06-09', false),
    ('2016-06-10', false),
    ('2016-06-11', false),
    ('2016-06-12', true),
    ('2016-09-15', false),
    ('2016-09-16', false),
    ('2016-09-17', false),
    ('2016-09-18', true),
    ('2016-10-01', false),
    ('2016-10-02', false),
    ('2016-10-03', false),
    ('2016-10-04', false),
    ('2016-10-05', false),
    ('2016-10-06', false),
    ('2016-10-07', false),
    ('2016-10-08', true),
    ('2016-10-09', true),
    ('2016-12-31', false),
    ('2017-01-01', false),
    ('2017-01-02', false),
    ('2017-01-22', true),
    ('2017-01-27', false),
    ('2017-01-28', false),
    ('2017-01-29', false),
    ('2017-01-30', false),
    ('2017-01-31', false),
    ('2017-02-01', false),
    ('2017-02-02', false),
    ('2017-02-04', true),
    ('2017-04-01', true),
    ('2017-04-02', false),
    ('2017-04-03', false),
    ('2017-04-04', false),
    ('2017-04-29', false),
    ('2017-04-30', false),
    ('2017-05-01', false),
    ('2017-05-27', true),
    ('2017-05-28', false),
    ('2017-05-29', false),
    ('2017-05-30', false),
    ('2017-09-30', true),
    ('2017-10-01', false),
    ('2017-10-02', false),
    ('2017-10-03', false),
    ('2017-10-04', false),
    ('2017-10-05', false),
    ('2017-10-06', false),
    ('2017-10-07', false),
    ('2017-10-08', false),
    ('2017-12-30', false),
    ('2017-12-31', false),
    ('2018-01-01', false),
    ('2018-02-11', true),
    ('2018-02-15', false),
    ('2018-02-16', false),
    ('2018-02-17', false),
    ('2018-02-18', false),
    ('2018-02-19', false),
    ('2018-02-20', false),
    ('2018-02-21', false),
    ('2018-02-24', true),
    ('2018-04-05', false),
    ('2018-04-06', false),
    ('2018-04-07', false),
    ('2018-04-08', true),
    ('2018-04-28', true),
    ('2018-04-29', false),
    ('2018-04-30', false),
    ('2018-05-01', false),
    ('2018-06-16', false),
    ('2018-06-17', false),
    ('2018-06-18', false),
    ('2018-09-22', false),
    ('2018-09-23', false),
    ('2018-09-24', false),
    ('2018-09-29', true),
    ('2018-09-30', true),
    ('2018-10-01', false),
    ('2018-10-02', false),
    ('2018-10-03', false),
    ('2018-10-04', false),
    ('2018-10-05', false),
    ('2018-10-06', false),
    ('2018-10-07', false),
    ('2018-12-29', true),
    ('2018-12-30', false),
    ('2018-12-31', false),
    ('2019-01-01', false),
    ('2019-02-02', true),
    ('2019-02-03', true),
    ('2019-02-04', false),
    ('2019-02-05', false),
    ('2019-02-06', false),
    ('2019-02-07', false),
    ('2019-02-08', false),
    ('2019-02-09', false),
    ('2019-02-10', false),
    ('2019-04-05', false),
    ('2019-04-06', false),
    ('2019-04-07', false),
    ('2019-04-28', true),
    ('2019-05-01', false),
    ('2019-05-02', false),
    ('2019-05-03', false),
    ('2019-05-04', false),
    ('2019-05-05', true),
    ('2019-06-07', false),
    ('2019-06-08', false),
    ('2019-06-09', false),
    ('2019-09-13', false),
    ('2019-09-14', false),
    ('2019-09-15', false),
    ('2019-09-29', true),
    ('2019-10-01', false),
    ('2019-10-02', false),
    ('2019-10-03', false),
    ('2019-10-04', false),
    ('2019-10-05', false),
    ('2019-10-06', false),
    ('2019-10-07', false),
    ('2019-10-12', true),
    ('2020-01-01', false),
    ('2020-01-19', true),
    ('2020-01-24', false),
    ('2020-01-25', false),
    ('2020-01-26', false),
    ('2020-01-27', false),
    ('2020-01-28', false),
    ('2020-01-29', false),
    ('2020-01-30', false),
    ('2020-01-31', false),
    ('2020-02-01', false),
    ('2020-02-02', false),
    ('2020-04-04', false),
    ('2020-04-05', false),
    ('2020-04-06', false),
    ('2020-04-26', true),
    ('2020-05-01', false),
    ('2020-05-02', false),
    ('2020-05-03', false),
    ('2020-05-04', false),
    ('2020-05-05', false),
    ('2020-05-09', true),
    ('2020-06-25', false),
    ('2020-06-26', false),
    ('2020-06-27', false),
    ('2020-06-28', true),
    ('2020-09-27', true),
    ('2020-10-01', false),
    ('2020-10-02', false),
    ('2020-10-03', false),
    ('2020-10-04', false),
    ('2020-10-05', false),
    ('2020-10-06', false),
    ('2020-10-07', false),
    ('2020-10-08', false),
    ('2020-10-10', true),
    ('2021-01-01', false),
    ('2021-01-02', false),
    ('2021-01-03', false),
    ('2021-02-07', true),
    ('2021-02-11', false),
    ('2021-02-12', false),
    ('2021-02-13', false),
    ('2021-02-14', false),
    ('2021-02-15', false),
    ('2021-02-16', false),
    ('2021-02-17', false),
    ('2021-02-20', true),
    ('2021-04-03', false),
    ('2021-04-04', false),
    ('2021-04-05', false),
    ('2021-04-25', true),
    ('2021-05-01', false),
    ('2021-05-02', false),
    ('2021-05-03', false),
    ('2021-05-04', false),
    ('2021-05-05', false),
    ('2021-05-08', true),
    ('2021-06-12', false),
    ('2021-06-13', false),
    ('2021-06-14', false),
    ('2021-09-18', true),
    ('2021-09-19', false),
    ('2021-09-20', false),
    ('2021-09-21', false),
    ('2021-09-26', true),
    ('2021-10-01', false),
    ('2021-10-02', false),
    ('2021-10-03', false),
    ('2021-10-04', false),
    ('2021-10-05', false),
    ('2021-10-06', false),
    ('2021-10-07', false),
    ('2021-10-09', true),
    ('2022-01-01', false),
    ('2022-01-02', false),
    ('2022-01-03', false),
    ('2022-01-29', true),
    ('2022-01-30', true),
    ('2022-01-31', false),
    ('2022-02-01', false),
    ('2022-02-02', false),
    ('2022-02-03', false),
    ('2022-02-04', false),
    ('2022-02-05', false),
    ('2022-02-06', false),
    ('2022-04-02', true),
    ('2022-04-03', false),
    ('2022-04-04', false),
    ('2022-04-05', false),
    ('2022-04-24', true),
    ('2022-04-30', false),
    ('2022-05-01', false),
    ('2022-05-02', false),
    ('2022-05-03', false),
    ('2022-05-04', false),
    ('2022-05-07', true),
    ('2022-06-03', false),
    ('2022-06-04', false),
    ('2022-06-05', false),
    ('2022-09-10', false),
    ('2022-09-11', false),
    ('2022-09-12', false),
    ('2022-10-01', false),
    ('2022-10-02', false),
    ('2022-10-03', false),
    ('2022-10-04', false),
    ('2022-10-05', false),
    ('2022-10-06', false),
    ('2022-10-07', false),
    ('2022-10-08', true),
    ('2022-10-09', true),
    ('2022-12-31', false),
    ('2023-01-01', false),
    ('2023-01-02', false),
    ('2023-01-21', false),
    ('2023-01-22', false),
    ('2023-01-23', false),
    ('2023-01-24', false),
    ('2023-01-25', false),
    ('2023-01-26', false),
    ('2023-01-27', false),
    ('2023-01-28', true),
    ('2023-01-29', true),
    ('2023-04-05', false),
    ('2023-04-23', true),
    ('2023-04-29', false),
    ('2023-04-30', false),
    ('2023-05-01', false),
    ('2023-05-02', false),
    ('2023-05-03', false),
    ('2023-05-06', true),
    ('2023-06-22', false),
    ('2023-06-23', false),
    ('2023-06-24', false),
    ('2023-06-25', true),
    ('2023-09-29', false),
    ('2023-09-30', false),
    ('2023-10-01', false),
    ('2023-10-02', false),
    ('2023-10-03', false),
    ('2023-10-04', false),
    ('2023-10-05', false),
    ('2023-10-06', false),
    ('2023-10-07', true),
    ('2023-10-08', true),
    ('2023-12-30', false),
    ('2023-12-31', false),
    ('2024-01-01', false),
    ('2024-02-04', true),
    ('2024-02-10', false),
    ('2024-02-11', false),
    ('2024-02-12', false),
    ('2024-02-13', false),
    ('2024-02-14', false),
    ('2024-02-15', false),
    ('2024-02-16', false),
    ('2024-02-17', false),
    ('2024-02-18', true),
    ('2024-04-04', false),
    ('2024-04-05', false),
    ('2024-04-06', false),
    ('2024-04-07', true),
    ('2024-04-28', true),
    ('2024-05-01', false),
    ('2024-05-02', false),
    ('2024-05-03', false),
    ('2024-05-04', false),
    ('2024-05-05', false),
    ('2024-05-11', true),
    ('2024-06-08', false),
    ('2024-06-09', false),
    ('2024-06-10', false),
    ('2024-09-14', true),
    ('2024-09-15', false),
    ('2024-09-16', false),
    ('2024-09-17', false),
    ('2024-09-29', true),
    ('2024-10-01', false),
    ('2024-10-02', false),
    ('2024-10-03', false),
    ('2024-10-04', false),
    ('2024-10-05', false),
    ('2024-10-06', false),
    ('2024-10-07', false),
    ('2024-10-12', true),
    ('2025-01-01', false),
    ('2025-01-26', true),
    ('2025-01-28', false),
    ('2025-01-29', false),
    ('2025-01-30', false),
    ('2025-01-31', false),
    ('2025-02-01', false),
    ('2025-02-02', false),
    ('2025-02-03', false),
    ('2025-02-04', false),
    ('2025-02-08', true),
    ('2025-04-04', false),
    ('2025-04-05', false),
    ('2025-04-06', false),
    ('2025-04-27', true),
    ('2025-05-01', false),
    ('2025-05-02', false),
    ('2025-05-03', false),
    ('2025-05-04', false),
    ('2025-05-05', false),
    ('2025-05-31', false),
    ('2025-06-01', false),
    ('2025-06-02', false),
    ('2025-09-28', true),
    ('2025-10-01', false),
    ('2025-10-02', false),
    ('2025-10-03', false),
    ('2025-10-04', false),
    ('2025-10-05', false),
    ('2025-10-06', false),
    ('2025-10-07', false),
    ('2025-10-08', false),
    ('2025-10-11', true),
    ('2026-01-01', false),
    ('2026-01-02', false),
    ('2026-01-03', false),
    ('2026-01-04', true),
    ('2026-02-14', true),
    ('2026-02-15', false),
    ('2026-02-16', false),
    ('2026-02-17', false),
    ('2026-02-18', false),
    ('2026-02-19', false),
    ('2026-02-20', false),
    ('2026-02-21', false),
    ('2026-02-22', false),
    ('2026-02-23', false),
    ('2026-02-28', true),
    ('2026-04-04', false),
    ('2026-04-05', false),
    ('2026-04-06', false),
    ('2026-05-01', false),
    ('2026-05-02', false),
    ('2026-05-03', false),
    ('2026-05-04', false),
    ('2026-05-05', false),
    ('2026-05-09', true),
    ('2026-06-19', false),
    ('2026-06-20', false),
    ('2026-06-21', false),
    ('2026-09-20', true),
    ('2026-09-25', false),
    ('2026-09-26', false),
    ('2026-09-27', false),
    ('2026-10-01', false),
    ('2026-10-02', false),
    ('2026-10-03', false),
    ('2026-10-04', false),
    ('2026-10-05', false),
    ('2026-10-06', false),
    ('2026-10-07', false),
    ('2026-10-10', true),
    ('2027-01-01', false),
    ('2027-02-05', false),
    ('2027-02-06', false),
    ('2027-02-07', false),
    ('2027-02-08', false),
    ('2027-04-05', false),
    ('2027-05-01', false),
    ('2027-05-02', false),
    ('2027-06-09', false),
    ('2027-09-15', false),
    ('2027-10-01', false),
    ('2027-10-02', false),
    ('2027-10-03', false);

GRANT SELECT ON stpm.calendar_shipped TO stpm_admin, stpm_officer, stpm_expert, stpm_auditor;

CREATE FUNCTION stpm.is_workday(d date) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE SET search_path = pg_catalog, stpm, pg_temp AS $$
    SELECT coalesce((SELECT c.workday FROM stpm.calendar_days c WHERE c.day = $1),
                    (SELECT s.workday FROM stpm.calendar_shipped s WHERE s.day = $1),
                    extract(isodow FROM $1) < 6)
$$;

-- Working days are counted with closed formulas between the days that break the
-- Monday-to-Friday rule (a holiday on a weekday, a make-up day on a weekend), which are
-- read in windows: a window ends 30 days after the answer the rule alone would give from
-- the last day counted, so a small n reads a few rows, and n = 100000 the calendar once.
--   x      a day as its number after Sunday 2000-01-02
--   F(x)   the number of Mondays to Fridays in (2000-01-02, x] (negative before it):
--          5 * floor(x / 7) + least(x mod 7, 5), computed on x + 14000000 (2000000 weeks,
--          far beyond any date PostgreSQL holds) to divide non-negative numbers only
--   G(m)   the Monday to Friday numbered m, the smallest x with F(x) = m:
--          7 * floor((m - 1) / 5) + (m - 1) mod 5 + 1
CREATE FUNCTION stpm.workdays_add(d date, n integer) RETURNS date
LANGUAGE plpgsql STABLE PARALLEL SAFE SET search_path = pg_catalog, stpm, pg_temp AS $$
DECLARE
    ref constant date := date '2000-01-02';
    fwd constant boolean := n > 0;
    cur bigint := d - ref;     -- the last day counted
    left_ bigint := abs(n::bigint);
    fcur bigint;               -- F(cur) forwards, F(cur - 1) backwards
    lo date := d;              -- the days from d to lo (inclusive) have been read
    hi date;
    xs date[];
    ws boolean[];
    ex bigint;
    k bigint;
    m bigint;
BEGIN
    IF d IS NULL OR n IS NULL THEN
        RETURN NULL;
    END IF;
    IF n = 0 THEN
        RETURN d;
    END IF;
    LOOP
        k := cur + 14000000 - CASE WHEN fwd THEN 0 ELSE 1 END;
        fcur := 5 * (k / 7) + least(k % 7, 5) - 10000000;
        m := CASE WHEN fwd THEN fcur + left_ ELSE fcur - left_ + 1 END - 1 + 10000000;
        hi := ref + (7 * (m / 5) + m % 5 + 1 - 14000000)::integer;
        IF (fwd AND hi <= lo) OR (NOT fwd AND hi >= lo) THEN
            RETURN hi;         -- every day up to the answer was read
        END IF;
        -- read 30 days more, so that a holiday block on the way is usually read at once
        hi := hi + CASE WHEN fwd THEN 30 ELSE -30 END;
        IF fwd THEN
            SELECT array_agg(x.day ORDER BY x.day), array_agg(x.workday ORDER BY x.day)
              INTO xs, ws
              FROM (SELECT c.day, c.workday FROM stpm.calendar_days c
                     WHERE c.day > lo AND c.day <= hi
                    UNION ALL
                    SELECT s.day, s.workday FROM stpm.calendar_shipped s
                     WHERE s.day > lo AND s.day <= hi
                       AND NOT EXISTS (SELECT FROM stpm.calendar_days c WHERE c.day = s.day)) x
             WHERE x.workday = (extract(isodow FROM x.day) >= 6);
        ELSE
            SELECT array_agg(x.day ORDER BY x.day DESC), array_agg(x.workday ORDER BY x.day DESC)
              INTO xs, ws
              FROM (SELECT c.day, c.workday FROM stpm.calendar_days c
                     WHERE c.day < lo AND c.day >= hi
                    UNION ALL
                    SELECT s.day, s.workday FROM stpm.calendar_shipped s
                     WHERE s.day < lo AND s.day >= hi
                       AND NOT EXISTS (SELECT FROM stpm.calendar_days c WHERE c.day = s.day)) x
             WHERE x.workday = (extract(isodow FROM x.day) >= 6);
        END IF;
        FOR i IN 1 .. coalesce(array_length(xs, 1), 0) LOOP
            ex := xs[i] - ref;
            -- k: the Mondays to Fridays strictly between the last day counted and ex
            k := ex + 14000000 - CASE WHEN fwd THEN 1 ELSE 0 END;
            k := 5 * (k / 7) + least(k % 7, 5) - 10000000;
            k := CASE WHEN fwd THEN k - fcur ELSE fcur - k END;
            IF k >= left_ THEN
                -- the answer comes before ex, by the rule alone
                m := CASE WHEN fwd THEN fcur + left_ ELSE fcur - left_ + 1 END - 1 + 10000000;
                RETURN ref + (7 * (m / 5) + m % 5 + 1 - 14000000)::integer;
            END IF;
            left_ := left_ - k;
            IF ws[i] THEN
                left_ := left_ - 1;   -- a make-up working day on a weekend
                IF left_ = 0 THEN
                    RETURN xs[i];
                END IF;
            END IF;                   -- (a holiday on a weekday counts nothing)
            cur := ex;
            k := cur + 14000000 - CASE WHEN fwd THEN 0 ELSE 1 END;
            fcur := 5 * (k / 7) + least(k % 7, 5) - 10000000;
        END LOOP;
        lo := hi;              -- all of the window is counted; the answer lies further
    END LOOP;
END
$$;

CREATE FUNCTION stpm.duration_add(d date, unit text, n bigint) RETURNS date
LANGUAGE plpgsql STABLE PARALLEL SAFE SET search_path = pg_catalog, stpm, pg_temp AS $$
DECLARE
    r date;
    months bigint;
    total bigint;
BEGIN
    IF d IS NULL OR unit IS NULL OR n IS NULL THEN
        RETURN NULL;
    END IF;
    IF n < -100000 OR n > 100000 THEN
        RAISE EXCEPTION 'a duration has at most 100000 units, not %', n
            USING ERRCODE = 'numeric_value_out_of_range';
    END IF;
    IF d >= date '0001-01-01' AND d <= date '9999-12-31' THEN
        CASE unit
        WHEN 'd' THEN
            r := d + n::integer;
        WHEN 'wd' THEN
            r := stpm.workdays_add(d, n::integer);
        WHEN 'mo', 'y' THEN
            months := CASE WHEN unit = 'y' THEN 12 * n ELSE n END;
            total := 12 * extract(year FROM d)::bigint + extract(month FROM d)::bigint - 1 + months;
            IF total >= 12 AND total <= 12 * 9999 + 11 THEN
                r := (d + make_interval(months => months::integer))::date;
            END IF;
        ELSE
            RAISE EXCEPTION 'unknown duration unit "%"', unit
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'The units are d, wd, mo and y.';
        END CASE;
    END IF;
    IF r IS NULL OR r < date '0001-01-01' OR r > date '9999-12-31' THEN
        RAISE EXCEPTION 'date out of range: % moved by % leaves 0001-01-01 .. 9999-12-31',
                        to_char(d, 'YYYY-MM-DD'), n || unit
            USING ERRCODE = 'datetime_field_overflow';
    END IF;
    RETURN r;
END
$$;

-- The evaluator: stpm.expr_value evaluates a node; its operands go through
-- stpm.expr_operand, which PostgreSQL inlines (plain SQL), so that fields, literals and
-- today cost no function call of their own. These helpers carry no SET clause (a SET
-- clause would be re-applied at every node): they run inside stpm.expr_eval and
-- stpm.expr_true, whose SET search_path they inherit, and read no table.

CREATE FUNCTION stpm.expr_bad_value(name text, t text, v jsonb) RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
    RAISE EXCEPTION 'the value of field "%" is not of its type %: %', name, t, left(v::text, 100)
        USING ERRCODE = 'invalid_parameter_value',
              HINT = 'Give an int or amount as a JSON number (an amount with at most four'
                     ' decimal places), a date as "YYYY-MM-DD", text as a string.';
END
$$;

-- The value of field `name` of type t, given as v (vals -> name), as text.
CREATE FUNCTION stpm.expr_field(v jsonb, t text, name text) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN v IS NULL OR jsonb_typeof(v) = 'null' THEN NULL
        WHEN t = 'int' AND jsonb_typeof(v) = 'number' AND v::numeric = trunc(v::numeric)
             AND v::numeric BETWEEN -9223372036854775808 AND 9223372036854775807
            THEN trunc(v::numeric)::text
        WHEN t = 'amount' AND jsonb_typeof(v) = 'number' AND v::numeric = round(v::numeric, 4)
             AND v::numeric BETWEEN -922337203685477.5808 AND 922337203685477.5807
            THEN round(v::numeric, 4)::text
        WHEN t = 'date' AND jsonb_typeof(v) = 'string'
             AND length(v #>> '{}') = 10 AND translate(v #>> '{}', '0123456789', '') = '--'
            THEN ((v #>> '{}')::date - date '1970-01-01')::text
        WHEN t = 'text' AND jsonb_typeof(v) = 'string' THEN v #>> '{}'
        WHEN t = 'bool' AND jsonb_typeof(v) = 'boolean' THEN v::text
        ELSE stpm.expr_bad_value(name, t, v)
    END
$$;

-- The value of one node as text (see the top of this file), NULL when not set.
CREATE FUNCTION stpm.expr_value(n jsonb, vals jsonb, today date) RETURNS text
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
    k text := n->>'k';
    op text;
    a text;
    b text;
    ta text;
    tb text;
    ca jsonb;
    cb jsonb;
    chain jsonb[];
    v jsonb;
    x numeric;
    found boolean;
    saw_null boolean;
BEGIN
    IF k = 'op' THEN
        op := n->>'op';
        IF op = 'and' OR op = 'or' THEN
            -- Kleene logic, left to right over the chain a and b and c ... (the left spine
            -- of the same operator, walked here rather than by recursion); the rest is
            -- not evaluated once a value decides
            op := CASE WHEN op = 'and' THEN 'false' ELSE 'true' END;   -- the deciding value
            chain := ARRAY[n->'b'];
            ca := n->'a';
            WHILE ca->>'k' = 'op' AND ca->>'op' = (n->>'op') LOOP
                chain := chain || (ca->'b');
                ca := ca->'a';
            END LOOP;
            a := stpm.expr_operand(ca, vals, today);
            IF a = op THEN
                RETURN a;
            END IF;
            saw_null := a IS NULL;
            FOR i IN REVERSE array_length(chain, 1) .. 1 LOOP
                cb := chain[i];
                b := stpm.expr_operand(cb, vals, today);
                IF b = op THEN
                    RETURN b;
                END IF;
                saw_null := saw_null OR b IS NULL;
            END LOOP;
            RETURN CASE WHEN saw_null THEN NULL ELSE (NOT op::boolean)::text END;
        END IF;
        ca := n->'a';
        cb := n->'b';
        ta := ca->>'t';
        tb := cb->>'t';
        IF ta = 'duration' OR tb = 'duration' THEN
            -- date +- duration, duration + date: the duration is a literal
            v := CASE WHEN ta = 'duration' THEN ca ELSE cb END;
            IF v->>'k' <> 'lit' THEN
                RAISE EXCEPTION 'corrupt expression tree: a duration that is not a literal'
                    USING ERRCODE = 'invalid_parameter_value';
            END IF;
            ca := CASE WHEN ta = 'duration' THEN cb ELSE ca END;
            a := stpm.expr_operand(ca, vals, today);
            IF a IS NULL THEN
                RETURN NULL;
            END IF;
            RETURN (stpm.duration_add(date '1970-01-01' + a::integer, v->'v'->>'u',
                                      CASE WHEN op = '-' THEN -1 ELSE 1 END * (v->'v'->>'n')::bigint)
                    - date '1970-01-01')::text;
        END IF;
        a := stpm.expr_operand(ca, vals, today);
        b := stpm.expr_operand(cb, vals, today);
        IF a IS NULL OR b IS NULL THEN
            RETURN NULL;
        END IF;
        IF op = '+' OR op = '-' THEN
            x := CASE WHEN op = '+' THEN a::numeric + b::numeric ELSE a::numeric - b::numeric END;
            IF n->>'t' = 'int' THEN
                IF x < -9223372036854775808 OR x > 9223372036854775807 THEN
                    RAISE EXCEPTION 'integer out of range: % % % does not fit in 64 bits', a, op, b
                        USING ERRCODE = 'numeric_value_out_of_range';
                END IF;
            ELSIF (ta = 'int' AND abs(a::numeric) > 922337203685477)
                  OR (tb = 'int' AND abs(b::numeric) > 922337203685477)
                  OR x < -922337203685477.5808 OR x > 922337203685477.5807 THEN
                RAISE EXCEPTION 'amount out of range: % % % leaves -922337203685477.5808 .. 922337203685477.5807',
                                a, op, b
                    USING ERRCODE = 'numeric_value_out_of_range';
            END IF;
            RETURN x::text;
        END IF;
        IF ta = 'text' OR ta = 'bool' THEN
            RETURN CASE WHEN op = '=' THEN a = b ELSE a <> b END::text;
        END IF;
        x := a::numeric - b::numeric;   -- numbers (int and amount mix) and day numbers
        RETURN CASE op WHEN '=' THEN x = 0 WHEN '!=' THEN x <> 0 WHEN '<' THEN x < 0
                       WHEN '<=' THEN x <= 0 WHEN '>' THEN x > 0 ELSE x >= 0 END::text;
    ELSIF k = 'not' THEN
        ca := n->'a';
        RETURN (NOT stpm.expr_operand(ca, vals, today)::boolean)::text;
    ELSIF k = 'isset' THEN
        v := vals -> (n->>'n');
        RETURN ((v IS NOT NULL AND jsonb_typeof(v) <> 'null') <> (n->>'neg')::boolean)::text;
    ELSIF k = 'in' THEN
        -- SQL's IN: true on a match, else null when an element is null; the elements
        -- after a match are not evaluated, nor any when the left side is null
        ca := n->'a';
        a := stpm.expr_operand(ca, vals, today);
        IF a IS NULL THEN
            RETURN NULL;
        END IF;
        ta := ca->>'t';
        v := n->'items';
        found := false;
        saw_null := false;
        FOR i IN 0 .. jsonb_array_length(v) - 1 LOOP
            cb := v->i;
            b := stpm.expr_operand(cb, vals, today);
            IF b IS NULL THEN
                saw_null := true;
            ELSIF ta = 'text' OR ta = 'bool' THEN
                found := a = b;
            ELSE
                found := a::numeric = b::numeric;
            END IF;
            EXIT WHEN found;
        END LOOP;
        IF NOT found AND saw_null THEN
            RETURN NULL;
        END IF;
        RETURN (found <> (n->>'neg')::boolean)::text;
    ELSIF k = 'neg' THEN
        ca := n->'a';
        a := stpm.expr_operand(ca, vals, today);
        IF a IS NULL THEN
            RETURN NULL;
        END IF;
        x := -(a::numeric);
        IF (n->>'t' = 'int' AND x > 9223372036854775807)
           OR (n->>'t' = 'amount' AND x > 922337203685477.5807) THEN
            RAISE EXCEPTION 'number out of range: -(%) does not fit', a
                USING ERRCODE = 'numeric_value_out_of_range';
        END IF;
        RETURN x::text;
    ELSIF k IN ('field', 'lit', 'today') AND n->>'t' <> 'duration' THEN
        RETURN stpm.expr_operand(n, vals, today);
    END IF;
    RAISE EXCEPTION 'corrupt expression tree: %', left(n::text, 200)
        USING ERRCODE = 'invalid_parameter_value';
END
$$;

-- The value of an operand c as text: fields, literals and today here, the rest by
-- stpm.expr_value.
CREATE FUNCTION stpm.expr_operand(c jsonb, vals jsonb, today date) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE c->>'k'
        WHEN 'field' THEN stpm.expr_field(vals -> (c->>'n'), c->>'t', c->>'n')
        WHEN 'lit' THEN CASE c->>'t'
            WHEN 'date' THEN ((c->>'v')::date - date '1970-01-01')::text
            WHEN 'amount' THEN round((c->'v')::numeric, 4)::text
            ELSE c->>'v'
            END
        WHEN 'today' THEN (today - date '1970-01-01')::text
        ELSE stpm.expr_value(c, vals, today)
    END
$$;

CREATE FUNCTION stpm.expr_eval(ast jsonb, vals jsonb, today date) RETURNS jsonb
LANGUAGE plpgsql STABLE PARALLEL SAFE SET search_path = pg_catalog, stpm, pg_temp AS $$
DECLARE
    r text;
BEGIN
    IF ast IS NULL OR today IS NULL THEN
        RAISE EXCEPTION 'an expression needs its tree and the date of today'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    r := stpm.expr_value(ast, coalesce(vals, '{}'), today);
    IF r IS NULL THEN
        RETURN 'null'::jsonb;
    END IF;
    CASE ast->>'t'
    WHEN 'bool' THEN
        RETURN to_jsonb(r::boolean);
    WHEN 'int', 'amount' THEN
        RETURN to_jsonb(r::numeric);
    WHEN 'date' THEN
        RETURN to_jsonb(date '1970-01-01' + r::integer);
    ELSE
        RETURN to_jsonb(r);
    END CASE;
END
$$;

-- A guard: true only when the expression is true (null, a field not set, is false).
CREATE FUNCTION stpm.expr_true(ast jsonb, vals jsonb, today date) RETURNS boolean
LANGUAGE plpgsql STABLE PARALLEL SAFE SET search_path = pg_catalog, stpm, pg_temp AS $$
BEGIN
    IF ast IS NULL OR today IS NULL THEN
        RAISE EXCEPTION 'an expression needs its tree and the date of today'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF ast->>'t' NOT IN ('bool', 'null') THEN
        RAISE EXCEPTION 'a guard must be a boolean, not %', ast->>'t'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN coalesce(stpm.expr_value(ast, coalesce(vals, '{}'), today) = 'true', false);
END
$$;

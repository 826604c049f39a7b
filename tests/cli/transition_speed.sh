#!/usr/bin/env bash
# Migration 085 makes transitions cheaper and must change nothing they write:
#   * stpm.event_canonical (plpgsql since 085) gives, byte for byte, the text of 080's SQL
#     definition, for both recipes, NULLs, U+001F in a reason, BC and infinite dates and
#     multibyte text, and for every event a real history holds;
#   * the same transitions taken one at a time (stpm.project_advance) and in bulk
#     (stpm.project_advance_many: `project advance --where`) write the same events, the
#     same periods and facts (project_track), the same refusal records and evidence, and
#     the derived tables equal their rebuild from the events (stpm.derived_problems);
. "$(dirname "$0")/lib.sh"
need_db
need_source
ORG=91320682MA1MXXXX9P
BAD=91320682MA1N0Q3BXD

need_groups

DB=$(fresh_db tspeed)
sql() { psql "$DB" -qAtX -v ON_ERROR_STOP=1 -c "$1"; }
st() { "$STPM" --db "$DB" --today "$1" "${@:2}"; }
"$STPM" --db "$DB" workflow load "$SRC/tests/data/audit_test.yaml" >/dev/null
for plan in ONE BLK; do
    sql "INSERT INTO stpm.plans (code, name, level, funded, workflow_name)
         VALUES ('$plan', '测试计划 $plan', 'provincial', true, 'audit_test')"
done
sql "INSERT INTO stpm.orgs (uscc, name, town) VALUES ('$ORG', '如皋某某科技有限公司', '如城街道')"
sql "INSERT INTO stpm.orgs (uscc, name, town) VALUES ('$BAD', '南通失信样例有限公司', '崇川区')"
st 2020-02-01 org blacklist $BAD --reason 失信被执行人 --from 2020-01-01 >/dev/null

# Twins: the same titles' words, leaders and orgs in plan ONE (one at a time) and BLK (bulk).
titles=(高效电机控制系统研发 纺织机械智能化改造 新能源汽车电池回收 海上风电运维平台)
orgs=($ORG $ORG $BAD $ORG)
declare -A code
for plan in ONE BLK; do
    for i in 0 1 2 3; do
        code[$plan$i]=$(st 2020-03-01 project create --plan $plan --org "${orgs[$i]}" \
            --title "${titles[$i]}（$plan）" --leader "负责人$i" --year 2020 \
            --set amount_requested=$((50 + i)))
    done
done
steps=("2020-03-02 applied apply" "2020-03-03 admitted admit" "2020-04-01 approved approve"
       "2020-05-01 accepting submit" "2020-06-01 accepted accept")
for s in "${steps[@]}"; do
    set -- $s
    for i in 0 1 2 3; do st "$1" project advance "${code[ONE$i]}" "$3" >/dev/null 2>&1; done
    st "$1" project advance --where "plan=BLK" "$3" >/dev/null 2>&1
done
is "$(sql "SELECT string_agg(p.state, ' ' ORDER BY p.code) FROM stpm.projects p
           JOIN stpm.plans pl ON pl.id = p.plan_id WHERE pl.code = 'BLK'")" \
    "accepted accepted applied accepted" "bulk: three projects through, the blacklisted one refused"
is "$(sql "SELECT count(*) FROM stpm.events WHERE kind = 'refused'")" "2" \
    "the refusal of admit is recorded one at a time and in bulk"

# What each twin's history says, the plan and the code's plan part put aside.
twin() { # PLAN: one line per event, period and facts row of the plan's projects
    sql "SELECT string_agg(x, E'\n' ORDER BY x) FROM (
         SELECT concat_ws('|', 'e', p.title, e.seq, e.on_date, e.kind, e.transition, e.from_state,
                          e.to_state, e.reason, e.actor, e.canon,
                          replace(replace(e.data::text, p.code, 'CODE'), '（$1）', '（T）')) x
           FROM stpm.events e JOIN stpm.projects p ON p.id = e.project_id
           JOIN stpm.plans pl ON pl.id = p.plan_id WHERE pl.code = '$1'
         UNION ALL
         SELECT concat_ws('|', 's', p.title, s.seq, s.state, s.from_date, s.to_date, s.due,
                          s.closed, s.final, s.counts_as, s.active, s.missed_due,
                          s.amount_requested, s.amount_approved)
           FROM stpm.project_states s JOIN stpm.projects p ON p.id = s.project_id
           JOIN stpm.plans pl ON pl.id = p.plan_id WHERE pl.code = '$1'
         UNION ALL
         SELECT concat_ws('|', 'f', p.title, f.year, f.level, f.funded_plan, f.town, f.field,
                          f.initial, f.state, f.created_on, f.applied_on, f.admitted_on,
                          f.approved_on, f.started_on, f.final_on, f.final_as, f.closed_on,
                          f.closed_state, f.amount_requested, f.amount_approved)
           FROM stpm.project_facts f JOIN stpm.projects p ON p.id = f.project_id
           JOIN stpm.plans pl ON pl.id = p.plan_id WHERE pl.code = '$1') t" |
        sed -e "s/（$1）/（T）/g" -e "s/\"plan\": \"$1\"/\"plan\": \"T\"/"
}
one=$(twin ONE)
blk=$(twin BLK)
is "$(printf '%s\n' "$one" | wc -l)" "45" "one at a time: 21 events, 20 periods and 4 facts rows"
is "$blk" "$one" "bulk and one at a time write the same events, periods, facts and evidence"
is "$(sql "SELECT count(*) FROM stpm.derived_problems()")" "0" \
    "the derived tables equal their rebuild from the events"
run "$STPM" --db "$DB" audit verify
expect_rc 0 "audit verify: the history verifies"

# 080's SQL definition of the canonical text, as a reference.
ref=$(cat <<'SQL'
CREATE FUNCTION pg_temp.canon_080(t text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN t IS NULL THEN '-'
                ELSE pg_catalog.octet_length(pg_catalog.convert_to(t, 'UTF8'))::text || ':' || t END
$$;
CREATE FUNCTION pg_temp.event_canonical_080(e stpm.events) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN e.canon = 1 THEN
        pg_catalog.concat_ws(E'\x1f',
            e.chain, e.seq::text, coalesce(e.project_id::text, ''),
            pg_catalog.to_char(e.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
            CASE WHEN pg_catalog.isfinite(e.on_date)
                 THEN pg_catalog.to_char(e.on_date, 'YYYY-MM-DD')
                      || CASE WHEN e.on_date < DATE '0001-01-01' THEN ' BC' ELSE '' END
                 ELSE e.on_date::text END,
            e.actor, e.kind, coalesce(e.transition, ''),
            coalesce(e.from_state, ''), coalesce(e.to_state, ''), coalesce(e.reason, ''),
            e.data::text, e.prev_hash)
    ELSE
        'stpm-event-2'
        || pg_temp.canon_080(e.chain) || pg_temp.canon_080(e.seq::text)
        || pg_temp.canon_080(e.project_id::text)
        || pg_temp.canon_080(pg_catalog.to_char(e.at AT TIME ZONE 'UTC',
                                               'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))
        || pg_temp.canon_080(CASE WHEN pg_catalog.isfinite(e.on_date)
                 THEN pg_catalog.to_char(e.on_date, 'YYYY-MM-DD')
                      || CASE WHEN e.on_date < DATE '0001-01-01' THEN ' BC' ELSE '' END
                 ELSE e.on_date::text END)
        || pg_temp.canon_080(e.actor) || pg_temp.canon_080(e.kind)
        || pg_temp.canon_080(e.transition) || pg_temp.canon_080(e.from_state)
        || pg_temp.canon_080(e.to_state) || pg_temp.canon_080(e.reason)
        || pg_temp.canon_080(e.data::text) || pg_temp.canon_080(e.prev_hash::text)
    END
$$;
SQL
)
canon_diff() { # WHERE-free SELECT of stpm.events rows: how many differ from 080's text
    psql "$DB" -qAtX -v ON_ERROR_STOP=1 <<SQL
$ref
SELECT count(*) FILTER (WHERE stpm.event_canonical(e) IS DISTINCT FROM pg_temp.event_canonical_080(e)),
       count(*)
FROM ($1) e;
SQL
}
is "$(canon_diff "SELECT * FROM stpm.events")" "0|$(sql "SELECT count(*) FROM stpm.events")" \
    "every event's canonical text is 080's"
is "$(sql "SELECT count(*) FROM stpm.events e
           WHERE e.hash <> encode(sha256(convert_to(stpm.event_canonical(e), 'UTF8')), 'hex')")" \
    "0" "every event's hash is the digest of its canonical text"
synthetic="SELECT (x).* FROM (SELECT jsonb_populate_record(NULL::stpm.events, to_jsonb(e) || v) x
           FROM (SELECT * FROM stpm.events ORDER BY chain, seq LIMIT 1) e,
           (VALUES ('{\"canon\": 1}'::jsonb), ('{\"canon\": 2}'),
                   ('{\"canon\": 1, \"reason\": null, \"transition\": null, \"project_id\": null}'),
                   ('{\"canon\": 2, \"reason\": null, \"transition\": null, \"project_id\": null,
                      \"from_state\": null, \"to_state\": null}'),
                   ('{\"canon\": 1, \"reason\": \"a\u001fb 延期\"}'),
                   ('{\"canon\": 2, \"reason\": \"a\u001fb 延期\", \"kind\": \"审核\"}'),
                   ('{\"canon\": 1, \"on_date\": \"0044-03-15 BC\"}'),
                   ('{\"canon\": 2, \"on_date\": \"0044-03-15 BC\"}'),
                   ('{\"canon\": 1, \"on_date\": \"infinity\"}'),
                   ('{\"canon\": 2, \"on_date\": \"-infinity\"}'),
                   ('{\"canon\": 2, \"at\": \"1999-12-31 23:59:59.000001+14\"}'),
                   ('{\"canon\": 2, \"data\": {\"set\": {\"说明\": \"中文 \\\\ \\\"q\\\"\"}}}')) s(v)) y"
is "$(canon_diff "$synthetic")" "0|12" \
    "the canonical text is 080's for both recipes, NULLs, U+001F, BC and infinite dates, UTF-8"

drop_db "$DB"
done_testing

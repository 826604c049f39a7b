#!/usr/bin/env bash
# DESIGN §9, the auditor's figures, on a throwaway PostgreSQL cluster (like run.sh):
#   - `audit unclosed --as-of` and `report summary` on N projects and 10·N events (< 200 ms)
#   - `audit verify` (≥ 500,000 events per second)
# Usage: tests/bench/bench_audit.sh [BUILDDIR]
#   BENCH_AUDIT_PROJECTS=N  projects (default 1000000 → 10,000,000 events; generating them
#                           takes a long while — BENCH_AUDIT_PROJECTS=100000 for a quick run)
#   BENCH_AUDIT_DATA=DIR    keep the cluster in DIR and reuse it on the next run (no new
#                           generation; pending migrations are applied by stpm itself)
# The data set is made set-based in SQL (tests/bench/audit_gen.sql): hash chains computed
# with stpm.event_canonical, so that `audit verify` finds every chain sound.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-$here/../../build}" && pwd)
N=${BENCH_AUDIT_PROJECTS:-1000000}
REPS=${BENCH_REPS:-5}
STPM=$build/cli/stpm

pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
keep=${BENCH_AUDIT_DATA:-}
if [ -n "$keep" ]; then
    mkdir -p "$keep"
    tmp=$(cd "$keep" && pwd)
else
    tmp=$(mktemp -d /tmp/stpm-bench-audit.XXXXXX)
fi
chmod 755 "$tmp"
as_pg=()
if [ "$(id -u)" -eq 0 ]; then chown postgres: "$tmp"; as_pg=(runuser -u postgres --); fi
cleanup() {
    if [ -n "$keep" ]; then
        "${as_pg[@]}" "$pgbin/pg_ctl" -D "$tmp/data" -m fast stop >/dev/null 2>&1 || true
    else
        "${as_pg[@]}" "$pgbin/pg_ctl" -D "$tmp/data" -m immediate stop >/dev/null 2>&1 || true
        rm -rf "$tmp"
    fi
}
trap cleanup EXIT INT TERM
reuse=
if [ -n "$keep" ] && [ -f "$tmp/generated" ]; then
    reuse=1
else
    rm -rf "$tmp/data" "$tmp/sock"
    "${as_pg[@]}" mkdir -m 700 "$tmp/sock"
    "${as_pg[@]}" "$pgbin/initdb" -D "$tmp/data" -U stpm_bench --auth=trust -E UTF8 \
        --locale=C.UTF-8 --no-sync >"$tmp/initdb.log" 2>&1
fi
"${as_pg[@]}" "$pgbin/pg_ctl" -D "$tmp/data" -l "$tmp/server.log" -w -t 60 \
    -o "-c listen_addresses='' -k $tmp/sock -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c shared_buffers=512MB -c max_wal_size=4GB" \
    start >/dev/null
chmod 755 "$tmp/sock"
export PATH="$pgbin:$PATH"
unset PGHOST PGPORT PGDATABASE PGUSER PGSERVICE STPM_DB STPM_HOME STPM_TODAY
DB="host=$tmp/sock user=stpm_bench dbname=bench"
if [ -n "$reuse" ]; then
    echo "reusing the data set in $tmp ($(cat "$tmp/generated"))"
    t0=$(date +%s)
    "$STPM" --db "$DB" db migrate
    echo "  migrated in $(( $(date +%s) - t0 )) s"
    N=$(psql "$DB" -qAtX -c "SELECT count(*) FROM stpm.projects")
else
    psql "host=$tmp/sock user=stpm_bench dbname=postgres" -qAtX -c "CREATE DATABASE bench"
    echo "generating $N projects and $((N * 10)) events ..."
    t0=$(date +%s)
    "$STPM" --db "$DB" workflow load "$here/../data/audit_test.yaml" >/dev/null
    psql "$DB" -qX -v n="$N" -f "$here/audit_gen.sql"
    echo "  generated in $(( $(date +%s) - t0 )) s"
    echo "$N projects, generated in $(( $(date +%s) - t0 )) s" >"$tmp/generated"
fi

# median wall time in ms of REPS runs of a command
median_ms() {
    local ts=()
    for _ in $(seq "$REPS"); do
        local s=$(date +%s%N)
        "$@" >/dev/null
        ts+=($(( ($(date +%s%N) - s) / 1000000 )))
    done
    printf '%s\n' "${ts[@]}" | sort -n | sed -n "$(( (REPS + 1) / 2 ))p"
}
# "today" after the data set's last event (2022-10-21): report summary is a report of now
# (report_counts); --as-of an earlier day reads the facts and the periods.
export STPM_TODAY=2023-06-30
"$STPM" --db "$DB" audit unclosed --as-of 2022-06-30 >/dev/null   # warm the cache
"$STPM" --db "$DB" report summary --by level >/dev/null
u=$(median_ms "$STPM" --db "$DB" audit unclosed --as-of 2022-06-30)
nu=$("$STPM" --db "$DB" --format csv audit unclosed --as-of 2022-06-30 | tail -n +2 | wc -l)
s=$(median_ms "$STPM" --db "$DB" report summary --by level)
st=$(median_ms "$STPM" --db "$DB" report summary --by town --from 2020 --to 2020)
sa=$(median_ms "$STPM" --db "$DB" report summary --by level --as-of 2021-12-31)
vs=$(date +%s%N)
v=$("$STPM" --db "$DB" --format json audit verify)
vms=$(( ($(date +%s%N) - vs) / 1000000 ))
rate=$(printf '%s' "$v" | python3 -c 'import json,sys; d=json.load(sys.stdin); w=int(sys.argv[1])/1000; print("%d events in %.2f s (whole command %.2f s): %.0f events/s streamed, %.0f events/s whole command, verified=%s" % (d["events"], d["seconds"], w, d["events_per_second"], d["events"]/w, d["verified"]))' "$vms")
echo "audit unclosed --as-of (${nu} rows):      ${u} ms   (target < 200 ms)"
echo "report summary --by level:             ${s} ms   (target < 200 ms)"
echo "report summary --by town --from/--to:  ${st} ms"
echo "report summary --as-of 2021-12-31:     ${sa} ms   (as of a past day: facts and periods)"
echo "audit verify:                          ${rate}   (target ≥ 500000 events/s)"

#!/usr/bin/env bash
# The survey import benchmark of DESIGN §9, run by hand (not by the test suite):
#
#   tests/bench/bench_import.sh BUILDDIR [ROWS] [BIG_ROWS]
#
# In a throwaway PostgreSQL cluster (as tests/run starts one), it generates ROWS (default
# 100000) candidates with gen_survey, then, side by side in this one run:
#   - times `stpm survey import` of the file into a fresh database (best of 3), and a
#     bare COPY of the same file into one plain table (psql \copy ... csv header, best of
#     3), and prints the ratio (target: at most 2);
#   - measures the importer's peak memory (/usr/bin/time -v, Maximum resident set size)
#     at ROWS and at BIG_ROWS (default 1000000) rows (target: under 64 MiB).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
[ $# -ge 1 ] || { echo "usage: tests/bench/bench_import.sh BUILDDIR [ROWS] [BIG_ROWS]" >&2; exit 2; }
build=$(cd "$1" && pwd)
rows=${2:-100000}
big=${3:-1000000}
stpm="$build/cli/stpm"
gen="$build/tests/bench/gen_survey"
[ -x "$stpm" ] && [ -x "$gen" ] || { echo "bench: build first: ninja -C $1" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "bench: /usr/bin/time is missing (apt-get install time)" >&2; exit 1; }

pgbin=$(pg_config --bindir 2>/dev/null || true)
[ -x "$pgbin/initdb" ] || pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
tmp=$(mktemp -d /tmp/stpm-bench.XXXXXX)
chmod 755 "$tmp"
as_pg=()
if [ "$(id -u)" -eq 0 ]; then
    chown postgres: "$tmp"
    as_pg=(runuser -u postgres --)
fi
cleanup() {
    "${as_pg[@]}" "$pgbin/pg_ctl" -D "$tmp/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
"${as_pg[@]}" mkdir -m 700 "$tmp/sock"
"${as_pg[@]}" "$pgbin/initdb" -D "$tmp/data" -U stpm_bench --auth=trust -E UTF8 --locale=C.UTF-8 \
    --no-sync >"$tmp/initdb.log" 2>&1 || { cat "$tmp/initdb.log" >&2; exit 1; }
# Durable settings as a real server has them (fsync on): the comparison is fair to both.
"${as_pg[@]}" "$pgbin/pg_ctl" -D "$tmp/data" -l "$tmp/server.log" -w -t 60 \
    -o "-c listen_addresses='' -k $tmp/sock" start >/dev/null
chmod 755 "$tmp/sock"
unset PGHOST PGHOSTADDR PGPORT PGDATABASE PGUSER PGSERVICE PGPASSWORD STPM_DB STPM_HOME
cluster="host=$tmp/sock user=stpm_bench dbname=postgres"
export PATH="$pgbin:$PATH"

mkdb() { PGOPTIONS="-c client_min_messages=warning" psql "$cluster" -qAtX -c "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1" >/dev/null; echo "host=$tmp/sock user=stpm_bench dbname=$1"; }
now() { date +%s.%N; }
data="$tmp/survey.csv"
"$gen" "$rows" 1 >"$data"
echo "survey of $rows rows: $(du -h "$data" | cut -f1)"

best_import=
best_copy=
for i in 1 2 3; do
    db=$(mkdb imp$i)
    "$stpm" --db "$db" db migrate >/dev/null 2>&1 || true # migrate outside the timing
    t0=$(now)
    "$stpm" --db "$db" survey import "$data" --year 2020 >/dev/null
    t1=$(now)
    db=$(mkdb cp$i)
    psql "$db" -qAtX -c "CREATE TABLE plain (org_name text, uscc text, town text, title text,
        field text, target_plan text, leader text, planned_investment text,
        requested_funding text, rd_spend text, revenue text, high_tech text, partner text,
        maturity text, notes text)"
    t2=$(now)
    psql "$db" -qAtX -c "\\copy plain FROM '$data' csv header"
    t3=$(now)
    ti=$(echo "$t1 - $t0" | bc -l)
    tc=$(echo "$t3 - $t2" | bc -l)
    printf 'run %d: stpm survey import %.3f s, bare COPY %.3f s\n' "$i" "$ti" "$tc"
    if [ -z "$best_import" ] || [ "$(echo "$ti < $best_import" | bc -l)" = 1 ]; then best_import=$ti; fi
    if [ -z "$best_copy" ] || [ "$(echo "$tc < $best_copy" | bc -l)" = 1 ]; then best_copy=$tc; fi
done
db=$(mkdb again)
"$stpm" --db "$db" survey import "$data" --year 2020 >/dev/null
t0=$(now)
"$stpm" --db "$db" survey import "$data" --year 2020 >/dev/null
t1=$(now)
printf 'best: import %.3f s, bare COPY %.3f s, ratio %.2f (target <= 2)\n' "$best_import" "$best_copy" \
    "$(echo "$best_import / $best_copy" | bc -l)"
printf 're-import of the same file (all unchanged): %.3f s\n' "$(echo "$t1 - $t0" | bc -l)"

peak() {
    local n=$1 f="$tmp/peak.csv" db
    "$gen" "$n" 2 >"$f"
    db=$(mkdb peak$n)
    "$stpm" --db "$db" db migrate >/dev/null 2>&1 || true
    /usr/bin/time -v "$stpm" --db "$db" survey import "$f" --year 2020 >/dev/null 2>"$tmp/time.txt"
    local kb
    kb=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$tmp/time.txt")
    printf 'peak memory at %d rows: %d KiB = %.1f MiB (target < 64 MiB); wall %s\n' "$n" "$kb" \
        "$(echo "$kb / 1024" | bc -l)" "$(sed -n 's/.*Elapsed (wall clock) time.*: //p' "$tmp/time.txt")"
    rm -f "$f"
}
peak "$rows"
peak "$big"

#!/usr/bin/env bash
# The officer's bulk forms (issue 13 item 4) against one command per item, side by side in
# one run on a throwaway cluster with DURABLE settings (fsync, synchronous_commit on):
#   promote  BENCH_PROMOTE (700) reserve entries: one `stpm reserve promote ENTRY` each,
#            then, in a database of its own with the same data, one
#            `stpm reserve promote --from FILE`
#   attach   BENCH_ATTACH (2000) documents: one `stpm project attach CODE KIND FILE` each,
#            then one `stpm project attach --from DIR`
# By hand, not by CI:  tests/bench/bench_bulk.sh [BUILDDIR]
# Prints the seconds, the items per second and the ratio for each.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-$here/../../build}" && pwd)
STPM=$build/cli/stpm
GEN=$build/tests/bench/gen_survey
NP=${BENCH_PROMOTE:-700}
ND=${BENCH_ATTACH:-2000}
[ -x "$STPM" ] && [ -x "$GEN" ] || { echo "bench_bulk.sh: build first (ninja -C $build)" >&2; exit 2; }

pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
tmp=$(mktemp -d /tmp/stpm-bulk.XXXXXX)
chmod 755 "$tmp"
as_pg=()
if [ "$(id -u)" -eq 0 ]; then chown postgres: "$tmp"; as_pg=(runuser -u postgres --); fi
cleanup() {
    "${as_pg[@]}" "$pgbin/pg_ctl" -D "$tmp/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
"${as_pg[@]}" mkdir -m 700 "$tmp/sock"
"${as_pg[@]}" "$pgbin/initdb" -D "$tmp/data" -U stpm_bench --auth=trust -E UTF8 --locale=C.UTF-8 \
    >"$tmp/initdb.log" 2>&1
"${as_pg[@]}" "$pgbin/pg_ctl" -D "$tmp/data" -l "$tmp/server.log" -w -t 60 \
    -o "-c listen_addresses='' -k $tmp/sock -c fsync=on -c synchronous_commit=on -c full_page_writes=on" \
    start >/dev/null
chmod 755 "$tmp/sock"
export PATH="$pgbin:$PATH" STPM_TODAY=2026-03-02
unset PGHOST PGPORT PGDATABASE PGUSER PGSERVICE STPM_DB STPM_HOME
cs() { echo "host=$tmp/sock user=stpm_bench dbname=$1"; }
q() { psql "$(cs "$1")" -qAtX -v ON_ERROR_STOP=1 -c "$2"; }
s() { "$STPM" --db "$(cs "$1")" "${@:2}"; }
now() { date +%s.%N; }

# The same data in each database: the shipped workflows, the county's plan and a survey of
# as many candidates as both cases need.
rows=$((NP > ND ? NP : ND))
"$GEN" "$rows" >"$tmp/survey.csv"
for d in one bulk; do
    q postgres "CREATE DATABASE $d"
    s $d workflow load "$here"/../../workflows/county_rugao.yaml >/dev/null
    s $d plan add RGSP --name 如皋市科技计划 --level county --workflow county_rugao --funded >/dev/null
    s $d --today 2025-10-31 survey import "$tmp/survey.csv" --year 2025 >/dev/null
done
echo "set up: $rows candidates of 2025 in each database; durable settings"
out=$tmp/results
: >"$out"

# promote
# (the entries' ids are each database's own; both lists are in the same order)
for d in one bulk; do
    s $d --format csv --output "$tmp/list-$d.csv" reserve list --year 2025
    awk -F, -v n="$NP" 'NR > 1 && NR <= n + 1 { print $2 }' "$tmp/list-$d.csv" >"$tmp/entries-$d"
done
t0=$(now)
while read -r e; do s one reserve promote "$e" --plan RGSP --year 2026 >/dev/null; done <"$tmp/entries-one"
t1=$(now)
s bulk reserve promote --from "$tmp/entries-bulk" --plan RGSP --year 2026 >"$tmp/promote.out" 2>&1 ||
    { tail -n 5 "$tmp/promote.out" >&2; echo "bench_bulk.sh: reserve promote --from failed" >&2; exit 1; }
t2=$(now)
for d in one bulk; do
    n=$(q $d "SELECT count(*) FROM stpm.projects")
    [ "$n" = "$NP" ] || { echo "bench_bulk.sh: $d has $n projects, not $NP" >&2; exit 1; }
done
echo "promote $NP $t0 $t1 $t2" >>"$out"

# attach: ND documents over the promoted projects, three kinds in turn
kinds=(application_form integrity_commitment task_book)
mkdir "$tmp/docs"
mapfile -t codes < <(q one "SELECT code FROM stpm.projects ORDER BY code")
: >"$tmp/one-list"
for ((i = 0; i < ND; i++)); do
    c=${codes[$((i % ${#codes[@]}))]} k=${kinds[$((i / ${#codes[@]} % 3))]}
    f="$tmp/docs/$c-$k.pdf"
    head -c $((20000 + i % 5000)) /dev/urandom >"$f"
    echo "$c $k $f" >>"$tmp/one-list"
done
n_docs=$(find "$tmp/docs" -type f | wc -l)
t0=$(now)
while read -r c k f; do s one project attach "$c" "$k" "$f" >/dev/null; done <"$tmp/one-list"
t1=$(now)
s bulk project attach --from "$tmp/docs" >"$tmp/attach.out" 2>&1 ||
    { tail -n 5 "$tmp/attach.out" >&2; echo "bench_bulk.sh: project attach --from failed" >&2; exit 1; }
t2=$(now)
for d in one bulk; do
    n=$(q $d "SELECT count(*) FROM stpm.documents")
    [ "$n" = "$n_docs" ] || { echo "bench_bulk.sh: $d has $n documents, not $n_docs" >&2; exit 1; }
done
echo "attach $n_docs $t0 $t1 $t2" >>"$out"

echo
printf '%-8s %6s %14s %14s %12s %12s %8s\n' case items "one each (s)" "bulk (s)" "one/s" "bulk/s" ratio
while read -r what n a b c; do
    awk -v w="$what" -v n="$n" -v a="$a" -v b="$b" -v c="$c" 'BEGIN {
        one = b - a; bulk = c - b
        printf "%-8s %6d %14.2f %14.2f %12.1f %12.1f %7.1fx\n", w, n, one, bulk, n / one, n / bulk, one / bulk }'
done <"$out"
echo "(target, issue 13: at least 10x faster per item than one command per item)"

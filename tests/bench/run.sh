#!/usr/bin/env bash
# The benchmarks of DESIGN §9 that concern the project lifecycle, side by side in one run on
# a throwaway PostgreSQL cluster (like tests/run). Usage: tests/bench/run.sh [BUILDDIR]
#   - transitions one at a time through libstpm vs pgbench doing the same SQL (target ≥ 0.7)
#   - bulk advance of 10,000 projects vs one at a time, per project (target ≥ 3)
#   - `stpm project show` vs `psql -c` of the same query (target ≤ 1.5)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-$here/../../build}" && pwd)
N=${BENCH_PROJECTS:-10000}
ONE=${BENCH_ONE:-2000}
SHOWS=${BENCH_SHOWS:-100}

pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
tmp=$(mktemp -d /tmp/stpm-bench.XXXXXX)
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
    --no-sync >"$tmp/initdb.log" 2>&1
"${as_pg[@]}" "$pgbin/pg_ctl" -D "$tmp/data" -l "$tmp/server.log" -w -t 60 \
    -o "-c listen_addresses='' -k $tmp/sock -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
    start >/dev/null
chmod 755 "$tmp/sock"
export PATH="$pgbin:$PATH"
unset PGHOST PGPORT PGDATABASE PGUSER PGSERVICE STPM_DB STPM_HOME STPM_TODAY
psql "host=$tmp/sock user=stpm_bench dbname=postgres" -qAtX -c "CREATE DATABASE bench"
DB="host=$tmp/sock user=stpm_bench dbname=bench"
B=$build/tests/bench/bench_transitions
cd "$here"

echo "setting up $N projects ..."
"$B" setup "$DB" "$N" "$here/bench.yaml"

# Bulk first (all N projects a → b), then one at a time (b → a) on the first ONE of them.
read -r _ nb tb rb < <("$B" bulk "$DB" flip a)
read -r _ no to ro < <("$B" one "$DB" "$ONE" flop)
pgb=$(pgbench -n -M prepared -c 1 -t "$ONE" -D projects="$N" -f "$here/transition.pgbench" "$DB" 2>&1)
tps=$(printf '%s\n' "$pgb" | sed -n 's/^tps = \([0-9.]*\).*/\1/p' | head -n 1)

# One-row command vs psql: the same query text, a fresh process and connection each time.
code=2021-BNCH-00042
q="SELECT p.code, p.title, o.uscc, o.name, p.state, p.state_since, p.fields::text FROM stpm.projects p JOIN stpm.orgs o ON o.id = p.org_id WHERE p.code = '$code'"
t0=$(date +%s.%N)
for _ in $(seq "$SHOWS"); do "$build/cli/stpm" --db "$DB" project show "$code" >/dev/null; done
t1=$(date +%s.%N)
for _ in $(seq "$SHOWS"); do psql "$DB" -qAtX -c "$q" >/dev/null; done
t2=$(date +%s.%N)

python3 - "$no" "$to" "$ro" "$nb" "$tb" "$rb" "$tps" "$t0" "$t1" "$t2" "$SHOWS" <<'PY'
import sys
no, to, ro, nb, tb, rb, tps, t0, t1, t2, shows = sys.argv[1:]
ro, rb, tps = float(ro), float(rb), float(tps)
show = (float(t1) - float(t0)) / int(shows) * 1000
psql = (float(t2) - float(t1)) / int(shows) * 1000
print()
print(f"{'benchmark':<46} {'measured':>22} {'ratio':>7}  target")
print(f"{'transitions, one at a time through libstpm':<46} {ro:>14.0f} per s")
print(f"{'the same SQL by hand (pgbench -M prepared)':<46} {tps:>14.0f} per s {ro / tps:>7.2f}  >= 0.7")
print(f"{'bulk advance of ' + nb + ' projects (one call)':<46} {rb:>14.0f} per s {rb / ro:>7.2f}  >= 3")
print(f"{'stpm project show (process + query)':<46} {show:>15.2f} ms")
print(f"{'psql -c of the same query':<46} {psql:>15.2f} ms {show / psql:>7.2f}  <= 1.5")
PY

#!/usr/bin/env bash
# The lifecycle pipeline of municipal_nantong (apply → admit with its 7 integrity checks →
# publicize → approve → start → submit_acceptance → accept), side by side in one run on a
# throwaway cluster with DURABLE settings (fsync, synchronous_commit, full_page_writes on),
# as issue 8's "Figures" asks. By hand, not by CI:  tests/bench/pipeline.sh [BUILDDIR]
#   BENCH_N (2000)       projects per pipeline
#   BENCH_BIG (10000)    projects of the bulk admit case (0: skip it)
#   BENCH_TITLES (bureau) the projects' titles: bureau, Chinese titles in the bureau's shape;
#                        stress, English titles out of 64 words, the trigram index's worst
#                        case for no_duplicate (bench_pipeline.c's make_title says more)
# Measured, each in its own database with the same data volume:
#   peer  tests/bench/peer_pipeline.py: Python + psycopg2 + `transitions`, one transaction
#         per transition, 3 checks for admit, per-project SHA-256 hash chain
#   one   one stpm_project_advance per project (bench_pipeline one, one process)
#   bulk  one stpm_project_advance_where per transition over all N (bench_pipeline bulk)
#   pgbench  the one-at-a-time SQL by hand (pipeline_admit.pgbench, pipeline_step.pgbench),
#         in its own database just after apply one at a time, as the one-at-a-time admit
#   big   bulk apply then bulk admit of BENCH_BIG projects, right after the apply and, in
#         a second database, after VACUUM ANALYZE (what autovacuum would have done)
# The peer needs the Debian packages python3-psycopg2 and python3-transitions; run as root
# the script installs them when missing (BENCH_NO_INSTALL=1 to only check).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-$here/../../build}" && pwd)
N=${BENCH_N:-2000}
BIG=${BENCH_BIG:-10000}
PY=/usr/bin/python3
B=$build/tests/bench/bench_pipeline
WF=$here/../../workflows/municipal_nantong.yaml
YEAR=2026
# stpm numbers a plan's projects of a year with 4 digits and cannot go past 9,999 (the
# 10,000th gets the code of the 1,000th): more projects are spread over several plans.
plans() { # N: NTKJ, or NTKJ,NTK2,... with at most 9,000 projects each
    local k=$((($1 + 8999) / 9000)) i list=NTKJ
    for ((i = 2; i <= k; i++)); do list+=",NTK$i"; done
    echo "$list"
}
[ -x "$B" ] || { echo "pipeline.sh: $B is missing: build first (ninja -C $build)" >&2; exit 2; }

if ! "$PY" -c 'import psycopg2, transitions' 2>/dev/null; then
    if [ "$(id -u)" -eq 0 ] && [ -z "${BENCH_NO_INSTALL:-}" ]; then
        echo "installing the peer's packages: apt-get install python3-psycopg2 python3-transitions"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            python3-psycopg2 python3-transitions >/dev/null
    fi
    "$PY" -c 'import psycopg2, transitions' 2>/dev/null || {
        echo "pipeline.sh: the peer needs python3-psycopg2 and python3-transitions:" >&2
        echo "  sudo apt-get install python3-psycopg2 python3-transitions" >&2
        exit 2
    }
fi

pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
tmp=$(mktemp -d /tmp/stpm-pipeline.XXXXXX)
chmod 755 "$tmp"
as_pg=()
if [ "$(id -u)" -eq 0 ]; then chown postgres: "$tmp"; as_pg=(runuser -u postgres --); fi
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    "${as_pg[@]}" "$pgbin/pg_ctl" -D "$tmp/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
"${as_pg[@]}" mkdir -m 700 "$tmp/sock"
"${as_pg[@]}" "$pgbin/initdb" -D "$tmp/data" -U stpm_bench --auth=trust -E UTF8 --locale=C.UTF-8 \
    >"$tmp/initdb.log" 2>&1
# Durable, as a real server has them (run.sh turns them off).
"${as_pg[@]}" "$pgbin/pg_ctl" -D "$tmp/data" -l "$tmp/server.log" -w -t 60 \
    -o "-c listen_addresses='' -k $tmp/sock -c fsync=on -c synchronous_commit=on -c full_page_writes=on" \
    start >/dev/null
chmod 755 "$tmp/sock"
export PATH="$pgbin:$PATH"
unset PGHOST PGPORT PGDATABASE PGUSER PGSERVICE STPM_DB STPM_HOME STPM_TODAY
cs() { echo "host=$tmp/sock user=stpm_bench dbname=$1"; }
q() { psql "$(cs "$1")" -qAtX -v ON_ERROR_STOP=1 -c "$2"; }
dbs=(peer one bulk pgb)
[ "$BIG" -gt 0 ] && dbs+=(big bigvac)
for d in "${dbs[@]}"; do q postgres "CREATE DATABASE $d"; done
docs=$tmp/docs
mkdir "$docs"
for k in application_form integrity_commitment task_book acceptance_report; do
    printf 'bench %s\n' "$k" >"$docs/$k.txt"
done

# Setting up is not measured: it runs with synchronous_commit off for its own sessions, in
# parallel, through libstpm (workflow load, plan add, org add, project create, attach).
export BENCH_TITLES=${BENCH_TITLES:-bureau}
echo "setting up: $N projects each for peer, one, bulk, pgb$([ "$BIG" -gt 0 ] && echo "; $BIG each for big, bigvac") ..."
t0=$(date +%s)
"$PY" "$here/peer_pipeline.py" setup "$(cs peer)" "$N" >"$tmp/setup-peer.log" 2>&1 &
pids+=($!)
for d in one bulk pgb; do
    "$B" setup "$(cs $d) options=-csynchronous_commit=off" "$N" "$WF" "$docs" "$(plans "$N")" \
        >"$tmp/setup-$d.log" 2>&1 &
    pids+=($!)
done
if [ "$BIG" -gt 0 ]; then
    for d in big bigvac; do
        "$B" setup "$(cs $d) options=-csynchronous_commit=off" "$BIG" "$WF" "$docs" "$(plans "$BIG")" \
            >"$tmp/setup-$d.log" 2>&1 &
        pids+=($!)
    done
fi
for p in "${pids[@]}"; do
    wait "$p" || { cat "$tmp"/setup-*.log >&2; echo "pipeline.sh: setup failed" >&2; exit 1; }
done
pids=()
# A steady state for every database, the peer's too: VACUUM also empties the trigram GIN
# indexes' pending lists that loading filled (a plain ANALYZE does not).
for d in "${dbs[@]}"; do q "$d" "VACUUM ANALYZE"; done
q postgres "CHECKPOINT"
echo "set up in $(($(date +%s) - t0)) s; today is $(date +%F)"

# The steps: from-state, transition, business date. Dates run forward per project and stay
# before today: create 2026-01-02; approve 7 working days after publicize (the 公示 of
# 5 working days); submit_acceptance before due_date + 6mo; accept before acceptance_due.
steps=(
    "reserve apply 2026-01-05"
    "applied admit 2026-01-06"
    "admitted publicize 2026-01-07"
    "publicized approve 2026-01-19"
    "approved start 2026-01-26"
    "in_progress submit_acceptance 2026-06-01"
    "accepting accept 2026-07-01"
)
if [[ "$(date +%F)" < 2026-07-01 ]]; then
    echo "pipeline.sh: the business dates run to 2026-07-01, later than today" >&2
    exit 2
fi
out=$tmp/results
: >"$out"
run() { # label command...: one line "mode transition n seconds rate" appended to $out
    "$@" | tee -a "$out" | sed 's/^/  /' || { echo "pipeline.sh: $* failed" >&2; exit 1; }
}
pgb() { # SCRIPT: pipeline_SCRIPT.pgbench N times, its rate appended to $out
    # pipeline_*.pgbench pick among plan NTKJ's projects, every k-th of the N
    local r tps
    r=$(pgbench -n -M prepared -c 1 -t "$N" -D projects="$((N / ($(plans "$N" | tr -cd , | wc -c) + 1)))" -f "$here/pipeline_$1.pgbench" \
        "$(cs pgb)" 2>&1) || { printf '%s\n' "$r" >&2; exit 1; }
    tps=$(printf '%s\n' "$r" | sed -n 's/^tps = \([0-9.]*\).*/\1/p' | head -n 1)
    echo "pgbench $1 $N 0 $tps" | tee -a "$out" | sed 's/^/  /'
}
# Step by step, the ways side by side: the peer (Python transitions + psycopg2), stpm one at
# a time (libstpm, one stpm_project_advance each), stpm bulk (stpm_project_advance_where,
# one call per transition), and pgbench doing the one-at-a-time SQL by hand (-M prepared)
# in its own database: its admit right after `apply` one at a time there (in the state the
# one-at-a-time admit met, the trigram index's pending list holding those updates), its
# plain transition after that. The disk's fsync latency drifts over minutes; taking the
# ways in turn for each step makes them meet the same.
for s in "${steps[@]}"; do
    set -- $s
    q postgres "CHECKPOINT"
    echo "$2:"
    run "$PY" "$here/peer_pipeline.py" run "$(cs peer)" $s
    run "$B" one "$(cs one)" "$YEAR" "$1" "$2" "$3"
    run "$B" bulk "$(cs bulk)" "$YEAR" "$1" "$2" "$3"
    case "$2" in
    apply) "$B" one "$(cs pgb)" "$YEAR" reserve apply 2026-01-05 >/dev/null ;;
    admit) pgb admit ;;
    publicize) pgb step ;;
    esac
done
if [ "$BIG" -gt 0 ]; then
    q postgres "CHECKPOINT"
    echo "bulk admit of $BIG right after a bulk apply (no vacuum in between) ..."
    run "$B" bulk "$(cs big)" "$YEAR" reserve apply 2026-01-05
    sed -i '$ s/^bulk /bigapply /' "$out"
    run "$B" bulk "$(cs big)" "$YEAR" applied admit 2026-01-06
    sed -i '$ s/^bulk /bigfresh /' "$out"
    echo "bulk admit of $BIG after a bulk apply and VACUUM ANALYZE ..."
    run "$B" bulk "$(cs bigvac)" "$YEAR" reserve apply 2026-01-05
    sed -i '$ s/^bulk /bigapply2 /' "$out"
    q bigvac "VACUUM ANALYZE"
    q postgres "CHECKPOINT"
    run "$B" bulk "$(cs bigvac)" "$YEAR" applied admit 2026-01-06
    sed -i '$ s/^bulk /bigvac /' "$out"
fi

"$PY" - "$out" "$N" "$BIG" <<'PY'
import os
import sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
n, big = int(sys.argv[2]), int(sys.argv[3])
r = {(m, t): (int(k), float(s), float(x)) for m, t, k, s, x in rows}
order = ["apply", "admit", "publicize", "approve", "start", "submit_acceptance", "accept"]
def rate(m, t): return r[(m, t)][2]
def pgb(t): return r[("pgbench", "admit" if t == "admit" else "step")][2]
def mark(ok): return "ok" if ok else "MISS"
print()
print(f"municipal_nantong, {n:,} projects, {os.environ['BENCH_TITLES']} titles, durable settings (transitions per second)")
h = f"{'transition':<18} {'peer':>8} {'one':>8} {'bulk':>8} {'pgbench':>8}   {'bulk/peer':>9} {'one/peer':>8} {'one/pgb':>8} {'bulk/one':>8}"
print(h)
print("-" * len(h))
for t in order:
    p, o, b, g = rate("peer", t), rate("one", t), rate("bulk", t), pgb(t)
    print(f"{t:<18} {p:>8.0f} {o:>8.0f} {b:>8.0f} {g:>8.0f}   {b / p:>9.2f} {o / p:>8.2f} {o / g:>8.2f} {b / o:>8.2f}")
tot = {m: sum(r[(m, t)][0] for t in order) / sum(r[(m, t)][1] for t in order)
       for m in ("peer", "one", "bulk")}
# pgbench over the pipeline: one admit and six plain transitions per project.
g = 7 / (1 / pgb("admit") + 6 / pgb("step"))
print("-" * len(h))
print(f"{'whole pipeline':<18} {tot['peer']:>8.0f} {tot['one']:>8.0f} {tot['bulk']:>8.0f} {g:>8.0f}   "
      f"{tot['bulk'] / tot['peer']:>9.2f} {tot['one'] / tot['peer']:>8.2f} {tot['one'] / g:>8.2f} {tot['bulk'] / tot['one']:>8.2f}")
print()
print("targets (issue 8)")
print(f"  whole pipeline bulk / peer        {tot['bulk'] / tot['peer']:6.2f}  >= 5    {mark(tot['bulk'] / tot['peer'] >= 5)}")
print(f"  whole pipeline one / peer         {tot['one'] / tot['peer']:6.2f}  >= 1    {mark(tot['one'] / tot['peer'] >= 1)}")
worst = min(order, key=lambda t: rate("one", t) / pgb(t))
print(f"  one / pgbench, worst ({worst:<10})  {rate('one', worst) / pgb(worst):6.2f}  >= 0.7  {mark(rate('one', worst) / pgb(worst) >= 0.7)}")
worst = min(order, key=lambda t: rate("bulk", t) / rate("one", t))
print(f"  bulk / one, worst ({worst:<10})     {rate('bulk', worst) / rate('one', worst):6.2f}  >= 3    {mark(rate('bulk', worst) / rate('one', worst) >= 3)}")
if big:
    for m, what in (("bigfresh", "right after a bulk apply"), ("bigvac", "after VACUUM ANALYZE")):
        k, s, x = r[(m, "admit")]
        print(f"  bulk admit of {k:,} {what:<25} {s:6.2f} s (< 5)  {x:7.0f}/s  {mark(s < 5 and k == big)}")
    for m in ("bigapply", "bigapply2"):
        k, s, x = r[(m, "apply")]
        print(f"  (bulk apply of {k:,}: {s:.2f} s, {x:.0f}/s)")
PY

#!/usr/bin/env bash
# Issue 10: `stpm db init` killed (SIGKILL) at any moment — during initdb, the start, the
# migrations — leaves nothing that stops the next command: it ends an orphaned initdb,
# removes the half-made data directory, and finishes the cluster. Four kills at spread
# delays (with some randomness), each followed by a `db init` that must succeed.
. "$(dirname "$0")/lib.sh"
keep_going

export STPM_EMBEDDED_NOSYNC=1
unset STPM_DB PGHOST PGHOSTADDR PGPORT PGDATABASE PGUSER PGSERVICE STPM_HOME
H="$TMP/home"
cleanup() {
    "$STPM" --home "$H" db stop >/dev/null 2>&1 || true
    if [ -L "$H/cluster" ]; then rm -rf "$(readlink -f "$H/cluster")"; fi
    rm -rf "$TMP"
}
trap cleanup EXIT

# the cluster's directory, as stpm resolves it (as root under /var/lib/stpm)
cluster_dir() { "$STPM" --home "$H" db status --format csv 2>/dev/null |
    python3 -c 'import csv,sys,os; print(os.path.dirname(next(csv.DictReader(sys.stdin))["data_dir"]))'; }
# processes (other than the server's) working in the cluster directory, i.e. initdb's
stray() {
    local c=$1 p cwd
    for p in /proc/[0-9]*; do
        cwd=$(readlink "$p/cwd" 2>/dev/null) || continue
        case "$cwd" in "$c/data.initdb" | "$c/data.initdb/"* | "$c") echo "${p#/proc/}" ;; esac
    done
}

for d in 0.1 0.9 1.7 2.4; do
    delay=$(python3 -c "import random; print(round($d + random.uniform(0, 0.25), 2))")
    "$STPM" --home "$H" db init >"$TMP/killed.out" 2>&1 &
    pid=$!
    sleep "$delay"
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    start=$(date +%s)
    run timeout 90 "$STPM" --home "$H" db init
    expect_rc 0 "db init after a kill at ${delay} s succeeds"
    if [[ "$ERR" == *"initdb failed: "$'\n'* ]] || [[ "$ERR" == *"initdb failed:" ]]; then
        fail "no empty initdb detail after the kill at ${delay} s" "$ERR"
    fi
    run "$STPM" --home "$H" db status
    expect_rc 0 "the cluster runs after the kill at ${delay} s"
    contains "$OUT" "migrations_pending  0" "and is migrated (kill at ${delay} s)"
    c=$(cluster_dir)
    if [ -e "$c/data.initdb" ]; then fail "no half-made data directory is left (kill at ${delay} s)"; else pass "no half-made data directory is left (kill at ${delay} s)"; fi
    left=$(stray "$c")
    if [ -z "$left" ]; then pass "no initdb is left running (kill at ${delay} s)"; else fail "no initdb is left running (kill at ${delay} s)" "$(ps -o pid,pgid,args -p $left)"; fi
    echo "# kill at $delay s, recovered in $(($(date +%s) - start)) s"
    # start again from nothing, so that the next kill meets initdb again
    "$STPM" --home "$H" db stop >/dev/null 2>&1
    rm -rf "$c"
    rm -rf "$H"
done

done_testing

#!/usr/bin/env bash
# The growth figures of issues 12 and 13 (docs/scaling.md), on a throwaway cluster with
# DURABLE settings (fsync, synchronous_commit, full_page_writes on, as pipeline.sh):
#   backup   `stpm db backup` / `stpm db restore` time and size of an N-project database,
#            `audit verify` of the restored copy and of a checkpoint signed before the backup
#   agenda   `stpm agenda` on N projects (target < 200 ms), as of today and mid-history
#   audit    `audit unclosed --as-of`, `report summary`, `audit verify` on the same data
#   standby  a streaming hot standby (pg_basebackup -R) of the N-project cluster; its replay
#            lag while the primary takes a bulk advance of 10,000 projects (one `stpm
#            project advance --where` command) and 2,000 transitions one at a time
# By hand, not by CI:  tests/bench/bench_scale.sh [BUILDDIR] [MODE...]   (default: all four)
#   BENCH_SCALE_PROJECTS=N  projects of the generated data set (default 100000; 10 events each,
#                           tests/bench/audit_gen.sql)
#   BENCH_SCALE_DATA=DIR    keep the cluster in DIR and reuse its data set next time
#   BENCH_REPS=R            repetitions of each timed command (default 3; best and median shown)
#   BENCH_BULK=M            projects of the standby's bulk advance (default 10000)
#   BENCH_EXPLAIN=1         agenda: also EXPLAIN ANALYZE its query (core/project/agenda.c)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-$here/../../build}" && pwd)
shift || true
modes=("$@")
[ ${#modes[@]} -gt 0 ] || modes=(backup agenda audit standby)
N=${BENCH_SCALE_PROJECTS:-100000}
REPS=${BENCH_REPS:-3}
BULK=${BENCH_BULK:-10000}
STPM=$build/cli/stpm
BT=$build/tests/bench/bench_transitions
if [ ! -x "$STPM" ] || [ ! -x "$BT" ]; then echo "bench_scale.sh: build first (ninja -C $build)" >&2; exit 2; fi

pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
keep=${BENCH_SCALE_DATA:-}
if [ -n "$keep" ]; then
    mkdir -p "$keep"
    tmp=$(cd "$keep" && pwd)
else
    tmp=$(mktemp -d /tmp/stpm-bench-scale.XXXXXX)
fi
chmod 755 "$tmp"
as_pg=()
if [ "$(id -u)" -eq 0 ]; then chown postgres: "$tmp"; as_pg=(runuser -u postgres --); fi
sampler=
cleanup() {
    if [ -n "$sampler" ]; then kill "$sampler" 2>/dev/null || true; fi
    "${as_pg[@]}" "$pgbin/pg_ctl" -D "$tmp/standby" -m immediate stop >/dev/null 2>&1 || true
    if [ -n "$keep" ]; then
        "${as_pg[@]}" "$pgbin/pg_ctl" -D "$tmp/data" -m fast stop >/dev/null 2>&1 || true
        rm -rf "$tmp/standby" "$tmp/ssock" "$tmp"/*.dump "$tmp"/*.partial
    else
        "${as_pg[@]}" "$pgbin/pg_ctl" -D "$tmp/data" -m immediate stop >/dev/null 2>&1 || true
        rm -rf "$tmp"
    fi
}
trap cleanup EXIT INT TERM
# Durable, as a real server has them; a standby may connect (wal_level replica is 15's default).
opts="-c fsync=on -c synchronous_commit=on -c full_page_writes=on -c shared_buffers=512MB -c max_wal_size=4GB -c max_wal_senders=4 -c wal_receiver_status_interval=1s -c hot_standby=on"
reuse=
if [ -n "$keep" ] && [ -f "$tmp/generated" ]; then
    reuse=1
else
    rm -rf "$tmp/data" "$tmp/sock"
    "${as_pg[@]}" mkdir -m 700 "$tmp/sock"
    "${as_pg[@]}" "$pgbin/initdb" -D "$tmp/data" -U stpm_bench --auth=trust -E UTF8 \
        --locale=C.UTF-8 >"$tmp/initdb.log" 2>&1
fi
"${as_pg[@]}" "$pgbin/pg_ctl" -D "$tmp/data" -l "$tmp/server.log" -w -t 120 \
    -o "-c listen_addresses='' -k $tmp/sock $opts" start >/dev/null
chmod 755 "$tmp/sock"
export PATH="$pgbin:$PATH"
unset PGHOST PGPORT PGDATABASE PGUSER PGSERVICE STPM_DB STPM_HOME STPM_TODAY
cs() { echo "host=$tmp/sock user=stpm_bench dbname=$1"; }
q() { psql "$(cs "$1")" -qAtX -v ON_ERROR_STOP=1 -c "$2"; }
DB=$(cs bench)
if [ -n "$reuse" ]; then
    echo "reusing the data set in $tmp ($(cat "$tmp/generated"))"
    "$STPM" --db "$DB" db migrate >/dev/null
    N=$(q bench "SELECT count(*) FROM stpm.projects")
else
    q postgres "CREATE DATABASE bench"
    echo "generating $N projects and $((N * 10)) events (tests/bench/audit_gen.sql) ..."
    t0=$(date +%s)
    "$STPM" --db "$DB" workflow load "$here/../data/audit_test.yaml" >/dev/null
    psql "$DB" -qX -v n="$N" -f "$here/audit_gen.sql"
    q bench "CHECKPOINT"
    echo "  generated in $(( $(date +%s) - t0 )) s"
    echo "$N projects, generated in $(( $(date +%s) - t0 )) s" >"$tmp/generated"
fi
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) (shared: figures are noisy)"

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
# timed CMD...: the wall time in ms of REPS runs of CMD (output discarded); prints "best median"
timed() {
    local ts=() s
    for _ in $(seq "$REPS"); do
        s=$(now_ms)
        "$@" >/dev/null
        ts+=($(( $(now_ms) - s )))
    done
    local sorted
    sorted=$(printf '%s\n' "${ts[@]}" | sort -n)
    echo "$(echo "$sorted" | head -n 1) $(echo "$sorted" | sed -n "$(( (REPS + 1) / 2 ))p")"
}
mib() { python3 -c "import sys; print('%.1f MiB' % (int(sys.argv[1]) / 1048576))" "$1"; }
line() { printf '%-58s %s\n' "$1" "$2"; }

mode_backup() {
    echo
    echo "== backup and restore of $N projects (stpm db backup / db restore) =="
    local size dump="$tmp/bench.dump" b r sz t0 vr
    size=$(q bench "SELECT pg_database_size('bench')")
    line "database size (pg_database_size)" "$(mib "$size")"
    # a checkpoint signed before the backup, to verify against the restored copy
    rm -f "$tmp/ck.key" "$tmp/ck.key.pub" "$tmp/ck.json"
    "$STPM" --db "$DB" audit checkpoint --key "$tmp/ck.key" --out "$tmp/ck.json" --generate-key >/dev/null
    read -r b bm < <(timed "$STPM" --db "$DB" db backup "$dump")
    sz=$(stat -c %s "$dump")
    line "db backup (pg_dump -Fc)" "best $b ms, median $bm ms of $REPS; file $(mib "$sz")"
    local ts=()
    for _ in $(seq "$REPS"); do
        q postgres "DROP DATABASE IF EXISTS restored" 2>/dev/null
        q postgres "CREATE DATABASE restored"
        t0=$(now_ms)
        "$STPM" --db "$(cs restored)" db restore "$dump" >/dev/null
        ts+=($(( $(now_ms) - t0 )))
    done
    r=$(printf '%s\n' "${ts[@]}" | sort -n | head -n 1)
    line "db restore into an empty database" "best $r ms of $REPS (${ts[*]} ms)"
    line "restored database size" "$(mib "$(q postgres "SELECT pg_database_size('restored')")")"
    t0=$(now_ms)
    vr=0
    "$STPM" --db "$(cs restored)" audit verify --checkpoint "$tmp/ck.json" --pubkey "$tmp/ck.key.pub" \
        >"$tmp/verify.out" 2>&1 || vr=$?
    line "audit verify --checkpoint on the restored copy" "exit $vr in $(( $(now_ms) - t0 )) ms: $(head -n 1 "$tmp/verify.out")"
    q postgres "DROP DATABASE restored"
    rm -f "$dump"
}

mode_agenda() {
    echo
    echo "== stpm agenda on $N projects (target < 200 ms) =="
    local d w b m rows
    for spec in "today|" "2021-06-30|" "2021-06-30|6mo" "2022-06-30|"; do
        d=${spec%|*} w=${spec#*|}
        local args=(agenda)
        [ "$d" != today ] && args+=(--as-of "$d")
        [ -n "$w" ] && args+=(--within "$w")
        "$STPM" --db "$DB" "${args[@]}" >/dev/null   # warm
        read -r b m < <(timed "$STPM" --db "$DB" "${args[@]}")
        rows=$("$STPM" --db "$DB" --format csv "${args[@]}" | tail -n +2 | wc -l)
        line "stpm ${args[*]}" "best $b ms, median $m ms ($rows rows)"
    done
    read -r b m < <(timed "$STPM" --db "$DB" agenda --format ics --as-of 2021-06-30)
    line "stpm agenda --format ics --as-of 2021-06-30" "best $b ms, median $m ms"
    if [ -n "${BENCH_EXPLAIN:-}" ]; then
        local sql
        sql=$(python3 - "$here/../../core/project/agenda.c" <<'PY'
import re, sys
src = open(sys.argv[1], encoding='utf-8').read()
body = src[src.index('agenda_sql[] ='):]
body = body[:body.index(';\n')]
print(''.join(re.findall(r'"((?:[^"\\]|\\.)*)"', body)))
PY
)
        echo "-- EXPLAIN ANALYZE of the agenda's query as of 2021-06-30, window to 2021-07-28:"
        psql "$DB" -qX -v ON_ERROR_STOP=1 \
            -c "PREPARE ag(date, date, text, boolean) AS $sql" \
            -c "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) EXECUTE ag('2021-06-30', '2021-07-28', NULL, false)"
    fi
}

mode_audit() {
    echo
    echo "== the auditor's figures on $N projects (DESIGN §9, as bench_audit.sh) =="
    local b m nu v
    # "today" after the data set's last event (2022-10-21): report summary is a report of now
    export STPM_TODAY=2023-06-30
    "$STPM" --db "$DB" audit unclosed --as-of 2022-06-30 >/dev/null
    read -r b m < <(timed "$STPM" --db "$DB" audit unclosed --as-of 2022-06-30)
    nu=$("$STPM" --db "$DB" --format csv audit unclosed --as-of 2022-06-30 | tail -n +2 | wc -l)
    line "audit unclosed --as-of 2022-06-30" "best $b ms, median $m ms ($nu rows)"
    read -r b m < <(timed "$STPM" --db "$DB" report summary --by level)
    line "report summary --by level (now)" "best $b ms, median $m ms"
    read -r b m < <(timed "$STPM" --db "$DB" report summary --by level --as-of 2021-12-31)
    line "report summary --by level --as-of 2021-12-31" "best $b ms, median $m ms"
    local s
    s=$(now_ms)
    v=$("$STPM" --db "$DB" --format json audit verify)
    line "audit verify (whole command)" "$(printf '%s' "$v" | python3 -c 'import json,sys; d=json.load(sys.stdin); w=int(sys.argv[1])/1000; print("%d events, %.1f s: %.0f events/s streamed, %.0f events/s whole command, verified=%s" % (d["events"], w, d["events_per_second"], d["events"]/w, d["verified"]))' "$(( $(now_ms) - s ))")"
    unset STPM_TODAY
}

mode_standby() {
    echo
    echo "== a hot standby of the $N-project cluster: replay lag under a bulk advance of $BULK =="
    local flip t0 tb lsn0 lsn1 wal tcatch
    flip=$(cs flip)
    q postgres "DROP DATABASE IF EXISTS flip" 2>/dev/null
    q postgres "CREATE DATABASE flip"
    (cd "$here" && "$BT" setup "$flip" "$BULK" "$here/bench.yaml")
    q flip "CHECKPOINT"
    rm -rf "$tmp/standby" "$tmp/ssock"
    "${as_pg[@]}" mkdir -m 700 "$tmp/ssock"
    t0=$(now_ms)
    "${as_pg[@]}" "$pgbin/pg_basebackup" -D "$tmp/standby" -R -X stream -c fast -h "$tmp/sock" \
        -U stpm_bench >"$tmp/basebackup.log" 2>&1
    tb=$(( $(now_ms) - t0 ))
    "${as_pg[@]}" "$pgbin/pg_ctl" -D "$tmp/standby" -l "$tmp/standby.log" -w -t 120 \
        -o "-c listen_addresses='' -k $tmp/ssock $opts" start >/dev/null
    chmod 755 "$tmp/ssock"
    line "pg_basebackup -R of the whole cluster" "$tb ms ($(mib "$(du -sb "$tmp/standby" | cut -f1)"))"
    local S="host=$tmp/ssock user=stpm_bench dbname=flip"
    wait_standby() { # LSN: until the standby has replayed it; prints ms waited
        local s
        s=$(now_ms)
        for _ in $(seq 1 6000); do
            [ "$(psql "$S" -qAtX -c "SELECT pg_last_wal_replay_lsn() >= '$1'::pg_lsn")" = t ] && break
            sleep 0.05
        done
        echo $(( $(now_ms) - s ))
    }
    wait_standby "$(q flip "SELECT pg_current_wal_lsn()")" >/dev/null
    # the primary's view of its standby, every 0.2 s: bytes not replayed yet, replay_lag
    sample() {
        printf '%s\n' "SELECT extract(epoch from clock_timestamp()), pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn), coalesce(extract(epoch from replay_lag), 0) FROM pg_stat_replication" \
            '\watch 0.2' | psql "$flip" -qAtX -F ' ' >"$1" 2>/dev/null &
        sampler=$!
    }
    unsample() { kill "$sampler" 2>/dev/null || true; wait "$sampler" 2>/dev/null || true; sampler=; }
    report_lag() { # FILE
        python3 - "$1" <<'PY'
import sys
rows = [l.split() for l in open(sys.argv[1]) if len(l.split()) == 3]
b = [float(r[1]) for r in rows]; t = [float(r[2]) for r in rows]
if not rows:
    print("no samples"); sys.exit()
print("max %.1f MiB behind, max replay_lag %.2f s, mean replay_lag %.2f s (%d samples)"
      % (max(b) / 1048576, max(t), sum(t) / len(t), len(rows)))
PY
    }

    # bulk: one stpm command advances every project of the bench plan
    lsn0=$(q flip "SELECT pg_current_wal_lsn()")
    sample "$tmp/lag_bulk"
    t0=$(now_ms)
    "$STPM" --db "$flip" --today 2021-03-02 project advance --where "state=a" flip >"$tmp/bulk.out"
    tb=$(( $(now_ms) - t0 ))
    lsn1=$(q flip "SELECT pg_current_wal_lsn()")
    tcatch=$(wait_standby "$lsn1")
    sleep 1.2
    unsample
    wal=$(q flip "SELECT pg_wal_lsn_diff('$lsn1', '$lsn0')")
    line "bulk advance ($(tail -n 1 "$tmp/bulk.out"))" \
        "$tb ms, $(python3 -c "print('%.0f' % ($BULK / ($tb / 1000)))") projects/s, WAL $(mib "$wal")"
    line "  standby while it ran" "$(report_lag "$tmp/lag_bulk")"
    line "  standby caught up after the command ended" "$tcatch ms"
    line "  projects in state b on the standby" "$(psql "$S" -qAtX -c "SELECT count(*) FROM stpm.projects WHERE state = 'b'")"

    # one at a time: 2,000 transitions through libstpm, one transaction each
    local one=$(( BULK < 2000 ? BULK : 2000 )) n ro
    lsn0=$(q flip "SELECT pg_current_wal_lsn()")
    sample "$tmp/lag_one"
    read -r _ n _ ro < <(cd "$here" && "$BT" one "$flip" "$one" flop)
    lsn1=$(q flip "SELECT pg_current_wal_lsn()")
    tcatch=$(wait_standby "$lsn1")
    sleep 1.2
    unsample
    wal=$(q flip "SELECT pg_wal_lsn_diff('$lsn1', '$lsn0')")
    line "$n transitions one at a time (libstpm, durable commits)" "$(printf '%.0f' "$ro") per s, WAL $(mib "$wal")"
    line "  standby while it ran" "$(report_lag "$tmp/lag_one")"
    line "  standby caught up after it ended" "$tcatch ms"

    # reads on the standby: the auditor's figures there (the bench database)
    local SB="host=$tmp/ssock user=stpm_bench dbname=bench" b m
    export STPM_TODAY=2023-06-30
    "$STPM" --db "$SB" audit unclosed --as-of 2022-06-30 >/dev/null
    read -r b m < <(timed "$STPM" --db "$SB" audit unclosed --as-of 2022-06-30)
    line "on the standby: audit unclosed --as-of 2022-06-30" "best $b ms, median $m ms"
    read -r b m < <(timed "$STPM" --db "$SB" report summary --by level)
    line "on the standby: report summary --by level" "best $b ms, median $m ms"
    read -r b m < <(timed "$STPM" --db "$SB" report summary --by level --as-of 2021-12-31)
    line "on the standby: report summary --as-of 2021-12-31" "best $b ms, median $m ms"
    unset STPM_TODAY
    "${as_pg[@]}" "$pgbin/pg_ctl" -D "$tmp/standby" -m fast stop >/dev/null
    rm -rf "$tmp/standby" "$tmp/ssock"
    q postgres "DROP DATABASE flip"
}

for m in "${modes[@]}"; do
    case "$m" in
    backup | agenda | audit | standby) "mode_$m" ;;
    *) echo "bench_scale.sh: unknown mode $m (backup, agenda, audit, standby)" >&2; exit 2 ;;
    esac
done

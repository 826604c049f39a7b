#!/usr/bin/env bash
# The embedded database end to end: stpm db init | start | stop | status on a temporary
# home, restart after SIGKILL of the postmaster, two homes side by side, stpm demo, the
# message when the server binaries are missing. Every cluster started here is stopped
# and removed on exit, also on failure.
. "$(dirname "$0")/lib.sh"

export STPM_EMBEDDED_NOSYNC=1
unset STPM_DB PGHOST PGHOSTADDR PGPORT PGDATABASE PGUSER PGSERVICE
H1="$TMP/home one"
H2="$TMP/h2"
H4="$TMP/h4"
homes=("$H1" "$H2" "$H4")
cleanup() {
    for h in "${homes[@]}"; do
        "$STPM" --home "$h" db stop >/dev/null 2>&1 || true
        # as root the cluster lives under /var/lib/stpm, linked from the home
        if [ -L "$h/cluster" ]; then rm -rf "$(readlink -f "$h/cluster")"; fi
    done
    rm -rf "$TMP"
}
trap cleanup EXIT

pidof_cluster() { head -n 1 "$1/cluster/data/postmaster.pid" 2>/dev/null; }

export STPM_HOME="$H1"
run "$STPM" db status
expect_rc 8 "status of a home never used exits 8"
contains "$OUT" "not running" "status says not running"

run "$STPM" db init
expect_rc 0 "db init exits 0"
contains "$OUT" "initialised the embedded database in $H1" "db init names the home"
contains "$OUT" "applied" "db init applies the migrations"
if [ "$(id -u)" -eq 0 ]; then
    if [ -L "$H1/cluster" ] && [[ "$(readlink "$H1/cluster")" == /var/lib/stpm/* ]]; then
        pass "as root the cluster lives under /var/lib/stpm, linked from the home"
    else
        fail "as root the cluster lives under /var/lib/stpm" "$(ls -l "$H1")"
    fi
    is "$(stat -c %U "$(readlink -f "$H1/cluster")/data")" "postgres" "as root the data directory belongs to postgres"
else
    skip "cluster under /var/lib/stpm" "not root"
    skip "data directory owned by postgres" "not root"
fi
is "$(stat -c %a "$(readlink -f "$H1/cluster")/run")" "700" "the socket directory is private (0700)"

run "$STPM" db init
expect_rc 0 "a second db init exits 0"
contains "$OUT" "already initialised" "a second db init says it was already initialised"

run "$STPM" db status
expect_rc 0 "status of a running cluster exits 0"
contains "$OUT" "running (pid" "status says running, with the pid"
contains "$OUT" "socket_dir" "status shows the socket directory"
contains "$OUT" "server_version      15" "status shows the server version"
contains "$OUT" "migrations_pending  0" "status shows no pending migration"
applied=$("$STPM" db status --format csv | python3 -c 'import csv,sys; r=list(csv.DictReader(sys.stdin)); print(r[0]["migrations_applied"])')
known=$(ls "$STPM_SOURCE_ROOT"/migrations/*.sql | wc -l)
is "$applied" "$known" "every migration in migrations/ is applied"
run "$STPM" db status --format json
contains "$OUT" '"role": "'"$(id -un)"'"' "the connecting role is named after the OS user"

sock=$("$STPM" db status --format csv | python3 -c 'import csv,sys; print(next(csv.DictReader(sys.stdin))["socket_dir"])')
run psql -h "$sock" -d stpm -qAtX -c "SHOW listen_addresses"
is "$OUT" "" "the server listens on no TCP address"

run "$STPM" db migrate
expect_rc 0 "db migrate exits 0"
contains "$OUT" "nothing to apply" "a second migrate applies nothing"

# acting as another user on the embedded database: --user, or a conninfo naming no server
run "$STPM" user add emb_officer --role officer
expect_rc 0 "user add on the embedded database exits 0"
run "$STPM" --user emb_officer project list --format json
expect_rc 0 "--user NAME connects as NAME to the embedded database"
run "$STPM" --user emb_officer db status --format json
contains "$OUT" '"role": "emb_officer"' "--user NAME: the connected role is NAME"
contains "$OUT" '"source": "embedded"' "--user NAME: the source stays the embedded database"
run "$STPM" --db "user=emb_officer" db status --format json
expect_rc 0 "--db \"user=NAME\" (no host) exits 0 on the embedded database"
contains "$OUT" '"role": "emb_officer"' "--db \"user=NAME\": the connected role is NAME"
run "$STPM" --db "dbname=stpm user=emb_officer options='-c statement_timeout=5000'" project list
expect_rc 0 "a conninfo with dbname, user and options but no host goes to the embedded socket"
run env PGUSER=emb_officer "$STPM" db status --format json
contains "$OUT" '"role": "emb_officer"' "PGUSER without PGHOST connects as that user to the embedded database"
run "$STPM" --user emb_officer user add emb_other --role officer
expect_rc 7 "--user NAME acts with NAME's rights (an officer cannot add users)"
run "$STPM" --user emb_nobody project list
expect_rc 7 "--user with an unknown role exits 7"
contains "$ERR" "as role emb_nobody" "the message names the unknown role"
run "$STPM" --user emb_nobody db status
expect_rc 7 "db status as an unknown role exits 7"
contains "$ERR" "as role emb_nobody" "db status names the refused role"
run "$STPM" --db "dbname=emb_nosuch" db status
expect_rc 8 "db status of a missing database of the embedded cluster exits 8"
contains "$ERR" "database emb_nosuch does not exist" "db status names the missing database"
run "$STPM" --user "" project list
expect_rc 2 "an empty --user is a usage error"
run "$STPM" project list --user emb_officer --format json
expect_rc 0 "--user is accepted after the command, as every global option"
run "$STPM" --db "host=/nonexistent user=emb_officer" project list
expect_rc 8 "a conninfo naming a host still goes to that host"

# SIGKILL the postmaster: the next command brings it back by itself
pid=$(pidof_cluster "$H1")
kill -9 "$pid"
sleep 0.2
run "$STPM" db status
expect_rc 8 "status after SIGKILL says it does not answer"
run timeout 60 "$STPM" db migrate
expect_rc 0 "a command after SIGKILL restarts the server by itself"
pid2=$(pidof_cluster "$H1")
if [ -n "$pid2" ] && [ "$pid2" != "$pid" ] && kill -0 "$pid2" 2>/dev/null; then
    pass "a new postmaster runs after the restart"
else
    fail "a new postmaster runs after the restart" "old $pid new $pid2"
fi
kill -9 "$pid2"
sleep 0.2
run timeout 60 "$STPM" db start
expect_rc 0 "db start after SIGKILL exits 0"
contains "$OUT" "started the embedded database" "db start after SIGKILL starts it"

# a second home beside the first: its own cluster and socket
run "$STPM" --home "$H2" db start
expect_rc 0 "db start on a second home exits 0 (creating it)"
contains "$OUT" "initialised the embedded database in $H2" "the second home gets its own cluster"
s1=$("$STPM" db status --format csv | python3 -c 'import csv,sys; print(next(csv.DictReader(sys.stdin))["socket_dir"])')
s2=$("$STPM" --home "$H2" db status --format csv | python3 -c 'import csv,sys; print(next(csv.DictReader(sys.stdin))["socket_dir"])')
if [ "$s1" != "$s2" ]; then pass "the two homes have their own sockets"; else fail "the two homes have their own sockets" "$s1"; fi
psql -h "$s2" -d stpm -qAtX -c "CREATE TABLE stpm.only_in_two (x int)" >/dev/null
run psql -h "$s1" -d stpm -qAtX -c "SELECT count(*) FROM pg_class WHERE relname = 'only_in_two'"
is "$OUT" "0" "a table made in the second home is not in the first"
run "$STPM" db status
expect_rc 0 "the first home still runs beside the second"

run "$STPM" db stop
expect_rc 0 "db stop exits 0"
contains "$OUT" "stopped the embedded database" "db stop says so"
run "$STPM" db stop
expect_rc 0 "db stop when stopped exits 0"
contains "$OUT" "not running" "db stop when stopped says it is not running"
run "$STPM" --home "$H2" db status
expect_rc 0 "stopping one home leaves the other running"

# stpm demo: starts on demand, migrates, leaves it running (the tour itself: demo.sh)
run "$STPM" demo
expect_rc 0 "stpm demo exits 0"
contains "$OUT" "储备 reserve → 申报 application → 廉政准入 integrity admission → 立项 approval" "demo names the stages"
contains "$OUT" "The end of the tour" "demo runs to its end"
run "$STPM" db status
expect_rc 0 "the server runs after the demo"

# two commands at once on a new home: one creates and starts it, both succeed
"$STPM" --home "$H4" db migrate >"$TMP/c1" 2>&1 &
p1=$!
"$STPM" --home "$H4" db migrate >"$TMP/c2" 2>&1 &
p2=$!
r1=0 r2=0
wait $p1 || r1=$?
wait $p2 || r2=$?
if [ "$r1 $r2" = "0 0" ]; then pass "two commands at once on a new home both succeed"
else fail "two commands at once on a new home both succeed" "exits: $r1 $r2" "$(cat "$TMP/c1" "$TMP/c2")"; fi
run "$STPM" --home "$H4" db status
contains "$OUT" "migrations_pending  0" "the home made by two commands at once is migrated"

# init, start and stop manage the embedded database only
run "$STPM" --db "host=/nonexistent" db init
expect_rc 2 "db init with --db is a usage error"

# missing server binaries
run "$STPM" db stop
run env STPM_PG_BINDIR=/nonexistent "$STPM" db start
expect_rc 8 "db start without server binaries exits 8"
contains "$ERR" "the postgresql server binaries are not installed" "the message says the binaries are missing"
contains "$ERR" "apt-get install postgresql" "the hint says to install postgresql"
run env STPM_PG_BINDIR=/nonexistent STPM_HOME="$TMP/h3" "$STPM" demo
expect_rc 8 "demo on a new home without server binaries exits 8"
contains "$ERR" "Install the postgresql package" "demo names the package to install"

done_testing

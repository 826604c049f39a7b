# Throwaway PostgreSQL clusters for the replication and backup tests: sourced after lib.sh.
# Each cluster lives under $TMP/NAME on a Unix socket of its own ($TMP/NAME/sock); as root
# the server runs as the unprivileged user postgres (initdb refuses root). They are stopped
# by stop_clusters (call it from the script's EXIT trap).
PGBIN=${STPM_TEST_PGBIN:-$(pg_config --bindir 2>/dev/null || ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)}
AS_PG=()
if [ "$(id -u)" -eq 0 ]; then AS_PG=(runuser -u postgres --); fi
chmod 755 "$TMP"
[ "$(id -u)" -eq 0 ] && chown postgres: "$TMP"
_clusters=()

# pg NAME ARGS...: a server binary as the cluster's user.
pg() { "${AS_PG[@]}" "$PGBIN/$1" "${@:2}"; }

# ci NAME [DB]: the conninfo of cluster NAME.
ci() { echo "host=$TMP/$1/sock user=stpm_test dbname=${2:-postgres}"; }

# start_cluster NAME: start the data directory $TMP/NAME/data on its socket.
start_cluster() {
    "${AS_PG[@]}" mkdir -p -m 700 "$TMP/$1/sock"
    _clusters+=("$1")
    pg pg_ctl -D "$TMP/$1/data" -l "$TMP/$1/log" -w -t 60 \
        -o "-c listen_addresses='' -k $TMP/$1/sock -c fsync=off -c full_page_writes=off -c max_connections=40" \
        start >/dev/null || { tail -n 20 "$TMP/$1/log"; return 1; }
    chmod 755 "$TMP/$1" "$TMP/$1/sock"
}

# new_primary NAME: initdb and start, with what streaming replication needs.
new_primary() {
    "${AS_PG[@]}" mkdir -p "$TMP/$1"
    pg initdb -D "$TMP/$1/data" -U stpm_test --auth=trust -E UTF8 --locale=C.UTF-8 --no-sync \
        >"$TMP/$1.initdb.log" 2>&1 || { cat "$TMP/$1.initdb.log"; return 1; }
    printf '%s\n' "wal_level = replica" "max_wal_senders = 5" "hot_standby = on" \
        "wal_receiver_status_interval = 1s" | "${AS_PG[@]}" tee -a "$TMP/$1/data/postgresql.conf" >/dev/null
    start_cluster "$1"
}

# new_standby NAME PRIMARY: a streaming hot standby of PRIMARY (pg_basebackup -R).
new_standby() {
    "${AS_PG[@]}" mkdir -p "$TMP/$1"
    pg pg_basebackup -D "$TMP/$1/data" -R -X stream -c fast -h "$TMP/$2/sock" -U stpm_test \
        >"$TMP/$1.basebackup.log" 2>&1 || { cat "$TMP/$1.basebackup.log"; return 1; }
    start_cluster "$1"
}

# wait_replay PRIMARY STANDBY: until the standby has replayed what the primary wrote so far.
wait_replay() {
    local lsn i
    lsn=$(psql "$(ci "$1")" -qAtX -c "SELECT pg_current_wal_lsn()")
    for i in $(seq 1 300); do
        if [ "$(psql "$(ci "$2")" -qAtX -c "SELECT pg_last_wal_replay_lsn() >= '$lsn'::pg_lsn")" = t ]; then
            return 0
        fi
        sleep 0.1
    done
    return 1
}

stop_clusters() {
    local c
    for c in "${_clusters[@]}"; do
        pg pg_ctl -D "$TMP/$c/data" -m immediate stop >/dev/null 2>&1 || true
    done
}

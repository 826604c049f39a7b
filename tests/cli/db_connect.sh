#!/usr/bin/env bash
# Connection resolution (--db beats STPM_DB beats the libpq environment beats the embedded
# database), the messages and exit codes of refused and forbidden connections, stpm db
# migrate and status on a given server, and the auditor role's read-only grants (psql).
. "$(dirname "$0")/lib.sh"
need_db
unset STPM_DB PGHOST PGHOSTADDR PGPORT PGDATABASE PGUSER PGSERVICE
export STPM_HOME="$TMP/home" # never used: every case below names a server

# which source was tried shows in the detail: the host name libpq could not resolve
run env STPM_DB="host=stpm-env.invalid" PGHOST=stpm-pg.invalid "$STPM" --db "host=stpm-opt.invalid" db status
expect_rc 8 "an unknown host exits 8"
contains "$ERR" "stpm-opt.invalid" "--db beats STPM_DB and PGHOST"
run env STPM_DB="host=stpm-env.invalid" PGHOST=stpm-pg.invalid "$STPM" db status
contains "$ERR" "stpm-env.invalid" "STPM_DB beats PGHOST"
run env PGHOST=stpm-pg.invalid "$STPM" db status
contains "$ERR" "stpm-pg.invalid" "PGHOST beats the embedded database"
contains "$ERR" "unknown database host" "the message says the host is unknown"
if [ ! -e "$STPM_HOME" ]; then pass "the embedded home was not touched"; else fail "the embedded home was not touched"; fi

run "$STPM" --db "host=127.0.0.1 port=1 dbname=x" db migrate
expect_rc 8 "a refused connection exits 8"
contains "$ERR" "stpm: error: the database server refused the connection" "a refused connection says so"
contains "$ERR" "127.0.0.1" "the detail names the address"
run "$STPM" --db "host=$TMP/nosock dbname=x" db migrate
expect_rc 8 "no server at the socket exits 8"
contains "$ERR" "no database server is running at the socket" "no server at the socket says so"
run "$STPM" --db "$STPM_TEST_DB user=stpm_no_such_role" db migrate
expect_rc 7 "an unknown role exits 7"
contains "$ERR" "permission denied to connect to the database as role stpm_no_such_role" "an unknown role is a permission error"
run "$STPM" --db "nonsense" db status
expect_rc 2 "a malformed conninfo exits 2"

# migrate and status on a given database
DB=$(fresh_db dbc)
run "$STPM" --db "$DB" db status
expect_rc 0 "status of a given database exits 0"
contains "$OUT" "source              conninfo" "status names the source"
contains "$OUT" "migrations_applied  0" "a fresh database has no migration applied"
run "$STPM" --db "$DB" db migrate
expect_rc 0 "db migrate exits 0"
contains "$OUT" "applied" "db migrate says how many it applied"
run "$STPM" --db "$DB" db migrate
contains "$OUT" "nothing to apply" "the second migrate applies nothing"
run "$STPM" --db "$DB" db start
expect_rc 2 "db start with --db is a usage error"
contains "$ERR" "manages the embedded database" "db start with --db says why"

# the auditor role (审计) reads and cannot write, not even through psql
aud="stpm_t_aud_$$"
psql "$DB" -qAtX -v ON_ERROR_STOP=1 -c "CREATE ROLE $aud LOGIN IN ROLE stpm_auditor" >/dev/null
trap 'psql "$STPM_TEST_DB" -qAtX -c "DROP OWNED BY '"$aud"'; DROP ROLE IF EXISTS '"$aud"'" >/dev/null 2>&1; drop_db "$DB"; rm -rf "$TMP"' EXIT
psql "$DB" -qAtX -v ON_ERROR_STOP=1 -c "INSERT INTO stpm.orgs (uscc, name, town) VALUES ('91320682MA1XXXXXXX', '如皋测试有限公司', '如城街道')" >/dev/null
AUD="$DB user=$aud"
run psql "$AUD" -qAtX -c "SELECT count(*) FROM stpm.orgs"
is "$OUT" "1" "the auditor reads organisations"
run psql "$AUD" -qAtX -c "SELECT count(*) FROM stpm.schema_migrations"
contains "$OUT" "$(ls "$STPM_SOURCE_ROOT"/migrations/*.sql | wc -l)" "the auditor reads the applied migrations"
run psql "$AUD" -qAtX -v ON_ERROR_STOP=1 -c "INSERT INTO stpm.orgs (uscc, name) VALUES ('91320682MA1YYYYYYY', 'x')"
contains "$ERR" "permission denied" "the auditor cannot INSERT (psql)"
run psql "$AUD" -qAtX -v ON_ERROR_STOP=1 -c "UPDATE stpm.orgs SET name = 'changed'"
contains "$ERR" "permission denied" "the auditor cannot UPDATE (psql)"
run psql "$AUD" -qAtX -v ON_ERROR_STOP=1 -c "DELETE FROM stpm.orgs"
contains "$ERR" "permission denied" "the auditor cannot DELETE (psql)"
run psql "$AUD" -qAtX -v ON_ERROR_STOP=1 -c "DELETE FROM stpm.events"
contains "$ERR" "permission denied" "the auditor cannot DELETE events (psql)"
run psql "$AUD" -qAtX -v ON_ERROR_STOP=1 -c "TRUNCATE stpm.schema_migrations"
contains "$ERR" "permission denied" "the auditor cannot TRUNCATE the migrations (psql)"
run psql "$AUD" -qAtX -v ON_ERROR_STOP=1 -c "CREATE TABLE stpm.mine (x int)"
contains "$ERR" "permission denied" "the auditor cannot create tables in stpm (psql)"
run psql "$DB" -qAtX -c "SELECT name FROM stpm.orgs"
is "$OUT" "如皋测试有限公司" "nothing the auditor tried changed the data"
# stpm itself, connected as the auditor, opens fine (nothing to migrate) and reports
run "$STPM" --db "$AUD" db status
expect_rc 0 "stpm db status as the auditor exits 0"
contains "$OUT" "role                $aud" "status shows the auditor's role"

done_testing

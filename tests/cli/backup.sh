#!/usr/bin/env bash
# Backups end to end: stpm db backup / restore round trip with audit verify and a
# checkpoint taken before the backup; refusals (a non-empty target, a file that is no
# backup, a standby's writes are in standby.sh); a backup of an older schema restored and
# migrated; db destroy (--yes, no terminal); point-in-time recovery of the embedded
# database to a time between two transitions (db init --archive, restore --archive --until).
. "$(dirname "$0")/lib.sh"
need_db
keep_going
SRC=$STPM_SOURCE_ROOT
ORG=91320682MA1MXXXX9P
export STPM_EMBEDDED_NOSYNC=1
H1="$TMP/h1" H2="$TMP/h2" H3="$TMP/h3" ARCH="$TMP/archive"
dbs=()
cleanup() {
    for h in "$H1" "$H2" "$H3"; do
        "$STPM" --home "$h" db stop >/dev/null 2>&1 || true
        if [ -L "$h/cluster" ]; then rm -rf "$(readlink -f "$h/cluster")"; fi
    done
    for d in "${dbs[@]}"; do drop_db "$d"; done
    rm -rf "$TMP"
}
trap cleanup EXIT
chmod 755 "$TMP" # the server's user (postgres, as root) writes the archive under it

# fill DB: the test workflow, a plan, an organisation, three projects, some transitions.
fill() {
    "$STPM" --db "$1" workflow load "$SRC/tests/data/audit_test.yaml" >/dev/null
    psql "$1" -qAtX -c "INSERT INTO stpm.plans (code, name, level, funded, workflow_name) VALUES ('AUD', '省级测试计划', 'provincial', true, 'audit_test')" \
        -c "INSERT INTO stpm.orgs (uscc, name, town) VALUES ('$ORG', '如皋某某科技有限公司', '如城街道')" >/dev/null
    for t in 高效电机控制系统研发 纺织机械智能化改造 新能源汽车电池回收; do
        "$STPM" --db "$1" --today 2020-03-01 project create --plan AUD --org $ORG --title "$t" --leader 张三 --year 2020 --set amount_requested=50 >/dev/null
    done
    "$STPM" --db "$1" --today 2020-03-01 project advance --where state=reserve apply >/dev/null
}

# ---- round trip through a database of the test cluster ----
A=$(fresh_db bk_a) B=$(fresh_db bk_b)
dbs+=("$A" "$B")
fill "$A"
run "$STPM" --db "$A" audit checkpoint --generate-key --key "$TMP/k.pem" --out "$TMP/before.cp"
expect_rc 0 "a checkpoint before the backup"
run "$STPM" --db "$A" db backup "$TMP/a.dump"
expect_rc 0 "db backup exits 0"
contains "$OUT" "backed up the database into $TMP/a.dump" "it names the file"
contains "$OUT" "schema version: $(ls "$SRC"/migrations/[0-9]*.sql | wc -l) migrations, the newest $(basename "$(ls "$SRC"/migrations/[0-9]*.sql | tail -n 1)")" "it records the schema version"
[ -s "$TMP/a.dump" ] && [ ! -e "$TMP/a.dump.partial" ] && pass "the file is there, no partial one" || fail "the backup file" "$(ls -l "$TMP")"
# officers keep working after the backup: that is not in it
"$STPM" --db "$A" --today 2020-03-02 project advance 2020-AUD-0001 admit >/dev/null
run "$STPM" --db "$B" db restore "$TMP/a.dump"
expect_rc 0 "db restore into an empty database exits 0"
contains "$OUT" "restored $TMP/a.dump into database ${B##*dbname=}" "it says where"
run "$STPM" --db "$B" audit verify
expect_rc 0 "audit verify passes after the restore"
run "$STPM" --db "$B" audit verify --checkpoint "$TMP/before.cp" --pubkey "$TMP/k.pem.pub"
expect_rc 0 "the checkpoint taken before the backup still verifies"
is "$(psql "$B" -qAtX -c "SELECT string_agg(code || ':' || state, ' ' ORDER BY code) FROM stpm.projects")" \
    "2020-AUD-0001:applied 2020-AUD-0002:applied 2020-AUD-0003:applied" "the restored projects are as at the backup"
is "$(psql "$B" -qAtX -c "SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'stpm' AND p.prosecdef AND p.proname <> 'user_add' AND pg_get_userbyid(p.proowner) <> 'stpm_owner'")" \
    "0" "the door is closed again: every definer function belongs to stpm_owner"
run "$STPM" --db "$B" --today 2020-03-03 project advance 2020-AUD-0002 admit
expect_rc 0 "the restored database takes transitions"
run "$STPM" --db "$B" audit verify
expect_rc 0 "and its chains verify after that"

# ---- refusals ----
events=$(psql "$B" -qAtX -c "SELECT count(*) FROM stpm.events")
run "$STPM" --db "$B" db restore "$TMP/a.dump"
expect_rc 1 "restore into a non-empty database: exit 1"
contains "$ERR" "the database is not empty" "it says the target is not empty"
is "$(psql "$B" -qAtX -c "SELECT count(*) FROM stpm.events")" "$events" "and changes nothing"
printf 'not a dump\n' >"$TMP/bogus.dump"
C=$(fresh_db bk_c)
dbs+=("$C")
run "$STPM" --db "$C" db restore "$TMP/bogus.dump"
expect_rc 5 "a file that is no backup: exit 5"
contains "$ERR" "$TMP/bogus.dump: not a backup made by \"stpm db backup\"" "naming the file"
run "$STPM" --db "$C" db restore "$TMP/missing.dump"
expect_rc 5 "a missing file: exit 5"
run "$STPM" --db "$C" db backup "$TMP/c.dump"
expect_rc 6 "backing up a database without stpm: exit 6"
run "$STPM" --db "$A" db backup
expect_rc 2 "db backup without FILE: usage"

# ---- an older schema: restored, then migrated ----
OLD=$(fresh_db bk_old) NEW=$(fresh_db bk_new)
dbs+=("$OLD" "$NEW")
psql "$OLD" -qAtX -c "CREATE SCHEMA stpm" -c "CREATE TABLE stpm.schema_migrations (name text PRIMARY KEY, sha256 text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now(), applied_by text NOT NULL DEFAULT current_user)" >/dev/null
older=$(sed -n "s/^ *'\([0-9]*_.*\.sql\)',/\1/p" "$SRC/migrations/meson.build" | head -n -2)
ok_old=1
for f in $older; do
    psql "$OLD" -qAtX -1 -v ON_ERROR_STOP=1 -f "$SRC/migrations/$f" >/dev/null 2>"$TMP/mig.err" || ok_old=0
    psql "$OLD" -qAtX -c "INSERT INTO stpm.schema_migrations (name, sha256) VALUES ('$f', '$(sha256sum "$SRC/migrations/$f" | cut -c1-64)')" >/dev/null
done
is "$ok_old" 1 "an older schema (all but the last two migrations) made by hand" 
"$STPM" --db "$OLD" db backup "$TMP/old.dump" >/dev/null
run "$STPM" --db "$NEW" db restore "$TMP/old.dump"
expect_rc 0 "an older backup restores"
contains "$OUT" "applied 2 newer migrations" "and is migrated to this stpm's schema"
run "$STPM" --db "$NEW" db status --format csv
contains "$OUT" ",0," "no migration is pending afterwards"

# ---- into a new embedded home; db destroy ----
run "$STPM" --home "$H1" db restore "$TMP/a.dump"
expect_rc 0 "restore into a new embedded home"
run "$STPM" --home "$H1" audit verify --checkpoint "$TMP/before.cp" --pubkey "$TMP/k.pem.pub"
expect_rc 0 "the embedded copy verifies, with the checkpoint"
run "$STPM" --home "$H1" db restore "$TMP/a.dump"
expect_rc 1 "a second restore into that home is refused"
run "$STPM" --home "$H1" db destroy </dev/null
expect_rc 2 "db destroy without --yes and without a terminal: exit 2"
contains "$ERR" "--yes" "it names --yes"
run "$STPM" --home "$H1" project list
expect_rc 0 "and destroyed nothing"
run "$STPM" --home "$H1" db destroy --yes
expect_rc 0 "db destroy --yes"
contains "$OUT" "destroyed the embedded database in $H1" "it says so"
[ ! -e "$H1/cluster" ] && pass "the cluster is gone" || fail "the cluster is gone" "$(ls -la "$H1")"
run "$STPM" --db "host=/nonexistent" db destroy --yes
expect_rc 2 "db destroy with --db: usage (it destroys only an embedded home)"

# ---- point-in-time recovery ----
run "$STPM" --home "$H2" db init --archive "$ARCH"
expect_rc 0 "db init --archive"
contains "$OUT" "base backup $ARCH/base/" "it takes a base backup"
E2=$("$STPM" --home "$H2" --format json db status | python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["conninfo"])')
fill "$E2"
"$STPM" --home "$H2" --today 2020-03-02 project advance 2020-AUD-0001 admit >/dev/null
sleep 1
T=$(psql "$E2" -qAtX -c "SELECT now()")
sleep 1
"$STPM" --home "$H2" --today 2020-03-03 project advance 2020-AUD-0001 approve >/dev/null
is "$(psql "$E2" -qAtX -c "SELECT state FROM stpm.projects WHERE code = '2020-AUD-0001'")" approved "two transitions on the archived home"
wal=$(psql "$E2" -qAtX -c "SELECT pg_walfile_name(pg_current_wal_lsn())")
psql "$E2" -qAtX -c "SELECT pg_switch_wal()" >/dev/null
for _ in $(seq 1 100); do [ -f "$ARCH/wal/$wal" ] && break; sleep 0.1; done
[ -f "$ARCH/wal/$wal" ] && pass "the WAL is archived" || fail "the WAL is archived" "$(ls "$ARCH/wal")"
run "$STPM" --home "$H3" db restore --archive "$ARCH" --until "$T"
expect_rc 0 "restore --archive --until into a new home"
contains "$OUT" "as it was at $T" "it says to when"
run "$STPM" --home "$H3" --format csv project show 2020-AUD-0001
contains "$OUT" ",audit_test@1,admitted," "the project is as it was at that time: admitted, not yet approved"
run "$STPM" --home "$H3" audit verify
expect_rc 0 "audit verify passes on the recovered home"
run "$STPM" --home "$H3" --today 2020-03-04 project advance 2020-AUD-0002 admit
expect_rc 0 "the recovered home is a primary that takes transitions"
run "$STPM" --home "$H3" db restore --archive "$ARCH" --until "$T"
expect_rc 1 "restore --archive into a home that has a database: exit 1"
run "$STPM" --home "$TMP/h4" db restore --archive "$ARCH"
expect_rc 2 "restore --archive without --until: usage"
done_testing

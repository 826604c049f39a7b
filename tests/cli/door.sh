#!/usr/bin/env bash
# Issue 8, "the database is the only door": psql as each login role (one member each of
# stpm_officer, stpm_expert, stpm_admin, stpm_auditor, and an administrator created by an
# administrator with `stpm user add`) tries to write every table of the schema, listed from
# the catalog (a new table is covered automatically); the concrete walk-arounds of the issue;
# the SECURITY DEFINER functions (pinned search_path, no EXECUTE for PUBLIC, owner); and the
# actor of events and *_by columns (session_user, whatever the client says).
. "$(dirname "$0")/lib.sh"
need_db
keep_going
need_source
command -v psql >/dev/null || { fail "psql is on PATH" "psql not found"; done_testing; exit 1; }
cd "$TMP"

OFFICER=door_officer EXPERT=door_expert ADMIN=door_admin AUDITOR=door_auditor ADMIN2=door_admin2
ORG=91320682MA1MXXXX9P   # a valid USCC (used by the other tests too)
ORG2=91320682053181941N
ORG3=91320682120538710X

q() { psql "$1" -qAtX -v ON_ERROR_STOP=1 -c "$2"; }
# psql_as DB ROLE SQL: one statement as ROLE, SQLSTATE in the error text; sets OUT ERR RC.
psql_as() { run psql "$1 user=$2" -qAtX -v ON_ERROR_STOP=1 -c '\set VERBOSITY verbose' -c "$3"; }
# refused NAME: the last psql_as failed with SQLSTATE 42501 (permission denied).
refused() {
    if [ "$RC" -ne 0 ] && grep -q '42501' <<<"$ERR"; then
        pass "$1"
    else
        fail "$1" "expected permission denied (SQLSTATE 42501), got exit $RC" "stdout: $OUT" "stderr: $ERR"
    fi
}

# populate DB: rows in as many tables as the CLI fills, written as the roles that may.
# Prints nothing; a failing step is a failed test (the CLI must still work after issue 8).
populate() {
    local db=$1 st
    st() { # ROLE DATE ARGS...: stpm as ROLE (empty: the cluster owner) on business DATE
        local who=$1 d=$2
        shift 2
        if [ -n "$who" ]; then who=" user=$who"; fi
        "$STPM" --db "$db$who" --today "$d" "$@"
    }
    run "$STPM" --db "$db" workflow load "$SRC/workflows/municipal_nantong.yaml" "$SRC/workflows/county_rugao.yaml"
    expect_rc 0 "setup: the shipped workflows load"
    for r in "$OFFICER:officer" "$EXPERT:expert" "$ADMIN:admin" "$AUDITOR:auditor"; do
        run "$STPM" --db "$db" user add "${r%%:*}" --role "${r#*:}"
        expect_rc 0 "setup: user add ${r%%:*} --role ${r#*:}"
    done
    run st "$ADMIN" 2020-09-01 plan add NTKJ --name 南通市科技计划 --level municipal --workflow municipal_nantong --funded
    expect_rc 0 "setup: the administrator adds a plan"
    run st "$ADMIN" 2020-09-01 plan add RGKJ --name 如皋市科技计划 --level county --workflow county_rugao
    expect_rc 0 "setup: and a second plan"
    run st "$ADMIN" 2020-09-01 org add --uscc $ORG --name 如皋某某科技有限公司 --town 如城街道
    expect_rc 0 "setup: the administrator adds an organisation"
    cat >pool.csv <<'CSV'
org_name,uscc,town,title,field,target_plan,leader,planned_investment,requested_funding,rd_spend,revenue,high_tech,partner,maturity,notes
江苏汤臣汽车零部件有限公司,91320682053181941N,城北街道,候选甲 轻量化底盘,高端装备,如皋市科技计划,张伟,500,50,300,10000,是,南通大学,5,
南通华泰化工有限公司,91320682120538710X,长江镇,候选乙 绿色催化工艺,新材料,南通市科技计划,李娜,1200,400,100,3000,否,,9,
CSV
    run st "$OFFICER" 2020-10-31 survey import pool.csv --year 2020
    expect_rc 0 "setup: the officer imports a survey"
    local entry
    entry=$(q "$db" "SELECT left(id::text, 8) FROM stpm.reserve_entries WHERE title LIKE '候选甲%'")
    run st "$OFFICER" 2020-11-02 reserve promote "$entry" --plan RGKJ
    expect_rc 0 "setup: the officer promotes a candidate"
    run st "$OFFICER" 2021-01-04 project create --plan NTKJ --org $ORG --title 高效电机控制系统研发 --leader 张三 --set amount_requested=50
    expect_rc 0 "setup: the officer creates a project"
    echo form >form.pdf
    echo commitment >commitment.pdf
    run st "$OFFICER" 2021-01-05 project advance 2021-NTKJ-0001 apply --attach application_form=form.pdf
    expect_rc 0 "setup: apply with a document"
    run st "$OFFICER" 2021-01-06 project advance 2021-NTKJ-0001 admit --attach integrity_commitment=commitment.pdf
    expect_rc 0 "setup: admit"
    run st "$ADMIN" 2021-01-07 org blacklist $ORG3 --reason 虚假申报 --from 2020-05-01 --until 2023-04-30
    expect_rc 0 "setup: the administrator blacklists an organisation"
    run st "$OFFICER" 2021-01-07 org conflict $ORG2 --officer $OFFICER --reason 亲属任职
    expect_rc 0 "setup: a conflict of interest is declared"
    run st "$ADMIN" 2021-01-07 calendar set 2021-02-20 --workday --note 调休
    expect_rc 0 "setup: the administrator sets a calendar day"
    run st "$ADMIN" 2021-01-07 report target set --year 2021 --metric funding --value 3000
    expect_rc 0 "setup: the administrator sets a target"
    rm -f key.pem key.pem.pub cp.json # populate runs once per database; a key is never overwritten
    run st "$ADMIN" 2021-01-07 audit checkpoint --key key.pem --out cp.json --generate-key
    expect_rc 0 "setup: the administrator signs a checkpoint"
    # No command records a mid-term check's outcome directly: the cluster owner (a
    # superuser, outside the four groups) writes one so that the table has a row.
    q "$db" "INSERT INTO stpm.checks (project_id, scheduled_on, done_on, outcome, notes)
             SELECT id, '2021-01-08', '2021-01-08', 'fail', '资金未到位' FROM stpm.projects WHERE code = '2021-NTKJ-0001'" >/dev/null
}

# Every table of the schema, from the catalog.
tables_of() {
    q "$1" "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = 'stpm' AND c.relkind IN ('r', 'p') ORDER BY 1"
}
# digests DB: one line per table, NAME COUNT MD5 of its rows (as the cluster owner).
digests() {
    psql "$1" -qAtX -F ' ' -v ON_ERROR_STOP=1 <<'SQL'
SELECT format('SELECT %L, count(*), md5(coalesce(string_agg(t::text, %L ORDER BY t::text), %L)) FROM stpm.%I t',
              c.relname, '|', '', c.relname)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'stpm' AND c.relkind IN ('r', 'p') ORDER BY c.relname
\gexec
SQL
}
# attack_script DB: for each table, INSERT DEFAULT VALUES, INSERT a copy of an existing row,
# UPDATE its first updatable column to itself, DELETE, TRUNCATE; each followed by a line
# "RESULT table op SQLSTATE" (psql's SQLSTATE: 00000 when the statement went through).
# The first updatable column skips generated and GENERATED ALWAYS identity columns: on
# those PostgreSQL refuses the UPDATE before looking at privileges (SQLSTATE 428C9).
attack_script() {
    q "$1" "
    WITH t AS (
        SELECT c.oid, c.relname,
               (SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum) FROM pg_attribute a
                 WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                   AND a.attgenerated = '' AND a.attidentity <> 'a') AS cols,
               (SELECT quote_ident(a.attname) FROM pg_attribute a
                 WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                   AND a.attgenerated = '' AND a.attidentity <> 'a' ORDER BY a.attnum LIMIT 1) AS col1
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'stpm' AND c.relkind IN ('r', 'p'))
    SELECT format(E'INSERT INTO stpm.%1\$I DEFAULT VALUES;\n\\\\echo RESULT %1\$s insert :SQLSTATE\n'
                  'INSERT INTO stpm.%1\$I (%2\$s) SELECT %2\$s FROM stpm.%1\$I LIMIT 1;\n\\\\echo RESULT %1\$s insert_copy :SQLSTATE\n'
                  'UPDATE stpm.%1\$I SET %3\$s = %3\$s;\n\\\\echo RESULT %1\$s update :SQLSTATE\n'
                  'DELETE FROM stpm.%1\$I;\n\\\\echo RESULT %1\$s delete :SQLSTATE\n'
                  'TRUNCATE stpm.%1\$I;\n\\\\echo RESULT %1\$s truncate :SQLSTATE',
                  relname, cols, col1)
    FROM t ORDER BY relname"
}

########################################################################################
# Part 1: the table-driven sweep, on its own database.
DB=$(fresh_db door)
populate "$DB"
run "$STPM" --db "$DB user=$ADMIN" user add $ADMIN2 --role admin
expect_rc 0 "stpm user add ... --role admin still works for an administrator (not a superuser)"
run "$STPM" --db "$DB user=$OFFICER" user add door_nobody --role admin
expect_rc 7 "an officer may not add users (exit 7)"

TABLES=$(tables_of "$DB")
ntables=$(wc -w <<<"$TABLES")
for t in projects events documents checks conflicts blacklist reserve_entries orgs plans workflows; do
    case " $(tr '\n' ' ' <<<"$TABLES") " in
    *" $t "*) pass "the catalog lists stpm.$t" ;;
    *) fail "the catalog lists stpm.$t" "tables: $TABLES" ;;
    esac
done
if [ "$ntables" -ge 20 ]; then pass "the catalog lists $ntables tables of schema stpm"; else fail "at least 20 tables in schema stpm" "got $ntables: $TABLES"; fi
empty=$(digests "$DB" | awk '$2 == 0 {print $1}' | tr '\n' ' ')
echo "# tables left empty by the setup (only INSERT DEFAULT VALUES is tried on them): ${empty:-none}"

SCRIPT=$(attack_script "$DB")
for role in $OFFICER $EXPERT $ADMIN $AUDITOR $ADMIN2; do
    # The harness: the role connects and reads every table.
    run psql "$DB user=$role" -qAtX -v ON_ERROR_STOP=1 -c "SELECT session_user, count(*) FROM stpm.projects"
    if [ "$RC" -eq 0 ] && [ "${OUT%%|*}" = "$role" ]; then pass "$role connects with psql as itself"; else fail "$role connects with psql as itself" "rc=$RC" "$OUT" "$ERR"; fi
    unreadable=
    for t in $TABLES; do
        psql "$DB user=$role" -qAtX -v ON_ERROR_STOP=1 -c "SELECT count(*) FROM stpm.$t" >/dev/null 2>&1 || unreadable="$unreadable $t"
    done
    is "${unreadable# }" "" "$role reads every table (grants for reading are kept)"

    before=$(digests "$DB")
    results=$(printf '%s\n' "$SCRIPT" | psql "$DB user=$role" -qAtX -v VERBOSITY=verbose -f - 2>"$TMP/sweep.err" | grep '^RESULT ')
    nres=$(wc -l <<<"$results")
    is "$nres" "$((ntables * 5))" "$role: five write attempts on each of the $ntables tables were made"
    for t in $TABLES; do
        got=$(awk -v t="$t" '$2 == t {print $3 "=" $4}' <<<"$results" | tr '\n' ' ')
        bad=$(awk -v t="$t" '$2 == t && $4 != "42501" {print $3 "=" $4}' <<<"$results" | tr '\n' ' ')
        if [ -n "$got" ] && [ -z "$bad" ]; then
            pass "$role may not write stpm.$t: INSERT, UPDATE, DELETE, TRUNCATE are permission denied"
        else
            fail "$role may not write stpm.$t: INSERT, UPDATE, DELETE, TRUNCATE are permission denied" \
                "SQLSTATE not 42501 (00000 = the statement went through): ${bad:-no result}"
        fi
    done
    after=$(digests "$DB")
    changed=$(diff <(echo "$before") <(echo "$after") | awk '/^>/ {print $2}' | tr '\n' ' ')
    is "$changed" "" "$role: every table is unchanged (row count and content) after the attempts"
done

# Roles and functions, from the catalog.
is "$(q "$DB" "SELECT rolcanlogin FROM pg_roles WHERE rolname = 'stpm_owner'")" "f" \
    "the owner role stpm_owner exists and may not log in"
is "$(q "$DB" "SELECT string_agg(rolname, ' ' ORDER BY rolname) FROM pg_roles r
               WHERE rolcanlogin AND NOT rolsuper AND EXISTS (SELECT 1 FROM pg_roles o WHERE o.rolname = 'stpm_owner')
                 AND pg_has_role(r.oid, 'stpm_owner', 'MEMBER')")" "" \
    "no login role (but a superuser) is a member of stpm_owner"
for role in $OFFICER $ADMIN; do
    psql_as "$DB" $role "SET ROLE stpm_owner"
    if [ "$RC" -ne 0 ]; then pass "$role cannot SET ROLE stpm_owner"; else fail "$role cannot SET ROLE stpm_owner" "it could"; fi
done
is "$(q "$DB" "SELECT string_agg(c.relname || ' (' || r.rolname || ')', ' ' ORDER BY c.relname)
               FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_roles r ON r.oid = c.relowner
               WHERE n.nspname = 'stpm' AND c.relkind IN ('r', 'p')
                 AND (r.rolcanlogin OR pg_has_role(r.oid, 'stpm_admin', 'MEMBER') OR pg_has_role(r.oid, 'stpm_officer', 'MEMBER')
                      OR pg_has_role(r.oid, 'stpm_expert', 'MEMBER') OR pg_has_role(r.oid, 'stpm_auditor', 'MEMBER'))")" "" \
    "every table of stpm is owned by a non-login role outside the four groups (a table's owner bypasses grants)"

nfun=$(q "$DB" "SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'stpm'")
if [ "$nfun" -gt 0 ]; then pass "the catalog lists $nfun functions of schema stpm"; else fail "the catalog lists the functions of schema stpm" "none"; fi
is "$(q "$DB" "SELECT bool_and(p.prosecdef) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
               WHERE n.nspname = 'stpm' AND p.proname = 'project_advance'")" "t" \
    "stpm.project_advance exists and is SECURITY DEFINER (DOOR-PLAN's name of the function that takes a transition)"
FN="FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace JOIN pg_roles o ON o.oid = p.proowner
    WHERE n.nspname = 'stpm' AND p.prosecdef"
is "$(q "$DB" "SELECT string_agg(p.oid::regprocedure::text, ' ') $FN
               AND NOT EXISTS (SELECT 1 FROM unnest(p.proconfig) c WHERE c LIKE 'search\_path=%')")" "" \
    "every SECURITY DEFINER function of stpm pins its search_path (proconfig has search_path=...)"
is "$(q "$DB" "SELECT string_agg(p.oid::regprocedure::text || ' [' || c.c || ']', ' ')
               FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace, unnest(p.proconfig) c(c)
               WHERE n.nspname = 'stpm' AND p.prosecdef AND c.c LIKE 'search\_path=%'
                 AND (c.c NOT LIKE '%pg_temp' OR c.c NOT LIKE '%pg_catalog%')")" "" \
    "every pinned search_path names pg_catalog and ends with pg_temp (else pg_temp is searched first for tables)"
is "$(q "$DB" "SELECT string_agg(p.oid::regprocedure::text, ' ') $FN
               AND EXISTS (SELECT 1 FROM aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
                           WHERE a.grantee = 0 AND a.privilege_type = 'EXECUTE')")" "" \
    "no SECURITY DEFINER function of stpm can be executed by PUBLIC"
# stpm.user_add creates login roles: it must run as a role with CREATEROLE, which the
# non-login owner stpm_owner is not given; it stays owned by the role that migrated and
# checks that its caller is an administrator (migrations/003_roles.sql).
is "$(q "$DB" "SELECT string_agg(p.oid::regprocedure::text || ' owned by ' || o.rolname, ' ') $FN
               AND o.rolcanlogin AND p.proname <> 'user_add'")" "" \
    "no SECURITY DEFINER function is owned by a login role, except stpm.user_add"
is "$(q "$DB" "SELECT string_agg(p.oid::regprocedure::text || ' owned by ' || o.rolname, ' ')
               FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
               JOIN pg_roles o ON o.oid = p.proowner
               WHERE n.nspname = 'stpm' AND o.rolname <> 'stpm_owner'
                 AND p.proname NOT IN ('user_add', 'door_close')")" "" \
    "every function and aggregate of stpm (but user_add and door_close) belongs to stpm_owner"
is "$(q "$DB" "SELECT string_agg(p.oid::regprocedure::text || ': ' || a.a, ' ')
               FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace, unnest(p.proargnames) a(a)
               WHERE n.nspname = 'stpm' AND p.prosecdef AND a.a ~* '(^|_)(actor|by)$|^p_(user|who)$'" 2>&1)" "" \
    "no SECURITY DEFINER function takes the actor as a parameter (no argument named actor or *_by)"
is "$(q "$DB" "SELECT string_agg(p.oid::regprocedure::text, ' ')
               FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
               WHERE n.nspname = 'stpm' AND p.prosecdef AND has_function_privilege('$AUDITOR', p.oid, 'EXECUTE')
                 AND p.proname ~ '(advance|create|attach|add|update|declare|withdraw|promote|import|record|set|load|lift)'")" "" \
    "the auditor may execute no SECURITY DEFINER function that writes"
drop_db "$DB"

########################################################################################
# Part 2: the walk-arounds of the issue, each refused, the row unchanged, audit verify 0.
DB=$(fresh_db door)
populate "$DB"
P=2021-NTKJ-0001
verify_ok() { # NAME
    run "$STPM" --db "$DB user=$AUDITOR" audit verify
    expect_rc 0 "$1: audit verify still exits 0 afterwards"
}
# walk NAME ROLE ROWQUERY SQL: SQL as ROLE is refused; ROWQUERY's result is unchanged.
walk() {
    local name=$1 role=$2 rowq=$3 sql=$4 b a
    b=$(q "$DB" "$rowq")
    psql_as "$DB" "$role" "$sql"
    refused "$role: $name is refused"
    a=$(q "$DB" "$rowq")
    is "$a" "$b" "$role: $name: the row is unchanged"
    verify_ok "$role: $name"
}
PRJ="SELECT p::text FROM stpm.projects p WHERE code = '$P'"
i=0
# The client refuses a document over 32 MiB; so does the server, to a caller going around it.
docs_before=$(q "$DB" "SELECT count(*) FROM stpm.documents")
psql_as "$DB" "$OFFICER" "SELECT stpm.document_attach('$P', 'application_form', 'big.bin',
    decode(repeat('00', 32 * 1024 * 1024 + 1), 'hex'))"
if [ "$RC" -ne 0 ] && [[ "$ERR" == *23514* ]] &&
    [ "$(q "$DB" "SELECT count(*) FROM stpm.documents")" = "$docs_before" ]; then
    pass "$OFFICER: a document over 32 MiB through stpm.document_attach is refused, nothing stored"
else
    fail "$OFFICER: a document over 32 MiB through stpm.document_attach is refused, nothing stored" "rc $RC" "$ERR"
fi
for role in $OFFICER $EXPERT; do
    i=$((i + 1)) # each role tries other values: the first one's success cannot hide the second's
    v() { sed -n "${i}p" <<<"$1"; }
    walk "UPDATE stpm.projects SET state" $role "$PRJ" \
        "UPDATE stpm.projects SET state = '$(v $'accepted\nterminated')' WHERE code = '$P'"
    walk "UPDATE stpm.projects SET due_date" $role "$PRJ" "UPDATE stpm.projects SET due_date = '203$i-01-01' WHERE code = '$P'"
    walk "UPDATE stpm.projects SET closed_date" $role "$PRJ" "UPDATE stpm.projects SET closed_date = '2021-01-0$i' WHERE code = '$P'"
    walk "UPDATE stpm.projects SET workflow_id (another pinned version)" $role "$PRJ" \
        "UPDATE stpm.projects SET workflow_id = (SELECT id FROM stpm.workflows WHERE name = '$(v $'county_rugao\nmunicipal_nantong')') WHERE code = '$P'"
    walk "INSERT a forged accept event" $role "SELECT count(*) || ' ' || max(seq) FROM stpm.events" \
        "INSERT INTO stpm.events (chain, seq, project_id, kind, transition, from_state, to_state, prev_hash, hash)
         SELECT 'project:' || id, 99, id, 'transition', 'accept', 'accepting', 'accepted', repeat('0', 64), repeat('0', 64)
         FROM stpm.projects WHERE code = '$P'"
    walk "DELETE a conflict-of-interest declaration" $role "SELECT count(*) FROM stpm.conflicts" \
        "DELETE FROM stpm.conflicts"
    walk "UPDATE a blacklisted organisation's USCC (orgs)" $role "SELECT string_agg(uscc, ' ' ORDER BY uscc) FROM stpm.orgs" \
        "UPDATE stpm.orgs SET uscc = '$(v $'91320682251976788G\n91320682550879996M')' WHERE uscc IN ('$ORG3', '91320682251976788G')"
    walk "UPDATE the USCC of a blacklist entry" $role "SELECT string_agg(b::text, ' ') FROM stpm.blacklist b" \
        "UPDATE stpm.blacklist SET uscc = '$(v $'91320682251976788G\n91320682550879996M')'"
    walk "lift a blacklist entry by hand" $role "SELECT string_agg(b::text, ' ') FROM stpm.blacklist b" \
        "UPDATE stpm.blacklist SET lifted_at = now(), lifted_by = 'nobody$i'"
    walk "replace a document's content" $role "SELECT string_agg(sha256 || md5(content), ' ' ORDER BY sha256) FROM stpm.documents" \
        "UPDATE stpm.documents SET content = 'forged$i'::bytea, sha256 = encode(sha256('forged$i'::bytea), 'hex'), attached_by = 'nobody'"
    walk "edit a reserve entry" $role "SELECT string_agg(r::text, ' ' ORDER BY id) FROM stpm.reserve_entries r" \
        "UPDATE stpm.reserve_entries SET requested_funding = $i, maturity = $((10 - i)), project_id = NULL"
    walk "edit a check's outcome" $role "SELECT string_agg(c::text, ' ') FROM stpm.checks c" \
        "UPDATE stpm.checks SET outcome = '$(v $'pass\nrectify')', recorded_by = 'nobody'"
done
drop_db "$DB"

########################################################################################
# Part 3: the actor. An officer advances a project through the CLI; the event's actor and
# every *_by column written are the officer's login role, whatever the client claims.
DB=$(fresh_db door)
populate "$DB"
echo report >report.pdf
export PGAPPNAME=$ADMIN
run env PGOPTIONS="-c role=stpm_officer -c application_name=$ADMIN" "$STPM" --db "$DB user=$OFFICER application_name=$ADMIN" \
    --today 2021-01-11 project advance 2021-NTKJ-0001 publicize --set amount_approved=40
expect_rc 0 "an officer publicizes through the CLI with PGAPPNAME, application_name and SET ROLE stpm_officer"
unset PGAPPNAME
run env PGOPTIONS="-c role=stpm_officer" "$STPM" --db "$DB user=$OFFICER application_name=$ADMIN" \
    --today 2021-01-11 project attach 2021-NTKJ-0001 application_form report.pdf
expect_rc 0 "the officer attaches a document with application_name and SET ROLE stpm_officer"
ev=$(q "$DB" "SELECT string_agg(DISTINCT actor, ' ') FROM stpm.events e JOIN stpm.projects p ON p.id = e.project_id
              WHERE p.code = '2021-NTKJ-0001' AND e.on_date >= '2021-01-11'")
is "$ev" "$OFFICER" "the events' actor is the officer's session_user, not the application name nor the SET ROLE"
is "$(q "$DB" "SELECT string_agg(DISTINCT attached_by, ' ') FROM stpm.documents")" "$OFFICER" \
    "every document's attached_by is the officer who attached it"
# Every *_by column of every table (from the catalog) holds only real login roles that
# wrote here: the cluster owner (the setup's superuser rows), the officer, the admin.
owner=$(q "$DB" "SELECT session_user")
byvals=$(psql "$DB" -qAtX <<'SQL' | sort -u | tr '\n' ' '
SELECT format('SELECT DISTINCT %I::text FROM stpm.%I WHERE %I IS NOT NULL', a.attname, c.relname, a.attname)
FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'stpm' AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
  AND (a.attname LIKE '%\_by' OR a.attname = 'actor')
\gexec
SQL
)
bad=
for v in $byvals; do
    case "$v" in "$OFFICER" | "$ADMIN" | "$owner") ;; *) bad="$bad $v" ;; esac
done
is "${bad# }" "" "every *_by column and actor holds a login role that wrote (got: $byvals)"
# A function that writes is called from psql with the same tricks: the actor stays.
psql_as "$DB" "$OFFICER" "SET application_name = '$ADMIN'; SET ROLE stpm_officer; SELECT session_user, current_user"
is "$OUT" "$OFFICER|stpm_officer" "the officer's session can SET ROLE to its group (the test's premise)"
drop_db "$DB"

done_testing

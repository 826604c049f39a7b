# TAP helpers for the end-to-end tests: source this file, call `ok`/`is`/`run`, end with `done_testing`.
# $STPM is the binary under test; $STPM_TEST_DB the throwaway cluster (may be unset).
set -u
# English messages whatever the caller's locale; a test that wants Chinese asks for it (zh_env)
export LC_ALL=C.UTF-8
unset LANGUAGE
_n=0
_failed=0
TMP=$(mktemp -d "${TMPDIR:-/tmp}/stpm-cli.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

pass() { _n=$((_n + 1)); echo "ok $_n - $1"; }
# fail NAME [DIAGNOSTIC...]: every line of every diagnostic is printed as a TAP comment
# ('# ' in front), also the later lines of a multi-line one (stdout, stderr), so that a
# failing test never breaks the TAP stream.
fail() {
    _n=$((_n + 1))
    _failed=$((_failed + 1))
    echo "not ok $_n - ${1//$'\n'/ }"
    shift
    local l
    for l in "$@"; do
        printf '%s\n' "$l" | sed 's/^/# /'
    done
}
skip() { _n=$((_n + 1)); echo "ok $_n - $1 # SKIP $2"; }

# run CMD...: runs it, keeping stdout in $OUT, stderr in $ERR and the status in $RC.
run() {
    set +e
    "$@" >"$TMP/out" 2>"$TMP/err"
    RC=$?
    set -e
    OUT=$(cat "$TMP/out")
    ERR=$(cat "$TMP/err")
}

# keep_going: the script goes on after a failing command (each failure is a TAP line):
# errexit off, and run() keeps it off.
keep_going() {
    run() {
        "$@" >"$TMP/out" 2>"$TMP/err"
        RC=$?
        OUT=$(cat "$TMP/out")
        ERR=$(cat "$TMP/err")
    }
    set +e
}

# need_source: $SRC is the source tree with the shipped workflows, else the script fails
# saying so.
need_source() {
    SRC=${STPM_SOURCE_ROOT:-}
    if [ -z "$SRC" ] || [ ! -f "$SRC/workflows/municipal_nantong.yaml" ]; then
        fail "STPM_SOURCE_ROOT names the source tree with the shipped workflows" "STPM_SOURCE_ROOT='$SRC'"
        done_testing
        exit 1
    fi
}

# expect_rc N NAME: the last run exited with N.
expect_rc() {
    if [ "$RC" -eq "$1" ]; then pass "$2"; else fail "$2" "expected exit $1, got $RC" "stdout: $OUT" "stderr: $ERR"; fi
}

# contains HAYSTACK NEEDLE NAME
contains() {
    case "$1" in
    *"$2"*) pass "$3" ;;
    *) fail "$3" "expected to find: $2" "in: $1" ;;
    esac
}

# is GOT WANT NAME
is() {
    if [ "$1" = "$2" ]; then pass "$3"; else fail "$3" "got:  $1" "want: $2"; fi
}

# fresh_db TAG: create an empty database in the throwaway cluster; prints its conninfo.
fresh_db() {
    local name="t_$1_$$_${RANDOM}"
    psql "$STPM_TEST_DB" -qAtX -v ON_ERROR_STOP=1 -c "CREATE DATABASE $name" >/dev/null
    echo "$STPM_TEST_DB dbname=$name"
}

drop_db() {
    local name="${1##*dbname=}"
    psql "$STPM_TEST_DB" -qAtX -c "DROP DATABASE IF EXISTS $name WITH (FORCE)" >/dev/null 2>&1 || true
}

# need_groups: the cluster-wide group roles stpm_admin, _officer, _expert and _auditor
# exist before a test's databases are migrated (the suite's scripts run side by side, and
# two migrations creating the same role at once would race).
need_groups() {
    psql "$STPM_TEST_DB" -qAtX >/dev/null 2>&1 <<'SQL' || true
DO $$ DECLARE r text; BEGIN
  FOREACH r IN ARRAY ARRAY['stpm_admin','stpm_officer','stpm_expert','stpm_auditor'] LOOP
    BEGIN EXECUTE format('CREATE ROLE %I NOLOGIN', r); EXCEPTION WHEN OTHERS THEN NULL; END;
  END LOOP;
END $$;
SQL
}

# need_logins ROLE[:GROUP] ...: the group roles (need_groups), then each login ROLE, made a
# member of stpm_GROUP when GROUP is given (admin, officer, expert, auditor). Roles are
# cluster-wide and the scripts run side by side: an existing role or grant is no error.
need_logins() {
    need_groups
    local a sql=""
    for a in "$@"; do
        sql+="BEGIN CREATE ROLE ${a%%:*} LOGIN; EXCEPTION WHEN OTHERS THEN NULL; END; "
        if [ "$a" != "${a#*:}" ]; then
            sql+="BEGIN GRANT stpm_${a#*:} TO ${a%%:*}; EXCEPTION WHEN OTHERS THEN NULL; END; "
        fi
    done
    psql "$STPM_TEST_DB" -qAtX >/dev/null 2>&1 <<SQL || true
DO \$\$ BEGIN $sql END \$\$;
SQL
}

need_db() {
    if [ -z "${STPM_TEST_DB:-}" ]; then
        echo "1..0 # SKIP no test cluster (run the suite through tests/run)"
        exit 0
    fi
}

done_testing() {
    echo "1..$_n"
    [ "$_failed" -eq 0 ]
}

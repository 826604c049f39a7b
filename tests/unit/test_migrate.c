/* Database tests of the connection and the migration runner (core/store): resolution
 * order, migrations applied once, edited and unknown migrations refused, concurrent
 * migration, the messages of a lost, refused or forbidden connection. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "stpm/db.h"
#include "stpm/migrate.h"
#include "store/db_internal.h"
#include "store/digest.h"
#include "store/migrate_internal.h"
#include "testdb.h"
#include "util/embedded.h"

#define FILE_OF(n, t)                                                                              \
    {                                                                                              \
        n, t, sizeof(t) - 1, NULL                                                                  \
    }

static const stpm_embedded_file set_a[] = {
    FILE_OF("001_t.sql", "CREATE TABLE t_applied (n int);\nINSERT INTO t_applied VALUES (1);\n"),
    FILE_OF("002_t.sql", "INSERT INTO t_applied VALUES (2);\n"),
};

/* The same set with 001 edited after it was applied. */
static const stpm_embedded_file set_edited[] = {
    FILE_OF("001_t.sql", "CREATE TABLE t_applied (n bigint);\nINSERT INTO t_applied VALUES (1);\n"),
    FILE_OF("002_t.sql", "INSERT INTO t_applied VALUES (2);\n"),
};

static const stpm_embedded_file set_slow[] = {
    FILE_OF("001_s.sql", "CREATE TABLE t_runs (name text);\n"
                         "INSERT INTO t_runs VALUES ('001'); SELECT pg_sleep(0.2);\n"),
    FILE_OF("002_s.sql", "INSERT INTO t_runs VALUES ('002'); SELECT pg_sleep(0.1);\n"),
    FILE_OF("003_s.sql", "INSERT INTO t_runs VALUES ('003');\n"),
};

static const stpm_embedded_file set_bad[] = {
    FILE_OF("001_bad.sql", "CREATE TABLE ok_one (n int);\n\nSELECT nosuchcolumn FROM ok_one;\n"),
};

/* Database tests are skipped outside tests/run. */
#define NEED_CLUSTER()                                                                             \
    do {                                                                                           \
        if (!testdb_cluster())                                                                     \
            skip();                                                                                \
    } while (0)

static stpm_db *open_or_fail(const char *ci, bool migrate)
{
    stpm_db_options o = STPM_DB_OPTIONS_INIT;
    o.conninfo = ci;
    o.no_migrate = !migrate;
    stpm_error err = STPM_ERROR_INIT;
    stpm_db *db = NULL;
    int rc = stpm_db_open(&db, &o, &err);
    if (rc < 0)
        fail_msg("open: %s (%s)", err.message, err.detail ? err.detail : "");
    stpm_error_clear(&err);
    return db;
}

static long count(stpm_db *db, const char *sql)
{
    PGresult *r = PQexec(stpm_db_pg(db), sql);
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    long n = strtol(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return n;
}

static void resolution_order(void **state)
{
    (void)state;
    unsetenv("PGHOST");
    unsetenv("PGSERVICE");
    unsetenv("PGDATABASE");
    stpm_db_options o = STPM_DB_OPTIONS_INIT;
    assert_int_equal(stpm_db_resolve(&o), STPM_DB_SOURCE_EMBEDDED);
    assert_int_equal(stpm_db_resolve(NULL), STPM_DB_SOURCE_EMBEDDED);
    setenv("PGSERVICE", "nosuch", 1);
    assert_int_equal(stpm_db_resolve(&o), STPM_DB_SOURCE_ENV);
    o.conninfo = "host=/tmp dbname=x";
    assert_int_equal(stpm_db_resolve(&o), STPM_DB_SOURCE_CONNINFO);
    o.conninfo = "";
    assert_int_equal(stpm_db_resolve(&o), STPM_DB_SOURCE_ENV);
    unsetenv("PGSERVICE");
    setenv("PGHOST", "", 1); /* set but empty does not count */
    assert_int_equal(stpm_db_resolve(&o), STPM_DB_SOURCE_EMBEDDED);
    unsetenv("PGHOST");
    /* A conninfo or environment naming no server is the embedded database's. */
    const char *embedded[] = {"user=x", "dbname=stpm_demo user=x options='-c a=b'",
                              "postgresql:///stpm?user=x", NULL};
    for (int i = 0; embedded[i]; i++) {
        o.conninfo = embedded[i];
        assert_int_equal(stpm_db_resolve(&o), STPM_DB_SOURCE_EMBEDDED);
    }
    const char *server[] = {"user=x host=/tmp",
                            "port=5433",
                            "hostaddr=127.0.0.1",
                            "service=nosuch",
                            "postgresql://h/stpm",
                            "user='x",
                            NULL};
    for (int i = 0; server[i]; i++) {
        o.conninfo = server[i];
        assert_int_equal(stpm_db_resolve(&o), STPM_DB_SOURCE_CONNINFO);
    }
    o.conninfo = "user=x";
    setenv("PGPORT", "5433", 1); /* a server in the environment: libpq's way */
    assert_int_equal(stpm_db_resolve(&o), STPM_DB_SOURCE_CONNINFO);
    unsetenv("PGPORT");
    o.conninfo = NULL;
    setenv("PGUSER", "x", 1);
    setenv("PGDATABASE", "y", 1);
    assert_int_equal(stpm_db_resolve(&o), STPM_DB_SOURCE_EMBEDDED);
    unsetenv("PGUSER");
    unsetenv("PGDATABASE");
}

static void applied_once(void **state)
{
    (void)state;
    NEED_CLUSTER();
    char *ci = testdb_create("mig_once");
    assert_non_null(ci);
    stpm_db *db = open_or_fail(ci, false);
    stpm_error err = STPM_ERROR_INIT;
    size_t applied = 99, done = 0, pending = 99;
    assert_int_equal(stpm_migrate_files_status(db, set_a, 2, &done, &pending, &err), 0);
    assert_int_equal(done, 0);
    assert_int_equal(pending, 2);
    assert_int_equal(stpm_migrate_files(db, set_a, 2, &applied, &err), 0);
    assert_int_equal(applied, 2);
    assert_int_equal(stpm_migrate_files(db, set_a, 2, &applied, &err), 0);
    assert_int_equal(applied, 0);
    assert_int_equal(count(db, "SELECT count(*) FROM t_applied"), 2);
    assert_int_equal(count(db, "SELECT count(*) FROM stpm.schema_migrations "
                               "WHERE applied_by = current_user AND applied_at <= now()"),
                     2);
    char hex[STPM_SHA256_HEX_LEN];
    assert_true(stpm_sha256_hex(set_a[1].text, set_a[1].len, hex));
    PGresult *r = PQexec(stpm_db_pg(db),
                         "SELECT sha256 FROM stpm.schema_migrations WHERE name = '002_t.sql'");
    assert_int_equal(PQntuples(r), 1);
    assert_string_equal(PQgetvalue(r, 0, 0), hex);
    PQclear(r);
    assert_int_equal(stpm_migrate_files_status(db, set_a, 2, &done, &pending, &err), 0);
    assert_int_equal(done, 2);
    assert_int_equal(pending, 0);
    /* a later migration added to the set is applied alone */
    const stpm_embedded_file more[] = {set_a[0], set_a[1],
                                       FILE_OF("003_t.sql", "INSERT INTO t_applied VALUES (3);")};
    assert_int_equal(stpm_migrate_files(db, more, 3, &applied, &err), 0);
    assert_int_equal(applied, 1);
    assert_int_equal(count(db, "SELECT count(*) FROM t_applied"), 3);
    stpm_db_free(db);
    testdb_drop(ci);
}

static void builtin_on_open(void **state)
{
    (void)state;
    NEED_CLUSTER();
    char *ci = testdb_create("mig_builtin");
    assert_non_null(ci);
    stpm_db *db = open_or_fail(ci, true); /* stpm_db_open migrates */
    stpm_error err = STPM_ERROR_INIT;
    size_t done = 0, pending = 99, applied = 99;
    assert_int_equal(stpm_migrate_status(db, &done, &pending, &err), 0);
    assert_int_equal(done, stpm_migrate_known());
    assert_int_equal(pending, 0);
    assert_true(stpm_migrate_known() >= 1);
    assert_int_equal(stpm_migrate(db, &applied, &err), 0);
    assert_int_equal(applied, 0);
    assert_int_equal(count(db, "SELECT count(*) FROM pg_extension WHERE extname = 'pg_trgm'"), 1);
    stpm_db_free(db);
    testdb_drop(ci);
}

static void edited_refused(void **state)
{
    (void)state;
    NEED_CLUSTER();
    char *ci = testdb_create("mig_edited");
    assert_non_null(ci);
    stpm_db *db = open_or_fail(ci, false);
    stpm_error err = STPM_ERROR_INIT;
    size_t applied = 0;
    assert_int_equal(stpm_migrate_files(db, set_a, 1, &applied, &err), 0);
    assert_int_equal(applied, 1);
    char old_hex[STPM_SHA256_HEX_LEN], new_hex[STPM_SHA256_HEX_LEN];
    assert_true(stpm_sha256_hex(set_a[0].text, set_a[0].len, old_hex));
    assert_true(stpm_sha256_hex(set_edited[0].text, set_edited[0].len, new_hex));
    assert_int_equal(stpm_migrate_files(db, set_edited, 2, &applied, &err), STPM_EINPUT);
    assert_int_equal(stpm_error_exit_code(err.code), 5);
    assert_non_null(strstr(err.message, "001_t.sql"));
    assert_non_null(strstr(err.message, "edited"));
    assert_non_null(strstr(err.detail, old_hex));
    assert_non_null(strstr(err.detail, new_hex));
    stpm_error_clear(&err);
    /* nothing more was applied: 002 is still pending */
    assert_int_equal(count(db, "SELECT count(*) FROM stpm.schema_migrations"), 1);
    size_t done, pending;
    assert_int_equal(stpm_migrate_files_status(db, set_edited, 2, &done, &pending, &err),
                     STPM_EINPUT);
    stpm_error_clear(&err);
    /* a database migrated by a newer stpm: a migration this one does not know */
    const stpm_embedded_file none[] = {FILE_OF("000_other.sql", "SELECT 1;")};
    assert_int_equal(stpm_migrate_files(db, none, 1, &applied, &err), STPM_ERROR);
    assert_non_null(strstr(err.message, "001_t.sql"));
    stpm_error_clear(&err);
    stpm_db_free(db);
    testdb_drop(ci);
}

static void bad_sql_located(void **state)
{
    (void)state;
    NEED_CLUSTER();
    char *ci = testdb_create("mig_bad");
    assert_non_null(ci);
    stpm_db *db = open_or_fail(ci, false);
    stpm_error err = STPM_ERROR_INIT;
    size_t applied = 9;
    assert_true(stpm_migrate_files(db, set_bad, 1, &applied, &err) < 0);
    assert_int_equal(applied, 0);
    assert_non_null(strstr(err.message, "cannot apply migration 001_bad.sql"));
    assert_string_equal(err.sqlstate, "42703");
    assert_int_equal(err.n_diags, 1);
    assert_string_equal(err.diags[0].file, "001_bad.sql");
    assert_int_equal(err.diags[0].line, 3);
    assert_int_equal(err.diags[0].col, 8);
    stpm_error_clear(&err);
    /* all or nothing: the table of the failed migration was not created */
    assert_int_equal(count(db, "SELECT count(*) FROM pg_class WHERE relname = 'ok_one'"), 0);
    assert_int_equal(count(db, "SELECT count(*) FROM stpm.schema_migrations"), 0);
    stpm_db_free(db);
    testdb_drop(ci);
}

static void concurrent(void **state)
{
    (void)state;
    NEED_CLUSTER();
    char *ci = testdb_create("mig_conc");
    assert_non_null(ci);
    enum { N = 4 };
    pid_t kids[N];
    for (int i = 0; i < N; i++) {
        kids[i] = fork();
        assert_true(kids[i] >= 0);
        if (kids[i] == 0) {
            stpm_db_options o = STPM_DB_OPTIONS_INIT;
            o.conninfo = ci;
            o.no_migrate = true;
            stpm_error err = STPM_ERROR_INIT;
            stpm_db *db = NULL;
            size_t applied = 0;
            int rc = stpm_db_open(&db, &o, &err);
            if (rc == 0)
                rc = stpm_migrate_files(db, set_slow, 3, &applied, &err);
            if (rc < 0)
                fprintf(stderr, "# child: %s\n", err.message);
            stpm_db_free(db);
            _exit(rc < 0 ? 100 : (int)applied);
        }
    }
    int total = 0;
    for (int i = 0; i < N; i++) {
        int st = 0;
        assert_int_equal(waitpid(kids[i], &st, 0), kids[i]);
        assert_true(WIFEXITED(st));
        assert_true(WEXITSTATUS(st) <= 3);
        total += WEXITSTATUS(st);
    }
    assert_int_equal(total, 3); /* each migration applied by exactly one process */
    stpm_db *db = open_or_fail(ci, false);
    assert_int_equal(count(db, "SELECT count(*) FROM t_runs"), 3);
    assert_int_equal(count(db, "SELECT count(DISTINCT name) FROM t_runs"), 3);
    assert_int_equal(count(db, "SELECT count(*) FROM stpm.schema_migrations"), 3);
    stpm_db_free(db);
    testdb_drop(ci);
}

static void lost_connection(void **state)
{
    (void)state;
    NEED_CLUSTER();
    char *ci = testdb_create("lost");
    assert_non_null(ci);
    stpm_db *db = open_or_fail(ci, false);
    char sql[96];
    snprintf(sql, sizeof(sql), "SELECT pg_terminate_backend(%d)", PQbackendPID(stpm_db_pg(db)));
    assert_true(testdb_exec(testdb_cluster(), sql));
    stpm_error err = STPM_ERROR_INIT;
    size_t done, pending;
    int rc = stpm_migrate_status(db, &done, &pending, &err);
    assert_int_equal(rc, STPM_EUNAVAIL);
    assert_non_null(strstr(err.message, "lost the connection to the database"));
    stpm_error_clear(&err);
    stpm_db_free(db);
    testdb_drop(ci);
}

static void connection_messages(void **state)
{
    (void)state;
    NEED_CLUSTER();
    stpm_db_options o = STPM_DB_OPTIONS_INIT;
    stpm_error err = STPM_ERROR_INIT;
    stpm_db *db = NULL;

    o.conninfo = "host=127.0.0.1 port=1 dbname=x connect_timeout=5";
    assert_int_equal(stpm_db_open(&db, &o, &err), STPM_EUNAVAIL);
    assert_null(db);
    assert_string_equal(err.message, "the database server refused the connection");
    assert_non_null(strstr(err.detail, "127.0.0.1"));
    stpm_error_clear(&err);

    o.conninfo = "host=/nonexistent/stpm-sock dbname=x";
    assert_int_equal(stpm_db_open(&db, &o, &err), STPM_EUNAVAIL);
    assert_string_equal(err.message, "no database server is running at the socket");
    stpm_error_clear(&err);

    o.conninfo = "host=bogus.invalid dbname=x";
    assert_int_equal(stpm_db_open(&db, &o, &err), STPM_EUNAVAIL);
    assert_non_null(strstr(err.message, "unknown database host bogus.invalid"));
    stpm_error_clear(&err);

    o.conninfo = "hots=typo";
    assert_int_equal(stpm_db_open(&db, &o, &err), STPM_EUSAGE);
    stpm_error_clear(&err);

    char ci[512];
    snprintf(ci, sizeof(ci), "%s user=stpm_no_such_role", testdb_cluster());
    o.conninfo = ci;
    assert_int_equal(stpm_db_open(&db, &o, &err), STPM_EPERM);
    assert_non_null(strstr(err.message, "permission denied to connect"));
    assert_non_null(strstr(err.message, "stpm_no_such_role"));
    stpm_error_clear(&err);

    snprintf(ci, sizeof(ci), "%s dbname=stpm_no_such_db", testdb_cluster());
    assert_int_equal(stpm_db_open(&db, &o, &err), STPM_EUNAVAIL);
    assert_non_null(strstr(err.message, "database stpm_no_such_db does not exist"));
    stpm_error_clear(&err);
}

/* stpm's sessions run without JIT, and options the user gave are kept beside it. */
static void session_options(void **state)
{
    (void)state;
    NEED_CLUSTER();
    char *ci = testdb_create("mig_options");
    assert_non_null(ci);
    size_t n = strlen(ci) + 64;
    char *with = malloc(n);
    assert_non_null(with);
    snprintf(with, n, "%s options='-c statement_timeout=12345'", ci);
    stpm_db *db = open_or_fail(with, true);
    assert_int_equal(count(db, "SELECT (current_setting('jit') = 'off')::int"), 1);
    assert_int_equal(count(db, "SELECT (current_setting('statement_timeout')::interval = "
                               "'12345 ms'::interval)::int"),
                     1);
    stpm_db_free(db);
    free(with);
    testdb_drop(ci);
}

/* The digests the build wrote beside each built-in migration are the files' own. */
static void builtin_digests(void **state)
{
    (void)state;
    assert_true(stpm_migrations_count > 0);
    for (size_t i = 0; i < stpm_migrations_count; i++) {
        char hex[STPM_SHA256_HEX_LEN];
        assert_true(stpm_sha256_hex(stpm_migrations[i].text, stpm_migrations[i].len, hex));
        assert_non_null(stpm_migrations[i].sha256);
        assert_string_equal(stpm_migrations[i].sha256, hex);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(builtin_digests),  cmocka_unit_test(session_options),
        cmocka_unit_test(resolution_order), cmocka_unit_test(applied_once),
        cmocka_unit_test(builtin_on_open),  cmocka_unit_test(edited_refused),
        cmocka_unit_test(bad_sql_located),  cmocka_unit_test(concurrent),
        cmocka_unit_test(lost_connection),  cmocka_unit_test(connection_messages),
    };
    return cmocka_run_group_tests_name("migrate", tests, NULL, NULL);
}

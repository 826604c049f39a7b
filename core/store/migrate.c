/* The migration runner: see stpm/migrate.h and docs/database.md. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/db_internal.h"
#include "store/digest.h"
#include "store/migrate_internal.h"
#include "util/strutil.h"

#define STR2(x) #x
#define STR(x) STR2(x)
#define LOCK_SQL                                                                                   \
    "SELECT pg_advisory_xact_lock(" STR(STPM_MIGRATE_LOCK_K1) ", " STR(STPM_MIGRATE_LOCK_K2) ")"

static const char bootstrap_sql[] =
    "CREATE SCHEMA IF NOT EXISTS stpm;\n"
    "CREATE TABLE IF NOT EXISTS stpm.schema_migrations (\n"
    "    name text PRIMARY KEY,\n"
    "    sha256 text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),\n"
    "    applied_at timestamptz NOT NULL DEFAULT now(),\n"
    "    applied_by text NOT NULL DEFAULT current_user\n"
    ");\n"
    "COMMENT ON TABLE stpm.schema_migrations IS "
    "'the migrations applied to this database, with the SHA-256 of each file''s text';\n";

size_t stpm_migrate_known(void)
{
    return stpm_migrations_count;
}

/* Run sql without parameters; 0 when its status is the expected one. */
static int exec_simple(PGconn *c, const char *sql, ExecStatusType want, const char *what,
                       stpm_error *err)
{
    PGresult *r = PQexec(c, sql);
    int rc = 0;
    if (PQresultStatus(r) != want)
        rc = stpm_pg_error(err, c, r, what);
    PQclear(r);
    return rc;
}

static void rollback(PGconn *c)
{
    if (PQstatus(c) == CONNECTION_OK && PQtransactionStatus(c) != PQTRANS_IDLE)
        PQclear(PQexec(c, "ROLLBACK"));
}

/* Read (name, sha256) of what is applied. *out is NULL when the table does not exist yet. */
static int read_applied(PGconn *c, PGresult **out, stpm_error *err)
{
    *out = NULL;
    PGresult *r =
        PQexec(c, "SELECT name, sha256 FROM stpm.schema_migrations ORDER BY name COLLATE \"C\"");
    if (PQresultStatus(r) == PGRES_TUPLES_OK) {
        *out = r;
        return 0;
    }
    const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    int rc = 0;
    if (!state || (strcmp(state, "42P01") != 0 && strcmp(state, "3F000") != 0))
        rc = stpm_pg_error(err, c, r, "cannot read the applied migrations");
    PQclear(r);
    return rc;
}

static const stpm_embedded_file *find_file(const stpm_embedded_file *files, size_t n,
                                           const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(files[i].name, name) == 0)
            return &files[i];
    return NULL;
}

static int digest_of(const stpm_embedded_file *f, char hex[STPM_SHA256_HEX_LEN], stpm_error *err)
{
    /* Built-in migrations carry their digest from the build: no hashing on every open. */
    if (f->sha256 && strlen(f->sha256) == STPM_SHA256_HEX_LEN - 1) {
        memcpy(hex, f->sha256, STPM_SHA256_HEX_LEN);
        return 0;
    }
    if (!stpm_sha256_hex(f->text, f->len, hex))
        return stpm_error_set(err, STPM_ERROR, "cannot compute the SHA-256 of migration %s",
                              f->name);
    return 0;
}

static int refuse_edited(const char *name, const char *applied, const char *now, stpm_error *err)
{
    stpm_error_set(err, STPM_EINPUT, "migration %s was edited after it was applied", name);
    stpm_error_detail(err, "It was applied with SHA-256 %s; the file now has SHA-256 %s.", applied,
                      now);
    stpm_error_hint(err, "Never edit an applied migration: restore the file and put the change "
                         "in a new numbered migration.");
    return STPM_EINPUT;
}

/* Compare what is applied with the files; count applied and pending. */
static int compare(const PGresult *r, const stpm_embedded_file *files, size_t n, size_t *applied,
                   size_t *pending, stpm_error *err)
{
    size_t done = 0;
    int rows = r ? PQntuples(r) : 0;
    for (int i = 0; i < rows; i++) {
        const char *name = PQgetvalue(r, i, 0), *sha = PQgetvalue(r, i, 1);
        const stpm_embedded_file *f = find_file(files, n, name);
        if (!f) {
            stpm_error_set(err, STPM_ERROR,
                           "the database holds migration %s, which this stpm "
                           "does not know",
                           name);
            stpm_error_hint(err, "A newer stpm migrated this database; use that version.");
            return STPM_ERROR;
        }
        char hex[STPM_SHA256_HEX_LEN];
        int rc = digest_of(f, hex, err);
        if (rc < 0)
            return rc;
        if (strcmp(hex, sha) != 0)
            return refuse_edited(name, sha, hex, err);
        done++;
    }
    if (applied)
        *applied = done;
    if (pending)
        *pending = n - done;
    return 0;
}

int stpm_migrate_files_status(stpm_db *db, const stpm_embedded_file *files, size_t n,
                              size_t *applied, size_t *pending, stpm_error *err)
{
    PGresult *r = NULL;
    int rc = read_applied(stpm_db_pg(db), &r, err);
    if (rc == 0)
        rc = compare(r, files, n, applied, pending, err);
    PQclear(r);
    return rc;
}

int stpm_migrate_status(stpm_db *db, size_t *applied, size_t *pending, stpm_error *err)
{
    return stpm_migrate_files_status(db, stpm_migrations, stpm_migrations_count, applied, pending,
                                     err);
}

/* Point a located diagnostic at the statement position (1-based, in characters) the
 * server reported inside the migration's text. */
static void locate(stpm_error *err, const stpm_embedded_file *f, const PGresult *r)
{
    const char *pos = PQresultErrorField(r, PG_DIAG_STATEMENT_POSITION);
    const char *msg = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
    long chars = pos ? strtol(pos, NULL, 10) : 0;
    if (chars <= 0 || !msg)
        return;
    int line = 1, col = 1;
    for (size_t i = 0; i < f->len && chars > 1; i++) {
        unsigned char ch = (unsigned char)f->text[i];
        if ((ch & 0xC0) == 0x80)
            continue; /* a UTF-8 continuation byte is not a character */
        chars--;
        if (ch == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    stpm_error_add_diag(err, f->name, line, col, NULL, "%s", msg);
}

/* Whether a failed migration is worth one more try: another session (possibly in another
 * database of the same cluster, since roles are cluster-wide) did the same thing first. */
static bool retryable(const char *state)
{
    static const char *const states[] = {"40001", "40P01", "23505", "42710", "XX000", NULL};
    for (int i = 0; state && states[i]; i++)
        if (strcmp(state, states[i]) == 0)
            return true;
    return false;
}

enum { APPLIED, SKIPPED, RETRY };

/* One migration in one transaction under the lock. Returns APPLIED, SKIPPED, RETRY or a
 * negative code. */
static int apply_one(PGconn *c, const stpm_embedded_file *f, const char *hex, bool last_try,
                     stpm_error *err)
{
    PGresult *r = NULL;
    int rc = exec_simple(c, "BEGIN", PGRES_COMMAND_OK, "cannot begin a migration", err);
    if (rc == 0)
        rc = exec_simple(c, LOCK_SQL, PGRES_TUPLES_OK, "cannot take the migration lock", err);
    if (rc < 0)
        goto out;
    const char *params[] = {f->name, hex};
    r = PQexecParams(c, "SELECT sha256 FROM stpm.schema_migrations WHERE name = $1", 1, NULL,
                     params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        rc = stpm_pg_error(err, c, r, "cannot read the applied migrations");
        goto out;
    }
    if (PQntuples(r) > 0) {
        rc = strcmp(PQgetvalue(r, 0, 0), hex) == 0
                 ? SKIPPED
                 : refuse_edited(f->name, PQgetvalue(r, 0, 0), hex, err);
        goto out;
    }
    PQclear(r);
    r = PQexec(c, f->text);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        if (!last_try && PQstatus(c) == CONNECTION_OK && retryable(state)) {
            rc = RETRY;
            goto out;
        }
        char *what = stpm_asprintf(_("cannot apply migration %s"), f->name);
        rc = stpm_pg_error(err, c, r, what ? what : "cannot apply a migration");
        free(what);
        locate(err, f, r);
        goto out;
    }
    if (PQtransactionStatus(c) != PQTRANS_INTRANS) {
        rc = stpm_error_set(err, STPM_ERROR, "cannot apply migration %s", f->name);
        stpm_error_detail(err, "The file ended the transaction itself.");
        stpm_error_hint(err, "A migration must not hold BEGIN, COMMIT or ROLLBACK.");
        goto out;
    }
    PQclear(r);
    r = PQexecParams(c, "INSERT INTO stpm.schema_migrations (name, sha256) VALUES ($1, $2)", 2,
                     NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        rc = stpm_pg_error(err, c, r, "cannot record a migration");
        goto out;
    }
    PQclear(r);
    r = PQexec(c, "COMMIT");
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        if (!last_try && PQstatus(c) == CONNECTION_OK && retryable(state)) {
            rc = RETRY;
            goto out;
        }
        rc = stpm_pg_error(err, c, r, "cannot commit a migration");
        goto out;
    }
    rc = APPLIED;
out:
    PQclear(r);
    rollback(c);
    return rc;
}

int stpm_migrate_files(stpm_db *db, const stpm_embedded_file *files, size_t n, size_t *applied,
                       stpm_error *err)
{
    PGconn *c = stpm_db_pg(db);
    size_t count = 0, pending = 0;
    if (applied)
        *applied = 0;
    int rc = stpm_migrate_files_status(db, files, n, NULL, &pending, err);
    if (rc < 0 || pending == 0)
        return rc;
    if (db->standby)
        return stpm_pg_standby_error(err, "cannot apply the migrations");
    rc = exec_simple(c, "BEGIN", PGRES_COMMAND_OK, "cannot begin a migration", err);
    if (rc == 0)
        rc = exec_simple(c, LOCK_SQL, PGRES_TUPLES_OK, "cannot take the migration lock", err);
    if (rc == 0)
        rc = exec_simple(c, bootstrap_sql, PGRES_COMMAND_OK,
                         "cannot create the table of applied migrations", err);
    if (rc == 0)
        rc = exec_simple(c, "COMMIT", PGRES_COMMAND_OK,
                         "cannot create the table of applied migrations", err);
    rollback(c);
    for (size_t i = 0; i < n && rc >= 0; i++) {
        char hex[STPM_SHA256_HEX_LEN];
        if ((rc = digest_of(&files[i], hex, err)) < 0)
            break;
        for (int attempt = 0;; attempt++) {
            rc = apply_one(c, &files[i], hex, attempt >= 4, err);
            if (rc != RETRY)
                break;
            struct timespec ts = {0, (long)(50 + 100 * attempt) * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
        if (rc == APPLIED)
            count++;
    }
    if (applied)
        *applied = count;
    return rc < 0 ? rc : 0;
}

int stpm_migrate(stpm_db *db, size_t *applied, stpm_error *err)
{
    return stpm_migrate_files(db, stpm_migrations, stpm_migrations_count, applied, err);
}

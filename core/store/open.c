/* stpm_db_open: resolve the source, start the embedded cluster on demand, connect, check
 * the server answers, apply pending migrations. */
#include <locale.h>
#include <stdlib.h>
#include <string.h>

#include "stpm/embedded.h"
#include "stpm/migrate.h"
#include "store/db_internal.h"
#include "util/strutil.h"

/* The library never prints: the server's notices are dropped. */
static void quiet_notices(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

static bool has(const char *m, const char *needle)
{
    return strstr(m, needle) != NULL;
}

/* PQconnectdbParams with libpq's own messages in English whatever the locale (uselocale for
 * this thread only): the classification below reads them. */
static PGconn *connect_untranslated(const char *const *keys, const char *const *vals, int expand)
{
    locale_t c = newlocale(LC_MESSAGES_MASK, "C", (locale_t)0);
    locale_t was = c ? uselocale(c) : (locale_t)0;
    PGconn *conn = PQconnectdbParams(keys, vals, expand);
    if (c) {
        uselocale(was);
        freelocale(c);
    }
    return conn;
}

/* A failed connection attempt, classified: permission, refused, no server, unknown host,
 * missing database, anything else. libpq gives no SQLSTATE here, so its text is what we
 * have: connect_untranslated keeps it English under any locale. */
static int connect_failed(PGconn *conn, stpm_error *err)
{
    const char *m = PQerrorMessage(conn);
    const char *user = PQuser(conn) ? PQuser(conn) : "";
    int code = STPM_EUNAVAIL;
    if (has(m, "authentication failed") || has(m, "password") || has(m, "permission denied") ||
        has(m, "pg_hba.conf") || (has(m, "role \"") && has(m, "does not exist")) ||
        has(m, "not permitted to log in") || has(m, "CONNECT privilege")) {
        code = STPM_EPERM;
        stpm_error_set(err, code, "permission denied to connect to the database as role %s", user);
        stpm_error_hint(err, "Check the user name and password of the connection; an "
                             "administrator grants access with a login role.");
    } else if (has(m, "Connection refused")) {
        stpm_error_set(err, code, "the database server refused the connection");
        stpm_error_hint(err, "Check that the server is running and accepts connections at "
                             "this address.");
    } else if (has(m, "No such file or directory")) {
        stpm_error_set(err, code, "no database server is running at the socket");
        stpm_error_hint(err, "Check that the server is running; the socket directory is given "
                             "by host=.");
    } else if (has(m, "translate host name")) {
        stpm_error_set(err, code, "unknown database host %s", PQhost(conn) ? PQhost(conn) : "");
        stpm_error_hint(err, "Check the host name of the connection.");
    } else if (has(m, "database \"") && has(m, "does not exist")) {
        stpm_error_set(err, code, "database %s does not exist", PQdb(conn) ? PQdb(conn) : "");
        stpm_error_hint(err, "Check the dbname of the connection.");
    } else if (has(m, "timeout") || has(m, "timed out")) {
        stpm_error_set(err, code, "the connection to the database server timed out");
        stpm_error_hint(err, "Check the address and the network.");
    } else {
        stpm_error_set(err, code, "cannot connect to the database");
        stpm_error_hint(err, "Check that the server is running and accepts connections.");
    }
    /* The first line of libpq's message names the address it tried. */
    stpm_error_detail(err, "%.*s", (int)strcspn(m, "\n"), m);
    return code;
}

/* Whether the server is a hot standby: the server reports in_hot_standby at connection
 * (PostgreSQL 14 and later), else pg_is_in_recovery() says. */
static int detect_standby(stpm_db *db, stpm_error *err)
{
    const char *hs = PQparameterStatus(db->conn, "in_hot_standby");
    if (hs) {
        db->standby = strcmp(hs, "on") == 0;
        return 0;
    }
    PGresult *r = PQexec(db->conn, "SELECT pg_is_in_recovery()");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        int code = stpm_pg_error(err, db->conn, r, "cannot connect to the database");
        PQclear(r);
        return code;
    }
    db->standby = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    return 0;
}

/* Whether a failed attempt was answered by a running server that refused this role (so
 * starting the cluster would not help). A missing database is not such an answer: the
 * cluster's own one is made by stpm_embedded_ensure, maybe by a command running now. */
static bool answers(PGconn *conn)
{
    const char *m = PQerrorMessage(conn);
    return (has(m, "role \"") && has(m, "does not exist")) || has(m, "authentication failed") ||
           has(m, "permission denied") || has(m, "not permitted to log in");
}

static int finish_open(stpm_db *db, stpm_error *err)
{
    if (PQstatus(db->conn) != CONNECTION_OK)
        return connect_failed(db->conn, err);
    PQsetNoticeProcessor(db->conn, quiet_notices, NULL);
    int rc = detect_standby(db, err);
    if (rc < 0)
        return rc;
    /* The server reports the session user at connection: no round trip for it. */
    const char *who = PQparameterStatus(db->conn, "session_authorization");
    if (who && *who) {
        db->role = stpm_strdup(who);
        return db->role ? 0 : stpm_error_set(err, STPM_ERROR, "out of memory");
    }
    PGresult *r = PQexec(db->conn, "SELECT session_user");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        int code = stpm_pg_error(err, db->conn, r, "cannot connect to the database");
        PQclear(r);
        return code;
    }
    db->role = stpm_strdup(PQgetvalue(r, 0, 0));
    PQclear(r);
    return db->role ? 0 : stpm_error_set(err, STPM_ERROR, "out of memory");
}

/* Session settings stpm asks for at connection (no round trip): no JIT, since its
 * queries read a handful of rows through indexes or the pre-aggregated counts, where
 * compiling (100+ ms) costs more than it could save. */
#define STPM_SESSION_OPTIONS "-c jit=off"

/* The value of a parsed conninfo's keyword, else of the variable, else NULL. */
static const char *pick(const PQconninfoOption *parsed, const char *key, const char *var)
{
    for (const PQconninfoOption *o = parsed; o && o->keyword; o++)
        if (strcmp(o->keyword, key) == 0 && o->val && *o->val)
            return o->val;
    const char *v = var ? getenv(var) : NULL;
    return v && *v ? v : NULL;
}

/* The user's options (from the conninfo, else PGOPTIONS), then ours. */
static char *session_options(const PQconninfoOption *parsed)
{
    const char *theirs = pick(parsed, "options", "PGOPTIONS");
    return stpm_asprintf("%s%s%s", theirs ? theirs : "", theirs ? " " : "", STPM_SESSION_OPTIONS);
}

/* Connect to the embedded socket. `parsed` (may be NULL) is a conninfo that names no
 * server: its keywords apply (user, dbname, options, ...), as do PGUSER and PGDATABASE;
 * `user`, when set, overrides them. NULL when out of memory. */
static PGconn *connect_embedded_socket(const stpm_embedded *e, const PQconninfoOption *parsed,
                                       const char *user)
{
    static const char *const ours[] = {"host",    "hostaddr",         "port",
                                       "service", "dbname",           "user",
                                       "options", "application_name", NULL};
    size_t n = 0;
    for (const PQconninfoOption *o = parsed; o && o->keyword; o++)
        n++;
    const char **keys = calloc(n + 8, sizeof(*keys));
    const char **vals = calloc(n + 8, sizeof(*vals));
    char *options = session_options(parsed);
    PGconn *conn = NULL;
    if (!keys || !vals || !options)
        goto cleanup;
    char port[16];
    snprintf(port, sizeof(port), "%d", STPM_EMBEDDED_PORT);
    const char *app = pick(parsed, "application_name", NULL);
    const char *dbname = pick(parsed, "dbname", "PGDATABASE");
    if (!user)
        user = pick(parsed, "user", "PGUSER");
    size_t k = 0;
    keys[k] = "host", vals[k++] = stpm_embedded_socket_dir(e);
    keys[k] = "port", vals[k++] = port;
    keys[k] = "dbname", vals[k++] = dbname ? dbname : STPM_EMBEDDED_DBNAME;
    keys[k] = "user", vals[k++] = user ? user : stpm_embedded_user(e);
    keys[k] = "application_name", vals[k++] = app ? app : "stpm";
    keys[k] = "options", vals[k++] = options;
    for (const PQconninfoOption *o = parsed; o && o->keyword; o++) {
        bool taken = false;
        for (int i = 0; ours[i]; i++)
            taken = taken || strcmp(o->keyword, ours[i]) == 0;
        if (!taken && o->val && *o->val)
            keys[k] = o->keyword, vals[k++] = o->val;
    }
    conn = connect_untranslated(keys, vals, 0);
cleanup:
    free(keys);
    free(vals);
    free(options);
    return conn;
}

/* The embedded cluster: try its socket first (the common case costs one connection
 * attempt); when nothing answers, create and start it, then connect again. `ci` (may be
 * NULL) is a conninfo that names no server. */
static int open_embedded(stpm_db *db, const stpm_db_options *opts, const char *ci, const char *user,
                         stpm_error *err)
{
    stpm_embedded *e = NULL;
    PQconninfoOption *parsed = NULL;
    int rc = 0;
    if (ci && !(parsed = PQconninfoParse(ci, NULL))) {
        rc = stpm_error_set(err, STPM_ERROR, "out of memory");
        goto cleanup;
    }
    if ((rc = stpm_embedded_new(&e, opts ? opts->home : NULL, err)) < 0)
        goto cleanup;
    db->conn = connect_embedded_socket(e, parsed, user);
    bool start = db->conn && PQstatus(db->conn) != CONNECTION_OK && !answers(db->conn);
    if (start && opts && opts->no_start) {
        /* a server that says the database is missing runs: finish_open names the database */
        if (!has(PQerrorMessage(db->conn), "does not exist")) {
            rc = stpm_error_set(err, STPM_EUNAVAIL, "the embedded database is not running");
            stpm_error_detail(err, "Nothing answers on %s.", stpm_embedded_socket_dir(e));
            stpm_error_hint(err, "Run \"stpm db start\".");
            goto cleanup;
        }
    } else if (start) {
        PQfinish(db->conn);
        db->conn = NULL;
        if ((rc = stpm_embedded_ensure(e, err)) < 0)
            goto cleanup;
        db->conn = connect_embedded_socket(e, parsed, user);
    }
    if (!db->conn) {
        rc = stpm_error_set(err, STPM_ERROR, "out of memory");
        goto cleanup;
    }
    if ((rc = finish_open(db, err)) < 0)
        goto cleanup;
    db->describe = stpm_asprintf("embedded database in %s (socket %s) as %s", stpm_embedded_home(e),
                                 stpm_embedded_socket_dir(e), db->role);
cleanup:
    PQconninfoFree(parsed);
    stpm_embedded_free(e);
    return rc;
}

static int open_conninfo(stpm_db *db, const char *ci, const char *user, stpm_error *err)
{
    char *errmsg = NULL;
    PQconninfoOption *parsed = PQconninfoParse(ci, &errmsg);
    if (!parsed) {
        int rc = stpm_error_set(err, STPM_EUSAGE, "invalid connection string");
        if (errmsg)
            stpm_error_detail(err, "%.*s", (int)strcspn(errmsg, "\n"), errmsg);
        PQfreemem(errmsg);
        return rc;
    }
    /* Our session options go after the user's own (from the string, else PGOPTIONS). */
    char *options = session_options(parsed);
    const char *keys[] = {"dbname", "options", user ? "user" : NULL, NULL};
    const char *vals[] = {ci, options, user, NULL};
    db->conn = options ? connect_untranslated(keys, vals, 1) : NULL;
    free(options);
    PQconninfoFree(parsed);
    if (!db->conn)
        return stpm_error_set(err, STPM_ERROR, "out of memory");
    int rc = finish_open(db, err);
    if (rc == 0)
        db->describe =
            stpm_asprintf("database %s on %s as %s", PQdb(db->conn),
                          PQhost(db->conn) ? PQhost(db->conn) : "local socket", db->role);
    return rc;
}

/* Apply pending migrations (on a standby: only check that none is pending). A role that may not
 * even read the table of applied migrations (an auditor's, say) cannot migrate either: it is left
 * to the owner. */
static int auto_migrate(stpm_db *db, stpm_error *err)
{
    size_t pending = 0;
    stpm_error probe = STPM_ERROR_INIT;
    int rc = stpm_migrate_status(db, NULL, &pending, &probe);
    if (rc == STPM_EPERM) {
        stpm_error_clear(&probe);
        return 0;
    }
    if (rc < 0) {
        stpm_error_move(err, &probe);
        return rc;
    }
    if (pending == 0)
        return 0;
    if (db->standby) { /* it replays the primary's schema; it cannot apply one itself */
        stpm_error_set(err, STPM_EUNAVAIL,
                       "the schema of the standby is not current: %zu migration%s pending", pending,
                       pending == 1 ? " is" : "s are");
        stpm_error_detail(err, "A read-only standby cannot apply migrations; it gets the "
                               "primary's schema by replaying it.");
        stpm_error_hint(err, "Run \"stpm db migrate\" on the primary (target_session_attrs="
                             "read-write), then wait for the standby to replay it.");
        return STPM_EUNAVAIL;
    }
    return stpm_migrate(db, NULL, err);
}

int stpm_db_open(stpm_db **out, const stpm_db_options *opts, stpm_error *err)
{
    *out = NULL;
    stpm_db *db = calloc(1, sizeof(*db));
    if (!db)
        return stpm_error_set(err, STPM_ERROR, "out of memory");
    db->source = stpm_db_resolve(opts);
    int rc = 0;
    const char *ci = opts && opts->conninfo && *opts->conninfo ? opts->conninfo : NULL;
    const char *user = opts && opts->version >= 2 && opts->user && *opts->user ? opts->user : NULL;
    if (db->source == STPM_DB_SOURCE_EMBEDDED)
        rc = open_embedded(db, opts, ci, user, err);
    else
        rc = open_conninfo(db, db->source == STPM_DB_SOURCE_CONNINFO ? ci : "", user, err);
    if (rc == 0 && !(opts && opts->no_migrate))
        rc = auto_migrate(db, err);
    if (rc == 0 && !db->describe)
        rc = stpm_error_set(err, STPM_ERROR, "out of memory");
    if (rc < 0)
        stpm_db_free(db);
    else
        *out = db;
    return rc;
}

int stpm_db_twin(stpm_db *db, stpm_db **out, stpm_error *err)
{
    PQconninfoOption *info = PQconninfo(db->conn);
    const char **keys = NULL, **vals = NULL;
    stpm_db *twin = calloc(1, sizeof(*twin));
    int rc = 0;
    *out = NULL;
    size_t n = 0;
    for (const PQconninfoOption *o = info; o && o->keyword; o++)
        n++;
    keys = calloc(n + 1, sizeof(*keys));
    vals = calloc(n + 1, sizeof(*vals));
    if (!info || !keys || !vals || !twin) {
        rc = stpm_error_set(err, STPM_ERROR, "out of memory");
        goto cleanup;
    }
    /* The options the first connection was made with, ours (jit=off) included. */
    size_t k = 0;
    for (const PQconninfoOption *o = info; o->keyword; o++)
        if (o->val && *o->val)
            keys[k] = o->keyword, vals[k++] = o->val;
    twin->source = db->source;
    twin->conn = connect_untranslated(keys, vals, 0);
    if (!twin->conn) {
        rc = stpm_error_set(err, STPM_ERROR, "out of memory");
        goto cleanup;
    }
    if ((rc = finish_open(twin, err)) < 0)
        goto cleanup;
    twin->describe = stpm_strdup(stpm_db_describe(db));
    if (!twin->describe) {
        rc = stpm_error_set(err, STPM_ERROR, "out of memory");
        goto cleanup;
    }
    *out = twin;
    twin = NULL;
cleanup:
    stpm_db_free(twin);
    PQconninfoFree(info);
    free(keys);
    free(vals);
    return rc;
}

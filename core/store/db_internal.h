/* Internal view of a connection: the libpq handle and helpers for store code. */
#ifndef STPM_STORE_DB_INTERNAL_H
#define STPM_STORE_DB_INTERNAL_H

#include <libpq-fe.h>

#include "stpm/db.h"

struct stpm_db {
    PGconn *conn;
    stpm_db_source source;
    char *describe;
    char *role;
    /* Parsed workflow versions by id, kept for the life of the connection (wf_store.c). */
    void *wf_cache;
    void (*wf_cache_free)(void *cache);
    /* Statements prepared on this connection: bits of STPM_STMT_* (store/query.h). */
    unsigned long prepared;
    /* The server was a hot standby (pg_is_in_recovery()) when the connection was made. */
    bool standby;
};

/* Whether a parsed conninfo names a server (host, hostaddr, port or service). */
bool stpm_conninfo_names_server(const PQconninfoOption *parsed);

/* A second connection to the same database as the same role, with the options db was
 * opened with (no migration: db's schema is current). Freed with stpm_db_free. For work
 * that runs beside db's own (a bulk's lanes, core/project/project_bulk.c). */
int stpm_db_twin(stpm_db *db, stpm_db **out, stpm_error *err);

/* The libpq connection of an open handle. */
PGconn *stpm_db_pg(stpm_db *db);

/*
 * Turn a failed libpq result (or a NULL one) into an stpm error: the server's primary
 * message, detail and hint, its SQLSTATE, and the code that SQLSTATE maps to
 * (42501 → EPERM, 40001/40P01/55P03 → ECONFLICT, 08* or a lost connection → EUNAVAIL,
 * 22* and 23* → EINPUT, P0001 → EREFUSED, else ERROR). `what` says what was being done,
 * e.g. "cannot load workflow"; it becomes the message's first words when given.
 * Returns the code.
 */
int stpm_pg_error(stpm_error *err, PGconn *conn, const PGresult *res, const char *what);

/* Like stpm_pg_error for the call of one of the schema's own functions (migrations/072):
 * an error the function raised itself (a RAISE in PL/pgSQL) is already a whole sentence
 * and keeps it without the `what` prefix; every other error is prefixed as usual. */
int stpm_pg_error_call(stpm_error *err, PGconn *conn, const PGresult *res, const char *what);

/* The error for a write refused because the server is a read-only standby (25006, or a
 * check before writing): "WHAT: the server is a read-only standby", with the hint to
 * connect to the primary. Returns STPM_EUNAVAIL. */
int stpm_pg_standby_error(stpm_error *err, const char *what);

/* The code an SQLSTATE maps to, as above (25006 read_only_sql_transaction → EUNAVAIL). */
int stpm_pg_sqlstate_code(const char *sqlstate);

#endif

/* Small helpers for store code: run a parameterised statement and check its status. */
#ifndef STPM_STORE_QUERY_H
#define STPM_STORE_QUERY_H

#include <libpq-fe.h>

#include "store/db_internal.h"

/*
 * Run sql with n text parameters (NULL entries are SQL nulls). On PGRES_COMMAND_OK or
 * PGRES_TUPLES_OK stores the result in *out (when out is not NULL, else clears it) and
 * returns 0; otherwise fills err via stpm_pg_error (prefixed with `what`) and returns
 * the negative code. *out is NULL on failure.
 */
int stpm_query(stpm_db *db, const char *sql, int n, const char *const *params, PGresult **out,
               const char *what, stpm_error *err);

/* Like stpm_query for a statement that calls one of the schema's write functions
 * (migrations/072): the sentences those functions raise are kept as they are, without the
 * `what` prefix (see stpm_pg_error_call). */
int stpm_query_call(stpm_db *db, const char *sql, int n, const char *const *params, PGresult **out,
                    const char *what, stpm_error *err);

/* The same for a fixed statement without parameters (BEGIN, COMMIT ...). */
int stpm_query_simple(stpm_db *db, const char *sql, const char *what, stpm_error *err);

/* ROLLBACK, ignoring errors (used on failure paths; the connection may be gone). */
void stpm_query_rollback(stpm_db *db);

/* true when code is a conflict that a retry of the whole transaction may cure
 * (40001 serialization failure, 40P01 deadlock). */
bool stpm_query_retryable(const stpm_error *err);

/* STPM_EPERM (message "WHAT: permission denied", the detail given, a hint to connect as
 * an administrator) unless the connected role is a member of stpm_admin (superusers are);
 * 0 when it is. Called before anything is written. */
int stpm_query_require_admin(stpm_db *db, const char *what, const char *detail, stpm_error *err);

/* Statements that hot paths prepare once per connection. */
enum { STPM_STMT_PROJECT_LOAD = 0, STPM_STMT_PROJECT_WRITE = 1 }; /* WRITE: stpm.project_advance */

/* Like stpm_query, for the statement `id` with text sql: prepared (as "stpm_stmt_ID") on
 * first use on this connection, then executed by name. */
int stpm_query_prepared(stpm_db *db, int id, const char *sql, int n, const char *const *params,
                        PGresult **out, const char *what, stpm_error *err);

#endif

/* Internal helpers of the project modules (orgs, plans, users, integrity checks): one
 * parameterised statement with its expected status, and transactions that nest into the
 * caller's. */
#ifndef STPM_PROJECT_PX_H
#define STPM_PROJECT_PX_H

#include <libpq-fe.h>

#include "store/db_internal.h"
#include "util/strutil.h"

/* Run sql with n text parameters (NULL = SQL null). Returns the result when its status is
 * `expect`; else fills err through stpm_pg_error (prefixed by `what`), clears the result
 * and returns NULL with *rc set to the negative code. */
PGresult *stpm_px_exec(stpm_db *db, const char *sql, int n, const char *const *params,
                       ExecStatusType expect, const char *what, int *rc, stpm_error *err);

/* Begin a transaction unless the connection is already in one; *own tells whether this
 * call began it (and so must end it with stpm_px_end). */
int stpm_px_begin(stpm_db *db, bool *own, stpm_error *err);

/* End a transaction begun with stpm_px_begin: when own, COMMIT if rc == 0 (a failing
 * COMMIT sets err and returns its code) else ROLLBACK. Returns rc otherwise. */
int stpm_px_end(stpm_db *db, bool own, int rc, stpm_error *err);

/* Append s as a JSON string literal (quoted, escaped) to sb. NULL appends null. */
void stpm_px_json_string(stpm_strbuf *sb, const char *s);

/* A copy of a result cell, or NULL when it is SQL null (or memory ran out). */
char *stpm_px_value(const PGresult *res, int row, int col);

/* Normalise a USCC typed by someone for a look-up: the normalised code when it has 18
 * characters, else a copy of s as given (it will then not be found). */
void stpm_px_uscc_key(const char *s, char out[static 64]);

#endif

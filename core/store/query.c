/* Store helpers: see store/query.h. */
#include <stdio.h>
#include <string.h>

#include "store/query.h"

static int run(stpm_db *db, const char *sql, int n, const char *const *params, PGresult **out,
               const char *what, bool call, stpm_error *err)
{
    if (out)
        *out = NULL;
    PGresult *r = PQexecParams(db->conn, sql, n, NULL, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(r);
    if (r && (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)) {
        if (out)
            *out = r;
        else
            PQclear(r);
        return 0;
    }
    int code =
        call ? stpm_pg_error_call(err, db->conn, r, what) : stpm_pg_error(err, db->conn, r, what);
    PQclear(r);
    return code;
}

int stpm_query(stpm_db *db, const char *sql, int n, const char *const *params, PGresult **out,
               const char *what, stpm_error *err)
{
    return run(db, sql, n, params, out, what, false, err);
}

int stpm_query_call(stpm_db *db, const char *sql, int n, const char *const *params, PGresult **out,
                    const char *what, stpm_error *err)
{
    return run(db, sql, n, params, out, what, true, err);
}

int stpm_query_simple(stpm_db *db, const char *sql, const char *what, stpm_error *err)
{
    return stpm_query(db, sql, 0, NULL, NULL, what, err);
}

void stpm_query_rollback(stpm_db *db)
{
    if (PQtransactionStatus(db->conn) == PQTRANS_IDLE)
        return;
    PGresult *r = PQexec(db->conn, "ROLLBACK");
    PQclear(r);
}

bool stpm_query_retryable(const stpm_error *err)
{
    return err && (strcmp(err->sqlstate, "40001") == 0 || strcmp(err->sqlstate, "40P01") == 0);
}

int stpm_query_prepared(stpm_db *db, int id, const char *sql, int n, const char *const *params,
                        PGresult **out, const char *what, stpm_error *err)
{
    char name[32];
    snprintf(name, sizeof(name), "stpm_stmt_%d", id);
    if (out)
        *out = NULL;
    if (!(db->prepared & (1ul << id))) {
        PGresult *p = PQprepare(db->conn, name, sql, n, NULL);
        if (PQresultStatus(p) != PGRES_COMMAND_OK) {
            int code = stpm_pg_error(err, db->conn, p, what);
            PQclear(p);
            return code;
        }
        PQclear(p);
        db->prepared |= 1ul << id;
    }
    PGresult *r = PQexecPrepared(db->conn, name, n, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(r);
    if (r && (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)) {
        if (out)
            *out = r;
        else
            PQclear(r);
        return 0;
    }
    int code = stpm_pg_error(err, db->conn, r, what);
    PQclear(r);
    return code;
}

int stpm_query_require_admin(stpm_db *db, const char *what, const char *detail, stpm_error *err)
{
    PGresult *r = NULL;
    int rc = stpm_query(db, "SELECT pg_has_role(session_user, 'stpm_admin', 'MEMBER')", 0, NULL, &r,
                        what, err);
    if (rc < 0)
        return rc;
    bool admin = PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    if (admin)
        return 0;
    stpm_error_set(err, STPM_EPERM, "%s: permission denied", _(what));
    stpm_error_detail(err, "%s", _(detail));
    stpm_error_hint(err, "Connect as a member of stpm_admin.");
    return STPM_EPERM;
}

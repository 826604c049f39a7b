/* Internal helpers: see px.h. */
#include "project/px.h"

#include <stdio.h>

#include "store/query.h"
#include "stpm/uscc.h"
#include "util/strutil.h"

PGresult *stpm_px_exec(stpm_db *db, const char *sql, int n, const char *const *params,
                       ExecStatusType expect, const char *what, int *rc, stpm_error *err)
{
    PGresult *res = NULL;
    if ((*rc = stpm_query(db, sql, n, params, &res, what, err)) < 0)
        return NULL;
    if (PQresultStatus(res) != expect) {
        /* a statement that returns rows where none were expected, or the reverse: ours */
        *rc = stpm_error_set(err, STPM_ERROR, "%s: unexpected result %s", what,
                             PQresStatus(PQresultStatus(res)));
        PQclear(res);
        return NULL;
    }
    return res;
}

int stpm_px_begin(stpm_db *db, bool *own, stpm_error *err)
{
    PGconn *conn = stpm_db_pg(db);
    *own = false;
    PGTransactionStatusType ts = PQtransactionStatus(conn);
    if (ts == PQTRANS_INTRANS)
        return 0;
    if (ts == PQTRANS_INERROR)
        return stpm_error_set(err, STPM_ERROR,
                              "the current transaction is aborted; roll it back first");
    int rc = 0;
    PGresult *res = stpm_px_exec(db, "BEGIN", 0, NULL, PGRES_COMMAND_OK,
                                 "cannot begin a transaction", &rc, err);
    PQclear(res);
    if (rc == 0)
        *own = true;
    return rc;
}

int stpm_px_end(stpm_db *db, bool own, int rc, stpm_error *err)
{
    if (!own)
        return rc;
    PGconn *conn = stpm_db_pg(db);
    if (rc == 0) {
        int crc = 0;
        PGresult *res =
            stpm_px_exec(db, "COMMIT", 0, NULL, PGRES_COMMAND_OK, "cannot commit", &crc, err);
        PQclear(res);
        return crc;
    }
    PGresult *res = PQexec(conn, "ROLLBACK");
    PQclear(res);
    return rc;
}

void stpm_px_json_string(stpm_strbuf *sb, const char *s)
{
    if (!s) {
        stpm_strbuf_puts(sb, "null");
        return;
    }
    stpm_strbuf_putc(sb, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"':
            stpm_strbuf_puts(sb, "\\\"");
            break;
        case '\\':
            stpm_strbuf_puts(sb, "\\\\");
            break;
        case '\n':
            stpm_strbuf_puts(sb, "\\n");
            break;
        case '\r':
            stpm_strbuf_puts(sb, "\\r");
            break;
        case '\t':
            stpm_strbuf_puts(sb, "\\t");
            break;
        default:
            if (*p < 0x20)
                stpm_strbuf_printf(sb, "\\u%04x", *p);
            else
                stpm_strbuf_putc(sb, (char)*p);
        }
    }
    stpm_strbuf_putc(sb, '"');
}

char *stpm_px_value(const PGresult *res, int row, int col)
{
    if (PQgetisnull(res, row, col))
        return NULL;
    return stpm_strdup(PQgetvalue(res, row, col));
}

void stpm_px_uscc_key(const char *s, char out[static 64])
{
    char norm[STPM_USCC_LEN + 1];
    if (s && stpm_uscc_normalize(s, norm) == 0)
        snprintf(out, 64, "%s", norm);
    else
        snprintf(out, 64, "%s", s ? s : "");
}

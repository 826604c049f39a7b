/* From libpq's errors to stpm's error object. */
#include <stdlib.h>
#include <string.h>

#include "store/db_internal.h"
#include "util/server_text.h"
#include "util/strutil.h"

int stpm_pg_sqlstate_code(const char *s)
{
    if (!s || strlen(s) != 5)
        return STPM_ERROR;
    if (strcmp(s, "42501") == 0 || strncmp(s, "28", 2) == 0)
        return STPM_EPERM;
    if (strcmp(s, "40001") == 0 || strcmp(s, "40P01") == 0 || strcmp(s, "55P03") == 0)
        return STPM_ECONFLICT;
    if (strcmp(s, "25006") == 0) /* read_only_sql_transaction: a hot standby */
        return STPM_EUNAVAIL;
    if (strncmp(s, "08", 2) == 0 || strcmp(s, "57P01") == 0 || strcmp(s, "57P02") == 0 ||
        strcmp(s, "57P03") == 0)
        return STPM_EUNAVAIL;
    if (strncmp(s, "22", 2) == 0 || strncmp(s, "23", 2) == 0)
        return STPM_EINPUT;
    /* SR001: a rule of the workflow said no (raised by the server's own functions). */
    if (strcmp(s, "P0001") == 0 || strcmp(s, "SR001") == 0)
        return STPM_EREFUSED;
    if (strcmp(s, "P0002") == 0)
        return STPM_ENOTFOUND;
    return STPM_ERROR;
}

/* libpq messages end with a newline; people's messages do not. */
static char *trimmed(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' '))
        n--;
    return stpm_strndup(s, n);
}

/* "WHAT: message": the separator too is the language's (a full-width colon in Chinese). */
int stpm_pg_standby_error(stpm_error *err, const char *what)
{
    what = what ? _(what) : NULL; /* the callers' literals are extracted (po/xgettext-args) */
    stpm_error_set(err, STPM_EUNAVAIL, "%s%sthe server is a read-only standby", what ? what : "",
                   what ? _(": ") : "");
    stpm_error_detail(err, "A hot standby replays the primary's changes and accepts no writes.");
    stpm_error_hint(err, "Connect to the primary: give its address with --db, or add "
                         "target_session_attrs=read-write to a multi-host connection string.");
    return STPM_EUNAVAIL;
}

int stpm_pg_error_call(stpm_error *err, PGconn *conn, const PGresult *res, const char *what)
{
    const char *src = res ? PQresultErrorField(res, PG_DIAG_SOURCE_FUNCTION) : NULL;
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    /* P0001 is a bare RAISE without a code: not one of ours (DOOR-PLAN "Errors"). */
    bool own = src && strcmp(src, "exec_stmt_raise") == 0 && state && strcmp(state, "P0001") != 0;
    return stpm_pg_error(err, conn, res, own ? NULL : what);
}

int stpm_pg_error(stpm_error *err, PGconn *conn, const PGresult *res, const char *what)
{
    what = what ? _(what) : NULL; /* the callers' literals are extracted (po/xgettext-args) */
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    char *fallback = NULL;
    if (!primary)
        primary = fallback = trimmed(conn ? PQerrorMessage(conn) : _("no connection"));
    int code = stpm_pg_sqlstate_code(state);
    if (state && strcmp(state, "25006") == 0) {
        free(fallback);
        code = stpm_pg_standby_error(err, what);
        if (err)
            memcpy(err->sqlstate, state, 6);
        return code;
    }
    if (!state && conn && PQstatus(conn) == CONNECTION_BAD) {
        code = STPM_EUNAVAIL;
        stpm_error_set(err, code, "%s%slost the connection to the database", what ? what : "",
                       what ? _(": ") : "");
        stpm_error_detail(err, "%s", primary ? primary : "");
        stpm_error_hint(err, "Check that the server is running, then try again.");
    } else {
        /* the server's English in the user's language, where its template is known */
        char *p = res ? stpm_server_text(primary) : NULL;
        stpm_error_set(err, code, "%s%s%s", what ? what : "", what ? _(": ") : "",
                       p         ? p
                       : primary ? primary
                                 : _("unknown database error"));
        free(p);
        if (res) {
            char *d = stpm_server_text(PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL));
            char *h = stpm_server_text(PQresultErrorField(res, PG_DIAG_MESSAGE_HINT));
            if (d)
                stpm_error_detail(err, "%s", d);
            if (h)
                stpm_error_hint(err, "%s", h);
            free(d);
            free(h);
        }
        if (code == STPM_EPERM && !(err && err->hint))
            stpm_error_hint(err,
                            "The connected role %s lacks the privilege; an administrator "
                            "can grant a role with \"stpm user add\".",
                            conn ? PQuser(conn) : "");
    }
    if (err && state)
        memcpy(err->sqlstate, state, 6);
    free(fallback);
    return code;
}

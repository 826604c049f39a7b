/* stpm_db_open: connect to the resolved source and check the server answers. */
#include <stdlib.h>
#include <string.h>

#include "store/db_internal.h"
#include "util/strutil.h"

static int finish_open(stpm_db *db, stpm_error *err)
{
    if (PQstatus(db->conn) != CONNECTION_OK) {
        const char *m = PQerrorMessage(db->conn);
        int code =
            (strstr(m, "authentication") || strstr(m, "password") || strstr(m, "permission denied"))
                ? STPM_EPERM
                : STPM_EUNAVAIL;
        stpm_error_set(err, code, "cannot connect to the database");
        stpm_error_detail(err, "%.*s", (int)strcspn(m, "\n"), m);
        stpm_error_hint(err, code == STPM_EPERM
                                 ? "Check the user name and password of the connection."
                                 : "Check that the server is running and accepts connections.");
        return code;
    }
    PGresult *r = PQexec(db->conn, "SELECT current_user");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        int code = stpm_pg_error(err, db->conn, r, "cannot connect to the database");
        PQclear(r);
        return code;
    }
    db->role = stpm_strdup(PQgetvalue(r, 0, 0));
    PQclear(r);
    return 0;
}

int stpm_db_open(stpm_db **out, const stpm_db_options *opts, stpm_error *err)
{
    *out = NULL;
    stpm_db *db = calloc(1, sizeof(*db));
    if (!db)
        return stpm_error_set(err, STPM_ERROR, "out of memory");
    db->source = stpm_db_resolve(opts);
    int rc = 0;
    if (db->source == STPM_DB_SOURCE_EMBEDDED) {
        rc = stpm_error_set(err, STPM_EUNAVAIL, "no database given");
        stpm_error_hint(err, "Give --db CONNINFO or set STPM_DB.");
        goto out;
    }
    const char *ci = db->source == STPM_DB_SOURCE_CONNINFO ? opts->conninfo : "";
    char *errmsg = NULL;
    PQconninfoOption *parsed = PQconninfoParse(ci, &errmsg);
    if (!parsed) {
        rc = stpm_error_set(err, STPM_EUSAGE, "invalid connection string");
        if (errmsg)
            stpm_error_detail(err, "%.*s", (int)strcspn(errmsg, "\n"), errmsg);
        PQfreemem(errmsg);
        goto out;
    }
    PQconninfoFree(parsed);
    db->conn = PQconnectdb(ci);
    if (!db->conn) {
        rc = stpm_error_set(err, STPM_ERROR, "out of memory");
        goto out;
    }
    rc = finish_open(db, err);
    if (rc == 0)
        db->describe =
            stpm_asprintf("database %s on %s as %s", PQdb(db->conn),
                          PQhost(db->conn) ? PQhost(db->conn) : "local socket", db->role);
out:
    if (rc < 0)
        stpm_db_free(db);
    else
        *out = db;
    return rc;
}

/* Users (login roles in the four groups): see stpm/user.h. */
#include "stpm/user.h"

#include <stdlib.h>
#include <string.h>

#include "project/px.h"
#include "store/query.h"
#include "util/strutil.h"

bool stpm_user_role_valid(const char *role)
{
    static const char *const roles[] = {"admin", "officer", "expert", "auditor", NULL};
    for (int i = 0; role && roles[i]; i++)
        if (strcmp(role, roles[i]) == 0)
            return true;
    return false;
}

/* stpm.user_add with the business date (migrations/072): the role and its event. */
static const char sql_add[] = "SELECT stpm.user_add($1, $2, $3, $4::date)";

int stpm_user_add(stpm_db *db, const char *name, const char *role, const char *password,
                  stpm_date today, bool *created, stpm_error *err)
{
    int rc = 0;
    char day[11];
    if (created)
        *created = false;
    if (!stpm_user_role_valid(role)) {
        stpm_error_set(err, STPM_EINPUT, "unknown role \"%s\"", role ? role : "");
        stpm_error_add_diag(err, NULL, 0, 0, "role", "expected admin, officer, expert or auditor");
        return STPM_EINPUT;
    }
    stpm_date_format(today, day);
    const char *p[4] = {name ? name : "", role, password, day};
    PGresult *res = NULL;
    if ((rc = stpm_query(db, sql_add, 4, p, &res, "cannot add user", err)) < 0)
        return rc;
    if (created)
        *created = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    return 0;
}

int stpm_user_list(stpm_db *db, stpm_user **out, size_t *n, stpm_error *err)
{
    int rc = 0;
    *out = NULL;
    *n = 0;
    PGresult *res = stpm_px_exec(
        db,
        "SELECT r.rolname, string_agg(substr(g.rolname, 6), ', ' ORDER BY"
        "  array_position(ARRAY['stpm_admin', 'stpm_officer', 'stpm_expert', 'stpm_auditor'],"
        "  g.rolname::text)), r.rolcanlogin"
        " FROM pg_catalog.pg_roles r"
        " JOIN pg_catalog.pg_auth_members m ON m.member = r.oid"
        " JOIN pg_catalog.pg_roles g ON g.oid = m.roleid"
        " WHERE g.rolname IN ('stpm_admin', 'stpm_officer', 'stpm_expert', 'stpm_auditor')"
        " GROUP BY r.rolname, r.rolcanlogin ORDER BY r.rolname",
        0, NULL, PGRES_TUPLES_OK, "cannot list users", &rc, err);
    if (!res)
        return rc;
    size_t rows = (size_t)PQntuples(res);
    stpm_user *v = calloc(rows ? rows : 1, sizeof(*v));
    if (!v) {
        rc = stpm_error_set(err, STPM_ERROR, "out of memory");
    } else {
        for (size_t i = 0; i < rows; i++) {
            v[i].name = stpm_px_value(res, (int)i, 0);
            v[i].roles = stpm_px_value(res, (int)i, 1);
            v[i].can_login = strcmp(PQgetvalue(res, (int)i, 2), "t") == 0;
        }
        *out = v;
        *n = rows;
    }
    PQclear(res);
    return rc;
}

void stpm_user_list_free(stpm_user *users, size_t n)
{
    if (!users)
        return;
    for (size_t i = 0; i < n; i++) {
        free(users[i].name);
        free(users[i].roles);
    }
    free(users);
}

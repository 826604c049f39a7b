/* stpm audit checks: scheduled checks past due and not held, as of a date. Whether a check
 * is overdue is decided by stpm.project_checks (migrations/082_scheduled_checks.sql) alone;
 * only projects whose pinned version declares checks are asked. */
#include "project/px.h"
#include "store/rows_internal.h"
#include "stpm/audit.h"

static const char overdue_checks_sql[] =
    "SELECT p.code, p.title, o.name AS org_name, pl.code AS plan, c.name AS check, c.label,"
    " c.due::text AS due, ($1::date - c.due) AS days_late"
    " FROM stpm.projects p"
    " JOIN stpm.orgs o ON o.id = p.org_id JOIN stpm.plans pl ON pl.id = p.plan_id"
    " CROSS JOIN LATERAL stpm.project_checks(p.id, $1::date) c"
    " WHERE p.workflow_id IN (SELECT workflow_id FROM stpm.workflow_checks)"
    "   AND c.status = 'overdue'"
    " ORDER BY days_late DESC, p.code, c.ord";

int stpm_audit_checks(stpm_db *db, stpm_date as_of, stpm_rows **out, stpm_error *err)
{
    *out = NULL;
    char d[11];
    const char *p[] = {stpm_date_format(as_of, d)};
    int rc = 0;
    PGresult *r = stpm_px_exec(db, overdue_checks_sql, 1, p, PGRES_TUPLES_OK,
                               "cannot list overdue checks", &rc, err);
    if (!r)
        return rc;
    if (!(*out = stpm_rows_from_pg(r)))
        return stpm_error_set(err, STPM_ERROR, "out of memory");
    return 0;
}

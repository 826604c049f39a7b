/* audit unclosed (应结未结) and audit closed, answered from stpm.project_states (040). */
#include <stdlib.h>

#include "project/px.h"
#include "store/rows_internal.h"
#include "stpm/audit.h"

/* 应结未结 as of $1 is stpm.overdue_as_of (migration 081, the one definition: docs/audit.md),
 * through the partial index of the periods that ever were overdue. The planner cannot
 * estimate its predicate and expects far more rows than there are; the LATERAL ... LIMIT 1
 * makes it look each project up by its key instead of scanning them all. */
static const char unclosed_sql[] =
    "SELECT x.code, x.title, x.org, x.org_name, x.plan, x.level,"
    " s.state, s.due::text AS due, ($1::date - s.due) AS days_overdue"
    " FROM stpm.overdue_as_of($1::date) s"
    " CROSS JOIN LATERAL (SELECT p.code, p.title, o.uscc AS org, o.name AS org_name,"
    "   pl.code AS plan, pl.level FROM stpm.projects p"
    "   JOIN stpm.orgs o ON o.id = p.org_id"
    "   JOIN stpm.plans pl ON pl.id = p.plan_id"
    "   WHERE p.id = s.project_id LIMIT 1) x"
    " ORDER BY days_overdue DESC, x.code";

static const char closed_sql[] =
    "SELECT p.code, p.title, o.name AS org_name, pl.code AS plan, pl.level, s.state,"
    " s.from_date::text AS closed_on, prev.due::text AS due,"
    " (prev.due IS NULL OR s.from_date <= prev.due) AS on_time"
    " FROM stpm.project_states s"
    " JOIN stpm.projects p ON p.id = s.project_id"
    " JOIN stpm.orgs o ON o.id = p.org_id"
    " JOIN stpm.plans pl ON pl.id = p.plan_id"
    " LEFT JOIN LATERAL (SELECT x.due FROM stpm.project_states x"
    "   WHERE x.project_id = s.project_id AND x.seq < s.seq ORDER BY x.seq DESC LIMIT 1) prev"
    "   ON true"
    " WHERE s.closed AND s.from_date >= coalesce($1::date, '-infinity')"
    "   AND s.from_date <= coalesce($2::date, 'infinity') AND s.from_date <= $3::date"
    " ORDER BY s.from_date, p.code";

static int rows_out(PGresult *r, stpm_rows **out, stpm_error *err)
{
    if (!(*out = stpm_rows_from_pg(r)))
        return stpm_error_set(err, STPM_ERROR, "out of memory");
    return 0;
}

int stpm_audit_unclosed(stpm_db *db, stpm_date as_of, stpm_rows **out, stpm_error *err)
{
    *out = NULL;
    char d[11];
    const char *p[] = {stpm_date_format(as_of, d)};
    int rc = 0;
    PGresult *r = stpm_px_exec(db, unclosed_sql, 1, p, PGRES_TUPLES_OK,
                               "cannot list unclosed projects", &rc, err);
    if (!r)
        return rc;
    return rows_out(r, out, err);
}

int stpm_audit_closed(stpm_db *db, stpm_date from, stpm_date to, stpm_date as_of, stpm_rows **out,
                      stpm_error *err)
{
    *out = NULL;
    char f[11], t[11], a[11];
    const char *p[] = {from ? stpm_date_format(from, f) : NULL, to ? stpm_date_format(to, t) : NULL,
                       stpm_date_format(as_of, a)};
    int rc = 0;
    PGresult *r = stpm_px_exec(db, closed_sql, 3, p, PGRES_TUPLES_OK, "cannot list closed projects",
                               &rc, err);
    if (!r)
        return rc;
    return rows_out(r, out, err);
}

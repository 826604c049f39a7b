/* audit unclosed (应结未结) and audit closed, answered from stpm.project_states (040). */
#include <stdlib.h>

#include "project/px.h"
#include "store/rows_internal.h"
#include "stpm/audit.h"

/* The state at the end of as_of is the period with from_date <= as_of < to_date. The
 * first two conditions and NOT closed repeat the partial indexes' predicate, and the
 * coalesce is the key of 052's index, so that the planner uses it: it reads only the
 * periods still open after as_of (few when as_of is recent), from the index alone.
 * The planner cannot estimate that predicate (to_date > due compares two columns) and
 * expects tens of times more periods than there are, which would make it scan every
 * project to join them; the LATERAL ... LIMIT 1 makes it look each one up by its key. */
static const char unclosed_sql[] =
    "SELECT x.code, x.title, x.org, x.org_name, x.plan, x.level,"
    " s.state, s.due::text AS due, ($1::date - s.due) AS days_overdue"
    " FROM stpm.project_states s"
    " CROSS JOIN LATERAL (SELECT p.code, p.title, o.uscc AS org, o.name AS org_name,"
    "   pl.code AS plan, pl.level FROM stpm.projects p"
    "   JOIN stpm.orgs o ON o.id = p.org_id"
    "   JOIN stpm.plans pl ON pl.id = p.plan_id"
    "   WHERE p.id = s.project_id LIMIT 1) x"
    " WHERE s.due IS NOT NULL AND (s.to_date IS NULL OR s.to_date > s.due)"
    "   AND s.due < $1::date AND s.from_date <= $1::date"
    "   AND (s.to_date IS NULL OR s.to_date > $1::date) AND NOT s.closed"
    "   AND coalesce(s.to_date, 'infinity') > $1::date"
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
    "   AND s.from_date <= coalesce($2::date, 'infinity')"
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

int stpm_audit_closed(stpm_db *db, stpm_date from, stpm_date to, stpm_rows **out, stpm_error *err)
{
    *out = NULL;
    char f[11], t[11];
    const char *p[] = {from ? stpm_date_format(from, f) : NULL,
                       to ? stpm_date_format(to, t) : NULL};
    int rc = 0;
    PGresult *r = stpm_px_exec(db, closed_sql, 2, p, PGRES_TUPLES_OK, "cannot list closed projects",
                               &rc, err);
    if (!r)
        return rc;
    return rows_out(r, out, err);
}

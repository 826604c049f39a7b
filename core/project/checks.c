/* stpm project checks: a project's scheduled checks (中期检查) as of a date, answered by
 * stpm.project_checks (migrations/082_scheduled_checks.sql), where the rules live. */
#include <stdlib.h>

#include "project/px.h"
#include "store/rows_internal.h"
#include "stpm/project.h"

/* The report documents of an outcome: "KIND FILE" and their full digests, each joined
 * with "; " when the transition attached several. */
static const char checks_sql[] =
    "SELECT c.name AS check, c.label, c.due::text AS due, c.status, c.outcome,"
    " c.done_on::text AS date, c.done_by AS by,"
    " (SELECT string_agg((d ->> 'kind') || ' ' || (d ->> 'file_name'), '; ' ORDER BY o)"
    "   FROM jsonb_array_elements(c.documents) WITH ORDINALITY AS x(d, o)) AS report,"
    " (SELECT string_agg(d ->> 'sha256', '; ' ORDER BY o)"
    "   FROM jsonb_array_elements(c.documents) WITH ORDINALITY AS x(d, o)) AS report_sha256,"
    " c.seq, c.reason"
    " FROM stpm.project_checks($1::uuid, $2::date) c";

int stpm_project_checks(stpm_db *db, const char *code, stpm_date as_of, stpm_rows **out,
                        stpm_error *err)
{
    *out = NULL;
    char d[11], *id = NULL;
    int rc = 0;
    const char *p1[] = {code};
    PGresult *r = stpm_px_exec(db, "SELECT id FROM stpm.projects WHERE code = $1", 1, p1,
                               PGRES_TUPLES_OK, "cannot list checks", &rc, err);
    if (!r)
        goto cleanup;
    if (PQntuples(r) == 0) {
        rc = stpm_error_set(err, STPM_ENOTFOUND, "project %s does not exist", code);
        stpm_error_hint(err, "\"stpm project list\" shows the projects.");
        goto cleanup;
    }
    if (!(id = stpm_px_value(r, 0, 0))) {
        rc = stpm_error_set(err, STPM_ERROR, "out of memory");
        goto cleanup;
    }
    PQclear(r);
    const char *p2[] = {id, stpm_date_format(as_of, d)};
    r = stpm_px_exec(db, checks_sql, 2, p2, PGRES_TUPLES_OK, "cannot list checks", &rc, err);
    if (!r)
        goto cleanup;
    *out = stpm_rows_from_pg(r);
    r = NULL;
    if (!*out)
        rc = stpm_error_set(err, STPM_ERROR, "out of memory");
cleanup:
    PQclear(r);
    free(id);
    return rc;
}

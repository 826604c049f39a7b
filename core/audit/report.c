/* The bureau's reports, grouped in the server over stpm.project_facts (see stpm/report.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "project/px.h"
#include "store/query.h"
#include "store/rows_internal.h"
#include "stpm/decimal.h"
#include "stpm/report.h"

/* One way of grouping: the column's name, the SQL expression over f (project_facts) and
 * pl (plans), and its order. Chosen from this table, never from input. */
typedef struct group_key {
    const char *word;
    const char *expr;
    const char *order;
} group_key;

static const group_key keys[] = {
    [STPM_REPORT_BY_NONE] = {NULL, NULL, NULL},
    [STPM_REPORT_BY_LEVEL] = {"level", "f.level",
                              "array_position(ARRAY['national','provincial','municipal','county'],"
                              " f.level)"},
    [STPM_REPORT_BY_PLAN] = {"plan", "pl.code", "pl.code"},
    [STPM_REPORT_BY_YEAR] = {"year", "f.year", "f.year"},
    [STPM_REPORT_BY_TOWN] = {"town", "f.town", "f.town"},
    [STPM_REPORT_BY_FIELD] = {"field", "f.field", "f.field"},
    [STPM_REPORT_BY_STATE] = {"state", "f.state", "f.state"},
};

int stpm_report_by_parse(const char *s, stpm_report_by *out)
{
    for (size_t i = 1; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (s && strcmp(s, keys[i].word) == 0) {
            *out = (stpm_report_by)i;
            return 0;
        }
    return -1;
}

/* The figures come from stpm.report_counts (051): one row per combination of the grouping
 * columns and the milestones, with its number of projects and amounts, plus the deltas the
 * writers' triggers appended since they were last folded in (stpm.report_deltas). A group
 * whose deltas cancel out (every project left it) is not shown. Only overdue depends on the date:
 * the projects overdue as of $3 (through the partial index of 052, see audit.c) are looked up one
 * by one (LATERAL, as in audit.c: the planner overestimates them) in project_facts and added as
 * rows of their own. The grouping expressions below work on both kinds of rows (f) and the plans
 * (pl). */
#define OVERDUE_CTE                                                                                \
    "WITH o AS (SELECT DISTINCT s.project_id FROM stpm.project_states s"                           \
    "  WHERE s.due IS NOT NULL AND (s.to_date IS NULL OR s.to_date > s.due)"                       \
    "    AND s.due < $3::date AND s.from_date <= $3::date"                                         \
    "    AND (s.to_date IS NULL OR s.to_date > $3::date) AND NOT s.closed"                         \
    "    AND coalesce(s.to_date, 'infinity') > $3::date) "

#define YEARS " f.year >= coalesce($1::int, 0) AND f.year <= coalesce($2::int, 9999)"

#define MEASURES                                                                                   \
    " coalesce(sum(f.projects), 0)::bigint AS projects,"                                           \
    " coalesce(sum(f.projects) FILTER (WHERE f.applied), 0)::bigint AS applied,"                   \
    " coalesce(sum(f.projects) FILTER (WHERE f.admitted), 0)::bigint AS admitted,"                 \
    " coalesce(sum(f.projects) FILTER (WHERE f.approved), 0)::bigint AS approved,"                 \
    " coalesce(sum(f.projects) FILTER (WHERE f.funded), 0)::bigint AS funded,"                     \
    " coalesce(sum(f.projects) FILTER (WHERE f.closed_state = 'accepted'), 0)::bigint AS "         \
    "accepted,"                                                                                    \
    " coalesce(sum(f.projects) FILTER (WHERE f.closed_state <> 'accepted'), 0)::bigint"            \
    "   AS terminated,"                                                                            \
    " coalesce(sum(f.overdue), 0)::bigint AS overdue,"                                             \
    " round(coalesce(sum(f.requested) FILTER (WHERE f.applied), 0), 2) AS requested,"              \
    " round(coalesce(sum(f.approved_amount) FILTER (WHERE f.funded), 0), 2) AS approved_amount"

#define SOURCE                                                                                     \
    " FROM (SELECT f.year, f.plan_id, f.level, f.town, f.field, f.state, f.applied, f.admitted,"   \
    "   f.approved, f.funded, f.closed_state, f.projects, f.requested, f.approved_amount,"         \
    "   0 AS overdue FROM stpm.report_counts f WHERE f.projects <> 0 AND" YEARS                    \
    " UNION ALL SELECT f.*, 0 FROM stpm.report_deltas f WHERE" YEARS                               \
    " UNION ALL SELECT f.year, f.plan_id, f.level, f.town, f.field, f.state, false, false, false," \
    "   false, NULL, 0, 0, 0, 1 FROM o CROSS JOIN LATERAL (SELECT * FROM stpm.project_facts x"     \
    "   WHERE x.project_id = o.project_id LIMIT 1) f WHERE" YEARS                                  \
    ") f JOIN stpm.plans pl ON pl.id = f.plan_id"

int stpm_report_summary(stpm_db *db, int from_year, int to_year, stpm_report_by by, stpm_date today,
                        stpm_rows **out, stpm_error *err)
{
    *out = NULL;
    char fy[12], ty[12], td[11];
    snprintf(fy, sizeof(fy), "%d", from_year);
    snprintf(ty, sizeof(ty), "%d", to_year);
    const char *p[] = {from_year ? fy : NULL, to_year ? ty : NULL, stpm_date_format(today, td)};
    stpm_strbuf sql = STPM_STRBUF_INIT;
    int rc = 0;
    if ((size_t)by >= sizeof(keys) / sizeof(keys[0]))
        return stpm_error_set(err, STPM_EUSAGE, "unknown grouping");
    const group_key *k = &keys[by];
    stpm_strbuf_puts(&sql, OVERDUE_CTE "SELECT");
    if (k->word)
        stpm_strbuf_printf(&sql,
                           " CASE WHEN grouping(%s) = 1 THEN 'total' ELSE coalesce(%s::text, '-')"
                           " END AS %s,",
                           k->expr, k->expr, k->word);
    stpm_strbuf_puts(&sql, MEASURES SOURCE);
    if (k->word)
        stpm_strbuf_printf(&sql,
                           " GROUP BY GROUPING SETS ((%s, %s), ())"
                           " HAVING grouping(%s) = 1 OR sum(f.projects) <> 0"
                           " ORDER BY grouping(%s), %s",
                           k->expr, k->order, k->expr, k->expr, k->order);
    if (sql.oom) {
        stpm_strbuf_free(&sql);
        return stpm_error_set(err, STPM_ERROR, "out of memory");
    }
    PGresult *r =
        stpm_px_exec(db, sql.buf, 3, p, PGRES_TUPLES_OK, "cannot make the summary", &rc, err);
    stpm_strbuf_free(&sql);
    if (!r)
        return rc;
    if (!(*out = stpm_rows_from_pg(r)))
        return stpm_error_set(err, STPM_ERROR, "out of memory");
    return 0;
}

static const char targets_sql[] =
    "SELECT t.metric, t.level,"
    " CASE WHEN t.metric = 'funding' THEN round(t.value, 2) ELSE round(t.value, 0) END AS target,"
    " a.actual,"
    " CASE WHEN t.value > 0 THEN round(a.actual * 100 / t.value, 1)::text || '%' END AS completion"
    " FROM stpm.targets t"
    " CROSS JOIN LATERAL (SELECT CASE t.metric"
    "     WHEN 'applications' THEN coalesce(sum(f.projects) FILTER (WHERE f.applied), 0)"
    "     WHEN 'approvals' THEN coalesce(sum(f.projects) FILTER (WHERE f.approved), 0)"
    "     WHEN 'funded' THEN coalesce(sum(f.projects) FILTER (WHERE f.funded), 0)"
    "     ELSE round(coalesce(sum(f.approved_amount) FILTER (WHERE f.funded), 0), 2) END"
    "   AS actual"
    "   FROM (SELECT * FROM stpm.report_counts UNION ALL SELECT * FROM stpm.report_deltas) f"
    "   WHERE f.year = t.year"
    "   AND (t.level = 'all' OR f.level = t.level"
    "     OR (t.level = 'municipal_and_above' AND f.level IN ('national', 'provincial', "
    "'municipal'))"
    "     OR (t.level = 'provincial_and_above' AND f.level IN ('national', 'provincial')))) a"
    " WHERE t.year = $1"
    " ORDER BY array_position(ARRAY['applications','approvals','funded','funding'], t.metric),"
    " array_position(ARRAY['all','provincial_and_above','municipal_and_above','national',"
    "'provincial','municipal','county'], t.level)";

int stpm_report_targets(stpm_db *db, int year, stpm_rows **out, stpm_error *err)
{
    *out = NULL;
    char y[12];
    snprintf(y, sizeof(y), "%d", year);
    const char *p[] = {y};
    int rc = 0;
    PGresult *r = stpm_px_exec(db, targets_sql, 1, p, PGRES_TUPLES_OK, "cannot compare the targets",
                               &rc, err);
    if (!r)
        return rc;
    if (!(*out = stpm_rows_from_pg(r)))
        return stpm_error_set(err, STPM_ERROR, "out of memory");
    return 0;
}

/* stpm.target_set (migrations/072) writes the target and its event. */
static const char target_set_sql[] =
    "SELECT stpm.target_set($1::int, $2, $3, $4::numeric, $5::date)";

int stpm_report_target_set(stpm_db *db, int year, const char *metric, const char *level,
                           const char *value, stpm_date today, stpm_error *err)
{
    stpm_decimal v;
    if (!metric || !value)
        return stpm_error_set(err, STPM_EUSAGE, "a target needs a metric and a value");
    if (stpm_decimal_parse(value, &v) < 0 || v < 0) {
        stpm_error_set(err, STPM_EINPUT, "invalid target value \"%s\"", value);
        stpm_error_hint(err, "A count, or 万元 with at most four decimals, not negative.");
        return STPM_EINPUT;
    }
    char y[12], td[11];
    snprintf(y, sizeof(y), "%d", year);
    const char *p[] = {y, metric, level, value, stpm_date_format(today, td)};
    return stpm_query_call(db, target_set_sql, 5, p, NULL, "cannot set the target", err);
}

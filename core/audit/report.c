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

/* The figures are sums over stpm.report_rows (migration 081): as of a day on or after the
 * server's date, the counts and deltas of 051's design (a few hundred rows whatever the
 * number of projects); as of an earlier day, one row per project from its facts and the
 * period containing that day; plus one row per project overdue then and one per project
 * implemented in the period. $1, $2 plan years, $3 the day; $4 the level filter, $5 the
 * plan filter. The grouping expressions work on f (those rows) and pl (plans). */
#define LEVEL_FILTER(n)                                                                            \
    " ($" n "::text IS NULL OR f.level = $" n "   OR ($" n                                         \
    " = 'municipal_and_above' AND f.level IN ('national', 'provincial', 'municipal'))"             \
    "   OR ($" n " = 'provincial_and_above' AND f.level IN ('national', 'provincial')))"

#define MEASURES                                                                                   \
    " coalesce(sum(f.projects), 0)::bigint AS projects,"                                           \
    " coalesce(sum(f.projects) FILTER (WHERE f.applied), 0)::bigint AS applied,"                   \
    " coalesce(sum(f.projects) FILTER (WHERE f.admitted), 0)::bigint AS admitted,"                 \
    " coalesce(sum(f.projects) FILTER (WHERE f.approved), 0)::bigint AS approved,"                 \
    " coalesce(sum(f.projects) FILTER (WHERE f.funded), 0)::bigint AS funded,"                     \
    " coalesce(sum(f.projects) FILTER (WHERE f.final_as = 'accepted'), 0)::bigint AS accepted,"    \
    " coalesce(sum(f.projects) FILTER (WHERE f.final_as = 'terminated'), 0)::bigint"               \
    "   AS terminated,"                                                                            \
    " coalesce(sum(f.projects) FILTER (WHERE f.final_as = 'rejected'), 0)::bigint AS rejected,"    \
    " coalesce(sum(f.overdue), 0)::bigint AS overdue,"                                             \
    " round(coalesce(sum(f.requested) FILTER (WHERE f.applied), 0), 2) AS requested,"              \
    " round(coalesce(sum(f.approved_amount) FILTER (WHERE f.funded), 0), 2) AS approved_amount,"   \
    " count(DISTINCT f.plan_id) FILTER (WHERE f.applied AND f.projects > 0) AS plans,"             \
    " count(DISTINCT pl.workflow_name) FILTER (WHERE f.applied AND f.projects > 0)"                \
    "   AS plan_kinds,"                                                                            \
    " coalesce(sum(f.implemented), 0)::bigint AS implemented"

/* The figures of a comparison, in order (the columns of MEASURES). */
static const char *const figures[] = {
    "projects", "applied", "admitted",  "approved",        "funded", "accepted",   "terminated",
    "rejected", "overdue", "requested", "approved_amount", "plans",  "plan_kinds", "implemented",
};

int stpm_report_level_check(const char *s)
{
    static const char *const levels[] = {
        "national", "provincial",          "municipal",
        "county",   "municipal_and_above", "provincial_and_above",
    };
    for (size_t i = 0; s && i < sizeof(levels) / sizeof(levels[0]); i++)
        if (strcmp(s, levels[i]) == 0)
            return 0;
    return -1;
}

/* One summary: its SELECT over report_rows($p1, $p2, $p3), filtered by $4 and $5. With
 * hidden, two more columns for a comparison: g_total (1 on the total row) and g_ord. */
static void put_summary(stpm_strbuf *sql, const group_key *k, const char *p1, const char *p2,
                        const char *p3, bool hidden)
{
    stpm_strbuf_puts(sql, "SELECT");
    if (k->word) {
        stpm_strbuf_printf(sql,
                           " CASE WHEN grouping(%s) = 1 THEN 'total' ELSE coalesce(%s::text, '-')"
                           " END AS %s,",
                           k->expr, k->expr, k->word);
        if (hidden)
            stpm_strbuf_printf(sql, " grouping(%s) AS g_total, min(%s) AS g_ord,", k->expr,
                               k->order);
    } else if (hidden) {
        stpm_strbuf_puts(sql, " 1 AS g_total, 0 AS g_ord,");
    }
    stpm_strbuf_printf(sql,
                       MEASURES
                       " FROM stpm.report_rows(%s::int, %s::int, %s::date) f"
                       " JOIN stpm.plans pl ON pl.id = f.plan_id"
                       " WHERE" LEVEL_FILTER("4") " AND ($5::text IS NULL OR pl.code = $5)",
                       p1, p2, p3);
    if (k->word) {
        stpm_strbuf_printf(sql,
                           " GROUP BY GROUPING SETS ((%s, %s), ())"
                           " HAVING grouping(%s) = 1 OR sum(f.projects) <> 0"
                           " OR sum(f.implemented) <> 0 OR sum(f.overdue) <> 0",
                           k->expr, k->order, k->expr);
        if (!hidden)
            stpm_strbuf_printf(sql, " ORDER BY grouping(%s), %s", k->expr, k->order);
    }
}

/* The comparison: per group (in the current summary's order) and figure, current,
 * previous and growth. $6, $7, $8: the years and the day of the previous summary. */
static void put_compare(stpm_strbuf *sql, const group_key *k)
{
    stpm_strbuf_puts(sql, "WITH cur AS (");
    put_summary(sql, k, "$1", "$2", "$3", true);
    stpm_strbuf_puts(sql, "), prev AS (");
    put_summary(sql, k, "$6", "$7", "$8", true);
    stpm_strbuf_puts(sql, ") SELECT");
    if (k->word)
        stpm_strbuf_printf(sql, " c.%s,", k->word);
    /* a group the year before did not have: 0, in the figure's own form (0.00 for 万元) */
    stpm_strbuf_puts(sql, " m.figure, m.cur AS current, coalesce(m.prev, m.cur * 0) AS previous,"
                          " CASE WHEN m.prev > 0 THEN round((m.cur - m.prev) * 100 / m.prev, 1)"
                          "::text || '%' END AS growth FROM cur c LEFT JOIN prev p ON ");
    if (k->word)
        stpm_strbuf_printf(sql, "p.%s = c.%s", k->word, k->word);
    else
        stpm_strbuf_puts(sql, "true");
    stpm_strbuf_puts(sql, " CROSS JOIN LATERAL (VALUES ");
    for (size_t i = 0; i < sizeof(figures) / sizeof(figures[0]); i++)
        stpm_strbuf_printf(sql, "%s(%zu, '%s', c.%s::numeric, p.%s::numeric)", i ? ", " : "", i,
                           figures[i], figures[i], figures[i]);
    stpm_strbuf_puts(sql, ") m(n, figure, cur, prev) ORDER BY c.g_total, c.g_ord, m.n");
}

int stpm_report_summary(stpm_db *db, const stpm_report_query *q, stpm_rows **out, stpm_error *err)
{
    *out = NULL;
    if ((size_t)q->by >= sizeof(keys) / sizeof(keys[0]))
        return stpm_error_set(err, STPM_EUSAGE, "unknown grouping");
    if (q->level && stpm_report_level_check(q->level) < 0) {
        stpm_error_set(err, STPM_EUSAGE, "invalid --level \"%s\"", q->level);
        stpm_error_hint(err, "national, provincial, municipal, county, municipal_and_above or "
                             "provincial_and_above");
        return STPM_EUSAGE;
    }
    char fy[12], ty[12], td[11], pfy[12], pty[12], ptd[11];
    snprintf(fy, sizeof(fy), "%d", q->from_year);
    snprintf(ty, sizeof(ty), "%d", q->to_year);
    snprintf(pfy, sizeof(pfy), "%d", q->from_year - 1);
    snprintf(pty, sizeof(pty), "%d", q->to_year - 1);
    /* a year before: 2021-02-28 for 2020-02-29, as `1y` is (calendar months, clamped) */
    stpm_date prev_day = stpm_date_add_months(q->as_of, -12);
    const char *p[] = {q->from_year ? fy : NULL,
                       q->to_year ? ty : NULL,
                       stpm_date_format(q->as_of, td),
                       q->level,
                       q->plan,
                       q->from_year ? pfy : NULL,
                       q->to_year ? pty : NULL,
                       stpm_date_format(prev_day, ptd)};
    int rc = 0;
    if (q->plan) {
        const char *pp[] = {q->plan};
        PGresult *x = stpm_px_exec(db, "SELECT 1 FROM stpm.plans WHERE code = $1", 1, pp,
                                   PGRES_TUPLES_OK, "cannot make the summary", &rc, err);
        if (!x)
            return rc;
        bool found = PQntuples(x) > 0;
        PQclear(x);
        if (!found) {
            stpm_error_set(err, STPM_ENOTFOUND, "plan \"%s\" does not exist", q->plan);
            stpm_error_hint(err, "`stpm plan list` shows the plans.");
            return STPM_ENOTFOUND;
        }
    }
    stpm_strbuf sql = STPM_STRBUF_INIT;
    if (q->compare_previous)
        put_compare(&sql, &keys[q->by]);
    else
        put_summary(&sql, &keys[q->by], "$1", "$2", "$3", false);
    if (sql.oom) {
        stpm_strbuf_free(&sql);
        return stpm_error_set(err, STPM_ERROR, "out of memory");
    }
    PGresult *r = stpm_px_exec(db, sql.buf, q->compare_previous ? 8 : 5, p, PGRES_TUPLES_OK,
                               "cannot make the summary", &rc, err);
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
    "   FROM stpm.report_rows(t.year, t.year, $2::date) f"
    "   WHERE true"
    "   AND (t.level = 'all' OR f.level = t.level"
    "     OR (t.level = 'municipal_and_above' AND f.level IN ('national', 'provincial', "
    "'municipal'))"
    "     OR (t.level = 'provincial_and_above' AND f.level IN ('national', 'provincial')))) a"
    " WHERE t.year = $1"
    " ORDER BY array_position(ARRAY['applications','approvals','funded','funding'], t.metric),"
    " array_position(ARRAY['all','provincial_and_above','municipal_and_above','national',"
    "'provincial','municipal','county'], t.level)";

int stpm_report_targets(stpm_db *db, int year, stpm_date as_of, stpm_rows **out, stpm_error *err)
{
    *out = NULL;
    char y[12], d[11];
    snprintf(y, sizeof(y), "%d", year);
    const char *p[] = {y, stpm_date_format(as_of, d)};
    int rc = 0;
    PGresult *r = stpm_px_exec(db, targets_sql, 2, p, PGRES_TUPLES_OK, "cannot compare the targets",
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

/* The reserve pool: list, rank, promote (stpm/reserve.h, docs/survey.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stpm/project.h"
#include "stpm/reserve.h"
#include "store/db_internal.h"
#include "store/rows_internal.h"
#include "util/strutil.h"

/* 1 when the plan code exists, 0 when not, negative on error. */
static int plan_exists(PGconn *c, const char *code, stpm_error *err)
{
    const char *p[] = {code};
    PGresult *r =
        PQexecParams(c, "SELECT 1 FROM stpm.plans WHERE code = $1", 1, NULL, p, NULL, NULL, 0);
    int rc;
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        rc = stpm_pg_error(err, c, r, "cannot read the plans");
    else if (PQntuples(r) == 0) {
        rc = stpm_error_set(err, STPM_ENOTFOUND, "plan %s does not exist", code);
        stpm_error_hint(err, "\"stpm plan list\" shows the plans.");
    } else
        rc = 1;
    PQclear(r);
    return rc;
}

/* The filter's conditions over reserve_entries r and orgs o: $1 year, $2 town, $3 field,
 * $4 plan code. */
#define FILTER_WHERE                                                                               \
    " WHERE ($1::integer IS NULL OR r.survey_year = $1::integer)"                                  \
    "   AND ($2::text IS NULL OR o.town = $2)"                                                     \
    "   AND ($3::text IS NULL OR r.field = $3)"                                                    \
    "   AND ($4::text IS NULL OR r.target_plan = (SELECT name FROM stpm.plans WHERE code = $4))"

static int filter_params(PGconn *c, const stpm_reserve_filter *f, char year[16],
                         const char *params[4], stpm_error *err)
{
    static const stpm_reserve_filter none = STPM_RESERVE_FILTER_INIT;
    if (!f)
        f = &none;
    snprintf(year, 16, "%d", f->year);
    params[0] = f->year ? year : NULL;
    params[1] = f->town;
    params[2] = f->field;
    params[3] = f->plan;
    if (f->plan) {
        int rc = plan_exists(c, f->plan, err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static const char list_sql[] =
    "SELECT left(r.id::text, 8) AS entry, r.id, r.survey_year AS year, o.uscc::text AS uscc,"
    "  o.name AS org, o.town, r.title, r.field, r.target_plan, r.leader,"
    "  round(r.requested_funding, 2) AS requested_funding, p.code AS project"
    " FROM stpm.reserve_entries r JOIN stpm.orgs o ON o.id = r.org_id"
    " LEFT JOIN stpm.projects p ON p.id = r.project_id" FILTER_WHERE
    " ORDER BY r.survey_year, o.name COLLATE \"C\", r.title COLLATE \"C\", r.id";

int stpm_reserve_list(stpm_db *db, const stpm_reserve_filter *f, stpm_rows **out, stpm_error *err)
{
    *out = NULL;
    PGconn *c = stpm_db_pg(db);
    char year[16];
    const char *params[4];
    int rc = filter_params(c, f, year, params, err);
    if (rc < 0)
        return rc;
    PGresult *r = PQexecParams(c, list_sql, 4, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        rc = stpm_pg_error(err, c, r, "cannot list the reserve pool");
        PQclear(r);
        return rc;
    }
    *out = stpm_rows_from_pg(r);
    return *out ? 0 : stpm_error_set(err, STPM_ERROR, "out of memory");
}

/* ---- rank ---- */

static const char rank_sql[] =
    "SELECT r.id, o.uscc::text, o.name, r.title, r.target_plan, p.code,"
    "  r.high_tech, r.maturity, r.rd_spend, r.revenue, r.planned_investment,"
    "  r.requested_funding, r.partner, r.field, o.town"
    " FROM stpm.reserve_entries r JOIN stpm.orgs o ON o.id = r.org_id"
    " LEFT JOIN stpm.projects p ON p.id = r.project_id" FILTER_WHERE;

static void ranked_free(stpm_ranked *x)
{
    free(x->org_name);
    free(x->uscc);
    free(x->title);
    free(x->target_plan);
    free(x->project);
    free((char *)x->values.partner);
    free((char *)x->values.field);
    free((char *)x->values.town);
    free(x->parts);
}

void stpm_ranking_clear(stpm_ranking *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++)
        ranked_free(&r->items[i]);
    free(r->items);
    r->items = NULL;
    r->n = 0;
}

static char *dup_cell(PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? NULL : stpm_strdup(PQgetvalue(r, row, col));
}

static bool amount_cell(PGresult *r, int row, int col, stpm_decimal *out)
{
    *out = 0;
    return !PQgetisnull(r, row, col) && stpm_decimal_parse(PQgetvalue(r, row, col), out) == 0;
}

static int compare_ranked(const void *pa, const void *pb)
{
    const stpm_ranked *a = pa, *b = pb;
    if (a->score != b->score)
        return a->score > b->score ? -1 : 1;
    bool fa = a->values.requested_funding_set, fb = b->values.requested_funding_set;
    if (fa != fb)
        return fa ? -1 : 1;
    if (fa && a->values.requested_funding != b->values.requested_funding)
        return a->values.requested_funding < b->values.requested_funding ? -1 : 1;
    int c = strcmp(a->uscc, b->uscc);
    if (c)
        return c;
    c = strcmp(a->title, b->title);
    return c ? c : strcmp(a->id, b->id);
}

int stpm_reserve_rank(stpm_db *db, const stpm_reserve_filter *f, const stpm_scoring *s, size_t top,
                      stpm_ranking *out, stpm_error *err)
{
    out->items = NULL;
    out->n = 0;
    if (!f || !f->year)
        return stpm_error_set(err, STPM_EUSAGE, "ranking needs a survey year");
    PGconn *c = stpm_db_pg(db);
    char year[16];
    const char *params[4];
    PGresult *r = NULL;
    int rc = filter_params(c, f, year, params, err);
    if (rc < 0)
        goto out;
    r = PQexecParams(c, rank_sql, 4, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        rc = stpm_pg_error(err, c, r, "cannot rank the reserve pool");
        goto out;
    }
    size_t n = (size_t)PQntuples(r), nc = stpm_scoring_n_criteria(s);
    out->items = calloc(n ? n : 1, sizeof(*out->items));
    if (!out->items) {
        rc = stpm_error_set(err, STPM_ERROR, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++, out->n++) {
        stpm_ranked *x = &out->items[i];
        int row = (int)i;
        snprintf(x->id, sizeof(x->id), "%s", PQgetvalue(r, row, 0));
        x->uscc = dup_cell(r, row, 1);
        x->org_name = dup_cell(r, row, 2);
        x->title = dup_cell(r, row, 3);
        x->target_plan = dup_cell(r, row, 4);
        x->project = dup_cell(r, row, 5);
        stpm_reserve_values *v = &x->values;
        v->high_tech_set = !PQgetisnull(r, row, 6);
        v->high_tech = v->high_tech_set && PQgetvalue(r, row, 6)[0] == 't';
        v->maturity_set = !PQgetisnull(r, row, 7);
        v->maturity = v->maturity_set ? atoi(PQgetvalue(r, row, 7)) : 0;
        v->rd_spend_set = amount_cell(r, row, 8, &v->rd_spend);
        v->revenue_set = amount_cell(r, row, 9, &v->revenue);
        v->planned_investment_set = amount_cell(r, row, 10, &v->planned_investment);
        v->requested_funding_set = amount_cell(r, row, 11, &v->requested_funding);
        v->partner = dup_cell(r, row, 12);
        v->target_plan = x->target_plan;
        v->field = dup_cell(r, row, 13);
        v->town = dup_cell(r, row, 14);
        x->parts = calloc(nc ? nc : 1, sizeof(*x->parts));
        if (!x->uscc || !x->title || !x->parts) {
            out->n++;
            rc = stpm_error_set(err, STPM_ERROR, "out of memory");
            goto out;
        }
        stpm_scoring_score(s, v, &x->score, x->parts);
    }
    qsort(out->items, out->n, sizeof(*out->items), compare_ranked);
    for (size_t i = 0; i < out->n; i++)
        out->items[i].rank = i + 1;
    if (top > 0 && top < out->n) {
        for (size_t i = top; i < out->n; i++)
            ranked_free(&out->items[i]);
        out->n = top;
    }
out:
    PQclear(r);
    if (rc < 0)
        stpm_ranking_clear(out);
    return rc;
}

/* ---- promote ---- */

/* Turn an id prefix (hex digits, dashes allowed) into the range of uuids it covers. */
static int prefix_range(const char *entry, char lo[37], char hi[37], stpm_error *err)
{
    char hex[33];
    size_t n = 0;
    for (const char *p = entry; *p; p++) {
        char ch = *p;
        if (ch == '-')
            continue;
        if (ch >= 'A' && ch <= 'F')
            ch = (char)(ch - 'A' + 'a');
        if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')) || n >= 32) {
            n = 0;
            break;
        }
        hex[n++] = ch;
    }
    if (n < 6) {
        stpm_error_set(err, STPM_EUSAGE, "invalid reserve entry \"%s\"", entry);
        stpm_error_hint(err, "Name the entry by its id or a prefix of at least 6 hex digits, as "
                             "\"stpm reserve list\" shows it.");
        return STPM_EUSAGE;
    }
    char l[33], h[33];
    for (size_t i = 0; i < 32; i++) {
        l[i] = i < n ? hex[i] : '0';
        h[i] = i < n ? hex[i] : 'f';
    }
    snprintf(lo, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", l, l + 8, l + 12, l + 16, l + 20);
    snprintf(hi, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", h, h + 8, h + 12, h + 16, h + 20);
    return 0;
}

static const char find_sql[] =
    "SELECT r.id, r.survey_year, o.uscc::text, r.title, r.leader, r.field,"
    "  r.requested_funding, p.code"
    " FROM stpm.reserve_entries r JOIN stpm.orgs o ON o.id = r.org_id"
    " LEFT JOIN stpm.projects p ON p.id = r.project_id"
    " WHERE r.id BETWEEN $1::uuid AND $2::uuid"
    " ORDER BY r.id LIMIT 2";

int stpm_reserve_promote(stpm_db *db, const char *entry, const stpm_promote_options *opts,
                         char **code, stpm_error *err)
{
    *code = NULL;
    PGconn *c = stpm_db_pg(db);
    PGresult *r = NULL;
    char *sets0 = NULL;
    int rc = 0;
    char lo[37], hi[37];
    if (!opts || opts->version != STPM_PROMOTE_OPTIONS_VERSION || !opts->plan)
        return stpm_error_set(err, STPM_EUSAGE, "promoting a candidate needs a plan");
    if ((rc = prefix_range(entry, lo, hi, err)) < 0)
        return rc;
    const char *p1[] = {lo, hi};
    r = PQexecParams(c, find_sql, 2, NULL, p1, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        rc = stpm_pg_error(err, c, r, "cannot promote the candidate");
        goto out;
    }
    if (PQntuples(r) == 0) {
        rc = stpm_error_set(err, STPM_ENOTFOUND, "reserve entry %s does not exist", entry);
        stpm_error_hint(err, "\"stpm reserve list\" shows the entries.");
        goto out;
    }
    if (PQntuples(r) > 1) {
        rc = stpm_error_set(err, STPM_EUSAGE, "reserve entry %s is ambiguous", entry);
        stpm_error_detail(err, "It names %.8s... and %.8s... at least.", PQgetvalue(r, 0, 0),
                          PQgetvalue(r, 1, 0));
        stpm_error_hint(err, "Give more digits of the id.");
        goto out;
    }
    const char *id = PQgetvalue(r, 0, 0);
    if (!PQgetisnull(r, 0, 7)) {
        rc = stpm_error_set(err, STPM_EREFUSED,
                            "reserve entry %.8s was promoted already, into project %s", id,
                            PQgetvalue(r, 0, 7));
        stpm_error_detail(err, "A candidate of the reserve pool becomes at most one project.");
        stpm_error_hint(err, "See it with \"stpm project show %s\".", PQgetvalue(r, 0, 7));
        goto out;
    }
    const char *leader = opts->leader           ? opts->leader
                         : PQgetisnull(r, 0, 4) ? NULL
                                                : PQgetvalue(r, 0, 4);
    if (!leader || !*leader) {
        rc = stpm_error_set(err, STPM_EUSAGE, "reserve entry %.8s names no project leader", id);
        stpm_error_hint(err, "Give the leader with --leader NAME.");
        goto out;
    }
    stpm_project_new spec = STPM_PROJECT_NEW_INIT;
    spec.plan = opts->plan;
    spec.org = PQgetvalue(r, 0, 2);
    spec.title = PQgetvalue(r, 0, 3);
    spec.leader = leader;
    spec.year = opts->year ? opts->year : atoi(PQgetvalue(r, 0, 1));
    spec.field = PQgetisnull(r, 0, 5) ? NULL : PQgetvalue(r, 0, 5);
    spec.today = opts->today ? opts->today : stpm_date_today();
    spec.reserve_entry = id;
    const char *sets[1];
    if (!PQgetisnull(r, 0, 6)) {
        sets0 = stpm_asprintf("amount_requested=%s", PQgetvalue(r, 0, 6));
        if (!sets0) {
            rc = stpm_error_set(err, STPM_ERROR, "out of memory");
            goto out;
        }
        sets[0] = sets0;
        spec.sets = sets;
        spec.n_sets = 1;
    }
    /* With spec.reserve_entry, stpm_project_create calls stpm.reserve_promote: the project,
     * its event and the link of the entry in one statement, under the entry's row lock (a
     * promotion that came first meanwhile is a conflict, 40001). */
    rc = stpm_project_create(db, &spec, code, err);
out:
    if (rc < 0) {
        free(*code);
        *code = NULL;
    }
    free(sets0);
    PQclear(r);
    return rc;
}

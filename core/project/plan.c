/* Plans (科技计划): see stpm/plan.h. */
#include "stpm/plan.h"

#include <stdlib.h>
#include <string.h>

#include "project/px.h"
#include "store/query.h"
#include "util/strutil.h"

static const char *const levels[] = {"national", "provincial", "municipal", "county", NULL};

bool stpm_plan_level_valid(const char *level)
{
    for (int i = 0; level && levels[i]; i++)
        if (strcmp(level, levels[i]) == 0)
            return true;
    return false;
}

bool stpm_plan_code_valid(const char *code)
{
    if (!code || !(code[0] >= 'A' && code[0] <= 'Z'))
        return false;
    size_t n = strlen(code);
    if (n < 2 || n > 16)
        return false;
    for (size_t i = 1; i < n; i++)
        if (!((code[i] >= 'A' && code[i] <= 'Z') || (code[i] >= '0' && code[i] <= '9')))
            return false;
    return true;
}

/* stpm.plan_add (migrations/072) writes the plan and its event. */
static const char sql_add[] = "SELECT stpm.plan_add($1, $2, $3, $4, $5::boolean, $6::date)";

int stpm_plan_add(stpm_db *db, const stpm_plan_spec *spec, stpm_date today, stpm_error *err)
{
    char day[11];
    if (!stpm_plan_code_valid(spec->code)) {
        stpm_error_set(err, STPM_EINPUT, "invalid plan code \"%s\"", spec->code ? spec->code : "");
        stpm_error_add_diag(err, NULL, 0, 0, "code",
                            "an upper-case letter then 1 to 15 upper-case letters or digits");
        stpm_error_hint(err, "For example PKRD or NTSF; it becomes part of project codes "
                             "such as 2021-PKRD-0042.");
        return STPM_EINPUT;
    }
    if (!spec->name || !*spec->name) {
        stpm_error_set(err, STPM_EINPUT, "missing plan name");
        stpm_error_add_diag(err, NULL, 0, 0, "name", "the name must not be empty");
        return STPM_EINPUT;
    }
    if (!stpm_plan_level_valid(spec->level)) {
        stpm_error_set(err, STPM_EINPUT, "invalid plan level \"%s\"",
                       spec->level ? spec->level : "");
        stpm_error_add_diag(err, NULL, 0, 0, "level",
                            "expected national, provincial, municipal or county");
        return STPM_EINPUT;
    }
    if (!spec->workflow || !*spec->workflow) {
        stpm_error_set(err, STPM_EINPUT, "missing workflow of the plan");
        stpm_error_add_diag(err, NULL, 0, 0, "workflow", "a loaded workflow's name is required");
        return STPM_EINPUT;
    }
    stpm_date_format(today, day);
    const char *p[6] = {
        spec->code, spec->name, spec->level, spec->workflow, spec->funded ? "true" : "false", day};
    return stpm_query_call(db, sql_add, 6, p, NULL, "cannot add plan", err);
}

#define PLAN_SELECT                                                                                \
    "SELECT p.id, p.code, p.name, p.level, p.workflow_name, p.funded,"                             \
    " coalesce((SELECT max(w.version) FROM stpm.workflows w WHERE w.name = p.workflow_name), 0),"  \
    " (SELECT count(*) FROM stpm.projects x WHERE x.plan_id = p.id),"                              \
    " to_char(p.created_at, 'YYYY-MM-DD HH24:MI:SS') FROM stpm.plans p"

static void plan_fill(stpm_plan *p, const PGresult *res, int r)
{
    p->id = stpm_px_value(res, r, 0);
    p->code = stpm_px_value(res, r, 1);
    p->name = stpm_px_value(res, r, 2);
    p->level = stpm_px_value(res, r, 3);
    p->workflow = stpm_px_value(res, r, 4);
    p->funded = strcmp(PQgetvalue(res, r, 5), "t") == 0;
    p->workflow_version = atoi(PQgetvalue(res, r, 6));
    p->projects = strtol(PQgetvalue(res, r, 7), NULL, 10);
    p->created_at = stpm_px_value(res, r, 8);
}

static void plan_clear(stpm_plan *p)
{
    free(p->id);
    free(p->code);
    free(p->name);
    free(p->level);
    free(p->workflow);
    free(p->created_at);
}

int stpm_plan_list(stpm_db *db, stpm_plan **out, size_t *n, stpm_error *err)
{
    int rc = 0;
    *out = NULL;
    *n = 0;
    PGresult *res = stpm_px_exec(db,
                                 PLAN_SELECT " ORDER BY array_position(ARRAY['national',"
                                             " 'provincial', 'municipal', 'county'], p.level),"
                                             " p.code",
                                 0, NULL, PGRES_TUPLES_OK, "cannot list plans", &rc, err);
    if (!res)
        return rc;
    size_t rows = (size_t)PQntuples(res);
    stpm_plan *v = calloc(rows ? rows : 1, sizeof(*v));
    if (!v) {
        rc = stpm_error_set(err, STPM_ERROR, "out of memory");
    } else {
        for (size_t i = 0; i < rows; i++)
            plan_fill(&v[i], res, (int)i);
        *out = v;
        *n = rows;
    }
    PQclear(res);
    return rc;
}

void stpm_plan_list_free(stpm_plan *plans, size_t n)
{
    if (!plans)
        return;
    for (size_t i = 0; i < n; i++)
        plan_clear(&plans[i]);
    free(plans);
}

int stpm_plan_show(stpm_db *db, const char *code, stpm_plan **out, stpm_error *err)
{
    int rc = 0;
    *out = NULL;
    const char *p[1] = {code};
    PGresult *res = stpm_px_exec(db, PLAN_SELECT " WHERE p.code = $1", 1, p, PGRES_TUPLES_OK,
                                 "cannot show plan", &rc, err);
    if (!res)
        return rc;
    if (PQntuples(res) == 0) {
        rc = stpm_error_set(err, STPM_ENOTFOUND, "plan %s does not exist", code ? code : "");
        stpm_error_hint(err, "List the plans with \"stpm plan list\".");
    } else {
        stpm_plan *v = calloc(1, sizeof(*v));
        if (!v) {
            rc = stpm_error_set(err, STPM_ERROR, "out of memory");
        } else {
            plan_fill(v, res, 0);
            *out = v;
        }
    }
    PQclear(res);
    return rc;
}

void stpm_plan_free(stpm_plan *plan)
{
    if (!plan)
        return;
    plan_clear(plan);
    free(plan);
}

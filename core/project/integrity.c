/* The integrity admission checks (廉政准入): see stpm/integrity.h.
 *
 * Each check, uscc_valid included, is decided on the server by the SQL the transitions
 * themselves run (stpm.check_run): one round trip, the summary and the evidence built
 * there. This file names the checks and checks their parameters. */
#include "stpm/integrity.h"

#include <stdlib.h>
#include <string.h>
#include <uuid/uuid.h>

#include "project/px.h"
#include "util/strutil.h"
#include "util/server_text.h"

/* Every check is one SQL function of the schema (stpm.check_run, migrations/070_rules.sql):
 * the same one the server runs inside stpm.project_advance, so `project why`, `--dry-run`
 * and the transition itself can never disagree on a check. */
static const char sql_check[] =
    "SELECT passed, summary, evidence::text FROM stpm.check_run($1, $2::uuid, $3::date, $4)";

typedef enum { PARAM_NONE, PARAM_SIMILARITY, PARAM_MAX } check_param;

typedef struct check_def {
    const char *name;
    check_param param;
} check_def;

static const check_def checks[] = {
    {"integrity_commitment", PARAM_NONE}, {"credit_clean", PARAM_NONE},
    {"no_conflict", PARAM_NONE},          {"no_duplicate", PARAM_SIMILARITY},
    {"leader_limit", PARAM_MAX},          {"org_no_overdue", PARAM_NONE},
    {"uscc_valid", PARAM_NONE},
};

#define N_CHECKS (sizeof(checks) / sizeof(checks[0]))

static const char *const check_names[] = {
    "integrity_commitment", "credit_clean",   "no_conflict", "no_duplicate",
    "leader_limit",         "org_no_overdue", "uscc_valid",  NULL,
};

static const check_def *find_check(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; i < N_CHECKS; i++)
        if (strcmp(checks[i].name, name) == 0)
            return &checks[i];
    return NULL;
}

bool stpm_integrity_known(const char *check)
{
    return find_check(check) != NULL;
}

bool stpm_integrity_takes_param(const char *check, const char *param)
{
    const check_def *c = find_check(check);
    if (!c || !param)
        return false;
    return (c->param == PARAM_SIMILARITY && strcmp(param, "similarity") == 0) ||
           (c->param == PARAM_MAX && strcmp(param, "max") == 0);
}

const char *const *stpm_integrity_names(void)
{
    return check_names;
}

void stpm_integrity_result_clear(stpm_integrity_result *r)
{
    if (!r)
        return;
    free(r->summary);
    free(r->evidence_json);
    r->summary = NULL;
    r->evidence_json = NULL;
    r->passed = false;
}

/* A threshold: digits with at most one '.', value in [0, 1], e.g. "0.6", "1", ".75". */
static bool similarity_ok(const char *s)
{
    if (!s || !*s || strlen(s) > 12)
        return false;
    int dots = 0, digits = 0;
    for (const char *p = s; *p; p++) {
        if (*p == '.')
            dots++;
        else if (*p >= '0' && *p <= '9')
            digits++;
        else
            return false;
    }
    if (dots > 1 || digits == 0)
        return false;
    double v = strtod(s, NULL); /* range check only; the server compares exactly */
    return v >= 0.0 && v <= 1.0;
}

int stpm_integrity_params_check(const stpm_integrity_params *params, stpm_error *err)
{
    if (!params)
        return 0;
    if (params->has_similarity && !similarity_ok(params->similarity)) {
        stpm_error_set(err, STPM_EINPUT, "invalid similarity \"%s\": expected a number from 0 to 1",
                       params->similarity ? params->similarity : "");
        stpm_error_hint(err, "The no_duplicate check takes e.g. similarity: 0.6.");
        return STPM_EINPUT;
    }
    if (params->has_max && params->max < 1) {
        stpm_error_set(err, STPM_EINPUT, "invalid max %d: expected an integer of at least 1",
                       params->max);
        stpm_error_hint(err, "The leader_limit check takes e.g. max: 3.");
        return STPM_EINPUT;
    }
    return 0;
}

int stpm_integrity_run(stpm_db *db, const char *check, const char *project_id,
                       const stpm_integrity_params *params, stpm_date today,
                       stpm_integrity_result *out, stpm_error *err)
{
    int rc = 0;
    PGresult *res = NULL;
    char today_s[11], max_s[16];
    const check_def *c = find_check(check);

    stpm_integrity_result_clear(out); /* an earlier result is released */
    if (!c) {
        rc = stpm_error_set(err, STPM_EINPUT, "unknown integrity check \"%s\"", check ? check : "");
        stpm_error_hint(err, "The checks are integrity_commitment, credit_clean, no_conflict, "
                             "no_duplicate, leader_limit, org_no_overdue and uscc_valid.");
        goto cleanup;
    }
    uuid_t u;
    if (!project_id || uuid_parse(project_id, u) != 0) {
        rc = stpm_error_set(err, STPM_EINPUT, "invalid project id \"%s\": expected a UUID",
                            project_id ? project_id : "");
        goto cleanup;
    }
    if ((rc = stpm_integrity_params_check(params, err)) < 0)
        goto cleanup;
    stpm_date_format(today, today_s);
    const char *p[3] = {project_id, today_s, NULL};
    if (c->param == PARAM_SIMILARITY) {
        p[2] = params && params->has_similarity ? params->similarity
                                                : STPM_INTEGRITY_DEFAULT_SIMILARITY;
    } else if (c->param == PARAM_MAX) {
        snprintf(max_s, sizeof(max_s), "%d",
                 params && params->has_max ? params->max : STPM_INTEGRITY_DEFAULT_MAX);
        p[2] = max_s;
    }
    const char *q[4] = {c->name, project_id, today_s, p[2]};
    char what[64];
    snprintf(what, sizeof(what), _("cannot run check %s"), c->name);
    res = stpm_px_exec(db, sql_check, 4, q, PGRES_TUPLES_OK, what, &rc, err);
    if (!res)
        goto cleanup;
    out->passed = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    out->summary = stpm_server_text(PQgetvalue(res, 0, 1)); /* in the user's language */
    out->evidence_json = stpm_strdup(PQgetvalue(res, 0, 2));
    if (!out->summary || !out->evidence_json)
        rc = stpm_error_set(err, STPM_ERROR, "out of memory");
cleanup:
    PQclear(res);
    if (rc < 0)
        stpm_integrity_result_clear(out);
    return rc;
}

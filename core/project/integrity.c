/* The integrity admission checks (廉政准入): see stpm/integrity.h.
 *
 * Each check is one query that finds the project, decides, and builds both the summary
 * and the evidence on the server ($1 project id, $2 today, $3 the check's parameter),
 * so a check costs one round trip; uscc_valid reads the code and decides in C. */
#include "stpm/integrity.h"

#include <stdlib.h>
#include <string.h>
#include <uuid/uuid.h>

#include "project/px.h"
#include "stpm/uscc.h"
#include "util/strutil.h"

/* Evidence lists at most this many projects (the count is always complete). */
#define EVIDENCE_MAX "20"

/* States that never count as a live application (no_duplicate) ... */
#define DEAD_STATES "'rejected', 'terminated', 'withdrawn'"
/* ... and states that do not count as a leader's active project (leader_limit). */
#define INACTIVE_STATES "'reserve', 'rejected', 'terminated', 'withdrawn', 'accepted', 'closed'"

static const char sql_commitment[] =
    "SELECT d.n > 0,"
    " CASE WHEN d.n > 0"
    "  THEN format('integrity commitment attached to %s: %s (sha256 %s)', p.code,"
    "              d.first_name, left(d.first_sha, 12))"
    "  ELSE format('no integrity commitment (廉政承诺书) is attached to project %s', p.code)"
    " END,"
    " jsonb_build_object('check', 'integrity_commitment', 'project', p.code,"
    "  'as_of', $2::date, 'passed', d.n > 0, 'documents', coalesce(d.docs, '[]'))::text"
    " FROM stpm.projects p"
    " CROSS JOIN LATERAL ("
    "  SELECT count(*) AS n,"
    "   jsonb_agg(jsonb_build_object('file_name', x.file_name, 'sha256', x.sha256,"
    "    'size', x.size, 'attached_at', x.attached_at) ORDER BY x.attached_at, x.file_name)"
    "    AS docs,"
    "   (array_agg(x.file_name ORDER BY x.attached_at, x.file_name))[1] AS first_name,"
    "   (array_agg(x.sha256 ORDER BY x.attached_at, x.file_name))[1] AS first_sha"
    "  FROM stpm.documents x"
    "  WHERE x.project_id = p.id AND x.kind = 'integrity_commitment') d"
    " WHERE p.id = $1::uuid";

static const char sql_credit[] =
    "SELECT b.n = 0,"
    " CASE WHEN b.n = 0"
    "  THEN format('org %s (%s) has no active blacklist entry on %s', o.uscc, o.name,"
    "              $2::date)"
    "  ELSE format('org %s (%s) is on the credit blacklist: %s (%s – %s)', o.uscc, o.name,"
    "              b.first_reason, b.first_from,"
    "              coalesce(b.first_until::text, 'open-ended'))"
    " END,"
    " jsonb_build_object('check', 'credit_clean', 'project', p.code, 'as_of', $2::date,"
    "  'passed', b.n = 0, 'org', o.uscc, 'entries', coalesce(b.entries, '[]'))::text"
    " FROM stpm.projects p JOIN stpm.orgs o ON o.id = p.org_id"
    " CROSS JOIN LATERAL ("
    "  SELECT count(*) AS n,"
    "   jsonb_agg(jsonb_build_object('id', e.id, 'reason', e.reason,"
    "    'valid_from', e.valid_from, 'valid_until', e.valid_until, 'added_by', e.added_by)"
    "    ORDER BY e.valid_from, e.id) AS entries,"
    "   (array_agg(e.reason ORDER BY e.valid_from, e.id))[1] AS first_reason,"
    "   (array_agg(e.valid_from ORDER BY e.valid_from, e.id))[1] AS first_from,"
    "   (array_agg(e.valid_until ORDER BY e.valid_from, e.id))[1] AS first_until"
    "  FROM stpm.blacklist e"
    "  WHERE e.uscc = o.uscc AND e.valid_from <= $2::date"
    "   AND (e.valid_until IS NULL OR e.valid_until >= $2::date)"
    "   AND coalesce(e.lifted_on, e.lifted_at::date, 'infinity') > $2::date) b"
    " WHERE p.id = $1::uuid";

static const char sql_conflict[] =
    "SELECT c.id IS NULL,"
    " CASE WHEN c.id IS NULL"
    "  THEN format('%s has declared no conflict of interest with org %s (%s)',"
    "              session_user, o.uscc, o.name)"
    "  ELSE format('%s has declared a conflict of interest (回避) with org %s (%s): %s',"
    "              session_user, o.uscc, o.name, c.reason)"
    " END,"
    " jsonb_build_object('check', 'no_conflict', 'project', p.code, 'as_of', $2::date,"
    "  'passed', c.id IS NULL, 'officer', session_user::text, 'org', o.uscc,"
    "  'conflict', CASE WHEN c.id IS NOT NULL THEN jsonb_build_object('reason', c.reason,"
    "   'declared_at', c.declared_at, 'declared_by', c.declared_by) END)::text"
    " FROM stpm.projects p JOIN stpm.orgs o ON o.id = p.org_id"
    " LEFT JOIN stpm.conflicts c ON c.org_id = o.id AND c.officer = session_user::text"
    " WHERE p.id = $1::uuid";

/* The trigram index answers `q.title % me.title` (threshold set just before, locally);
 * similarity() >= $3 then decides exactly. */
static const char sql_duplicate[] =
    "WITH me AS (SELECT p.id, p.code, p.title, p.year FROM stpm.projects p"
    "            WHERE p.id = $1::uuid),"
    " sim AS ("
    "  SELECT q.code, q.title, og.uscc AS org, og.name AS org_name, pl.code AS plan, q.state,"
    "   round(similarity(q.title, me.title)::numeric, 3) AS score"
    "  FROM me JOIN stpm.projects q"
    "   ON q.title % me.title AND q.year = me.year AND q.id <> me.id"
    "  JOIN stpm.orgs og ON og.id = q.org_id JOIN stpm.plans pl ON pl.id = q.plan_id"
    "  WHERE q.state NOT IN (" DEAD_STATES ")"
    "   AND similarity(q.title, me.title) >= $3::real"
    "  ORDER BY score DESC, q.code LIMIT 5)"
    "SELECT s.n = 0,"
    " CASE WHEN s.n = 0"
    "  THEN format('no other project of %s has a title similar to \"%s\" (threshold %s)',"
    "              me.year, me.title, $3)"
    "  ELSE format('possible duplicate application: %s \"%s\" (org %s, plan %s) has title "
    "similarity %s >= %s%s', s.top->>'code', s.top->>'title', s.top->>'org',"
    "              s.top->>'plan', s.top->>'score', $3,"
    "              CASE WHEN s.n > 1 THEN format(', and %s more', s.n - 1) ELSE '' END)"
    " END,"
    " jsonb_build_object('check', 'no_duplicate', 'project', me.code, 'as_of', $2::date,"
    "  'passed', s.n = 0, 'threshold', $3::numeric, 'year', me.year,"
    "  'similar', coalesce(s.list, '[]'))::text"
    " FROM me CROSS JOIN LATERAL ("
    "  SELECT count(*) AS n, jsonb_agg(to_jsonb(sim) ORDER BY sim.score DESC, sim.code) AS list,"
    "   (array_agg(to_jsonb(sim) ORDER BY sim.score DESC, sim.code))[1] AS top FROM sim) s";

static const char sql_leader[] =
    "SELECT a.n < $3::int,"
    " CASE WHEN a.n < $3::int"
    "  THEN format('leader %s of org %s has %s other active project(s), under the limit of %s',"
    "              l.name, o.uscc, a.n, $3)"
    "  ELSE format('leader %s of org %s already has %s active project(s), the limit is %s: %s',"
    "              l.name, o.uscc, a.n, $3, a.codes ||"
    "              CASE WHEN a.n > " EVIDENCE_MAX " THEN ' ...' ELSE '' END)"
    " END,"
    " jsonb_build_object('check', 'leader_limit', 'project', p.code, 'as_of', $2::date,"
    "  'passed', a.n < $3::int, 'leader', l.name, 'org', o.uscc, 'max', $3::int,"
    "  'count', a.n, 'active', coalesce(a.list, '[]'))::text"
    " FROM stpm.projects p JOIN stpm.leaders l ON l.id = p.leader_id"
    " JOIN stpm.orgs o ON o.id = l.org_id"
    " CROSS JOIN LATERAL ("
    "  SELECT (SELECT count(*) FROM stpm.projects q WHERE q.leader_id = p.leader_id"
    "           AND q.id <> p.id AND q.closed_date IS NULL"
    "           AND q.state NOT IN (" INACTIVE_STATES ")) AS n,"
    "   jsonb_agg(jsonb_build_object('code', t.code, 'title', t.title, 'plan', t.plan,"
    "    'state', t.state) ORDER BY t.code) AS list,"
    "   string_agg(t.code, ', ' ORDER BY t.code) AS codes"
    "  FROM (SELECT q.code, q.title, pl.code AS plan, q.state"
    "        FROM stpm.projects q JOIN stpm.plans pl ON pl.id = q.plan_id"
    "        WHERE q.leader_id = p.leader_id AND q.id <> p.id AND q.closed_date IS NULL"
    "         AND q.state NOT IN (" INACTIVE_STATES ")"
    "        ORDER BY q.code LIMIT " EVIDENCE_MAX ") t) a"
    " WHERE p.id = $1::uuid";

static const char sql_overdue[] =
    "SELECT a.n = 0,"
    " CASE WHEN a.n = 0"
    "  THEN format('org %s (%s) has no overdue unclosed project on %s', o.uscc, o.name,"
    "              $2::date)"
    "  ELSE format('org %s (%s) has %s overdue unclosed project(s) (应结未结): %s', o.uscc,"
    "              o.name, a.n, a.codes ||"
    "              CASE WHEN a.n > " EVIDENCE_MAX " THEN ' ...' ELSE '' END)"
    " END,"
    " jsonb_build_object('check', 'org_no_overdue', 'project', p.code, 'as_of', $2::date,"
    "  'passed', a.n = 0, 'org', o.uscc, 'overdue', coalesce(a.list, '[]'))::text"
    " FROM stpm.projects p JOIN stpm.orgs o ON o.id = p.org_id"
    " CROSS JOIN LATERAL ("
    "  SELECT (SELECT count(*) FROM stpm.projects q WHERE q.org_id = p.org_id"
    "           AND q.closed_date IS NULL AND q.due_date < $2::date) AS n,"
    "   jsonb_agg(jsonb_build_object('code', t.code, 'title', t.title, 'state', t.state,"
    "    'due_date', t.due_date) ORDER BY t.due_date, t.code) AS list,"
    "   string_agg(format('%s (due %s)', t.code, t.due_date), ', '"
    "    ORDER BY t.due_date, t.code) AS codes"
    "  FROM (SELECT q.code, q.title, q.state, q.due_date FROM stpm.projects q"
    "        WHERE q.org_id = p.org_id AND q.closed_date IS NULL AND q.due_date < $2::date"
    "        ORDER BY q.due_date, q.code LIMIT " EVIDENCE_MAX ") t) a"
    " WHERE p.id = $1::uuid";

static const char sql_uscc[] =
    "SELECT o.uscc, o.name, p.code FROM stpm.projects p JOIN stpm.orgs o ON o.id = p.org_id"
    " WHERE p.id = $1::uuid";

typedef enum { PARAM_NONE, PARAM_SIMILARITY, PARAM_MAX } check_param;

typedef struct check_def {
    const char *name;
    const char *sql; /* NULL: decided in C */
    check_param param;
} check_def;

static const check_def checks[] = {
    {"integrity_commitment", sql_commitment, PARAM_NONE},
    {"credit_clean", sql_credit, PARAM_NONE},
    {"no_conflict", sql_conflict, PARAM_NONE},
    {"no_duplicate", sql_duplicate, PARAM_SIMILARITY},
    {"leader_limit", sql_leader, PARAM_MAX},
    {"org_no_overdue", sql_overdue, PARAM_NONE},
    {"uscc_valid", NULL, PARAM_NONE},
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

/* uscc_valid: the code is read from the database and checked here. */
static int run_uscc(stpm_db *db, const char *const *p, stpm_integrity_result *out, stpm_error *err)
{
    int rc = 0;
    stpm_strbuf ev = STPM_STRBUF_INIT;
    PGresult *res =
        stpm_px_exec(db, sql_uscc, 1, p, PGRES_TUPLES_OK, "cannot run check uscc_valid", &rc, err);
    if (!res)
        goto cleanup;
    if (PQntuples(res) == 0) {
        rc = stpm_error_set(err, STPM_ENOTFOUND, "project %s does not exist", p[0]);
        goto cleanup;
    }
    const char *uscc = PQgetvalue(res, 0, 0), *name = PQgetvalue(res, 0, 1);
    char why[128] = "";
    bool ok = stpm_uscc_validate(uscc, NULL, why, sizeof(why)) == 0;
    stpm_strbuf_puts(&ev, "{\"check\": \"uscc_valid\", \"project\": ");
    stpm_px_json_string(&ev, PQgetvalue(res, 0, 2));
    stpm_strbuf_printf(&ev, ", \"as_of\": \"%s\", \"passed\": %s, \"org\": ", p[1],
                       ok ? "true" : "false");
    stpm_px_json_string(&ev, uscc);
    stpm_strbuf_puts(&ev, ", \"reason\": ");
    stpm_px_json_string(&ev, ok ? NULL : why);
    stpm_strbuf_putc(&ev, '}');
    out->passed = ok;
    out->summary =
        ok ? stpm_asprintf("org %s (%s) has a valid unified social credit code", uscc, name)
           : stpm_asprintf("org %s (%s) has an invalid unified social credit code: %s", uscc, name,
                           why);
    out->evidence_json = stpm_strbuf_detach(&ev);
    if (!out->summary || !out->evidence_json)
        rc = stpm_error_set(err, STPM_ERROR, "out of memory");
cleanup:
    stpm_strbuf_free(&ev);
    PQclear(res);
    return rc;
}

/* no_duplicate's threshold for the `%` operator, local to the current transaction. */
static int set_threshold(stpm_db *db, const char *threshold, stpm_error *err)
{
    int rc = 0;
    const char *p[1] = {threshold};
    PGresult *res = stpm_px_exec(db, "SELECT set_config('pg_trgm.similarity_threshold', $1, true)",
                                 1, p, PGRES_TUPLES_OK, "cannot run check no_duplicate", &rc, err);
    PQclear(res);
    return rc;
}

int stpm_integrity_run(stpm_db *db, const char *check, const char *project_id,
                       const stpm_integrity_params *params, stpm_date today,
                       stpm_integrity_result *out, stpm_error *err)
{
    int rc = 0;
    bool own = false, began = false;
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
    int n = 2;
    if (c->param == PARAM_SIMILARITY) {
        p[2] = params && params->has_similarity ? params->similarity
                                                : STPM_INTEGRITY_DEFAULT_SIMILARITY;
        n = 3;
    } else if (c->param == PARAM_MAX) {
        snprintf(max_s, sizeof(max_s), "%d",
                 params && params->has_max ? params->max : STPM_INTEGRITY_DEFAULT_MAX);
        p[2] = max_s;
        n = 3;
    }
    if (!c->sql) {
        rc = run_uscc(db, p, out, err);
        goto cleanup;
    }
    if (c->param == PARAM_SIMILARITY) {
        if ((rc = stpm_px_begin(db, &own, err)) < 0)
            goto cleanup;
        began = true;
        if ((rc = set_threshold(db, p[2], err)) < 0)
            goto cleanup;
    }
    char what[64];
    snprintf(what, sizeof(what), "cannot run check %s", c->name);
    res = stpm_px_exec(db, c->sql, n, p, PGRES_TUPLES_OK, what, &rc, err);
    if (!res)
        goto cleanup;
    if (PQntuples(res) == 0) {
        rc = stpm_error_set(err, STPM_ENOTFOUND, "project %s does not exist", project_id);
        goto cleanup;
    }
    out->passed = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    out->summary = stpm_strdup(PQgetvalue(res, 0, 1));
    out->evidence_json = stpm_strdup(PQgetvalue(res, 0, 2));
    if (!out->summary || !out->evidence_json)
        rc = stpm_error_set(err, STPM_ERROR, "out of memory");
cleanup:
    PQclear(res);
    if (began)
        rc = stpm_px_end(db, own, rc, err);
    if (rc < 0)
        stpm_integrity_result_clear(out);
    return rc;
}

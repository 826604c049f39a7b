/* stpm project todo: what the connected role can take now, in bulk (stpm/agenda.h).
 *
 * The projects in a state that is not final are grouped by version and state; each
 * transition out of it that the role may take is decided by the server's own function
 * (stpm.project_advance_many, 070: the rules, the guards, the integrity checks, exactly as
 * a transition would be decided) inside a transaction that is rolled back, so nothing is
 * written: the `why` of many projects at once, a chunk of projects per round trip. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "project/px.h"
#include "store/query.h"
#include "store/wf_store_internal.h"
#include "stpm/agenda.h"
#include "stpm/workflow.h"
#include "util/server_text.h"

static const char todo_projects_sql[] =
    "SELECT p.code, p.state, p.workflow_id,"
    " pg_has_role(session_user, 'stpm_officer', 'MEMBER'),"
    " pg_has_role(session_user, 'stpm_admin', 'MEMBER'),"
    " pg_has_role(session_user, 'stpm_expert', 'MEMBER')"
    " FROM stpm.projects p JOIN stpm.workflow_states ws"
    "   ON ws.workflow_id = p.workflow_id AND ws.name = p.state"
    " WHERE NOT ws.final AND (NOT $1::boolean"
    "   OR EXISTS (SELECT 1 FROM stpm.project_assignments a"
    "               WHERE a.project_id = p.id AND a.officer = session_user)"
    "   OR EXISTS (SELECT 1 FROM stpm.events e"
    "               WHERE e.project_id = p.id AND e.actor = session_user))"
    " ORDER BY p.workflow_id, p.state, p.code";

/* Rows: allowed, then one reason per row (a block's message, or the error's). */
static const char todo_decide_sql[] =
    "SELECT j->>'code', coalesce((j->>'allowed')::boolean, false),"
    " coalesce(j#>>'{error,message}', ''),"
    " ARRAY(SELECT b->>'message' FROM jsonb_array_elements(coalesce(j->'blocks', '[]')) b)"
    "   ::text"
    " FROM stpm.project_advance_many($1::text[], $2, $3::date, '{}', NULL, false) j";

#define TODO_CHUNK 500

void stpm_todo_free(stpm_todo *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++) {
        stpm_todo_group *g = &t->groups[i];
        free(g->transition);
        free(g->label);
        free(g->from);
        free(g->to);
        free(g->command);
        for (size_t k = 0; k < g->n_reasons; k++)
            free(g->reasons[k].message);
        free(g->reasons);
    }
    free(t->groups);
    free(t);
}

static stpm_todo_group *group_for(stpm_todo *t, const stpm_wf_transition *tr, const char *from)
{
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->groups[i].transition, tr->name) == 0 && strcmp(t->groups[i].from, from) == 0)
            return &t->groups[i];
    stpm_todo_group *grown = realloc(t->groups, (t->n + 1) * sizeof(*grown));
    if (!grown)
        return NULL;
    t->groups = grown;
    stpm_todo_group *g = &t->groups[t->n++];
    memset(g, 0, sizeof(*g));
    g->transition = stpm_strdup(tr->name);
    g->label = stpm_strdup(tr->label ? tr->label : tr->name);
    g->from = stpm_strdup(from);
    g->to = stpm_strdup(tr->to);
    g->command = stpm_asprintf("stpm project advance --where 'state=%s' %s", from, tr->name);
    if (!g->transition || !g->label || !g->from || !g->to || !g->command)
        return NULL;
    return g;
}

/* Count the server's reason msg in g, kept in the user's language. */
static int count_reason(stpm_todo_group *g, const char *msg)
{
    int rc = -1;
    char *t = stpm_server_text(msg);
    if (!t)
        goto cleanup;
    for (size_t k = 0; k < g->n_reasons; k++)
        if (strcmp(g->reasons[k].message, t) == 0) {
            g->reasons[k].n++;
            rc = 0;
            goto cleanup;
        }
    stpm_todo_reason *grown = realloc(g->reasons, (g->n_reasons + 1) * sizeof(*grown));
    if (!grown)
        goto cleanup;
    g->reasons = grown;
    g->reasons[g->n_reasons].message = t;
    g->reasons[g->n_reasons++].n = 1;
    t = NULL;
    rc = 0;
cleanup:
    free(t);
    return rc;
}

/* Take the reasons of a text[] literal ({"a","b c"}) into g. */
static int count_reasons(stpm_todo_group *g, const char *arr)
{
    stpm_strbuf cur = STPM_STRBUF_INIT;
    int rc = 0;
    const char *p = arr[0] == '{' ? arr + 1 : arr;
    while (*p && *p != '}' && rc == 0) {
        stpm_strbuf_reset(&cur);
        if (*p == '"') {
            for (p++; *p && *p != '"'; p++) {
                if (*p == '\\' && p[1])
                    p++;
                stpm_strbuf_putc(&cur, *p);
            }
            if (*p == '"')
                p++;
        } else {
            for (; *p && *p != ',' && *p != '}'; p++)
                stpm_strbuf_putc(&cur, *p);
        }
        if (*p == ',')
            p++;
        rc = cur.oom ? -1 : count_reason(g, stpm_strbuf_str(&cur));
    }
    stpm_strbuf_free(&cur);
    return rc;
}

/* Decide transition tr for codes[from..to) and count the outcomes into g. */
static int decide(stpm_db *db, stpm_todo_group *g, const stpm_wf_transition *tr, PGresult *pr,
                  int from, int to, const char *today, stpm_error *err)
{
    stpm_strbuf codes = STPM_STRBUF_INIT;
    PGresult *r = NULL;
    int rc = 0;
    for (int i = from; i < to; i++)
        stpm_strbuf_array_item(&codes, PQgetvalue(pr, i, 0));
    stpm_strbuf_array_end(&codes);
    if (codes.oom) {
        rc = stpm_error_set(err, STPM_ERROR, "out of memory");
        goto cleanup;
    }
    const char *p[] = {stpm_strbuf_str(&codes), tr->name, today};
    if ((rc = stpm_query(db, todo_decide_sql, 3, p, &r, "cannot decide the transitions", err)) < 0)
        goto cleanup;
    for (int row = 0; row < PQntuples(r); row++) {
        if (strcmp(PQgetvalue(r, row, 1), "t") == 0) {
            g->n_ready++;
            continue;
        }
        g->n_blocked++;
        const char *e = PQgetvalue(r, row, 2);
        if ((*e ? count_reason(g, e) : count_reasons(g, PQgetvalue(r, row, 3))) < 0) {
            rc = stpm_error_set(err, STPM_ERROR, "out of memory");
            goto cleanup;
        }
    }
cleanup:
    PQclear(r);
    stpm_strbuf_free(&codes);
    return rc;
}

/* The decisions for the n rows of pr (projects by state and workflow version), in a
 * transaction that is rolled back: every transition the connected role may take from
 * each state, taken and counted into t. */
static int todo_decide(stpm_db *db, PGresult *pr, int n, const char *d, stpm_todo *t,
                       stpm_error *err)
{
    bool own = false;
    int rc = 0;
    unsigned roles = (strcmp(PQgetvalue(pr, 0, 3), "t") == 0 ? STPM_ROLE_OFFICER : 0) |
                     (strcmp(PQgetvalue(pr, 0, 4), "t") == 0 ? STPM_ROLE_ADMIN : 0) |
                     (strcmp(PQgetvalue(pr, 0, 5), "t") == 0 ? STPM_ROLE_EXPERT : 0);
    if ((rc = stpm_px_begin(db, &own, err)) < 0)
        return rc;
    for (int i = 0; i < n && rc == 0;) {
        int j = i;
        while (j < n && strcmp(PQgetvalue(pr, j, 1), PQgetvalue(pr, i, 1)) == 0 &&
               strcmp(PQgetvalue(pr, j, 2), PQgetvalue(pr, i, 2)) == 0)
            j++;
        const stpm_workflow *wf = NULL;
        const char *state = PQgetvalue(pr, i, 1);
        if ((rc = stpm_wfstore_by_id(db, PQgetvalue(pr, i, 2), &wf, err)) < 0)
            break;
        for (size_t k = 0; k < stpm_workflow_n_transitions(wf) && rc == 0; k++) {
            const stpm_wf_transition *tr = stpm_workflow_transition(wf, k);
            if (!stpm_wf_transition_leaves(tr, state) || !(tr->roles & roles))
                continue;
            stpm_todo_group *g = group_for(t, tr, state);
            if (!g) {
                rc = stpm_error_set(err, STPM_ERROR, "out of memory");
                break;
            }
            /* Each transition from the state as it is: what one took is taken back. */
            if ((rc = stpm_query_simple(db, "SAVEPOINT stpm_todo", "cannot decide the transitions",
                                        err)) < 0)
                break;
            for (int c = i; c < j && rc == 0; c += TODO_CHUNK)
                rc = decide(db, g, tr, pr, c, c + TODO_CHUNK < j ? c + TODO_CHUNK : j, d, err);
            stpm_error e = STPM_ERROR_INIT;
            int rb = stpm_query_simple(db, "ROLLBACK TO SAVEPOINT stpm_todo",
                                       "cannot decide the transitions", &e);
            if (rb < 0 && rc == 0) {
                stpm_error_move(err, &e);
                rc = rb;
            }
            stpm_error_clear(&e);
        }
        i = j;
    }
    /* Nothing of the decisions is kept: the transaction is only there to be rolled back. */
    if (own)
        stpm_query_rollback(db);
    return rc;
}

int stpm_project_todo(stpm_db *db, stpm_date today, bool mine, stpm_todo **out, stpm_error *err)
{
    stpm_todo *t = calloc(1, sizeof(*t));
    PGresult *pr = NULL;
    char d[11];
    int rc = 0;
    *out = NULL;
    if (!t)
        return stpm_error_set(err, STPM_ERROR, "out of memory");
    stpm_date_format(today, d);
    const char *p[] = {mine ? "true" : "false"};
    if (!(pr = stpm_px_exec(db, todo_projects_sql, 1, p, PGRES_TUPLES_OK,
                            "cannot list the projects", &rc, err)))
        goto cleanup;
    int n = PQntuples(pr);
    if (n > 0)
        rc = todo_decide(db, pr, n, d, t, err);
    if (rc < 0)
        goto cleanup;
    *out = t;
    t = NULL;
cleanup:
    PQclear(pr);
    stpm_todo_free(t);
    return rc;
}

/* The officer's agenda (stpm/agenda.h, docs/agenda.md).
 *
 * One query finds the candidates, each through an index whatever the number of projects:
 * the due dates of the periods containing the day (stpm.project_states, 086's index), the
 * projects overdue then (stpm.overdue_as_of: 应结未结 has one definition, 081), the
 * projects in a state with a timer (necessary condition in SQL, the exact day in C as
 * `tick` decides it), and the open scheduled checks (stpm.project_checks, 082; asked only
 * of projects whose version declares checks and whose date field puts them in the window).
 * C adds what people read: the labels, the days and working days left, the transition
 * that meets each deadline and the command to run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "project/px.h"
#include "store/query.h"
#include "store/wf_store_internal.h"
#include "stpm/agenda.h"
#include "stpm/engine.h"
#include "stpm/workflow.h"

const char *stpm_deadline_kind_name(stpm_deadline_kind k)
{
    switch (k) {
    case STPM_DEADLINE_DUE:
        return "due";
    case STPM_DEADLINE_OVERDUE:
        return "overdue";
    case STPM_DEADLINE_TIMER:
        return "timer";
    case STPM_DEADLINE_CHECK:
        return "check";
    }
    return "due";
}

/* $1 as of, $2 the last day of the window, $3 plan code or NULL, $4 mine.
 *
 * The due and overdue branches read the periods alone (through their indexes); the outer
 * query joins each candidate to its project once, and there to the state of its version
 * for the due field (a due date counts only for a state its version has). --plan and
 * --mine restrict every branch, before the projects are read (the events are asked one
 * project at a time: OFFSET 0 keeps the planner from hashing all of them). Each candidate
 * looks its project up by its key (OFFSET 0 again: else the planner reads all of projects
 * for a few thousand candidates). */
static const char agenda_sql[] =
    "WITH cand AS ("
    /* the due date of the state the project is in at the end of $1, still in time */
    " SELECT d.* FROM ("
    " SELECT s.project_id, 'due'::text AS kind, s.state, NULL::text AS what, s.due,"
    "        false AS overdue, s.from_date AS since"
    "   FROM stpm.project_states s"
    "  WHERE s.due IS NOT NULL AND NOT s.final AND s.due >= $1::date AND s.due <= $2::date"
    "    AND s.from_date <= $1::date AND coalesce(s.to_date, 'infinity') > $1::date"
    "  OFFSET 0) d"
    " WHERE (NOT $4::boolean"
    "         OR EXISTS (SELECT 1 FROM stpm.project_assignments a"
    "                     WHERE a.project_id = d.project_id AND a.officer = session_user OFFSET 0)"
    "         OR EXISTS (SELECT 1 FROM stpm.events e"
    "                     WHERE e.project_id = d.project_id AND e.actor = session_user OFFSET 0))"
    " UNION ALL"
    /* 应结未结 as of $1 */
    " SELECT o.* FROM ("
    " SELECT o.project_id, 'overdue', o.state, NULL, o.due, true, o.since"
    "   FROM stpm.overdue_as_of($1::date) o"
    "  OFFSET 0) o"
    " WHERE (NOT $4::boolean"
    "         OR EXISTS (SELECT 1 FROM stpm.project_assignments a"
    "                     WHERE a.project_id = o.project_id AND a.officer = session_user OFFSET 0)"
    "         OR EXISTS (SELECT 1 FROM stpm.events e"
    "                     WHERE e.project_id = o.project_id AND e.actor = session_user OFFSET 0))"
    " UNION ALL"
    /* timers of the state at the end of $1: n working days are at least n days */
    " SELECT s.project_id, 'timer', s.state, ws.timeout_transition, NULL::date, false,"
    "        s.from_date"
    "   FROM stpm.workflow_states ws JOIN stpm.project_states s ON s.state = ws.name"
    "    AND coalesce(s.to_date, 'infinity') > $1::date AND s.from_date <= $1::date"
    "   JOIN stpm.projects p ON p.id = s.project_id AND p.workflow_id = ws.workflow_id"
    "  WHERE ws.timeout_n IS NOT NULL"
    "    AND s.from_date + CASE ws.timeout_unit"
    "      WHEN 'mo' THEN make_interval(months => ws.timeout_n)"
    "      WHEN 'y' THEN make_interval(years => ws.timeout_n)"
    "      ELSE make_interval(days => ws.timeout_n) END <= $2::date"
    "    AND ($3::text IS NULL"
    "         OR p.plan_id = (SELECT pl.id FROM stpm.plans pl WHERE pl.code = $3::text))"
    "    AND (NOT $4::boolean"
    "         OR EXISTS (SELECT 1 FROM stpm.project_assignments a"
    "                     WHERE a.project_id = s.project_id AND a.officer = session_user OFFSET 0)"
    "         OR EXISTS (SELECT 1 FROM stpm.events e"
    "                     WHERE e.project_id = s.project_id AND e.actor = session_user OFFSET 0))"
    " UNION ALL"
    /* open scheduled checks falling due by $2 (the projects of a version with checks
     * first: --mine asks the events only of those; OFFSET 0 keeps it there) */
    " SELECT k.* FROM ("
    " SELECT p.id AS project_id, 'check', p.state, c.name, c.due, c.status = 'overdue',"
    "        p.state_since"
    "   FROM stpm.projects p JOIN stpm.workflow_states ws"
    "     ON ws.workflow_id = p.workflow_id AND ws.name = p.state AND NOT ws.final"
    "  CROSS JOIN LATERAL stpm.project_checks(p.id, $1::date) c"
    "  WHERE EXISTS (SELECT 1 FROM stpm.workflow_checks wc"
    "                 WHERE wc.workflow_id = p.workflow_id"
    "                   AND stpm.project_due(p, wc.of_field) + CASE wc.after_unit"
    "                     WHEN 'mo' THEN make_interval(months => wc.after_n)"
    "                     WHEN 'y' THEN make_interval(years => wc.after_n)"
    "                     ELSE make_interval(days => wc.after_n) END <= $2::date)"
    "    AND c.status IN ('scheduled', 'overdue') AND c.due <= $2::date"
    "    AND ($3::text IS NULL"
    "         OR p.plan_id = (SELECT pl.id FROM stpm.plans pl WHERE pl.code = $3::text))"
    "  OFFSET 0) k"
    " WHERE (NOT $4::boolean"
    "         OR EXISTS (SELECT 1 FROM stpm.project_assignments a"
    "                     WHERE a.project_id = k.project_id AND a.officer = session_user OFFSET 0)"
    "         OR EXISTS (SELECT 1 FROM stpm.events e"
    "                     WHERE e.project_id = k.project_id AND e.actor = session_user OFFSET 0))"
    ")"
    " SELECT c.kind, p.code, p.title, pl.code, c.state,"
    "        CASE WHEN c.kind IN ('due', 'overdue') THEN ws.due_field ELSE c.what END,"
    "        c.due::text, c.overdue, p.workflow_id, c.since::text"
    "   FROM cand c CROSS JOIN LATERAL"
    "        (SELECT p.code, p.title, p.plan_id, p.workflow_id FROM stpm.projects p"
    "          WHERE p.id = c.project_id OFFSET 0) p"
    "   JOIN stpm.plans pl ON pl.id = p.plan_id"
    "   LEFT JOIN stpm.workflow_states ws ON c.kind IN ('due', 'overdue')"
    "    AND ws.workflow_id = p.workflow_id AND ws.name = c.state"
    "  WHERE (c.kind <> 'due' OR ws.name IS NOT NULL)"
    "    AND ($3::text IS NULL OR pl.code = $3::text)";

void stpm_agenda_free(stpm_agenda *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->n; i++) {
        stpm_agenda_item *it = &a->items[i];
        free(it->code);
        free(it->title);
        free(it->plan);
        free(it->state);
        free(it->state_label);
        free(it->what);
        free(it->label);
        free(it->todo);
        free(it->command);
    }
    free(a->items);
    free(a);
}

static bool is_ending(const stpm_wf_state *s)
{
    return s &&
           (s->counts_as == STPM_MILESTONE_TERMINATED || s->counts_as == STPM_MILESTONE_REJECTED ||
            s->counts_as == STPM_MILESTONE_WITHDRAWN);
}

static bool sets_field(const stpm_wf_transition *t, const char *field)
{
    for (size_t k = 0; field && k < t->n_set; k++)
        if (strcmp(t->set[k].field, field) == 0)
            return true;
    return false;
}

/* The transitions that meet the deadline of `state` (its due field `due`): those leaving it
 * for another state that is not an ending (terminated, rejected, withdrawn) and need no
 * reason, and those staying in it that set the due field (an extension). */
static void meeting(const stpm_workflow *wf, const char *state, const char *due, stpm_strbuf *out)
{
    for (size_t i = 0; i < stpm_workflow_n_transitions(wf); i++) {
        const stpm_wf_transition *t = stpm_workflow_transition(wf, i);
        if (!stpm_wf_transition_leaves(t, state))
            continue;
        bool self = strcmp(t->to, state) == 0;
        if (self ? !sets_field(t, due)
                 : (t->require_reason || is_ending(stpm_workflow_find_state(wf, t->to))))
            continue;
        if (out->len)
            stpm_strbuf_puts(out, ", ");
        stpm_strbuf_puts(out, t->name);
    }
}

/* Fill the words of item `it` (kind, state and what already set). */
static int describe(const stpm_workflow *wf, stpm_agenda_item *it)
{
    stpm_strbuf todo = STPM_STRBUF_INIT, label = STPM_STRBUF_INIT, cmd = STPM_STRBUF_INIT;
    const stpm_wf_state *st = stpm_workflow_find_state(wf, it->state);
    int rc = 0;
    switch (it->kind) {
    case STPM_DEADLINE_DUE:
    case STPM_DEADLINE_OVERDUE: {
        const stpm_wf_field *f = it->what ? stpm_workflow_find_field(wf, it->what) : NULL;
        if (it->kind == STPM_DEADLINE_OVERDUE && (!st || !st->due || !f))
            stpm_strbuf_puts(&label, _("missed deadline"));
        else
            stpm_strbuf_puts(&label, f && f->label ? f->label : it->what ? it->what : "due");
        meeting(wf, it->state, it->what, &todo);
        break;
    }
    case STPM_DEADLINE_TIMER: {
        const stpm_wf_transition *t = stpm_workflow_find_transition(wf, it->what);
        stpm_strbuf_printf(&label, "%s → %s", st ? st->label : it->state,
                           t && t->label ? t->label : it->what);
        stpm_strbuf_puts(&todo, it->what);
        stpm_strbuf_puts(&cmd, "stpm tick");
        break;
    }
    case STPM_DEADLINE_CHECK:
        for (size_t i = 0; i < stpm_workflow_n_scheduled_checks(wf); i++) {
            const stpm_wf_scheduled_check *c = stpm_workflow_scheduled_check(wf, i);
            if (strcmp(c->name, it->what) == 0) {
                stpm_strbuf_puts(&label, c->label ? c->label : c->name);
                stpm_strbuf_puts(&todo, c->pass);
            }
        }
        if (!label.len)
            stpm_strbuf_puts(&label, it->what);
        break;
    }
    if (!cmd.len && todo.len) {
        size_t n = strcspn(stpm_strbuf_str(&todo), ",");
        stpm_strbuf_printf(&cmd, "stpm project advance %s %.*s", it->code, (int)n,
                           stpm_strbuf_str(&todo));
    }
    if (todo.oom || label.oom || cmd.oom) {
        rc = STPM_ERROR;
        goto cleanup;
    }
    it->state_label = stpm_strdup(st ? st->label : it->state);
    it->todo = stpm_strdup(stpm_strbuf_str(&todo));
    it->label = stpm_strdup(stpm_strbuf_str(&label));
    it->command = stpm_strdup(stpm_strbuf_str(&cmd));
    if (!it->state_label || !it->todo || !it->label || !it->command)
        rc = STPM_ERROR;
cleanup:
    stpm_strbuf_free(&todo);
    stpm_strbuf_free(&label);
    stpm_strbuf_free(&cmd);
    return rc;
}

static int item_cmp(const void *pa, const void *pb)
{
    const stpm_agenda_item *a = pa, *b = pb;
    if (a->overdue != b->overdue)
        return a->overdue ? -1 : 1;
    if (a->due != b->due)
        return a->due < b->due ? -1 : 1;
    int c = strcmp(a->code, b->code);
    if (c)
        return c;
    return (int)a->kind - (int)b->kind;
}

/* Read one row of agenda_sql into *it; 1 when it falls outside the window (a timer that
 * fires later), 0 when kept, negative on error. */
static int take_row(stpm_db *db, const stpm_calendar *cal, const stpm_agenda *a, PGresult *r,
                    int row, stpm_agenda_item *it, stpm_error *err)
{
    const char *kind = PQgetvalue(r, row, 0);
    const stpm_workflow *wf = NULL;
    int rc = stpm_wfstore_by_id(db, PQgetvalue(r, row, 8), &wf, err);
    if (rc < 0)
        return rc;
    it->kind = strcmp(kind, "overdue") == 0 ? STPM_DEADLINE_OVERDUE
               : strcmp(kind, "timer") == 0 ? STPM_DEADLINE_TIMER
               : strcmp(kind, "check") == 0 ? STPM_DEADLINE_CHECK
                                            : STPM_DEADLINE_DUE;
    it->overdue = strcmp(PQgetvalue(r, row, 7), "t") == 0;
    it->code = stpm_px_value(r, row, 1);
    it->title = stpm_px_value(r, row, 2);
    it->plan = stpm_px_value(r, row, 3);
    it->state = stpm_px_value(r, row, 4);
    it->what = stpm_px_value(r, row, 5);
    if (!it->code || !it->state)
        return stpm_error_set(err, STPM_ERROR, "out of memory");
    if (it->kind == STPM_DEADLINE_TIMER) {
        stpm_date since = 0, fire_on = 0;
        const stpm_wf_transition *t = NULL;
        if (stpm_date_parse(PQgetvalue(r, row, 9), &since) < 0)
            return stpm_error_set(err, STPM_ERROR, "project %s: bad state_since", it->code);
        rc = stpm_engine_timer(wf, it->state, since, cal, &fire_on, &t, err);
        if (rc < 0)
            return rc;
        if (rc == 0 || fire_on > a->until)
            return 1;
        it->due = fire_on;
    } else if (PQgetisnull(r, row, 6) || stpm_date_parse(PQgetvalue(r, row, 6), &it->due) < 0) {
        return stpm_error_set(err, STPM_ERROR, "project %s: no date for its %s deadline", it->code,
                              kind);
    }
    it->days_left = (int)(it->due - a->as_of);
    it->workdays_left = (int)stpm_calendar_workdays_between(cal, a->as_of, it->due);
    if (describe(wf, it) < 0)
        return stpm_error_set(err, STPM_ERROR, "out of memory");
    return 0;
}

int stpm_agenda_list(stpm_db *db, const stpm_agenda_options *o, stpm_agenda **out, stpm_error *err)
{
    stpm_agenda *a = calloc(1, sizeof(*a));
    const stpm_calendar *cal = NULL;
    PGresult *r = NULL;
    char d1[11], d2[11];
    int rc = 0;
    *out = NULL;
    if (!a)
        return stpm_error_set(err, STPM_ERROR, "out of memory");
    a->as_of = o->as_of;
    if ((rc = stpm_store_calendar(db, &cal, err)) < 0)
        goto cleanup;
    if (o->within_n < 0 ||
        stpm_duration_add(cal, o->as_of, o->within_unit, o->within_n, &a->until) < 0) {
        rc = stpm_error_set(err, STPM_EUSAGE, "the window --within reaches past the calendar");
        goto cleanup;
    }
    stpm_calendar_warnings_add(&a->warnings, cal, a->as_of, a->until);
    if (o->plan) {
        const char *p[] = {o->plan};
        PGresult *pr = stpm_px_exec(db, "SELECT 1 FROM stpm.plans WHERE code = $1", 1, p,
                                    PGRES_TUPLES_OK, "cannot read plans", &rc, err);
        if (!pr)
            goto cleanup;
        bool found = PQntuples(pr) > 0;
        PQclear(pr);
        if (!found) {
            rc = stpm_error_set(err, STPM_ENOTFOUND, "plan %s does not exist", o->plan);
            stpm_error_hint(err, "List the plans with \"stpm plan list\".");
            goto cleanup;
        }
    }
    const char *params[] = {stpm_date_format(o->as_of, d1), stpm_date_format(a->until, d2), o->plan,
                            o->mine ? "true" : "false"};
    if (!(r = stpm_px_exec(db, agenda_sql, 4, params, PGRES_TUPLES_OK, "cannot make the agenda",
                           &rc, err)))
        goto cleanup;
    int n = PQntuples(r);
    if (!(a->items = calloc((size_t)n + 1, sizeof(*a->items)))) {
        rc = stpm_error_set(err, STPM_ERROR, "out of memory");
        goto cleanup;
    }
    for (int row = 0; row < n; row++) {
        stpm_agenda_item *it = &a->items[a->n++];
        rc = take_row(db, cal, a, r, row, it, err);
        if (rc < 0)
            goto cleanup;
        if (rc == 1) { /* outside the window: give the slot back */
            free(it->code);
            free(it->title);
            free(it->plan);
            free(it->state);
            free(it->what);
            memset(it, 0, sizeof(*it));
            a->n--;
        } else {
            stpm_calendar_warnings_add(&a->warnings, cal, a->as_of, it->due);
        }
        rc = 0;
    }
    qsort(a->items, a->n, sizeof(*a->items), item_cmp);
    *out = a;
    a = NULL;
cleanup:
    PQclear(r);
    stpm_agenda_free(a);
    return rc;
}

int stpm_project_assign(stpm_db *db, const char *code, const char *officer, stpm_date today,
                        bool *changed, stpm_error *err)
{
    char d[11];
    const char *p[] = {code, officer, stpm_date_format(today, d)};
    PGresult *r = NULL;
    int rc = stpm_query_call(db, "SELECT stpm.project_assign($1, $2, $3::date)", 3, p, &r,
                             "cannot assign the project", err);
    if (rc == 0 && changed)
        *changed = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    return rc;
}

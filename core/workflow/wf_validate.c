/* Graph checks of a workflow whose names all resolve: every state reachable from the
 * initial state, every non-final state with a way out, no final state with one. */
#include <stdlib.h>
#include <string.h>

#include "workflow/wf_internal.h"

static size_t index_of(const stpm_workflow *wf, const char *name)
{
    for (size_t i = 0; i < wf->n_states; i++)
        if (strcmp(wf->states[i].name, name) == 0)
            return i;
    return SIZE_MAX;
}

void wf_validate_graph(const stpm_workflow *wf, const wf_loc *locs, wf_diags *d)
{
    size_t n = wf->n_states;
    bool *seen = calloc(n ? n : 1, sizeof(*seen));
    size_t *queue = calloc(n ? n : 1, sizeof(*queue));
    size_t *out_degree = calloc(n ? n : 1, sizeof(*out_degree));
    if (!seen || !queue || !out_degree)
        goto cleanup;

    for (size_t t = 0; t < wf->n_transitions; t++) {
        const stpm_wf_transition *tr = &wf->transitions[t];
        for (size_t f = 0; f < tr->n_from; f++) {
            size_t i = index_of(wf, tr->from[f]);
            if (i != SIZE_MAX)
                out_degree[i]++;
        }
    }

    size_t head = 0, tail = 0, start = index_of(wf, wf->initial);
    if (start == SIZE_MAX)
        goto cleanup;
    seen[start] = true;
    queue[tail++] = start;
    while (head < tail) {
        const char *s = wf->states[queue[head++]].name;
        for (size_t t = 0; t < wf->n_transitions; t++) {
            const stpm_wf_transition *tr = &wf->transitions[t];
            if (!stpm_wf_transition_leaves(tr, s))
                continue;
            size_t j = index_of(wf, tr->to);
            if (j != SIZE_MAX && !seen[j]) {
                seen[j] = true;
                queue[tail++] = j;
            }
        }
    }

    for (size_t i = 0; i < n; i++) {
        const stpm_wf_state *s = &wf->states[i];
        if (!seen[i])
            wf_diag(d, locs[i].line, locs[i].col,
                    "state \"%s\" cannot be reached from the initial state \"%s\"", s->name,
                    wf->initial);
        if (!s->final && out_degree[i] == 0)
            wf_diag(d, locs[i].line, locs[i].col,
                    "state \"%s\" is not final but no transition leaves it", s->name);
        if (s->final && out_degree[i] > 0)
            wf_diag(d, locs[i].line, locs[i].col,
                    "state \"%s\" is final but %zu transition%s leave%s it", s->name, out_degree[i],
                    out_degree[i] == 1 ? "" : "s", out_degree[i] == 1 ? "s" : "");
    }
cleanup:
    free(seen);
    free(queue);
    free(out_degree);
}

/* ---- scheduled checks (`checks:`) ------------------------------------------------------ */

static const char *const outcome_names[3] = {"pass", "rectify", "fail"};

static bool leaves_any(const stpm_wf_transition *t, const stpm_wf_scheduled_check *c)
{
    for (size_t i = 0; i < c->n_in; i++)
        if (stpm_wf_transition_leaves(t, c->in[i]))
            return true;
    return false;
}

void wf_validate_scheduled_checks(const stpm_workflow *wf, const wf_check_locs *locs, wf_diags *d)
{
    for (size_t i = 0; i < wf->n_scheduled_checks; i++) {
        const stpm_wf_scheduled_check *c = &wf->scheduled_checks[i];
        const wf_check_locs *l = &locs[i];
        if (!c->name)
            continue;
        for (size_t k = 0; k < c->n_in; k++) {
            const stpm_wf_state *s = stpm_workflow_find_state(wf, c->in[k]);
            if (s && s->final)
                wf_diag(d, l->in.line, l->in.col,
                        "check \"%s\" applies in final state \"%s\" (a check is held while the "
                        "project runs)",
                        c->name, s->name);
        }
        const char *outcome[3] = {c->pass, c->rectify, c->fail};
        for (int k = 0; k < 3; k++) {
            if (!outcome[k])
                continue;
            const wf_loc *at = &l->outcome[k];
            for (int j = 0; j < k; j++)
                if (outcome[j] && strcmp(outcome[j], outcome[k]) == 0)
                    wf_diag(d, at->line, at->col,
                            "transition \"%s\" is both the %s and the %s outcome of check \"%s\"",
                            outcome[k], outcome_names[j], outcome_names[k], c->name);
            const stpm_wf_transition *t = stpm_workflow_find_transition(wf, outcome[k]);
            if (t && c->n_in > 0 && !leaves_any(t, c))
                wf_diag(d, at->line, at->col,
                        "%s transition \"%s\" of check \"%s\" does not leave any state the "
                        "check applies in",
                        outcome_names[k], t->name, c->name);
        }
    }
}

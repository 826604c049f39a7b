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

/* Internal model of a loaded workflow, shared by the loader, the validator, the engine
 * and the graph writer. Every string and small array lives in the workflow's arena and
 * is released with it; expressions and default values are released one by one. */
#ifndef STPM_WORKFLOW_WF_INTERNAL_H
#define STPM_WORKFLOW_WF_INTERNAL_H

#include <stdarg.h>
#include <yaml.h>

#include "stpm/workflow.h"

typedef struct wf_chunk wf_chunk;

struct stpm_workflow {
    wf_chunk *arena;
    bool oom;

    char *source; /* the bytes loaded, NUL-terminated */
    size_t source_len;
    char digest[65];

    const char *name;
    int version;
    const char *title;
    const char *description;
    const char *initial;

    stpm_wf_state *states;
    size_t n_states;
    stpm_wf_field *fields; /* the workflow's own fields (built-ins are a static table) */
    size_t n_fields;
    stpm_wf_transition *transitions;
    size_t n_transitions;
    stpm_wf_document *documents;
    size_t n_documents;

    stpm_error warnings; /* its diags are the warnings (stpm_workflow_warning) */

    stpm_expr **exprs; /* every parsed expression, for release */
    size_t n_exprs, cap_exprs;

    stpm_wf_scheduled_check *scheduled_checks; /* the top-level `checks:` */
    size_t n_scheduled_checks;
};

/* Arena allocation: zeroed memory owned by wf; NULL (and wf->oom) when memory runs out. */
void *wf_alloc(stpm_workflow *wf, size_t size);
char *wf_strndup(stpm_workflow *wf, const char *s, size_t n);
char *wf_strdup(stpm_workflow *wf, const char *s);
/* Keep e for release with the workflow; 0 or -1 on out of memory (e is freed then). */
int wf_keep_expr(stpm_workflow *wf, stpm_expr *e);
stpm_workflow *wf_new(void);

/* true for [a-z][a-z0-9_]*, at most 63 bytes. */
bool wf_is_identifier(const char *s);
/* Parse "5wd", "30d", "6mo", "1y" (n from 1 to 100000); 0 or -1. */
int wf_parse_duration(const char *s, stpm_wf_duration *out);
/* Parse a check name; 0 or -1. */
int wf_check_kind(const char *s, stpm_check_kind *out);
/* true when `input:` may name f: the workflow's own fields, amount_requested and
 * amount_approved; never the other built-ins. */
bool wf_field_may_be_input(const stpm_wf_field *f);
/* Parse a role name into its bit; 0 when unknown. */
unsigned wf_role_bit(const char *s);

/* Where a loaded element came from, for diagnostics of the validator. */
typedef struct wf_loc {
    int line, col;
} wf_loc;

/* The validation context: the file name and the error that collects diagnostics. */
typedef struct wf_diags {
    const char *file;
    stpm_error *err;
    size_t count;
} wf_diags;

void wf_diag(wf_diags *d, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Graph checks on a structurally valid workflow: unreachable states, non-final states with
 * no way out, final states with a way out. state_locs[i] is where state i is declared. */
void wf_validate_graph(const stpm_workflow *wf, const wf_loc *state_locs, wf_diags *d);

/* "applied" ... "withdrawn" (`counts_as:`); false when unknown. */
bool wf_milestone_parse(const char *s, stpm_milestone *out);
/* Where the parts of a scheduled check are written, for the validator: its name, its
 * `in:` and its three outcome transitions (0 lines when not written). */
typedef struct wf_check_locs {
    wf_loc name, in, outcome[3];
} wf_check_locs;

/* Checks of the scheduled checks whose names all resolve: the outcome transitions are
 * three different ones, each taken from a state of `in:`. locs[i] is check i's. */
void wf_validate_scheduled_checks(const stpm_workflow *wf, const wf_check_locs *locs, wf_diags *d);

#endif

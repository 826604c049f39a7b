/*
 * stpm — the pure workflow engine: what a project in some state may do next, why not, and
 * what taking a transition changes. No database: the caller supplies the project's fields,
 * attached documents, the acting user's roles, today, the calendar, whether a reason was
 * given and the results of the integrity checks (廉政准入), which the store computes.
 *
 *     stpm_engine_ctx ctx = STPM_ENGINE_CTX_INIT;
 *     ctx.state = "applied"; ctx.lookup = stpm_engine_fields_lookup; ctx.lookup_ctx = &fields;
 *     ctx.roles = STPM_ROLE_OFFICER; ctx.today = today; ctx.calendar = cal;
 *     stpm_engine_options opts;
 *     if (stpm_engine_list(wf, &ctx, &opts, &err) == 0) {
 *         for (size_t i = 0; i < opts.n; i++) ... opts.items[i].allowed, .blocks ...
 *         stpm_engine_options_free(&opts);
 *     }
 */
#ifndef STPM_ENGINE_H
#define STPM_ENGINE_H

#include "stpm/calendar.h"
#include "stpm/common.h"
#include "stpm/error.h"
#include "stpm/expr.h"
#include "stpm/workflow.h"

/* The outcome of one integrity check, as the caller computed it. */
typedef struct stpm_engine_check_result {
    const char *name; /* a check name, e.g. "credit_clean" */
    bool passed;
    const char *evidence; /* why it passed or failed, for people and the history; may be NULL */
} stpm_engine_check_result;

/* A simple field store for lookup_ctx: name → value (a STPM_TYPE_NULL value is "not set"). */
typedef struct stpm_engine_field {
    const char *name;
    stpm_value value;
} stpm_engine_field;

typedef struct stpm_engine_fields {
    const stpm_engine_field *items;
    size_t n;
} stpm_engine_fields;

/* An stpm_expr_value_fn over a stpm_engine_fields (ctx): copies the value of name, or
 * returns -1 when the array does not hold it (the engine then treats a field of the
 * workflow as not set). */
STPM_API int stpm_engine_fields_lookup(void *ctx, const char *name, stpm_value *out);

typedef struct stpm_engine_ctx {
    const char *state;         /* the project's current state */
    stpm_expr_value_fn lookup; /* the project's fields (built-in and the workflow's) */
    void *lookup_ctx;
    const char *const *documents; /* kinds of the documents attached */
    size_t n_documents;
    unsigned roles; /* STPM_ROLE_* memberships of the acting user */
    bool by_timer;  /* fired by `stpm tick`: roles are not checked */
    stpm_date today;
    const stpm_calendar *calendar; /* for `wd` durations; may be NULL if none occur */
    bool reason_given;
    const stpm_engine_check_result *checks; /* results of the checks the transitions name */
    size_t n_checks;
} stpm_engine_ctx;

#define STPM_ENGINE_CTX_INIT                                                                       \
    {                                                                                              \
        NULL, NULL, NULL, NULL, 0, 0, false, 0, NULL, false, NULL, 0                               \
    }

typedef enum {
    STPM_BLOCK_STATE,    /* the transition does not leave the current state */
    STPM_BLOCK_ROLE,     /* the acting user has none of the roles */
    STPM_BLOCK_FIELD,    /* a required field is not set (require: or required_in:) */
    STPM_BLOCK_DOCUMENT, /* a required document is not attached */
    STPM_BLOCK_REASON,   /* a reason is required */
    STPM_BLOCK_CHECK,    /* an integrity check failed or was not run */
    STPM_BLOCK_GUARD,    /* the `when:` guard is not true */
} stpm_block_kind;

/* One reason a transition is blocked. */
typedef struct stpm_engine_block {
    stpm_block_kind kind;
    char *subject;  /* the role list, field, document kind, check name or guard source */
    char *message;  /* a whole sentence for people, lower case, no full stop */
    char *evidence; /* a failed check's evidence, else NULL */
} stpm_engine_block;

typedef struct stpm_engine_option {
    const stpm_wf_transition *transition;
    bool allowed;
    stpm_engine_block *blocks; /* every reason, in the order: state, role, fields, documents,
                                  reason, checks, guard */
    size_t n_blocks;
} stpm_engine_option;

typedef struct stpm_engine_options {
    stpm_engine_option *items; /* one per transition leaving the state, in file order */
    size_t n;
} stpm_engine_options;

/* Every transition out of ctx->state, allowed or blocked with every reason. 0, or
 * STPM_ENOTFOUND for an unknown state, STPM_ERROR on out of memory. */
STPM_API int stpm_engine_list(const stpm_workflow *wf, const stpm_engine_ctx *ctx,
                              stpm_engine_options *out, stpm_error *err);
STPM_API void stpm_engine_options_free(stpm_engine_options *opts);

/* The same for one named transition (which need not leave the state: that is then a
 * STPM_BLOCK_STATE reason). STPM_ENOTFOUND for an unknown transition or state. */
STPM_API int stpm_engine_evaluate(const stpm_workflow *wf, const stpm_engine_ctx *ctx,
                                  const char *transition, stpm_engine_option *out, stpm_error *err);
STPM_API void stpm_engine_option_clear(stpm_engine_option *opt);

/* One field change made by a transition's `set:`. */
typedef struct stpm_engine_change {
    const char *field; /* owned by the workflow */
    stpm_value value;  /* of the field's type, or STPM_TYPE_NULL to unset */
} stpm_engine_change;

typedef struct stpm_engine_result {
    const stpm_wf_transition *transition;
    const char *from;
    const char *to;
    stpm_engine_change *changes; /* in the order of `set:`; a field set twice appears once */
    size_t n_changes;
} stpm_engine_result;

/* Take a transition: verify it is allowed (else STPM_EREFUSED, the reasons in the error's
 * detail), evaluate `set:` in order — each expression sees the changes before it — and
 * check that the fields required in the new state are set (else STPM_EREFUSED).
 * STPM_ENOTFOUND for an unknown transition; evaluation errors are STPM_EINPUT. */
STPM_API int stpm_engine_apply(const stpm_workflow *wf, const stpm_engine_ctx *ctx,
                               const char *transition, stpm_engine_result *out, stpm_error *err);
STPM_API void stpm_engine_result_clear(stpm_engine_result *res);

/* The date d + dur (calendar required for working days). 0, or STPM_EUSAGE when a
 * calendar is needed and missing. */
STPM_API int stpm_engine_add_duration(stpm_date d, stpm_wf_duration dur, const stpm_calendar *cal,
                                      stpm_date *out, stpm_error *err);

/* The timer of a state for a project that entered it on `entered`: 1 with *fire_on and
 * *transition set when the state has a timeout; 0 when it has none; negative on error
 * (unknown state: STPM_ENOTFOUND; working days without a calendar: STPM_EUSAGE). The timer
 * is due when today >= *fire_on. */
STPM_API int stpm_engine_timer(const stpm_workflow *wf, const char *state, stpm_date entered,
                               const stpm_calendar *cal, stpm_date *fire_on,
                               const stpm_wf_transition **transition, stpm_error *err);

/* The due date of a project in `state` (the value of the state's `due:` field): 1 with
 * *due set; 0 when the state has no due field or the field is not set; negative on error.
 * A project is overdue (应结未结) when today > *due. */
STPM_API int stpm_engine_due(const stpm_workflow *wf, const char *state, stpm_expr_value_fn lookup,
                             void *lookup_ctx, stpm_date *due, stpm_error *err);

#endif

/*
 * stpm — workflow definitions (DESIGN §5): one YAML file, one version of the state machine
 * that drives every project of a kind of plan (科技计划).
 *
 *     stpm_workflow *wf = NULL;
 *     stpm_error err = STPM_ERROR_INIT;
 *     if (stpm_workflow_load_file(&wf, "workflows/county_rugao.yaml", &err) < 0)
 *         ... err.diags holds every problem as FILE:LINE:COL: message ...
 *     for (size_t i = 0; i < stpm_workflow_n_states(wf); i++)
 *         puts(stpm_workflow_state(wf, i)->label);
 *     stpm_workflow_free(wf);
 *
 * Loading validates the whole file (structure, names, graph, expressions and their types)
 * and reports ALL problems of the file at once; on any problem nothing is returned. A
 * loaded workflow is immutable. The element views (stpm_wf_state, stpm_wf_field,
 * stpm_wf_transition) are owned by the workflow and valid until stpm_workflow_free.
 * The format is documented in docs/workflows.md.
 */
#ifndef STPM_WORKFLOW_H
#define STPM_WORKFLOW_H

#include "stpm/common.h"
#include "stpm/error.h"
#include "stpm/expr.h"

typedef struct stpm_workflow stpm_workflow;

/* The type of a workflow field, as written in YAML. */
typedef enum {
    STPM_FIELD_TEXT,    /* `text`: expression type string */
    STPM_FIELD_INTEGER, /* `integer`: int */
    STPM_FIELD_AMOUNT,  /* `amount`: decimal, 万元 */
    STPM_FIELD_DATE,    /* `date` */
    STPM_FIELD_BOOLEAN, /* `boolean`: bool */
} stpm_field_type;

/* Roles that may take a transition (`roles:`); a set is a bitmask. */
enum {
    STPM_ROLE_OFFICER = 1u << 0, /* 项目专管员, PostgreSQL role stpm_officer */
    STPM_ROLE_ADMIN = 1u << 1,   /* stpm_admin */
    STPM_ROLE_EXPERT = 1u << 2,  /* stpm_expert */
};

/* The integrity checks of 廉政准入 that `checks:` may name. */
typedef enum {
    STPM_CHECK_INTEGRITY_COMMITMENT, /* a signed 廉政承诺书 is attached */
    STPM_CHECK_CREDIT_CLEAN,         /* org not on an active blacklist entry */
    STPM_CHECK_NO_CONFLICT,          /* acting officer has no declared conflict */
    STPM_CHECK_NO_DUPLICATE,         /* param similarity: 0..1 */
    STPM_CHECK_LEADER_LIMIT,         /* param max: positive integer */
    STPM_CHECK_ORG_NO_OVERDUE,       /* org has no overdue unclosed project */
    STPM_CHECK_USCC_VALID,           /* the org's USCC check digit is right */
} stpm_check_kind;

/* A duration as written in YAML (`5wd`, `30d`, `6mo`, `1y`); n > 0. */
typedef struct stpm_wf_duration {
    stpm_duration_unit unit;
    int32_t n;
} stpm_wf_duration;

/* What a state counts as (`counts_as:`), never inferred from its name. */
typedef enum {
    STPM_MILESTONE_NONE, /* not given: counts as nothing (e.g. a reserve state) */
    STPM_MILESTONE_APPLIED,
    STPM_MILESTONE_ADMITTED,
    STPM_MILESTONE_APPROVED,
    STPM_MILESTONE_IN_PROGRESS,
    STPM_MILESTONE_ACCEPTED,   /* closed as accepted (结题验收通过) */
    STPM_MILESTONE_TERMINATED, /* closed as terminated (终止) */
    STPM_MILESTONE_REJECTED,   /* ended without approval (未立项) */
    STPM_MILESTONE_WITHDRAWN,  /* withdrawn by the applicant (撤回) */
} stpm_milestone;

/* "applied", ... "withdrawn"; NULL for STPM_MILESTONE_NONE. */
STPM_API const char *stpm_milestone_name(stpm_milestone m);

typedef struct stpm_wf_state {
    const char *name;
    const char *label;
    bool final;
    bool closed;      /* counts as closed for auditors (implies final) */
    const char *due;  /* a date field by which the project must leave, or NULL */
    bool has_timeout; /* `timeout:` given */
    stpm_wf_duration timeout_after;
    const char *timeout_transition;
    int line; /* where the state is declared (1-based) */
    /* `counts_as:` the milestone reports and checks read (docs/workflows.md), or NONE */
    stpm_milestone counts_as;
    /* `active:` counts for leader_limit; when not given, true for a state that is neither
     * final nor the initial one */
    bool active;
} stpm_wf_state;

typedef struct stpm_wf_field {
    const char *name;
    stpm_field_type type;
    const char *label; /* NULL when not given */
    bool builtin;      /* one of the built-in project fields (docs/workflows.md) */
    bool settable;     /* may appear under `set:` */
    bool has_default;
    stpm_value default_value;       /* of the field's type, when has_default */
    const char *const *required_in; /* state names */
    size_t n_required_in;
    int line;
} stpm_wf_field;

typedef struct stpm_wf_check {
    const char *name;
    stpm_check_kind kind;
    stpm_decimal similarity; /* no_duplicate: 0..1 (scale STPM_DECIMAL_SCALE) */
    int64_t max;             /* leader_limit: > 0 */
} stpm_wf_check;

typedef struct stpm_wf_set {
    const char *field;
    const stpm_expr *expr;
} stpm_wf_set;

typedef struct stpm_wf_transition {
    const char *name;
    const char *label; /* NULL when not given */
    const char *const *from;
    size_t n_from;
    const char *to;
    unsigned roles;            /* STPM_ROLE_* bits */
    const char *const *inputs; /* `input:`: the fields `--set` may give (field names) */
    size_t n_inputs;
    const char *const *require_fields;
    size_t n_require_fields;
    const char *const *require_documents;
    size_t n_require_documents;
    bool require_reason;
    const stpm_wf_check *checks;
    size_t n_checks;
    const stpm_expr *when; /* NULL when no guard */
    const stpm_wf_set *set;
    size_t n_set;
    int line;
} stpm_wf_transition;

/* A document kind declared under `documents:` (attaching another kind is refused). */
typedef struct stpm_wf_document {
    const char *kind;  /* an identifier, e.g. application_form */
    const char *label; /* what people see, e.g. 申报书 */
    int line;
} stpm_wf_document;

/* A check due during the project (中期检查, DESIGN §3), declared under the top-level
 * `checks:` mapping: it falls due `after` past the date field `of` (start_date ...) while the
 * project is in one of the states `in`, and taking the transition `pass`, `rectify` or
 * `fail` from one of those states records its outcome (docs/workflows.md). */
typedef struct stpm_wf_scheduled_check {
    const char *name;  /* an identifier, e.g. midterm */
    const char *label; /* what people see, e.g. 中期检查 (the name when not given) */
    stpm_wf_duration after;
    const char *of;        /* a date field */
    const char *const *in; /* state names */
    size_t n_in;
    const char *pass; /* transition names; rectify and fail may be NULL */
    const char *rectify;
    const char *fail;
    int line;
} stpm_wf_scheduled_check;

/* Load and validate a workflow file. On success *out is the workflow and 0 is returned;
 * otherwise *out is NULL, the code is STPM_EINPUT (bad file: err->diags lists every
 * problem as FILE:LINE:COL) or STPM_ENOTFOUND / STPM_ERROR (cannot read the file). */
STPM_API int stpm_workflow_load_file(stpm_workflow **out, const char *path, stpm_error *err);

/* The same from bytes in memory; `name` is the file name used in diagnostics. text need
 * not be NUL-terminated. */
STPM_API int stpm_workflow_load_text(stpm_workflow **out, const char *name, const char *text,
                                     size_t len, stpm_error *err);

/* Release a workflow. Accepts NULL. */
STPM_API void stpm_workflow_free(stpm_workflow *wf);

/* `workflow:` (an identifier), `version:`, `title:`, `description:` (or NULL). */
STPM_API const char *stpm_workflow_name(const stpm_workflow *wf);
STPM_API int stpm_workflow_version(const stpm_workflow *wf);
STPM_API const char *stpm_workflow_title(const stpm_workflow *wf);
STPM_API const char *stpm_workflow_description(const stpm_workflow *wf);
/* The initial state's name. */
STPM_API const char *stpm_workflow_initial(const stpm_workflow *wf);
/* SHA-256 of the source bytes, 64 lower-case hex digits. */
STPM_API const char *stpm_workflow_digest(const stpm_workflow *wf);
/* The source bytes the workflow was loaded from (NUL-terminated) and their length. */
STPM_API const char *stpm_workflow_source(const stpm_workflow *wf, size_t *len);

/* States in declaration (display) order; i < n. */
STPM_API size_t stpm_workflow_n_states(const stpm_workflow *wf);
STPM_API const stpm_wf_state *stpm_workflow_state(const stpm_workflow *wf, size_t i);
/* A state by name, or NULL. */
STPM_API const stpm_wf_state *stpm_workflow_find_state(const stpm_workflow *wf, const char *name);

/* Fields: the built-in project fields first, then the workflow's own `fields:`. */
STPM_API size_t stpm_workflow_n_fields(const stpm_workflow *wf);
STPM_API const stpm_wf_field *stpm_workflow_field(const stpm_workflow *wf, size_t i);
STPM_API const stpm_wf_field *stpm_workflow_find_field(const stpm_workflow *wf, const char *name);

/* Transitions in declaration order. */
STPM_API size_t stpm_workflow_n_transitions(const stpm_workflow *wf);
STPM_API const stpm_wf_transition *stpm_workflow_transition(const stpm_workflow *wf, size_t i);
STPM_API const stpm_wf_transition *stpm_workflow_find_transition(const stpm_workflow *wf,
                                                                 const char *name);
/* Document kinds in declaration order; i < n. */
STPM_API size_t stpm_workflow_n_documents(const stpm_workflow *wf);
STPM_API const stpm_wf_document *stpm_workflow_document(const stpm_workflow *wf, size_t i);
/* A declared document kind, or NULL. */
STPM_API const stpm_wf_document *stpm_workflow_find_document(const stpm_workflow *wf,
                                                             const char *kind);

/* Scheduled checks (`checks:`) in declaration order; i < n. */
STPM_API size_t stpm_workflow_n_scheduled_checks(const stpm_workflow *wf);
STPM_API const stpm_wf_scheduled_check *stpm_workflow_scheduled_check(const stpm_workflow *wf,
                                                                      size_t i);

/* true when `field` is one of t's `input:` fields (what `--set` may give). */
STPM_API bool stpm_wf_transition_takes_input(const stpm_wf_transition *t, const char *field);

/* Warnings of a loaded workflow: things that load but are probably wrong (a timer whose
 * transition can be taken by hand before the timer is due), as FILE:LINE:COL diagnostics
 * in position order; i < n. Valid until stpm_workflow_free. */
STPM_API size_t stpm_workflow_n_warnings(const stpm_workflow *wf);
STPM_API const stpm_diag *stpm_workflow_warning(const stpm_workflow *wf, size_t i);

/* true when transition t may be taken from state `state` (it is in t's `from:`). */
STPM_API bool stpm_wf_transition_leaves(const stpm_wf_transition *t, const char *state);

/* Names as written in YAML: "text", "integer", "amount", "date", "boolean". */
STPM_API const char *stpm_field_type_name(stpm_field_type t);
/* The expression type of a field type (text → STPM_TYPE_STRING, ...). */
STPM_API stpm_type stpm_field_type_expr(stpm_field_type t);
/* "integrity_commitment", ... */
STPM_API const char *stpm_check_kind_name(stpm_check_kind k);
/* The roles of a bitmask as "officer, admin" into buf (size ≥ 32). Returns buf. */
STPM_API char *stpm_roles_format(unsigned roles, char buf[static 32]);
/* A duration as written ("5wd"); buf size ≥ 24. Returns buf. */
STPM_API char *stpm_wf_duration_format(stpm_wf_duration d, char buf[static 24]);

/* Output formats of stpm_workflow_graph. */
typedef enum {
    STPM_GRAPH_DOT,     /* Graphviz DOT: `dot -Tsvg` renders it */
    STPM_GRAPH_MERMAID, /* a Mermaid stateDiagram-v2 */
} stpm_graph_format;

/* Draw the workflow: states with their labels (final states doubled, closed ones shaded),
 * transitions with label and name, timers dashed with their duration. *out is a malloc'd
 * UTF-8 text ending in a newline. 0 or STPM_ERROR (out of memory). */
STPM_API int stpm_workflow_graph(const stpm_workflow *wf, stpm_graph_format format, char **out,
                                 stpm_error *err);

/* The built-in project fields every workflow may read (see docs/workflows.md): their
 * names, types and whether `set:` may write them. i < stpm_workflow_n_builtin_fields(). */
STPM_API size_t stpm_workflow_n_builtin_fields(void);
STPM_API const stpm_wf_field *stpm_workflow_builtin_field(size_t i);

#endif

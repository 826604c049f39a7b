/* The workflow model: arena, accessors, built-in fields and the small name tables. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stpm/workflow.h"
#include "workflow/wf_internal.h"

struct wf_chunk {
    wf_chunk *next;
    size_t used, cap;
    _Alignas(max_align_t) unsigned char data[];
};

#define WF_CHUNK_SIZE 8192

void *wf_alloc(stpm_workflow *wf, size_t size)
{
    size = (size + 15) & ~(size_t)15;
    if (size == 0)
        size = 16;
    wf_chunk *c = wf->arena;
    if (!c || c->cap - c->used < size) {
        size_t cap = size > WF_CHUNK_SIZE ? size : WF_CHUNK_SIZE;
        wf_chunk *n = malloc(sizeof(*n) + cap);
        if (!n) {
            wf->oom = true;
            return NULL;
        }
        n->used = 0;
        n->cap = cap;
        if (c && size > WF_CHUNK_SIZE) { /* a big block: keep the current chunk in front */
            n->next = c->next;
            c->next = n;
        } else {
            n->next = c;
            wf->arena = n;
        }
        c = n;
    }
    void *p = c->data + c->used;
    c->used += size;
    memset(p, 0, size);
    return p;
}

char *wf_strndup(stpm_workflow *wf, const char *s, size_t n)
{
    char *p = wf_alloc(wf, n + 1);
    if (!p)
        return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *wf_strdup(stpm_workflow *wf, const char *s)
{
    return s ? wf_strndup(wf, s, strlen(s)) : NULL;
}

int wf_keep_expr(stpm_workflow *wf, stpm_expr *e)
{
    if (wf->n_exprs == wf->cap_exprs) {
        size_t cap = wf->cap_exprs ? wf->cap_exprs * 2 : 16;
        stpm_expr **n = realloc(wf->exprs, cap * sizeof(*n));
        if (!n) {
            stpm_expr_free(e);
            wf->oom = true;
            return -1;
        }
        wf->exprs = n;
        wf->cap_exprs = cap;
    }
    wf->exprs[wf->n_exprs++] = e;
    return 0;
}

stpm_workflow *wf_new(void)
{
    return calloc(1, sizeof(stpm_workflow));
}

void stpm_workflow_free(stpm_workflow *wf)
{
    if (!wf)
        return;
    for (size_t i = 0; i < wf->n_exprs; i++)
        stpm_expr_free(wf->exprs[i]);
    free(wf->exprs);
    for (size_t i = 0; i < wf->n_fields; i++)
        if (wf->fields[i].has_default)
            stpm_value_clear(&wf->fields[i].default_value);
    free(wf->fields);
    free(wf->source);
    stpm_error_clear(&wf->warnings);
    wf_chunk *c = wf->arena;
    while (c) {
        wf_chunk *next = c->next;
        free(c);
        c = next;
    }
    free(wf);
}

bool wf_is_identifier(const char *s)
{
    if (!s || !(*s >= 'a' && *s <= 'z'))
        return false;
    size_t n = 0;
    for (; s[n]; n++) {
        char c = s[n];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
            return false;
    }
    return n <= 63;
}

int wf_parse_duration(const char *s, stpm_wf_duration *out)
{
    int32_t n = 0;
    size_t i = 0;
    for (; s[i] >= '0' && s[i] <= '9'; i++) {
        n = n * 10 + (s[i] - '0');
        if (n > 100000)
            return -1;
    }
    if (i == 0 || n <= 0)
        return -1;
    const char *u = s + i;
    if (strcmp(u, "d") == 0)
        out->unit = STPM_DUR_DAYS;
    else if (strcmp(u, "wd") == 0)
        out->unit = STPM_DUR_WORKDAYS;
    else if (strcmp(u, "mo") == 0)
        out->unit = STPM_DUR_MONTHS;
    else if (strcmp(u, "y") == 0)
        out->unit = STPM_DUR_YEARS;
    else
        return -1;
    out->n = n;
    return 0;
}

char *stpm_wf_duration_format(stpm_wf_duration d, char buf[static 24])
{
    static const char *const units[] = {"d", "wd", "mo", "y"};
    snprintf(buf, 24, "%d%s", (int)d.n, (unsigned)d.unit < 4 ? units[d.unit] : "?");
    return buf;
}

static const char *const check_names[] = {
    "integrity_commitment", "credit_clean",   "no_conflict", "no_duplicate",
    "leader_limit",         "org_no_overdue", "uscc_valid",
};

int wf_check_kind(const char *s, stpm_check_kind *out)
{
    for (size_t i = 0; i < sizeof(check_names) / sizeof(check_names[0]); i++) {
        if (strcmp(s, check_names[i]) == 0) {
            *out = (stpm_check_kind)i;
            return 0;
        }
    }
    return -1;
}

const char *stpm_check_kind_name(stpm_check_kind k)
{
    return (unsigned)k < sizeof(check_names) / sizeof(check_names[0]) ? check_names[k] : "?";
}

unsigned wf_role_bit(const char *s)
{
    if (strcmp(s, "officer") == 0)
        return STPM_ROLE_OFFICER;
    if (strcmp(s, "admin") == 0)
        return STPM_ROLE_ADMIN;
    if (strcmp(s, "expert") == 0)
        return STPM_ROLE_EXPERT;
    return 0;
}

char *stpm_roles_format(unsigned roles, char buf[static 32])
{
    buf[0] = '\0';
    size_t n = 0;
    static const char *const names[] = {"officer", "admin", "expert"};
    for (int i = 0; i < 3; i++) {
        if (roles & (1u << i)) {
            int w = snprintf(buf + n, 32 - n, "%s%s", n ? ", " : "", names[i]);
            if (w > 0)
                n += (size_t)w;
        }
    }
    return buf;
}

static const char *const milestone_names[] = {
    [STPM_MILESTONE_NONE] = NULL,
    [STPM_MILESTONE_APPLIED] = "applied",
    [STPM_MILESTONE_ADMITTED] = "admitted",
    [STPM_MILESTONE_APPROVED] = "approved",
    [STPM_MILESTONE_IN_PROGRESS] = "in_progress",
    [STPM_MILESTONE_ACCEPTED] = "accepted",
    [STPM_MILESTONE_TERMINATED] = "terminated",
    [STPM_MILESTONE_REJECTED] = "rejected",
    [STPM_MILESTONE_WITHDRAWN] = "withdrawn",
};

const char *stpm_milestone_name(stpm_milestone m)
{
    return (size_t)m < sizeof(milestone_names) / sizeof(milestone_names[0]) ? milestone_names[m]
                                                                            : NULL;
}

bool wf_milestone_parse(const char *s, stpm_milestone *out)
{
    for (size_t i = 1; i < sizeof(milestone_names) / sizeof(milestone_names[0]); i++)
        if (strcmp(s, milestone_names[i]) == 0) {
            *out = (stpm_milestone)i;
            return true;
        }
    return false;
}

const char *stpm_field_type_name(stpm_field_type t)
{
    switch (t) {
    case STPM_FIELD_TEXT:
        return "text";
    case STPM_FIELD_INTEGER:
        return "integer";
    case STPM_FIELD_AMOUNT:
        return "amount";
    case STPM_FIELD_DATE:
        return "date";
    case STPM_FIELD_BOOLEAN:
        return "boolean";
    }
    return "?";
}

stpm_type stpm_field_type_expr(stpm_field_type t)
{
    switch (t) {
    case STPM_FIELD_TEXT:
        return STPM_TYPE_STRING;
    case STPM_FIELD_INTEGER:
        return STPM_TYPE_INT;
    case STPM_FIELD_AMOUNT:
        return STPM_TYPE_DECIMAL;
    case STPM_FIELD_DATE:
        return STPM_TYPE_DATE;
    case STPM_FIELD_BOOLEAN:
        return STPM_TYPE_BOOL;
    }
    return STPM_TYPE_NULL;
}

/* The built-in project fields: columns of the projects table that the lifecycle code
 * provides to every workflow. Keep docs/workflows.md in step. */
#define BUILTIN(n, t, l, s)                                                                        \
    {                                                                                              \
        .name = n, .type = t, .label = l, .builtin = true, .settable = s                           \
    }
static const stpm_wf_field builtin_fields[] = {
    BUILTIN("title", STPM_FIELD_TEXT, "项目名称", false),
    BUILTIN("year", STPM_FIELD_INTEGER, "年度", false),
    BUILTIN("amount_requested", STPM_FIELD_AMOUNT, "申请资助（万元）", false),
    BUILTIN("amount_approved", STPM_FIELD_AMOUNT, "立项资助（万元）", true),
    BUILTIN("start_date", STPM_FIELD_DATE, "开始日期", true),
    BUILTIN("due_date", STPM_FIELD_DATE, "应结日期", true),
    BUILTIN("closed_date", STPM_FIELD_DATE, "结题日期", true),
    BUILTIN("extensions", STPM_FIELD_INTEGER, "延期次数", true),
    /* the business date the project entered its current state: read-only */
    BUILTIN("state_since", STPM_FIELD_DATE, "进入当前状态日期", false),
};
#define N_BUILTIN (sizeof(builtin_fields) / sizeof(builtin_fields[0]))

bool wf_field_may_be_input(const stpm_wf_field *f)
{
    return !f->builtin || strcmp(f->name, "amount_requested") == 0 ||
           strcmp(f->name, "amount_approved") == 0;
}

size_t stpm_workflow_n_builtin_fields(void)
{
    return N_BUILTIN;
}

const stpm_wf_field *stpm_workflow_builtin_field(size_t i)
{
    return i < N_BUILTIN ? &builtin_fields[i] : NULL;
}

const char *stpm_workflow_name(const stpm_workflow *wf)
{
    return wf->name;
}

int stpm_workflow_version(const stpm_workflow *wf)
{
    return wf->version;
}

const char *stpm_workflow_title(const stpm_workflow *wf)
{
    return wf->title;
}

const char *stpm_workflow_description(const stpm_workflow *wf)
{
    return wf->description;
}

const char *stpm_workflow_initial(const stpm_workflow *wf)
{
    return wf->initial;
}

const char *stpm_workflow_digest(const stpm_workflow *wf)
{
    return wf->digest;
}

const char *stpm_workflow_source(const stpm_workflow *wf, size_t *len)
{
    if (len)
        *len = wf->source_len;
    return wf->source;
}

size_t stpm_workflow_n_states(const stpm_workflow *wf)
{
    return wf->n_states;
}

const stpm_wf_state *stpm_workflow_state(const stpm_workflow *wf, size_t i)
{
    return i < wf->n_states ? &wf->states[i] : NULL;
}

const stpm_wf_state *stpm_workflow_find_state(const stpm_workflow *wf, const char *name)
{
    for (size_t i = 0; i < wf->n_states; i++)
        if (wf->states[i].name && strcmp(wf->states[i].name, name) == 0)
            return &wf->states[i];
    return NULL;
}

size_t stpm_workflow_n_fields(const stpm_workflow *wf)
{
    return N_BUILTIN + wf->n_fields;
}

const stpm_wf_field *stpm_workflow_field(const stpm_workflow *wf, size_t i)
{
    if (i < N_BUILTIN)
        return &builtin_fields[i];
    i -= N_BUILTIN;
    return i < wf->n_fields ? &wf->fields[i] : NULL;
}

const stpm_wf_field *stpm_workflow_find_field(const stpm_workflow *wf, const char *name)
{
    for (size_t i = 0; i < N_BUILTIN; i++)
        if (strcmp(builtin_fields[i].name, name) == 0)
            return &builtin_fields[i];
    for (size_t i = 0; wf && i < wf->n_fields; i++)
        if (wf->fields[i].name && strcmp(wf->fields[i].name, name) == 0)
            return &wf->fields[i];
    return NULL;
}

size_t stpm_workflow_n_transitions(const stpm_workflow *wf)
{
    return wf->n_transitions;
}

const stpm_wf_transition *stpm_workflow_transition(const stpm_workflow *wf, size_t i)
{
    return i < wf->n_transitions ? &wf->transitions[i] : NULL;
}

const stpm_wf_transition *stpm_workflow_find_transition(const stpm_workflow *wf, const char *name)
{
    for (size_t i = 0; i < wf->n_transitions; i++)
        if (wf->transitions[i].name && strcmp(wf->transitions[i].name, name) == 0)
            return &wf->transitions[i];
    return NULL;
}

bool stpm_wf_transition_leaves(const stpm_wf_transition *t, const char *state)
{
    for (size_t i = 0; i < t->n_from; i++)
        if (t->from[i] && strcmp(t->from[i], state) == 0)
            return true;
    return false;
}

bool stpm_wf_transition_takes_input(const stpm_wf_transition *t, const char *field)
{
    for (size_t i = 0; i < t->n_inputs; i++)
        if (strcmp(t->inputs[i], field) == 0)
            return true;
    return false;
}

size_t stpm_workflow_n_documents(const stpm_workflow *wf)
{
    return wf->n_documents;
}

const stpm_wf_document *stpm_workflow_document(const stpm_workflow *wf, size_t i)
{
    return i < wf->n_documents ? &wf->documents[i] : NULL;
}

const stpm_wf_document *stpm_workflow_find_document(const stpm_workflow *wf, const char *kind)
{
    for (size_t i = 0; i < wf->n_documents; i++)
        if (wf->documents[i].kind && strcmp(wf->documents[i].kind, kind) == 0)
            return &wf->documents[i];
    return NULL;
}

size_t stpm_workflow_n_scheduled_checks(const stpm_workflow *wf)
{
    return wf->n_scheduled_checks;
}

const stpm_wf_scheduled_check *stpm_workflow_scheduled_check(const stpm_workflow *wf, size_t i)
{
    return i < wf->n_scheduled_checks ? &wf->scheduled_checks[i] : NULL;
}

size_t stpm_workflow_n_warnings(const stpm_workflow *wf)
{
    return wf->warnings.n_diags;
}

const stpm_diag *stpm_workflow_warning(const stpm_workflow *wf, size_t i)
{
    return i < wf->warnings.n_diags ? &wf->warnings.diags[i] : NULL;
}

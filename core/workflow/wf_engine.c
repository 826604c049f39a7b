/* The pure engine: transitions allowed or blocked with every reason, applying `set:`,
 * timers and due dates. See stpm/engine.h. */
#include <stdlib.h>
#include <string.h>

#include "stpm/engine.h"
#include "util/strutil.h"
#include "workflow/wf_internal.h"

int stpm_engine_fields_lookup(void *ctx, const char *name, stpm_value *out)
{
    const stpm_engine_fields *f = ctx;
    for (size_t i = 0; f && i < f->n; i++)
        if (strcmp(f->items[i].name, name) == 0)
            return stpm_value_copy(out, &f->items[i].value) < 0 ? -1 : 0;
    return -1;
}

/* The lookup the expressions see: the caller's, over the changes made so far by `set:`;
 * a field of the workflow the caller does not know is not set. */
typedef struct lookup_env {
    const stpm_workflow *wf;
    const stpm_engine_ctx *ctx;
    const stpm_engine_change *changes;
    size_t n_changes;
} lookup_env;

static int env_lookup(void *p, const char *name, stpm_value *out)
{
    lookup_env *e = p;
    for (size_t i = e->n_changes; i-- > 0;)
        if (strcmp(e->changes[i].field, name) == 0)
            return stpm_value_copy(out, &e->changes[i].value) < 0 ? -1 : 0;
    if (!stpm_workflow_find_field(e->wf, name))
        return -1;
    memset(out, 0, sizeof(*out));
    out->type = STPM_TYPE_NULL;
    if (e->ctx->lookup && e->ctx->lookup(e->ctx->lookup_ctx, name, out) < 0) {
        stpm_value_clear(out);
        out->type = STPM_TYPE_NULL;
    }
    return 0;
}

static bool field_is_set(lookup_env *env, const char *name)
{
    stpm_value v = {0};
    bool set = env_lookup(env, name, &v) == 0 && v.type != STPM_TYPE_NULL;
    stpm_value_clear(&v);
    return set;
}

static int add_block(stpm_engine_option *o, stpm_block_kind kind, const char *subject,
                     const char *evidence, char *message)
{
    stpm_engine_block *b = realloc(o->blocks, (o->n_blocks + 1) * sizeof(*b));
    if (!b || !message) {
        free(message);
        return -1;
    }
    o->blocks = b;
    b = &o->blocks[o->n_blocks];
    b->kind = kind;
    b->subject = subject ? stpm_strdup(subject) : NULL;
    b->evidence = evidence ? stpm_strdup(evidence) : NULL;
    b->message = message;
    o->n_blocks++;
    if ((subject && !b->subject) || (evidence && !b->evidence))
        return -1;
    return 0;
}

void stpm_engine_option_clear(stpm_engine_option *opt)
{
    if (!opt)
        return;
    for (size_t i = 0; i < opt->n_blocks; i++) {
        free(opt->blocks[i].subject);
        free(opt->blocks[i].message);
        free(opt->blocks[i].evidence);
    }
    free(opt->blocks);
    memset(opt, 0, sizeof(*opt));
}

static const stpm_engine_check_result *find_result(const stpm_engine_ctx *ctx, const char *name)
{
    for (size_t i = 0; i < ctx->n_checks; i++)
        if (ctx->checks[i].name && strcmp(ctx->checks[i].name, name) == 0)
            return &ctx->checks[i];
    return NULL;
}

static bool has_document(const stpm_engine_ctx *ctx, const char *kind)
{
    for (size_t i = 0; i < ctx->n_documents; i++)
        if (ctx->documents[i] && strcmp(ctx->documents[i], kind) == 0)
            return true;
    return false;
}

static bool set_assigns(const stpm_wf_transition *t, const char *field)
{
    for (size_t i = 0; i < t->n_set; i++)
        if (strcmp(t->set[i].field, field) == 0)
            return true;
    return false;
}

static const char *field_label(const stpm_workflow *wf, const char *name)
{
    const stpm_wf_field *f = stpm_workflow_find_field(wf, name);
    return f && f->label ? f->label : NULL;
}

/* Fill o for transition t; 0 or -1 on out of memory. */
static int evaluate(const stpm_workflow *wf, const stpm_engine_ctx *ctx,
                    const stpm_wf_transition *t, stpm_engine_option *o)
{
    lookup_env env = {wf, ctx, NULL, 0};
    int rc = -1;
    stpm_value v = {0};
    stpm_error e = STPM_ERROR_INIT;
    char roles[32];

    memset(o, 0, sizeof(*o));
    o->transition = t;
    if (!stpm_wf_transition_leaves(t, ctx->state) &&
        add_block(o, STPM_BLOCK_STATE, ctx->state, NULL,
                  stpm_asprintf(_("transition %s does not leave state %s"), t->name, ctx->state)) <
            0)
        goto cleanup;
    if (!ctx->by_timer && !(t->roles & ctx->roles)) {
        stpm_roles_format(t->roles, roles);
        if (add_block(o, STPM_BLOCK_ROLE, roles, NULL,
                      stpm_asprintf(_("requires the role %s"), roles)) < 0)
            goto cleanup;
    }
    for (size_t i = 0; i < t->n_require_fields; i++) {
        const char *f = t->require_fields[i], *label = field_label(wf, f);
        if (!field_is_set(&env, f) &&
            add_block(o, STPM_BLOCK_FIELD, f, NULL,
                      label ? stpm_asprintf(_("field %s (%s) is not set"), f, label)
                            : stpm_asprintf(_("field %s is not set"), f)) < 0)
            goto cleanup;
    }
    const stpm_wf_state *to = stpm_workflow_find_state(wf, t->to);
    for (size_t i = 0; to && i < wf->n_fields; i++) {
        const stpm_wf_field *f = &wf->fields[i];
        bool needed = false, listed = false;
        for (size_t k = 0; k < f->n_required_in; k++)
            if (strcmp(f->required_in[k], to->name) == 0)
                needed = true;
        for (size_t k = 0; k < t->n_require_fields; k++)
            if (strcmp(t->require_fields[k], f->name) == 0)
                listed = true; /* already reported above */
        if (needed && !listed && !set_assigns(t, f->name) && !field_is_set(&env, f->name) &&
            add_block(o, STPM_BLOCK_FIELD, f->name, NULL,
                      f->label ? stpm_asprintf(_("field %s (%s) must be set in state %s"), f->name,
                                               f->label, to->name)
                               : stpm_asprintf(_("field %s must be set in state %s"), f->name,
                                               to->name)) < 0)
            goto cleanup;
    }
    for (size_t i = 0; i < t->n_require_documents; i++) {
        const char *d = t->require_documents[i];
        if (!has_document(ctx, d) &&
            add_block(o, STPM_BLOCK_DOCUMENT, d, NULL,
                      stpm_asprintf(_("document %s is not attached"), d)) < 0)
            goto cleanup;
    }
    if (t->require_reason && !ctx->reason_given &&
        add_block(o, STPM_BLOCK_REASON, NULL, NULL, stpm_strdup(_("a reason is required"))) < 0)
        goto cleanup;
    for (size_t i = 0; i < t->n_checks; i++) {
        const stpm_engine_check_result *r = find_result(ctx, t->checks[i].name);
        if (r && r->passed)
            continue;
        char *msg = !r ? stpm_asprintf(_("check %s was not run"), t->checks[i].name)
                    : r->evidence
                        ? stpm_asprintf(_("check %s failed: %s"), t->checks[i].name, r->evidence)
                        : stpm_asprintf(_("check %s failed"), t->checks[i].name);
        if (add_block(o, STPM_BLOCK_CHECK, t->checks[i].name, r ? r->evidence : NULL, msg) < 0)
            goto cleanup;
    }
    if (t->when) {
        stpm_expr_env xenv = {ctx->today, ctx->calendar, env_lookup, &env};
        const char *src = stpm_expr_source(t->when);
        char *msg = NULL;
        if (stpm_expr_eval(t->when, &xenv, &v, &e) < 0)
            msg = stpm_asprintf(_("guard could not be evaluated (%s): %s"),
                                e.message ? e.message : _("error"), src);
        else if (v.type == STPM_TYPE_NULL)
            msg = stpm_asprintf(_("guard is not true (a field it reads is not set): %s"), src);
        else if (v.type == STPM_TYPE_BOOL && !v.u.b)
            msg = stpm_asprintf(_("guard is false: %s"), src);
        if (msg && add_block(o, STPM_BLOCK_GUARD, src, NULL, msg) < 0)
            goto cleanup;
    }
    o->allowed = o->n_blocks == 0;
    rc = 0;
cleanup:
    stpm_value_clear(&v);
    stpm_error_clear(&e);
    return rc;
}

void stpm_engine_options_free(stpm_engine_options *opts)
{
    if (!opts)
        return;
    for (size_t i = 0; i < opts->n; i++)
        stpm_engine_option_clear(&opts->items[i]);
    free(opts->items);
    memset(opts, 0, sizeof(*opts));
}

int stpm_engine_list(const stpm_workflow *wf, const stpm_engine_ctx *ctx, stpm_engine_options *out,
                     stpm_error *err)
{
    memset(out, 0, sizeof(*out));
    if (!ctx->state || !stpm_workflow_find_state(wf, ctx->state))
        return stpm_error_set(err, STPM_ENOTFOUND, "workflow %s has no state \"%s\"", wf->name,
                              ctx->state ? ctx->state : "");
    out->items = calloc(wf->n_transitions ? wf->n_transitions : 1, sizeof(*out->items));
    if (!out->items)
        return stpm_error_set(err, STPM_ERROR, "out of memory");
    for (size_t i = 0; i < wf->n_transitions; i++) {
        const stpm_wf_transition *t = &wf->transitions[i];
        if (!stpm_wf_transition_leaves(t, ctx->state))
            continue;
        int rc = evaluate(wf, ctx, t, &out->items[out->n]);
        out->n++;
        if (rc < 0) {
            stpm_engine_options_free(out);
            return stpm_error_set(err, STPM_ERROR, "out of memory");
        }
    }
    return 0;
}

int stpm_engine_evaluate(const stpm_workflow *wf, const stpm_engine_ctx *ctx,
                         const char *transition, stpm_engine_option *out, stpm_error *err)
{
    memset(out, 0, sizeof(*out));
    if (!ctx->state || !stpm_workflow_find_state(wf, ctx->state))
        return stpm_error_set(err, STPM_ENOTFOUND, "workflow %s has no state \"%s\"", wf->name,
                              ctx->state ? ctx->state : "");
    const stpm_wf_transition *t = stpm_workflow_find_transition(wf, transition);
    if (!t)
        return stpm_error_set(err, STPM_ENOTFOUND, "workflow %s has no transition \"%s\"", wf->name,
                              transition);
    if (evaluate(wf, ctx, t, out) < 0) {
        stpm_engine_option_clear(out);
        return stpm_error_set(err, STPM_ERROR, "out of memory");
    }
    return 0;
}

void stpm_engine_result_clear(stpm_engine_result *res)
{
    if (!res)
        return;
    for (size_t i = 0; i < res->n_changes; i++)
        stpm_value_clear(&res->changes[i].value);
    free(res->changes);
    memset(res, 0, sizeof(*res));
}

int stpm_engine_apply(const stpm_workflow *wf, const stpm_engine_ctx *ctx, const char *transition,
                      stpm_engine_result *out, stpm_error *err)
{
    int rc;
    stpm_engine_option opt = {0};
    stpm_strbuf sb = STPM_STRBUF_INIT;
    stpm_value v = {0};
    stpm_error e = STPM_ERROR_INIT;

    memset(out, 0, sizeof(*out));
    if ((rc = stpm_engine_evaluate(wf, ctx, transition, &opt, err)) < 0)
        goto cleanup;
    const stpm_wf_transition *t = opt.transition;
    if (!opt.allowed) {
        for (size_t i = 0; i < opt.n_blocks; i++)
            stpm_strbuf_printf(&sb, "%s%s", i ? "; " : "", opt.blocks[i].message);
        rc = stpm_error_set(err, STPM_EREFUSED, "transition %s is blocked", t->name);
        stpm_error_detail(err, "%s.", stpm_strbuf_str(&sb));
        goto cleanup;
    }
    out->transition = t;
    out->from = stpm_workflow_find_state(wf, ctx->state)->name;
    out->to = t->to;
    out->changes = calloc(t->n_set ? t->n_set : 1, sizeof(*out->changes));
    if (!out->changes) {
        rc = stpm_error_set(err, STPM_ERROR, "out of memory");
        goto cleanup;
    }
    lookup_env env = {wf, ctx, out->changes, 0};
    stpm_expr_env xenv = {ctx->today, ctx->calendar, env_lookup, &env};
    for (size_t i = 0; i < t->n_set; i++) {
        const stpm_wf_field *f = stpm_workflow_find_field(wf, t->set[i].field);
        if (stpm_expr_eval(t->set[i].expr, &xenv, &v, &e) < 0) {
            rc = stpm_error_set(err, e.code ? e.code : STPM_ERROR,
                                "could not evaluate the value of %s in transition %s", f->name,
                                t->name);
            stpm_error_detail(err, "%s: %s.", stpm_expr_source(t->set[i].expr),
                              e.message ? e.message : "error");
            goto cleanup;
        }
        if (f->type == STPM_FIELD_AMOUNT && v.type == STPM_TYPE_INT) {
            int64_t n = v.u.i;
            if (n > INT64_MAX / STPM_DECIMAL_SCALE || n < INT64_MIN / STPM_DECIMAL_SCALE) {
                rc = stpm_error_set(err, STPM_EINPUT, "value of %s is out of range", f->name);
                goto cleanup;
            }
            v.type = STPM_TYPE_DECIMAL;
            v.u.d = stpm_decimal_from_int(n);
        }
        size_t k = 0;
        while (k < env.n_changes && strcmp(out->changes[k].field, f->name) != 0)
            k++;
        if (k == env.n_changes) {
            out->changes[k].field = f->name;
            env.n_changes++;
        } else {
            stpm_value_clear(&out->changes[k].value);
        }
        out->changes[k].value = v; /* moved */
        memset(&v, 0, sizeof(v));
        out->n_changes = env.n_changes;
    }
    const stpm_wf_state *to = stpm_workflow_find_state(wf, t->to);
    for (size_t i = 0; i < wf->n_fields; i++) {
        const stpm_wf_field *f = &wf->fields[i];
        for (size_t k = 0; k < f->n_required_in; k++) {
            if (strcmp(f->required_in[k], to->name) == 0 && !field_is_set(&env, f->name)) {
                rc = stpm_error_set(err, STPM_EREFUSED, "transition %s is blocked", t->name);
                stpm_error_detail(err, "Field %s must be set in state %s.", f->name, to->name);
                goto cleanup;
            }
        }
    }
    rc = 0;
cleanup:
    if (rc < 0)
        stpm_engine_result_clear(out);
    stpm_engine_option_clear(&opt);
    stpm_strbuf_free(&sb);
    stpm_value_clear(&v);
    stpm_error_clear(&e);
    return rc;
}

int stpm_engine_add_duration(stpm_date d, stpm_wf_duration dur, const stpm_calendar *cal,
                             stpm_date *out, stpm_error *err)
{
    switch (dur.unit) {
    case STPM_DUR_DAYS:
        *out = d + dur.n;
        return 0;
    case STPM_DUR_WORKDAYS:
        if (!cal)
            return stpm_error_set(err, STPM_EUSAGE, "a working-day calendar is needed for %dwd",
                                  (int)dur.n);
        *out = stpm_calendar_add_workdays(cal, d, dur.n);
        return 0;
    case STPM_DUR_MONTHS:
        *out = stpm_date_add_months(d, dur.n);
        return 0;
    case STPM_DUR_YEARS:
        *out = stpm_date_add_months(d, dur.n * 12);
        return 0;
    }
    return stpm_error_set(err, STPM_EUSAGE, "unknown duration unit");
}

int stpm_engine_timer(const stpm_workflow *wf, const char *state, stpm_date entered,
                      const stpm_calendar *cal, stpm_date *fire_on,
                      const stpm_wf_transition **transition, stpm_error *err)
{
    const stpm_wf_state *s = stpm_workflow_find_state(wf, state);
    if (!s)
        return stpm_error_set(err, STPM_ENOTFOUND, "workflow %s has no state \"%s\"", wf->name,
                              state);
    if (!s->has_timeout)
        return 0;
    int rc = stpm_engine_add_duration(entered, s->timeout_after, cal, fire_on, err);
    if (rc < 0)
        return rc;
    if (transition)
        *transition = stpm_workflow_find_transition(wf, s->timeout_transition);
    return 1;
}

int stpm_engine_due(const stpm_workflow *wf, const char *state, stpm_expr_value_fn lookup,
                    void *lookup_ctx, stpm_date *due, stpm_error *err)
{
    const stpm_wf_state *s = stpm_workflow_find_state(wf, state);
    if (!s)
        return stpm_error_set(err, STPM_ENOTFOUND, "workflow %s has no state \"%s\"", wf->name,
                              state);
    if (!s->due || !lookup)
        return 0;
    stpm_value v = {0};
    int rc = 0;
    if (lookup(lookup_ctx, s->due, &v) == 0 && v.type == STPM_TYPE_DATE) {
        *due = v.u.date;
        rc = 1;
    }
    stpm_value_clear(&v);
    return rc;
}

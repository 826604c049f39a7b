/* A workflow version compiled for the server: see workflow/wf_compile.h.
 *
 * The server decides every transition from this JSON alone (stpm.project_advance in
 * migrations/070_rules.sql), so it says everything the C engine reads: which states a
 * transition leaves, who may take it, what it requires, which checks it runs with which
 * parameters, and its guard and `set:` expressions as typed trees. */
#include "workflow/wf_compile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stpm/decimal.h"
#include "util/strutil.h"
#include "workflow/expr_json.h"

static void json_str(stpm_strbuf *sb, const char *s)
{
    if (s)
        stpm_expr_json_string(sb, s);
    else
        stpm_strbuf_puts(sb, "null");
}

static void json_strs(stpm_strbuf *sb, const char *const *v, size_t n)
{
    stpm_strbuf_putc(sb, '[');
    for (size_t i = 0; i < n; i++) {
        if (i)
            stpm_strbuf_putc(sb, ',');
        json_str(sb, v[i]);
    }
    stpm_strbuf_putc(sb, ']');
}

static const char *unit_name(stpm_duration_unit u)
{
    switch (u) {
    case STPM_DUR_DAYS:
        return "d";
    case STPM_DUR_WORKDAYS:
        return "wd";
    case STPM_DUR_MONTHS:
        return "mo";
    case STPM_DUR_YEARS:
        return "y";
    }
    return "d";
}

/* The type of a name, for the typed trees: the workflow's fields. */
static int field_type(void *ctx, const char *name, stpm_type *out)
{
    const stpm_wf_field *f = stpm_workflow_find_field(ctx, name);
    if (!f)
        return -1;
    *out = stpm_field_type_expr(f->type);
    return 0;
}

static void put_fields(stpm_strbuf *sb, const stpm_workflow *wf)
{
    stpm_strbuf_puts(sb, "\"fields\":{");
    for (size_t i = 0; i < stpm_workflow_n_fields(wf); i++) {
        const stpm_wf_field *f = stpm_workflow_field(wf, i);
        if (i)
            stpm_strbuf_putc(sb, ',');
        json_str(sb, f->name);
        stpm_strbuf_printf(sb, ":{\"type\":\"%s\",\"builtin\":%s,\"label\":",
                           stpm_field_type_name(f->type), f->builtin ? "true" : "false");
        json_str(sb, f->label);
        stpm_strbuf_puts(sb, ",\"default\":");
        if (f->has_default)
            stpm_expr_json_value(sb, &f->default_value);
        else
            stpm_strbuf_puts(sb, "null");
        stpm_strbuf_puts(sb, ",\"required_in\":");
        json_strs(sb, f->required_in, f->n_required_in);
        stpm_strbuf_putc(sb, '}');
    }
    stpm_strbuf_putc(sb, '}');
}

static void put_documents(stpm_strbuf *sb, const stpm_workflow *wf)
{
    stpm_strbuf_puts(sb, "\"documents\":{");
    for (size_t i = 0; i < stpm_workflow_n_documents(wf); i++) {
        const stpm_wf_document *d = stpm_workflow_document(wf, i);
        if (i)
            stpm_strbuf_putc(sb, ',');
        json_str(sb, d->kind);
        stpm_strbuf_putc(sb, ':');
        json_str(sb, d->label ? d->label : d->kind);
    }
    stpm_strbuf_putc(sb, '}');
}

static void put_states(stpm_strbuf *sb, stpm_strbuf *list, const stpm_workflow *wf)
{
    stpm_strbuf_puts(sb, "\"states\":{");
    stpm_strbuf_putc(list, '[');
    for (size_t i = 0; i < stpm_workflow_n_states(wf); i++) {
        const stpm_wf_state *s = stpm_workflow_state(wf, i);
        stpm_strbuf body = STPM_STRBUF_INIT;
        stpm_strbuf_printf(&body, "\"final\":%s,\"closed\":%s,\"due\":",
                           s->final || s->closed ? "true" : "false", s->closed ? "true" : "false");
        json_str(&body, s->due);
        stpm_strbuf_puts(&body, ",\"counts_as\":");
        json_str(&body, stpm_milestone_name(s->counts_as));
        stpm_strbuf_printf(&body, ",\"active\":%s", s->active ? "true" : "false");
        if (i) {
            stpm_strbuf_putc(sb, ',');
            stpm_strbuf_putc(list, ',');
        }
        json_str(sb, s->name);
        stpm_strbuf_printf(sb, ":{%s,\"timeout\":", stpm_strbuf_str(&body));
        stpm_strbuf_puts(list, "{\"name\":");
        json_str(list, s->name);
        stpm_strbuf_puts(list, ",\"label\":");
        json_str(list, s->label ? s->label : s->name);
        stpm_strbuf_printf(list, ",%s", stpm_strbuf_str(&body));
        if (s->has_timeout) {
            stpm_strbuf_printf(sb,
                               "{\"n\":%d,\"unit\":\"%s\",\"transition\":", (int)s->timeout_after.n,
                               unit_name(s->timeout_after.unit));
            json_str(sb, s->timeout_transition);
            stpm_strbuf_putc(sb, '}');
            stpm_strbuf_printf(list,
                               ",\"timeout_n\":%d,\"timeout_unit\":\"%s\","
                               "\"timeout_transition\":",
                               (int)s->timeout_after.n, unit_name(s->timeout_after.unit));
            json_str(list, s->timeout_transition);
        } else {
            stpm_strbuf_puts(sb, "null");
        }
        stpm_strbuf_putc(sb, '}');
        stpm_strbuf_putc(list, '}');
        if (body.oom)
            sb->oom = true;
        stpm_strbuf_free(&body);
    }
    stpm_strbuf_putc(sb, '}');
    stpm_strbuf_putc(list, ']');
}

static bool in_list(const char *const *v, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i], s) == 0)
            return true;
    return false;
}

static bool sets_field(const stpm_wf_transition *t, const char *field)
{
    for (size_t i = 0; i < t->n_set; i++)
        if (strcmp(t->set[i].field, field) == 0)
            return true;
    return false;
}

/* What the server needs of the fields to decide this transition, so that it never walks
 * the workflow's fields: "required_before" (required in the target state, not named by
 * require: fields, not written by set: — blocks before set: runs), "required_after"
 * (required in the target state: checked after set:), "defaults" (the workflow's own
 * fields' defaults), and "fields": type and label of every field the transition names. */
static void put_transition_fields(stpm_strbuf *sb, const stpm_workflow *wf,
                                  const stpm_wf_transition *t)
{
    stpm_strbuf before = STPM_STRBUF_INIT, after = STPM_STRBUF_INIT, defs = STPM_STRBUF_INIT;
    stpm_strbuf_puts(sb, ",\"fields\":{");
    size_t nf = 0;
    for (size_t i = 0; i < stpm_workflow_n_fields(wf); i++) {
        const stpm_wf_field *f = stpm_workflow_field(wf, i);
        bool required = in_list(f->required_in, f->n_required_in, t->to);
        if (required) {
            stpm_strbuf_putc(&after, after.len ? ',' : '[');
            json_str(&after, f->name);
            if (!in_list(t->require_fields, t->n_require_fields, f->name) &&
                !sets_field(t, f->name)) {
                stpm_strbuf_putc(&before, before.len ? ',' : '[');
                json_str(&before, f->name);
            }
        }
        if (!f->builtin && f->has_default) {
            stpm_strbuf_putc(&defs, defs.len ? ',' : '{');
            json_str(&defs, f->name);
            stpm_strbuf_putc(&defs, ':');
            stpm_expr_json_value(&defs, &f->default_value);
        }
        if (required || in_list(t->inputs, t->n_inputs, f->name) ||
            in_list(t->require_fields, t->n_require_fields, f->name) || sets_field(t, f->name)) {
            if (nf++)
                stpm_strbuf_putc(sb, ',');
            json_str(sb, f->name);
            stpm_strbuf_printf(sb, ":{\"type\":\"%s\",\"label\":", stpm_field_type_name(f->type));
            json_str(sb, f->label);
            stpm_strbuf_putc(sb, '}');
        }
    }
    stpm_strbuf_puts(sb, "},\"required_before\":");
    stpm_strbuf_puts(sb, before.len ? stpm_strbuf_str(&before) : "[");
    stpm_strbuf_puts(sb, "],\"required_after\":");
    stpm_strbuf_puts(sb, after.len ? stpm_strbuf_str(&after) : "[");
    stpm_strbuf_puts(sb, "],\"defaults\":");
    stpm_strbuf_puts(sb, defs.len ? stpm_strbuf_str(&defs) : "{");
    stpm_strbuf_putc(sb, '}');
    if (before.oom || after.oom || defs.oom)
        sb->oom = true;
    stpm_strbuf_free(&before);
    stpm_strbuf_free(&after);
    stpm_strbuf_free(&defs);
}

static int put_transition(stpm_strbuf *sb, const stpm_workflow *wf, const stpm_wf_transition *t,
                          stpm_error *err)
{
    static const struct {
        unsigned bit;
        const char *name;
    } roles[] = {
        {STPM_ROLE_OFFICER, "officer"}, {STPM_ROLE_ADMIN, "admin"}, {STPM_ROLE_EXPERT, "expert"}};
    char sim[32];
    json_str(sb, t->name);
    stpm_strbuf_puts(sb, ":{\"label\":");
    json_str(sb, t->label);
    stpm_strbuf_puts(sb, ",\"from\":");
    json_strs(sb, t->from, t->n_from);
    stpm_strbuf_puts(sb, ",\"to\":");
    json_str(sb, t->to);
    stpm_strbuf_puts(sb, ",\"roles\":[");
    for (size_t i = 0, n = 0; i < sizeof(roles) / sizeof(roles[0]); i++)
        if (t->roles & roles[i].bit)
            stpm_strbuf_printf(sb, "%s\"%s\"", n++ ? "," : "", roles[i].name);
    stpm_strbuf_puts(sb, "],\"input\":");
    json_strs(sb, t->inputs, t->n_inputs);
    stpm_strbuf_puts(sb, ",\"require\":{\"fields\":");
    json_strs(sb, t->require_fields, t->n_require_fields);
    stpm_strbuf_puts(sb, ",\"documents\":");
    json_strs(sb, t->require_documents, t->n_require_documents);
    stpm_strbuf_printf(sb, ",\"reason\":%s},\"checks\":[", t->require_reason ? "true" : "false");
    for (size_t i = 0; i < t->n_checks; i++) {
        const stpm_wf_check *c = &t->checks[i];
        stpm_strbuf_printf(sb, "%s{\"name\":", i ? "," : "");
        json_str(sb, c->name);
        if (c->kind == STPM_CHECK_NO_DUPLICATE)
            stpm_strbuf_printf(sb, ",\"similarity\":\"%s\"",
                               stpm_decimal_format(c->similarity, 4, sim));
        else if (c->kind == STPM_CHECK_LEADER_LIMIT)
            stpm_strbuf_printf(sb, ",\"max\":\"%lld\"", (long long)c->max);
        stpm_strbuf_putc(sb, '}');
    }
    stpm_strbuf_puts(sb, "],\"when\":");
    int rc = 0;
    if (t->when) {
        if ((rc = stpm_expr_to_json(t->when, field_type, (void *)wf, sb, err)) < 0)
            return rc;
        stpm_strbuf_puts(sb, ",\"when_src\":");
        json_str(sb, stpm_expr_source(t->when));
    } else {
        stpm_strbuf_puts(sb, "null,\"when_src\":null");
    }
    stpm_strbuf_puts(sb, ",\"set\":[");
    for (size_t i = 0; i < t->n_set; i++) {
        stpm_strbuf_printf(sb, "%s{\"field\":", i ? "," : "");
        json_str(sb, t->set[i].field);
        stpm_strbuf_puts(sb, ",\"expr\":");
        if ((rc = stpm_expr_to_json(t->set[i].expr, field_type, (void *)wf, sb, err)) < 0)
            return rc;
        stpm_strbuf_puts(sb, ",\"src\":");
        json_str(sb, stpm_expr_source(t->set[i].expr));
        stpm_strbuf_putc(sb, '}');
    }
    stpm_strbuf_putc(sb, ']');
    put_transition_fields(sb, wf, t);
    stpm_strbuf_putc(sb, '}');
    return 0;
}

/* `checks:` as ,"checks":{name: {"ord", "label", "after": {"n", "unit"}, "of", "in",
 * "pass", "rectify", "fail"}}, which the trigger recording their outcomes and
 * stpm.project_checks read (migrations/082_scheduled_checks.sql). Nothing at all for a
 * workflow without checks, so that its compiled rules are what they were before. */
static void put_scheduled_checks(stpm_strbuf *sb, const stpm_workflow *wf)
{
    size_t n = stpm_workflow_n_scheduled_checks(wf);
    if (n == 0)
        return;
    stpm_strbuf_puts(sb, ",\"checks\":{");
    for (size_t i = 0; i < n; i++) {
        const stpm_wf_scheduled_check *c = stpm_workflow_scheduled_check(wf, i);
        if (i)
            stpm_strbuf_putc(sb, ',');
        json_str(sb, c->name);
        stpm_strbuf_printf(sb, ":{\"ord\":%zu,\"label\":", i + 1);
        json_str(sb, c->label);
        stpm_strbuf_printf(sb, ",\"after\":{\"n\":%d,\"unit\":\"%s\"},\"of\":", (int)c->after.n,
                           unit_name(c->after.unit));
        json_str(sb, c->of);
        stpm_strbuf_puts(sb, ",\"in\":");
        json_strs(sb, c->in, c->n_in);
        stpm_strbuf_puts(sb, ",\"pass\":");
        json_str(sb, c->pass);
        stpm_strbuf_puts(sb, ",\"rectify\":");
        json_str(sb, c->rectify);
        stpm_strbuf_puts(sb, ",\"fail\":");
        json_str(sb, c->fail);
        stpm_strbuf_putc(sb, '}');
    }
    stpm_strbuf_putc(sb, '}');
}

int stpm_wf_compile(const stpm_workflow *wf, char **rules, char **states, stpm_error *err)
{
    stpm_strbuf sb = STPM_STRBUF_INIT, list = STPM_STRBUF_INIT;
    int rc = 0;
    *rules = *states = NULL;
    stpm_strbuf_puts(&sb, "{\"workflow\":");
    json_str(&sb, stpm_workflow_name(wf));
    stpm_strbuf_printf(&sb, ",\"version\":%d,\"initial\":", stpm_workflow_version(wf));
    json_str(&sb, stpm_workflow_initial(wf));
    stpm_strbuf_putc(&sb, ',');
    put_fields(&sb, wf);
    stpm_strbuf_putc(&sb, ',');
    put_documents(&sb, wf);
    stpm_strbuf_putc(&sb, ',');
    put_states(&sb, &list, wf);
    stpm_strbuf_puts(&sb, ",\"transitions\":{");
    for (size_t i = 0; i < stpm_workflow_n_transitions(wf); i++) {
        if (i)
            stpm_strbuf_putc(&sb, ',');
        if ((rc = put_transition(&sb, wf, stpm_workflow_transition(wf, i), err)) < 0)
            goto cleanup;
    }
    stpm_strbuf_putc(&sb, '}');
    put_scheduled_checks(&sb, wf);
    stpm_strbuf_putc(&sb, '}');
    if (sb.oom || list.oom) {
        rc = stpm_error_set(err, STPM_ERROR, "out of memory");
        goto cleanup;
    }
    *rules = stpm_strbuf_detach(&sb);
    *states = stpm_strbuf_detach(&list);
cleanup:
    stpm_strbuf_free(&sb);
    stpm_strbuf_free(&list);
    return rc;
}

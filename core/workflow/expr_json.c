/* The typed syntax tree as JSON (see expr_json.h). Node shapes:
 *
 *   {"k":"lit","t":T,"v":V}                 V: a number for int and amount (an amount with
 *                                           four places), "YYYY-MM-DD" for a date, a string,
 *                                           true/false, null, {"n":N,"u":"d"|"wd"|"mo"|"y"}
 *   {"k":"field","t":T,"n":"name"}          {"k":"today","t":"date"}
 *   {"k":"neg","t":T,"a":X}                 {"k":"not","t":"bool","a":X}
 *   {"k":"op","t":T,"op":"+",...,"a":X,"b":Y}
 *   {"k":"in","t":"bool","neg":false,"a":X,"items":[...]}
 *   {"k":"isset","t":"bool","neg":false,"n":"name"}
 */
#include "workflow/expr_json.h"

#include <inttypes.h>

#include "workflow/expr_internal.h"

typedef struct emitter {
    stpm_expr_type_fn types;
    void *ctx;
    stpm_strbuf *out;
} emitter;

static const char *type_json(stpm_type t)
{
    switch (t) {
    case STPM_TYPE_NULL:
        return "null";
    case STPM_TYPE_BOOL:
        return "bool";
    case STPM_TYPE_INT:
        return "int";
    case STPM_TYPE_DECIMAL:
        return "amount";
    case STPM_TYPE_STRING:
        return "text";
    case STPM_TYPE_DATE:
        return "date";
    case STPM_TYPE_DURATION:
        return "duration";
    }
    return "?";
}

void stpm_expr_json_string(stpm_strbuf *sb, const char *s)
{
    stpm_strbuf_putc(sb, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') {
            stpm_strbuf_putc(sb, '\\');
            stpm_strbuf_putc(sb, (char)*p);
        } else if (*p < 0x20 || *p == 0x7F) {
            stpm_strbuf_printf(sb, "\\u%04x", *p);
        } else {
            stpm_strbuf_putc(sb, (char)*p);
        }
    }
    stpm_strbuf_putc(sb, '"');
}

/* The static type of a node that stpm_expr_check accepted. */
static stpm_type node_type(const emitter *em, const expr_node *n)
{
    stpm_type t = STPM_TYPE_NULL, a, b;
    char msg[160];
    switch (n->kind) {
    case NODE_LITERAL:
        return n->lit.type;
    case NODE_NAME:
        if (em->types(em->ctx, n->name, &t) != 0)
            t = STPM_TYPE_NULL;
        return t;
    case NODE_TODAY:
        return STPM_TYPE_DATE;
    case NODE_NEG:
        return node_type(em, n->a);
    case NODE_NOT:
    case NODE_IN:
    case NODE_IS_SET:
        return STPM_TYPE_BOOL;
    case NODE_BINARY:
        if (n->op == OP_AND || n->op == OP_OR)
            return STPM_TYPE_BOOL;
        a = node_type(em, n->a);
        b = node_type(em, n->b);
        if (expr_binary_type(n->op, a, b, &t, msg, sizeof(msg)) < 0)
            t = STPM_TYPE_NULL;
        return t;
    }
    return STPM_TYPE_NULL;
}

void stpm_expr_json_value(stpm_strbuf *out, const stpm_value *v)
{
    static const char *units[] = {"d", "wd", "mo", "y"};
    char buf[32];
    switch (v->type) {
    case STPM_TYPE_NULL:
        stpm_strbuf_puts(out, "null");
        break;
    case STPM_TYPE_BOOL:
        stpm_strbuf_puts(out, v->u.b ? "true" : "false");
        break;
    case STPM_TYPE_INT:
        stpm_strbuf_printf(out, "%" PRId64, v->u.i);
        break;
    case STPM_TYPE_DECIMAL:
        stpm_strbuf_puts(out, stpm_decimal_format(v->u.d, STPM_DECIMAL_PLACES, buf));
        break;
    case STPM_TYPE_STRING:
        stpm_expr_json_string(out, v->s ? v->s : "");
        break;
    case STPM_TYPE_DATE:
        stpm_strbuf_printf(out, "\"%s\"", stpm_date_format(v->u.date, buf));
        break;
    case STPM_TYPE_DURATION:
        stpm_strbuf_printf(out, "{\"n\":%" PRId32 ",\"u\":\"%s\"}", v->u.dur.n,
                           (unsigned)v->u.dur.unit <= STPM_DUR_YEARS ? units[v->u.dur.unit] : "?");
        break;
    }
}

static void emit(emitter *em, const expr_node *n)
{
    static const char *kinds[] = {"lit", "field", "today", "neg", "not", "op", "in", "isset"};
    stpm_strbuf *out = em->out;
    stpm_strbuf_printf(out, "{\"k\":\"%s\",\"t\":\"%s\"", kinds[n->kind],
                       type_json(node_type(em, n)));
    switch (n->kind) {
    case NODE_LITERAL:
        stpm_strbuf_puts(out, ",\"v\":");
        stpm_expr_json_value(em->out, &n->lit);
        break;
    case NODE_NAME:
    case NODE_IS_SET:
        if (n->kind == NODE_IS_SET)
            stpm_strbuf_printf(out, ",\"neg\":%s", n->negated ? "true" : "false");
        stpm_strbuf_puts(out, ",\"n\":");
        stpm_expr_json_string(out, n->name);
        break;
    case NODE_TODAY:
        break;
    case NODE_NEG:
    case NODE_NOT:
        stpm_strbuf_puts(out, ",\"a\":");
        emit(em, n->a);
        break;
    case NODE_BINARY:
        stpm_strbuf_printf(out, ",\"op\":\"%s\",\"a\":", expr_op_text(n->op));
        emit(em, n->a);
        stpm_strbuf_puts(out, ",\"b\":");
        emit(em, n->b);
        break;
    case NODE_IN:
        stpm_strbuf_printf(out, ",\"neg\":%s,\"a\":", n->negated ? "true" : "false");
        emit(em, n->a);
        stpm_strbuf_puts(out, ",\"items\":[");
        for (size_t i = 0; i < n->n_items; i++) {
            if (i)
                stpm_strbuf_putc(out, ',');
            emit(em, n->items[i]);
        }
        stpm_strbuf_putc(out, ']');
        break;
    }
    stpm_strbuf_putc(out, '}');
}

int stpm_expr_to_json(const stpm_expr *e, stpm_expr_type_fn types, void *ctx, stpm_strbuf *out,
                      stpm_error *err)
{
    int rc = stpm_expr_check(e, types, ctx, NULL, err);
    if (rc < 0)
        return rc;
    emitter em = {types, ctx, out};
    emit(&em, e->root);
    if (out->oom)
        return stpm_error_set(err, STPM_ERROR, "out of memory");
    return 0;
}

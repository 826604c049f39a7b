/* Evaluation of expressions with three-valued (Kleene) logic for not-set fields.
 *
 * The evaluator re-checks types dynamically, so a tree that was never checked, or a lookup
 * that returns an unexpected type, gives an error and never undefined behaviour. */
#include "workflow/expr_internal.h"

#include <string.h>

#define EVAL_ERROR N_("cannot evaluate expression")

typedef struct evaluator {
    const stpm_expr_env *env;
    stpm_error *err;
} evaluator;

static int eval_node(evaluator *ev, const expr_node *n, stpm_value *out);

static int type_error(evaluator *ev, int col, const char *msg)
{
    return expr_fail(ev->err, EVAL_ERROR, col, "%s", _(msg));
}

/* An integer as an amount, or -1 when it does not fit. */
static int to_decimal(const stpm_value *v, stpm_decimal *out)
{
    if (v->type == STPM_TYPE_DECIMAL) {
        *out = v->u.d;
        return 0;
    }
    if (v->u.i > INT64_MAX / STPM_DECIMAL_SCALE || v->u.i < INT64_MIN / STPM_DECIMAL_SCALE)
        return -1;
    *out = stpm_decimal_from_int(v->u.i);
    return 0;
}

/* -1, 0 or 1 for an integer against an amount, without overflow. */
static int cmp_int_decimal(int64_t i, stpm_decimal d)
{
    int64_t q = d / STPM_DECIMAL_SCALE, r = d % STPM_DECIMAL_SCALE;
    if (i != q)
        return i < q ? -1 : 1;
    return r > 0 ? -1 : r < 0 ? 1 : 0;
}

static int cmp_values(const stpm_value *a, const stpm_value *b)
{
    if (a->type == STPM_TYPE_INT && b->type == STPM_TYPE_DECIMAL)
        return cmp_int_decimal(a->u.i, b->u.d);
    if (a->type == STPM_TYPE_DECIMAL && b->type == STPM_TYPE_INT)
        return -cmp_int_decimal(b->u.i, a->u.d);
    switch (a->type) {
    case STPM_TYPE_BOOL:
        return (int)a->u.b - (int)b->u.b;
    case STPM_TYPE_INT:
        return a->u.i < b->u.i ? -1 : a->u.i > b->u.i;
    case STPM_TYPE_DECIMAL:
        return a->u.d < b->u.d ? -1 : a->u.d > b->u.d;
    case STPM_TYPE_DATE:
        return a->u.date < b->u.date ? -1 : a->u.date > b->u.date;
    case STPM_TYPE_STRING: {
        int c = strcmp(a->s ? a->s : "", b->s ? b->s : "");
        return c < 0 ? -1 : c > 0;
    }
    default:
        return 0;
    }
}

static int date_shift(evaluator *ev, int col, stpm_date d, stpm_duration_unit unit, int64_t n,
                      stpm_value *out)
{
    if (unit == STPM_DUR_WORKDAYS && !ev->env->calendar) {
        expr_fail(ev->err, EVAL_ERROR, col, "working days need a calendar");
        if (ev->err)
            ev->err->code = STPM_EUSAGE; /* the caller's mistake, not the input's */
        return STPM_EUSAGE;
    }
    if (stpm_duration_add(ev->env->calendar, d, unit, n, &out->u.date) < 0)
        return expr_fail(ev->err, EVAL_ERROR, col, "date out of range");
    out->type = STPM_TYPE_DATE;
    return 0;
}

static int arith(evaluator *ev, const expr_node *n, const stpm_value *a, const stpm_value *b,
                 stpm_type rt, stpm_value *out)
{
    bool sub = n->op == OP_SUB;
    if (rt == STPM_TYPE_INT && a->type == STPM_TYPE_DATE) {
        out->type = STPM_TYPE_INT;
        out->u.i = (int64_t)a->u.date - (int64_t)b->u.date;
        return 0;
    }
    if (rt == STPM_TYPE_INT) {
        int64_t r;
        bool ovf = sub ? __builtin_sub_overflow(a->u.i, b->u.i, &r)
                       : __builtin_add_overflow(a->u.i, b->u.i, &r);
        if (ovf)
            return expr_fail(ev->err, EVAL_ERROR, n->col, "integer out of range");
        out->type = STPM_TYPE_INT;
        out->u.i = r;
        return 0;
    }
    if (rt == STPM_TYPE_DECIMAL) {
        stpm_decimal x, y, r;
        if (to_decimal(a, &x) < 0 || to_decimal(b, &y) < 0 ||
            (sub ? stpm_decimal_sub(x, y, &r) : stpm_decimal_add(x, y, &r)) < 0)
            return expr_fail(ev->err, EVAL_ERROR, n->col, "amount out of range");
        out->type = STPM_TYPE_DECIMAL;
        out->u.d = r;
        return 0;
    }
    /* date ± duration, or duration + date */
    const stpm_value *d = a->type == STPM_TYPE_DATE ? a : b;
    const stpm_value *dur = a->type == STPM_TYPE_DATE ? b : a;
    int64_t k = dur->u.dur.n;
    return date_shift(ev, n->col, d->u.date, dur->u.dur.unit, sub ? -k : k, out);
}

static bool compare_holds(expr_op op, int c)
{
    switch (op) {
    case OP_EQ:
        return c == 0;
    case OP_NE:
        return c != 0;
    case OP_LT:
        return c < 0;
    case OP_LE:
        return c <= 0;
    case OP_GT:
        return c > 0;
    case OP_GE:
        return c >= 0;
    default:
        return false;
    }
}

/* Kleene logic: false and x = false; true or x = true; otherwise null is contagious. */
static int eval_logic(evaluator *ev, const expr_node *n, stpm_value *out)
{
    int rc;
    stpm_value a = {0}, b = {0};
    bool is_and = n->op == OP_AND;
    if ((rc = eval_node(ev, n->a, &a)) < 0)
        goto cleanup;
    if (a.type != STPM_TYPE_BOOL && a.type != STPM_TYPE_NULL) {
        rc = type_error(ev, n->col,
                        is_and ? _("'and' needs boolean operands")
                               : _("'or' needs boolean operands"));
        goto cleanup;
    }
    if (a.type == STPM_TYPE_BOOL && a.u.b != is_and) { /* decided */
        *out = a;
        goto cleanup;
    }
    if ((rc = eval_node(ev, n->b, &b)) < 0)
        goto cleanup;
    if (b.type != STPM_TYPE_BOOL && b.type != STPM_TYPE_NULL) {
        rc = type_error(ev, n->col,
                        is_and ? _("'and' needs boolean operands")
                               : _("'or' needs boolean operands"));
        goto cleanup;
    }
    if (b.type == STPM_TYPE_BOOL && b.u.b != is_and)
        *out = b;
    else if (a.type == STPM_TYPE_NULL || b.type == STPM_TYPE_NULL)
        out->type = STPM_TYPE_NULL;
    else
        *out = b;
cleanup:
    stpm_value_clear(&a);
    stpm_value_clear(&b);
    return rc;
}

static int eval_binary(evaluator *ev, const expr_node *n, stpm_value *out)
{
    int rc;
    stpm_value a = {0}, b = {0};
    stpm_type rt;
    char msg[160];
    if (n->op == OP_AND || n->op == OP_OR)
        return eval_logic(ev, n, out);
    if ((rc = eval_node(ev, n->a, &a)) < 0 || (rc = eval_node(ev, n->b, &b)) < 0)
        goto cleanup;
    if (a.type == STPM_TYPE_NULL || b.type == STPM_TYPE_NULL) {
        out->type = STPM_TYPE_NULL; /* not set: unknown */
        goto cleanup;
    }
    if (expr_binary_type(n->op, a.type, b.type, &rt, msg, sizeof(msg)) < 0) {
        rc = type_error(ev, n->col, msg);
        goto cleanup;
    }
    if (n->op == OP_ADD || n->op == OP_SUB) {
        rc = arith(ev, n, &a, &b, rt, out);
    } else {
        out->type = STPM_TYPE_BOOL;
        out->u.b = compare_holds(n->op, cmp_values(&a, &b));
    }
cleanup:
    stpm_value_clear(&a);
    stpm_value_clear(&b);
    return rc;
}

/* SQL's IN: true on a match, else null when the left side or an element is null. */
static int eval_in(evaluator *ev, const expr_node *n, stpm_value *out)
{
    int rc;
    stpm_value left = {0}, item = {0};
    bool found = false, saw_null = false;
    stpm_type rt;
    char msg[160];
    if ((rc = eval_node(ev, n->a, &left)) < 0)
        goto cleanup;
    if (left.type == STPM_TYPE_NULL) {
        out->type = STPM_TYPE_NULL;
        goto cleanup;
    }
    for (size_t i = 0; i < n->n_items && !found; i++) {
        stpm_value_clear(&item);
        if ((rc = eval_node(ev, n->items[i], &item)) < 0)
            goto cleanup;
        if (item.type == STPM_TYPE_NULL) {
            saw_null = true;
            continue;
        }
        if (expr_binary_type(OP_EQ, left.type, item.type, &rt, msg, sizeof(msg)) < 0) {
            rc = type_error(ev, n->items[i]->col, msg);
            goto cleanup;
        }
        found = cmp_values(&left, &item) == 0;
    }
    if (!found && saw_null) {
        out->type = STPM_TYPE_NULL;
    } else {
        out->type = STPM_TYPE_BOOL;
        out->u.b = found != n->negated;
    }
cleanup:
    stpm_value_clear(&left);
    stpm_value_clear(&item);
    return rc;
}

static int lookup(evaluator *ev, const expr_node *n, stpm_value *out)
{
    stpm_value_clear(out);
    if (!ev->env->lookup || ev->env->lookup(ev->env->ctx, n->name, out) != 0) {
        stpm_value_clear(out);
        return expr_fail(ev->err, EVAL_ERROR, n->col, "unknown field '%s'", n->name);
    }
    if (out->type == STPM_TYPE_STRING && !out->s) {
        stpm_value_clear(out);
        return type_error(ev, n->col, "text value without text");
    }
    return 0;
}

static int eval_node(evaluator *ev, const expr_node *n, stpm_value *out)
{
    int rc = 0;
    stpm_value a = {0};
    memset(out, 0, sizeof(*out));
    switch (n->kind) {
    case NODE_LITERAL:
        if (stpm_value_copy(out, &n->lit) < 0)
            rc = stpm_error_set(ev->err, STPM_ERROR, "out of memory");
        break;
    case NODE_NAME:
        rc = lookup(ev, n, out);
        break;
    case NODE_TODAY:
        out->type = STPM_TYPE_DATE;
        out->u.date = ev->env->today;
        break;
    case NODE_NEG:
        if ((rc = eval_node(ev, n->a, &a)) < 0)
            break;
        if (a.type == STPM_TYPE_NULL)
            break;
        if ((a.type != STPM_TYPE_INT && a.type != STPM_TYPE_DECIMAL)) {
            rc = type_error(ev, n->col, "only numbers can be negated");
            break;
        }
        if ((a.type == STPM_TYPE_INT ? a.u.i : a.u.d) == INT64_MIN) {
            rc = expr_fail(ev->err, EVAL_ERROR, n->col, "number out of range");
            break;
        }
        *out = a;
        if (a.type == STPM_TYPE_INT)
            out->u.i = -a.u.i;
        else
            out->u.d = -a.u.d;
        memset(&a, 0, sizeof(a));
        break;
    case NODE_NOT:
        if ((rc = eval_node(ev, n->a, &a)) < 0)
            break;
        if (a.type == STPM_TYPE_NULL)
            break;
        if (a.type != STPM_TYPE_BOOL) {
            rc = type_error(ev, n->col, "'not' needs a boolean operand");
            break;
        }
        out->type = STPM_TYPE_BOOL;
        out->u.b = !a.u.b;
        break;
    case NODE_BINARY:
        rc = eval_binary(ev, n, out);
        break;
    case NODE_IN:
        rc = eval_in(ev, n, out);
        break;
    case NODE_IS_SET:
        if ((rc = lookup(ev, n, &a)) < 0)
            break;
        out->type = STPM_TYPE_BOOL;
        out->u.b = (a.type != STPM_TYPE_NULL) != n->negated;
        break;
    }
    stpm_value_clear(&a);
    if (rc < 0)
        stpm_value_clear(out);
    return rc;
}

int stpm_expr_eval(const stpm_expr *e, const stpm_expr_env *env, stpm_value *out, stpm_error *err)
{
    evaluator ev = {env, err};
    return eval_node(&ev, e->root, out);
}

int stpm_expr_eval_bool(const stpm_expr *e, const stpm_expr_env *env, bool *out, stpm_error *err)
{
    stpm_value v = {0};
    int rc = stpm_expr_eval(e, env, &v, err);
    if (rc < 0)
        return rc;
    if (v.type != STPM_TYPE_BOOL && v.type != STPM_TYPE_NULL) {
        rc = expr_fail(err, EVAL_ERROR, 1, "a guard must be a boolean, not %s",
                       stpm_type_name(v.type));
    } else {
        *out = v.type == STPM_TYPE_BOOL && v.u.b;
    }
    stpm_value_clear(&v);
    return rc;
}

/* Static typing of expressions (stpm_expr_check) and the typing rules the evaluator
 * shares. */
#include "workflow/expr_internal.h"

#include <stdio.h>

#define TYPE_ERROR N_("type error in expression")
#define NULL_MSG N_("null cannot be an operand; test a field with 'is set' or 'is not set'")
#define DURATION_MSG N_("a duration can only be added to or subtracted from a date")

const char *expr_op_text(expr_op op)
{
    static const char *text[] = {"+", "-", "=", "!=", "<", "<=", ">", ">=", "and", "or"};
    return (unsigned)op < sizeof(text) / sizeof(text[0]) ? text[op] : "?";
}

static bool numeric(stpm_type t)
{
    return t == STPM_TYPE_INT || t == STPM_TYPE_DECIMAL;
}

int expr_binary_type(expr_op op, stpm_type a, stpm_type b, stpm_type *out, char *msg, size_t msglen)
{
    const char *an = stpm_type_name(a), *bn = stpm_type_name(b);
    switch (op) {
    case OP_ADD:
    case OP_SUB:
        if (numeric(a) && numeric(b)) {
            *out = (a == STPM_TYPE_INT && b == STPM_TYPE_INT) ? STPM_TYPE_INT : STPM_TYPE_DECIMAL;
            return 0;
        }
        if (a == STPM_TYPE_DATE && b == STPM_TYPE_DURATION) {
            *out = STPM_TYPE_DATE;
            return 0;
        }
        if (op == OP_ADD && a == STPM_TYPE_DURATION && b == STPM_TYPE_DATE) {
            *out = STPM_TYPE_DATE;
            return 0;
        }
        if (op == OP_SUB && a == STPM_TYPE_DATE && b == STPM_TYPE_DATE) {
            *out = STPM_TYPE_INT; /* days between */
            return 0;
        }
        if (a == STPM_TYPE_DURATION || b == STPM_TYPE_DURATION)
            snprintf(msg, msglen, "%s", _(DURATION_MSG));
        else if (a == STPM_TYPE_DATE && numeric(b))
            snprintf(msg, msglen,
                     _("cannot apply '%s' to date and %s; write a duration such as 7d"),
                     expr_op_text(op), bn);
        else
            snprintf(msg, msglen, _("cannot apply '%s' to %s and %s"), expr_op_text(op), an, bn);
        return -1;
    case OP_EQ:
    case OP_NE:
    case OP_LT:
    case OP_LE:
    case OP_GT:
    case OP_GE: {
        bool ordering = op != OP_EQ && op != OP_NE;
        if (a == STPM_TYPE_DURATION || b == STPM_TYPE_DURATION) {
            snprintf(msg, msglen, "%s", _(DURATION_MSG));
            return -1;
        }
        if (!(numeric(a) && numeric(b)) && a != b) {
            snprintf(msg, msglen, _("cannot compare %s with %s"), an, bn);
            return -1;
        }
        if (ordering && (a == STPM_TYPE_STRING || a == STPM_TYPE_BOOL)) {
            snprintf(msg, msglen,
                     _("cannot apply '%s' to %s values; only '=' and '!=' compare them"),
                     expr_op_text(op), an);
            return -1;
        }
        *out = STPM_TYPE_BOOL;
        return 0;
    }
    case OP_AND:
    case OP_OR:
        if (a == STPM_TYPE_BOOL && b == STPM_TYPE_BOOL) {
            *out = STPM_TYPE_BOOL;
            return 0;
        }
        snprintf(msg, msglen, _("'%s' needs boolean operands, found %s"), expr_op_text(op),
                 a == STPM_TYPE_BOOL ? bn : an);
        return -1;
    }
    snprintf(msg, msglen, _("unknown operator"));
    return -1;
}

typedef struct checker {
    stpm_expr_type_fn types;
    void *ctx;
    stpm_error *err;
} checker;

static int check_node(checker *c, const expr_node *n, stpm_type *out);

/* An operand's type, refusing null (which only `is set` may test). */
static int check_operand(checker *c, const expr_node *n, stpm_type *out)
{
    int rc = check_node(c, n, out);
    if (rc == 0 && *out == STPM_TYPE_NULL)
        return expr_fail(c->err, TYPE_ERROR, n->col, NULL_MSG);
    return rc;
}

static int check_name(checker *c, const expr_node *n, stpm_type *out)
{
    if (!c->types || c->types(c->ctx, n->name, out) != 0)
        return expr_fail(c->err, TYPE_ERROR, n->col, "unknown field '%s'", n->name);
    return 0;
}

static int check_binary(checker *c, const expr_node *n, stpm_type *out)
{
    int rc;
    stpm_type a, b;
    char msg[160];
    if ((rc = check_operand(c, n->a, &a)) < 0 || (rc = check_operand(c, n->b, &b)) < 0)
        return rc;
    if (expr_binary_type(n->op, a, b, out, msg, sizeof(msg)) == 0)
        return 0;
    int col = n->col;
    if (n->op != OP_AND && n->op != OP_OR) {
        /* Point at the misplaced duration rather than at the operator. */
        if (a == STPM_TYPE_DURATION && (b != STPM_TYPE_DATE || n->op != OP_ADD))
            col = n->a->col;
        else if (b == STPM_TYPE_DURATION && a != STPM_TYPE_DATE)
            col = n->b->col;
    }
    return expr_fail(c->err, TYPE_ERROR, col, "%s", msg);
}

static int check_in(checker *c, const expr_node *n, stpm_type *out)
{
    int rc;
    stpm_type left, item;
    char msg[160];
    if ((rc = check_operand(c, n->a, &left)) < 0)
        return rc;
    if (left == STPM_TYPE_DURATION)
        return expr_fail(c->err, TYPE_ERROR, n->a->col, DURATION_MSG);
    for (size_t i = 0; i < n->n_items; i++) {
        stpm_type dummy;
        if ((rc = check_operand(c, n->items[i], &item)) < 0)
            return rc;
        if (expr_binary_type(OP_EQ, left, item, &dummy, msg, sizeof(msg)) < 0)
            return expr_fail(c->err, TYPE_ERROR, n->items[i]->col,
                             "list element of type %s does not match %s on the left of 'in'",
                             stpm_type_name(item), stpm_type_name(left));
    }
    *out = STPM_TYPE_BOOL;
    return 0;
}

static int check_node(checker *c, const expr_node *n, stpm_type *out)
{
    int rc;
    stpm_type a;
    switch (n->kind) {
    case NODE_LITERAL:
        *out = n->lit.type;
        return 0;
    case NODE_NAME:
        return check_name(c, n, out);
    case NODE_TODAY:
        *out = STPM_TYPE_DATE;
        return 0;
    case NODE_NEG:
        if ((rc = check_operand(c, n->a, &a)) < 0)
            return rc;
        if (!numeric(a))
            return expr_fail(c->err, TYPE_ERROR, n->col, "cannot negate a value of type %s",
                             stpm_type_name(a));
        *out = a;
        return 0;
    case NODE_NOT:
        if ((rc = check_operand(c, n->a, &a)) < 0)
            return rc;
        if (a != STPM_TYPE_BOOL)
            return expr_fail(c->err, TYPE_ERROR, n->col, "'not' needs a boolean operand, found %s",
                             stpm_type_name(a));
        *out = STPM_TYPE_BOOL;
        return 0;
    case NODE_BINARY:
        return check_binary(c, n, out);
    case NODE_IN:
        return check_in(c, n, out);
    case NODE_IS_SET:
        if ((rc = check_name(c, n, &a)) < 0)
            return rc;
        *out = STPM_TYPE_BOOL;
        return 0;
    }
    return stpm_error_set(c->err, STPM_ERROR, "corrupt expression tree");
}

int stpm_expr_check(const stpm_expr *e, stpm_expr_type_fn types, void *ctx, stpm_type *result,
                    stpm_error *err)
{
    checker c = {types, ctx, err};
    stpm_type t;
    int rc = check_node(&c, e->root, &t);
    if (rc < 0)
        return rc;
    if (t == STPM_TYPE_DURATION)
        return expr_fail(err, TYPE_ERROR, e->root->col, DURATION_MSG);
    if (result)
        *result = t;
    return 0;
}

/* The expression parser: recursive descent over expr_lex_next, building an expr_node tree.
 *
 *   expr    := or
 *   or      := and { "or" and }
 *   and     := not { "and" not }
 *   not     := "not" not | cmp
 *   cmp     := add [ cmpop add | ["not"] "in" list | "is" ["not"] "set" ]
 *   add     := unary { ("+" | "-") unary }
 *   unary   := "-" unary | primary
 *   primary := literal | name | "today" | "(" expr ")"
 *   list    := "[" [ expr { "," expr } ] "]"
 */
#include "workflow/expr_internal.h"

#include <stdlib.h>
#include <string.h>

#include "util/strutil.h"

#define SYNTAX N_("syntax error in expression")

typedef struct parser {
    expr_lexer lx;
    expr_token tok; /* the current token */
    int nesting;    /* recursion depth of the parser */
    stpm_error *err;
} parser;

static void node_free(expr_node *n)
{
    if (!n)
        return;
    node_free(n->a);
    node_free(n->b);
    for (size_t i = 0; i < n->n_items; i++)
        node_free(n->items[i]);
    free(n->items);
    free(n->name);
    stpm_value_clear(&n->lit);
    free(n);
}

static int oom(parser *p)
{
    return stpm_error_set(p->err, STPM_ERROR, "out of memory");
}

static int advance(parser *p)
{
    stpm_value_clear(&p->tok.val);
    return expr_lex_next(&p->lx, &p->tok, p->err);
}

/* The current token as it appears in the source, shortened for messages. */
static const char *tok_text(const parser *p, int *len)
{
    *len = p->tok.len > 24 ? 24 : (int)p->tok.len;
    return p->lx.src + p->tok.pos;
}

static int expected(parser *p, const char *what)
{
    if (p->tok.kind == TOK_END)
        return expr_fail(p->err, SYNTAX, p->tok.col, "expected %s at end of expression", what);
    int n;
    const char *t = tok_text(p, &n);
    return expr_fail(p->err, SYNTAX, p->tok.col, "expected %s, found '%.*s'", what, n, t);
}

static expr_node *node_new(expr_node_kind kind, int col)
{
    expr_node *n = calloc(1, sizeof(*n));
    if (n) {
        n->kind = kind;
        n->col = col;
        n->depth = 1;
    }
    return n;
}

/* Join children under a new node, checking the depth limit. On failure the children are
 * freed. */
static int node_join(parser *p, expr_node **out, expr_node_kind kind, int col, expr_node *a,
                     expr_node *b)
{
    int depth = 1 + (a ? a->depth : 0);
    if (b && b->depth + 1 > depth)
        depth = b->depth + 1;
    if (depth > EXPR_MAX_DEPTH) {
        node_free(a);
        node_free(b);
        return expr_fail(p->err, SYNTAX, col, "expression nested too deeply (more than %d levels)",
                         EXPR_MAX_DEPTH);
    }
    expr_node *n = node_new(kind, col);
    if (!n) {
        node_free(a);
        node_free(b);
        return oom(p);
    }
    n->a = a;
    n->b = b;
    n->depth = depth;
    *out = n;
    return 0;
}

static int parse_or(parser *p, expr_node **out);

static int enter(parser *p)
{
    if (++p->nesting > EXPR_MAX_DEPTH)
        return expr_fail(p->err, SYNTAX, p->tok.col,
                         "expression nested too deeply (more than %d levels)", EXPR_MAX_DEPTH);
    return 0;
}

static int parse_list(parser *p, expr_node *in)
{
    int rc;
    size_t cap = 0;
    if ((rc = advance(p)) < 0) /* "[" */
        return rc;
    if (p->tok.kind == TOK_RBRACKET)
        return advance(p);
    for (;;) {
        expr_node *item = NULL;
        if ((rc = parse_or(p, &item)) < 0)
            return rc;
        if (item->depth + 1 > in->depth)
            in->depth = item->depth + 1;
        if (in->n_items == cap) {
            size_t ncap = cap ? cap * 2 : 4;
            expr_node **items = realloc(in->items, ncap * sizeof(*items));
            if (!items) {
                node_free(item);
                return oom(p);
            }
            in->items = items;
            cap = ncap;
        }
        in->items[in->n_items++] = item;
        if (in->depth > EXPR_MAX_DEPTH)
            return expr_fail(p->err, SYNTAX, in->col,
                             "expression nested too deeply (more than %d levels)", EXPR_MAX_DEPTH);
        if (p->tok.kind == TOK_RBRACKET)
            return advance(p);
        if (p->tok.kind != TOK_COMMA)
            return expected(p, "',' or ']' in the list");
        if ((rc = advance(p)) < 0)
            return rc;
    }
}

static int parse_primary(parser *p, expr_node **out)
{
    int rc;
    expr_node *n = NULL;
    switch (p->tok.kind) {
    case TOK_INT:
    case TOK_DECIMAL:
    case TOK_STRING:
    case TOK_DATE:
    case TOK_DURATION:
    case TOK_TRUE:
    case TOK_FALSE:
    case TOK_NULL:
        if (!(n = node_new(NODE_LITERAL, p->tok.col)))
            return oom(p);
        n->lit = p->tok.val; /* takes the string over */
        memset(&p->tok.val, 0, sizeof(p->tok.val));
        break;
    case TOK_NAME:
        if (!(n = node_new(NODE_NAME, p->tok.col)))
            return oom(p);
        if (!(n->name = stpm_strndup(p->lx.src + p->tok.pos, p->tok.len))) {
            free(n);
            return oom(p);
        }
        break;
    case TOK_TODAY:
        if (!(n = node_new(NODE_TODAY, p->tok.col)))
            return oom(p);
        break;
    case TOK_LPAREN: {
        int col = p->tok.col;
        if ((rc = enter(p)) < 0 || (rc = advance(p)) < 0 || (rc = parse_or(p, &n)) < 0)
            return rc;
        p->nesting--;
        if (p->tok.kind != TOK_RPAREN) {
            node_free(n);
            if (p->tok.kind == TOK_END)
                return expr_fail(p->err, SYNTAX, p->tok.col,
                                 "expected ')' at end of expression (to close '(' at column %d)",
                                 col);
            return expected(p, "')'");
        }
        break;
    }
    default:
        return expected(p, "an operand");
    }
    if ((rc = advance(p)) < 0) {
        node_free(n);
        return rc;
    }
    *out = n;
    return 0;
}

static int parse_unary(parser *p, expr_node **out)
{
    int rc;
    if (p->tok.kind != TOK_MINUS)
        return parse_primary(p, out);
    int col = p->tok.col;
    expr_node *a = NULL;
    if ((rc = enter(p)) < 0 || (rc = advance(p)) < 0 || (rc = parse_unary(p, &a)) < 0)
        return rc;
    p->nesting--;
    return node_join(p, out, NODE_NEG, col, a, NULL);
}

static int parse_add(parser *p, expr_node **out)
{
    int rc;
    expr_node *left = NULL;
    if ((rc = parse_unary(p, &left)) < 0)
        return rc;
    while (p->tok.kind == TOK_PLUS || p->tok.kind == TOK_MINUS) {
        expr_op op = p->tok.kind == TOK_PLUS ? OP_ADD : OP_SUB;
        int col = p->tok.col;
        expr_node *right = NULL;
        if ((rc = advance(p)) < 0 || (rc = parse_unary(p, &right)) < 0) {
            node_free(left);
            return rc;
        }
        if ((rc = node_join(p, &left, NODE_BINARY, col, left, right)) < 0)
            return rc;
        left->op = op;
    }
    *out = left;
    return 0;
}

static bool cmp_op(expr_tok_kind k, expr_op *op)
{
    switch (k) {
    case TOK_EQ:
        *op = OP_EQ;
        return true;
    case TOK_NE:
        *op = OP_NE;
        return true;
    case TOK_LT:
        *op = OP_LT;
        return true;
    case TOK_LE:
        *op = OP_LE;
        return true;
    case TOK_GT:
        *op = OP_GT;
        return true;
    case TOK_GE:
        *op = OP_GE;
        return true;
    default:
        return false;
    }
}

/* `name is [not] set`: *io is the name node, turned in place into NODE_IS_SET; on
 * failure it is freed and set to NULL. */
static int parse_is_set(parser *p, expr_node **io)
{
    expr_node *left = *io;
    int rc;
    int is_col = p->tok.col;
    bool negated = false;
    if (left->kind != NODE_NAME) {
        rc = expr_fail(p->err, SYNTAX, is_col, "'is set' applies to a field name only");
        goto fail;
    }
    if ((rc = advance(p)) < 0)
        goto fail;
    if (p->tok.kind == TOK_NOT) {
        negated = true;
        if ((rc = advance(p)) < 0)
            goto fail;
    }
    if (p->tok.kind != TOK_SET) {
        rc = expected(p, negated ? _("'set' after 'is not'") : _("'set' after 'is'"));
        goto fail;
    }
    if ((rc = advance(p)) < 0)
        goto fail;
    left->kind = NODE_IS_SET; /* keeps its name and column */
    left->negated = negated;
    return 0;
fail:
    node_free(left);
    *io = NULL;
    return rc;
}

static int parse_cmp(parser *p, expr_node **out)
{
    int rc;
    expr_node *left = NULL, *right = NULL;
    expr_op op;
    if ((rc = parse_add(p, &left)) < 0)
        return rc;
    if (cmp_op(p->tok.kind, &op)) {
        int col = p->tok.col;
        if ((rc = advance(p)) < 0 || (rc = parse_add(p, &right)) < 0)
            goto fail;
        if ((rc = node_join(p, &left, NODE_BINARY, col, left, right)) < 0)
            return rc;
        left->op = op;
    } else if (p->tok.kind == TOK_IN || p->tok.kind == TOK_NOT) {
        bool negated = p->tok.kind == TOK_NOT;
        if (negated) {
            if ((rc = advance(p)) < 0)
                goto fail;
            if (p->tok.kind != TOK_IN) {
                rc = expected(p, "'in' after 'not'");
                goto fail;
            }
        }
        int col = p->tok.col;
        if ((rc = advance(p)) < 0)
            goto fail;
        if (p->tok.kind != TOK_LBRACKET) {
            rc = expected(p, "a list in brackets after 'in', as in x in [1, 2]");
            goto fail;
        }
        if ((rc = node_join(p, &left, NODE_IN, col, left, NULL)) < 0)
            return rc;
        left->negated = negated;
        if ((rc = parse_list(p, left)) < 0)
            goto fail;
    } else if (p->tok.kind == TOK_IS) {
        if ((rc = parse_is_set(p, &left)) < 0)
            return rc;
    }
    if (cmp_op(p->tok.kind, &op) || p->tok.kind == TOK_IN || p->tok.kind == TOK_IS) {
        rc = expr_fail(p->err, SYNTAX, p->tok.col,
                       "comparisons cannot be chained; join them with 'and'");
        goto fail;
    }
    *out = left;
    return 0;
fail:
    node_free(left);
    return rc;
}

static int parse_not(parser *p, expr_node **out)
{
    int rc;
    if (p->tok.kind != TOK_NOT)
        return parse_cmp(p, out);
    int col = p->tok.col;
    expr_node *a = NULL;
    if ((rc = enter(p)) < 0 || (rc = advance(p)) < 0 || (rc = parse_not(p, &a)) < 0)
        return rc;
    p->nesting--;
    return node_join(p, out, NODE_NOT, col, a, NULL);
}

static int parse_and(parser *p, expr_node **out)
{
    int rc;
    expr_node *left = NULL;
    if ((rc = parse_not(p, &left)) < 0)
        return rc;
    while (p->tok.kind == TOK_AND) {
        int col = p->tok.col;
        expr_node *right = NULL;
        if ((rc = advance(p)) < 0 || (rc = parse_not(p, &right)) < 0) {
            node_free(left);
            return rc;
        }
        if ((rc = node_join(p, &left, NODE_BINARY, col, left, right)) < 0)
            return rc;
        left->op = OP_AND;
    }
    *out = left;
    return 0;
}

static int parse_or(parser *p, expr_node **out)
{
    int rc;
    expr_node *left = NULL;
    if ((rc = parse_and(p, &left)) < 0)
        return rc;
    while (p->tok.kind == TOK_OR) {
        int col = p->tok.col;
        expr_node *right = NULL;
        if ((rc = advance(p)) < 0 || (rc = parse_and(p, &right)) < 0) {
            node_free(left);
            return rc;
        }
        if ((rc = node_join(p, &left, NODE_BINARY, col, left, right)) < 0)
            return rc;
        left->op = OP_OR;
    }
    *out = left;
    return 0;
}

int stpm_expr_parse(stpm_expr **out, const char *src, stpm_error *err)
{
    int rc = 0;
    stpm_expr *e = NULL;
    expr_node *root = NULL;
    parser p = {{src, strlen(src), 0}, {0}, 0, err};
    *out = NULL;
    if ((rc = advance(&p)) < 0)
        goto cleanup;
    if (p.tok.kind == TOK_END) {
        rc = expr_fail(err, SYNTAX, 1, "empty expression");
        goto cleanup;
    }
    if ((rc = parse_or(&p, &root)) < 0)
        goto cleanup;
    if (p.tok.kind != TOK_END) {
        int n;
        const char *t = tok_text(&p, &n);
        rc = expr_fail(err, SYNTAX, p.tok.col, "expected an operator, found '%.*s'", n, t);
        goto cleanup;
    }
    if (!(e = calloc(1, sizeof(*e))) || !(e->src = stpm_strdup(src))) {
        rc = oom(&p);
        goto cleanup;
    }
    e->root = root;
    root = NULL;
    *out = e;
    e = NULL;
cleanup:
    stpm_value_clear(&p.tok.val);
    node_free(root);
    stpm_expr_free(e);
    return rc;
}

void stpm_expr_free(stpm_expr *e)
{
    if (!e)
        return;
    node_free(e->root);
    free(e->src);
    free(e);
}

const char *stpm_expr_source(const stpm_expr *e)
{
    return e->src;
}

typedef struct names_acc {
    const char **seen;
    size_t n, cap;
    void (*fn)(void *ctx, const char *name);
    void *ctx;
} names_acc;

static void names_visit(names_acc *acc, const expr_node *n)
{
    if (!n)
        return;
    if (n->name) {
        bool seen = false;
        for (size_t i = 0; i < acc->n && !seen; i++)
            seen = strcmp(acc->seen[i], n->name) == 0;
        if (!seen) {
            if (acc->n == acc->cap) {
                size_t cap = acc->cap ? acc->cap * 2 : 8;
                const char **s = realloc(acc->seen, cap * sizeof(*s));
                if (s) {
                    acc->seen = s;
                    acc->cap = cap;
                }
            }
            /* Out of memory only weakens the de-duplication. */
            if (acc->n < acc->cap)
                acc->seen[acc->n++] = n->name;
            acc->fn(acc->ctx, n->name);
        }
    }
    names_visit(acc, n->a);
    names_visit(acc, n->b);
    for (size_t i = 0; i < n->n_items; i++)
        names_visit(acc, n->items[i]);
}

void stpm_expr_names(const stpm_expr *e, void (*fn)(void *ctx, const char *name), void *ctx)
{
    names_acc acc = {NULL, 0, 0, fn, ctx};
    if (e)
        names_visit(&acc, e->root);
    free(acc.seen);
}

/* Internals of the expression language: tokens, the syntax tree, shared typing rules. */
#ifndef STPM_WORKFLOW_EXPR_INTERNAL_H
#define STPM_WORKFLOW_EXPR_INTERNAL_H

#include "stpm/expr.h"

/* Limits that keep hostile input cheap: nesting depth of the tree and of the parser's
 * recursion, and the largest duration literal (100000d is about 274 years). */
#define EXPR_MAX_DEPTH 200
#define EXPR_MAX_DURATION 100000

typedef enum {
    TOK_END,
    TOK_INT,
    TOK_DECIMAL,
    TOK_STRING,
    TOK_DATE,
    TOK_DURATION,
    TOK_NAME,
    TOK_TRUE,
    TOK_FALSE,
    TOK_NULL,
    TOK_TODAY,
    TOK_AND,
    TOK_OR,
    TOK_NOT,
    TOK_IN,
    TOK_IS,
    TOK_SET,
    TOK_PLUS,
    TOK_MINUS,
    TOK_EQ,
    TOK_NE,
    TOK_LT,
    TOK_LE,
    TOK_GT,
    TOK_GE,
    TOK_LPAREN,
    TOK_RPAREN,
    TOK_LBRACKET,
    TOK_RBRACKET,
    TOK_COMMA,
} expr_tok_kind;

typedef struct expr_token {
    expr_tok_kind kind;
    int col;         /* 1-based byte column of the token's first byte */
    size_t pos, len; /* where it stands in the source */
    stpm_value val;  /* literals; a string literal's text is owned here */
} expr_token;

typedef struct expr_lexer {
    const char *src;
    size_t len;
    size_t pos;
} expr_lexer;

/* The next token. Errors are STPM_EINPUT with one diagnostic at the offending column. */
int expr_lex_next(expr_lexer *lx, expr_token *tok, stpm_error *err);

/* Record a syntax, type or evaluation problem: primary message `what`, one diagnostic at
 * col. Returns STPM_EINPUT. */
int expr_fail(stpm_error *err, const char *what, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* true when s[0..n) is valid UTF-8 (no overlongs, no surrogates). */
bool expr_utf8_valid(const char *s, size_t n);

typedef enum {
    OP_ADD,
    OP_SUB,
    OP_EQ,
    OP_NE,
    OP_LT,
    OP_LE,
    OP_GT,
    OP_GE,
    OP_AND,
    OP_OR,
} expr_op;

typedef enum {
    NODE_LITERAL,
    NODE_NAME,
    NODE_TODAY,
    NODE_NEG,    /* -a */
    NODE_NOT,    /* not a */
    NODE_BINARY, /* a op b */
    NODE_IN,     /* a [not] in [items] */
    NODE_IS_SET, /* name is [not] set */
} expr_node_kind;

typedef struct expr_node {
    expr_node_kind kind;
    int col;   /* the operator's column; a literal's or a name's own column */
    int depth; /* 1 for a leaf */
    expr_op op;
    bool negated; /* NODE_IN: `not in`; NODE_IS_SET: `is not set` */
    stpm_value lit;
    char *name;
    struct expr_node *a, *b;
    struct expr_node **items;
    size_t n_items;
} expr_node;

struct stpm_expr {
    expr_node *root;
    char *src;
};

const char *expr_op_text(expr_op op);

/* The type of `a op b` for arithmetic and comparisons (not and/or) when both operand
 * types are known and neither is null: 0 and *out, or -1 with a message in msg. */
int expr_binary_type(expr_op op, stpm_type a, stpm_type b, stpm_type *out, char *msg,
                     size_t msglen);

#endif

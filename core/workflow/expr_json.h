/* The typed syntax tree of an expression as JSON, for the server's evaluator
 * (stpm.expr_eval, migrations/071_expr.sql; the format is in docs/expressions.md). */
#ifndef STPM_WORKFLOW_EXPR_JSON_H
#define STPM_WORKFLOW_EXPR_JSON_H

#include "stpm/expr.h"
#include "util/strutil.h"

/* Append one JSON value to out: the tree of e, every node an object with "k" (kind) and
 * "t" (its static type, by the rules of stpm_expr_check; a field's type from types). An
 * expression that does not type-check gives stpm_expr_check's error (STPM_EINPUT) and
 * appends nothing; out of memory is STPM_ERROR. */
int stpm_expr_to_json(const stpm_expr *e, stpm_expr_type_fn types, void *ctx, stpm_strbuf *out,
                      stpm_error *err);

/* A value in the same encoding (numbers for int and amount — amounts with 4 places —,
 * "YYYY-MM-DD" for dates, strings, booleans, null, {"n","u"} for durations). */
void stpm_expr_json_value(stpm_strbuf *out, const stpm_value *v);

/* s as a JSON string literal: quotes, backslashes and control characters escaped. */
void stpm_expr_json_string(stpm_strbuf *out, const char *s);

#endif

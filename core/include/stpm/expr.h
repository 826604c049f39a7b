/*
 * stpm — the guard and `set` expression language of workflow definitions (DESIGN §5).
 *
 *   literals   42  3057.28  "text"  2021-10-31  7d  20wd  6mo  1y  true  false  null
 *   names      project fields, and `today`
 *   operators  + -  (numbers; date ± duration; date - date gives days)
 *              = != < <= > >=   and or not   x in [a, b, ...]   x is set   x is not set
 *              ( ... )
 *
 * Types are checked when a workflow is loaded (stpm_expr_check), so a project never
 * meets a type error at run time. Amounts are exact decimals, never floating point.
 */
#ifndef STPM_EXPR_H
#define STPM_EXPR_H

#include "stpm/calendar.h"
#include "stpm/common.h"
#include "stpm/date.h"
#include "stpm/decimal.h"
#include "stpm/error.h"

typedef enum {
    STPM_TYPE_NULL, /* a field that is not set; compares only with `is set` */
    STPM_TYPE_BOOL,
    STPM_TYPE_INT,
    STPM_TYPE_DECIMAL, /* an amount (workflow field type `amount`) */
    STPM_TYPE_STRING,  /* workflow field type `text` */
    STPM_TYPE_DATE,
    STPM_TYPE_DURATION,
} stpm_type;

typedef enum {
    STPM_DUR_DAYS,
    STPM_DUR_WORKDAYS,
    STPM_DUR_MONTHS,
    STPM_DUR_YEARS,
} stpm_duration_unit;

typedef struct stpm_value {
    stpm_type type;
    union {
        bool b;
        int64_t i;
        stpm_decimal d;
        stpm_date date;
        struct {
            stpm_duration_unit unit;
            int32_t n;
        } dur;
    } u;
    char *s; /* STPM_TYPE_STRING: owned, NUL-terminated UTF-8 */
} stpm_value;

/* Release a value's string and set it to NULL type. Accepts NULL. */
STPM_API void stpm_value_clear(stpm_value *v);
/* Deep copy. 0 or STPM_ERROR on out of memory. */
STPM_API int stpm_value_copy(stpm_value *dst, const stpm_value *src);
/* The value as text ("2021-10-31", "3057.28", "20wd", "true", "" for null); malloc'd. */
STPM_API char *stpm_value_to_string(const stpm_value *v);
/* The name of a type, as in messages: "null", "boolean", "integer", "amount", "text",
 * "date", "duration". */
STPM_API const char *stpm_type_name(stpm_type t);

typedef struct stpm_expr stpm_expr;

/* Parse src. A syntax error is STPM_EINPUT with one diagnostic whose col is the 1-based
 * byte column in src of the offending token (line 0, file NULL): the caller shifts it
 * to where the expression stands in its file. */
STPM_API int stpm_expr_parse(stpm_expr **out, const char *src, stpm_error *err);
STPM_API void stpm_expr_free(stpm_expr *e);

/* The type of a name, for checking: 0 and *out set when known, -1 when unknown. */
typedef int (*stpm_expr_type_fn)(void *ctx, const char *name, stpm_type *out);

/* Type-check e; `today` is known without lookup. On success *result is the type of the
 * whole expression. Unknown names and type errors are STPM_EINPUT with a diagnostic at
 * the column of the offending name or operator. */
STPM_API int stpm_expr_check(const stpm_expr *e, stpm_expr_type_fn types, void *ctx,
                             stpm_type *result, stpm_error *err);

/* The value of a name at run time: 0 and *out filled (a not-set field is
 * STPM_TYPE_NULL) or -1 when unknown. The evaluator clears *out afterwards. */
typedef int (*stpm_expr_value_fn)(void *ctx, const char *name, stpm_value *out);

typedef struct stpm_expr_env {
    stpm_date today;
    const stpm_calendar *calendar; /* for `wd` durations; required when they occur */
    stpm_expr_value_fn lookup;
    void *ctx;
} stpm_expr_env;

/* Evaluate e. A null operand makes arithmetic and ordering comparisons null, and a null
 * guard counts as false (see the docs). Errors (overflow, unknown name) are STPM_EINPUT. */
STPM_API int stpm_expr_eval(const stpm_expr *e, const stpm_expr_env *env, stpm_value *out,
                            stpm_error *err);

/* Evaluate a guard: *out is true only when e evaluates to true; a null result (a guard
 * that reads a not-set field) is false. A non-boolean result is STPM_EINPUT. A `wd`
 * duration without env->calendar is STPM_EUSAGE. */
STPM_API int stpm_expr_eval_bool(const stpm_expr *e, const stpm_expr_env *env, bool *out,
                                 stpm_error *err);

/* Every name the expression reads (fields, not `today`), for dependency listings and
 * `project why`: calls fn once per distinct name in order of first appearance. */
STPM_API void stpm_expr_names(const stpm_expr *e, void (*fn)(void *ctx, const char *name),
                              void *ctx);

/* The source text the expression was parsed from. */
STPM_API const char *stpm_expr_source(const stpm_expr *e);

#endif

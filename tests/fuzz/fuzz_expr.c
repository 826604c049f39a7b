/* libFuzzer harness for the expression language: parse, check, evaluate (checked and
 * unchecked), list names, print the result. Must never crash, leak or hang. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stpm/calendar.h"
#include "stpm/expr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct {
    const char *name;
    stpm_type type;
    bool set;
} fields[] = {
    {"amount", STPM_TYPE_DECIMAL, true}, {"n", STPM_TYPE_INT, true},
    {"big", STPM_TYPE_INT, true},        {"d", STPM_TYPE_DATE, true},
    {"far", STPM_TYPE_DATE, true},       {"t", STPM_TYPE_STRING, true},
    {"b", STPM_TYPE_BOOL, true},         {"x", STPM_TYPE_INT, false},
    {"y", STPM_TYPE_BOOL, false},        {"s", STPM_TYPE_STRING, false},
};

static int find(const char *name)
{
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        if (strcmp(fields[i].name, name) == 0)
            return (int)i;
    return -1;
}

static int types(void *ctx, const char *name, stpm_type *out)
{
    (void)ctx;
    int i = find(name);
    if (i < 0)
        return -1;
    *out = fields[i].type;
    return 0;
}

static int lookup(void *ctx, const char *name, stpm_value *out)
{
    (void)ctx;
    int i = find(name);
    if (i < 0)
        return -1;
    memset(out, 0, sizeof(*out));
    if (!fields[i].set)
        return 0;
    out->type = fields[i].type;
    switch (fields[i].type) {
    case STPM_TYPE_DECIMAL:
        out->u.d = INT64_MAX - 5;
        break;
    case STPM_TYPE_INT:
        out->u.i = strcmp(name, "big") == 0 ? INT64_MIN : 714;
        break;
    case STPM_TYPE_DATE:
        out->u.date = strcmp(name, "far") == 0 ? stpm_date_from_ymd(9999, 12, 31)
                                               : stpm_date_from_ymd(2021, 10, 31);
        break;
    case STPM_TYPE_STRING:
        out->s = strdup("如皋");
        if (!out->s)
            return -1;
        break;
    case STPM_TYPE_BOOL:
        out->u.b = true;
        break;
    default:
        break;
    }
    return 0;
}

static void count_name(void *ctx, const char *name)
{
    (void)name;
    (*(size_t *)ctx)++;
}

static void evaluate(const stpm_expr *e, const stpm_calendar *cal)
{
    stpm_error err = STPM_ERROR_INIT;
    stpm_expr_env env = {stpm_date_from_ymd(2021, 10, 15), cal, lookup, NULL};
    stpm_value v = {0};
    if (stpm_expr_eval(e, &env, &v, &err) == 0) {
        free(stpm_value_to_string(&v));
        stpm_value copy;
        if (stpm_value_copy(&copy, &v) == 0)
            stpm_value_clear(&copy);
    }
    stpm_value_clear(&v);
    stpm_error_clear(&err);
    bool b;
    stpm_expr_eval_bool(e, &env, &b, &err);
    stpm_error_clear(&err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static stpm_calendar *cal;
    if (!cal) {
        stpm_error err = STPM_ERROR_INIT;
        if (stpm_calendar_new_default(&cal, &err) < 0)
            abort();
        stpm_error_clear(&err);
    }
    char *src = malloc(size + 1);
    if (!src)
        return 0;
    memcpy(src, data, size);
    src[size] = '\0';
    stpm_error err = STPM_ERROR_INIT;
    stpm_expr *e = NULL;
    if (stpm_expr_parse(&e, src, &err) == 0) {
        size_t n = 0;
        stpm_expr_names(e, count_name, &n);
        if (strcmp(stpm_expr_source(e), src) != 0)
            abort();
        stpm_type t;
        stpm_error cerr = STPM_ERROR_INIT;
        if (stpm_expr_check(e, types, NULL, &t, &cerr) == 0)
            (void)stpm_type_name(t);
        stpm_error_clear(&cerr);
        evaluate(e, cal); /* checked or not: the evaluator must cope */
    } else if (err.n_diags != 1 || err.diags[0].col < 1 ||
               (size_t)err.diags[0].col > strlen(src) + 1) {
        abort(); /* every syntax error points into the source or just past it */
    }
    stpm_expr_free(e);
    stpm_error_clear(&err);
    free(src);
    return 0;
}

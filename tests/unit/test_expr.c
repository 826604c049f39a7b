/* Unit tests of the expression language: parsing, typing, evaluation (DESIGN §5). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stpm/calendar.h"
#include "stpm/expr.h"

/* The fields of an example plan; `unset_*` are fields that are not set. */
static const struct {
    const char *name;
    stpm_type type;
    const char *value; /* NULL: not set */
} fields[] = {
    {"amount_requested", STPM_TYPE_DECIMAL, "45.5"},
    {"funding", STPM_TYPE_DECIMAL, "3057.28"},
    {"unset_amount", STPM_TYPE_DECIMAL, NULL},
    {"applications", STPM_TYPE_INT, "714"},
    {"huge", STPM_TYPE_INT, "9223372036854775807"},
    {"unset_int", STPM_TYPE_INT, NULL},
    {"due_date", STPM_TYPE_DATE, "2021-11-10"},
    {"publicized_on", STPM_TYPE_DATE, "2021-09-28"},
    {"unset_date", STPM_TYPE_DATE, NULL},
    {"level", STPM_TYPE_STRING, "provincial"},
    {"title", STPM_TYPE_STRING, "如皋市 \"智能\" 项目"},
    {"unset_text", STPM_TYPE_STRING, NULL},
    {"signed", STPM_TYPE_BOOL, "true"},
    {"rejected", STPM_TYPE_BOOL, "false"},
    {"unset_bool", STPM_TYPE_BOOL, NULL},
};

static int field_index(const char *name)
{
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        if (strcmp(fields[i].name, name) == 0)
            return (int)i;
    return -1;
}

static int types(void *ctx, const char *name, stpm_type *out)
{
    (void)ctx;
    int i = field_index(name);
    if (i < 0)
        return -1;
    *out = fields[i].type;
    return 0;
}

static int lookup(void *ctx, const char *name, stpm_value *out)
{
    (void)ctx;
    int i = field_index(name);
    if (i < 0)
        return -1;
    memset(out, 0, sizeof(*out));
    if (!fields[i].value) {
        out->type = STPM_TYPE_NULL;
        return 0;
    }
    out->type = fields[i].type;
    const char *v = fields[i].value;
    switch (fields[i].type) {
    case STPM_TYPE_DECIMAL:
        assert_int_equal(stpm_decimal_parse(v, &out->u.d), 0);
        break;
    case STPM_TYPE_INT:
        out->u.i = strtoll(v, NULL, 10);
        break;
    case STPM_TYPE_DATE:
        assert_int_equal(stpm_date_parse(v, &out->u.date), 0);
        break;
    case STPM_TYPE_STRING:
        out->s = strdup(v);
        break;
    case STPM_TYPE_BOOL:
        out->u.b = strcmp(v, "true") == 0;
        break;
    default:
        fail();
    }
    return 0;
}

static stpm_calendar *calendar;

static int setup(void **state)
{
    (void)state;
    stpm_error err = STPM_ERROR_INIT;
    int rc = stpm_calendar_new_default(&calendar, &err);
    stpm_error_clear(&err);
    return rc;
}

static int teardown(void **state)
{
    (void)state;
    stpm_calendar_free(calendar);
    return 0;
}

static stpm_expr_env env(void)
{
    stpm_expr_env e = {0, calendar, lookup, NULL};
    assert_int_equal(stpm_date_parse("2021-10-15", &e.today), 0);
    return e;
}

/* src must fail to parse with one diagnostic `msg` at column `col`. */
#define PARSE_ERROR(src, col, msg) parse_error(src, col, msg, __LINE__)
static void parse_error(const char *src, int col, const char *msg, int line)
{
    stpm_error err = STPM_ERROR_INIT;
    stpm_expr *e = (stpm_expr *)1;
    int rc = stpm_expr_parse(&e, src, &err);
    if (rc != STPM_EINPUT || err.n_diags != 1 || err.diags[0].col != col ||
        strcmp(err.diags[0].message, msg) != 0)
        fail_msg("line %d: `%s`: rc %d, col %d, \"%s\"; expected col %d, \"%s\"", line, src, rc,
                 err.n_diags ? err.diags[0].col : -1, err.n_diags ? err.diags[0].message : "(none)",
                 col, msg);
    assert_null(e);
    assert_string_equal(err.message, "syntax error in expression");
    stpm_error_clear(&err);
}

static stpm_expr *parse_ok(const char *src)
{
    stpm_error err = STPM_ERROR_INIT;
    stpm_expr *e = NULL;
    if (stpm_expr_parse(&e, src, &err) != 0)
        fail_msg("`%s`: %s at col %d", src, err.n_diags ? err.diags[0].message : err.message,
                 err.n_diags ? err.diags[0].col : 0);
    stpm_error_clear(&err);
    return e;
}

#define TYPE_ERROR(src, col, msg) type_error(src, col, msg, __LINE__)
static void type_error(const char *src, int col, const char *msg, int line)
{
    stpm_error err = STPM_ERROR_INIT;
    stpm_expr *e = parse_ok(src);
    stpm_type t;
    int rc = stpm_expr_check(e, types, NULL, &t, &err);
    if (rc != STPM_EINPUT || err.n_diags != 1 || err.diags[0].col != col ||
        strcmp(err.diags[0].message, msg) != 0)
        fail_msg("line %d: `%s`: rc %d, col %d, \"%s\"; expected col %d, \"%s\"", line, src, rc,
                 err.n_diags ? err.diags[0].col : -1, err.n_diags ? err.diags[0].message : "(none)",
                 col, msg);
    stpm_error_clear(&err);
    stpm_expr_free(e);
}

static stpm_type type_of(const char *src)
{
    stpm_error err = STPM_ERROR_INIT;
    stpm_expr *e = parse_ok(src);
    stpm_type t = STPM_TYPE_NULL;
    if (stpm_expr_check(e, types, NULL, &t, &err) != 0)
        fail_msg("`%s`: %s at col %d", src, err.n_diags ? err.diags[0].message : err.message,
                 err.n_diags ? err.diags[0].col : 0);
    stpm_error_clear(&err);
    stpm_expr_free(e);
    return t;
}

/* Check and evaluate src; the value as text, with "null" for null. */
#define EVAL_IS(src, text) eval_is(src, text, __LINE__)
static void eval_is(const char *src, const char *text, int line)
{
    stpm_error err = STPM_ERROR_INIT;
    stpm_expr *e = parse_ok(src);
    stpm_type t;
    stpm_value v = {0};
    stpm_expr_env en = env();
    if (stpm_expr_check(e, types, NULL, &t, &err) != 0 || stpm_expr_eval(e, &en, &v, &err) != 0)
        fail_msg("line %d: `%s`: %s at col %d", line, src,
                 err.n_diags ? err.diags[0].message : err.message,
                 err.n_diags ? err.diags[0].col : 0);
    if (v.type != STPM_TYPE_NULL && v.type != t)
        fail_msg("line %d: `%s`: value of type %s, checked type %s", line, src,
                 stpm_type_name(v.type), stpm_type_name(t));
    char *s = v.type == STPM_TYPE_NULL ? strdup("null") : stpm_value_to_string(&v);
    if (strcmp(s, text) != 0)
        fail_msg("line %d: `%s` gave %s, expected %s", line, src, s, text);
    free(s);
    stpm_value_clear(&v);
    stpm_expr_free(e);
}

#define EVAL_ERROR(src, col, msg) eval_error(src, col, msg, __LINE__)
static void eval_error(const char *src, int col, const char *msg, int line)
{
    stpm_error err = STPM_ERROR_INIT;
    stpm_expr *e = parse_ok(src);
    stpm_type t;
    stpm_value v = {0};
    stpm_expr_env en = env();
    assert_int_equal(stpm_expr_check(e, types, NULL, &t, &err), 0);
    int rc = stpm_expr_eval(e, &en, &v, &err);
    if (rc != STPM_EINPUT || err.n_diags != 1 || err.diags[0].col != col ||
        strcmp(err.diags[0].message, msg) != 0)
        fail_msg("line %d: `%s`: rc %d, col %d, \"%s\"; expected col %d, \"%s\"", line, src, rc,
                 err.n_diags ? err.diags[0].col : -1, err.n_diags ? err.diags[0].message : "(none)",
                 col, msg);
    assert_int_equal(v.type, STPM_TYPE_NULL);
    stpm_error_clear(&err);
    stpm_expr_free(e);
}

static void syntax_errors(void **state)
{
    (void)state;
    PARSE_ERROR("amount_requested > ", 20, "expected an operand at end of expression");
    PARSE_ERROR("", 1, "empty expression");
    PARSE_ERROR("   ", 1, "empty expression");
    PARSE_ERROR("title = \"abc", 9, "unterminated string");
    PARSE_ERROR("title = \"a\\nb\"", 11,
                "unknown escape in string (only \\\" and \\\\ are allowed)");
    PARSE_ERROR("title = \"ab\\", 12, "unknown escape in string (only \\\" and \\\\ are allowed)");
    PARSE_ERROR("a = 1 # 2", 7, "unexpected character '#'");
    PARSE_ERROR("a = 1 & b", 7, "unexpected character '&' (use 'and' or 'or')");
    PARSE_ERROR("Amount > 1", 1, "unexpected character 'A' (names are lower case)");
    PARSE_ERROR("a = 金额", 5, "unexpected character '金'");
    PARSE_ERROR("a = \x01", 5, "unexpected byte 0x01");
    PARSE_ERROR("title = \"\xff\"", 9, "string is not valid UTF-8");
    PARSE_ERROR("!signed", 1, "unexpected character '!' (use 'not' or '!=')");
    PARSE_ERROR("a == 1", 3, "use '=' to compare for equality");
    PARSE_ERROR("level in \"national\"", 10,
                "expected a list in brackets after 'in', as in x in [1, 2], found '\"national\"'");
    PARSE_ERROR("level in", 9,
                "expected a list in brackets after 'in', as in x in [1, 2] at end of expression");
    PARSE_ERROR("level in [\"a\" \"b\"]", 15, "expected ',' or ']' in the list, found '\"b\"'");
    PARSE_ERROR("level in [\"a\",", 15, "expected an operand at end of expression");
    PARSE_ERROR("level in [\"a\", ]", 16, "expected an operand, found ']'");
    PARSE_ERROR("level not [1]", 11, "expected 'in' after 'not', found '['");
    PARSE_ERROR("(a + 1", 7, "expected ')' at end of expression (to close '(' at column 1)");
    PARSE_ERROR("(a + 1 b)", 8, "expected ')', found 'b'");
    PARSE_ERROR("a + 1)", 6, "expected an operator, found ')'");
    PARSE_ERROR("a b", 3, "expected an operator, found 'b'");
    PARSE_ERROR("a < b < c", 7, "comparisons cannot be chained; join them with 'and'");
    PARSE_ERROR("a is set = true", 10, "comparisons cannot be chained; join them with 'and'");
    PARSE_ERROR("a is", 5, "expected 'set' after 'is' at end of expression");
    PARSE_ERROR("a is not null", 10, "expected 'set' after 'is not', found 'null'");
    PARSE_ERROR("a + 1 is set", 7, "'is set' applies to a field name only");
    PARSE_ERROR("today is set", 7, "'is set' applies to a field name only");
    PARSE_ERROR("2021-02-29 < today", 1, "invalid date '2021-02-29'");
    PARSE_ERROR("2021-13-01 < today", 1, "invalid date '2021-13-01'");
    PARSE_ERROR("due_date < 2021-10-31x", 12, "invalid date '2021-10-31'");
    PARSE_ERROR("today + 5w", 10, "unknown duration unit 'w' (use d, wd, mo or y)");
    PARSE_ERROR("today + 1.5d", 9, "a duration must be a whole number");
    PARSE_ERROR("today + 100001d", 9, "duration out of range (at most 100000)");
    PARSE_ERROR("a = 1.23456", 5, "an amount has at most 4 decimal places");
    PARSE_ERROR("a = 99999999999999999999", 5, "number out of range");
    PARSE_ERROR("a = 9999999999999999.5", 5, "number out of range");
    PARSE_ERROR("a and or b", 7, "expected an operand, found 'or'");
    PARSE_ERROR("not", 4, "expected an operand at end of expression");
    PARSE_ERROR("-", 2, "expected an operand at end of expression");
}

static void nesting_is_limited(void **state)
{
    (void)state;
    char buf[2048];
    memset(buf, '(', 1000);
    buf[1000] = '\0';
    PARSE_ERROR(buf, 201, "expression nested too deeply (more than 200 levels)");
    size_t n = 0;
    for (int i = 0; i < 300; i++)
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s1", i ? "+" : "");
    PARSE_ERROR(buf, 400, "expression nested too deeply (more than 200 levels)");
    /* 150 levels are fine */
    n = 0;
    for (int i = 0; i < 150; i++)
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s1", i ? "+" : "");
    EVAL_IS(buf, "150");
}

static void parses_valid(void **state)
{
    (void)state;
    stpm_expr *e = parse_ok("  amount_requested <= 50 and level in [\"county\", \"municipal\"]");
    assert_string_equal(stpm_expr_source(e),
                        "  amount_requested <= 50 and level in [\"county\", \"municipal\"]");
    stpm_expr_free(e);
    stpm_expr_free(parse_ok("due_date - today <= 30"));
    stpm_expr_free(parse_ok("publicized_on + 5wd <= today"));
    stpm_expr_free(parse_ok("x is not set or not (y in [])"));
    stpm_expr_free(parse_ok("a\tnot in [1,2,3]\n"));
    stpm_expr_free(parse_ok("2021-10-31 + 1y + 6mo + 7d + 20wd"));
    stpm_expr_free(NULL);
}

static void collect(void *ctx, const char *name)
{
    char *buf = ctx;
    size_t n = strlen(buf);
    snprintf(buf + n, 256 - n, "%s,", name);
}

static void names_in_order(void **state)
{
    (void)state;
    char buf[256] = "";
    stpm_expr *e = parse_ok("b + a > today - c and c is set and b in [d, a]");
    stpm_expr_names(e, collect, buf);
    assert_string_equal(buf, "b,a,c,d,");
    stpm_expr_free(e);
}

static void typing(void **state)
{
    (void)state;
    assert_int_equal(type_of("amount_requested <= 50"), STPM_TYPE_BOOL);
    assert_int_equal(type_of("amount_requested + 1"), STPM_TYPE_DECIMAL);
    assert_int_equal(type_of("applications + 1"), STPM_TYPE_INT);
    assert_int_equal(type_of("1 + 0.5"), STPM_TYPE_DECIMAL);
    assert_int_equal(type_of("-applications"), STPM_TYPE_INT);
    assert_int_equal(type_of("due_date - today"), STPM_TYPE_INT);
    assert_int_equal(type_of("due_date - today <= 30"), STPM_TYPE_BOOL);
    assert_int_equal(type_of("publicized_on + 5wd"), STPM_TYPE_DATE);
    assert_int_equal(type_of("6mo + publicized_on"), STPM_TYPE_DATE);
    assert_int_equal(type_of("today - 1y"), STPM_TYPE_DATE);
    assert_int_equal(type_of("title"), STPM_TYPE_STRING);
    assert_int_equal(type_of("null"), STPM_TYPE_NULL);
    assert_int_equal(type_of("(null)"), STPM_TYPE_NULL);
    assert_int_equal(type_of("unset_int is set"), STPM_TYPE_BOOL);
    assert_int_equal(type_of("applications in [1, 2.5]"), STPM_TYPE_BOOL);
    assert_int_equal(type_of("signed = true and not rejected"), STPM_TYPE_BOOL);

    TYPE_ERROR("nosuch > 1", 1, "unknown field 'nosuch'");
    TYPE_ERROR("nosuch is set", 1, "unknown field 'nosuch'");
    TYPE_ERROR("title + 1", 7, "cannot apply '+' to text and integer");
    TYPE_ERROR("today + 7", 7, "cannot apply '+' to date and integer; write a duration such as 7d");
    TYPE_ERROR("today + today", 7, "cannot apply '+' to date and date");
    TYPE_ERROR("7d", 1, "a duration can only be added to or subtracted from a date");
    TYPE_ERROR("applications + 7d", 16,
               "a duration can only be added to or subtracted from a date");
    TYPE_ERROR("7d - today", 1, "a duration can only be added to or subtracted from a date");
    TYPE_ERROR("7d = 7d", 1, "a duration can only be added to or subtracted from a date");
    TYPE_ERROR("7d in [7d]", 1, "a duration can only be added to or subtracted from a date");
    TYPE_ERROR("-7d", 1, "cannot negate a value of type duration");
    TYPE_ERROR("-today", 1, "cannot negate a value of type date");
    TYPE_ERROR("level = 1", 7, "cannot compare text with integer");
    TYPE_ERROR("due_date > 2021", 10, "cannot compare date with integer");
    TYPE_ERROR("level < \"x\"", 7,
               "cannot apply '<' to text values; only '=' and '!=' compare them");
    TYPE_ERROR("signed >= false", 8,
               "cannot apply '>=' to boolean values; only '=' and '!=' compare them");
    TYPE_ERROR("unset_int = null", 13,
               "null cannot be an operand; test a field with 'is set' or 'is not set'");
    TYPE_ERROR("null + 1", 1,
               "null cannot be an operand; test a field with 'is set' or 'is not set'");
    TYPE_ERROR("signed and applications", 8, "'and' needs boolean operands, found integer");
    TYPE_ERROR("title or signed", 7, "'or' needs boolean operands, found text");
    TYPE_ERROR("not level", 1, "'not' needs a boolean operand, found text");
    TYPE_ERROR("level in [\"a\", 2]", 16,
               "list element of type integer does not match text on the left of 'in'");
    TYPE_ERROR("level in [\"a\", null]", 16,
               "null cannot be an operand; test a field with 'is set' or 'is not set'");
    /* nested: the innermost error is reported */
    TYPE_ERROR("signed and (due_date - today > \"x\")", 30, "cannot compare integer with text");
}

static void arithmetic(void **state)
{
    (void)state;
    EVAL_IS("1 + 2 - 4", "-1");
    EVAL_IS("1 - 2 - 3", "-4"); /* left-associative */
    EVAL_IS("1 - (2 - 3)", "2");
    EVAL_IS("-1 + 2", "1");
    EVAL_IS("- -3", "3");
    EVAL_IS("amount_requested + 4.5", "50");
    EVAL_IS("funding - 57.28", "3000");
    EVAL_IS("0.1 + 0.2 = 0.3", "true");
    EVAL_IS("funding + applications", "3771.28");
    EVAL_IS("-funding", "-3057.28");
    EVAL_IS("1.0001 + 1", "2.0001");
    EVAL_IS("\"如皋\"", "如皋");
    EVAL_IS("title", "如皋市 \"智能\" 项目");
    EVAL_IS("\"a\\\"b\\\\c\"", "a\"b\\c");
    EVAL_IS("null", "null");
    EVAL_ERROR("huge + 1", 6, "integer out of range");
    EVAL_ERROR("-huge - 2", 7, "integer out of range");
    EVAL_ERROR("huge + 0.5", 6, "amount out of range");
    EVAL_ERROR("900000000000000 + 900000000000000.0", 17, "amount out of range");
}

static void dates(void **state)
{
    (void)state;
    EVAL_IS("2020-02-29 + 1y", "2021-02-28");
    EVAL_IS("2020-02-29 + 4y", "2024-02-29");
    EVAL_IS("2021-01-31 + 1mo", "2021-02-28");
    EVAL_IS("2020-01-31 + 1mo", "2020-02-29");
    EVAL_IS("2021-03-31 - 1mo", "2021-02-28");
    EVAL_IS("2021-08-31 + 6mo", "2022-02-28");
    EVAL_IS("2021-12-31 + 1d", "2022-01-01");
    EVAL_IS("2020-02-28 + 1d", "2020-02-29");
    EVAL_IS("2021-02-28 + 1d", "2021-03-01");
    EVAL_IS("2021-03-01 - 1d", "2021-02-28");
    EVAL_IS("7d + 2021-10-31", "2021-11-07");
    EVAL_IS("2021-03-01 - 2020-03-01", "365");
    EVAL_IS("2020-03-01 - 2019-03-01", "366");
    EVAL_IS("2020-01-01 - 2021-01-01", "-366");
    EVAL_IS("due_date - today", "26");
    EVAL_IS("due_date - today <= 30", "true");
    EVAL_IS("today", "2021-10-15");
    EVAL_IS("due_date > 2021-11-09 and due_date < 2021-11-11", "true");
    EVAL_ERROR("9999-12-31 + 1d", 12, "date out of range");
    EVAL_ERROR("0001-01-01 - 1d", 12, "date out of range");
    EVAL_ERROR("9000-01-01 + 100000y", 12, "date out of range");
    EVAL_ERROR("0001-06-01 - 1y", 12, "date out of range");
    EVAL_IS("9999-01-31 + 11mo", "9999-12-31");
}

static void working_days(void **state)
{
    (void)state;
    /* National Day 2021: 10-01..10-07 off, 09-26 (Sun) and 10-09 (Sat) worked. */
    EVAL_IS("2021-09-28 + 20wd", "2021-11-01");
    EVAL_IS("publicized_on + 5wd", "2021-10-11"); /* 09-29 09-30 10-08 10-09 10-11 */
    EVAL_IS("publicized_on + 5wd <= today", "true");
    /* Spring Festival 2021: 02-11..02-17 off, 02-07 (Sun) and 02-20 (Sat) worked. */
    EVAL_IS("2021-02-05 + 5wd", "2021-02-18");
    EVAL_IS("2021-02-18 - 5wd", "2021-02-05");
    EVAL_IS("2021-02-10 + 0wd", "2021-02-10");
}

static void null_semantics(void **state)
{
    (void)state;
    EVAL_IS("unset_amount + 1", "null");
    EVAL_IS("-unset_int", "null");
    EVAL_IS("unset_date + 5wd", "null");
    EVAL_IS("unset_date - today", "null");
    EVAL_IS("unset_amount <= 50", "null");
    EVAL_IS("unset_amount = 50", "null");
    EVAL_IS("unset_amount != 50", "null");
    EVAL_IS("not (unset_amount > 50)", "null");
    EVAL_IS("unset_text in [\"a\"]", "null");
    EVAL_IS("unset_text not in [\"a\"]", "null");
    EVAL_IS("unset_amount is set", "false");
    EVAL_IS("unset_amount is not set", "true");
    EVAL_IS("amount_requested is set", "true");
    /* Kleene logic */
    EVAL_IS("unset_bool and false", "false");
    EVAL_IS("false and unset_bool", "false");
    EVAL_IS("unset_bool and true", "null");
    EVAL_IS("unset_bool or true", "true");
    EVAL_IS("true or unset_bool", "true");
    EVAL_IS("unset_bool or false", "null");
    EVAL_IS("unset_int > 3 or unset_int is not set", "true");
    /* and/or short-circuit: the right side is not evaluated */
    EVAL_IS("false and huge + 1 > 0", "false");
}

static void guards(void **state)
{
    (void)state;
    stpm_error err = STPM_ERROR_INIT;
    stpm_expr_env en = env();
    bool b = true;
    stpm_expr *e = parse_ok("unset_amount <= 50");
    assert_int_equal(stpm_expr_eval_bool(e, &en, &b, &err), 0);
    assert_false(b);
    stpm_expr_free(e);
    e = parse_ok("amount_requested <= 50");
    assert_int_equal(stpm_expr_eval_bool(e, &en, &b, &err), 0);
    assert_true(b);
    stpm_expr_free(e);
    e = parse_ok("amount_requested");
    assert_int_equal(stpm_expr_eval_bool(e, &en, &b, &err), STPM_EINPUT);
    assert_string_equal(err.diags[0].message, "a guard must be a boolean, not amount");
    stpm_error_clear(&err);
    stpm_expr_free(e);
    /* working days without a calendar are the caller's mistake */
    en.calendar = NULL;
    e = parse_ok("today + 1wd > today");
    assert_int_equal(stpm_expr_eval_bool(e, &en, &b, &err), STPM_EUSAGE);
    stpm_error_clear(&err);
    stpm_expr_free(e);
}

static void membership_and_comparison(void **state)
{
    (void)state;
    EVAL_IS("level in [\"national\", \"provincial\"]", "true");
    EVAL_IS("level in [\"county\"]", "false");
    EVAL_IS("level not in [\"county\"]", "true");
    EVAL_IS("level in []", "false");
    EVAL_IS("applications in [700, 714.0]", "true");
    EVAL_IS("amount_requested in [45, 45.5]", "true");
    EVAL_IS("level in [\"county\", unset_text]", "null");
    EVAL_IS("level in [\"provincial\", unset_text]", "true");
    EVAL_IS("due_date in [today, today + 26d]", "true");
    EVAL_IS("1 < 1.0001", "true");
    EVAL_IS("-1 < -0.5", "true");
    EVAL_IS("-1 > -1.5", "true");
    EVAL_IS("2 >= 2.0", "true");
    EVAL_IS("signed != rejected", "true");
    EVAL_IS("title = \"如皋市 \\\"智能\\\" 项目\"", "true");
}

static void precedence(void **state)
{
    (void)state;
    EVAL_IS("true or false and false", "true"); /* and binds tighter than or */
    EVAL_IS("(true or false) and false", "false");
    EVAL_IS("not false and false", "false"); /* not binds tighter than and */
    EVAL_IS("not (false and false)", "true");
    EVAL_IS("not 1 > 2", "true"); /* comparison tighter than not */
    EVAL_IS("1 + 2 = 3", "true"); /* + tighter than = */
    EVAL_IS("-2 + 5", "3");       /* unary minus tighter than + */
    EVAL_IS("2 - -2", "4");
    EVAL_IS("1 + 2 in [3]", "true");
    EVAL_IS("not signed or rejected", "false");
}

static void values(void **state)
{
    (void)state;
    stpm_value v = {0}, c = {0};
    v.type = STPM_TYPE_DURATION;
    v.u.dur.unit = STPM_DUR_WORKDAYS;
    v.u.dur.n = 20;
    char *s = stpm_value_to_string(&v);
    assert_string_equal(s, "20wd");
    free(s);
    v.type = STPM_TYPE_STRING;
    v.s = strdup("科技局");
    assert_int_equal(stpm_value_copy(&c, &v), 0);
    assert_ptr_not_equal(c.s, v.s);
    assert_string_equal(c.s, "科技局");
    stpm_value_clear(&v);
    stpm_value_clear(&c);
    assert_int_equal(c.type, STPM_TYPE_NULL);
    assert_null(c.s);
    stpm_value_clear(NULL);
    assert_string_equal(stpm_type_name(STPM_TYPE_DECIMAL), "amount");
    assert_string_equal(stpm_type_name(STPM_TYPE_STRING), "text");
    v.type = STPM_TYPE_DECIMAL;
    v.u.d = -5000;
    s = stpm_value_to_string(&v);
    assert_string_equal(s, "-0.5");
    free(s);
}

static void unknown_name_at_run_time(void **state)
{
    (void)state;
    stpm_error err = STPM_ERROR_INIT;
    stpm_expr_env en = env();
    stpm_value v = {0};
    stpm_expr *e = parse_ok("1 + nosuch");
    assert_int_equal(stpm_expr_eval(e, &en, &v, &err), STPM_EINPUT);
    assert_string_equal(err.diags[0].message, "unknown field 'nosuch'");
    assert_int_equal(err.diags[0].col, 5);
    stpm_error_clear(&err);
    stpm_expr_free(e);
    /* an unchecked tree with a type error fails cleanly at run time */
    e = parse_ok("level + 1");
    assert_int_equal(stpm_expr_eval(e, &en, &v, &err), STPM_EINPUT);
    assert_string_equal(err.diags[0].message, "cannot apply '+' to text and integer");
    stpm_error_clear(&err);
    stpm_expr_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(syntax_errors),
        cmocka_unit_test(nesting_is_limited),
        cmocka_unit_test(parses_valid),
        cmocka_unit_test(names_in_order),
        cmocka_unit_test(typing),
        cmocka_unit_test(arithmetic),
        cmocka_unit_test(dates),
        cmocka_unit_test(working_days),
        cmocka_unit_test(null_semantics),
        cmocka_unit_test(guards),
        cmocka_unit_test(membership_and_comparison),
        cmocka_unit_test(precedence),
        cmocka_unit_test(values),
        cmocka_unit_test(unknown_name_at_run_time),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

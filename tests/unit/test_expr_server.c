/* The expression language on the server (migrations/071_expr.sql) against the C evaluator
 * (core/workflow/expr_eval.c): the JSON tree of stpm_expr_to_json, the shipped calendar
 * table, working days with the administrator's additions, and a differential test over
 * thousands of generated well-typed expressions and random values. The seed is printed
 * first (a TAP comment) and with every difference; STPM_TEST_SEED=N repeats a run. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store/db_internal.h"
#include "stpm/calendar.h"
#include "stpm/expr.h"
#include "testdb.h"
#include "util/strutil.h"
#include "workflow/expr_json.h"

/* ---- the fields of the generated expressions ---- */

static const struct {
    const char *name;
    stpm_type type;
} fields[] = {
    {"i1", STPM_TYPE_INT},     {"i2", STPM_TYPE_INT},     {"i3", STPM_TYPE_INT},
    {"a1", STPM_TYPE_DECIMAL}, {"a2", STPM_TYPE_DECIMAL}, {"d1", STPM_TYPE_DATE},
    {"d2", STPM_TYPE_DATE},    {"d3", STPM_TYPE_DATE},    {"s1", STPM_TYPE_STRING},
    {"s2", STPM_TYPE_STRING},  {"b1", STPM_TYPE_BOOL},    {"b2", STPM_TYPE_BOOL},
};
#define N_FIELDS (sizeof(fields) / sizeof(fields[0]))

static int field_index(const char *name)
{
    for (size_t i = 0; i < N_FIELDS; i++)
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

typedef struct values {
    stpm_value v[N_FIELDS]; /* STPM_TYPE_NULL: not set */
} values;

static int lookup(void *ctx, const char *name, stpm_value *out)
{
    const values *vs = ctx;
    int i = field_index(name);
    if (i < 0)
        return -1;
    return stpm_value_copy(out, &vs->v[i]) < 0 ? -1 : 0;
}

static void values_clear(values *vs)
{
    for (size_t i = 0; i < N_FIELDS; i++)
        stpm_value_clear(&vs->v[i]);
}

/* ---- a seeded generator ---- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
    uint64_t x = rng_state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng_state = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static unsigned below(unsigned n)
{
    return (unsigned)(rnd() % n);
}

static stpm_date D(const char *s)
{
    stpm_date d = 0;
    assert_int_equal(stpm_date_parse(s, &d), 0);
    return d;
}

static const char *const special_dates[] = {
    "0001-01-01", "0001-01-02", "0001-12-31", "9999-12-31", "9999-12-30", "9999-01-31",
    "2020-01-31", "2020-02-29", "2021-02-08", "2021-02-05", "2020-09-28", "2021-09-28",
    "2019-12-31", "2024-02-29", "2021-01-31", "2023-05-31", "2016-10-01", "2027-02-05",
    "2020-01-23", "2020-02-01", "2021-10-09", "2024-09-29", "2015-12-31", "2028-01-03",
};

static stpm_date random_date(void)
{
    unsigned r = below(10);
    if (r < 3)
        return D(special_dates[below(sizeof(special_dates) / sizeof(special_dates[0]))]);
    if (r == 3)
        return D("0001-01-01") + (stpm_date)below(3652059); /* any day of 0001..9999 */
    return D("2015-06-01") + (stpm_date)below(14 * 365);
}

static int64_t random_int(void)
{
    static const int64_t special[] = {
        0,
        1,
        -1,
        2,
        INT64_MAX,
        INT64_MIN,
        INT64_MAX - 1,
        INT64_MIN + 1,
        922337203685477,
        922337203685478,
        -922337203685477,
        -922337203685478,
        4611686018427387904,
        365,
        366,
    };
    unsigned r = below(10);
    if (r < 3)
        return special[below(sizeof(special) / sizeof(special[0]))];
    if (r == 3)
        return (int64_t)rnd();
    return (int64_t)below(2001) - 1000;
}

static stpm_decimal random_amount(void)
{
    static const stpm_decimal special[] = {
        0,
        1,
        -1,
        10000,
        -10000,
        INT64_MAX,
        INT64_MIN,
        INT64_MAX - 1,
        INT64_MIN + 1,
        30572800,
        9223372036854770000,
        -9223372036854770000,
    };
    unsigned r = below(10);
    if (r < 3)
        return special[below(sizeof(special) / sizeof(special[0]))];
    if (r == 3)
        return (stpm_decimal)rnd();
    if (r == 4)
        return (stpm_decimal)(rnd() % 100000000000000ULL) - 50000000000000LL;
    return (stpm_decimal)below(20000001) - 10000000;
}

static const char *const texts[] = {
    "", "a", "如皋", "county", "provincial", "say \"yes\"", "a\\b", "tab\there", "line\nbreak",
};

static void random_values(values *vs)
{
    for (size_t i = 0; i < N_FIELDS; i++) {
        stpm_value *v = &vs->v[i];
        stpm_value_clear(v);
        if (below(6) == 0)
            continue; /* not set */
        v->type = fields[i].type;
        switch (v->type) {
        case STPM_TYPE_INT:
            v->u.i = random_int();
            break;
        case STPM_TYPE_DECIMAL:
            v->u.d = random_amount();
            break;
        case STPM_TYPE_DATE:
            v->u.date = random_date();
            break;
        case STPM_TYPE_STRING:
            v->s = stpm_strdup(texts[below(sizeof(texts) / sizeof(texts[0]))]);
            assert_non_null(v->s);
            break;
        case STPM_TYPE_BOOL:
            v->u.b = below(2);
            break;
        default:
            break;
        }
    }
}

static void json_text(stpm_strbuf *sb, const char *s)
{
    stpm_strbuf_putc(sb, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            stpm_strbuf_printf(sb, "\\%c", *p);
        else if (*p < 0x20)
            stpm_strbuf_printf(sb, "\\u%04x", *p);
        else
            stpm_strbuf_putc(sb, (char)*p);
    }
    stpm_strbuf_putc(sb, '"');
}

/* The field values as the server takes them: name -> JSON value; a field not set is left
 * out or, now and then, JSON null. */
static void values_json(const values *vs, stpm_strbuf *sb)
{
    char buf[32];
    bool first = true;
    stpm_strbuf_putc(sb, '{');
    for (size_t i = 0; i < N_FIELDS; i++) {
        const stpm_value *v = &vs->v[i];
        if (v->type == STPM_TYPE_NULL && (i & 1))
            continue;
        stpm_strbuf_printf(sb, "%s\"%s\":", first ? "" : ",", fields[i].name);
        first = false;
        switch (v->type) {
        case STPM_TYPE_INT:
            stpm_strbuf_printf(sb, "%" PRId64, v->u.i);
            break;
        case STPM_TYPE_DECIMAL:
            stpm_strbuf_puts(sb, stpm_decimal_format(v->u.d, 4, buf));
            break;
        case STPM_TYPE_DATE:
            stpm_strbuf_printf(sb, "\"%s\"", stpm_date_format(v->u.date, buf));
            break;
        case STPM_TYPE_STRING:
            json_text(sb, v->s);
            break;
        case STPM_TYPE_BOOL:
            stpm_strbuf_puts(sb, v->u.b ? "true" : "false");
            break;
        default:
            stpm_strbuf_puts(sb, "null");
            break;
        }
    }
    stpm_strbuf_putc(sb, '}');
}

/* ---- generated source text, well typed by construction ---- */

static void gen(stpm_strbuf *sb, stpm_type t, int depth);

static void gen_field(stpm_strbuf *sb, stpm_type t)
{
    const char *pick[N_FIELDS];
    size_t n = 0;
    for (size_t i = 0; i < N_FIELDS; i++)
        if (fields[i].type == t)
            pick[n++] = fields[i].name;
    stpm_strbuf_puts(sb, pick[below((unsigned)n)]);
}

static void gen_duration(stpm_strbuf *sb)
{
    static const char *units[] = {"d", "wd", "mo", "y"};
    static const int ns[] = {0, 1, 2, 5, 7, 12, 20, 30, 60, 365, 1000, 99999, 100000};
    const char *u = units[below(4)];
    int n = below(3) ? ns[below(sizeof(ns) / sizeof(ns[0]))] : (int)below(400);
    if (strcmp(u, "wd") == 0 && n > 1000 && below(4))
        n = (int)below(100); /* long working-day walks now and then */
    stpm_strbuf_printf(sb, "%d%s", n, u);
}

static void gen_number_literal(stpm_strbuf *sb, stpm_type t)
{
    char buf[32];
    if (t == STPM_TYPE_INT) {
        int64_t v = random_int();
        if (v < 0)
            v = v == INT64_MIN ? INT64_MAX : -v; /* a literal has no sign */
        stpm_strbuf_printf(sb, "%" PRId64, v);
    } else {
        stpm_decimal d = random_amount();
        if (d < 0)
            d = d == INT64_MIN ? INT64_MAX : -d;
        if (d > 9223372036854699999) /* the largest amount literal the lexer takes */
            d = 9223372036854699999;
        stpm_decimal_format(d, 4, buf);
        /* sometimes fewer places: 3057.2800 as 3057.28 */
        size_t len = strlen(buf);
        while (below(2) && buf[len - 1] == '0' && buf[len - 2] != '.')
            buf[--len] = '\0';
        stpm_strbuf_puts(sb, buf);
    }
}

static void gen_paren(stpm_strbuf *sb, stpm_type t, int depth)
{
    stpm_strbuf_putc(sb, '(');
    gen(sb, t, depth);
    stpm_strbuf_putc(sb, ')');
}

static stpm_type random_number_type(void)
{
    return below(2) ? STPM_TYPE_INT : STPM_TYPE_DECIMAL;
}

static void gen_bool(stpm_strbuf *sb, int depth)
{
    static const char *cmp[] = {"=", "!=", "<", "<=", ">", ">="};
    unsigned r = depth <= 0 ? below(3) : below(14);
    switch (r) {
    case 0:
        stpm_strbuf_puts(sb, below(2) ? "true" : "false");
        return;
    case 1:
    case 2:
        if (below(2)) {
            gen_field(sb, STPM_TYPE_BOOL);
        } else {
            stpm_strbuf_puts(sb, fields[below(N_FIELDS)].name);
            stpm_strbuf_puts(sb, below(2) ? " is set" : " is not set");
        }
        return;
    case 3:
    case 4: { /* numbers */
        gen_paren(sb, random_number_type(), depth - 1);
        stpm_strbuf_printf(sb, " %s ", cmp[below(6)]);
        gen_paren(sb, random_number_type(), depth - 1);
        return;
    }
    case 5: /* dates */
        gen_paren(sb, STPM_TYPE_DATE, depth - 1);
        stpm_strbuf_printf(sb, " %s ", cmp[below(6)]);
        gen_paren(sb, STPM_TYPE_DATE, depth - 1);
        return;
    case 6: { /* text or booleans: = and != only */
        stpm_type t = below(2) ? STPM_TYPE_STRING : STPM_TYPE_BOOL;
        gen_paren(sb, t, depth - 1);
        stpm_strbuf_puts(sb, below(2) ? " = " : " != ");
        gen_paren(sb, t, depth - 1);
        return;
    }
    case 7:
    case 8: { /* in-lists */
        static const stpm_type kinds[] = {STPM_TYPE_INT, STPM_TYPE_DECIMAL, STPM_TYPE_DATE,
                                          STPM_TYPE_STRING, STPM_TYPE_BOOL};
        stpm_type t = kinds[below(5)];
        gen_paren(sb, t, depth - 1);
        stpm_strbuf_puts(sb, below(3) ? " in [" : " not in [");
        unsigned n = below(5);
        for (unsigned i = 0; i < n; i++) {
            if (i)
                stpm_strbuf_puts(sb, ", ");
            stpm_type it = t;
            if (t == STPM_TYPE_INT || t == STPM_TYPE_DECIMAL)
                it = random_number_type();
            gen(sb, it, depth - 2);
        }
        stpm_strbuf_putc(sb, ']');
        return;
    }
    case 9:
    case 10:
    case 11:
        gen_paren(sb, STPM_TYPE_BOOL, depth - 1);
        stpm_strbuf_puts(sb, below(2) ? " and " : " or ");
        gen_paren(sb, STPM_TYPE_BOOL, depth - 1);
        return;
    default:
        stpm_strbuf_puts(sb, "not ");
        gen_paren(sb, STPM_TYPE_BOOL, depth - 1);
        return;
    }
}

static void gen_number(stpm_strbuf *sb, stpm_type t, int depth)
{
    unsigned r = depth <= 0 ? below(2) : below(8);
    switch (r) {
    case 0:
        gen_number_literal(sb, t);
        return;
    case 1:
    case 2:
        gen_field(sb, t);
        return;
    case 3:
    case 4: { /* a + b, a - b: int with int, amount with anything numeric */
        stpm_type a = t, b = t;
        if (t == STPM_TYPE_DECIMAL && below(2)) {
            if (below(2))
                a = STPM_TYPE_INT;
            else
                b = STPM_TYPE_INT;
        }
        gen_paren(sb, a, depth - 1);
        stpm_strbuf_puts(sb, below(2) ? " + " : " - ");
        gen_paren(sb, b, depth - 1);
        return;
    }
    case 5:
        stpm_strbuf_putc(sb, '-');
        gen_paren(sb, t, depth - 1);
        return;
    case 6:
        if (t == STPM_TYPE_INT) { /* days between */
            gen_paren(sb, STPM_TYPE_DATE, depth - 1);
            stpm_strbuf_puts(sb, " - ");
            gen_paren(sb, STPM_TYPE_DATE, depth - 1);
            return;
        }
        gen_number_literal(sb, t);
        return;
    default:
        gen_paren(sb, t, depth - 1);
        return;
    }
}

static void gen_date(stpm_strbuf *sb, int depth)
{
    char buf[11];
    unsigned r = depth <= 0 ? below(3) : below(7);
    switch (r) {
    case 0:
        stpm_strbuf_puts(sb, stpm_date_format(random_date(), buf));
        return;
    case 1:
        gen_field(sb, STPM_TYPE_DATE);
        return;
    case 2:
        stpm_strbuf_puts(sb, "today");
        return;
    case 3:
    case 4:
        gen_paren(sb, STPM_TYPE_DATE, depth - 1);
        stpm_strbuf_puts(sb, below(2) ? " + " : " - ");
        gen_duration(sb);
        return;
    case 5:
        gen_duration(sb);
        stpm_strbuf_puts(sb, " + ");
        gen_paren(sb, STPM_TYPE_DATE, depth - 1);
        return;
    default:
        gen_paren(sb, STPM_TYPE_DATE, depth - 1);
        return;
    }
}

static void gen(stpm_strbuf *sb, stpm_type t, int depth)
{
    switch (t) {
    case STPM_TYPE_BOOL:
        gen_bool(sb, depth);
        break;
    case STPM_TYPE_INT:
    case STPM_TYPE_DECIMAL:
        gen_number(sb, t, depth);
        break;
    case STPM_TYPE_DATE:
        gen_date(sb, depth);
        break;
    case STPM_TYPE_STRING:
        if (below(2)) {
            gen_field(sb, STPM_TYPE_STRING);
        } else {
            const char *s = texts[below(sizeof(texts) / sizeof(texts[0]))];
            stpm_strbuf_putc(sb, '"');
            for (const char *p = s; *p; p++) {
                if (*p == '"' || *p == '\\')
                    stpm_strbuf_putc(sb, '\\');
                stpm_strbuf_putc(sb, *p);
            }
            stpm_strbuf_putc(sb, '"');
        }
        break;
    default:
        stpm_strbuf_puts(sb, "null");
        break;
    }
}

/* ---- the two evaluators ---- */

/* An outcome: the JSON type and text of a value (jsonb_typeof and #>> '{}'), or an error
 * class: "22003" (a number out of range), "22008" (a date out of range), else "other". */
typedef struct outcome {
    char type[16];
    char *text; /* NULL for JSON null and for errors */
    char code[8];
} outcome;

static void outcome_clear(outcome *o)
{
    free(o->text);
    memset(o, 0, sizeof(*o));
}

static void c_outcome(int rc, const stpm_value *v, const stpm_error *err, outcome *o)
{
    char buf[32];
    memset(o, 0, sizeof(*o));
    if (rc < 0) {
        const char *m = err->n_diags ? err->diags[0].message : "";
        snprintf(o->code, sizeof(o->code), "%s",
                 strstr(m, "date out of range")                   ? "22008"
                 : rc == STPM_EINPUT && strstr(m, "out of range") ? "22003"
                                                                  : "other");
        return;
    }
    switch (v->type) {
    case STPM_TYPE_NULL:
        snprintf(o->type, sizeof(o->type), "null");
        return;
    case STPM_TYPE_BOOL:
        snprintf(o->type, sizeof(o->type), "boolean");
        o->text = stpm_strdup(v->u.b ? "true" : "false");
        break;
    case STPM_TYPE_INT:
        snprintf(o->type, sizeof(o->type), "number");
        o->text = stpm_asprintf("%" PRId64, v->u.i);
        break;
    case STPM_TYPE_DECIMAL:
        snprintf(o->type, sizeof(o->type), "number");
        o->text = stpm_strdup(stpm_decimal_format(v->u.d, 4, buf));
        break;
    case STPM_TYPE_DATE:
        snprintf(o->type, sizeof(o->type), "string");
        o->text = stpm_strdup(stpm_date_format(v->u.date, buf));
        break;
    case STPM_TYPE_STRING:
        snprintf(o->type, sizeof(o->type), "string");
        o->text = stpm_strdup(v->s);
        break;
    default:
        snprintf(o->type, sizeof(o->type), "?");
        return;
    }
    assert_non_null(o->text);
}

static bool outcome_equal(const outcome *a, const outcome *b)
{
    if (a->code[0] || b->code[0])
        return strcmp(a->code, b->code) == 0;
    if (strcmp(a->type, b->type) != 0)
        return false;
    if (!a->text || !b->text)
        return !a->text && !b->text;
    return strcmp(a->text, b->text) == 0;
}

static const char *outcome_show(const outcome *o, char *buf, size_t n)
{
    if (o->code[0])
        snprintf(buf, n, "error %s", o->code);
    else
        snprintf(buf, n, "%s %s", o->type, o->text ? o->text : "(null)");
    return buf;
}

#define TRY_EVAL_SQL                                                                               \
    "CREATE FUNCTION public.try_eval(a jsonb, v jsonb, t date, OUT typ text, OUT val text,"        \
    " OUT code text) LANGUAGE plpgsql AS $$"                                                       \
    " DECLARE r jsonb;"                                                                            \
    " BEGIN r := stpm.expr_eval(a, v, t); typ := jsonb_typeof(r); val := r #>> '{}';"              \
    " EXCEPTION WHEN OTHERS THEN code := CASE WHEN SQLSTATE IN ('22003', '22008') THEN SQLSTATE"   \
    "   ELSE 'other' END;"                                                                         \
    "   IF code = 'other' THEN RAISE WARNING 'expr_eval: % %', SQLSTATE, SQLERRM; END IF;"         \
    " END $$"

#define BATCH_SQL                                                                                  \
    "SELECT x.typ, x.val, x.code FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS e(j, i)"  \
    " CROSS JOIN LATERAL public.try_eval(e.j->'ast', e.j->'vals', (e.j->>'today')::date) x"        \
    " ORDER BY e.i"

typedef struct fixture {
    char *ci;
    stpm_db *db;
    PGconn *conn;
    stpm_calendar *cal; /* what the server's calendar holds */
    uint64_t seed;
} fixture;

static void sql(fixture *fx, const char *q)
{
    PGresult *r = PQexec(fx->conn, q);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
        fprintf(stderr, "# %s: %s", q, PQerrorMessage(fx->conn));
    assert_true(PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK);
    PQclear(r);
}

static PGresult *query1(fixture *fx, const char *q, const char *param)
{
    const char *params[1] = {param};
    PGresult *r = PQexecParams(fx->conn, q, param ? 1 : 0, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        fprintf(stderr, "# %s: %s", q, PQerrorMessage(fx->conn));
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    return r;
}

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof(*fx));
    assert_non_null(fx);
    const char *s = getenv("STPM_TEST_SEED");
    fx->seed = s && *s ? strtoull(s, NULL, 10) : (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
    if (fx->seed == 0)
        fx->seed = 1;
    printf("# seed %" PRIu64 " (STPM_TEST_SEED=%" PRIu64 " repeats this run)\n", fx->seed,
           fx->seed);
    rng_state = fx->seed;
    fx->ci = testdb_create("expr");
    assert_non_null(fx->ci);
    stpm_db_options o = STPM_DB_OPTIONS_INIT;
    o.conninfo = fx->ci;
    stpm_error err = STPM_ERROR_INIT;
    if (stpm_db_open(&fx->db, &o, &err) < 0)
        fprintf(stderr, "# open: %s\n", err.message);
    stpm_error_clear(&err);
    assert_non_null(fx->db);
    fx->conn = stpm_db_pg(fx->db);
    sql(fx, "SET client_min_messages = warning");
    sql(fx, TRY_EVAL_SQL);
    assert_int_equal(stpm_calendar_new_default(&fx->cal, &err), 0);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    stpm_calendar_free(fx->cal);
    stpm_db_free(fx->db);
    testdb_drop(fx->ci);
    free(fx);
    return 0;
}

/* One generated case. */
typedef struct gcase {
    char *src;
    char *vals;
    stpm_date today;
    outcome c;
} gcase;

/* Generate n cases (wd-heavy when wd_only), evaluate them in C and on the server in
 * batches, and count the differences (printed, at most 10). */
static int differential(fixture *fx, int n, bool wd_only)
{
    enum { BATCH = 400 };
    static const stpm_type tops[] = {STPM_TYPE_BOOL, STPM_TYPE_BOOL,    STPM_TYPE_BOOL,
                                     STPM_TYPE_INT,  STPM_TYPE_DECIMAL, STPM_TYPE_DATE,
                                     STPM_TYPE_DATE, STPM_TYPE_STRING};
    int differences = 0, stats[3] = {0, 0, 0};
    gcase *cases = calloc(BATCH, sizeof(*cases));
    assert_non_null(cases);
    for (int done = 0; done < n;) {
        int m = n - done < BATCH ? n - done : BATCH;
        stpm_strbuf batch = STPM_STRBUF_INIT;
        stpm_strbuf_putc(&batch, '[');
        for (int i = 0; i < m; i++) {
            gcase *g = &cases[i];
            values vs = {0};
            stpm_strbuf src = STPM_STRBUF_INIT, vj = STPM_STRBUF_INIT;
            random_values(&vs);
            if (wd_only) {
                char buf[11];
                gen_date(&src, 1);
                stpm_strbuf_printf(&src, " %s %dwd", below(2) ? "+" : "-",
                                   below(8) ? (int)below(80) : (int)below(3000));
                stpm_strbuf_printf(&src, " = %s", stpm_date_format(random_date(), buf));
                if (below(2)) {
                    stpm_strbuf_reset(&src);
                    stpm_strbuf_printf(
                        &src, "%s %s %dwd",
                        stpm_date_format(D("2015-01-01") + (stpm_date)below(5500), buf),
                        below(2) ? "+" : "-", (int)below(70));
                }
            } else if (below(200) == 0) {
                stpm_strbuf_puts(&src, "null");
            } else {
                gen(&src, tops[below(sizeof(tops) / sizeof(tops[0]))], 1 + (int)below(5));
            }
            g->src = stpm_strbuf_detach(&src);
            g->today = random_date();
            values_json(&vs, &vj);
            g->vals = stpm_strbuf_detach(&vj);

            stpm_expr *e = NULL;
            stpm_error err = STPM_ERROR_INIT;
            stpm_type t;
            if (stpm_expr_parse(&e, g->src, &err) < 0 ||
                stpm_expr_check(e, types, NULL, &t, &err) < 0)
                fail_msg("seed %" PRIu64 ": generated %s: %s: %s", fx->seed, g->src, err.message,
                         err.n_diags ? err.diags[0].message : "");
            stpm_value v = {0};
            stpm_expr_env env = {g->today, fx->cal, lookup, &vs};
            int rc = stpm_expr_eval(e, &env, &v, &err);
            c_outcome(rc, &v, &err, &g->c);
            stpm_value_clear(&v);
            stpm_error_clear(&err);

            char buf[11];
            stpm_strbuf_printf(&batch, "%s{\"ast\":", i ? "," : "");
            assert_int_equal(stpm_expr_to_json(e, types, NULL, &batch, &err), 0);
            stpm_strbuf_printf(&batch, ",\"vals\":%s,\"today\":\"%s\"}", g->vals,
                               stpm_date_format(g->today, buf));
            stpm_expr_free(e);
            values_clear(&vs);
        }
        stpm_strbuf_putc(&batch, ']');
        assert_false(batch.oom);
        PGresult *r = query1(fx, BATCH_SQL, stpm_strbuf_str(&batch));
        assert_int_equal(PQntuples(r), m);
        for (int i = 0; i < m; i++) {
            gcase *g = &cases[i];
            outcome s = {0};
            if (!PQgetisnull(r, i, 2)) {
                snprintf(s.code, sizeof(s.code), "%s", PQgetvalue(r, i, 2));
            } else {
                snprintf(s.type, sizeof(s.type), "%s", PQgetvalue(r, i, 0));
                if (!PQgetisnull(r, i, 1))
                    s.text = stpm_strdup(PQgetvalue(r, i, 1));
            }
            stats[s.code[0] ? 0 : s.text ? 2 : 1]++;
            if (!outcome_equal(&g->c, &s)) {
                char b1[128], b2[128], tb[11];
                if (differences < 10)
                    printf("# seed %" PRIu64 ": %s\n#   vals %s today %s\n#   C: %s  server: %s\n",
                           fx->seed, g->src, g->vals, stpm_date_format(g->today, tb),
                           outcome_show(&g->c, b1, sizeof(b1)), outcome_show(&s, b2, sizeof(b2)));
                differences++;
            }
            outcome_clear(&s);
            outcome_clear(&g->c);
            free(g->src);
            free(g->vals);
            memset(g, 0, sizeof(*g));
        }
        PQclear(r);
        stpm_strbuf_free(&batch);
        done += m;
    }
    free(cases);
    printf("# %d expressions: %d errors, %d null, %d values\n", n, stats[0], stats[1], stats[2]);
    return differences;
}

/* ---- the tests ---- */

static void expressions_agree(void **state)
{
    fixture *fx = *state;
    int d = differential(fx, 6000, false);
    if (d)
        fail_msg("seed %" PRIu64 ": %d of 6000 expressions differ", fx->seed, d);
}

/* Fixed cases the generator may miss: the examples of docs/expressions.md and the limits. */
static void known_cases_agree(void **state)
{
    fixture *fx = *state;
    static const char *const srcs[] = {
        "2021-02-08 + 5wd",
        "2021-02-05 + 5wd",
        "2020-09-28 + 20wd",
        "2021-09-28 + 20wd",
        "2021-11-01 - 20wd",
        "2020-01-31 + 1mo",
        "2021-01-31 + 1mo",
        "2020-02-29 + 1y",
        "2020-02-29 - 1y",
        "2021-03-01 - 2020-03-01",
        "9999-12-31 + 1d",
        "0001-01-01 - 1d",
        "9999-12-01 + 1mo",
        "0001-01-31 - 1mo",
        "9999-01-01 + 1y",
        "0001-12-31 - 1y",
        "9999-12-31 + 0d",
        "9999-12-31 + 1wd",
        "0001-01-01 - 1wd",
        "1y + 2020-02-29",
        "9223372036854775807 + 1",
        "-9223372036854775807 - 1",
        "-(-9223372036854775807 - 1)",
        "922337203685477 + 0.0001",
        "922337203685478 + 0.0001",
        "-922337203685477 - 0.5807",
        "a1 + 0.0001",
        "a2 - 0.0001",
        "-a2",
        "-i2",
        "i1 + 1",
        "i2 - 1",
        "i2 + i1",
        "-(-a1)",
        "i1 + 0.0001",
        "922337203685469 + a2",
        "a1 - a2",
        "d1 + 1d",
        "d2 - 1wd",
        "d1 - d2",
        "d2 - d1",
        "d1 + 1wd",
        "d2 - 1mo",
        "i1 in [i2, i1]",
        "a2 in [i1, a2]",
        "i1 = a1",
        "i1 > a1",
        "a1 > i1",
        "i2 < a2",
        "i1 is set and i3 is not set",
        "1 = 1.0000",
        "1 < 1.0001",
        "3057.28 = 3057.2800",
        "false and 9223372036854775807 + 1 > 0",
        "true or 9223372036854775807 + 1 > 0",
        "true and 9223372036854775807 + 1 > 0",
        "1 in []",
        "1 not in []",
        "1 in [2, 1, 1.0]",
        "\"如皋\" in [\"a\", \"如皋\"]",
        "true != false",
        "null",
        "2021-02-08 + 100000wd",
        "2021-02-08 - 100000wd",
        "2021-02-08 + 100000d",
        "2021-02-08 + 100000y",
        "today",
        "today - 2021-01-01",
        "\"tab\there\" = \"tab\there\"",
    };
    values extremes = {0}, none = {0};
    extremes.v[0] = (stpm_value){.type = STPM_TYPE_INT, .u.i = INT64_MAX};
    extremes.v[1] = (stpm_value){.type = STPM_TYPE_INT, .u.i = INT64_MIN};
    extremes.v[3] = (stpm_value){.type = STPM_TYPE_DECIMAL, .u.d = INT64_MAX};
    extremes.v[4] = (stpm_value){.type = STPM_TYPE_DECIMAL, .u.d = INT64_MIN};
    extremes.v[5] = (stpm_value){.type = STPM_TYPE_DATE, .u.date = D("9999-12-31")};
    extremes.v[6] = (stpm_value){.type = STPM_TYPE_DATE, .u.date = D("0001-01-01")};
    values *sets[] = {&none, &extremes};
    int differences = 0;
    for (size_t i = 0; i < sizeof(srcs) / sizeof(srcs[0]); i++) {
        for (size_t j = 0; j < 2; j++) {
            stpm_expr *e = NULL;
            stpm_error err = STPM_ERROR_INIT;
            if (stpm_expr_parse(&e, srcs[i], &err) < 0)
                fail_msg("%s: %s", srcs[i], err.n_diags ? err.diags[0].message : "?");
            stpm_strbuf q = STPM_STRBUF_INIT;
            stpm_strbuf_puts(&q, "[{\"ast\":");
            assert_int_equal(stpm_expr_to_json(e, types, NULL, &q, &err), 0);
            stpm_strbuf_puts(&q, ",\"vals\":");
            values_json(sets[j], &q);
            stpm_strbuf_puts(&q, ",\"today\":\"2021-10-08\"}]");
            stpm_value v = {0};
            stpm_expr_env env = {D("2021-10-08"), fx->cal, lookup, sets[j]};
            outcome c, s = {0};
            int rc = stpm_expr_eval(e, &env, &v, &err);
            c_outcome(rc, &v, &err, &c);
            PGresult *r = query1(fx, BATCH_SQL, stpm_strbuf_str(&q));
            if (!PQgetisnull(r, 0, 2)) {
                snprintf(s.code, sizeof(s.code), "%s", PQgetvalue(r, 0, 2));
            } else {
                snprintf(s.type, sizeof(s.type), "%s", PQgetvalue(r, 0, 0));
                if (!PQgetisnull(r, 0, 1))
                    s.text = stpm_strdup(PQgetvalue(r, 0, 1));
            }
            if (!outcome_equal(&c, &s)) {
                char b1[128], b2[128];
                printf("# %s (%s): C: %s  server: %s\n", srcs[i], j ? "extremes" : "not set",
                       outcome_show(&c, b1, sizeof(b1)), outcome_show(&s, b2, sizeof(b2)));
                differences++;
            }
            PQclear(r);
            outcome_clear(&c);
            outcome_clear(&s);
            stpm_value_clear(&v);
            stpm_error_clear(&err);
            stpm_strbuf_free(&q);
            stpm_expr_free(e);
        }
    }
    assert_int_equal(differences, 0);
}

/* stpm.calendar_shipped holds exactly the days of the shipped calendar. */
static void shipped_calendar_table(void **state)
{
    fixture *fx = *state;
    PGresult *r =
        query1(fx, "SELECT day::text, workday FROM stpm.calendar_shipped ORDER BY day", NULL);
    size_t n = stpm_calendar_n_days(fx->cal);
    if ((size_t)PQntuples(r) != n)
        fail_msg("stpm.calendar_shipped has %d days, the shipped calendar %zu: make a new"
                 " migration with scripts/calendar_sql.py",
                 PQntuples(r), n);
    for (size_t i = 0; i < n; i++) {
        bool workday;
        char buf[11];
        stpm_date d = stpm_calendar_day(fx->cal, i, &workday);
        assert_string_equal(PQgetvalue(r, (int)i, 0), stpm_date_format(d, buf));
        assert_string_equal(PQgetvalue(r, (int)i, 1), workday ? "t" : "f");
    }
    PQclear(r);
}

/* Working days one by one and as a range: stpm.is_workday and stpm.workdays_add against
 * the C calendar (the server's view of it: fx->cal). */
static int workdays_differ(fixture *fx)
{
    int differences = 0;
    char buf[11];
    /* every day of 2014..2031 */
    PGresult *r = query1(fx,
                         "SELECT string_agg(CASE WHEN stpm.is_workday(d::date) THEN '1' ELSE '0'"
                         " END, '' ORDER BY d) FROM generate_series(date '2014-01-01',"
                         " date '2031-12-31', interval '1 day') d",
                         NULL);
    const char *flags = PQgetvalue(r, 0, 0);
    stpm_date first = D("2014-01-01");
    for (stpm_date d = first; d <= D("2031-12-31"); d++) {
        char want = stpm_calendar_is_workday(fx->cal, d) ? '1' : '0';
        if (flags[d - first] != want) {
            if (differences++ < 10)
                printf("# seed %" PRIu64 ": is_workday(%s): C %c, server %c\n", fx->seed,
                       stpm_date_format(d, buf), want, flags[d - first]);
        }
    }
    PQclear(r);

    enum { N = 3000 };
    stpm_date *ds = malloc(N * sizeof(*ds));
    int *ns = malloc(N * sizeof(*ns));
    assert_non_null(ds);
    assert_non_null(ns);
    stpm_strbuf q = STPM_STRBUF_INIT;
    stpm_strbuf_putc(&q, '[');
    for (int i = 0; i < N; i++) {
        ds[i] = D("2014-06-01") + (stpm_date)below(17 * 365);
        unsigned k = below(100);
        ns[i] = k < 80   ? (int)below(161) - 80
                : k < 97 ? (int)below(4001) - 2000
                         : (int)below(200001) - 100000;
        stpm_strbuf_printf(&q, "%s[\"%s\",%d]", i ? "," : "", stpm_date_format(ds[i], buf), ns[i]);
    }
    stpm_strbuf_putc(&q, ']');
    r = query1(fx,
               "SELECT stpm.workdays_add((e->>0)::date, (e->>1)::integer)::text"
               " FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS a(e, i) ORDER BY i",
               stpm_strbuf_str(&q));
    for (int i = 0; i < N; i++) {
        char want[11];
        stpm_date_format(stpm_calendar_add_workdays(fx->cal, ds[i], ns[i]), want);
        if (strcmp(PQgetvalue(r, i, 0), want) != 0) {
            if (differences++ < 10)
                printf("# seed %" PRIu64 ": workdays_add(%s, %d): C %s, server %s\n", fx->seed,
                       stpm_date_format(ds[i], buf), ns[i], want, PQgetvalue(r, i, 0));
        }
    }
    PQclear(r);
    stpm_strbuf_free(&q);
    free(ds);
    free(ns);
    return differences;
}

static void set_day(fixture *fx, const char *day, bool workday)
{
    char q[256];
    stpm_error err = STPM_ERROR_INIT;
    snprintf(q, sizeof(q),
             "INSERT INTO stpm.calendar_days (day, workday, note) VALUES ('%s', %s, 'test')"
             " ON CONFLICT (day) DO UPDATE SET workday = excluded.workday",
             day, workday ? "true" : "false");
    sql(fx, q);
    assert_int_equal(stpm_calendar_set_day(fx->cal, D(day), workday, &err), 0);
}

static void working_days_shipped(void **state)
{
    fixture *fx = *state;
    int d = workdays_differ(fx);
    if (d)
        fail_msg("seed %" PRIu64 ": %d differences in working days", fx->seed, d);
}

/* The administrator's 调休 overrides (stpm.calendar_days) over the shipped days, both
 * ways: a weekday made a rest day, a weekend made a working day, shipped days reversed,
 * days outside the shipped years; then random ones. */
static void working_days_with_overrides(void **state)
{
    fixture *fx = *state;
    char buf[11];
    set_day(fx, "2021-02-08", false); /* a Monday off */
    set_day(fx, "2021-02-20", false); /* a shipped make-up Saturday, cancelled */
    set_day(fx, "2021-02-11", true);  /* a shipped holiday, worked */
    set_day(fx, "2021-10-16", true);  /* a Saturday worked */
    set_day(fx, "2020-10-08", true);  /* inside National Day */
    set_day(fx, "2030-01-02", false); /* beyond the shipped years */
    set_day(fx, "2030-01-05", true);
    set_day(fx, "2014-05-01", false); /* before them */
    set_day(fx, "2021-02-09", true);  /* a weekday marked a working day: no change */
    set_day(fx, "2021-02-13", false); /* a Saturday (holiday anyway) */
    for (int i = 0; i < 60; i++)
        set_day(fx, stpm_date_format(D("2019-01-01") + (stpm_date)below(5 * 365), buf), below(2));
    int d = workdays_differ(fx);
    d += differential(fx, 1500, true);
    d += differential(fx, 1000, false);
    if (d)
        fail_msg("seed %" PRIu64 ": %d differences with calendar_days", fx->seed, d);
    sql(fx, "DELETE FROM stpm.calendar_days WHERE note = 'test'");
    stpm_calendar_free(fx->cal);
    stpm_error err = STPM_ERROR_INIT;
    assert_int_equal(stpm_calendar_new_default(&fx->cal, &err), 0);
}

/* The JSON tree, exactly. */
static void json_format(void **state)
{
    (void)state;
    static const struct {
        const char *src, *json;
    } cases[] = {
        {"i1 < 1 and today <= d1",
         "{\"k\":\"op\",\"t\":\"bool\",\"op\":\"and\",\"a\":{\"k\":\"op\",\"t\":\"bool\","
         "\"op\":\"<\",\"a\":{\"k\":\"field\",\"t\":\"int\",\"n\":\"i1\"},\"b\":{\"k\":\"lit\","
         "\"t\":\"int\",\"v\":1}},\"b\":{\"k\":\"op\",\"t\":\"bool\",\"op\":\"<=\",\"a\":{\"k\":"
         "\"today\",\"t\":\"date\"},\"b\":{\"k\":\"field\",\"t\":\"date\",\"n\":\"d1\"}}}"},
        {"-a1 + 3057.28",
         "{\"k\":\"op\",\"t\":\"amount\",\"op\":\"+\",\"a\":{\"k\":\"neg\",\"t\":\"amount\","
         "\"a\":{\"k\":\"field\",\"t\":\"amount\",\"n\":\"a1\"}},\"b\":{\"k\":\"lit\",\"t\":"
         "\"amount\",\"v\":3057.2800}}"},
        {"i1 + a1",
         "{\"k\":\"op\",\"t\":\"amount\",\"op\":\"+\",\"a\":{\"k\":\"field\",\"t\":\"int\",\"n\":"
         "\"i1\"},\"b\":{\"k\":\"field\",\"t\":\"amount\",\"n\":\"a1\"}}"},
        {"d1 - d2",
         "{\"k\":\"op\",\"t\":\"int\",\"op\":\"-\",\"a\":{\"k\":\"field\",\"t\":\"date\",\"n\":"
         "\"d1\"},\"b\":{\"k\":\"field\",\"t\":\"date\",\"n\":\"d2\"}}"},
        {"5wd + 2021-02-08",
         "{\"k\":\"op\",\"t\":\"date\",\"op\":\"+\",\"a\":{\"k\":\"lit\",\"t\":\"duration\",\"v\":"
         "{\"n\":5,\"u\":\"wd\"}},\"b\":{\"k\":\"lit\",\"t\":\"date\",\"v\":\"2021-02-08\"}}"},
        {"s1 not in [\"a\\\"b\", \"如皋\"] or s1 is not set",
         "{\"k\":\"op\",\"t\":\"bool\",\"op\":\"or\",\"a\":{\"k\":\"in\",\"t\":\"bool\",\"neg\":"
         "true,\"a\":{\"k\":\"field\",\"t\":\"text\",\"n\":\"s1\"},\"items\":[{\"k\":\"lit\","
         "\"t\":\"text\",\"v\":\"a\\\"b\"},{\"k\":\"lit\",\"t\":\"text\",\"v\":\"如皋\"}]},"
         "\"b\":{\"k\":\"isset\",\"t\":\"bool\",\"neg\":true,\"n\":\"s1\"}}"},
        {"not b1 != (i1 in [])",
         "{\"k\":\"not\",\"t\":\"bool\",\"a\":{\"k\":\"op\",\"t\":\"bool\",\"op\":\"!=\",\"a\":"
         "{\"k\":\"field\",\"t\":\"bool\",\"n\":\"b1\"},\"b\":{\"k\":\"in\",\"t\":\"bool\","
         "\"neg\":false,\"a\":{\"k\":\"field\",\"t\":\"int\",\"n\":\"i1\"},\"items\":[]}}}"},
        {"null", "{\"k\":\"lit\",\"t\":\"null\",\"v\":null}"},
        {"false = (d1 + 1mo >= 2020-01-31 - 1y)",
         "{\"k\":\"op\",\"t\":\"bool\",\"op\":\"=\",\"a\":{\"k\":\"lit\",\"t\":\"bool\",\"v\":"
         "false},\"b\":{\"k\":\"op\",\"t\":\"bool\",\"op\":\">=\",\"a\":{\"k\":\"op\",\"t\":"
         "\"date\",\"op\":\"+\",\"a\":{\"k\":\"field\",\"t\":\"date\",\"n\":\"d1\"},\"b\":{\"k\":"
         "\"lit\",\"t\":\"duration\",\"v\":{\"n\":1,\"u\":\"mo\"}}},\"b\":{\"k\":\"op\",\"t\":"
         "\"date\",\"op\":\"-\",\"a\":{\"k\":\"lit\",\"t\":\"date\",\"v\":\"2020-01-31\"},\"b\":"
         "{\"k\":\"lit\",\"t\":\"duration\",\"v\":{\"n\":1,\"u\":\"y\"}}}}}"},
        {"\"tab\there\" = s1",
         "{\"k\":\"op\",\"t\":\"bool\",\"op\":\"=\",\"a\":{\"k\":\"lit\",\"t\":\"text\",\"v\":"
         "\"tab\\u0009here\"},\"b\":{\"k\":\"field\",\"t\":\"text\",\"n\":\"s1\"}}"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        stpm_expr *e = NULL;
        stpm_error err = STPM_ERROR_INIT;
        stpm_strbuf sb = STPM_STRBUF_INIT;
        assert_int_equal(stpm_expr_parse(&e, cases[i].src, &err), 0);
        assert_int_equal(stpm_expr_to_json(e, types, NULL, &sb, &err), 0);
        assert_string_equal(stpm_strbuf_str(&sb), cases[i].json);
        stpm_strbuf_free(&sb);
        stpm_expr_free(e);
    }
    /* what does not type-check gives the checker's error and writes nothing */
    static const char *const bad[] = {"7d", "nosuch = 1", "s1 < s2", "i1 = null"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        stpm_expr *e = NULL;
        stpm_error err = STPM_ERROR_INIT;
        stpm_strbuf sb = STPM_STRBUF_INIT;
        assert_int_equal(stpm_expr_parse(&e, bad[i], &err), 0);
        assert_int_equal(stpm_expr_to_json(e, types, NULL, &sb, &err), STPM_EINPUT);
        assert_string_equal(err.message, "type error in expression");
        assert_int_equal(sb.len, 0);
        stpm_error_clear(&err);
        stpm_strbuf_free(&sb);
        stpm_expr_free(e);
    }
}

int main(void)
{
    const struct CMUnitTest offline[] = {
        cmocka_unit_test(json_format),
    };
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(json_format),       cmocka_unit_test(shipped_calendar_table),
        cmocka_unit_test(known_cases_agree), cmocka_unit_test(working_days_shipped),
        cmocka_unit_test(expressions_agree), cmocka_unit_test(working_days_with_overrides),
    };
    if (!testdb_cluster())
        return cmocka_run_group_tests(offline, NULL, NULL);
    return cmocka_run_group_tests(tests, setup, teardown);
}

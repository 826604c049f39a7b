/* Durations outside expressions: `timeout: {after: 5wd}` and the evaluator's date
 * arithmetic. */
#include "workflow/expr_internal.h"

#include <string.h>

int stpm_duration_parse(const char *s, stpm_duration_unit *unit, int32_t *n)
{
    expr_lexer lx = {s, strlen(s), 0};
    expr_token tok, end;
    stpm_error err = STPM_ERROR_INIT;
    int rc = -1;
    if (expr_lex_next(&lx, &tok, &err) == 0 && tok.kind == TOK_DURATION &&
        expr_lex_next(&lx, &end, &err) == 0 && end.kind == TOK_END) {
        *unit = tok.val.u.dur.unit;
        *n = tok.val.u.dur.n;
        rc = 0;
    }
    stpm_value_clear(&tok.val);
    stpm_error_clear(&err);
    return rc;
}

static bool date_ok(int64_t d)
{
    return d >= stpm_date_from_ymd(1, 1, 1) && d <= stpm_date_from_ymd(9999, 12, 31);
}

int stpm_duration_add(const stpm_calendar *cal, stpm_date d, stpm_duration_unit unit, int64_t n,
                      stpm_date *out)
{
    int64_t r;
    if (!date_ok(d) || n < -EXPR_MAX_DURATION || n > EXPR_MAX_DURATION)
        return -1;
    switch (unit) {
    case STPM_DUR_DAYS:
        r = (int64_t)d + n;
        break;
    case STPM_DUR_WORKDAYS:
        if (!cal)
            return -1;
        /* at most 100000 working days from a valid date: far from the int32 limits */
        r = stpm_calendar_add_workdays(cal, d, (int)n);
        break;
    case STPM_DUR_MONTHS:
    case STPM_DUR_YEARS: {
        int64_t months = unit == STPM_DUR_YEARS ? n * 12 : n;
        int y, m;
        stpm_date_to_ymd(d, &y, &m, NULL);
        int64_t total = (int64_t)y * 12 + (m - 1) + months;
        if (total < 12 || total > 9999 * 12 + 11) /* years 1..9999 */
            return -1;
        r = stpm_date_add_months(d, (int)months);
        break;
    }
    default:
        return -1;
    }
    if (!date_ok(r))
        return -1;
    *out = (stpm_date)r;
    return 0;
}

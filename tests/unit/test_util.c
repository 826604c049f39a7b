/* Unit tests of core/util: the error object, dates, decimals, string buffers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <unistd.h>

#include "stpm/date.h"
#include "stpm/decimal.h"
#include "stpm/error.h"
#include "util/readfile.h"
#include "util/strutil.h"

static void error_set_and_clear(void **state)
{
    (void)state;
    stpm_error err = STPM_ERROR_INIT;
    assert_int_equal(stpm_error_set(&err, STPM_EINPUT, "bad row %d", 7), STPM_EINPUT);
    stpm_error_detail(&err, "detail %s", "x");
    stpm_error_hint(&err, "Fix it.");
    stpm_error_add_diag(&err, "a.csv", 3, 2, "uscc", "invalid check digit");
    assert_string_equal(err.message, "bad row 7");
    assert_string_equal(err.detail, "detail x");
    assert_int_equal(err.n_diags, 1);
    assert_string_equal(err.diags[0].file, "a.csv");
    assert_int_equal(err.diags[0].line, 3);
    assert_int_equal(stpm_error_exit_code(err.code), 5);
    stpm_error_clear(&err);
    assert_null(err.message);
    assert_int_equal(err.n_diags, 0);
    stpm_error_clear(NULL);
}

static void error_exit_codes(void **state)
{
    (void)state;
    assert_int_equal(stpm_error_exit_code(0), 0);
    assert_int_equal(stpm_error_exit_code(STPM_ERROR), 1);
    assert_int_equal(stpm_error_exit_code(STPM_EREFUSED), 3);
    assert_int_equal(stpm_error_exit_code(STPM_EUNAVAIL), 8);
    assert_int_equal(stpm_error_exit_code(-99), 1);
    assert_string_equal(stpm_error_code_name(STPM_ECONFLICT), "conflict");
}

static void dates_round_trip(void **state)
{
    (void)state;
    char buf[11];
    stpm_date d;
    assert_int_equal(stpm_date_parse("1970-01-01", &d), 0);
    assert_int_equal(d, 0);
    assert_int_equal(stpm_date_parse("2020-02-29", &d), 0);
    assert_string_equal(stpm_date_format(d + 1, buf), "2020-03-01");
    assert_int_equal(stpm_date_parse("2021-02-29", &d), -1);
    assert_int_equal(stpm_date_parse("2021-13-01", &d), -1);
    assert_int_equal(stpm_date_parse("2021-1-01", &d), -1);
    assert_int_equal(stpm_date_parse("2021-01-011", &d), -1);
    for (stpm_date x = -800000; x < 800000; x += 997) {
        int y, m, dd;
        stpm_date_to_ymd(x, &y, &m, &dd);
        assert_int_equal(stpm_date_from_ymd(y, m, dd), x);
    }
}

static void dates_months_and_weekdays(void **state)
{
    (void)state;
    char buf[11];
    stpm_date d;
    assert_int_equal(stpm_date_parse("2021-01-31", &d), 0);
    assert_string_equal(stpm_date_format(stpm_date_add_months(d, 1), buf), "2021-02-28");
    assert_int_equal(stpm_date_parse("2020-01-31", &d), 0);
    assert_string_equal(stpm_date_format(stpm_date_add_months(d, 1), buf), "2020-02-29");
    assert_string_equal(stpm_date_format(stpm_date_add_months(d, 12), buf), "2021-01-31");
    assert_string_equal(stpm_date_format(stpm_date_add_months(d, -2), buf), "2019-11-30");
    assert_int_equal(stpm_date_parse("2021-10-01", &d), 0); /* a Friday */
    assert_int_equal(stpm_date_weekday(d), 4);
}

static void decimals(void **state)
{
    (void)state;
    char buf[32];
    stpm_decimal v;
    assert_int_equal(stpm_decimal_parse("3057.28", &v), 0);
    assert_int_equal(v, 30572800);
    assert_string_equal(stpm_decimal_format(v, 2, buf), "3057.28");
    assert_int_equal(stpm_decimal_parse("-0.005", &v), 0);
    assert_string_equal(stpm_decimal_format(v, 2, buf), "-0.01");
    assert_int_equal(stpm_decimal_parse("1.23456", &v), -1);
    assert_int_equal(stpm_decimal_parse("1.", &v), -1);
    assert_int_equal(stpm_decimal_parse("", &v), -1);
    assert_int_equal(stpm_decimal_parse("12a", &v), -1);
    /* beyond numeric(18,4): well formed, but too large (-2) */
    assert_int_equal(stpm_decimal_parse("99999999999999999999", &v), -2);
    assert_int_equal(stpm_decimal_parse("100000000000000", &v), -2);
    assert_int_equal(stpm_decimal_parse("-100000000000000.5", &v), -2);
    assert_int_equal(stpm_decimal_parse("99999999999999.9999", &v), 0);
    assert_true(v == STPM_DECIMAL_MAX);
    assert_int_equal(stpm_decimal_parse("-99999999999999.9999", &v), 0);
    assert_true(v == -STPM_DECIMAL_MAX);
    assert_int_equal(stpm_decimal_parse("12", &v), 0);
    assert_string_equal(stpm_decimal_format(v, 0, buf), "12");
    stpm_decimal s;
    assert_int_equal(stpm_decimal_add(v, stpm_decimal_from_int(3), &s), 0);
    assert_string_equal(stpm_decimal_format(s, 2, buf), "15.00");
    assert_int_equal(stpm_decimal_add(INT64_MAX, 1, &s), -1);
}

static void strbuf_grows(void **state)
{
    (void)state;
    stpm_strbuf sb = STPM_STRBUF_INIT;
    for (int i = 0; i < 1000; i++)
        stpm_strbuf_printf(&sb, "%d,", i % 10);
    assert_int_equal(sb.len, 2000);
    char *s = stpm_strbuf_detach(&sb);
    assert_int_equal(strlen(s), 2000);
    assert_int_equal(memcmp(s, "0,1,2,", 6), 0);
    free(s);
}

static void read_file_limits(void **state)
{
    (void)state;
    char dir[] = "/tmp/stpm-readfile.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[64];
    snprintf(path, sizeof(path), "%s/f.txt", dir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    for (int i = 0; i < 1000; i++)
        fputs("0123456789", f);
    fclose(f);

    stpm_error err = STPM_ERROR_INIT;
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(stpm_read_file(path, "test file", 10000, &text, &len, &err), 0);
    assert_int_equal(len, 10000);
    assert_int_equal(text[len], '\0');
    assert_int_equal(memcmp(text + 9990, "0123456789", 10), 0);
    free(text);

    assert_int_equal(stpm_read_file(path, "test file", 9999, &text, &len, &err), STPM_EINPUT);
    assert_null(text);
    assert_non_null(strstr(err.message, "is too large"));
    stpm_error_clear(&err);

    assert_int_equal(stpm_read_file(dir, "test file", 10, &text, &len, &err), STPM_EINPUT);
    assert_non_null(strstr(err.message, "it is a directory"));
    stpm_error_clear(&err);

    assert_int_equal(stpm_read_file("/dev/null", "test file", 10, &text, &len, &err), STPM_EINPUT);
    assert_non_null(strstr(err.message, "not a regular file"));
    stpm_error_clear(&err);

    remove(path);
    assert_int_equal(stpm_read_file(path, "test file", 10, &text, &len, &err), STPM_ENOTFOUND);
    assert_non_null(strstr(err.message, "cannot open test file"));
    stpm_error_clear(&err);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(error_set_and_clear),
        cmocka_unit_test(error_exit_codes),
        cmocka_unit_test(dates_round_trip),
        cmocka_unit_test(dates_months_and_weekdays),
        cmocka_unit_test(decimals),
        cmocka_unit_test(strbuf_grows),
        cmocka_unit_test(read_file_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

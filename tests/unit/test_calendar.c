/* Unit tests of the working-day calendar (工作日历): the shipped data, working-day
 * arithmetic across holidays, and administrator files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stpm/calendar.h"
#include "workflow/calendar_internal.h"

static stpm_date D(const char *s)
{
    stpm_date d;
    if (stpm_date_parse(s, &d) != 0)
        fail_msg("bad date %s in test", s);
    return d;
}

static stpm_calendar *new_default(void)
{
    stpm_error err = STPM_ERROR_INIT;
    stpm_calendar *cal = NULL;
    if (stpm_calendar_new_default(&cal, &err) != 0)
        fail_msg("default calendar: %s: %s", err.message, err.n_diags ? err.diags[0].message : "");
    return cal;
}

static void shipped_range(void **state)
{
    (void)state;
    stpm_calendar *cal = new_default();
    int first, last;
    stpm_calendar_range(cal, &first, &last);
    assert_int_equal(first, 2016);
    assert_int_equal(last, 2027);
    stpm_calendar_free(cal);
    stpm_calendar_free(NULL);
}

/* Each year's notice gives back exactly the statutory days that fall on weekdays: 11 a
 * year until 2024, 13 from 2025 (Spring Festival 4 days, Labour Day 2). 2020 has two
 * more: the Spring Festival was extended to 02-02 and the make-up day 02-01 cancelled.
 * A notice year runs from 12-29 of the year before (New Year blocks start there). */
static void shipped_data_is_consistent(void **state)
{
    (void)state;
    stpm_calendar *cal = new_default();
    for (int y = 2016; y <= 2026; y++) { /* 2027: provisional_2027_has_the_statutory_days */
        int expect = y >= 2025 || y == 2020 ? 13 : 11;
        stpm_date from = stpm_date_from_ymd(y - 1, 12, 29), to = stpm_date_from_ymd(y, 12, 28);
        int net = 0;
        for (size_t i = 0; i < cal->n; i++) {
            const cal_day *d = &cal->days[i];
            if (d->date < from || d->date > to)
                continue;
            if (d->kind == CAL_WORKDAY)
                net--;
            else if (stpm_date_weekday(d->date) < 5)
                net++;
        }
        if (net != expect)
            fail_msg("year %d: %d weekdays off net of make-up days, expected %d", y, net, expect);
    }
    /* every make-up working day is a Saturday or a Sunday */
    for (size_t i = 0; i < cal->n; i++) {
        char buf[11];
        if (cal->days[i].kind == CAL_WORKDAY && stpm_date_weekday(cal->days[i].date) < 5)
            fail_msg("make-up day %s is a weekday", stpm_date_format(cal->days[i].date, buf));
    }
    stpm_calendar_free(cal);
}

/* 2027 is provisional: exactly the 13 statutory days of the 2025 regulation (no notice
 * yet, so no bridging or make-up days). The lunar dates: 除夕 02-05, 端午 06-09, 中秋 09-15. */
static void provisional_2027_has_the_statutory_days(void **state)
{
    (void)state;
    static const char *const statutory[] = {"2027-01-01", "2027-02-05", "2027-02-06", "2027-02-07",
                                            "2027-02-08", "2027-04-05", "2027-05-01", "2027-05-02",
                                            "2027-06-09", "2027-09-15", "2027-10-01", "2027-10-02",
                                            "2027-10-03"};
    stpm_calendar *cal = new_default();
    size_t n = 0;
    for (size_t i = 0; i < stpm_calendar_n_days(cal); i++) {
        bool workday = true;
        stpm_date d = stpm_calendar_day(cal, i, &workday);
        int y, m, dd;
        stpm_date_to_ymd(d, &y, &m, &dd);
        if (y != 2027)
            continue;
        assert_false(workday);
        assert_true(n < sizeof(statutory) / sizeof(*statutory));
        assert_int_equal(d, D(statutory[n]));
        n++;
    }
    assert_int_equal(n, sizeof(statutory) / sizeof(*statutory));
    assert_false(stpm_calendar_is_workday(cal, D("2027-04-05"))); /* Monday, 清明 */
    assert_false(stpm_calendar_is_workday(cal, D("2027-06-09"))); /* Wednesday, 端午 */
    assert_false(stpm_calendar_is_workday(cal, D("2027-09-15"))); /* Wednesday, 中秋 */
    stpm_calendar_free(cal);
}

/* An empty calendar, days set one by one (what the database additions do). */
static void set_day_and_iterate(void **state)
{
    (void)state;
    stpm_error err = STPM_ERROR_INIT;
    stpm_calendar *cal = NULL;
    assert_int_equal(stpm_calendar_new_empty(&cal, &err), 0);
    assert_int_equal(stpm_calendar_n_days(cal), 0);
    int first = -1, last = -1;
    stpm_calendar_range(cal, &first, &last);
    assert_int_equal(first, 0);
    assert_int_equal(last, 0);
    assert_true(stpm_calendar_is_workday(cal, D("2021-03-04")));
    assert_int_equal(stpm_calendar_set_day(cal, D("2021-03-04"), false, &err), 0);
    assert_int_equal(stpm_calendar_set_day(cal, D("2021-03-06"), true, &err), 0);
    assert_int_equal(stpm_calendar_set_day(cal, D("2020-01-02"), false, &err), 0);
    assert_false(stpm_calendar_is_workday(cal, D("2021-03-04")));
    assert_true(stpm_calendar_is_workday(cal, D("2021-03-06"))); /* a Saturday */
    /* setting a day again replaces it: one entry per date, in date order */
    assert_int_equal(stpm_calendar_set_day(cal, D("2021-03-04"), true, &err), 0);
    assert_true(stpm_calendar_is_workday(cal, D("2021-03-04")));
    assert_int_equal(stpm_calendar_n_days(cal), 3);
    bool w = false;
    assert_int_equal(stpm_calendar_day(cal, 0, &w), D("2020-01-02"));
    assert_false(w);
    assert_int_equal(stpm_calendar_day(cal, 1, &w), D("2021-03-04"));
    assert_true(w);
    assert_int_equal(stpm_calendar_day(cal, 2, NULL), D("2021-03-06"));
    stpm_calendar_range(cal, &first, &last);
    assert_int_equal(first, 2020);
    assert_int_equal(last, 2021);
    /* 5wd after Monday 2021-03-01, Saturday 03-06 a working day: 03-06 itself */
    assert_int_equal(stpm_calendar_add_workdays(cal, D("2021-03-01"), 5), D("2021-03-06"));
    /* and with Thursday 03-04 a rest day again: Monday 03-08 */
    assert_int_equal(stpm_calendar_set_day(cal, D("2021-03-04"), false, &err), 0);
    assert_int_equal(stpm_calendar_add_workdays(cal, D("2021-03-01"), 5), D("2021-03-08"));
    stpm_calendar_free(cal);
}

static void workdays_and_rest_days(void **state)
{
    (void)state;
    stpm_calendar *cal = new_default();
    assert_true(stpm_calendar_is_workday(cal, D("2021-02-07")));  /* Sunday, make-up */
    assert_true(stpm_calendar_is_workday(cal, D("2021-02-20")));  /* Saturday, make-up */
    assert_true(stpm_calendar_is_workday(cal, D("2021-10-09")));  /* Saturday, make-up */
    assert_true(stpm_calendar_is_workday(cal, D("2021-09-26")));  /* Sunday, make-up */
    assert_false(stpm_calendar_is_workday(cal, D("2021-02-11"))); /* Thursday, 春节 */
    assert_false(stpm_calendar_is_workday(cal, D("2021-10-07"))); /* Thursday, 国庆 */
    assert_false(stpm_calendar_is_workday(cal, D("2021-10-16"))); /* plain Saturday */
    assert_true(stpm_calendar_is_workday(cal, D("2021-10-18")));  /* plain Monday */
    assert_false(stpm_calendar_is_workday(cal, D("2019-01-01")));
    assert_true(stpm_calendar_is_workday(cal, D("2018-12-29")));  /* Saturday, for 2019 元旦 */
    assert_false(stpm_calendar_is_workday(cal, D("2020-01-31"))); /* COVID extension */
    assert_false(stpm_calendar_is_workday(cal, D("2020-02-01")));
    assert_false(stpm_calendar_is_workday(cal, D("2026-02-23")));
    assert_true(stpm_calendar_is_workday(cal, D("2026-02-28")));
    /* beyond the data: weekends only */
    assert_true(stpm_calendar_is_workday(cal, D("2040-10-01")));  /* a Monday */
    assert_false(stpm_calendar_is_workday(cal, D("2040-10-06"))); /* a Saturday */
    assert_true(stpm_calendar_is_workday(NULL, D("2021-10-01")));
    stpm_calendar_free(cal);
}

static void adding_workdays(void **state)
{
    (void)state;
    stpm_calendar *cal = new_default();
    /* 09-29 09-30 | 10-01..07 off | 10-08 10-09(Sat) 10-11..15 10-18..22 10-25..29 11-01 */
    assert_int_equal(stpm_calendar_add_workdays(cal, D("2021-09-28"), 20), D("2021-11-01"));
    /* 02-07(Sun) 02-08 02-09 02-10 | 02-11..17 off | 02-18 */
    assert_int_equal(stpm_calendar_add_workdays(cal, D("2021-02-05"), 5), D("2021-02-18"));
    assert_int_equal(stpm_calendar_add_workdays(cal, D("2021-02-18"), -5), D("2021-02-05"));
    assert_int_equal(stpm_calendar_add_workdays(cal, D("2021-02-06"), 1), D("2021-02-07"));
    assert_int_equal(stpm_calendar_add_workdays(cal, D("2021-02-13"), 0), D("2021-02-13"));
    /* 2024 Spring Festival: 02-10..17 off, 02-18 (Sunday) worked */
    assert_int_equal(stpm_calendar_add_workdays(cal, D("2024-02-09"), 1), D("2024-02-18"));
    /* a plain week */
    assert_int_equal(stpm_calendar_add_workdays(cal, D("2021-11-05"), 5), D("2021-11-12"));
    stpm_calendar_free(cal);
}

static void admin_file_overrides(void **state)
{
    (void)state;
    stpm_error err = STPM_ERROR_INIT;
    stpm_calendar *cal = new_default();
    const char *text = "# 如皋 county: an extra rest day, and a correction\n"
                       "2021:\n"
                       "  holidays:\n"
                       "    - 2021-10-15\n"
                       "    - 2021-10-09   # no longer a make-up day\n"
                       "2028:\n"
                       "  holidays: [2028-01-03..2028-01-04]\n"
                       "  workdays: [2028-01-08]\n";
    assert_true(stpm_calendar_is_workday(cal, D("2021-10-15")));
    assert_int_equal(stpm_calendar_load_text(cal, "local.yaml", text, strlen(text), &err), 0);
    assert_false(stpm_calendar_is_workday(cal, D("2021-10-15")));
    assert_false(stpm_calendar_is_workday(cal, D("2021-10-09")));
    assert_true(stpm_calendar_is_workday(cal, D("2021-02-07"))); /* the rest is kept */
    assert_false(stpm_calendar_is_workday(cal, D("2028-01-04")));
    assert_true(stpm_calendar_is_workday(cal, D("2028-01-08")));
    int first, last;
    stpm_calendar_range(cal, &first, &last);
    assert_int_equal(first, 2016);
    assert_int_equal(last, 2028);
    /* and a make-up day can be given back */
    const char *back = "2021:\n  workdays: [2021-10-09]\n";
    assert_int_equal(stpm_calendar_load_text(cal, "b.yaml", back, strlen(back), &err), 0);
    assert_true(stpm_calendar_is_workday(cal, D("2021-10-09")));
    stpm_calendar_free(cal);
    stpm_error_clear(&err);
}

static char *write_temp(const char *text)
{
    char *path = strdup("/tmp/stpm-calendar-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs(text, f);
    fclose(f);
    return path;
}

static void load_file(void **state)
{
    (void)state;
    stpm_error err = STPM_ERROR_INIT;
    stpm_calendar *cal = new_default();
    char *path = write_temp("2021:\n  holidays:\n    - 2021-11-01..2021-11-02\n");
    assert_int_equal(stpm_calendar_load_file(cal, path, &err), 0);
    assert_false(stpm_calendar_is_workday(cal, D("2021-11-02")));
    assert_int_equal(stpm_calendar_add_workdays(cal, D("2021-10-29"), 1), D("2021-11-03"));
    unlink(path);
    free(path);

    path = write_temp("2021:\n  holidays:\n    - 2021-11-03\n    - 2021-11-31\n");
    assert_int_equal(stpm_calendar_load_file(cal, path, &err), STPM_EINPUT);
    assert_int_equal(err.n_diags, 1);
    assert_string_equal(err.diags[0].file, path);
    assert_int_equal(err.diags[0].line, 4);
    assert_int_equal(err.diags[0].col, 7);
    assert_string_equal(err.diags[0].message, "invalid date '2021-11-31' (expected YYYY-MM-DD)");
    /* nothing of a bad file is applied */
    assert_true(stpm_calendar_is_workday(cal, D("2021-11-03")));
    stpm_error_clear(&err);
    unlink(path);

    assert_int_equal(stpm_calendar_load_file(cal, path, &err), STPM_ENOTFOUND);
    stpm_error_clear(&err);
    free(path);
    stpm_calendar_free(cal);
}

#define BAD(text, line, col, msg) bad_file(text, line, col, msg, __LINE__)
static void bad_file(const char *text, int line, int col, const char *msg, int at)
{
    stpm_error err = STPM_ERROR_INIT;
    stpm_calendar *cal = new_default();
    size_t before = cal->n;
    int rc = stpm_calendar_load_text(cal, "x.yaml", text, strlen(text), &err);
    if (rc != STPM_EINPUT || err.n_diags < 1 || err.diags[0].line != line ||
        err.diags[0].col != col || strcmp(err.diags[0].message, msg) != 0)
        fail_msg("line %d: rc %d, %d:%d \"%s\"; expected %d:%d \"%s\"", at, rc,
                 err.n_diags ? err.diags[0].line : -1, err.n_diags ? err.diags[0].col : -1,
                 err.n_diags ? err.diags[0].message : "(none)", line, col, msg);
    assert_string_equal(err.diags[0].file, "x.yaml");
    assert_string_equal(err.message, "invalid calendar file x.yaml");
    assert_int_equal(cal->n, before);
    stpm_error_clear(&err);
    stpm_calendar_free(cal);
}

static void bad_files(void **state)
{
    (void)state;
    BAD("2021:\n  holidays: [2021-10-01\n", 3, 1,
        "did not find expected ',' or ']' while parsing a flow sequence");
    BAD("- 2021-10-01\n", 1, 1, "expected a mapping of years, found a list");
    BAD("twenty:\n  holidays: []\n", 1, 1, "expected a year such as 2021, found 'twenty'");
    BAD("2021:\n  holidays: []\n2021:\n  workdays: []\n", 3, 1, "year 2021 appears twice");
    BAD("2021: [2021-10-01]\n", 1, 7,
        "expected a mapping with holidays and workdays, found a list");
    BAD("2021:\n  holiday: [2021-10-01]\n", 2, 3,
        "unknown key 'holiday' (expected holidays, workdays or provisional)");
    BAD("2021:\n  holidays: 2021-10-01\n", 2, 13, "expected a list of dates, found a scalar");
    BAD("2021:\n  holidays: [2021-10-07..2021-10-01]\n", 2, 14,
        "range '2021-10-07..2021-10-01' ends before it starts");
    BAD("2021:\n  holidays: [2021-10-01..2021-10-0]\n", 2, 14,
        "invalid end of range '2021-10-0' (expected YYYY-MM-DD)");
    BAD("2021:\n  holidays: [2021-10-01 to 2021-10-07]\n", 2, 14,
        "invalid date '2021-10-01 to 2021-10-07' (expected YYYY-MM-DD or DATE..DATE)");
    BAD("2021:\n  holidays: [2023-10-01]\n", 2, 14, "'2023-10-01' is not in or next to year 2021");
    BAD("2021:\n  holidays: [[2021-10-01]]\n", 2, 14,
        "expected a date or a range DATE..DATE, found a list");
    BAD("2021:\n  holidays: [2021-10-01..2021-10-07]\n  workdays: [2021-10-07]\n", 3, 14,
        "2021-10-07 is listed both as a holiday and as a working day");
}

static void bad_file_reports_every_problem(void **state)
{
    (void)state;
    stpm_error err = STPM_ERROR_INIT;
    stpm_calendar *cal = new_default();
    const char *text = "2021:\n  holidays: [2021-02-30]\n  workdays: [x]\nabc: {}\n";
    assert_int_equal(stpm_calendar_load_text(cal, "y.yaml", text, strlen(text), &err), STPM_EINPUT);
    assert_int_equal(err.n_diags, 3);
    assert_int_equal(err.diags[1].line, 3);
    assert_int_equal(err.diags[2].line, 4);
    stpm_error_clear(&err);
    /* an empty file changes nothing and is fine */
    assert_int_equal(stpm_calendar_load_text(cal, "e.yaml", "", 0, &err), 0);
    stpm_calendar_free(cal);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(shipped_range),
        cmocka_unit_test(shipped_data_is_consistent),
        cmocka_unit_test(provisional_2027_has_the_statutory_days),
        cmocka_unit_test(set_day_and_iterate),
        cmocka_unit_test(workdays_and_rest_days),
        cmocka_unit_test(adding_workdays),
        cmocka_unit_test(admin_file_overrides),
        cmocka_unit_test(load_file),
        cmocka_unit_test(bad_files),
        cmocka_unit_test(bad_file_reports_every_problem),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

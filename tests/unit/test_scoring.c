/* Unit tests of reserve scoring: the loader's diagnostics and the exact arithmetic. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stpm/reserve.h"

static stpm_scoring *load(const char *text)
{
    stpm_scoring *s = NULL;
    stpm_error err = STPM_ERROR_INIT;
    int rc = stpm_scoring_load_text(&s, "t.yaml", text, strlen(text), &err);
    if (rc < 0)
        for (size_t i = 0; i < err.n_diags; i++)
            fprintf(stderr, "# %d:%d: %s\n", err.diags[i].line, err.diags[i].col,
                    err.diags[i].message);
    assert_int_equal(rc, 0);
    stpm_error_clear(&err);
    return s;
}

static stpm_decimal dec(const char *s)
{
    stpm_decimal d;
    assert_int_equal(stpm_decimal_parse(s, &d), 0);
    return d;
}

static void shipped_weights_load(void **state)
{
    (void)state;
    stpm_scoring *s = NULL;
    stpm_error err = STPM_ERROR_INIT;
    assert_int_equal(stpm_scoring_load_default(&s, &err), 0);
    assert_string_equal(stpm_scoring_name(s), "reserve");
    assert_int_equal(stpm_scoring_n_criteria(s), 7);
    stpm_decimal sum = 0;
    for (size_t i = 0; i < stpm_scoring_n_criteria(s); i++)
        sum += stpm_scoring_criterion_weight(s, i);
    assert_int_equal(sum, dec("100"));
    stpm_scoring_free(s);
    stpm_scoring_free(NULL);
}

/* The hand computation of tests/cli/reserve.sh, candidate B: a ratio that does not
 * divide evenly (100/3000/0.06 = 0.5555... → 0.5556, × 25 = 13.89). */
static void shipped_weights_score(void **state)
{
    (void)state;
    stpm_scoring *s = NULL;
    stpm_error err = STPM_ERROR_INIT;
    assert_int_equal(stpm_scoring_load_default(&s, &err), 0);
    stpm_reserve_values v = {0};
    v.high_tech_set = true;
    v.high_tech = false;
    v.rd_spend_set = v.revenue_set = v.planned_investment_set = v.requested_funding_set = true;
    v.rd_spend = dec("100");
    v.revenue = dec("3000");
    v.maturity_set = true;
    v.maturity = 9;
    v.planned_investment = dec("1200");
    v.requested_funding = dec("400");
    v.target_plan = "南通市科技计划";
    stpm_score_part parts[7];
    stpm_decimal total;
    stpm_scoring_score(s, &v, &total, parts);
    assert_int_equal(parts[1].fraction, dec("0.5556"));
    assert_int_equal(parts[1].points, dec("13.89"));
    assert_true(parts[2].missing); /* no partner */
    assert_int_equal(parts[2].points, 0);
    assert_int_equal(parts[5].fraction, dec("0.6"));
    assert_int_equal(total, dec("57.39"));
    stpm_scoring_free(s);
}

static const char rules_yaml[] = "scoring: t\n"
                                 "version: 1\n"
                                 "title: t\n"
                                 "criteria:\n"
                                 "  lin:\n"
                                 "    label: l\n"
                                 "    weight: 33.3333\n"
                                 "    input: planned_investment\n"
                                 "    rule: {linear: {from: 100, to: 400}}\n"
                                 "  ratio:\n"
                                 "    label: r\n"
                                 "    weight: 33.3333\n"
                                 "    input: rd_spend\n"
                                 "    rule: {ratio_to: revenue, full_at: 0.07}\n"
                                 "  map:\n"
                                 "    label: m\n"
                                 "    weight: 33.3334\n"
                                 "    input: town\n"
                                 "    rule: {map: {白蒲镇: 0.25, 九华镇: 1}}\n";

static void rules_round_half_away_from_zero(void **state)
{
    (void)state;
    stpm_scoring *s = load(rules_yaml);
    stpm_reserve_values v = {0};
    v.planned_investment_set = v.rd_spend_set = v.revenue_set = true;
    v.planned_investment = dec("200"); /* (200-100)/300 = 0.33333 → 0.3333 */
    v.rd_spend = dec("1");
    v.revenue = dec("100"); /* 0.01 / 0.07 = 0.142857 → 0.1429 */
    v.town = "白蒲镇";
    stpm_score_part p[3];
    stpm_decimal total;
    stpm_scoring_score(s, &v, &total, p);
    assert_int_equal(p[0].fraction, dec("0.3333"));
    /* 33.3333 × 0.3333 = 11.10998889 → 11.1100 */
    assert_int_equal(p[0].points, dec("11.11"));
    assert_int_equal(p[1].fraction, dec("0.1429"));
    /* 33.3333 × 0.1429 = 4.76332857 → 4.7633 */
    assert_int_equal(p[1].points, dec("4.7633"));
    assert_int_equal(p[2].points, dec("8.3334")); /* 33.3334 × 0.25 */
    /* 33.3334 × 0.25 = 8.33335 → 8.3334 (half away from zero) */
    assert_int_equal(total, dec("24.2067"));

    /* clamping, a zero denominator, a value the map does not know, missing inputs */
    v.planned_investment = dec("50");
    v.revenue = 0;
    v.town = "如城街道";
    stpm_scoring_score(s, &v, &total, p);
    assert_int_equal(p[0].fraction, 0);
    assert_false(p[1].missing);
    assert_int_equal(p[1].fraction, 0);
    assert_int_equal(p[2].fraction, 0);
    assert_int_equal(total, 0);
    v.planned_investment = dec("999999999");
    v.revenue_set = false;
    v.town = NULL;
    stpm_scoring_score(s, &v, &total, p);
    assert_int_equal(p[0].fraction, dec("1"));
    assert_true(p[1].missing);
    assert_true(p[2].missing);
    assert_int_equal(total, dec("33.3333"));
    stpm_scoring_free(s);
}

static void bad_files_are_located(void **state)
{
    (void)state;
    static const char bad[] = "scoring: Bad\n"
                              "version: 0\n"
                              "title: t\n"
                              "extra: 1\n"
                              "criteria:\n"
                              "  a:\n"
                              "    label: a\n"
                              "    weight: 50\n"
                              "    input: high_tech\n"
                              "    rule: {linear: {from: 1, to: 9}}\n"
                              "  b:\n"
                              "    label: b\n"
                              "    weight: 40\n"
                              "    input: revenue\n"
                              "    rule: {ratio_to: partner, full_at: 0}\n";
    stpm_scoring *s = NULL;
    stpm_error err = STPM_ERROR_INIT;
    assert_int_equal(stpm_scoring_load_text(&s, "bad.yaml", bad, strlen(bad), &err), STPM_EINPUT);
    assert_null(s);
    const char *want[] = {"scoring name",
                          "version must be",
                          "unknown key \"extra\"",
                          "rule \"linear\" needs a numeric column",
                          "must be a numeric column",
                          "\"full_at\" must be greater than 0"};
    for (size_t w = 0; w < sizeof(want) / sizeof(want[0]); w++) {
        bool found = false;
        for (size_t i = 0; i < err.n_diags; i++)
            found = found || strstr(err.diags[i].message, want[w]) != NULL;
        if (!found)
            fail_msg("no diagnostic \"%s\"", want[w]);
    }
    for (size_t i = 0; i < err.n_diags; i++) {
        assert_string_equal(err.diags[i].file, "bad.yaml");
        if (strstr(err.diags[i].message, "scoring name")) {
            assert_int_equal(err.diags[i].line, 1); /* the value "Bad" */
            assert_int_equal(err.diags[i].col, 10);
        }
        if (strstr(err.diags[i].message, "full_at\" must be greater")) {
            assert_int_equal(err.diags[i].line, 15);
        }
    }
    stpm_error_clear(&err);

    static const char sum[] =
        "scoring: s\nversion: 1\ntitle: t\ncriteria:\n"
        "  a: {label: a, weight: 99.9999, input: partner, rule: {present: true}}\n";
    assert_int_equal(stpm_scoring_load_text(&s, "sum.yaml", sum, strlen(sum), &err), STPM_EINPUT);
    assert_int_equal(err.n_diags, 1);
    assert_non_null(strstr(err.diags[0].message, "add up to 99.9999, not 100"));
    stpm_error_clear(&err);

    assert_int_equal(stpm_scoring_load_text(&s, "y.yaml", "a: [", 4, &err), STPM_EINPUT);
    assert_int_equal(err.n_diags, 1);
    stpm_error_clear(&err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(shipped_weights_load),
        cmocka_unit_test(shipped_weights_score),
        cmocka_unit_test(rules_round_half_away_from_zero),
        cmocka_unit_test(bad_files_are_located),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

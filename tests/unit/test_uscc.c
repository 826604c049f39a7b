/* Unit tests of the Unified Social Credit Code (core/util/uscc.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "stpm/uscc.h"

static void why_of(const char *code, const char *expect)
{
    char why[200], norm[STPM_USCC_LEN + 1];
    assert_int_equal(stpm_uscc_validate(code, norm, why, sizeof(why)), -1);
    if (!strstr(why, expect))
        fail_msg("\"%s\": reason \"%s\" does not contain \"%s\"", code, why, expect);
}

static void known_codes(void **state)
{
    (void)state;
    char norm[STPM_USCC_LEN + 1], why[200];
    /* the sample code of GB 32100-2015 commentaries */
    assert_int_equal(stpm_uscc_validate("91350100M000100Y43", norm, why, sizeof(why)), 0);
    assert_string_equal(norm, "91350100M000100Y43");
    assert_true(stpm_uscc_valid("91350100M000100Y43"));
    assert_int_equal(stpm_uscc_check_char("91350100M000100Y4"), '3');
    assert_int_equal(stpm_uscc_orgcode_check_char("M000100Y"), '4');
    assert_int_equal(stpm_uscc_check_char("91350100M000100I4"), '\0');
}

static void normalisation(void **state)
{
    (void)state;
    char norm[STPM_USCC_LEN + 1];
    /* full-width, lower case, surrounding (ideographic) spaces */
    assert_int_equal(
        stpm_uscc_validate("\xe3\x80\x80 ９１３５０１００ｍ０００１００ｙ４３ \t", norm, NULL, 0),
        0);
    assert_string_equal(norm, "91350100M000100Y43");
    assert_int_equal(stpm_uscc_normalize("91350100m000100y43", norm), 0);
    assert_string_equal(norm, "91350100M000100Y43");
    assert_int_equal(stpm_uscc_normalize("9135", norm), -1);
    assert_string_equal(norm, "");
}

static void invalid_codes(void **state)
{
    (void)state;
    why_of("91350100M000100Y44", "check character (18) is '4', expected '3'");
    why_of("", "is empty");
    why_of("   ", "is empty");
    why_of("91350100M000100Y4", "has 17 characters, expected 18");
    why_of("91350100M000100Y433", "has 19 characters");
    why_of("统一社会信用代码统一社会信用代码统一", "character 1");
    why_of("91350100M000100I43", "character 16 'I' is not allowed");
    why_of("01350100M000100Y43", "registration authority '0'");
    why_of("94350100M000100Y43", "kind '4' (character 2) does not exist under authority '9'");
    why_of("913501A0M000100Y43", "division code");
    why_of("91350100M000100YX3", "organisation code check character (17) is 'X', expected '4'");
    assert_false(stpm_uscc_valid("91350100M000100Y44"));
}

static void complete_and_single_errors(void **state)
{
    (void)state;
    static const char alphabet[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";
    char code[STPM_USCC_LEN + 1];
    assert_int_equal(stpm_uscc_complete("91320682MA1MXYZ", code), -1);  /* 15 chars */
    assert_int_equal(stpm_uscc_complete("91320682MA1MXYZO", code), -1); /* O not allowed */
    uint32_t x = 12345;
    for (int n = 0; n < 500; n++) {
        char s16[17] = "91320682";
        for (int i = 8; i < 16; i++) {
            x = x * 1103515245u + 12345u;
            s16[i] = alphabet[(x >> 16) % 31];
        }
        if (stpm_uscc_complete(s16, code) < 0)
            fail_msg("complete(%s) failed", s16);
        if (!stpm_uscc_valid(code))
            fail_msg("completed code %s is not valid", code);
        /* every change of one character is caught */
        for (int pos = 0; pos < STPM_USCC_LEN; pos++) {
            char bad[STPM_USCC_LEN + 1];
            memcpy(bad, code, sizeof(bad));
            bad[pos] = alphabet[(strchr(alphabet, code[pos]) - alphabet + 1 + n % 30) % 31];
            if (stpm_uscc_valid(bad))
                fail_msg("%s (changed at %d from %s) is valid", bad, pos + 1, code);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(known_codes),
        cmocka_unit_test(normalisation),
        cmocka_unit_test(invalid_codes),
        cmocka_unit_test(complete_and_single_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

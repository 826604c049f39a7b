/* The Unified Social Credit Code (GB 32100-2015): see stpm/uscc.h. */
#include "stpm/uscc.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util/strutil.h"
#include "util/text.h"
#include "stpm/i18n.h"

static const char alphabet[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";

/* The value 0..30 of an alphabet character, or -1. */
static int uscc_value(char c)
{
    const char *p = c ? strchr(alphabet, c) : NULL;
    return p ? (int)(p - alphabet) : -1;
}

int stpm_uscc_normalize(const char *s, char out[static STPM_USCC_LEN + 1])
{
    stpm_strbuf sb = STPM_STRBUF_INIT;
    int rc = -1;
    out[0] = '\0';
    stpm_text_normalize(&sb, s, strlen(s), STPM_TEXT_TRIM | STPM_TEXT_HALFWIDTH | STPM_TEXT_UPPER);
    if (sb.oom || sb.len != STPM_USCC_LEN)
        goto cleanup;
    for (size_t i = 0; i < sb.len; i++)
        if ((unsigned char)sb.buf[i] >= 0x80)
            goto cleanup;
    memcpy(out, sb.buf, STPM_USCC_LEN + 1);
    rc = 0;
cleanup:
    stpm_strbuf_free(&sb);
    return rc;
}

char stpm_uscc_check_char(const char *first17)
{
    int sum = 0, w = 1;
    for (int i = 0; i < 17; i++) {
        int v = uscc_value(first17[i]);
        if (v < 0)
            return '\0';
        sum += v * w;
        w = (w * 3) % 31;
    }
    return alphabet[(31 - sum % 31) % 31];
}

char stpm_uscc_orgcode_check_char(const char *body8)
{
    static const int weights[8] = {3, 7, 9, 10, 5, 8, 4, 2};
    int sum = 0;
    for (int i = 0; i < 8; i++) {
        char c = body8[i];
        int v;
        if (c >= '0' && c <= '9')
            v = c - '0';
        else if (c >= 'A' && c <= 'Z')
            v = c - 'A' + 10;
        else
            return '\0';
        sum += v * weights[i];
    }
    int r = 11 - sum % 11;
    return r == 10 ? 'X' : r == 11 ? '0' : (char)('0' + r);
}

static void why_set(char *why, size_t whylen, const char *fmt, ...) STPM_PRINTF(3, 4);

static void why_set(char *why, size_t whylen, const char *fmt, ...)
{
    if (!why || whylen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, whylen, _(fmt), ap);
    va_end(ap);
}

/* Kinds of organisation each registration authority assigns ("" = any of 1-9). */
static const char *kinds_of(char authority)
{
    switch (authority) {
    case '9':
        return "123"; /* 企业, 个体工商户, 农民专业合作社 */
    case '5':
        return "1239"; /* 社会团体, 民办非企业单位, 基金会, 其他 */
    case '1':
        return "1239"; /* 机关, 事业单位, 群众团体, 其他 */
    case 'Y':
        return "1";
    default:
        return "123456789";
    }
}

int stpm_uscc_validate(const char *s, char *normalized, char *why, size_t whylen)
{
    char code[STPM_USCC_LEN + 1];
    if (normalized)
        normalized[0] = '\0';
    if (why && whylen)
        why[0] = '\0';
    if (stpm_uscc_normalize(s, code) < 0) {
        stpm_strbuf sb = STPM_STRBUF_INIT;
        stpm_text_normalize(&sb, s, strlen(s),
                            STPM_TEXT_TRIM | STPM_TEXT_HALFWIDTH | STPM_TEXT_UPPER);
        size_t nchars = 0, bad_at = 0, bad_len = 0;
        for (size_t i = 0; i < sb.len; i++) {
            unsigned char c = (unsigned char)sb.buf[i];
            if ((c & 0xC0) == 0x80)
                continue;
            nchars++;
            if (c >= 0x80 && !bad_len) {
                bad_at = nchars;
                bad_len = 1;
                while (i + bad_len < sb.len && ((unsigned char)sb.buf[i + bad_len] & 0xC0) == 0x80)
                    bad_len++;
                if (why && whylen)
                    snprintf(why, whylen,
                             _("character %zu '%.*s' is not allowed (0-9 and A-Y "
                               "without I, O, S, V, Z)"),
                             bad_at, (int)bad_len, sb.buf + i);
            }
        }
        stpm_strbuf_free(&sb);
        if (nchars == 0)
            why_set(why, whylen, "is empty");
        else if (nchars != STPM_USCC_LEN)
            why_set(why, whylen, "has %zu characters, expected 18", nchars);
        return -1;
    }
    if (normalized)
        memcpy(normalized, code, sizeof(code));
    for (int i = 0; i < STPM_USCC_LEN; i++) {
        if (uscc_value(code[i]) < 0) {
            why_set(why, whylen,
                    "character %d '%c' is not allowed (0-9 and A-Y without I, O, S, "
                    "V, Z)",
                    i + 1, code[i]);
            return -1;
        }
    }
    if (!strchr("123456789ANY", code[0])) {
        why_set(why, whylen, "registration authority '%c' (character 1) does not exist", code[0]);
        return -1;
    }
    if (!strchr(kinds_of(code[0]), code[1])) {
        why_set(why, whylen, "kind '%c' (character 2) does not exist under authority '%c'", code[1],
                code[0]);
        return -1;
    }
    for (int i = 2; i < 8; i++) {
        if (code[i] < '0' || code[i] > '9') {
            why_set(why, whylen, "division code (characters 3-8) \"%.6s\" is not six digits",
                    code + 2);
            return -1;
        }
    }
    char oc = stpm_uscc_orgcode_check_char(code + 8);
    if (oc != code[16]) {
        why_set(why, whylen, "organisation code check character (17) is '%c', expected '%c'",
                code[16], oc);
        return -1;
    }
    char cc = stpm_uscc_check_char(code);
    if (cc != code[17]) {
        why_set(why, whylen, "check character (18) is '%c', expected '%c'", code[17], cc);
        return -1;
    }
    return 0;
}

bool stpm_uscc_valid(const char *s)
{
    return stpm_uscc_validate(s, NULL, NULL, 0) == 0;
}

int stpm_uscc_complete(const char *s16, char out[static STPM_USCC_LEN + 1])
{
    if (strlen(s16) != 16)
        return -1;
    for (int i = 0; i < 16; i++)
        if (uscc_value(s16[i]) < 0)
            return -1;
    memcpy(out, s16, 16);
    out[16] = stpm_uscc_orgcode_check_char(s16 + 8);
    if (uscc_value(out[16]) < 0)
        return -1;
    out[17] = stpm_uscc_check_char(out);
    out[18] = '\0';
    return 0;
}

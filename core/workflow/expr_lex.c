/* The expression lexer: hand-written, byte columns, one token at a time. */
#include "workflow/expr_internal.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/strutil.h"

#define SYNTAX N_("syntax error in expression")

int expr_fail(stpm_error *err, const char *what, int col, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = stpm_vasprintf(_(fmt), ap);
    va_end(ap);
    stpm_error_set(err, STPM_EINPUT, "%s", _(what));
    stpm_error_add_diag(err, NULL, 0, col, NULL, "%s", msg ? msg : _("out of memory"));
    free(msg);
    return STPM_EINPUT;
}

/* Length of the UTF-8 sequence at s (at most n bytes), 0 when invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    unsigned min;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        min = 0x10000;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    unsigned cp = c & (0x7Fu >> len);
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3Fu);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

bool expr_utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        size_t k = utf8_seq(p + i, n - i);
        if (k == 0)
            return false;
        i += k;
    }
    return true;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_name_start(char c)
{
    return (c >= 'a' && c <= 'z') || c == '_';
}

static bool is_name_char(char c)
{
    return is_name_start(c) || is_digit(c);
}

static int col_of(size_t pos)
{
    return pos >= INT32_MAX ? INT32_MAX : (int)pos + 1;
}

static const struct {
    const char *word;
    expr_tok_kind kind;
} keywords[] = {
    {"true", TOK_TRUE}, {"false", TOK_FALSE}, {"null", TOK_NULL}, {"today", TOK_TODAY},
    {"and", TOK_AND},   {"or", TOK_OR},       {"not", TOK_NOT},   {"in", TOK_IN},
    {"is", TOK_IS},     {"set", TOK_SET},
};

static int lex_string(expr_lexer *lx, expr_token *tok, stpm_error *err)
{
    const char *s = lx->src;
    size_t p = lx->pos + 1;
    stpm_strbuf sb = STPM_STRBUF_INIT;
    int rc = 0;
    for (;;) {
        if (p >= lx->len) {
            rc = expr_fail(err, SYNTAX, tok->col, "unterminated string");
            goto cleanup;
        }
        char c = s[p];
        if (c == '"')
            break;
        if (c == '\\') {
            char e = p + 1 < lx->len ? s[p + 1] : '\0';
            if (e != '"' && e != '\\') {
                rc = expr_fail(err, SYNTAX, col_of(p),
                               "unknown escape in string (only \\\" and \\\\ are allowed)");
                goto cleanup;
            }
            stpm_strbuf_putc(&sb, e);
            p += 2;
            continue;
        }
        stpm_strbuf_putc(&sb, c);
        p++;
    }
    if (!expr_utf8_valid(stpm_strbuf_str(&sb), sb.len)) {
        rc = expr_fail(err, SYNTAX, tok->col, "string is not valid UTF-8");
        goto cleanup;
    }
    if (sb.oom) {
        rc = stpm_error_set(err, STPM_ERROR, "out of memory");
        goto cleanup;
    }
    tok->kind = TOK_STRING;
    tok->val.type = STPM_TYPE_STRING;
    tok->val.s = stpm_strbuf_detach(&sb);
    if (!tok->val.s) {
        tok->val.type = STPM_TYPE_NULL;
        rc = stpm_error_set(err, STPM_ERROR, "out of memory");
        goto cleanup;
    }
    lx->pos = p + 1;
cleanup:
    stpm_strbuf_free(&sb);
    return rc;
}

static bool date_shaped(const char *s, size_t avail)
{
    static const char shape[] = "dddd-dd-dd";
    if (avail < 10)
        return false;
    for (int i = 0; i < 10; i++) {
        if (shape[i] == 'd' ? !is_digit(s[i]) : s[i] != '-')
            return false;
    }
    return true;
}

static int lex_number(expr_lexer *lx, expr_token *tok, stpm_error *err)
{
    const char *s = lx->src + lx->pos;
    size_t avail = lx->len - lx->pos;
    if (date_shaped(s, avail)) {
        stpm_date d;
        if (stpm_date_scan(s, &d) != 10 || (avail > 10 && is_name_char(s[10])))
            return expr_fail(err, SYNTAX, tok->col, "invalid date '%.10s'", s);
        tok->kind = TOK_DATE;
        tok->val.type = STPM_TYPE_DATE;
        tok->val.u.date = d;
        lx->pos += 10;
        return 0;
    }
    size_t n = 0;
    int64_t ip = 0;
    bool overflow = false;
    while (n < avail && is_digit(s[n])) {
        int dgt = s[n] - '0';
        if (ip > (INT64_MAX - dgt) / 10)
            overflow = true;
        else
            ip = ip * 10 + dgt;
        n++;
    }
    bool decimal = false;
    size_t places = 0;
    if (n + 1 < avail && s[n] == '.' && is_digit(s[n + 1])) {
        decimal = true;
        n++;
        while (n < avail && is_digit(s[n])) {
            places++;
            n++;
        }
    }
    size_t unit_start = n;
    while (n < avail && is_name_char(s[n]))
        n++;
    size_t unit_len = n - unit_start;
    if (unit_len > 0) {
        const char *u = s + unit_start;
        stpm_duration_unit unit;
        if (unit_len == 1 && u[0] == 'd')
            unit = STPM_DUR_DAYS;
        else if (unit_len == 2 && memcmp(u, "wd", 2) == 0)
            unit = STPM_DUR_WORKDAYS;
        else if (unit_len == 2 && memcmp(u, "mo", 2) == 0)
            unit = STPM_DUR_MONTHS;
        else if (unit_len == 1 && u[0] == 'y')
            unit = STPM_DUR_YEARS;
        else
            return expr_fail(err, SYNTAX, col_of(lx->pos + unit_start),
                             "unknown duration unit '%.*s' (use d, wd, mo or y)",
                             unit_len > 20 ? 20 : (int)unit_len, u);
        if (decimal)
            return expr_fail(err, SYNTAX, tok->col, "a duration must be a whole number");
        if (overflow || ip > EXPR_MAX_DURATION)
            return expr_fail(err, SYNTAX, tok->col, "duration out of range (at most %d)",
                             EXPR_MAX_DURATION);
        tok->kind = TOK_DURATION;
        tok->val.type = STPM_TYPE_DURATION;
        tok->val.u.dur.unit = unit;
        tok->val.u.dur.n = (int32_t)ip;
        lx->pos += n;
        return 0;
    }
    if (decimal) {
        if (places > STPM_DECIMAL_PLACES)
            return expr_fail(err, SYNTAX, tok->col, "an amount has at most %d decimal places",
                             STPM_DECIMAL_PLACES);
        stpm_decimal v;
        if (overflow || stpm_decimal_scan(s, &v) != n)
            return expr_fail(err, SYNTAX, tok->col, "number out of range");
        tok->kind = TOK_DECIMAL;
        tok->val.type = STPM_TYPE_DECIMAL;
        tok->val.u.d = v;
    } else {
        if (overflow)
            return expr_fail(err, SYNTAX, tok->col, "number out of range");
        tok->kind = TOK_INT;
        tok->val.type = STPM_TYPE_INT;
        tok->val.u.i = ip;
    }
    lx->pos += n;
    return 0;
}

static int lex_unexpected(expr_lexer *lx, expr_token *tok, stpm_error *err)
{
    const unsigned char *p = (const unsigned char *)lx->src + lx->pos;
    size_t k = utf8_seq(p, lx->len - lx->pos);
    if (k > 1 || (k == 1 && p[0] > 0x20 && p[0] < 0x7F)) {
        const char *hint = "";
        if (p[0] == '!')
            hint = _(" (use 'not' or '!=')");
        else if (p[0] == '&' || p[0] == '|')
            hint = _(" (use 'and' or 'or')");
        else if (p[0] >= 'A' && p[0] <= 'Z')
            hint = _(" (names are lower case)");
        return expr_fail(err, SYNTAX, tok->col, "unexpected character '%.*s'%s", (int)k,
                         (const char *)p, hint);
    }
    return expr_fail(err, SYNTAX, tok->col, "unexpected byte 0x%02x", p[0]);
}

int expr_lex_next(expr_lexer *lx, expr_token *tok, stpm_error *err)
{
    const char *s = lx->src;
    memset(tok, 0, sizeof(*tok));
    while (lx->pos < lx->len &&
           (s[lx->pos] == ' ' || s[lx->pos] == '\t' || s[lx->pos] == '\n' || s[lx->pos] == '\r'))
        lx->pos++;
    size_t start = lx->pos;
    tok->pos = start;
    tok->col = col_of(start);
    if (start >= lx->len) {
        tok->kind = TOK_END;
        return 0;
    }
    char c = s[start];
    char next = start + 1 < lx->len ? s[start + 1] : '\0';
    int rc = 0;
    size_t width = 1;
    if (is_digit(c)) {
        rc = lex_number(lx, tok, err);
        tok->len = lx->pos - start;
        return rc;
    }
    if (is_name_start(c)) {
        size_t n = 0;
        while (start + n < lx->len && is_name_char(s[start + n]))
            n++;
        tok->kind = TOK_NAME;
        for (size_t i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++) {
            if (strlen(keywords[i].word) == n && memcmp(keywords[i].word, s + start, n) == 0)
                tok->kind = keywords[i].kind;
        }
        if (tok->kind == TOK_TRUE || tok->kind == TOK_FALSE) {
            tok->val.type = STPM_TYPE_BOOL;
            tok->val.u.b = tok->kind == TOK_TRUE;
        }
        lx->pos += n;
        tok->len = n;
        return 0;
    }
    if (c == '"') {
        rc = lex_string(lx, tok, err);
        tok->len = lx->pos - start;
        return rc;
    }
    switch (c) {
    case '+':
        tok->kind = TOK_PLUS;
        break;
    case '-':
        tok->kind = TOK_MINUS;
        break;
    case '(':
        tok->kind = TOK_LPAREN;
        break;
    case ')':
        tok->kind = TOK_RPAREN;
        break;
    case '[':
        tok->kind = TOK_LBRACKET;
        break;
    case ']':
        tok->kind = TOK_RBRACKET;
        break;
    case ',':
        tok->kind = TOK_COMMA;
        break;
    case '=':
        if (next == '=')
            return expr_fail(err, SYNTAX, tok->col, "use '=' to compare for equality");
        tok->kind = TOK_EQ;
        break;
    case '!':
        if (next != '=')
            return lex_unexpected(lx, tok, err);
        tok->kind = TOK_NE;
        width = 2;
        break;
    case '<':
        tok->kind = next == '=' ? TOK_LE : TOK_LT;
        width = next == '=' ? 2 : 1;
        break;
    case '>':
        tok->kind = next == '=' ? TOK_GE : TOK_GT;
        width = next == '=' ? 2 : 1;
        break;
    default:
        return lex_unexpected(lx, tok, err);
    }
    lx->pos += width;
    tok->len = width;
    return 0;
}

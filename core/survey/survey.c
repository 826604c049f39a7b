/* Reading and validating the October survey: see stpm/survey.h. */
#include "stpm/survey.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <sys/stat.h>

#include "stpm/uscc.h"
#include "survey/survey_internal.h"
#include "util/readfile.h"
#include "util/text.h"

/* ---- columns ---------------------------------------------------------------------- */

typedef enum { K_TEXT, K_USCC, K_AMOUNT, K_BOOL, K_MATURITY } col_kind;

static const struct {
    const char *zh;
    const char *en;
    const char *aliases; /* other accepted names, '|'-separated, already normalised */
    col_kind kind;
    bool required;
    size_t max_chars; /* for text */
} columns[SV_NCOLS] = {
    [SV_ORG_NAME] = {"企业名称", "org_name", "单位名称|承担单位|企业", K_TEXT, true, 200},
    [SV_USCC] = {"统一社会信用代码", "uscc", "信用代码|社会信用代码", K_USCC, true, 0},
    [SV_TOWN] = {"所属板块", "town", "板块|所属镇区|镇区", K_TEXT, true, 50},
    [SV_TITLE] = {"项目名称", "title", "", K_TEXT, true, 200},
    [SV_FIELD] = {"技术领域", "field", "领域", K_TEXT, false, 50},
    [SV_TARGET_PLAN] = {"拟申报计划", "target_plan", "拟申报科技计划|申报计划", K_TEXT, false, 200},
    [SV_LEADER] = {"项目负责人", "leader", "负责人", K_TEXT, true, 50},
    [SV_PLANNED_INVESTMENT] = {"预计总投入（万元）", "planned_investment", "预计总投入|总投入",
                               K_AMOUNT, false, 0},
    [SV_REQUESTED_FUNDING] = {"申请资助（万元）", "requested_funding", "申请资助|申请资金",
                              K_AMOUNT, false, 0},
    [SV_RD_SPEND] = {"研发投入（万元）", "rd_spend", "研发投入", K_AMOUNT, false, 0},
    [SV_REVENUE] = {"营业收入（万元）", "revenue", "营业收入", K_AMOUNT, false, 0},
    [SV_HIGH_TECH] = {"是否高新技术企业", "high_tech", "高新技术企业", K_BOOL, false, 0},
    [SV_PARTNER] = {"产学研合作单位", "partner", "合作单位", K_TEXT, false, 500},
    [SV_MATURITY] = {"技术成熟度", "maturity", "", K_MATURITY, false, 0},
    [SV_NOTES] = {"备注", "notes", "", K_TEXT, false, 2000},
};

const char *survey_column_zh(survey_col c)
{
    return columns[c].zh;
}

const char *survey_column_en(survey_col c)
{
    return columns[c].en;
}

/* A header as compared: half-width, lower case, without white space, '_' and '-', and
 * without a trailing "(万元)" unit. */
static void header_key(stpm_strbuf *out, const char *s, size_t len)
{
    stpm_strbuf tmp = STPM_STRBUF_INIT;
    stpm_text_normalize(&tmp, s, len, STPM_TEXT_NOSPACE | STPM_TEXT_HALFWIDTH | STPM_TEXT_LOWER);
    for (size_t i = 0; i < tmp.len; i++)
        if (tmp.buf[i] != '_' && tmp.buf[i] != '-')
            stpm_strbuf_putc(out, tmp.buf[i]);
    static const char unit[] = "(万元)";
    size_t ul = sizeof(unit) - 1;
    if (out->len > ul && memcmp(out->buf + out->len - ul, unit, ul) == 0) {
        out->len -= ul;
        out->buf[out->len] = '\0';
    }
    stpm_strbuf_free(&tmp);
}

static bool key_equals(const stpm_strbuf *key, const char *name)
{
    stpm_strbuf k = STPM_STRBUF_INIT;
    header_key(&k, name, strlen(name));
    bool eq = k.len == key->len && memcmp(stpm_strbuf_str(&k), stpm_strbuf_str(key), k.len) == 0;
    stpm_strbuf_free(&k);
    return eq;
}

int survey_column_lookup(const char *name, size_t len, bool *zh)
{
    stpm_strbuf key = STPM_STRBUF_INIT;
    int found = -1;
    *zh = false;
    header_key(&key, name, len);
    if (key.len == 0)
        goto cleanup;
    for (int c = 0; c < SV_NCOLS && found < 0; c++) {
        if (key_equals(&key, columns[c].zh)) {
            found = c;
            *zh = true;
        } else if (key_equals(&key, columns[c].en)) {
            found = c;
        } else {
            const char *a = columns[c].aliases;
            while (*a && found < 0) {
                const char *bar = strchr(a, '|');
                size_t n = bar ? (size_t)(bar - a) : strlen(a);
                if (n == key.len && memcmp(a, key.buf, n) == 0) {
                    found = c;
                    *zh = true;
                }
                a += n + (bar ? 1 : 0);
            }
        }
    }
cleanup:
    stpm_strbuf_free(&key);
    return found;
}

/* ---- diagnostics ------------------------------------------------------------------ */

/* The 0-based column of spreadsheet letters ("H"), or -1 when s is not only letters. */
static int letters_index(const char *s)
{
    long c = 0;
    if (!*s)
        return -1;
    for (const char *p = s; *p; p++) {
        if (*p < 'A' || *p > 'Z' || c > STPM_BOOK_MAX_COLS)
            return -1;
        c = c * 26 + (*p - 'A' + 1);
    }
    return c <= STPM_BOOK_MAX_COLS ? (int)c - 1 : -1;
}

/* A diagnostic located FILE:ROW:COLUMN, or in a workbook FILE:SHEET!CELL, where the cell is
 * that of the column named (the header as in the file, or letters), else the whole row. */
static void add_diag(stpm_survey_reader *r, stpm_error *list, int row, const char *column,
                     const char *msg)
{
    if (!msg)
        msg = _("out of memory");
    if (!r->book) {
        stpm_error_add_diag(list, r->file, row, 0, column, "%s", msg);
        return;
    }
    const char *sheet = stpm_book_sheet(r->book);
    int field = r->diag_field;
    bool letters = false;
    if (field < 0 && column) {
        for (int c = 0; c < SV_NCOLS && field < 0; c++)
            if (r->cname[c].len > 0 && strcmp(r->cname[c].buf, column) == 0)
                field = r->col_field[c];
        if (field < 0 && (field = letters_index(column)) >= 0)
            letters = true;
    }
    char *cell = NULL;
    if (row > 0 && field >= 0) {
        cell = stpm_book_cell_ref(sheet, field, row);
    } else {
        /* the whole row ("Sheet1!7:7"), or the sheet */
        char *ref = stpm_book_cell_ref(sheet, 0, row > 0 ? row : 1);
        char *bang = ref ? strrchr(ref, '!') : NULL;
        if (bang) {
            *bang = '\0';
            cell = row > 0 ? stpm_asprintf("%s!%d:%d", ref, row, row) : stpm_strdup(ref);
        }
        free(ref);
    }
    stpm_error_add_cell_diag(list, r->file, cell ? cell : sheet, row, letters ? NULL : column, "%s",
                             msg);
    free(cell);
}

void survey_error(stpm_survey_reader *r, int row, const char *column, const char *fmt, ...)
{
    r->n_errors++;
    r->row_errors++;
    if (r->errors.n_diags >= r->max_diags)
        return;
    va_list ap;
    va_start(ap, fmt);
    char *msg = stpm_vasprintf(_(fmt), ap);
    va_end(ap);
    add_diag(r, &r->errors, row, column, msg);
    free(msg);
}

void survey_warning(stpm_survey_reader *r, int row, const char *column, const char *fmt, ...)
{
    if (r->warnings.n_diags >= r->max_diags)
        return;
    va_list ap;
    va_start(ap, fmt);
    char *msg = stpm_vasprintf(_(fmt), ap);
    va_end(ap);
    add_diag(r, &r->warnings, row, column, msg);
    free(msg);
}

/* Spreadsheet column letters of a 0-based index: A..Z, AA.. */
static void column_letters(size_t i, char out[8])
{
    char tmp[8];
    int n = 0;
    i++;
    while (i > 0 && n < 7) {
        i--;
        tmp[n++] = (char)('A' + i % 26);
        i /= 26;
    }
    for (int k = 0; k < n; k++)
        out[k] = tmp[n - 1 - k];
    out[n] = '\0';
}

/* ---- values ----------------------------------------------------------------------- */

void survey_clear_cells(stpm_survey_reader *r)
{
    for (int c = 0; c < SV_NCOLS; c++) {
        r->present[c] = false;
        stpm_strbuf_reset(&r->raw[c]);
        r->cell_row[c] = 0;
    }
    r->row_errors = 0;
}

static size_t utf8_chars(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            n++;
    return n;
}

/* An amount in 万元: "1234.5", "1,234.5", "１２３４．５", optionally ending in 万元. */
static int parse_amount(const char *s, stpm_decimal *out, char *why, size_t whylen)
{
    /* the digits and the point, without separators; longer than any decimal can be means
     * too large (reported once the whole value is known to be well-formed) */
    char plain[48];
    size_t np = 0;
    bool too_long = false;
    size_t len = strlen(s);
    static const char unit[] = "万元";
    if (len > sizeof(unit) - 1 && strcmp(s + len - (sizeof(unit) - 1), unit) == 0)
        len -= sizeof(unit) - 1;
    while (len > 0 && s[len - 1] == ' ')
        len--;
    const char *p = s, *end = s + len;
#define PUT(ch)                                                                                    \
    do {                                                                                           \
        if (np + 1 < sizeof(plain))                                                                \
            plain[np++] = (ch);                                                                    \
        else                                                                                       \
            too_long = true;                                                                       \
    } while (0)
    if (p < end && (*p == '-' || *p == '+')) {
        if (*p == '-') {
            snprintf(why, whylen, _("negative amount \"%s\": amounts cannot be below zero"), s);
            return -1;
        }
        p++;
    }
    /* integer part, with optional thousands separators in groups of three */
    size_t group = 0;
    bool commas = false, digits = false;
    for (; p < end && *p != '.'; p++) {
        if (*p >= '0' && *p <= '9') {
            PUT(*p);
            group++;
            digits = true;
        } else if (*p == ',' && digits && (commas ? group == 3 : group <= 3)) {
            commas = true;
            group = 0;
        } else {
            goto bad;
        }
    }
    if (!digits || (commas && group != 3))
        goto bad;
    if (p < end) {
        PUT('.');
        p++;
        size_t places = 0;
        for (; p < end; p++, places++) {
            if (*p < '0' || *p > '9')
                goto bad;
            PUT(*p);
        }
        if (places == 0)
            goto bad;
        if (places > STPM_DECIMAL_PLACES) {
            snprintf(why, whylen, _("amount \"%s\" has more than %d decimal places"), s,
                     STPM_DECIMAL_PLACES);
            return -1;
        }
    }
#undef PUT
    plain[np] = '\0';
    if (too_long || stpm_decimal_parse(plain, out) < 0) {
        snprintf(why, whylen, _("amount \"%s\" is too large: at most %d digits before the point"),
                 s, STPM_DECIMAL_MAX_DIGITS);
        return -1;
    }
    return 0;
bad:
    snprintf(why, whylen, _("invalid amount \"%s\": expected a number of 万元 such as 1234.5"), s);
    return -1;
}

static int parse_bool(const char *s)
{
    static const char *const yes[] = {"是", "yes", "true", "1", "y", "有", NULL};
    static const char *const no[] = {"否", "no", "false", "0", "n", "无", NULL};
    for (int i = 0; yes[i]; i++)
        if (strcmp(s, yes[i]) == 0)
            return 1;
    for (int i = 0; no[i]; i++)
        if (strcmp(s, no[i]) == 0)
            return 0;
    return -1;
}

char *stpm_survey_title_key(const char *title)
{
    stpm_strbuf sb = STPM_STRBUF_INIT;
    stpm_text_normalize(&sb, title, strlen(title),
                        STPM_TEXT_TRIM | STPM_TEXT_COLLAPSE | STPM_TEXT_HALFWIDTH |
                            STPM_TEXT_LOWER);
    if (sb.oom) {
        stpm_strbuf_free(&sb);
        return NULL;
    }
    return stpm_strbuf_detach(&sb);
}

/* ---- duplicate keys --------------------------------------------------------------- */

static uint64_t key_hash(const char *uscc, const char *title_key)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (const char *p = uscc; *p; p++)
        h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
    h = (h ^ 0x1f) * 0x100000001b3ULL;
    for (const char *p = title_key; *p; p++)
        h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
    /* finish as splitmix64 does, so the low bits spread well */
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebULL;
    h ^= h >> 31;
    return h ? h : 1;
}

/* Insert the key; returns the row it was first seen on, 0 when new, -1 on OOM. The keys
 * are spread over SURVEY_KEY_SHARDS open-addressing tables that grow one at a time, so
 * that growing never holds two copies of the whole index (peak memory stays near 12 bytes
 * a slot). */
static long key_insert(stpm_survey_reader *r, uint64_t h, int row)
{
    survey_key_shard *t = &r->keys[h >> (64 - SURVEY_KEY_SHARD_BITS)];
    if ((t->count + 1) * 20 > t->cap * 17) {
        size_t cap = t->cap ? t->cap + t->cap / 2 : 64;
        uint64_t *nh = calloc(cap, sizeof(*nh));
        uint32_t *nr = malloc(cap * sizeof(*nr));
        if (!nh || !nr) {
            free(nh);
            free(nr);
            return -1;
        }
        for (size_t i = 0; i < t->cap; i++) {
            if (!t->hash[i])
                continue;
            size_t j = t->hash[i] % cap;
            while (nh[j])
                j = j + 1 == cap ? 0 : j + 1;
            nh[j] = t->hash[i];
            nr[j] = t->row[i];
        }
        free(t->hash);
        free(t->row);
        t->hash = nh;
        t->row = nr;
        t->cap = cap;
    }
    size_t j = h % t->cap;
    while (t->hash[j]) {
        if (t->hash[j] == h)
            return (long)t->row[j];
        j = j + 1 == t->cap ? 0 : j + 1;
    }
    t->hash[j] = h;
    t->row[j] = (uint32_t)row;
    t->count++;
    return 0;
}

/* ---- one row ---------------------------------------------------------------------- */

/* The column name to show for c in the current row. */
static const char *colname(stpm_survey_reader *r, survey_col c)
{
    if (r->cname[c].len > 0)
        return r->cname[c].buf;
    return r->header_zh ? columns[c].zh : columns[c].en;
}

static int cell_row(stpm_survey_reader *r, survey_col c)
{
    return r->cell_row[c] > 0 ? r->cell_row[c] : r->cur_row;
}

/* Check one normalised cell (text NULL when empty) and fill its part of the row. */
static void check_cell(stpm_survey_reader *r, survey_col c, const char *text)
{
    stpm_survey_row *row = &r->row;
    char why[256];
    if (!text) {
        if (columns[c].required &&
            (r->present[c] || r->format == STPM_SURVEY_FORMAT_YAML || r->header_ok))
            survey_error(r, cell_row(r, c), colname(r, c), "required value is empty");
        return;
    }
    switch (columns[c].kind) {
    case K_TEXT:
        if (columns[c].max_chars && utf8_chars(text, strlen(text)) > columns[c].max_chars)
            survey_error(r, cell_row(r, c), colname(r, c), "longer than %zu characters",
                         columns[c].max_chars);
        break;
    case K_USCC:
        if (stpm_uscc_validate(text, r->uscc, why, sizeof(why)) < 0)
            survey_error(r, cell_row(r, c), colname(r, c),
                         "invalid unified social credit code \"%s\": %s", text, why);
        else
            row->uscc = r->uscc;
        break;
    case K_AMOUNT: {
        stpm_survey_amount *a = c == SV_PLANNED_INVESTMENT  ? &row->planned_investment
                                : c == SV_REQUESTED_FUNDING ? &row->requested_funding
                                : c == SV_RD_SPEND          ? &row->rd_spend
                                                            : &row->revenue;
        if (parse_amount(text, &a->value, why, sizeof(why)) < 0)
            survey_error(r, cell_row(r, c), colname(r, c), "%s", why);
        else
            a->set = true;
        break;
    }
    case K_BOOL:
        row->high_tech = parse_bool(text);
        if (row->high_tech < 0)
            survey_error(r, cell_row(r, c), colname(r, c),
                         "invalid yes/no value \"%s\": expected 是 or 否 (yes or no)", text);
        break;
    case K_MATURITY:
        if (text[0] >= '1' && text[0] <= '9' && text[1] == '\0')
            row->maturity = text[0] - '0';
        else
            survey_error(r, cell_row(r, c), colname(r, c),
                         "technology maturity \"%s\" is not a whole number from 1 to 9", text);
        break;
    }
}

/* Normalise and check every cell, in the order of the file's columns (so that a row's
 * errors read left to right); fill r->row. 0 when the row has no error. */
static int validate_row(stpm_survey_reader *r)
{
    stpm_survey_row *row = &r->row;
    memset(row, 0, sizeof(*row));
    row->row = r->cur_row;
    row->line = r->cur_line;
    row->year = r->year;
    row->high_tech = -1;
    const char *text[SV_NCOLS] = {0};
    for (int c = 0; c < SV_NCOLS; c++) {
        stpm_strbuf *v = &r->val[c];
        stpm_strbuf_reset(v);
        unsigned flags = STPM_TEXT_TRIM | STPM_TEXT_COLLAPSE;
        if (columns[c].kind != K_TEXT)
            flags |= STPM_TEXT_HALFWIDTH;
        if (columns[c].kind == K_BOOL)
            flags |= STPM_TEXT_LOWER;
        if (r->present[c])
            stpm_text_normalize(v, r->raw[c].buf ? r->raw[c].buf : "", r->raw[c].len, flags);
        if (v->oom) {
            survey_error(r, r->cur_row, colname(r, c), "out of memory");
            return -1;
        }
        if (v->len > 0)
            text[c] = v->buf;
    }
    bool done[SV_NCOLS] = {0};
    for (size_t i = 0; i < r->n_order; i++) {
        done[r->order[i]] = true;
        check_cell(r, r->order[i], text[r->order[i]]);
    }
    for (int c = 0; c < SV_NCOLS; c++)
        if (!done[c])
            check_cell(r, (survey_col)c, text[c]);
    row->org_name = text[SV_ORG_NAME];
    row->town = text[SV_TOWN];
    row->title = text[SV_TITLE];
    row->field = text[SV_FIELD];
    row->target_plan = text[SV_TARGET_PLAN];
    row->leader = text[SV_LEADER];
    row->partner = text[SV_PARTNER];
    row->notes = text[SV_NOTES];
    if (row->title) {
        stpm_strbuf_reset(&r->title_key);
        stpm_text_normalize(&r->title_key, row->title, strlen(row->title),
                            STPM_TEXT_TRIM | STPM_TEXT_COLLAPSE | STPM_TEXT_HALFWIDTH |
                                STPM_TEXT_LOWER);
        row->title_key = stpm_strbuf_str(&r->title_key);
    }
    if (row->uscc && row->title_key) {
        long first = key_insert(r, key_hash(row->uscc, row->title_key), r->cur_row);
        if (first < 0)
            survey_error(r, r->cur_row, colname(r, SV_TITLE), "out of memory");
        else if (first > 0)
            survey_error(r, r->cur_row, colname(r, SV_TITLE),
                         "duplicate of row %ld: the same unified social credit code and project "
                         "title",
                         first);
    }
    return r->row_errors || !r->header_ok ? -1 : 0;
}

/* ---- CSV front end ---------------------------------------------------------------- */

static bool field_blank(const char *s, size_t len)
{
    /* the usual answer at the first byte: printable ASCII is not blank */
    for (size_t i = 0; i < len; i++) {
        unsigned char b = (unsigned char)s[i];
        if (b >= 0x80)
            break;
        if (b != ' ' && (b < 0x09 || b > 0x0D))
            return false;
    }
    stpm_strbuf t = STPM_STRBUF_INIT;
    stpm_text_normalize(&t, s, len, STPM_TEXT_NOSPACE);
    bool empty = t.len == 0 && !t.oom;
    stpm_strbuf_free(&t);
    return empty;
}

static bool record_blank(const stpm_csv_record *rec)
{
    for (size_t i = 0; i < rec->n_fields; i++)
        if (!field_blank(rec->fields[i], rec->lens[i]))
            return false;
    return true;
}

/* Read the header: map fields to columns, warn about the rest, check the required ones. */
static int csv_header(stpm_survey_reader *r, const stpm_csv_record *rec)
{
    int seen[SV_NCOLS];
    int zh = 0, en = 0;
    for (int c = 0; c < SV_NCOLS; c++)
        seen[c] = -1;
    r->field_col = malloc((rec->n_fields + 1) * sizeof(*r->field_col));
    r->warned_field = calloc(rec->n_fields + 1, sizeof(*r->warned_field));
    if (!r->field_col || !r->warned_field)
        return -1;
    r->n_header = rec->n_fields;
    for (size_t i = 0; i < rec->n_fields; i++) {
        bool is_zh;
        int c = survey_column_lookup(rec->fields[i], rec->lens[i], &is_zh);
        r->field_col[i] = -1;
        r->diag_field = (int)i;
        stpm_strbuf name = STPM_STRBUF_INIT;
        stpm_text_normalize(&name, rec->fields[i], rec->lens[i],
                            STPM_TEXT_TRIM | STPM_TEXT_COLLAPSE);
        char letters[8];
        column_letters(i, letters);
        if (c < 0) {
            if (name.len > 0) {
                survey_warning(r, rec->row, name.buf, "unknown column (%s) ignored", letters);
                r->warned_field[i] = true; /* its values are not warned about again */
            }
        } else if (seen[c] >= 0) {
            char first[8];
            column_letters((size_t)seen[c], first);
            survey_error(r, rec->row, name.buf, "column %s repeats column %s (%s)", letters, first,
                         columns[c].en);
        } else {
            seen[c] = (int)i;
            r->field_col[i] = c;
            r->col_field[c] = (int)i;
            r->order[r->n_order++] = (survey_col)c;
            stpm_strbuf_reset(&r->cname[c]);
            stpm_strbuf_puts(&r->cname[c], stpm_strbuf_str(&name));
            if (is_zh)
                zh++;
            else
                en++;
        }
        stpm_strbuf_free(&name);
    }
    r->diag_field = -1;
    r->header_zh = zh >= en;
    r->header_ok = true;
    int found = 0;
    for (int c = 0; c < SV_NCOLS; c++)
        found += seen[c] >= 0;
    for (int c = 0; c < SV_NCOLS && found > 0; c++) {
        if (seen[c] < 0 && columns[c].required) {
            r->header_ok = false;
            survey_error(r, rec->row, r->header_zh ? columns[c].zh : columns[c].en,
                         "missing required column %s (%s)", columns[c].zh, columns[c].en);
        }
    }
    if (found == 0) {
        /* nothing to validate: not a survey file; do not list every row */
        r->stop = true;
        survey_error(r, rec->row, NULL,
                     "no survey column in the header (expected 企业名称/org_name, "
                     "统一社会信用代码/uscc, ...)");
    }
    return 0;
}

/* A record of the file (CSV) or a row of a workbook after the blank ones: the header, or
 * a row's cells. 1 when a row is ready, 0 for the header, -1 on OOM, -2 when the header
 * says there is nothing more to read. */
static int take_record(stpm_survey_reader *r, const stpm_csv_record *rec)
{
    if (!r->header_read) {
        r->header_read = true;
        if (csv_header(r, rec) < 0)
            return -1;
        if (rec->stray_field >= 0)
            survey_error(r, rec->row, NULL, "stray quote in the header (line %d, character %d)",
                         rec->stray_line, rec->stray_col);
        return r->stop ? -2 : 0;
    }
    r->rows++;
    survey_clear_cells(r);
    r->cur_row = rec->row;
    r->cur_line = rec->line;
    for (size_t i = 0; i < rec->n_fields; i++) {
        int c = i < r->n_header ? r->field_col[i] : -1;
        if (c >= 0) {
            r->present[c] = true;
            stpm_strbuf_putn(&r->raw[c], rec->fields[i], rec->lens[i]);
            continue;
        }
        if (field_blank(rec->fields[i], rec->lens[i]))
            continue;
        char letters[8];
        column_letters(i, letters);
        if (i >= r->n_header)
            survey_error(r, rec->row, letters,
                         "value beyond the last column of the header (the header has %zu "
                         "columns%s)",
                         r->n_header, r->book ? "" : _("; is a comma in a value not quoted?"));
        else if (!r->warned_field[i]) {
            r->warned_field[i] = true;
            survey_warning(r, rec->row, letters,
                           "values in a column without a known header "
                           "ignored");
        }
    }
    if (rec->stray_field >= 0) {
        size_t f = (size_t)rec->stray_field;
        char letters[8];
        column_letters(f, letters);
        const char *name = f < r->n_header && r->field_col[f] >= 0
                               ? colname(r, (survey_col)r->field_col[f])
                               : letters;
        survey_error(r, rec->row, name,
                     "stray quote in an unquoted value (line %d, character %d): quote the "
                     "whole value and double the quotes inside",
                     rec->stray_line, rec->stray_col);
    }
    return 1;
}

static int csv_next(stpm_survey_reader *r, stpm_error *err)
{
    for (;;) {
        stpm_csv_record *rec = NULL;
        int rc = stpm_csv_next(r->csv, &rec, err);
        if (rc < 0) {
            /* the csv layer put one located diagnostic FILE:ROW:COL in err: collect it */
            for (size_t i = 0; i < err->n_diags; i++) {
                stpm_diag *d = &err->diags[i];
                const char *name = NULL;
                char letters[8];
                size_t f = d->col > 0 ? (size_t)d->col - 1 : 0;
                if (r->header_read && f < r->n_header && r->field_col[f] >= 0)
                    name = colname(r, (survey_col)r->field_col[f]);
                else if (d->col > 0) {
                    column_letters(f, letters);
                    name = letters;
                }
                survey_error(r, d->line, name, "%s", d->message);
            }
            return rc;
        }
        if (rc == 0) {
            /* An empty file is a mistake (the wrong file, a failed export), not an empty
             * survey: say so rather than import nothing. */
            if (!r->header_read)
                survey_error(r, 1, NULL, "the file is empty: expected a header row");
            return 0;
        }
        if (record_blank(rec))
            continue;
        int t = take_record(r, rec);
        if (t < 0)
            return t == -2 ? 0 : stpm_error_set(err, STPM_ERROR, "out of memory");
        if (t > 0)
            return 1;
    }
}

/* ---- workbook front end (.xlsx, .xls) ------------------------------------------------- */

/* Rows above the header that are looked at before giving up. */
#define BOOK_MAX_TITLE_ROWS 100

/* How many of a row's cells name a column of the format. */
static int known_columns(const stpm_csv_record *rec)
{
    int n = 0;
    for (size_t i = 0; i < rec->n_fields; i++) {
        bool zh;
        if (rec->lens[i] > 0 && rec->lens[i] < 200 &&
            survey_column_lookup(rec->fields[i], rec->lens[i], &zh) >= 0)
            n++;
    }
    return n;
}

/* The sheet's rows through the same checks as CSV records. The header is the first row
 * holding at least two of the format's columns: title rows (a merged title cell, the date
 * of the survey) above it are skipped. */
static int book_next(stpm_survey_reader *r, stpm_error *err)
{
    for (;;) {
        stpm_book_row *br = NULL;
        int rc = stpm_book_next(r->book, &br, err);
        if (rc < 0) {
            int row, col;
            stpm_book_where(r->book, &row, &col);
            r->diag_field = col;
            survey_error(r, row, NULL, "%s", err->message ? err->message : _("cannot read"));
            r->diag_field = -1;
            return rc;
        }
        if (rc == 0) {
            if (!r->header_read)
                survey_error(r, 0, NULL,
                             "no header row in the sheet \"%s\": expected a row with the survey's "
                             "columns (企业名称/org_name, 统一社会信用代码/uscc, ...)",
                             stpm_book_sheet(r->book));
            return 0;
        }
        stpm_csv_record rec = {br->n_fields, br->fields, br->lens, br->row, br->row,
                               br->row,      -1,         0,        0};
        if (record_blank(&rec))
            continue;
        if (!r->header_read && known_columns(&rec) < 2) {
            if (++r->skipped_title <= BOOK_MAX_TITLE_ROWS)
                continue;
            survey_error(r, 0, NULL,
                         "no header row in the first %d rows of the sheet \"%s\": expected a "
                         "row with the survey's columns (企业名称/org_name, "
                         "统一社会信用代码/uscc, ...)",
                         BOOK_MAX_TITLE_ROWS, stpm_book_sheet(r->book));
            return 0;
        }
        int t = take_record(r, &rec);
        if (t < 0)
            return t == -2 ? 0 : stpm_error_set(err, STPM_ERROR, "out of memory");
        if (t > 0)
            return 1;
    }
}

/* ---- the reader ------------------------------------------------------------------- */

int stpm_encoding_parse(const char *s, stpm_encoding *out)
{
    if (strcasecmp(s, "auto") == 0)
        *out = STPM_ENCODING_AUTO;
    else if (strcasecmp(s, "utf-8") == 0 || strcasecmp(s, "utf8") == 0)
        *out = STPM_ENCODING_UTF8;
    else if (strcasecmp(s, "gb18030") == 0 || strcasecmp(s, "gbk") == 0 ||
             strcasecmp(s, "gb2312") == 0)
        *out = STPM_ENCODING_GB18030;
    else
        return -1;
    return 0;
}

const char *stpm_encoding_name(stpm_encoding enc)
{
    switch (enc) {
    case STPM_ENCODING_UTF8:
        return "utf-8";
    case STPM_ENCODING_GB18030:
        return "gb18030";
    default:
        return "auto";
    }
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

/* Decide CSV or YAML from the first decoded bytes: a YAML list starts with "- " or "---"
 * (after blank and comment lines). The chunk stays in the decoder for the front end. */
static stpm_survey_format sniff_format(const char *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n'))
            i++;
        if (i < n && p[i] == '#') {
            while (i < n && p[i] != '\n' && p[i] != '\r')
                i++;
            continue;
        }
        break;
    }
    if (i < n && p[i] == '-' &&
        (i + 1 == n || p[i + 1] == ' ' || p[i + 1] == '\n' || p[i + 1] == '\r' || p[i + 1] == '-'))
        return STPM_SURVEY_FORMAT_YAML;
    return STPM_SURVEY_FORMAT_CSV;
}

int stpm_survey_reader_open(stpm_survey_reader **out, const char *path,
                            const stpm_survey_options *opts, stpm_error *err)
{
    return survey_reader_open_raw(out, path, opts, NULL, NULL, err);
}

int survey_reader_open_raw(stpm_survey_reader **out, const char *path,
                           const stpm_survey_options *opts,
                           void (*raw_cb)(void *arg, const char *buf, size_t n), void *raw_arg,
                           stpm_error *err)
{
    stpm_survey_options def = STPM_SURVEY_OPTIONS_INIT;
    stpm_survey_options v2 = STPM_SURVEY_OPTIONS_INIT;
    stpm_survey_reader *r = NULL;
    int fd = -1;
    int rc = STPM_ERROR;
    *out = NULL;
    if (!opts)
        opts = &def;
    if (opts->version == 1) {
        /* a version 1 caller's struct ends before sheet */
        memcpy(&v2, opts, offsetof(stpm_survey_options, sheet));
        v2.version = STPM_SURVEY_OPTIONS_VERSION;
        v2.sheet = NULL;
        opts = &v2;
    } else if (opts->version != STPM_SURVEY_OPTIONS_VERSION) {
        rc = stpm_error_set(err, STPM_EUSAGE, "unsupported survey options version %d",
                            opts->version);
        goto cleanup;
    }
    bool is_stdin = strcmp(path, "-") == 0;
    if (is_stdin)
        fd = STDIN_FILENO;
    else if ((rc = stpm_open_input(path, _("survey file"), &fd, err)) < 0)
        goto cleanup;
    r = calloc(1, sizeof(*r));
    if (!r)
        goto oom;
    r->book_fd = -1;
    r->diag_field = -1;
    for (int c = 0; c < SV_NCOLS; c++)
        r->col_field[c] = -1;
    r->year = opts->year;
    r->max_diags = opts->max_diags ? opts->max_diags : 1000;
    r->file = stpm_strdup(opts->display_name ? opts->display_name : (is_stdin ? "<stdin>" : path));
    if (!r->file)
        goto oom;
    /* a workbook is known by its first bytes, whatever its name */
    unsigned char head[8];
    stpm_book_kind kind = STPM_BOOK_NONE;
    if (!is_stdin) {
        ssize_t n = pread(fd, head, sizeof(head), 0);
        kind = n > 0 ? stpm_book_sniff(head, (size_t)n) : STPM_BOOK_NONE;
    }
    if (kind != STPM_BOOK_NONE) {
        r->format = kind == STPM_BOOK_XLS ? STPM_SURVEY_FORMAT_XLS : STPM_SURVEY_FORMAT_XLSX;
        if ((rc = stpm_book_open(&r->book, kind, path, r->file, opts->sheet, err)) < 0)
            goto cleanup;
        r->book_fd = fd; /* hashed by survey_reader_drain */
        fd = -1;
        r->raw_cb = raw_cb;
        r->raw_arg = raw_arg;
        *out = r;
        r = NULL;
        rc = 0;
        goto cleanup;
    }
    if (opts->sheet) {
        rc = stpm_error_set(err, STPM_EUSAGE,
                            "%s is not a workbook: --sheet is for .xlsx and .xls files", r->file);
        goto cleanup;
    }
    r->dec = stpm_decoder_new(fd, !is_stdin, opts->encoding);
    if (!r->file || !r->dec)
        goto oom;
    fd = -1; /* the decoder owns it */
    r->dec->raw_cb = raw_cb;
    r->dec->raw_arg = raw_arg;
    r->format = opts->format;
    if (r->format == STPM_SURVEY_FORMAT_AUTO) {
        if (ends_with(path, ".yaml") || ends_with(path, ".yml"))
            r->format = STPM_SURVEY_FORMAT_YAML;
        else if (ends_with(path, ".csv") || ends_with(path, ".txt"))
            r->format = STPM_SURVEY_FORMAT_CSV;
    }
    if (r->format == STPM_SURVEY_FORMAT_AUTO) {
        /* look at the first decoded chunk; both front ends start from it again */
        int n = stpm_decoder_next(r->dec);
        if (n > 0 && stpm_book_sniff((const unsigned char *)r->dec->data, r->dec->data_len) !=
                         STPM_BOOK_NONE) {
            rc = stpm_error_set(err, STPM_EUSAGE,
                                "%s: a workbook cannot be read from standard input or a pipe",
                                r->file);
            stpm_error_hint(err, "Give the workbook's file name.");
            goto cleanup;
        }
        r->format = n > 0 ? sniff_format(r->dec->data, r->dec->data_len) : STPM_SURVEY_FORMAT_CSV;
        if (n > 0)
            r->dec->pending = true; /* hand the same chunk out again */
    }
    if (r->format == STPM_SURVEY_FORMAT_CSV) {
        r->csv = stpm_csv_new(r->dec, r->file);
        if (!r->csv)
            goto oom;
    } else {
        rc = survey_yaml_open(r, err);
        if (rc < 0)
            goto cleanup;
        r->header_ok = true;
    }
    *out = r;
    r = NULL;
    rc = 0;
    goto cleanup;
oom:
    rc = stpm_error_set(err, STPM_ERROR, "out of memory");
cleanup:
    if (fd >= 0 && fd != STDIN_FILENO)
        close(fd);
    stpm_survey_reader_free(r);
    return rc;
}

int stpm_survey_reader_next(stpm_survey_reader *r, const stpm_survey_row **out, stpm_error *err)
{
    *out = NULL;
    while (!r->stop) {
        int rc = r->book                                ? book_next(r, err)
                 : r->format == STPM_SURVEY_FORMAT_YAML ? survey_yaml_next(r, err)
                                                        : csv_next(r, err);
        if (rc <= 0) {
            r->stop = true;
            return rc;
        }
        if (validate_row(r) == 0) {
            *out = &r->row;
            return 1;
        }
    }
    return 0;
}

int stpm_survey_reader_finish(stpm_survey_reader *r, stpm_error *err)
{
    if (r->n_errors == 0)
        return 0;
    stpm_error_clear(err);
    for (size_t i = 0; i < r->errors.n_diags; i++) {
        const stpm_diag *d = &r->errors.diags[i];
        if (d->cell)
            stpm_error_add_cell_diag(err, d->file, d->cell, d->line, d->column, "%s", d->message);
        else
            stpm_error_add_diag(err, d->file, d->line, d->col, d->column, "%s", d->message);
    }
    stpm_error_set(err, STPM_EINPUT, "%zu error%s in %s", r->n_errors, r->n_errors == 1 ? "" : "s",
                   r->file);
    if (r->n_errors > r->errors.n_diags)
        stpm_error_detail(err, "Only the first %zu are listed.", r->errors.n_diags);
    stpm_error_hint(err, "Correct the file and run the import again; nothing was imported.");
    return STPM_EINPUT;
}

size_t stpm_survey_reader_error_count(const stpm_survey_reader *r)
{
    return r->n_errors;
}

const stpm_diag *stpm_survey_reader_errors(const stpm_survey_reader *r, size_t *n)
{
    *n = r->errors.n_diags;
    return r->errors.diags;
}

const stpm_diag *stpm_survey_reader_warnings(const stpm_survey_reader *r, size_t *n)
{
    *n = r->warnings.n_diags;
    return r->warnings.diags;
}

size_t stpm_survey_reader_rows(const stpm_survey_reader *r)
{
    return r->rows;
}

void stpm_survey_reader_progress(const stpm_survey_reader *r, uint64_t *done, uint64_t *total)
{
    if (r->book) {
        stpm_book_progress(r->book, done, total);
        return;
    }
    *done = r->dec->bytes_in;
    *total = r->dec->size;
}

stpm_encoding stpm_survey_reader_encoding(const stpm_survey_reader *r)
{
    if (r->book)
        return STPM_ENCODING_UTF8; /* a workbook's text is Unicode */
    return stpm_decoder_encoding(r->dec);
}

stpm_survey_format stpm_survey_reader_format(const stpm_survey_reader *r)
{
    return r->format;
}

const char *stpm_survey_reader_sheet(const stpm_survey_reader *r)
{
    return r->book ? stpm_book_sheet(r->book) : NULL;
}

int survey_reader_drain(stpm_survey_reader *r, stpm_error *err)
{
    if (r->book) {
        /* the workbook was read through libzip: hash the file's bytes here, in order */
        char buf[65536];
        ssize_t n;
        off_t at = 0;
        while ((n = pread(r->book_fd, buf, sizeof(buf), at)) > 0) {
            if (r->raw_cb)
                r->raw_cb(r->raw_arg, buf, (size_t)n);
            at += n;
        }
        if (n < 0)
            return stpm_error_set(err, STPM_ERROR, "%s: cannot read: %s", r->file, strerror(errno));
        return 0;
    }
    if (stpm_decoder_drain(r->dec) < 0)
        return stpm_error_set(err, STPM_ERROR, "%s: %s", r->file, r->dec->message);
    return 0;
}

void stpm_survey_reader_free(stpm_survey_reader *r)
{
    if (!r)
        return;
    if (r->format == STPM_SURVEY_FORMAT_YAML)
        survey_yaml_close(r);
    stpm_csv_free(r->csv);
    stpm_decoder_free(r->dec);
    stpm_book_free(r->book);
    if (r->book_fd >= 0)
        close(r->book_fd);
    free(r->field_col);
    free(r->warned_field);
    stpm_strbuf_free(&r->yaml_warned);
    for (int c = 0; c < SV_NCOLS; c++) {
        stpm_strbuf_free(&r->raw[c]);
        stpm_strbuf_free(&r->cname[c]);
        stpm_strbuf_free(&r->val[c]);
    }
    stpm_strbuf_free(&r->title_key);
    stpm_error_clear(&r->errors);
    stpm_error_clear(&r->warnings);
    for (size_t i = 0; i < SURVEY_KEY_SHARDS; i++) {
        free(r->keys[i].hash);
        free(r->keys[i].row);
    }
    free(r->file);
    free(r);
}

/* Tabular output: see table.h. */
#include "table.h"

#include <locale.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"
#include "stpm/text.h"

struct cli_table {
    size_t ncols;
    char **names;
    cli_col_kind *kinds;
    char **cells; /* rows * ncols, NULL = null */
    size_t nrows, caprows;
    const cli_chart *chart; /* not owned */
    const char *context;    /* the headers' msgctxt, or NULL (static) */
};

void cli_table_set_context(cli_table *t, const char *context)
{
    t->context = context;
}

const char *cli_table_header(const cli_table *t, size_t col)
{
    const char *name = t->names[col] ? t->names[col] : "";
    if (t->context) {
        const char *h = stpm_pgettext(t->context, name);
        if (h != name)
            return h;
    }
    return _(name);
}

static char *dup_or_null(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s);
    char *p = malloc(n + 1);
    if (p)
        memcpy(p, s, n + 1);
    return p;
}

cli_table *cli_table_new(size_t ncols, const char *const *names)
{
    cli_table *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->ncols = ncols;
    t->names = calloc(ncols, sizeof(char *));
    t->kinds = calloc(ncols, sizeof(cli_col_kind));
    if (!t->names || !t->kinds) {
        cli_table_free(t);
        return NULL;
    }
    for (size_t i = 0; i < ncols; i++)
        t->names[i] = dup_or_null(names[i]);
    return t;
}

void cli_table_free(cli_table *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->nrows * t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    for (size_t i = 0; i < t->ncols && t->names; i++)
        free(t->names[i]);
    free(t->names);
    free(t->kinds);
    free(t);
}

void cli_table_set_kind(cli_table *t, size_t col, cli_col_kind kind)
{
    if (col < t->ncols)
        t->kinds[col] = kind;
}

int cli_table_add_row(cli_table *t, const char *const *cells)
{
    if (t->nrows == t->caprows) {
        size_t cap = t->caprows ? t->caprows * 2 : 16;
        char **c = realloc(t->cells, cap * t->ncols * sizeof(char *));
        if (!c)
            return -1;
        t->cells = c;
        t->caprows = cap;
    }
    char **row = t->cells + t->nrows * t->ncols;
    for (size_t i = 0; i < t->ncols; i++)
        row[i] = dup_or_null(cells[i]);
    t->nrows++;
    return 0;
}

void cli_table_set_chart(cli_table *t, const cli_chart *chart)
{
    t->chart = chart;
}

size_t cli_table_ncols(const cli_table *t)
{
    return t->ncols;
}

const char *cli_table_name(const cli_table *t, size_t col)
{
    return t->names[col] ? t->names[col] : "";
}

cli_col_kind cli_table_kind(const cli_table *t, size_t col)
{
    return t->kinds[col];
}

const char *cli_table_cell(const cli_table *t, size_t row, size_t col)
{
    return t->cells[row * t->ncols + col];
}

const cli_chart *cli_table_chart(const cli_table *t)
{
    return t->chart;
}

size_t cli_table_rows(const cli_table *t)
{
    return t->nrows;
}

/* Decode one UTF-8 sequence; returns its length (1 for an invalid byte). */
static size_t utf8_next(const unsigned char *s, uint32_t *cp)
{
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    int n = (s[0] & 0xE0) == 0xC0 ? 2 : (s[0] & 0xF0) == 0xE0 ? 3 : (s[0] & 0xF8) == 0xF0 ? 4 : 0;
    if (n == 0) {
        *cp = 0xFFFD;
        return 1;
    }
    uint32_t c = s[0] & (0x7F >> n);
    for (int i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            *cp = 0xFFFD;
            return 1;
        }
        c = (c << 6) | (s[i] & 0x3F);
    }
    *cp = c;
    return (size_t)n;
}

/* East Asian Wide and Fullwidth ranges (Unicode 15, abridged to the blocks that occur). */
static int cp_width(uint32_t c)
{
    if (c == 0)
        return 0;
    if (c < 0x20 || (c >= 0x7F && c < 0xA0))
        return 0;
    if ((c >= 0x0300 && c <= 0x036F) || c == 0x200B || (c >= 0xFE00 && c <= 0xFE0F))
        return 0;
    if ((c >= 0x1100 && c <= 0x115F) || (c >= 0x2E80 && c <= 0x303E) ||
        (c >= 0x3041 && c <= 0x33FF) || (c >= 0x3400 && c <= 0x4DBF) ||
        (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0xA000 && c <= 0xA4CF) ||
        (c >= 0xAC00 && c <= 0xD7A3) || (c >= 0xF900 && c <= 0xFAFF) ||
        (c >= 0xFE30 && c <= 0xFE4F) || (c >= 0xFF00 && c <= 0xFF60) ||
        (c >= 0xFFE0 && c <= 0xFFE6) || (c >= 0x1F300 && c <= 0x1F64F) ||
        (c >= 0x1F900 && c <= 0x1F9FF) || (c >= 0x20000 && c <= 0x3FFFD))
        return 2;
    return 1;
}

size_t cli_display_width(const char *s)
{
    size_t w = 0;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        uint32_t cp;
        p += utf8_next(p, &cp);
        w += (size_t)cp_width(cp);
    }
    return w;
}

/* true for the characters shown escaped: controls, separators and direction overrides. */
static bool escaped_cp(uint32_t c)
{
    return c < 0x20 || (c >= 0x7F && c < 0xA0) || c == 0x2028 || c == 0x2029 ||
           (c >= 0x202A && c <= 0x202E) || (c >= 0x2066 && c <= 0x2069);
}

char *cli_escape(const char *s, bool keep_newlines)
{
    size_t len = strlen(s), n = 0;
    char *out = malloc(len * 6 + 1); /* \u202e: 6 bytes for 3 */
    if (!out)
        return NULL;
    for (size_t i = 0; i < len;) {
        uint32_t c;
        size_t k = stpm_utf8_decode(s + i, len - i, &c);
        if (k == 1 && c == 0xFFFD) {
            n += (size_t)snprintf(out + n, 8, "\\x%02x", (unsigned char)s[i]);
        } else if (!escaped_cp(c) || (keep_newlines && (c == '\n' || c == '\t'))) {
            memcpy(out + n, s + i, k);
            n += k;
        } else if (c == '\n' || c == '\r' || c == '\t') {
            out[n++] = '\\';
            out[n++] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
        } else if (c < 0x100) {
            n += (size_t)snprintf(out + n, 8, "\\x%02x", (unsigned)c);
        } else {
            n += (size_t)snprintf(out + n, 8, "\\u%04x", (unsigned)c);
        }
        i += k;
    }
    out[n] = '\0';
    return out;
}

void cli_put_escaped(FILE *out, const char *s)
{
    char *e = cli_escape(s, false);
    fputs(e ? e : "", out);
    free(e);
}

void cli_json_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"':
            fputs("\\\"", out);
            break;
        case '\\':
            fputs("\\\\", out);
            break;
        case '\n':
            fputs("\\n", out);
            break;
        case '\r':
            fputs("\\r", out);
            break;
        case '\t':
            fputs("\\t", out);
            break;
        default:
            if (*p < 0x20)
                fprintf(out, "\\u%04x", *p);
            else
                fputc(*p, out);
        }
    }
    fputc('"', out);
}

void cli_csv_field(FILE *out, const char *s)
{
    if (strpbrk(s, ",\"\r\n") == NULL && s[0] != ' ' && (s[0] == '\0' || s[strlen(s) - 1] != ' ')) {
        fputs(s, out);
        return;
    }
    fputc('"', out);
    for (const char *p = s; *p; p++) {
        if (*p == '"')
            fputc('"', out);
        fputc(*p, out);
    }
    fputc('"', out);
}

static void pad(FILE *out, size_t n)
{
    while (n--)
        fputc(' ', out);
}

/* The aligned table: every cell as cli_escape shows it, so that data can neither break the
 * alignment nor reach the terminal as a control sequence. */
static void print_table(const cli_table *t, FILE *out, bool footer)
{
    size_t *w = calloc(t->ncols ? t->ncols : 1, sizeof(size_t));
    size_t ncells = t->nrows * t->ncols;
    char **shown = calloc(ncells ? ncells : 1, sizeof(char *));
    if (!w || !shown)
        goto cleanup;
    for (size_t i = 0; i < ncells; i++)
        if (t->cells[i] && !(shown[i] = cli_escape(t->cells[i], false)))
            goto cleanup;
    for (size_t c = 0; c < t->ncols; c++)
        w[c] = cli_display_width(cli_table_header(t, c));
    for (size_t r = 0; r < t->nrows; r++)
        for (size_t c = 0; c < t->ncols; c++) {
            const char *v = shown[r * t->ncols + c];
            size_t cw = cli_display_width(v ? v : "");
            if (cw > w[c])
                w[c] = cw;
        }
    for (size_t c = 0; c < t->ncols; c++) {
        /* the header in the user's language (the JSON and CSV keys stay English) */
        const char *n = cli_table_header(t, c);
        fputs(n, out);
        if (c + 1 < t->ncols)
            pad(out, w[c] - cli_display_width(n) + 2);
    }
    fputc('\n', out);
    for (size_t c = 0; c < t->ncols; c++) {
        for (size_t i = 0; i < w[c]; i++)
            fputc('-', out);
        if (c + 1 < t->ncols)
            fputs("  ", out);
    }
    fputc('\n', out);
    for (size_t r = 0; r < t->nrows; r++) {
        for (size_t c = 0; c < t->ncols; c++) {
            const char *v = shown[r * t->ncols + c];
            if (!v)
                v = "";
            size_t cw = cli_display_width(v);
            bool last = c + 1 == t->ncols;
            if (t->kinds[c] == CLI_COL_NUMBER) {
                pad(out, w[c] - cw);
                fputs(v, out);
                if (!last)
                    fputs("  ", out);
            } else {
                fputs(v, out);
                if (!last)
                    pad(out, w[c] - cw + 2);
            }
        }
        fputc('\n', out);
    }
    if (footer)
        fprintf(out, _("(%zu row%s)\n"), t->nrows, t->nrows == 1 ? "" : "s");
cleanup:
    for (size_t i = 0; shown && i < ncells; i++)
        free(shown[i]);
    free(shown);
    free(w);
}

static void print_json(const cli_table *t, FILE *out)
{
    fputc('[', out);
    for (size_t r = 0; r < t->nrows; r++) {
        fputs(r ? ",\n {" : "{", out);
        for (size_t c = 0; c < t->ncols; c++) {
            if (c)
                fputs(", ", out);
            cli_json_string(out, t->names[c] ? t->names[c] : "");
            fputs(": ", out);
            const char *v = t->cells[r * t->ncols + c];
            if (!v || (t->kinds[c] != CLI_COL_TEXT && *v == '\0'))
                fputs("null", out);
            else if (t->kinds[c] == CLI_COL_NUMBER || t->kinds[c] == CLI_COL_JSON)
                fputs(v, out);
            else if (t->kinds[c] == CLI_COL_BOOL)
                fputs((strcmp(v, "t") == 0 || strcmp(v, "true") == 0 || strcmp(v, "yes") == 0)
                          ? "true"
                          : "false",
                      out);
            else
                cli_json_string(out, v);
        }
        fputc('}', out);
    }
    fputs("]\n", out);
}

/* A column's header in Chinese whatever the locale (--headers zh): the catalog looked up for
 * zh_CN in this thread only, under the zh_CN.UTF-8 locale when it is there, else under
 * C.UTF-8 (where gettext honours LANGUAGE as well), with LANGUAGE=zh_CN for the lookup. */
static const char *header_zh(const cli_table *t, size_t col)
{
    static locale_t zh;
    if (!zh && !(zh = newlocale(LC_MESSAGES_MASK, "zh_CN.UTF-8", (locale_t)0)) &&
        !(zh = newlocale(LC_MESSAGES_MASK, "C.UTF-8", (locale_t)0)))
        return t->names[col] ? t->names[col] : "";
    const char *l = getenv("LANGUAGE");
    char *was_language = l ? strdup(l) : NULL;
    setenv("LANGUAGE", "zh_CN", 1);
    locale_t was = uselocale(zh);
    const char *h = cli_table_header(t, col);
    uselocale(was);
    if (was_language)
        setenv("LANGUAGE", was_language, 1);
    else
        unsetenv("LANGUAGE");
    free(was_language);
    return h;
}

static void print_csv(const cli_table *t, FILE *out)
{
    if (cli_output_bom_due())
        fputs("\xEF\xBB\xBF", out); /* --bom: once, at the start of the output */
    for (size_t c = 0; c < t->ncols; c++) {
        if (c)
            fputc(',', out);
        const char *n = t->names[c] ? t->names[c] : "";
        cli_csv_field(out, cli_output_headers_zh() ? header_zh(t, c) : n);
    }
    fputs("\r\n", out);
    for (size_t r = 0; r < t->nrows; r++) {
        for (size_t c = 0; c < t->ncols; c++) {
            if (c)
                fputc(',', out);
            const char *v = t->cells[r * t->ncols + c];
            cli_csv_field(out, v ? v : "");
        }
        fputs("\r\n", out);
    }
}

void cli_table_print(const cli_table *t, cli_format fmt, FILE *out, bool footer)
{
    switch (fmt) {
    case CLI_FORMAT_JSON:
        print_json(t, out);
        break;
    case CLI_FORMAT_CSV:
        print_csv(t, out);
        break;
    case CLI_FORMAT_XLSX:
        cli_xlsx_add_table(t);
        break;
    default:
        print_table(t, out, footer);
    }
}

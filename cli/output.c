/* Output files, the CSV byte-order mark and the xlsx workbook: see output.h. */
#include "output.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xlsxwriter.h>

#include "stpm/date.h"

#define MAX_WIDTH 60 /* a column's width in characters, at most */

static struct {
    int argc;
    char **argv;
    bool begun;
    const cli_ctx *ctx;
    bool bom_done;
    char *command;    /* "report summary", the sheets' names */
    char *filters;    /* the options given, for the first row */
    char *note;       /* what the command adds in the second row (cli_xlsx_note) */
    char tmp[64];     /* the workbook before it is copied to standard output */
    const char *path; /* where the workbook is written */
    lxw_workbook *wb;
    lxw_format *bold, *title, *date, *datetime, *amount, *integer, *text;
    int sheets;
    bool failed;
} out;

static bool is_output_option(const char *a)
{
    static const char *const skip[] = {"--format", "--output",  "--bom", "--db",
                                       "--home",   "--headers", NULL};
    for (int i = 0; skip[i]; i++) {
        size_t n = strlen(skip[i]);
        if (strncmp(a, skip[i], n) == 0 && (a[n] == '\0' || a[n] == '='))
            return true;
    }
    return false;
}

/* Append a word to s (capacity cap), a space before it unless s is empty. */
static void add_word(char *s, size_t cap, const char *w)
{
    size_t n = strlen(s), m = strlen(w);
    if (n + m + 2 > cap)
        return;
    if (n)
        s[n++] = ' ';
    memcpy(s + n, w, m + 1);
}

static bool takes_value(const char *a)
{
    return strchr(a, '=') == NULL && strcmp(a, "--bom") != 0;
}

void cli_output_args(int argc, char **argv)
{
    out.argc = argc;
    out.argv = argv;
}

void cli_xlsx_note(const char *text)
{
    free(out.note);
    out.note = text ? strdup(text) : NULL;
}

void cli_output_reset(int argc, char **argv)
{
    if (out.wb)
        workbook_close(out.wb);
    if (out.tmp[0])
        unlink(out.tmp);
    free(out.command);
    free(out.filters);
    free(out.note);
    memset(&out, 0, sizeof(out));
    cli_output_args(argc, argv);
}

int cli_output_begin(const cli_ctx *ctx)
{
    int argc = out.argc;
    char **argv = out.argv;
    if (out.begun)
        return 0;
    out.begun = true;
    out.ctx = ctx;
    if (ctx->format == CLI_FORMAT_XLSX) {
        if (!ctx->output && isatty(STDOUT_FILENO))
            return cli_usage_error("--format xlsx writes a workbook: give --output FILE.xlsx "
                                   "(or send standard output to a file)");
        /* the command and its filters, for the sheets */
        size_t cap = 256;
        for (int i = 0; i < argc; i++)
            cap += strlen(argv[i]) + 1;
        out.command = calloc(1, cap);
        out.filters = calloc(1, cap);
        if (!out.command || !out.filters)
            return cli_usage_error("out of memory");
        bool options = false;
        for (int i = 0; i < argc; i++) {
            const char *a = argv[i];
            if (is_output_option(a)) {
                if (takes_value(a) && strcmp(a, "--bom") != 0)
                    i++;
                continue;
            }
            if (a[0] == '-')
                options = true;
            if (!options && strlen(out.command) < 24)
                add_word(out.command, cap, a);
            else
                add_word(out.filters, cap, a);
        }
        if (ctx->output) {
            out.path = ctx->output;
        } else {
            const char *dir = getenv("TMPDIR");
            snprintf(out.tmp, sizeof(out.tmp), "%.40s/stpm-xlsx.XXXXXX",
                     dir && *dir && strlen(dir) < 40 ? dir : "/tmp");
            int fd = mkstemp(out.tmp);
            if (fd < 0) {
                fprintf(stderr, _("stpm: error: cannot create a temporary file: %s\n"),
                        strerror(errno));
                return 1;
            }
            close(fd);
            out.path = out.tmp;
        }
        return 0;
    }
    if (ctx->output && !freopen(ctx->output, "w", stdout)) {
        fprintf(stderr, _("stpm: error: cannot write %s: %s\n"), ctx->output, strerror(errno));
        return 1;
    }
    return 0;
}

bool cli_output_headers_zh(void)
{
    return out.ctx && out.ctx->headers_zh;
}

bool cli_output_bom_due(void)
{
    if (!out.ctx || !out.ctx->bom || out.bom_done)
        return false;
    out.bom_done = true;
    return true;
}

static int open_workbook(void)
{
    if (out.wb)
        return 0;
    if (out.failed || !out.path)
        return -1;
    out.wb = workbook_new(out.path);
    if (!out.wb) {
        out.failed = true;
        return -1;
    }
    out.bold = workbook_add_format(out.wb);
    format_set_bold(out.bold);
    format_set_bottom(out.bold, LXW_BORDER_THIN);
    out.title = workbook_add_format(out.wb);
    format_set_italic(out.title);
    out.date = workbook_add_format(out.wb);
    format_set_num_format(out.date, "yyyy-mm-dd");
    out.datetime = workbook_add_format(out.wb);
    format_set_num_format(out.datetime, "yyyy-mm-dd hh:mm:ss"); /* i18n-ok: Excel syntax */
    out.amount = workbook_add_format(out.wb);
    format_set_num_format(out.amount, "#,##0.00");
    out.integer = workbook_add_format(out.wb);
    format_set_num_format(out.integer, "0");
    out.text = workbook_add_format(out.wb);
    format_set_num_format(out.text, "@");
    return 0;
}

/* "YYYY-MM-DD" (10) or "YYYY-MM-DD HH:MM:SS..." (19+, a timestamp) as a date; 0 if not. */
static int as_datetime(const char *s, lxw_datetime *dt)
{
    int y, mo, d, h = 0, mi = 0, n = 0;
    double sec = 0;
    size_t len = strlen(s);
    if (len == 10 && sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) == 3 && n == 10) {
        if (!stpm_date_valid_ymd(y, mo, d) || y < 1900)
            return 0;
        *dt = (lxw_datetime){y, mo, d, 0, 0, 0};
        return 10;
    }
    if (len >= 19 && (s[10] == ' ' || s[10] == 'T') &&
        sscanf(s, "%4d-%2d-%2d%*c%2d:%2d:%lf", &y, &mo, &d, &h, &mi, &sec) == 6) {
        if (!stpm_date_valid_ymd(y, mo, d) || y < 1900 || h > 23 || mi > 59 || sec >= 60)
            return 0;
        *dt = (lxw_datetime){y, mo, d, h, mi, sec};
        return 19;
    }
    return 0;
}

static bool has_point(const cli_table *t, size_t c)
{
    for (size_t r = 0; r < cli_table_rows(t); r++) {
        const char *v = cli_table_cell(t, r, c);
        if (v && strchr(v, '.'))
            return true;
    }
    return false;
}

static long find_col(const cli_table *t, const char *name)
{
    for (size_t c = 0; name && c < cli_table_ncols(t); c++)
        if (strcmp(cli_table_name(t, c), name) == 0)
            return (long)c;
    return -1;
}

/* The chart of t, right of the table. first: the sheet row of the first data row. */
static void add_chart(lxw_worksheet *ws, const char *sheet, const cli_table *t, lxw_row_t first)
{
    const cli_chart *ch = cli_table_chart(t);
    size_t rows = cli_table_rows(t), nc = cli_table_ncols(t);
    if (!ch || rows == 0)
        return;
    long cat = find_col(t, ch->category);
    /* the groups: the rows down to the total (which comes last) */
    size_t n = rows;
    if (cat >= 0 && n > 1) {
        const char *last = cli_table_cell(t, n - 1, (size_t)cat);
        if (last && strcmp(last, "total") == 0)
            n--;
    }
    long lo = -1, hi = -1; /* the value columns there are */
    for (size_t i = 0; ch->values[i]; i++) {
        long v = find_col(t, ch->values[i]);
        if (v >= 0 && (lo < 0 || v < lo))
            lo = v;
        if (v > hi)
            hi = v;
    }
    if (lo < 0 || (cat >= 0 && n == 0))
        return;
    lxw_chart *chart = workbook_add_chart(out.wb, LXW_CHART_COLUMN);
    if (!chart)
        return;
    if (cat >= 0) {
        for (size_t i = 0; ch->values[i]; i++) {
            long v = find_col(t, ch->values[i]);
            if (v < 0)
                continue;
            lxw_chart_series *s = chart_add_series(chart, NULL, NULL);
            chart_series_set_categories(s, sheet, first, (lxw_col_t)cat, (lxw_row_t)(first + n - 1),
                                        (lxw_col_t)cat);
            chart_series_set_values(s, sheet, first, (lxw_col_t)v, (lxw_row_t)(first + n - 1),
                                    (lxw_col_t)v);
            chart_series_set_name_range(s, sheet, first - 1, (lxw_col_t)v);
        }
    } else {
        /* one group: a bar per value column, the run of them */
        lxw_chart_series *s = chart_add_series(chart, NULL, NULL);
        chart_series_set_categories(s, sheet, first - 1, (lxw_col_t)lo, first - 1, (lxw_col_t)hi);
        chart_series_set_values(s, sheet, first, (lxw_col_t)lo, first, (lxw_col_t)hi);
        chart_legend_set_position(chart, LXW_CHART_LEGEND_NONE);
    }
    chart_title_set_name(chart, _(ch->title));
    worksheet_insert_chart(ws, first - 1, (lxw_col_t)(nc + 1), chart);
}

void cli_xlsx_add_table(const cli_table *t)
{
    if (open_workbook() < 0)
        return;
    char name[48];
    out.sheets++;
    /* a sheet's name: at most 31 characters, none of []:*?/\ */
    char base[32] = {0};
    size_t k = 0;
    for (const char *p = out.command && out.command[0] ? out.command : "stpm"; *p && k < 24; p++)
        if (!strchr("[]:*?/\\'", *p))
            base[k++] = *p;
    /* do not cut a character: drop an incomplete last one */
    size_t start = k;
    while (start > 0 && ((unsigned char)base[start - 1] & 0xC0) == 0x80)
        start--;
    if (start > 0 && ((unsigned char)base[start - 1] & 0x80)) {
        unsigned char lead = (unsigned char)base[start - 1];
        size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
        if (k - (start - 1) < need)
            k = start - 1;
    }
    base[k] = '\0';
    if (out.sheets == 1)
        snprintf(name, sizeof(name), "%s", base[0] ? base : "stpm");
    else
        snprintf(name, sizeof(name), "%.24s %d", base[0] ? base : "stpm", out.sheets % 1000);
    lxw_worksheet *ws = workbook_add_worksheet(out.wb, name);
    if (!ws) {
        out.failed = true;
        return;
    }
    size_t nc = cli_table_ncols(t), rows = cli_table_rows(t);
    lxw_row_t row = 0;
    /* the first row: the command and the filters used */
    size_t hl =
        strlen(out.command ? out.command : "") + strlen(out.filters ? out.filters : "") + 32;
    char *head = malloc(hl);
    if (head) {
        snprintf(head, hl, "stpm %s%s%s", out.command ? out.command : "",
                 out.filters && out.filters[0] ? " " : "", out.filters ? out.filters : "");
        worksheet_write_string(ws, row, 0, head, out.title);
        free(head);
    }
    if (out.note)
        worksheet_write_string(ws, 1, 0, out.note, out.title);
    row = 2; /* a blank row (or the note), then the header */
    size_t *width = calloc(nc ? nc : 1, sizeof(*width));
    bool *point = calloc(nc ? nc : 1, sizeof(*point));
    if (!width || !point) {
        free(width);
        free(point);
        out.failed = true;
        return;
    }
    for (size_t c = 0; c < nc; c++) {
        /* the header in the user's language, as the table format shows it */
        const char *h = cli_table_header(t, c);
        worksheet_write_string(ws, row, (lxw_col_t)c, h, out.bold);
        width[c] = cli_display_width(h);
        point[c] = cli_table_kind(t, c) == CLI_COL_NUMBER && has_point(t, c);
    }
    lxw_row_t first = row + 1;
    for (size_t r = 0; r < rows; r++) {
        row++;
        for (size_t c = 0; c < nc; c++) {
            const char *v = cli_table_cell(t, r, c);
            lxw_col_t col = (lxw_col_t)c;
            if (!v)
                continue;
            size_t w = cli_display_width(v);
            if (w > width[c])
                width[c] = w;
            lxw_datetime dt;
            int dl;
            char *end;
            switch (cli_table_kind(t, c)) {
            case CLI_COL_NUMBER: {
                double x = strtod(v, &end);
                if (*v && !*end)
                    worksheet_write_number(ws, row, col, x, point[c] ? out.amount : out.integer);
                else
                    worksheet_write_string(ws, row, col, v, NULL);
                break;
            }
            case CLI_COL_BOOL:
                worksheet_write_boolean(ws, row, col, strcmp(v, "true") == 0, NULL);
                break;
            case CLI_COL_TEXT:
                if ((dl = as_datetime(v, &dt)) > 0)
                    worksheet_write_datetime(ws, row, col, &dt, dl == 10 ? out.date : out.datetime);
                else
                    worksheet_write_string(ws, row, col, v, out.text); /* codes stay text */
                break;
            default:
                worksheet_write_string(ws, row, col, v, out.text);
            }
        }
    }
    for (size_t c = 0; c < nc; c++) {
        size_t w = width[c] + 2;
        worksheet_set_column(ws, (lxw_col_t)c, (lxw_col_t)c,
                             (double)(w > MAX_WIDTH ? MAX_WIDTH : w), NULL);
    }
    worksheet_freeze_panes(ws, first, 0);
    add_chart(ws, name, t, first);
    free(width);
    free(point);
}

int cli_output_end(const cli_ctx *ctx, int rc)
{
    if (!out.begun && ctx->output && ctx->format != CLI_FORMAT_XLSX)
        return rc; /* nothing was redirected */
    if (out.ctx && out.ctx->format == CLI_FORMAT_XLSX && rc != 0) {
        /* the command failed: no workbook (a half-written one would mislead) */
        if (out.wb) {
            workbook_close(out.wb);
            unlink(out.path);
        }
        out.wb = NULL;
    } else if (out.ctx && out.ctx->format == CLI_FORMAT_XLSX) {
        if (!out.wb && !out.failed && open_workbook() == 0) {
            /* the command printed no table: an empty sheet says so */
            lxw_worksheet *ws = workbook_add_worksheet(out.wb, NULL);
            if (ws)
                worksheet_write_string(ws, 0, 0, _("(no rows)"), NULL);
        }
        if (out.wb) {
            lxw_error e = workbook_close(out.wb);
            out.wb = NULL;
            if (e != LXW_NO_ERROR) {
                fprintf(stderr, _("stpm: error: cannot write the workbook %s: %s\n"),
                        out.ctx->output ? out.ctx->output : _("to standard output"),
                        lxw_strerror(e));
                out.failed = true;
            }
        } else if (out.failed) {
            fprintf(stderr, _("stpm: error: cannot write the workbook %s\n"),
                    out.ctx->output ? out.ctx->output : _("to standard output"));
        }
    }
    if (out.tmp[0]) {
        /* no --output: the workbook goes to standard output (a file or a pipe) */
        FILE *f = out.failed || rc != 0 ? NULL : fopen(out.tmp, "rb");
        char buf[65536];
        size_t n;
        while (f && (n = fread(buf, 1, sizeof(buf), f)) > 0)
            if (fwrite(buf, 1, n, stdout) != n)
                out.failed = true;
        if (f)
            fclose(f);
        unlink(out.tmp);
        out.tmp[0] = '\0';
    }
    if (out.failed && rc == 0)
        rc = 1;
    free(out.command);
    free(out.filters);
    free(out.note);
    out.command = out.filters = out.note = NULL;
    return rc;
}

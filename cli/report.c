/* Messages to the user in PostgreSQL's style, and the exit status that goes with them. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "table.h"

/* A message to stderr, its data's control characters escaped (line breaks kept). */
static void put_message(const char *s)
{
    char *e = cli_escape(s, true);
    fputs(e ? e : s, stderr);
    free(e);
}

static void print_diag(const stpm_diag *d)
{
    if (d->file) {
        put_message(d->file);
        fputc(':', stderr);
    }
    if (d->cell) {
        /* a workbook's cell: FILE:SHEET!CELL: COLUMN: message */
        put_message(d->cell);
        fputc(':', stderr);
        if (d->column) {
            fputc(' ', stderr);
            put_message(d->column);
            fputc(':', stderr);
        }
        fputc(' ', stderr);
        put_message(d->message ? d->message : _("out of memory"));
        fputc('\n', stderr);
        return;
    }
    if (d->line > 0)
        fprintf(stderr, "%d:", d->line);
    if (d->col > 0)
        fprintf(stderr, "%d:", d->col);
    if (d->column && !(d->col > 0)) {
        put_message(d->column);
        fputc(':', stderr);
    }
    if (d->file || d->line > 0 || d->col > 0 || d->column)
        fputc(' ', stderr);
    put_message(d->message ? d->message : _("out of memory"));
    fputc('\n', stderr);
}

void cli_print_diag(const stpm_diag *d)
{
    print_diag(d);
}

int cli_report(const stpm_error *err)
{
    for (size_t i = 0; i < err->n_diags; i++)
        print_diag(&err->diags[i]);
    fputs(err->code == STPM_EUSAGE ? _("stpm: usage: ") : _("stpm: error: "), stderr);
    put_message(err->message ? err->message
                             : (err->code ? _("out of memory") : _("unknown error")));
    fputc('\n', stderr);
    if (err->detail && *err->detail) {
        fputs(_("DETAIL: "), stderr);
        put_message(err->detail);
        fputc('\n', stderr);
    }
    if (err->hint && *err->hint) {
        fputs(_("HINT: "), stderr);
        put_message(err->hint);
        fputc('\n', stderr);
    }
    int rc = stpm_error_exit_code(err->code);
    return rc ? rc : 1;
}

int cli_report_clear(stpm_error *err)
{
    int rc = cli_report(err);
    stpm_error_clear(err);
    return rc;
}

int cli_usage_error(const char *fmt, ...)
{
    va_list ap;
    char buf[4096];
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), _(fmt), ap);
    va_end(ap);
    fputs(_("stpm: usage: "), stderr);
    put_message(buf);
    fputc('\n', stderr);
    return 2;
}

stpm_date cli_today(const cli_ctx *ctx)
{
    return ctx->today_set ? ctx->today : stpm_date_today();
}

int cli_parse_headers(const char *s, bool *zh)
{
    if (strcmp(s, "en") == 0)
        *zh = false;
    else if (strcmp(s, "zh") == 0)
        *zh = true;
    else
        return -1;
    return 0;
}

int cli_parse_format(const char *s, cli_format *out)
{
    if (strcmp(s, "table") == 0)
        *out = CLI_FORMAT_TABLE;
    else if (strcmp(s, "json") == 0)
        *out = CLI_FORMAT_JSON;
    else if (strcmp(s, "csv") == 0)
        *out = CLI_FORMAT_CSV;
    else if (strcmp(s, "xlsx") == 0)
        *out = CLI_FORMAT_XLSX;
    else
        return -1;
    return 0;
}

/* Messages to the user in PostgreSQL's style, and the exit status that goes with them. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static void print_diag(const stpm_diag *d)
{
    if (d->file)
        fprintf(stderr, "%s:", d->file);
    if (d->line > 0)
        fprintf(stderr, "%d:", d->line);
    if (d->col > 0)
        fprintf(stderr, "%d:", d->col);
    if (d->column && !(d->col > 0))
        fprintf(stderr, "%s:", d->column);
    if (d->file || d->line > 0 || d->col > 0 || d->column)
        fputc(' ', stderr);
    fprintf(stderr, "%s\n", d->message ? d->message : "out of memory");
}

void cli_print_diag(const stpm_diag *d)
{
    print_diag(d);
}

int cli_report(const stpm_error *err)
{
    for (size_t i = 0; i < err->n_diags; i++)
        print_diag(&err->diags[i]);
    fprintf(stderr, "stpm: %s: %s\n", err->code == STPM_EUSAGE ? "usage" : "error",
            err->message ? err->message : (err->code ? "out of memory" : "unknown error"));
    if (err->detail && *err->detail)
        fprintf(stderr, "DETAIL: %s\n", err->detail);
    if (err->hint && *err->hint)
        fprintf(stderr, "HINT: %s\n", err->hint);
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
    va_start(ap, fmt);
    fputs("stpm: usage: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 2;
}

stpm_date cli_today(const cli_ctx *ctx)
{
    return ctx->today_set ? ctx->today : stpm_date_today();
}

int cli_parse_format(const char *s, cli_format *out)
{
    if (strcmp(s, "table") == 0)
        *out = CLI_FORMAT_TABLE;
    else if (strcmp(s, "json") == 0)
        *out = CLI_FORMAT_JSON;
    else if (strcmp(s, "csv") == 0)
        *out = CLI_FORMAT_CSV;
    else
        return -1;
    return 0;
}

/* Result tables in the three output formats: see rows.h. */
#include <stdio.h>
#include <stdlib.h>

#include "rows.h"
#include "table.h"

static cli_table *to_table(const stpm_rows *r)
{
    size_t nc = stpm_rows_ncols(r);
    const char **names = calloc(nc + 1, sizeof(*names));
    const char **cells = calloc(nc + 1, sizeof(*cells));
    cli_table *t = NULL;
    if (!names || !cells)
        goto out;
    for (size_t c = 0; c < nc; c++)
        names[c] = stpm_rows_name(r, c);
    t = cli_table_new(nc, names);
    if (!t)
        goto out;
    for (size_t c = 0; c < nc; c++) {
        stpm_col_kind k = stpm_rows_kind(r, c);
        cli_table_set_kind(t, c,
                           k == STPM_COL_NUMBER ? CLI_COL_NUMBER
                           : k == STPM_COL_BOOL ? CLI_COL_BOOL
                           : k == STPM_COL_JSON ? CLI_COL_JSON
                                                : CLI_COL_TEXT);
    }
    for (size_t i = 0; i < stpm_rows_count(r); i++) {
        for (size_t c = 0; c < nc; c++)
            cells[c] = stpm_rows_value(r, i, c);
        if (cli_table_add_row(t, cells) < 0) {
            cli_table_free(t);
            t = NULL;
            goto out;
        }
    }
out:
    free(names);
    free(cells);
    return t;
}

int cli_print_rows_chart(const cli_ctx *ctx, const stpm_rows *r, bool footer,
                         const cli_chart *chart)
{
    cli_table *t = to_table(r);
    if (!t) {
        fprintf(stderr, _("stpm: error: out of memory\n"));
        return 1;
    }
    cli_table_set_chart(t, chart);
    cli_table_print(t, ctx->format, stdout, footer);
    cli_table_free(t);
    return 0;
}

int cli_print_rows(const cli_ctx *ctx, const stpm_rows *r, bool footer)
{
    return cli_print_rows_chart(ctx, r, footer, NULL);
}

int cli_print_record(const cli_ctx *ctx, const stpm_rows *r)
{
    if (ctx->format == CLI_FORMAT_CSV)
        return cli_print_rows(ctx, r, false);
    size_t nc = stpm_rows_ncols(r), width = 0;
    if (stpm_rows_count(r) == 0)
        return 0;
    if (ctx->format == CLI_FORMAT_JSON) {
        fputc('{', stdout);
        for (size_t c = 0; c < nc; c++) {
            const char *v = stpm_rows_value(r, 0, c);
            fputs(c ? ", " : "", stdout);
            cli_json_string(stdout, stpm_rows_name(r, c));
            fputs(": ", stdout);
            if (!v)
                fputs("null", stdout);
            else if (stpm_rows_kind(r, c) == STPM_COL_TEXT)
                cli_json_string(stdout, v);
            else
                fputs(v, stdout);
        }
        fputs("}\n", stdout);
        return 0;
    }
    for (size_t c = 0; c < nc; c++) {
        size_t w = cli_display_width(_(stpm_rows_name(r, c)));
        if (w > width)
            width = w;
    }
    for (size_t c = 0; c < nc; c++) {
        const char *v = stpm_rows_value(r, 0, c);
        if (!v || !*v)
            continue;
        /* the name in the user's language, padded by display width (Chinese is wide) */
        const char *name = _(stpm_rows_name(r, c));
        fputs(name, stdout);
        for (size_t k = cli_display_width(name); k < width + 3; k++)
            fputc(' ', stdout);
        cli_put_escaped(stdout, v);
        fputc('\n', stdout);
    }
    return 0;
}

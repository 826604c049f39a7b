/* Result tables in the three output formats: see rows.h. */
#include <stdio.h>
#include <stdlib.h>

#include "rows.h"
#include "table.h"

/* The column names of the server's result tables (the reports, the audit's lists, workflow
 * list) and of the shipped scoring's criteria (reserve rank): the table format shows them in
 * the user's language (cli/table.c), so the catalog must hold them; JSON and CSV keep them. */
static const char *const server_columns[] __attribute__((unused)) = {N_("accepted"),
                                                                     N_("actual"),
                                                                     N_("admitted"),
                                                                     N_("amount_approved"),
                                                                     N_("amount_requested"),
                                                                     N_("applied"),
                                                                     N_("approved"),
                                                                     N_("approved_amount"),
                                                                     N_("by"),
                                                                     N_("check"),
                                                                     N_("checks"),
                                                                     N_("closed"),
                                                                     N_("closed_on"),
                                                                     N_("completion"),
                                                                     N_("current"),
                                                                     N_("days_late"),
                                                                     N_("days_overdue"),
                                                                     N_("documents"),
                                                                     N_("entered_at"),
                                                                     N_("field"),
                                                                     N_("fields"),
                                                                     N_("growth"),
                                                                     N_("high_tech"),
                                                                     N_("implemented"),
                                                                     N_("label"),
                                                                     N_("leader"),
                                                                     N_("leverage"),
                                                                     N_("loaded_at"),
                                                                     N_("loaded_by"),
                                                                     N_("maturity"),
                                                                     N_("metric"),
                                                                     N_("on_time"),
                                                                     N_("org_name"),
                                                                     N_("overdue"),
                                                                     N_("partner"),
                                                                     N_("plan_kinds"),
                                                                     N_("plan_name"),
                                                                     N_("planned_investment"),
                                                                     N_("plans"),
                                                                     N_("previous"),
                                                                     N_("rd_intensity"),
                                                                     N_("rejected"),
                                                                     N_("report"),
                                                                     N_("report_sha"),
                                                                     N_("report_sha256"),
                                                                     N_("requested"),
                                                                     N_("since"),
                                                                     N_("state_since"),
                                                                     N_("target"),
                                                                     N_("target_level"),
                                                                     N_("terminated")};

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

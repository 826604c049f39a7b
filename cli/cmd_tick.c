/* stpm tick: fire the timers that are due (a state's `timeout:`). */
#include <limits.h>
#include <stdio.h>

#include "cli.h"
#include "commands.h"
#include "connect.h"
#include "opts.h"
#include "subcmd.h"
#include "table.h"
#include "stpm/project.h"

int cli_cmd_tick(cli_ctx *ctx, int argc, char **argv)
{
    static const char usage[] = "stpm tick [--dry-run]";
    cli_opt opts[] = {
        CLI_FLAG("dry-run", 'n', "say what would fire, change nothing"),
        CLI_END,
    };
    cli_args args = {0};
    stpm_db *db = NULL;
    stpm_error err = STPM_ERROR_INIT;
    stpm_bulk_report rep = STPM_BULK_REPORT_INIT;
    int rc = 0;
    if (cli_start(ctx, usage,
                  _("For every project whose state has a timer (timeout: {after, transition}) "
                    "that is due\nby today, take the timer's transition as the connected role, "
                    "one project at a time.\nA second tick finds nothing more to do."),
                  opts, argc, argv, &args, 0, INT_MAX, NULL, NULL, &rc) < 0)
        goto cleanup;
    if (args.n_operands) {
        rc = cli_usage_error("tick takes no operands");
        goto cleanup;
    }
    if ((rc = cli_connect(ctx, &db)) != 0)
        goto cleanup;
    stpm_advance_options o = STPM_ADVANCE_OPTIONS_INIT;
    o.today = cli_today(ctx);
    o.dry_run = cli_opt_get(opts, "dry-run")->flag;
    if (stpm_project_tick(db, &o, &rep, &err) < 0) {
        rc = cli_report(&err);
        goto cleanup;
    }
    cli_print_calendar_warnings(&rep.warnings);
    static const char *const cols[] = {N_("code"), N_("transition"), N_("from"),
                                       N_("to"),   N_("outcome"),    N_("message")};
    cli_table *t = cli_table_new(6, cols);
    for (size_t i = 0; t && i < rep.n; i++) {
        const stpm_bulk_item *it = &rep.items[i];
        const char *cells[] = {
            it->code,   it->transition, it->from, it->to, stpm_outcome_name(it->outcome),
            it->message};
        cli_table_add_row(t, cells);
    }
    if (t && (rep.n || ctx->format != CLI_FORMAT_TABLE))
        cli_table_print(t, ctx->format, stdout, false);
    cli_table_free(t);
    if (ctx->format == CLI_FORMAT_TABLE)
        printf(_("tick: %zu timers due, %zu fired%s, %zu refused, %zu conflict, %zu error\n"),
               rep.n, rep.n_ok, o.dry_run ? _(" (dry run)") : "", rep.n_refused, rep.n_conflict,
               rep.n_error);
    rc = rep.n_error ? 1 : rep.n_conflict ? 4 : rep.n_refused ? 3 : 0;
cleanup:
    stpm_bulk_report_clear(&rep);
    stpm_error_clear(&err);
    cli_args_free(&args);
    cli_opts_free(opts);
    return rc;
}

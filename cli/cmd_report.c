/* stpm report: summary | targets | target set — the bureau's figures. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "connect.h"
#include "opts.h"
#include "subcmd.h"
#include "rows.h"
#include "stpm/report.h"

static int parse_year(const char *s, const char *name, int *out)
{
    char *end = NULL;
    if (!s)
        return 0;
    long y = strtol(s, &end, 10);
    if (!*s || *end || y < 1990 || y > 2100)
        return cli_usage_error("invalid year \"%s\" for --%s: expected 1990..2100", s, name);
    *out = (int)y;
    return 0;
}

static int cmd_summary(cli_ctx *ctx, int argc, char **argv)
{
    static const char usage[] =
        "stpm report summary [--from Y] [--to Y] [--year Y] [--as-of DATE]\n"
        "                    [--by level|plan|year|town|field|state] [--level L] [--plan CODE]\n"
        "                    [--compare-previous]";
    cli_opt opts[] = {
        CLI_STRING("from", 0, "Y", "from this plan year"),
        CLI_STRING("to", 0, "Y", "to this plan year"),
        CLI_STRING("year", 0, "Y", "one plan year (--from Y --to Y)"),
        CLI_STRING("as-of", 0, "DATE",
                   "the figures as they stood at the end of DATE (default: today)"),
        CLI_STRING("by", 0, "KEY", "group by level, plan, year, town, field or state"),
        CLI_STRING("level", 0, "L",
                   "only plans of this level: national, provincial, municipal, county, "
                   "provincial_and_above, municipal_and_above"),
        CLI_STRING("plan", 0, "CODE", "only this plan"),
        CLI_FLAG("compare-previous", 0,
                 "each figure beside the year before's (years - 1, as of a year earlier), "
                 "with the growth in %"),
        CLI_END,
    };
    cli_args args = {0};
    stpm_db *db = NULL;
    stpm_error err = STPM_ERROR_INIT;
    stpm_rows *rows = NULL;
    int rc = 0, from = 0, to = 0;
    stpm_report_by by = STPM_REPORT_BY_NONE;
    if (cli_start(
            ctx, usage,
            _("Applied (申报), admitted (廉政准入), approved (立项), funded (资金类), accepted "
              "(验收), terminated\n(终止), rejected and overdue (应结未结) projects with the "
              "amounts requested and approved\nin 万元, the plans and plan kinds covered and the "
              "projects implemented (在研) in the\nperiod, all as of --as-of; see docs/reports.md "
              "for what counts."),
            opts, argc, argv, &args, 0, 0, NULL, &db, &rc) < 0)
        goto cleanup;
    if ((rc = parse_year(cli_opt_get(opts, "from")->value, "from", &from)) != 0 ||
        (rc = parse_year(cli_opt_get(opts, "to")->value, "to", &to)) != 0)
        goto cleanup;
    if (cli_opt_get(opts, "year")->value) {
        if ((rc = parse_year(cli_opt_get(opts, "year")->value, "year", &from)) != 0)
            goto cleanup;
        to = from;
    }
    const char *b = cli_opt_get(opts, "by")->value;
    if (b && stpm_report_by_parse(b, &by) < 0) {
        rc = cli_usage_error(
            "invalid --by \"%s\": expected level, plan, year, town, field or state", b);
        goto cleanup;
    }
    stpm_report_query q = {from,
                           to,
                           by,
                           0,
                           cli_opt_get(opts, "level")->value,
                           cli_opt_get(opts, "plan")->value,
                           cli_opt_get(opts, "compare-previous")->flag};
    if (q.level && stpm_report_level_check(q.level) < 0) {
        rc = cli_usage_error("invalid --level \"%s\": expected national, provincial, municipal, "
                             "county, provincial_and_above or municipal_and_above",
                             q.level);
        goto cleanup;
    }
    if ((rc = cli_as_of(ctx, opts, &q.as_of)) != 0)
        goto cleanup;
    /* the xlsx chart: bars of the counts by group (or of the one total), or this year
     * against the year before */
    static const char *const counts[] = {"applied",  "admitted",   "approved", "funded",
                                         "accepted", "terminated", "overdue",  NULL};
    static const char *const compare[] = {"current", "previous", NULL};
    cli_chart chart = {N_("projects (项目数)"), b ? b : NULL, counts};
    if (q.compare_previous) {
        chart.title = N_("this year and the year before (同比)");
        chart.category = "figure";
        chart.values = compare;
    }
    if (stpm_report_summary(db, &q, &rows, &err) < 0)
        rc = cli_report(&err);
    else
        rc = cli_print_rows_chart(ctx, rows, false, &chart);
cleanup:
    stpm_rows_free(rows);
    stpm_error_clear(&err);
    cli_args_free(&args);
    cli_opts_free(opts);
    return rc;
}

static int cmd_targets(cli_ctx *ctx, int argc, char **argv)
{
    static const char usage[] = "stpm report targets [--year Y] [--as-of DATE]";
    cli_opt opts[] = {
        CLI_STRING("year", 0, "Y", "the plan year (default: the year of --as-of)"),
        CLI_STRING("as-of", 0, "DATE",
                   "the actuals as they stood at the end of DATE (default: today)"),
        CLI_END,
    };
    stpm_date as_of = 0;
    cli_args args = {0};
    stpm_db *db = NULL;
    stpm_error err = STPM_ERROR_INIT;
    stpm_rows *rows = NULL;
    int rc = 0, year = 0;
    if (cli_start(
            ctx, usage,
            _("The year's targets (e.g. 200 applications, 3000 万元) against the actuals, with "
              "the\ncompletion rate (完成率)."),
            opts, argc, argv, &args, 0, 0, NULL, &db, &rc) < 0)
        goto cleanup;
    if ((rc = parse_year(cli_opt_get(opts, "year")->value, "year", &year)) != 0 ||
        (rc = cli_as_of(ctx, opts, &as_of)) != 0)
        goto cleanup;
    if (!year) {
        int m, d;
        stpm_date_to_ymd(as_of, &year, &m, &d);
    }
    if (stpm_report_targets(db, year, as_of, &rows, &err) < 0)
        rc = cli_report(&err);
    else if (ctx->format == CLI_FORMAT_TABLE && stpm_rows_count(rows) == 0)
        printf(_("no targets for %d; an administrator sets them with `stpm report target set`\n"),
               year);
    else {
        static const char *const values[] = {"target", "actual", NULL};
        static const cli_chart chart = {N_("targets and actuals (目标与完成)"), "metric", values};
        rc = cli_print_rows_chart(ctx, rows, false, &chart);
    }
cleanup:
    stpm_rows_free(rows);
    stpm_error_clear(&err);
    cli_args_free(&args);
    cli_opts_free(opts);
    return rc;
}

static int cmd_target(cli_ctx *ctx, int argc, char **argv)
{
    static const char usage[] =
        "stpm report target set --year Y --metric applications|approvals|funded|funding "
        "[--level L] --value V";
    cli_opt opts[] = {
        CLI_STRING("year", 0, "Y", "the plan year"),
        CLI_STRING("metric", 0, "M", "applications, approvals, funded or funding (万元)"),
        CLI_STRING("level", 0, "L",
                   "all (default), national, provincial, municipal, county, "
                   "municipal_and_above, provincial_and_above"),
        CLI_STRING("value", 0, "V", "the target: a count, or 万元 for funding"),
        CLI_END,
    };
    cli_args args = {0};
    stpm_db *db = NULL;
    stpm_error err = STPM_ERROR_INIT;
    int rc = 0, year = 0;
    if (cli_start(ctx, usage, _("Set a year's target (administrators)."), opts, argc, argv, &args,
                  1, 1, NULL, &db, &rc) < 0)
        goto cleanup;
    if (strcmp(args.operands[0], "set") != 0) {
        rc = cli_usage_error("usage: %s", usage);
        goto cleanup;
    }
    const char *metric = cli_opt_get(opts, "metric")->value;
    const char *level = cli_opt_get(opts, "level")->value;
    const char *value = cli_opt_get(opts, "value")->value;
    if ((rc = parse_year(cli_opt_get(opts, "year")->value, "year", &year)) != 0)
        goto cleanup;
    if (!year || !metric || !value) {
        rc = cli_usage_error("report target set needs --year, --metric and --value");
        goto cleanup;
    }
    if (stpm_report_target_set(db, year, metric, level, value, cli_today(ctx), &err) < 0)
        rc = cli_report(&err);
    else
        printf(_("target %d %s (%s): %s\n"), year, metric, level ? level : "all", value);
cleanup:
    stpm_error_clear(&err);
    cli_args_free(&args);
    cli_opts_free(opts);
    return rc;
}

static const cli_command subcommands[] = {
    {"summary", cmd_summary,
     N_("counts and sums (万元) by level, plan, year, town, field or state")},
    {"targets", cmd_targets, N_("the year's targets against the actuals (完成率)")},
    {"target", cmd_target, N_("target set: set a year's target (administrators)")},
    {NULL, NULL, NULL},
};

int cli_cmd_report(cli_ctx *ctx, int argc, char **argv)
{
    return cli_dispatch(ctx, "report", NULL, subcommands, NULL, argc, argv);
}

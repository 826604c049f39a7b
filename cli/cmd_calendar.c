/* stpm calendar list | set | unset | load: the working-day calendar (工作日历) and the
 * administrator's additions to it (调休). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "connect.h"
#include "opts.h"
#include "subcmd.h"
#include "stpm/calstore.h"
#include "table.h"

static const char calendar_intro[] =
    N_("The working-day calendar: holidays (放假) and make-up working days (调休上班). The\n"
       "shipped data is built in; an administrator adds or corrects days, which then count\n"
       "wherever working days do (the wd durations of transitions, the timers of stpm tick).");

static int parse_day(const char *s, stpm_date *out)
{
    if (stpm_date_parse(s, out) < 0)
        return cli_usage_error("invalid date \"%s\": expected YYYY-MM-DD", s);
    return 0;
}

/* After the table: the years (of `year`, or all when 0) whose days are provisional. */
static int print_provisional(stpm_db *db, int year)
{
    stpm_calendar *cal = NULL;
    stpm_error err = STPM_ERROR_INIT;
    int first = 0, last = 0;
    if (stpm_calstore_calendar(db, &cal, &err) < 0)
        return cli_report_clear(&err);
    stpm_calendar_range(cal, &first, &last);
    for (int y = year ? year : first; y && y <= (year ? year : last); y++)
        if (stpm_calendar_year_provisional(cal, y))
            printf(_("%d is provisional: the statutory holidays only, its notice (调休) is not "
                     "yet in the calendar (docs/calendar.md)\n"),
                   y);
    stpm_calendar_free(cal);
    return 0;
}

static int calendar_list(cli_ctx *ctx, int argc, char **argv)
{
    static const char usage[] = "stpm calendar list [--year Y]";
    static const char *const wd[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
    cli_opt opts[] = {
        CLI_STRING("year", 0, "Y", "only the days of this year"),
        CLI_END,
    };
    cli_args a;
    stpm_calday *days = NULL;
    size_t n = 0;
    cli_table *t = NULL;
    int year = 0;
    int rc = 0;
    if (cli_start(ctx, usage, NULL, opts, argc, argv, &a, 0, 0, cli_unexpected_operand, NULL, &rc) <
        0)
        goto cleanup;
    const char *ys = cli_opt_get(opts, "year")->value;
    if (ys) {
        char *end = NULL;
        long y = strtol(ys, &end, 10);
        if (!*ys || *end || y < 1 || y > 9999) {
            rc = cli_usage_error("invalid --year \"%s\": expected a year such as 2021", ys);
            goto cleanup;
        }
        year = (int)y;
    }
    stpm_db *db = NULL;
    if ((rc = cli_connect(ctx, &db)) != 0)
        goto cleanup;
    stpm_error err = STPM_ERROR_INIT;
    if (stpm_calstore_list(db, year, &days, &n, &err) < 0) {
        rc = cli_report_clear(&err);
        goto cleanup;
    }
    static const char *const cols[] = {N_("date"), N_("weekday"), N_("kind"), N_("source"),
                                       N_("note")};
    if (!(t = cli_table_new(5, cols))) {
        rc = 1;
        goto cleanup;
    }
    for (size_t i = 0; i < n; i++) {
        char d[11];
        /* i18n-ok: values of the JSON and CSV too */
        const char *source = days[i].source == STPM_CALDAY_SHIPPED ? "shipped"
                             : days[i].replaces_shipped
                                 ? "added (over shipped)" /* i18n-ok: a value */
                                 : "added";
        const char *row[5] = {stpm_date_format(days[i].date, d),
                              wd[stpm_date_weekday(days[i].date)],
                              days[i].workday ? "workday" : "holiday", source, days[i].note};
        if (cli_table_add_row(t, row) < 0) {
            rc = 1;
            goto cleanup;
        }
    }
    cli_table_print(t, ctx->format, stdout, true);
    if (ctx->format == CLI_FORMAT_TABLE && (rc = print_provisional(db, year)) != 0)
        goto cleanup;
cleanup:
    cli_table_free(t);
    stpm_calstore_list_free(days, n);
    cli_args_free(&a);
    cli_opts_free(opts);
    return rc;
}

static int calendar_set(cli_ctx *ctx, int argc, char **argv)
{
    static const char usage[] = "stpm calendar set DATE --workday|--holiday [--note N]";
    cli_opt opts[] = {
        CLI_FLAG("workday", 0, "the day is a working day (调休上班), even on a weekend"),
        CLI_FLAG("holiday", 0, "the day is a rest day (放假), even on a weekday"),
        CLI_STRING("note", 0, "N", "why, e.g. 县庆 (shown by calendar list)"),
        CLI_END,
    };
    cli_args a;
    stpm_date day = 0;
    int rc = 0;
    if (cli_start(ctx, usage, NULL, opts, argc, argv, &a, 1, 1, _("expected one DATE"), NULL, &rc) <
        0)
        goto cleanup;
    bool w = cli_opt_get(opts, "workday")->flag, h = cli_opt_get(opts, "holiday")->flag;
    if (w == h) {
        rc = cli_usage_error("give exactly one of --workday and --holiday\nusage: %s", usage);
        goto cleanup;
    }
    if ((rc = parse_day(a.operands[0], &day)) != 0)
        goto cleanup;
    const char *note = cli_opt_get(opts, "note")->value;
    stpm_db *db = NULL;
    if ((rc = cli_connect(ctx, &db)) != 0)
        goto cleanup;
    stpm_error err = STPM_ERROR_INIT;
    if (stpm_calstore_set(db, day, w, note, cli_today(ctx), &err) < 0) {
        rc = cli_report_clear(&err);
        goto cleanup;
    }
    printf(_("%s is a %s\n"), a.operands[0], w ? _("working day") : _("holiday"));
cleanup:
    cli_args_free(&a);
    cli_opts_free(opts);
    return rc;
}

static int calendar_unset(cli_ctx *ctx, int argc, char **argv)
{
    static const char usage[] = "stpm calendar unset DATE";
    cli_opt opts[] = {CLI_END};
    cli_args a;
    stpm_date day = 0;
    int rc = 0;
    if (cli_start(ctx, usage, NULL, opts, argc, argv, &a, 1, 1, _("expected one DATE"), NULL, &rc) <
        0)
        goto cleanup;
    if ((rc = parse_day(a.operands[0], &day)) != 0)
        goto cleanup;
    stpm_db *db = NULL;
    if ((rc = cli_connect(ctx, &db)) != 0)
        goto cleanup;
    stpm_error err = STPM_ERROR_INIT;
    if (stpm_calstore_unset(db, day, cli_today(ctx), &err) < 0) {
        rc = cli_report_clear(&err);
        goto cleanup;
    }
    printf(_("removed the added day %s\n"), a.operands[0]);
cleanup:
    cli_args_free(&a);
    cli_opts_free(opts);
    return rc;
}

static int calendar_load(cli_ctx *ctx, int argc, char **argv)
{
    static const char usage[] = "stpm calendar load FILE";
    cli_opt opts[] = {CLI_END};
    cli_args a;
    stpm_db *db = NULL;
    int rc = 0;
    if (cli_start(ctx, usage, NULL, opts, argc, argv, &a, 1, 1, _("expected one calendar FILE"),
                  &db, &rc) < 0)
        goto cleanup;
    stpm_error err = STPM_ERROR_INIT;
    size_t n = 0;
    if (stpm_calstore_load_file(db, a.operands[0], cli_today(ctx), &n, &err) < 0) {
        rc = cli_report_clear(&err);
        goto cleanup;
    }
    printf(_("%s: stored %zu day%s\n"), a.operands[0], n, n == 1 ? "" : "s");
cleanup:
    cli_args_free(&a);
    cli_opts_free(opts);
    return rc;
}

static const cli_command subcommands[] = {
    {"list", calendar_list, N_("holidays and make-up days, shipped and added")},
    {"set", calendar_set, N_("add or replace a day (administrators)")},
    {"unset", calendar_unset, N_("remove an added day (administrators)")},
    {"load", calendar_load, N_("add every day of a calendar file (administrators)")},
    {NULL, NULL, NULL},
};

int cli_cmd_calendar(cli_ctx *ctx, int argc, char **argv)
{
    return cli_dispatch(ctx, "calendar", calendar_intro, subcommands, NULL, argc, argv);
}

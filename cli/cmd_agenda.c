/* stpm agenda: the deadlines ahead (docs/agenda.md). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "commands.h"
#include "connect.h"
#include "opts.h"
#include "output.h"
#include "subcmd.h"
#include "table.h"
#include "stpm/agenda.h"

void cli_print_calendar_warnings(const stpm_calendar_warnings *w)
{
    for (size_t i = 0; i < w->n; i++) {
        if (w->provisional[i])
            fprintf(stderr,
                    _("stpm: warning: working days are counted across %d, whose calendar is "
                      "provisional (statutory holidays only: the year's notice of 调休 is not "
                      "yet in the calendar)\n"),
                    w->years[i]);
        else
            fprintf(stderr,
                    _("stpm: warning: working days are counted across %d, for which the "
                      "calendar has no data (weekends only)\n"),
                    w->years[i]);
    }
}

static void print_table(const cli_ctx *ctx, const stpm_agenda *a)
{
    bool wide = ctx->format != CLI_FORMAT_TABLE;
    static const char *const narrow[] = {N_("status"), N_("due"),      N_("days"),
                                         N_("wd"),     N_("code"),     N_("plan"),
                                         N_("state"),  N_("deadline"), N_("do")};
    static const char *const all[] = {N_("status"),      N_("due"),    N_("days"),  N_("workdays"),
                                      N_("code"),        N_("plan"),   N_("state"), N_("deadline"),
                                      N_("do"),          N_("kind"),   N_("title"), N_("what"),
                                      N_("state_label"), N_("command")};
    size_t ncols = wide ? sizeof(all) / sizeof(all[0]) : sizeof(narrow) / sizeof(narrow[0]);
    cli_table *t = cli_table_new(ncols, wide ? all : narrow);
    if (!t)
        return;
    cli_table_set_kind(t, 2, CLI_COL_NUMBER);
    cli_table_set_kind(t, 3, CLI_COL_NUMBER);
    for (size_t i = 0; i < a->n; i++) {
        const stpm_agenda_item *it = &a->items[i];
        char due[11], days[16], wd[16];
        snprintf(days, sizeof(days), "%d", it->days_left);
        snprintf(wd, sizeof(wd), "%d", it->workdays_left);
        /* i18n-ok: the status is a value of the JSON and CSV too */
        const char *status = it->overdue                                              ? "OVERDUE"
                             : it->kind == STPM_DEADLINE_TIMER && it->due <= a->as_of ? "fires now"
                             : it->days_left == 0                                     ? "today"
                                                                                      : "ahead";
        if (wide)
            status = it->overdue ? "overdue" : strcmp(status, "fires now") == 0 ? "due" : status;
        const char *cells[] = {status,
                               stpm_date_format(it->due, due),
                               days,
                               wd,
                               it->code,
                               it->plan,
                               wide ? it->state : it->state_label,
                               it->label,
                               it->todo,
                               stpm_deadline_kind_name(it->kind),
                               it->title,
                               it->what,
                               it->state_label,
                               it->command};
        cli_table_add_row(t, cells);
    }
    if (a->n || wide)
        cli_table_print(t, ctx->format, stdout, false);
    cli_table_free(t);
    if (!wide) {
        char d1[11], d2[11];
        size_t n_over = 0;
        for (size_t i = 0; i < a->n; i++)
            n_over += a->items[i].overdue;
        printf(_("agenda as of %s: %zu deadline%s up to %s, %zu overdue\n"),
               stpm_date_format(a->as_of, d1), a->n, a->n == 1 ? "" : "s",
               stpm_date_format(a->until, d2), n_over);
    }
}

/* The workbook's second row: the day and the window the agenda was made for (the first
 * names only the options given) and the calendar's warnings. */
static void xlsx_note(const stpm_agenda *a)
{
    char d1[11], d2[11], note[512];
    size_t n_over = 0;
    for (size_t i = 0; i < a->n; i++)
        n_over += a->items[i].overdue;
    int len =
        snprintf(note, sizeof(note), _("agenda as of %s: %zu deadline%s up to %s, %zu overdue"),
                 stpm_date_format(a->as_of, d1), a->n, a->n == 1 ? "" : "s",
                 stpm_date_format(a->until, d2), n_over);
    for (size_t i = 0; i < a->warnings.n && len > 0 && (size_t)len < sizeof(note) - 128; i++)
        len += snprintf(note + len, sizeof(note) - (size_t)len,
                        a->warnings.provisional[i]
                            ? _("; warning: the calendar of %d is provisional (statutory holidays "
                                "only)")
                            : _("; warning: the calendar has no data for %d (weekends only)"),
                        a->warnings.years[i]);
    cli_xlsx_note(note);
}

/* DTSTAMP of the export: the time now in UTC, or midnight of --today when given (so that
 * tests and re-exports with the same date give the same file). */
static void dtstamp(const cli_ctx *ctx, char out[17])
{
    if (ctx->today_set) {
        int y, m, d;
        stpm_date_to_ymd(ctx->today, &y, &m, &d);
        snprintf(out, 17, "%04d%02d%02dT000000Z", y, m, d);
        return;
    }
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}

int cli_cmd_agenda(cli_ctx *ctx, int argc, char **argv)
{
    static const char usage[] = "stpm agenda [--within DURATION] [--as-of DATE] [--plan CODE] "
                                "[--mine] [--format table|json|csv|xlsx|ics] [--alarm DAYS]";
    cli_opt opts[] = {
        CLI_STRING("within", 0, "DURATION", "the window ahead: 20wd (default), 30d, 2mo, 1y"),
        CLI_STRING("as-of", 0, "DATE", "the agenda as of the end of DATE (default: today)"),
        CLI_STRING("plan", 0, "CODE", "only the projects of this plan"),
        CLI_FLAG("mine", 0, "only projects the connected officer acted on or is assigned to"),
        CLI_STRING("format", 0, "FORMAT",
                   "table, json, csv, xlsx (with --output FILE), or ics (an iCalendar file)"),
        CLI_STRING("alarm", 0, "DAYS", "ics: the reminder, days before each deadline (default 3)"),
        CLI_END,
    };
    cli_args args = {0};
    stpm_db *db = NULL;
    stpm_error err = STPM_ERROR_INIT;
    stpm_agenda *a = NULL;
    char *ics = NULL;
    bool as_ics = false;
    int rc = 0, alarm = 3;
    if (cli_start(ctx, usage,
                  "Every deadline ahead within the window, soonest first, the overdue ones "
                  "(应结未结)\nfirst: the due date of each project's state, the timers tick "
                  "fires, the scheduled\nchecks; with the days and working days left and the "
                  "transition that meets each.",
                  opts, argc, argv, &args, 0, 0, NULL, NULL, &rc) < 0)
        goto cleanup;
    stpm_agenda_options o = STPM_AGENDA_OPTIONS_INIT;
    const char *fmt = cli_opt_get(opts, "format")->value;
    const char *within = cli_opt_get(opts, "within")->value;
    const char *alarm_s = cli_opt_get(opts, "alarm")->value;
    if (fmt && strcmp(fmt, "ics") == 0)
        as_ics = true;
    else if (fmt && cli_parse_format(fmt, &ctx->format) < 0) {
        rc = cli_usage_error("unknown format \"%s\": expected table, json, csv, xlsx or ics", fmt);
        goto cleanup;
    }
    if (as_ics && ctx->format == CLI_FORMAT_XLSX) {
        rc = cli_usage_error("--format ics and --format xlsx: give one of them");
        goto cleanup;
    }
    if (within && stpm_duration_parse(within, &o.within_unit, &o.within_n) < 0) {
        rc = cli_usage_error("invalid --within \"%s\": expected a duration such as 20wd, 30d, "
                             "2mo or 1y",
                             within);
        goto cleanup;
    }
    if (alarm_s) {
        char *end = NULL;
        long v = strtol(alarm_s, &end, 10);
        if (!*alarm_s || *end || v < 0 || v > 365) {
            rc = cli_usage_error("invalid --alarm \"%s\": expected a number of days 0..365",
                                 alarm_s);
            goto cleanup;
        }
        alarm = (int)v;
    }
    if ((rc = cli_as_of(ctx, opts, &o.as_of)) != 0)
        goto cleanup;
    o.plan = cli_opt_get(opts, "plan")->value;
    o.mine = cli_opt_get(opts, "mine")->flag;
    if ((rc = cli_connect(ctx, &db)) != 0)
        goto cleanup;
    if (stpm_agenda_list(db, &o, &a, &err) < 0) {
        rc = cli_report(&err);
        goto cleanup;
    }
    cli_print_calendar_warnings(&a->warnings);
    if (as_ics) {
        char stamp[17];
        dtstamp(ctx, stamp);
        if (stpm_agenda_ics(a, alarm, stamp, &ics, &err) < 0) {
            rc = cli_report(&err);
            goto cleanup;
        }
        fputs(ics, stdout);
    } else {
        if (ctx->format == CLI_FORMAT_XLSX)
            xlsx_note(a);
        print_table(ctx, a);
    }
cleanup:
    free(ics);
    stpm_agenda_free(a);
    stpm_error_clear(&err);
    cli_args_free(&args);
    cli_opts_free(opts);
    return rc;
}

/* stpm: parse the global options, find the command in the table, run it. */
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "output.h"
#include "commands.h"
#include "connect.h"
#include "opts.h"
#include "stpm_config.h"

const cli_command cli_commands[] = {
    {"db", cli_cmd_db,
     N_("the database: init | start | stop | status | migrate | backup | restore | archive | "
        "destroy")},
    {"workflow", cli_cmd_workflow,
     N_("workflow definitions: check | load | list | show | graph | migrate")},
    {"plan", cli_cmd_plan, N_("science-and-technology plans (科技计划): add | list | show")},
    {"org", cli_cmd_org,
     N_("organisations: add | list | show | blacklist | unblacklist | conflict")},
    {"user", cli_cmd_user, N_("users and their roles: add | list")},
    {"survey", cli_cmd_survey,
     N_("import the October survey (科技项目调研) into the reserve pool")},
    {"reserve", cli_cmd_reserve, N_("the reserve pool (储备库): list | rank | promote (好中选优)")},
    {"project", cli_cmd_project,
     N_("projects: create | list | show | advance | why | history | attach")},
    {"tick", cli_cmd_tick, N_("fire the timers that are due")},
    {"agenda", cli_cmd_agenda,
     N_("the deadlines ahead, overdue first (also as an iCalendar file)")},
    {"audit", cli_cmd_audit,
     N_("the auditor's view: unclosed | closed | trail | verify | checkpoint")},
    {"report", cli_cmd_report, N_("the bureau's figures: summary | targets | target set")},
    {"calendar", cli_cmd_calendar,
     N_("the working-day calendar (调休): list | set | unset | load")},
    {"demo", cli_cmd_demo, N_("the guided tour on the embedded database")},
    {NULL, NULL, NULL},
};

static const char usage_text[] =
    "stpm [--db CONNINFO] [--home DIR] [--user NAME] [--format table|json|csv|xlsx]\n"
    "     [--output FILE] [--bom] [--headers en|zh] [--today DATE] COMMAND ...";

static void print_main_help(FILE *f)
{
    fprintf(f, _("usage: %s\n\n"), usage_text);
    fprintf(f, _("stpm manages science-and-technology projects (科技项目) from the October survey\n"
                 "through application, integrity admission, approval and checks to acceptance.\n\n"
                 "commands:\n"));
    for (const cli_command *c = cli_commands; c->name; c++)
        fprintf(f, "  %-10s %s\n", c->name, _(c->summary));
    fprintf(f, _("\noptions:\n"
                 "  --db CONNINFO     a libpq connection string or URI (else STPM_DB, else the\n"
                 "                    libpq environment, else the embedded database)\n"
                 "  --home DIR        where the embedded database lives (else STPM_HOME, else\n"
                 "                    $XDG_DATA_HOME/stpm)\n"
                 "  --user NAME       the role to connect as (else the connection's own; on the\n"
                 "                    embedded database, the OS user who runs stpm)\n"
                 "  --format FORMAT   table (default), json, csv or xlsx (a workbook with typed\n"
                 "                    cells and, for reports, a chart; needs --output or a file\n"
                 "                    as standard output)\n"
                 "  --output FILE     write the output to FILE\n"
                 "  --bom             start CSV with a UTF-8 byte-order mark: Excel needs it to\n"
                 "                    read the Chinese text (not for pipelines)\n"
                 "  --headers en|zh   CSV headers: the English keys (default) or in Chinese\n"
                 "  --today DATE      the date to act as of (else STPM_TODAY, else today)\n"
                 "  -h, --help        this help; \"stpm COMMAND --help\" for a command's own\n"
                 "  -V, --version     the version\n\n"
                 "exit status: 0 ok, 1 error, 2 usage, 3 refused by a rule, 4 conflict,\n"
                 "5 bad input data, 6 not found, 7 permission denied, 8 database unavailable\n"));
}

int main(int argc, char **argv)
{
    /* Messages in the user's language (LC_MESSAGES, LANGUAGE), text in UTF-8 (LC_CTYPE);
     * numbers, dates and sorting stay as they are for every locale. */
    setlocale(LC_CTYPE, "");
    setlocale(LC_MESSAGES, "");
    cli_ctx ctx = {0};
    ctx.db = getenv("STPM_DB");
    if (ctx.db && !*ctx.db)
        ctx.db = NULL;
    ctx.home = getenv("STPM_HOME");
    if (ctx.home && !*ctx.home)
        ctx.home = NULL;
    ctx.color = isatty(STDOUT_FILENO) && !getenv("NO_COLOR");
    const char *today = getenv("STPM_TODAY");
    if (today && *today) {
        if (stpm_date_parse(today, &ctx.today) < 0)
            return cli_usage_error("invalid STPM_TODAY \"%s\": expected a date YYYY-MM-DD", today);
        ctx.today_set = true;
    }

    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            print_main_help(stdout);
            return 0;
        } else if (strcmp(a, "-V") == 0 || strcmp(a, "--version") == 0) {
            printf("stpm %s\n", STPM_VERSION);
            return 0;
        } else {
            bool matched;
            int rc = cli_global_option(&ctx, argc, argv, &i, &matched);
            if (rc != 0)
                return rc;
            if (!matched)
                return cli_usage_error("unknown option %s\nTry \"stpm --help\".", a);
        }
    }
    if (i >= argc) {
        print_main_help(stderr);
        return 2;
    }
    const char *name = argv[i];
    for (const cli_command *c = cli_commands; c->name; c++) {
        if (strcmp(c->name, name) == 0) {
            cli_output_args(argc - i, argv + i);
            int rc = c->fn(&ctx, argc - i, argv + i);
            rc = cli_output_end(&ctx, rc);
            cli_disconnect(&ctx);
            fflush(stdout);
            return rc;
        }
    }
    return cli_usage_error("unknown command \"%s\"\nTry \"stpm --help\".", name);
}

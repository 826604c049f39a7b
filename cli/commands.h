/* The entry point of each command group; one file per group (cli/cmd_*.c). */
#ifndef STPM_CLI_COMMANDS_H
#define STPM_CLI_COMMANDS_H

#include "cli.h"
#include "stpm/calendar.h"

/* The table of commands (cli/main.c), terminated by a NULL name. */
extern const cli_command cli_commands[];

/* stpm db init | start | stop | status | migrate (cli/cmd_db.c). */
int cli_cmd_db(cli_ctx *ctx, int argc, char **argv);

/* stpm workflow: check | graph (cli/cmd_workflow.c). */
int cli_cmd_workflow(cli_ctx *ctx, int argc, char **argv);

/* stpm plan add | list | show (cli/cmd_plan.c). */
int cli_cmd_plan(cli_ctx *ctx, int argc, char **argv);

/* stpm org add | list | show | blacklist | unblacklist | conflict (cli/cmd_org.c). */
int cli_cmd_org(cli_ctx *ctx, int argc, char **argv);

/* stpm user add | list (cli/cmd_user.c). */
int cli_cmd_user(cli_ctx *ctx, int argc, char **argv);

/* stpm survey import: the October survey (cli/cmd_survey.c). */
int cli_cmd_survey(cli_ctx *ctx, int argc, char **argv);

/* stpm reserve list | rank | promote (cli/cmd_reserve.c). */
int cli_cmd_reserve(cli_ctx *ctx, int argc, char **argv);

/* stpm project create | list | show | history | attach | advance | why (cli/cmd_project.c). */
int cli_cmd_project(cli_ctx *ctx, int argc, char **argv);

/* stpm tick: fire due timers (cli/cmd_tick.c). */
int cli_cmd_tick(cli_ctx *ctx, int argc, char **argv);

/* stpm agenda: the deadlines ahead (cli/cmd_agenda.c). */
int cli_cmd_agenda(cli_ctx *ctx, int argc, char **argv);

/* The calendar warnings of a working-day count, one line each on stderr (cli/cmd_agenda.c). */
void cli_print_calendar_warnings(const stpm_calendar_warnings *w);

/* stpm audit unclosed | closed | trail | verify | checkpoint (cli/cmd_audit.c). */
int cli_cmd_audit(cli_ctx *ctx, int argc, char **argv);
/* stpm report summary | targets | target set (cli/cmd_report.c). */
int cli_cmd_report(cli_ctx *ctx, int argc, char **argv);

/* stpm calendar list | set | unset | load: the working-day calendar (cli/cmd_calendar.c). */
int cli_cmd_calendar(cli_ctx *ctx, int argc, char **argv);

/* Print what "stpm db status" prints for the resolved database; returns the exit status
 * (0 when it answers, 8 when not). Shared with stpm demo. */
int cli_db_show_status(cli_ctx *ctx);

/* stpm demo: the guided tour on the embedded database (cli/cmd_demo.c). */
int cli_cmd_demo(cli_ctx *ctx, int argc, char **argv);

#endif

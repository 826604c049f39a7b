/* The entry point of each command group; one file per group (cli/cmd_*.c). */
#ifndef STPM_CLI_COMMANDS_H
#define STPM_CLI_COMMANDS_H

#include "cli.h"

/* The table of commands (cli/main.c), terminated by a NULL name. */
extern const cli_command cli_commands[];

/* stpm survey import: the October survey (cli/cmd_survey.c). */
int cli_cmd_survey(cli_ctx *ctx, int argc, char **argv);

#endif

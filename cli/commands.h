/* The entry point of each command group; one file per group (cli/cmd_*.c). */
#ifndef STPM_CLI_COMMANDS_H
#define STPM_CLI_COMMANDS_H

#include "cli.h"

/* The table of commands (cli/main.c), terminated by a NULL name. */
extern const cli_command cli_commands[];

/* stpm workflow: check | graph (cli/cmd_workflow.c). */
int cli_cmd_workflow(cli_ctx *ctx, int argc, char **argv);

#endif

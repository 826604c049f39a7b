/* Command groups with subcommands ("stpm project advance ..."): one table, one dispatcher. */
#ifndef STPM_CLI_SUBCMD_H
#define STPM_CLI_SUBCMD_H

#include "cli.h"

/*
 * Run the subcommand argv[1] of `group` from subs (a cli_command table ended by a NULL
 * name), passing it argv[1..]. With no subcommand, prints the group's help to stderr and
 * returns 2; with -h/--help, to stdout and returns 0; an unknown one is a usage error.
 * intro (may be NULL) is printed before the list of subcommands, footer (may be NULL)
 * after it.
 */
int cli_dispatch(cli_ctx *ctx, const char *group, const char *intro, const cli_command *subs,
                 const char *footer, int argc, char **argv);

/*
 * The common start of a subcommand: parse argv against opts, print help for -h/--help,
 * check that there are min_ops..max_ops operands, and connect when db is not NULL.
 * A wrong operand count is a usage error: "usage: USAGE" when operands_msg is NULL,
 * "OPERANDS_MSG\nusage: USAGE" otherwise (e.g. "expected one plan CODE"), and
 * "unexpected argument \"OPERAND\"\nusage: USAGE" naming the first surplus operand
 * when operands_msg is cli_unexpected_operand and there are too many.
 * Returns 0 to go on, or -1 when the caller should return *rc at once (0 after help).
 */
struct cli_opt;
struct cli_args;
struct stpm_db;
int cli_start(cli_ctx *ctx, const char *usage, const char *summary, struct cli_opt *opts, int argc,
              char **argv, struct cli_args *args, int min_ops, int max_ops,
              const char *operands_msg, struct stpm_db **db, int *rc);

/* The operands_msg of cli_start that names the first surplus operand. */
extern const char cli_unexpected_operand[];

#endif

/*
 * Table-driven option parsing for stpm's commands (in the manner of git's parse-options):
 * each command declares its options once; the same table parses argv and prints help.
 * Options and operands may be interleaved; "--" ends the options. The global options
 * (--db, --home, --format, --today) are accepted by every command too.
 */
#ifndef STPM_CLI_OPTS_H
#define STPM_CLI_OPTS_H

#include <stdbool.h>
#include <stddef.h>

#include "cli.h"

typedef enum {
    CLI_OPT_FLAG,   /* --name: sets flag */
    CLI_OPT_STRING, /* --name VALUE or --name=VALUE: the last one wins */
    CLI_OPT_LIST,   /* --name VALUE, repeatable: every value kept in order */
    CLI_OPT_END
} cli_opt_kind;

typedef struct cli_opt {
    cli_opt_kind kind;
    const char *name; /* long name without "--" */
    char short_name;  /* or 0 */
    const char *arg;  /* placeholder in help, e.g. "FILE" */
    const char *help;
    /* results */
    bool flag;
    const char *value;
    const char **values;
    size_t n_values;
} cli_opt;

#define CLI_FLAG(n, s, h)                                                                          \
    {                                                                                              \
        CLI_OPT_FLAG, n, s, NULL, h, false, NULL, NULL, 0                                          \
    }
#define CLI_STRING(n, s, a, h)                                                                     \
    {                                                                                              \
        CLI_OPT_STRING, n, s, a, h, false, NULL, NULL, 0                                           \
    }
#define CLI_LIST(n, s, a, h)                                                                       \
    {                                                                                              \
        CLI_OPT_LIST, n, s, a, h, false, NULL, NULL, 0                                             \
    }
#define CLI_END                                                                                    \
    {                                                                                              \
        CLI_OPT_END, NULL, 0, NULL, NULL, false, NULL, NULL, 0                                     \
    }

typedef struct cli_args {
    char **operands; /* the non-option arguments, in order (argv[0] excluded) */
    int n_operands;
    bool help; /* -h / --help was given: the caller prints help and returns 0 */
} cli_args;

/*
 * Parse argv[1..argc) against opts (terminated by CLI_END). Global options found are
 * applied to ctx. On a bad option prints a usage error and returns 2; on an option value
 * or operand that is not valid UTF-8, an error naming it (see cli_check_text) and returns
 * 5; else 0.
 * Free with cli_args_free and cli_opts_free.
 */
int cli_parse(cli_ctx *ctx, const char *usage, cli_opt *opts, int argc, char **argv, cli_args *out);
void cli_args_free(cli_args *args);
void cli_opts_free(cli_opt *opts);

/*
 * 0 when value is valid UTF-8; else prints an error naming the argument (e.g. "--title",
 * "--set town", "FILE") and the first bad byte, and returns 5 (bad input data). cli_parse
 * checks every option value and operand with it, so nothing invalid reaches the server.
 */
int cli_check_text(const char *name, const char *value);

/*
 * When argv[*i] is a global option (--db, --home, --user, --format, --output, --today,
 * --bom; "--name=value" or "--name value", then *i moves past the value), check its value
 * as cli_parse does, apply it to ctx and set *matched; returns 0, or the exit code of a
 * usage error (2) or of text that is not UTF-8 (5). Not a global option: *matched false, 0.
 */
int cli_global_option(cli_ctx *ctx, int argc, char **argv, int *i, bool *matched);

/* Print "usage: USAGE" and the options table to f. */
void cli_print_help(FILE *f, const char *usage, const char *summary, const cli_opt *opts);

/* Find an option's result by long name (asserts that it exists). */
cli_opt *cli_opt_get(cli_opt *opts, const char *name);

#endif

/* The dispatcher of command groups: see subcmd.h. */
#include "subcmd.h"

#include <string.h>

#include "connect.h"
#include "opts.h"

static void print_group_help(FILE *f, const char *group, const char *intro, const cli_command *subs,
                             const char *footer)
{
    fprintf(f, _("usage: stpm %s SUBCOMMAND ...\n\n"), group);
    if (intro)
        fprintf(f, "%s\n\n", _(intro));
    fprintf(f, _("subcommands:\n"));
    int width = 0;
    for (const cli_command *s = subs; s->name; s++)
        if ((int)strlen(s->name) > width)
            width = (int)strlen(s->name);
    for (const cli_command *s = subs; s->name; s++)
        fprintf(f, "  %-*s  %s\n", width, s->name, _(s->summary));
    fprintf(f, _("\n\"stpm %s SUBCOMMAND --help\" tells more.\n"), group);
    if (footer)
        fprintf(f, "%s\n", _(footer));
}

int cli_dispatch(cli_ctx *ctx, const char *group, const char *intro, const cli_command *subs,
                 const char *footer, int argc, char **argv)
{
    if (argc < 2) {
        print_group_help(stderr, group, intro, subs, footer);
        return 2;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        print_group_help(stdout, group, intro, subs, footer);
        return 0;
    }
    for (const cli_command *s = subs; s->name; s++)
        if (strcmp(s->name, argv[1]) == 0)
            return s->fn(ctx, argc - 1, argv + 1);
    return cli_usage_error("unknown subcommand \"%s %s\"\nTry \"stpm %s --help\".", group, argv[1],
                           group);
}

const char cli_unexpected_operand[] = N_("unexpected argument");

int cli_start(cli_ctx *ctx, const char *usage, const char *summary, cli_opt *opts, int argc,
              char **argv, cli_args *args, int min_ops, int max_ops, const char *operands_msg,
              stpm_db **db, int *rc)
{
    *rc = cli_parse(ctx, usage, opts, argc, argv, args);
    if (*rc)
        return -1;
    if (args->help) {
        cli_print_help(stdout, usage, summary, opts);
        return -1;
    }
    if (args->n_operands < min_ops || args->n_operands > max_ops) {
        if (!operands_msg)
            *rc = cli_usage_error("usage: %s", usage);
        else if (operands_msg == cli_unexpected_operand && args->n_operands > max_ops)
            *rc = cli_usage_error("unexpected argument \"%s\"\nusage: %s", args->operands[max_ops],
                                  usage);
        else
            *rc = cli_usage_error("%s\nusage: %s", _(operands_msg), usage);
        return -1;
    }
    if (db && (*rc = cli_connect(ctx, db)) != 0)
        return -1;
    return 0;
}

/* stpm workflow: check and draw workflow definitions (the database subcommands — load,
 * list, show — join the table below). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "opts.h"
#include "table.h"
#include "stpm/workflow.h"

typedef struct wf_subcommand {
    const char *name;
    int (*fn)(cli_ctx *ctx, int argc, char **argv);
    const char *summary;
} wf_subcommand;

static int cmd_check(cli_ctx *ctx, int argc, char **argv)
{
    static const char usage[] = "stpm workflow check FILE...";
    cli_opt opts[] = {CLI_END};
    cli_args args = {0};
    cli_table *table = NULL;
    int rc = cli_parse(ctx, usage, opts, argc, argv, &args);
    if (rc)
        goto cleanup;
    if (args.help) {
        cli_print_help(stdout, usage,
                       "Load and validate workflow files without a database. Prints one line "
                       "per file,\nor every problem as FILE:LINE:COL: message (exit 5).",
                       opts);
        goto cleanup;
    }
    if (args.n_operands == 0) {
        rc = cli_usage_error("workflow check needs at least one FILE");
        goto cleanup;
    }
    static const char *const cols[] = {"file",   "status",      "workflow", "version",
                                       "states", "transitions", "digest"};
    table = cli_table_new(7, cols);
    if (!table) {
        rc = 1;
        goto cleanup;
    }
    cli_table_set_kind(table, 3, CLI_COL_NUMBER);
    cli_table_set_kind(table, 4, CLI_COL_NUMBER);
    cli_table_set_kind(table, 5, CLI_COL_NUMBER);
    for (int i = 0; i < args.n_operands; i++) {
        const char *path = args.operands[i];
        stpm_workflow *wf = NULL;
        stpm_error err = STPM_ERROR_INIT;
        if (stpm_workflow_load_file(&wf, path, &err) < 0) {
            int r = cli_report(&err);
            if (r > rc)
                rc = r;
            const char *cells[7] = {path, "invalid", NULL, NULL, NULL, NULL, NULL};
            cli_table_add_row(table, cells);
        } else {
            char v[16], ns[24], nt[24];
            snprintf(v, sizeof(v), "%d", stpm_workflow_version(wf));
            snprintf(ns, sizeof(ns), "%zu", stpm_workflow_n_states(wf));
            snprintf(nt, sizeof(nt), "%zu", stpm_workflow_n_transitions(wf));
            if (ctx->format == CLI_FORMAT_TABLE)
                printf("%s: ok (workflow %s version %s, %s states, %s transitions)\n", path,
                       stpm_workflow_name(wf), v, ns, nt);
            const char *cells[7] = {path, "ok", stpm_workflow_name(wf),  v,
                                    ns,   nt,   stpm_workflow_digest(wf)};
            cli_table_add_row(table, cells);
        }
        stpm_workflow_free(wf);
        stpm_error_clear(&err);
    }
    if (ctx->format != CLI_FORMAT_TABLE)
        cli_table_print(table, ctx->format, stdout, false);
cleanup:
    cli_table_free(table);
    cli_args_free(&args);
    cli_opts_free(opts);
    return rc;
}

static int cmd_graph(cli_ctx *ctx, int argc, char **argv)
{
    static const char usage[] = "stpm workflow graph FILE [--as dot|mermaid]";
    cli_opt opts[] = {
        CLI_STRING("as", 0, "FORMAT", "dot (Graphviz, the default) or mermaid"),
        CLI_STRING("format", 0, "FORMAT", "the same as --as (for this command only)"),
        CLI_END,
    };
    cli_args args = {0};
    stpm_workflow *wf = NULL;
    stpm_error err = STPM_ERROR_INIT;
    char *text = NULL;
    int rc = cli_parse(ctx, usage, opts, argc, argv, &args);
    if (rc)
        goto cleanup;
    if (args.help) {
        cli_print_help(stdout, usage,
                       "Draw a workflow file as Graphviz DOT (render with \"dot -Tsvg\") or as a "
                       "Mermaid\nstate diagram.",
                       opts);
        goto cleanup;
    }
    if (args.n_operands != 1) {
        rc = cli_usage_error("workflow graph needs exactly one FILE");
        goto cleanup;
    }
    const char *as = cli_opt_get(opts, "as")->value;
    if (!as)
        as = cli_opt_get(opts, "format")->value;
    stpm_graph_format fmt = STPM_GRAPH_DOT;
    if (!as || strcmp(as, "dot") == 0)
        fmt = STPM_GRAPH_DOT;
    else if (strcmp(as, "mermaid") == 0)
        fmt = STPM_GRAPH_MERMAID;
    else {
        rc = cli_usage_error("unknown graph format \"%s\": expected dot or mermaid", as);
        goto cleanup;
    }
    if (stpm_workflow_load_file(&wf, args.operands[0], &err) < 0 ||
        stpm_workflow_graph(wf, fmt, &text, &err) < 0) {
        rc = cli_report(&err);
        goto cleanup;
    }
    fputs(text, stdout);
cleanup:
    free(text);
    stpm_workflow_free(wf);
    stpm_error_clear(&err);
    cli_args_free(&args);
    cli_opts_free(opts);
    return rc;
}

static const wf_subcommand subcommands[] = {
    {"check", cmd_check, "validate workflow files (no database)"},
    {"graph", cmd_graph, "draw a workflow file as DOT or Mermaid"},
    {NULL, NULL, NULL},
};

static void print_help(FILE *f)
{
    fprintf(f, "usage: stpm workflow SUBCOMMAND ...\n\nsubcommands:\n");
    for (const wf_subcommand *s = subcommands; s->name; s++)
        fprintf(f, "  %-8s %s\n", s->name, s->summary);
    fprintf(f, "\nThe format of workflow files is described in docs/workflows.md.\n");
}

int cli_cmd_workflow(cli_ctx *ctx, int argc, char **argv)
{
    if (argc < 2) {
        print_help(stderr);
        return 2;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        print_help(stdout);
        return 0;
    }
    for (const wf_subcommand *s = subcommands; s->name; s++)
        if (strcmp(s->name, argv[1]) == 0)
            return s->fn(ctx, argc - 1, argv + 1);
    return cli_usage_error("unknown subcommand \"workflow %s\"\nTry \"stpm workflow --help\".",
                           argv[1]);
}

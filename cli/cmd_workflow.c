/* stpm workflow: check and draw workflow definitions (the database subcommands — load,
 * list, show — join the table below). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "opts.h"
#include "subcmd.h"
#include "table.h"
#include "connect.h"
#include "rows.h"
#include "stpm/project.h"
#include "stpm/reserve.h"
#include "stpm/wfstore.h"
#include "stpm/workflow.h"
#include <unistd.h>

/* workflows/scoring.yaml lives beside the workflows (so a glob of the folder's YAML files
 * names it) but is the reserve's scoring scheme: say so on stderr and skip it. */
static bool skip_scoring(const char *path)
{
    if (!stpm_scoring_file_is(path))
        return false;
    fputs(_("stpm: note: "), stderr);
    cli_put_escaped(stderr, path);
    fputs(_(" is a scoring file (docs/scoring.md), not a workflow: skipped\n"), stderr);
    return true;
}

static int cmd_check(cli_ctx *ctx, int argc, char **argv)
{
    static const char usage[] = "stpm workflow check FILE...";
    cli_opt opts[] = {CLI_END};
    cli_args args = {0};
    cli_table *table = NULL;
    int rc = 0;
    if (cli_start(ctx, usage,
                  _("Load and validate workflow files without a database. Prints one line "
                    "per file,\nor every problem as FILE:LINE:COL: message (exit 5). "
                    "Warnings (FILE:LINE:COL: warning: ...)\ngo to standard error and leave "
                    "the exit status alone."),
                  opts, argc, argv, &args, 0, INT_MAX, NULL, NULL, &rc) < 0)
        goto cleanup;
    if (args.n_operands == 0) {
        rc = cli_usage_error("workflow check needs at least one FILE");
        goto cleanup;
    }
    static const char *const cols[] = {N_("file"),    N_("status"), N_("workflow"),
                                       N_("version"), N_("states"), N_("transitions"),
                                       N_("digest")};
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
        if (skip_scoring(path)) {
            const char *cells[7] = {path, "skipped", NULL, NULL, NULL, NULL, NULL};
            cli_table_add_row(table, cells);
            continue;
        }
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
            for (size_t w = 0; w < stpm_workflow_n_warnings(wf); w++)
                cli_print_diag(stpm_workflow_warning(wf, w));
            if (ctx->format == CLI_FORMAT_TABLE)
                printf(_("%s: ok (workflow %s version %s, %s states, %s transitions)\n"), path,
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

/* A stored workflow NAME[@VERSION], or a file when the operand names one. On failure
 * *rc is the exit status (connection failures are reported already). */
static int load_named_or_file(cli_ctx *ctx, const char *arg, stpm_workflow **wf, stpm_error *err,
                              int *rc)
{
    if (access(arg, F_OK) == 0 || strchr(arg, '/') || strchr(arg, '.'))
        return stpm_workflow_load_file(wf, arg, err);
    stpm_db *db = NULL;
    if ((*rc = cli_connect(ctx, &db)) != 0)
        return -1;
    char *name = NULL;
    int version = 0;
    int r = stpm_wfstore_parse_ref(arg, &name, &version, err);
    if (r == 0)
        r = stpm_wfstore_get(db, name, version, wf, err);
    free(name);
    return r;
}

static int cmd_graph(cli_ctx *ctx, int argc, char **argv)
{
    static const char usage[] = "stpm workflow graph NAME[@VERSION]|FILE [--as dot|mermaid]";
    cli_opt opts[] = {
        CLI_STRING("as", 0, "FORMAT", "dot (Graphviz, the default) or mermaid"),
        CLI_STRING("format", 0, "FORMAT", "the same as --as (for this command only)"),
        CLI_END,
    };
    cli_args args = {0};
    stpm_workflow *wf = NULL;
    stpm_error err = STPM_ERROR_INIT;
    char *text = NULL;
    int rc = 0;
    if (cli_start(ctx, usage,
                  _("Draw a workflow file as Graphviz DOT (render with \"dot -Tsvg\") or as a "
                    "Mermaid\nstate diagram."),
                  opts, argc, argv, &args, 0, INT_MAX, NULL, NULL, &rc) < 0)
        goto cleanup;
    if (args.n_operands != 1) {
        rc = cli_usage_error("workflow graph needs exactly one NAME or FILE");
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
    if (load_named_or_file(ctx, args.operands[0], &wf, &err, &rc) < 0 ||
        stpm_workflow_graph(wf, fmt, &text, &err) < 0) {
        rc = rc ? rc : cli_report(&err);
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

static int cmd_load(cli_ctx *ctx, int argc, char **argv)
{
    static const char usage[] = "stpm workflow load FILE...";
    cli_opt opts[] = {CLI_END};
    cli_args args = {0};
    stpm_db *db = NULL;
    int rc = cli_parse(ctx, usage, opts, argc, argv, &args);
    if (rc)
        goto cleanup;
    if (args.help) {
        cli_print_help(stdout, usage,
                       _("Validate workflow files and store each as an immutable version. Loading "
                         "the same\nversion again changes nothing; another file under a stored "
                         "version is refused (exit 5)."),
                       opts);
        goto cleanup;
    }
    if (args.n_operands == 0) {
        rc = cli_usage_error("workflow load needs at least one FILE");
        goto cleanup;
    }
    if ((rc = cli_connect(ctx, &db)) != 0)
        goto cleanup;
    for (int i = 0; i < args.n_operands; i++) {
        stpm_workflow *wf = NULL;
        stpm_error err = STPM_ERROR_INIT;
        stpm_wfstore_outcome outcome;
        if (skip_scoring(args.operands[i]))
            continue;
        if (stpm_workflow_load_file(&wf, args.operands[i], &err) < 0 ||
            stpm_wfstore_put(db, wf, &outcome, &err) < 0) {
            int r = cli_report(&err);
            if (r > rc)
                rc = r;
        } else if (outcome == STPM_WFSTORE_UNCHANGED) {
            printf(_("%s: workflow %s version %d is already stored with this digest, unchanged\n"),
                   args.operands[i], stpm_workflow_name(wf), stpm_workflow_version(wf));
        } else {
            printf(_("%s: stored workflow %s version %d (digest %.12s)\n"), args.operands[i],
                   stpm_workflow_name(wf), stpm_workflow_version(wf), stpm_workflow_digest(wf));
        }
        stpm_workflow_free(wf);
        stpm_error_clear(&err);
    }
cleanup:
    cli_args_free(&args);
    cli_opts_free(opts);
    return rc;
}

static int cmd_list(cli_ctx *ctx, int argc, char **argv)
{
    static const char usage[] = "stpm workflow list";
    cli_opt opts[] = {CLI_END};
    cli_args args = {0};
    stpm_db *db = NULL;
    stpm_rows *rows = NULL;
    stpm_error err = STPM_ERROR_INIT;
    int rc = 0;
    if (cli_start(ctx, usage, _("List the stored workflow versions."), opts, argc, argv, &args, 0,
                  INT_MAX, NULL, NULL, &rc) < 0)
        goto cleanup;
    if (args.n_operands) {
        rc = cli_usage_error("workflow list takes no operands");
        goto cleanup;
    }
    if ((rc = cli_connect(ctx, &db)) != 0)
        goto cleanup;
    if (stpm_wfstore_list(db, &rows, &err) < 0)
        rc = cli_report(&err);
    else
        rc = cli_print_rows(ctx, rows, true);
cleanup:
    stpm_rows_free(rows);
    stpm_error_clear(&err);
    cli_args_free(&args);
    cli_opts_free(opts);
    return rc;
}

/* The `checks:` block, when there is one: NAME LABEL after DURATION of FIELD in STATES
 * and the outcome transitions. */
static void show_scheduled_checks(const stpm_workflow *wf)
{
    if (stpm_workflow_n_scheduled_checks(wf) == 0)
        return;
    char dur[24];
    printf(_("\nchecks:\n"));
    for (size_t i = 0; i < stpm_workflow_n_scheduled_checks(wf); i++) {
        const stpm_wf_scheduled_check *c = stpm_workflow_scheduled_check(wf, i);
        printf(_("  %-12s %s  after %s of %s  in "), c->name, c->label,
               stpm_wf_duration_format(c->after, dur), c->of);
        for (size_t j = 0; j < c->n_in; j++)
            printf("%s%s", j ? "|" : "", c->in[j]);
        printf(_("  pass: %s"), c->pass);
        if (c->rectify)
            printf(_("  rectify: %s"), c->rectify);
        if (c->fail)
            printf(_("  fail: %s"), c->fail);
        putchar('\n');
    }
}

static void show_workflow(const stpm_workflow *wf)
{
    char buf[32], dur[24];
    printf(_("workflow  %s\nversion   %d\ntitle     %s\ndigest    %s\ninitial   %s\n\nstates:\n"),
           stpm_workflow_name(wf), stpm_workflow_version(wf), stpm_workflow_title(wf),
           stpm_workflow_digest(wf), stpm_workflow_initial(wf));
    for (size_t i = 0; i < stpm_workflow_n_states(wf); i++) {
        const stpm_wf_state *s = stpm_workflow_state(wf, i);
        printf("  %-14s %s%s%s", s->name, s->label ? s->label : "", s->final ? "  final" : "",
               s->closed ? " closed" : "");
        if (s->due)
            printf(_("  due: %s"), s->due);
        if (s->has_timeout)
            printf(_("  timeout: %s → %s"), stpm_wf_duration_format(s->timeout_after, dur),
                   s->timeout_transition);
        putchar('\n');
    }
    printf(_("\nfields:\n"));
    for (size_t i = 0; i < stpm_workflow_n_fields(wf); i++) {
        const stpm_wf_field *f = stpm_workflow_field(wf, i);
        if (f->builtin)
            continue;
        printf("  %-20s %-8s %s\n", f->name, stpm_field_type_name(f->type),
               f->label ? f->label : "");
    }
    printf(_("\ndocuments:\n"));
    for (size_t i = 0; i < stpm_workflow_n_documents(wf); i++) {
        const stpm_wf_document *d = stpm_workflow_document(wf, i);
        printf("  %-20s %s\n", d->kind, d->label);
    }
    show_scheduled_checks(wf);
    printf(_("\ntransitions:\n"));
    for (size_t i = 0; i < stpm_workflow_n_transitions(wf); i++) {
        const stpm_wf_transition *t = stpm_workflow_transition(wf, i);
        printf("  %-12s ", t->name);
        for (size_t j = 0; j < t->n_from; j++)
            printf("%s%s", j ? "|" : "", t->from[j]);
        printf(" → %s  [%s]%s", t->to, stpm_roles_format(t->roles, buf), t->label ? t->label : "");
        for (size_t j = 0; j < t->n_inputs; j++)
            printf("%s%s", j ? ", " : _("  input: "), t->inputs[j]);
        putchar('\n');
    }
}

static int cmd_show(cli_ctx *ctx, int argc, char **argv)
{
    static const char usage[] = "stpm workflow show NAME[@VERSION]";
    cli_opt opts[] = {CLI_END};
    cli_args args = {0};
    stpm_db *db = NULL;
    stpm_workflow *wf = NULL;
    stpm_error err = STPM_ERROR_INIT;
    char *name = NULL;
    int version = 0;
    int rc = cli_parse(ctx, usage, opts, argc, argv, &args);
    if (rc)
        goto cleanup;
    if (args.help) {
        cli_print_help(stdout, usage,
                       _("Show a stored workflow version (the newest when no version is given), "
                         "parsed again\nfrom its stored source; --format json prints the source "
                         "with its digest."),
                       opts);
        goto cleanup;
    }
    if (args.n_operands != 1) {
        rc = cli_usage_error("workflow show needs exactly one NAME[@VERSION]");
        goto cleanup;
    }
    if ((rc = cli_connect(ctx, &db)) != 0)
        goto cleanup;
    if (stpm_wfstore_parse_ref(args.operands[0], &name, &version, &err) < 0 ||
        stpm_wfstore_get(db, name, version, &wf, &err) < 0) {
        rc = cli_report(&err);
        goto cleanup;
    }
    if (ctx->format == CLI_FORMAT_TABLE) {
        show_workflow(wf);
    } else {
        static const char *const cols[] = {N_("workflow"), N_("version"), N_("title"), N_("digest"),
                                           N_("source")};
        char v[16];
        snprintf(v, sizeof(v), "%d", stpm_workflow_version(wf));
        const char *cells[] = {stpm_workflow_name(wf), v, stpm_workflow_title(wf),
                               stpm_workflow_digest(wf), stpm_workflow_source(wf, NULL)};
        cli_table *t = cli_table_new(5, cols);
        if (t) {
            cli_table_set_kind(t, 1, CLI_COL_NUMBER);
            cli_table_add_row(t, cells);
            cli_table_print(t, ctx->format, stdout, false);
            cli_table_free(t);
        }
    }
cleanup:
    free(name);
    stpm_workflow_free(wf);
    stpm_error_clear(&err);
    cli_args_free(&args);
    cli_opts_free(opts);
    return rc;
}

/* "PREFIX: TEXT", malloc'd (NULL when out of memory). */
static char *joined(const char *prefix, const char *text)
{
    size_t n = strlen(prefix) + 2 + strlen(text ? text : "") + 1;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%s: %s", prefix, text ? text : "");
    return s;
}

/* The decisions of a migration as a table: code, from, state, outcome, missing. */
static void print_migration(cli_ctx *ctx, const stpm_migrate_report *rep, bool done)
{
    static const char *const cols[] = {N_("code"), N_("from"), N_("state"), N_("outcome"),
                                       N_("missing")};
    cli_table *t = cli_table_new(5, cols);
    if (!t)
        return;
    cli_table_set_kind(t, 1, CLI_COL_NUMBER);
    for (size_t i = 0; i < rep->n; i++) {
        const stpm_migrate_item *it = &rep->items[i];
        char v[16], *outcome = NULL;
        snprintf(v, sizeof(v), "%d", it->from_version);
        switch (it->outcome) {
        case STPM_OUTCOME_OK:
            outcome = strdup(done ? "moved" : "moves");
            break;
        case STPM_OUTCOME_REFUSED:
            outcome = joined("stranded", it->message);
            break;
        default:
            outcome = joined(stpm_outcome_name(it->outcome), it->message);
            break;
        }
        const char *cells[] = {it->code, v, it->state, outcome, it->missing};
        cli_table_add_row(t, cells);
        free(outcome);
    }
    cli_table_print(t, ctx->format, stdout, false);
    cli_table_free(t);
}

static int cmd_migrate(cli_ctx *ctx, int argc, char **argv)
{
    static const char usage[] = "stpm workflow migrate NAME --to VERSION [--plan CODE] [--dry-run]";
    cli_opt opts[] = {
        CLI_STRING("to", 0, "VERSION", "the stored version to move the projects to (required)"),
        CLI_STRING("plan", 0, "CODE", "only the projects of this plan"),
        CLI_FLAG("dry-run", 'n', "print the plan, move nothing"),
        CLI_END,
    };
    cli_args args = {0};
    stpm_db *db = NULL;
    stpm_error err = STPM_ERROR_INIT;
    stpm_migrate_report rep = STPM_MIGRATE_REPORT_INIT;
    int rc = 0;
    if (cli_start(
            ctx, usage,
            _("Move the projects of workflow NAME pinned to an older version to VERSION. "
              "The plan\ncomes first: per project its version, state and outcome — moves, or "
              "stranded when\nits state does not exist in VERSION or has no transition out "
              "there (stranded\nprojects stay pinned). Fields VERSION requires in the state "
              "that the project lacks\nare listed, not blocking. Each project moves "
              "atomically with a 'migrate' event;\nexit 3 when some were stranded (the others "
              "still move). Administrators only."),
            opts, argc, argv, &args, 1, 1, _("expected one workflow NAME"), NULL, &rc) < 0)
        goto cleanup;
    const char *to = cli_opt_get(opts, "to")->value;
    if (!to) {
        rc = cli_usage_error("workflow migrate needs --to VERSION\nusage: %s", usage);
        goto cleanup;
    }
    char *end = NULL;
    long version = strtol(to, &end, 10);
    if (!*to || *end || version <= 0 || version > 1000000) {
        rc = cli_usage_error("invalid --to \"%s\": expected a positive version number", to);
        goto cleanup;
    }
    const char *plan = cli_opt_get(opts, "plan")->value;
    bool dry_run = cli_opt_get(opts, "dry-run")->flag;
    const char *name = args.operands[0];
    if ((rc = cli_connect(ctx, &db)) != 0)
        goto cleanup;
    stpm_date today = cli_today(ctx);
    /* The plan first, always: what would happen to every project. */
    if (stpm_project_migrate(db, name, (int)version, plan, true, today, &rep, &err) < 0) {
        rc = cli_report_clear(&err);
        goto cleanup;
    }
    if (ctx->format == CLI_FORMAT_TABLE) {
        printf(_("plan: workflow %s to version %ld: %zu project%s, %zu move%s, %zu stranded\n"),
               name, version, rep.n, rep.n == 1 ? "" : "s", rep.n_moved,
               rep.n_moved == 1 ? "s" : "", rep.n_stranded);
        if (rep.n)
            print_migration(ctx, &rep, false);
    }
    if (!dry_run) {
        if (stpm_project_migrate(db, name, (int)version, plan, false, today, &rep, &err) < 0) {
            rc = cli_report_clear(&err);
            goto cleanup;
        }
        if (ctx->format == CLI_FORMAT_TABLE) {
            printf(_("moved %zu project%s to %s version %ld"), rep.n_moved,
                   rep.n_moved == 1 ? "" : "s", name, version);
            if (rep.n_stranded)
                printf(_("; %zu stranded, left on %s version"), rep.n_stranded,
                       rep.n_stranded == 1 ? "its" : "their");
            putchar('\n');
            for (size_t i = 0; i < rep.n; i++)
                if (rep.items[i].outcome == STPM_OUTCOME_CONFLICT ||
                    rep.items[i].outcome == STPM_OUTCOME_ERROR)
                    fprintf(stderr, _("stpm: error: %s: %s\n"), rep.items[i].code,
                            rep.items[i].message);
        }
    }
    if (ctx->format != CLI_FORMAT_TABLE)
        print_migration(ctx, &rep, !dry_run);
    rc = rep.n_error ? 1 : rep.n_conflict ? 4 : rep.n_stranded ? 3 : 0;
cleanup:
    stpm_migrate_report_clear(&rep);
    stpm_error_clear(&err);
    cli_args_free(&args);
    cli_opts_free(opts);
    return rc;
}

static const cli_command subcommands[] = {
    {"check", cmd_check, N_("validate workflow files (no database)")},
    {"graph", cmd_graph, N_("draw a stored workflow or a file as DOT or Mermaid")},
    {"load", cmd_load, N_("validate and store workflow versions")},
    {"list", cmd_list, N_("list the stored workflow versions")},
    {"show", cmd_show, N_("show a stored workflow version")},
    {"migrate", cmd_migrate, N_("move live projects to a newer version (stranded ones stay)")},
    {NULL, NULL, NULL},
};

int cli_cmd_workflow(cli_ctx *ctx, int argc, char **argv)
{
    return cli_dispatch(ctx, "workflow", NULL, subcommands,
                        _("The format of workflow files is described in docs/workflows.md."), argc,
                        argv);
}

/* stpm reserve list | rank | promote: the reserve pool (储备库) and 好中选优. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "connect.h"
#include "opts.h"
#include "subcmd.h"
#include "stpm/project.h"
#include "stpm/reserve.h"
#include "table.h"

static const char list_usage[] =
    "stpm reserve list [--year Y] [--town T] [--field F] [--plan CODE]";
static const char rank_usage[] =
    "stpm reserve rank --year Y [--plan CODE] [--town T] [--field F] [--top N] [--weights FILE]";
static const char promote_usage[] =
    "stpm reserve promote ENTRY --plan CODE [--leader NAME] [--year Y]\n"
    "       stpm reserve promote --where 'KEY=VALUE ...' --plan CODE [--leader NAME] [--year Y]"
    " [--weights FILE] [--dry-run]\n"
    "       stpm reserve promote --from FILE --plan CODE [--leader NAME] [--year Y] [--dry-run]";

static int parse_year(const char *s, int *out)
{
    if (!s)
        return 0;
    char *end;
    long y = strtol(s, &end, 10);
    if (!*s || *end || y < 1990 || y > 2100)
        return cli_usage_error("invalid --year \"%s\": expected a year such as 2020", s);
    *out = (int)y;
    return 0;
}

/* Print an stpm_rows in the invocation's format. */
static int print_rows(cli_ctx *ctx, const stpm_rows *r, bool footer)
{
    size_t nc = stpm_rows_ncols(r);
    const char **names = calloc(nc, sizeof(*names));
    const char **cells = calloc(nc, sizeof(*cells));
    cli_table *t = NULL;
    int rc = 1;
    if (!names || !cells)
        goto out;
    for (size_t i = 0; i < nc; i++)
        names[i] = stpm_rows_name(r, i);
    t = cli_table_new(nc, names);
    if (!t)
        goto out;
    for (size_t i = 0; i < nc; i++)
        cli_table_set_kind(t, i,
                           stpm_rows_kind(r, i) == STPM_COL_NUMBER ? CLI_COL_NUMBER
                           : stpm_rows_kind(r, i) == STPM_COL_BOOL ? CLI_COL_BOOL
                                                                   : CLI_COL_TEXT);
    for (size_t row = 0; row < stpm_rows_count(r); row++) {
        for (size_t i = 0; i < nc; i++)
            cells[i] = stpm_rows_value(r, row, i);
        if (cli_table_add_row(t, cells) < 0)
            goto out;
    }
    cli_table_print(t, ctx->format, stdout, footer);
    rc = 0;
out:
    if (rc) {
        stpm_error e = STPM_ERROR_INIT;
        stpm_error_set(&e, STPM_ERROR, "out of memory");
        rc = cli_report(&e);
        stpm_error_clear(&e);
    }
    cli_table_free(t);
    free(names);
    free(cells);
    return rc;
}

static int reserve_list(cli_ctx *ctx, int argc, char **argv)
{
    cli_opt opts[] = {
        CLI_STRING("year", 'y', "Y", "candidates of this survey year"),
        CLI_STRING("town", 0, "T", "of organisations in this town (所属板块)"),
        CLI_STRING("field", 0, "F", "of this technical field (技术领域)"),
        CLI_STRING("plan", 0, "CODE", "aiming at this plan (拟申报计划 = the plan's name)"),
        CLI_END,
    };
    cli_args args;
    stpm_error err = STPM_ERROR_INIT;
    stpm_rows *rows = NULL;
    stpm_db *db = NULL;
    int rc = 0;
    if (cli_start(ctx, list_usage,
                  _("List the candidates of the reserve pool. ENTRY, the first 8 hex digits "
                    "of the id,\nnames a candidate for \"stpm reserve promote\"."),
                  opts, argc, argv, &args, 0, INT_MAX, NULL, NULL, &rc) < 0)
        goto out;
    if (args.n_operands) {
        rc = cli_usage_error("%s", list_usage);
        goto out;
    }
    stpm_reserve_filter f = STPM_RESERVE_FILTER_INIT;
    if ((rc = parse_year(cli_opt_get(opts, "year")->value, &f.year)))
        goto out;
    f.town = cli_opt_get(opts, "town")->value;
    f.field = cli_opt_get(opts, "field")->value;
    f.plan = cli_opt_get(opts, "plan")->value;
    if ((rc = cli_connect(ctx, &db)))
        goto out;
    if (stpm_reserve_list(db, &f, &rows, &err) < 0) {
        rc = cli_report(&err);
        goto out;
    }
    rc = print_rows(ctx, rows, true);
out:
    stpm_rows_free(rows);
    stpm_error_clear(&err);
    cli_args_free(&args);
    cli_opts_free(opts);
    return rc;
}

static void print_ranking(cli_ctx *ctx, const stpm_scoring *s, const stpm_ranking *rk)
{
    size_t nc = stpm_scoring_n_criteria(s);
    size_t ncols = 7 + nc + 1;
    const char **names = calloc(ncols, sizeof(*names));
    const char **cells = calloc(ncols, sizeof(*cells));
    char(*num)[32] = calloc(ncols, sizeof(*num));
    char *missing = NULL;
    cli_table *t = NULL;
    if (!names || !cells || !num)
        goto out;
    static const char *const fixed[] = {
        N_("rank"),  N_("entry"),  N_("org"), N_("title"), N_("requested_funding"),
        N_("score"), N_("project")};
    for (size_t i = 0; i < 7; i++)
        names[i] = fixed[i];
    for (size_t i = 0; i < nc; i++)
        names[7 + i] = stpm_scoring_criterion_name(s, i);
    names[7 + nc] = "missing";
    t = cli_table_new(ncols, names);
    if (!t)
        goto out;
    cli_table_set_kind(t, 0, CLI_COL_NUMBER);
    cli_table_set_kind(t, 4, CLI_COL_NUMBER);
    cli_table_set_kind(t, 5, CLI_COL_NUMBER);
    for (size_t i = 0; i < nc; i++)
        cli_table_set_kind(t, 7 + i, CLI_COL_NUMBER);
    for (size_t k = 0; k < rk->n; k++) {
        const stpm_ranked *x = &rk->items[k];
        snprintf(num[0], 32, "%zu", x->rank);
        snprintf(num[1], 32, "%.8s", x->id);
        cells[0] = num[0];
        cells[1] = num[1];
        cells[2] = x->org_name;
        cells[3] = x->title;
        cells[4] = x->values.requested_funding_set
                       ? stpm_decimal_format(x->values.requested_funding, 2, num[4])
                       : NULL;
        cells[5] = stpm_decimal_format(x->score, 2, num[5]);
        cells[6] = x->project;
        size_t len = 1;
        for (size_t i = 0; i < nc; i++) {
            cells[7 + i] = stpm_decimal_format(x->parts[i].points, 2, num[7 + i]);
            if (x->parts[i].missing)
                len += strlen(stpm_scoring_criterion_name(s, i)) + 1;
        }
        free(missing);
        missing = calloc(len, 1);
        if (!missing)
            goto out;
        for (size_t i = 0; i < nc; i++) {
            if (!x->parts[i].missing)
                continue;
            if (*missing)
                strncat(missing, " ", len - strlen(missing) - 1);
            strncat(missing, stpm_scoring_criterion_name(s, i), len - strlen(missing) - 1);
        }
        cells[7 + nc] = *missing ? missing : NULL;
        if (cli_table_add_row(t, cells) < 0)
            goto out;
    }
    if (ctx->format == CLI_FORMAT_TABLE) {
        printf("%s (%s v%d):", stpm_scoring_title(s), stpm_scoring_name(s),
               stpm_scoring_version(s));
        for (size_t i = 0; i < nc; i++) {
            char w[32];
            printf("%s %s %s", i ? "," : "", stpm_scoring_criterion_name(s, i),
                   stpm_decimal_format(stpm_scoring_criterion_weight(s, i), 0, w));
        }
        printf("\n\n");
    }
    cli_table_print(t, ctx->format, stdout, true);
out:
    cli_table_free(t);
    free(missing);
    free(names);
    free(cells);
    free(num);
}

static int reserve_rank(cli_ctx *ctx, int argc, char **argv)
{
    cli_opt opts[] = {
        CLI_STRING("year", 'y', "Y", "the survey year (required)"),
        CLI_STRING("plan", 0, "CODE", "only candidates aiming at this plan (拟申报计划)"),
        CLI_STRING("town", 0, "T", "only organisations in this town"),
        CLI_STRING("field", 0, "F", "only this technical field"),
        CLI_STRING("top", 'n', "N", "show the best N"),
        CLI_STRING("weights", 'w', "FILE", "a scoring file instead of the shipped weights"),
        CLI_END,
    };
    cli_args args;
    stpm_error err = STPM_ERROR_INIT;
    stpm_scoring *s = NULL;
    stpm_ranking rk = {NULL, 0};
    stpm_db *db = NULL;
    int rc = 0;
    if (cli_start(ctx, rank_usage,
                  _("Score the candidates of a survey year by the weights of "
                    "workflows/scoring.yaml\n(docs/scoring.md) and list them best first, "
                    "with each criterion's points."),
                  opts, argc, argv, &args, 0, INT_MAX, NULL, NULL, &rc) < 0)
        goto out;
    stpm_reserve_filter f = STPM_RESERVE_FILTER_INIT;
    if (args.n_operands || !cli_opt_get(opts, "year")->value) {
        rc = cli_usage_error("%s", rank_usage);
        goto out;
    }
    if ((rc = parse_year(cli_opt_get(opts, "year")->value, &f.year)))
        goto out;
    size_t top = 0;
    const char *topv = cli_opt_get(opts, "top")->value;
    if (topv) {
        char *end;
        long n = strtol(topv, &end, 10);
        if (!*topv || *end || n <= 0) {
            rc = cli_usage_error("invalid --top \"%s\": expected a positive number", topv);
            goto out;
        }
        top = (size_t)n;
    }
    f.plan = cli_opt_get(opts, "plan")->value;
    f.town = cli_opt_get(opts, "town")->value;
    f.field = cli_opt_get(opts, "field")->value;
    const char *weights = cli_opt_get(opts, "weights")->value;
    if ((weights ? stpm_scoring_load_file(&s, weights, &err)
                 : stpm_scoring_load_default(&s, &err)) < 0) {
        rc = cli_report(&err);
        goto out;
    }
    if ((rc = cli_connect(ctx, &db)))
        goto out;
    if (stpm_reserve_rank(db, &f, s, top, &rk, &err) < 0) {
        rc = cli_report(&err);
        goto out;
    }
    print_ranking(ctx, s, &rk);
out:
    stpm_ranking_clear(&rk);
    stpm_scoring_free(s);
    stpm_error_clear(&err);
    cli_args_free(&args);
    cli_opts_free(opts);
    return rc;
}

/* One line per entry, then the counts; the exit status as `project advance --where`'s:
 * 1 when an entry met an error, else 4 for a conflict, else 3 when one was refused. */
static int print_promotions(cli_ctx *ctx, const stpm_promote_report *rep)
{
    static const char *const cols[] = {N_("entry"),   N_("org"),     N_("title"),
                                       N_("project"), N_("outcome"), N_("message")};
    cli_table *t = cli_table_new(6, cols);
    if (!t)
        return 1;
    for (size_t i = 0; i < rep->n; i++) {
        const stpm_promote_item *it = &rep->items[i];
        const char *cells[] = {it->entry,
                               it->org,
                               it->title,
                               it->project,
                               stpm_outcome_name((stpm_outcome)it->outcome),
                               it->message};
        cli_table_add_row(t, cells);
    }
    cli_table_print(t, ctx->format, stdout, false);
    cli_table_free(t);
    if (ctx->format == CLI_FORMAT_TABLE)
        printf(_("%zu entries: %zu %s, %zu refused, %zu conflict, %zu error%s\n"), rep->n,
               rep->n_ok, rep->dry_run ? _("would be promoted") : _("promoted"), rep->n_refused,
               rep->n_conflict, rep->n_error, rep->dry_run ? _(" (dry run: nothing written)") : "");
    return rep->n_error ? 1 : rep->n_conflict ? 4 : rep->n_refused ? 3 : 0;
}

static int promote_many(cli_ctx *ctx, stpm_db *db, const char *where, const char *from,
                        const char *weights, const stpm_promote_options *o, bool dry_run)
{
    stpm_error err = STPM_ERROR_INIT;
    stpm_reserve_where w = STPM_RESERVE_WHERE_INIT;
    stpm_promote_report rep = STPM_PROMOTE_REPORT_INIT;
    stpm_scoring *s = NULL;
    int rc = 0;
    if (where) {
        if (stpm_reserve_where_parse(where, &w, &err) < 0 ||
            ((w.top || w.has_min_score) && (weights ? stpm_scoring_load_file(&s, weights, &err)
                                                    : stpm_scoring_load_default(&s, &err)) < 0) ||
            stpm_reserve_promote_where(db, &w, s, o, dry_run, &rep, &err) < 0)
            rc = cli_report(&err);
    } else if (stpm_reserve_promote_file(db, from, o, dry_run, &rep, &err) < 0) {
        rc = cli_report(&err);
    }
    if (rc == 0)
        rc = print_promotions(ctx, &rep);
    stpm_promote_report_clear(&rep);
    stpm_reserve_where_clear(&w);
    stpm_scoring_free(s);
    stpm_error_clear(&err);
    return rc;
}

static int reserve_promote(cli_ctx *ctx, int argc, char **argv)
{
    cli_opt opts[] = {
        CLI_STRING("plan", 'p', "CODE", "the plan to apply under (required)"),
        CLI_STRING("leader", 'l', "NAME", "the project leader (default: the survey's)"),
        CLI_STRING("year", 'y', "Y", "the project's year (default: the survey year)"),
        CLI_STRING("where", 0, "CONDITIONS",
                   "every candidate not promoted yet matching KEY=VALUE conditions"),
        CLI_STRING("from", 0, "FILE", "the entries listed in FILE, one a line"),
        CLI_STRING("weights", 'w', "FILE", "a scoring file for min_score and top in --where"),
        CLI_FLAG("dry-run", 'n', "report each outcome, change nothing"),
        CLI_END,
    };
    cli_args args;
    stpm_error err = STPM_ERROR_INIT;
    stpm_db *db = NULL;
    char *code = NULL;
    int rc = 0;
    if (cli_start(ctx, promote_usage,
                  _("Turn a candidate of the reserve pool into a project under a plan. "
                    "ENTRY is the\nid or a prefix of at least 6 hex digits, as \"stpm "
                    "reserve list\" shows it.\nWith --where or --from, many candidates, "
                    "each atomically, with its outcome\n(--where keys: year, town, field, "
                    "target_plan, org, min_score, top)."),
                  opts, argc, argv, &args, 0, INT_MAX, NULL, NULL, &rc) < 0)
        goto out;
    const char *where = cli_opt_get(opts, "where")->value;
    const char *from = cli_opt_get(opts, "from")->value;
    bool dry_run = cli_opt_get(opts, "dry-run")->flag;
    if (args.n_operands != (where || from ? 0 : 1) || (where && from) ||
        !cli_opt_get(opts, "plan")->value) {
        rc = cli_usage_error("%s", promote_usage);
        goto out;
    }
    if (!where && !from && (dry_run || cli_opt_get(opts, "weights")->value)) {
        rc = cli_usage_error("--dry-run and --weights go with --where or --from\nusage: %s",
                             promote_usage);
        goto out;
    }
    stpm_promote_options o = STPM_PROMOTE_OPTIONS_INIT;
    o.plan = cli_opt_get(opts, "plan")->value;
    o.leader = cli_opt_get(opts, "leader")->value;
    if ((rc = parse_year(cli_opt_get(opts, "year")->value, &o.year)))
        goto out;
    o.today = cli_today(ctx);
    if ((rc = cli_connect(ctx, &db)))
        goto out;
    if (where || from) {
        rc = promote_many(ctx, db, where, from, cli_opt_get(opts, "weights")->value, &o, dry_run);
        goto out;
    }
    if (stpm_reserve_promote(db, args.operands[0], &o, &code, &err) < 0) {
        rc = cli_report(&err);
        goto out;
    }
    if (ctx->format == CLI_FORMAT_JSON) {
        fputs("{\"entry\": ", stdout);
        cli_json_string(stdout, args.operands[0]);
        fputs(", \"project\": ", stdout);
        cli_json_string(stdout, code);
        fputs("}\n", stdout);
    } else if (ctx->format == CLI_FORMAT_CSV) {
        printf("entry,project\n");
        cli_csv_field(stdout, args.operands[0]);
        putchar(',');
        cli_csv_field(stdout, code);
        putchar('\n');
    } else {
        printf(_("promoted %s into project %s\n"), args.operands[0], code);
    }
out:
    free(code);
    stpm_error_clear(&err);
    cli_args_free(&args);
    cli_opts_free(opts);
    return rc;
}

static const cli_command subcommands[] = {
    {"list", reserve_list, N_("list the candidates of the reserve pool")},
    {N_("rank"), reserve_rank, N_("score and order a year's candidates (好中选优)")},
    {"promote", reserve_promote, N_("turn a candidate into a project under a plan")},
    {NULL, NULL, NULL},
};

int cli_cmd_reserve(cli_ctx *ctx, int argc, char **argv)
{
    return cli_dispatch(ctx, "reserve",
                        _("The reserve pool (储备库): the candidates of the October survey."),
                        subcommands, NULL, argc, argv);
}

/* stpm project: create | list | show | history | attach | advance | why | checks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "connect.h"
#include "opts.h"
#include "subcmd.h"
#include "rows.h"
#include "table.h"
#include "stpm/agenda.h"
#include "stpm/project.h"

static int parse_year(const char *s, int *out)
{
    char *end = NULL;
    long y = s ? strtol(s, &end, 10) : 0;
    if (!s)
        return 0;
    if (!*s || *end || y < 1990 || y > 2100)
        return cli_usage_error("invalid year \"%s\": expected 1990..2100", s);
    *out = (int)y;
    return 0;
}

static int cmd_create(cli_ctx *ctx, int argc, char **argv)
{
    static const char usage[] = "stpm project create --plan CODE --org USCC --title TITLE "
                                "--leader NAME [--year Y] [--field F] [--set FIELD=VALUE]...";
    cli_opt opts[] = {
        CLI_STRING("plan", 0, "CODE", "the plan (科技计划) code, e.g. PKRD"),
        CLI_STRING("org", 0, "USCC", "the undertaking organisation (承担单位)"),
        CLI_STRING("title", 0, "TITLE", "the project title (项目名称)"),
        CLI_STRING("leader", 0, "NAME", "the project leader (项目负责人)"),
        CLI_STRING("year", 0, "Y", "the plan year (default: the year of today)"),
        CLI_STRING("field", 0, "F", "the technical field (技术领域)"),
        CLI_LIST("set", 0, "FIELD=VALUE", "a workflow field, e.g. amount_requested=50"),
        CLI_END,
    };
    cli_args args = {0};
    stpm_db *db = NULL;
    stpm_error err = STPM_ERROR_INIT;
    char *code = NULL;
    int rc = 0;
    if (cli_start(ctx, usage,
                  _("Create a project in the initial state of its plan's newest workflow version "
                    "and print\nits code (YEAR-PLAN-NNNN)."),
                  opts, argc, argv, &args, 0, 0, NULL, &db, &rc) < 0)
        goto cleanup;
    stpm_project_new spec = STPM_PROJECT_NEW_INIT;
    spec.plan = cli_opt_get(opts, "plan")->value;
    spec.org = cli_opt_get(opts, "org")->value;
    spec.title = cli_opt_get(opts, "title")->value;
    spec.leader = cli_opt_get(opts, "leader")->value;
    spec.field = cli_opt_get(opts, "field")->value;
    spec.sets = cli_opt_get(opts, "set")->values;
    spec.n_sets = cli_opt_get(opts, "set")->n_values;
    spec.today = cli_today(ctx);
    if (!spec.plan || !spec.org || !spec.title || !spec.leader) {
        rc = cli_usage_error("project create needs --plan, --org, --title and --leader");
        goto cleanup;
    }
    if ((rc = parse_year(cli_opt_get(opts, "year")->value, &spec.year)) != 0)
        goto cleanup;
    if (stpm_project_create(db, &spec, &code, &err) < 0)
        rc = cli_report(&err);
    else
        printf("%s\n", code);
cleanup:
    free(code);
    stpm_error_clear(&err);
    cli_args_free(&args);
    cli_opts_free(opts);
    return rc;
}

static int cmd_list(cli_ctx *ctx, int argc, char **argv)
{
    static const char usage[] = "stpm project list [--state S] [--plan CODE] [--level L] "
                                "[--year Y] [--town T] [--org USCC] [--overdue] [--as-of DATE]";
    cli_opt opts[] = {
        CLI_STRING("state", 0, "S", "in this state"),
        CLI_STRING("plan", 0, "CODE", "of this plan"),
        CLI_STRING("level", 0, "L", "national, provincial, municipal or county"),
        CLI_STRING("year", 0, "Y", "of this plan year"),
        CLI_STRING("town", 0, "T", "of organisations in this town (所属板块)"),
        CLI_STRING("org", 0, "USCC", "of this organisation"),
        CLI_FLAG("overdue", 0, "due but not closed (应结未结) as of --as-of"),
        CLI_STRING("as-of", 0, "DATE",
                   "the projects and their states at the end of DATE (default: today)"),
        CLI_END,
    };
    stpm_date as_of = 0;
    cli_args args = {0};
    stpm_db *db = NULL;
    stpm_error err = STPM_ERROR_INIT;
    stpm_rows *rows = NULL;
    int rc = 0;
    if (cli_start(ctx, usage, _("List projects."), opts, argc, argv, &args, 0, 0, NULL, &db, &rc) <
        0)
        goto cleanup;
    stpm_project_filter f = STPM_PROJECT_FILTER_INIT;
    f.state = (char *)cli_opt_get(opts, "state")->value;
    f.plan = (char *)cli_opt_get(opts, "plan")->value;
    f.level = (char *)cli_opt_get(opts, "level")->value;
    f.town = (char *)cli_opt_get(opts, "town")->value;
    f.org = (char *)cli_opt_get(opts, "org")->value;
    f.overdue = cli_opt_get(opts, "overdue")->flag;
    if ((rc = parse_year(cli_opt_get(opts, "year")->value, &f.year)) != 0 ||
        (rc = cli_as_of(ctx, opts, &as_of)) != 0)
        goto cleanup;
    if (stpm_project_list(db, &f, as_of, &rows, &err) < 0)
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

static int cmd_show(cli_ctx *ctx, int argc, char **argv)
{
    static const char usage[] = "stpm project show CODE";
    cli_opt opts[] = {CLI_END};
    cli_args args = {0};
    stpm_db *db = NULL;
    stpm_error err = STPM_ERROR_INIT;
    stpm_rows *rows = NULL;
    char *json = NULL;
    int rc = 0;
    if (cli_start(ctx, usage,
                  _("Show one project: its columns, workflow fields, documents and checks."), opts,
                  argc, argv, &args, 1, 1, NULL, &db, &rc) < 0)
        goto cleanup;
    if (ctx->format == CLI_FORMAT_JSON) {
        if (stpm_project_show_json(db, args.operands[0], cli_today(ctx), &json, &err) < 0)
            rc = cli_report(&err);
        else
            printf("%s\n", json);
    } else if (stpm_project_show(db, args.operands[0], cli_today(ctx), &rows, &err) < 0) {
        rc = cli_report(&err);
    } else {
        rc = cli_print_record(ctx, rows);
    }
cleanup:
    free(json);
    stpm_rows_free(rows);
    stpm_error_clear(&err);
    cli_args_free(&args);
    cli_opts_free(opts);
    return rc;
}

static int cmd_history(cli_ctx *ctx, int argc, char **argv)
{
    static const char usage[] = "stpm project history CODE";
    cli_opt opts[] = {CLI_END};
    cli_args args = {0};
    stpm_db *db = NULL;
    stpm_error err = STPM_ERROR_INIT;
    stpm_rows *rows = NULL;
    int rc = 0;
    if (cli_start(ctx, usage,
                  _("The project's events in chain order (seq, business date, when it was entered "
                    "by the\nserver's clock, actor, kind, transition, from, to, reason, hash "
                    "prefix); an event entered\nmore than late_after_days (default 3) after its "
                    "business date is marked late.\n--format json adds each event's data."),
                  opts, argc, argv, &args, 1, 1, NULL, &db, &rc) < 0)
        goto cleanup;
    if (stpm_project_history(db, args.operands[0], &rows, &err) < 0) {
        rc = cli_report(&err);
        goto cleanup;
    }
    if (ctx->format != CLI_FORMAT_TABLE) {
        rc = cli_print_rows(ctx, rows, false);
        goto cleanup;
    }
    static const char *const cols[] = {N_("seq"),        N_("on_date"),   N_("actor"),  N_("kind"),
                                       N_("transition"), N_("from → to"), N_("reason"), N_("hash"),
                                       N_("entered"),    N_("late")};
    cli_table *t = cli_table_new(10, cols);
    if (!t) {
        rc = 1;
        goto cleanup;
    }
    cli_table_set_kind(t, 0, CLI_COL_NUMBER);
    for (size_t i = 0; i < stpm_rows_count(rows); i++) {
        const char *from = stpm_rows_value(rows, i, 5), *to = stpm_rows_value(rows, i, 6);
        char *move = NULL;
        if (from || to) {
            size_t n = (from ? strlen(from) : 0) + (to ? strlen(to) : 0) + 8;
            move = malloc(n);
            if (move)
                snprintf(move, n, "%s → %s", from ? from : "", to ? to : "");
        }
        const char *lv = stpm_rows_value(rows, i, 11);
        const char *late = lv && (lv[0] == 't' || strcmp(lv, "true") == 0) ? "late" : NULL;
        const char *cells[] = {stpm_rows_value(rows, i, 0),  stpm_rows_value(rows, i, 1),
                               stpm_rows_value(rows, i, 2),  stpm_rows_value(rows, i, 3),
                               stpm_rows_value(rows, i, 4),  move,
                               stpm_rows_value(rows, i, 7),  stpm_rows_value(rows, i, 8),
                               stpm_rows_value(rows, i, 10), late};
        cli_table_add_row(t, cells);
        free(move);
    }
    cli_table_print(t, ctx->format, stdout, true);
    cli_table_free(t);
cleanup:
    stpm_rows_free(rows);
    stpm_error_clear(&err);
    cli_args_free(&args);
    cli_opts_free(opts);
    return rc;
}

/* One line per file, then the counts; the exit status as `project advance --where`'s. */
static int print_attachments(cli_ctx *ctx, const stpm_attach_report *rep)
{
    static const char *const cols[] = {N_("file"),   N_("code"),    N_("kind"),
                                       N_("sha256"), N_("outcome"), N_("message")};
    cli_table *t = cli_table_new(6, cols);
    if (!t)
        return 1;
    for (size_t i = 0; i < rep->n; i++) {
        const stpm_attach_item *it = &rep->items[i];
        char sha[13];
        snprintf(sha, sizeof(sha), "%.12s", it->sha256);
        const char *cells[] = {it->file,
                               it->code,
                               it->kind,
                               *sha ? sha : NULL,
                               stpm_outcome_name((stpm_outcome)it->outcome),
                               it->message};
        cli_table_add_row(t, cells);
    }
    cli_table_print(t, ctx->format, stdout, false);
    cli_table_free(t);
    if (ctx->format == CLI_FORMAT_TABLE)
        printf(_("%zu files: %zu %s, %zu unchanged, %zu refused, %zu conflict, %zu error%s\n"),
               rep->n, rep->n_ok - rep->n_already,
               rep->dry_run ? _("would be attached") : _("attached"), rep->n_already,
               rep->n_refused, rep->n_conflict, rep->n_error,
               rep->dry_run ? _(" (dry run: nothing written)") : "");
    return rep->n_error ? 1 : rep->n_conflict ? 4 : rep->n_refused ? 3 : 0;
}

static int cmd_attach(cli_ctx *ctx, int argc, char **argv)
{
    static const char usage[] = "stpm project attach CODE KIND FILE\n"
                                "       stpm project attach --from DIR|MANIFEST [--dry-run]";
    cli_opt opts[] = {
        CLI_STRING("from", 0, "DIR",
                   "every file of DIR named CODE-KIND.ext, or those a manifest CSV "
                   "(code,kind,file) lists"),
        CLI_FLAG("dry-run", 'n', "report each outcome, change nothing"),
        CLI_END,
    };
    cli_args args = {0};
    stpm_db *db = NULL;
    stpm_error err = STPM_ERROR_INIT;
    stpm_attach_report rep = STPM_ATTACH_REPORT_INIT;
    int rc = 0;
    if (cli_start(
            ctx, usage,
            _("Attach a document (e.g. integrity_commitment 廉政承诺书, task_book 任务书) to a "
              "project;\nits content is stored with its size and SHA-256 (at most 32 MiB). "
              "With --from, many\ndocuments, each atomically, with its outcome."),
            opts, argc, argv, &args, 0, 3, NULL, NULL, &rc) < 0)
        goto cleanup;
    const char *from = cli_opt_get(opts, "from")->value;
    bool dry_run = cli_opt_get(opts, "dry-run")->flag;
    if (args.n_operands != (from ? 0 : 3) || (!from && dry_run)) {
        rc = cli_usage_error("usage: %s", usage);
        goto cleanup;
    }
    if ((rc = cli_connect(ctx, &db)) != 0)
        goto cleanup;
    if (from) {
        if (stpm_project_attach_from(db, from, cli_today(ctx), dry_run, &rep, &err) < 0)
            rc = cli_report(&err);
        else
            rc = print_attachments(ctx, &rep);
        goto cleanup;
    }
    bool already = false;
    char sha[65] = {0};
    if (stpm_project_attach(db, args.operands[0], args.operands[1], args.operands[2],
                            cli_today(ctx), &already, sha, &err) < 0)
        rc = cli_report(&err);
    else if (already)
        printf(_("%s: %s %s is attached already (sha256 %.12s), unchanged\n"), args.operands[0],
               args.operands[1], args.operands[2], sha);
    else
        printf(_("%s: attached %s %s (sha256 %.12s)\n"), args.operands[0], args.operands[1],
               args.operands[2], sha);
cleanup:
    stpm_attach_report_clear(&rep);
    stpm_error_clear(&err);
    cli_args_free(&args);
    cli_opts_free(opts);
    return rc;
}

/* Print the reasons a transition is blocked, indented. */
static void print_reasons(FILE *f, const stpm_transition_report *r, const char *indent)
{
    for (size_t i = 0; i < r->n_reasons; i++) {
        const stpm_reason *x = &r->reasons[i];
        /* The message names the field, document, role, check or guard itself; kind and
         * subject are for JSON readers. */
        fprintf(f, "%s- %s\n", indent, x->message ? x->message : x->kind);
        if (x->evidence)
            fprintf(f, _("%s  evidence: %s\n"), indent, x->evidence);
    }
}

static void json_reasons(const stpm_transition_report *r)
{
    fputs("[", stdout);
    for (size_t i = 0; i < r->n_reasons; i++) {
        const stpm_reason *x = &r->reasons[i];
        fputs(i ? ", {\"kind\": " : "{\"kind\": ", stdout);
        cli_json_string(stdout, x->kind);
        fputs(", \"subject\": ", stdout);
        if (x->subject)
            cli_json_string(stdout, x->subject);
        else
            fputs("null", stdout);
        fputs(", \"message\": ", stdout);
        cli_json_string(stdout, x->message ? x->message : "");
        fprintf(stdout, ", \"evidence\": %s}", x->evidence ? x->evidence : "null");
    }
    fputs("]", stdout);
}

static void json_checks(const stpm_transition_report *r)
{
    fputs("[", stdout);
    for (size_t i = 0; i < r->n_checks; i++) {
        const stpm_check_outcome *c = &r->checks[i];
        fputs(i ? ", {\"check\": " : "{\"check\": ", stdout);
        cli_json_string(stdout, c->name);
        fprintf(stdout, ", \"passed\": %s, \"summary\": ", c->passed ? "true" : "false");
        cli_json_string(stdout, c->summary ? c->summary : "");
        fprintf(stdout, ", \"evidence\": %s}", c->evidence ? c->evidence : "null");
    }
    fputs("]", stdout);
}

static int print_bulk(cli_ctx *ctx, const stpm_bulk_report *rep);

static int advance_where(cli_ctx *ctx, stpm_db *db, const char *where, const char *transition,
                         const stpm_advance_options *o)
{
    stpm_project_filter f = STPM_PROJECT_FILTER_INIT;
    stpm_bulk_report rep = STPM_BULK_REPORT_INIT;
    stpm_error err = STPM_ERROR_INIT;
    int rc = 0;
    if (stpm_project_filter_parse(where, &f, &err) < 0 ||
        stpm_project_advance_where(db, &f, transition, o, &rep, &err) < 0)
        rc = cli_report(&err);
    else
        rc = print_bulk(ctx, &rep);
    stpm_bulk_report_clear(&rep);
    stpm_project_filter_clear(&f);
    stpm_error_clear(&err);
    return rc;
}

static int cmd_advance(cli_ctx *ctx, int argc, char **argv)
{
    static const char usage[] =
        "stpm project advance CODE TRANSITION [--reason R] [--set FIELD=VALUE]... "
        "[--attach KIND=FILE]... [--dry-run]\n"
        "       stpm project advance --where 'KEY=VALUE ...' TRANSITION [--reason R] [--dry-run]";
    cli_opt opts[] = {
        CLI_STRING("reason", 0, "R", "why (required by some transitions)"),
        CLI_LIST("set", 0, "FIELD=VALUE", "set a workflow field before the rules are checked"),
        CLI_LIST("attach", 0, "KIND=FILE", "attach a document as part of the transition"),
        CLI_STRING("where", 0, "CONDITIONS",
                   "advance every project matching: state=S plan=P "
                   "level=L year=Y town=T org=USCC overdue"),
        CLI_FLAG("dry-run", 'n', "check and report, change nothing"),
        CLI_END,
    };
    cli_args args = {0};
    stpm_db *db = NULL;
    stpm_error err = STPM_ERROR_INIT;
    stpm_advance_result res = {0};
    stpm_project_attachment *atts = NULL;
    int rc = cli_parse(ctx, usage, opts, argc, argv, &args);
    if (rc)
        goto cleanup;
    if (args.help) {
        cli_print_help(stdout, usage,
                       _("Take a workflow transition: refused (exit 3) with every reason when a "
                         "rule says no,\nexit 4 when someone changed the project first. With "
                         "--where, every matching\nproject, each atomically, with its outcome."),
                       opts);
        goto cleanup;
    }
    const char *where = cli_opt_get(opts, "where")->value;
    if (args.n_operands != (where ? 1 : 2)) {
        rc = cli_usage_error("usage: %s", usage);
        goto cleanup;
    }
    cli_opt *att = cli_opt_get(opts, "attach");
    atts = calloc(att->n_values + 1, sizeof(*atts));
    if (!atts) {
        rc = 1;
        goto cleanup;
    }
    for (size_t i = 0; i < att->n_values; i++) {
        char *eq = strchr(att->values[i], '=');
        if (!eq || eq == att->values[i] || !eq[1]) {
            rc = cli_usage_error("invalid --attach \"%s\": expected KIND=FILE", att->values[i]);
            goto cleanup;
        }
        *eq = '\0'; /* the value points into argv, which is ours to cut */
        atts[i].kind = att->values[i];
        atts[i].path = eq + 1;
    }
    stpm_advance_options o = STPM_ADVANCE_OPTIONS_INIT;
    o.reason = cli_opt_get(opts, "reason")->value;
    o.sets = cli_opt_get(opts, "set")->values;
    o.n_sets = cli_opt_get(opts, "set")->n_values;
    o.attachments = atts;
    o.n_attachments = att->n_values;
    o.dry_run = cli_opt_get(opts, "dry-run")->flag;
    o.today = cli_today(ctx);
    if ((rc = cli_connect(ctx, &db)) != 0)
        goto cleanup;
    if (where) {
        rc = advance_where(ctx, db, where, args.operands[0], &o);
        goto cleanup;
    }
    const char *code = args.operands[0], *tr = args.operands[1];
    int r = stpm_project_advance(db, code, tr, &o, &res, &err);
    if (ctx->format == CLI_FORMAT_JSON && (r == 0 || r == STPM_EREFUSED)) {
        fputs("{\"code\": ", stdout);
        cli_json_string(stdout, code);
        fputs(", \"transition\": ", stdout);
        cli_json_string(stdout, tr);
        fprintf(stdout,
                ", \"outcome\": \"%s\", \"dry_run\": %s, \"from\": ", r == 0 ? "ok" : "refused",
                o.dry_run ? "true" : "false");
        cli_json_string(stdout, res.from ? res.from : "");
        fputs(", \"to\": ", stdout);
        if (res.to)
            cli_json_string(stdout, res.to);
        else
            fputs("null", stdout);
        fprintf(stdout, ", \"set\": %s, \"reasons\": ", res.changes ? res.changes : "{}");
        json_reasons(&res.report);
        fputs(", \"checks\": ", stdout);
        json_checks(&res.report);
        fputs("}\n", stdout);
    }
    if (r < 0) {
        if (r == STPM_EREFUSED && ctx->format != CLI_FORMAT_JSON) {
            fprintf(stderr, _("stpm: error: %s\n"), err.message);
            print_reasons(stderr, &res.report, "  ");
            rc = 3;
        } else {
            rc = cli_report(&err);
        }
        goto cleanup;
    }
    if (ctx->format != CLI_FORMAT_JSON) {
        printf("%s: %s %s → %s%s\n", code, tr, res.from, res.to,
               o.dry_run ? _(" (dry run: allowed, nothing written)") : "");
        for (size_t i = 0; i < res.report.n_checks; i++)
            printf(_("  check %s: %s — %s\n"), res.report.checks[i].name,
                   res.report.checks[i].passed ? _("passed") : _("failed"),
                   res.report.checks[i].summary ? res.report.checks[i].summary : "");
        if (res.changes && strcmp(res.changes, "{}") != 0)
            printf(_("  set %s\n"), res.changes);
    }
cleanup:
    free(atts);
    stpm_advance_result_clear(&res);
    stpm_error_clear(&err);
    cli_args_free(&args);
    cli_opts_free(opts);
    return rc;
}

static int print_bulk(cli_ctx *ctx, const stpm_bulk_report *rep)
{
    static const char *const cols[] = {N_("code"), N_("transition"), N_("from"),
                                       N_("to"),   N_("outcome"),    N_("message")};
    cli_table *t = cli_table_new(6, cols);
    if (!t)
        return 1;
    for (size_t i = 0; i < rep->n; i++) {
        const stpm_bulk_item *it = &rep->items[i];
        const char *cells[] = {
            it->code,   it->transition, it->from, it->to, stpm_outcome_name(it->outcome),
            it->message};
        cli_table_add_row(t, cells);
    }
    cli_table_print(t, ctx->format, stdout, false);
    cli_table_free(t);
    if (ctx->format == CLI_FORMAT_TABLE)
        printf(_("%zu projects: %zu ok, %zu refused, %zu conflict, %zu error\n"), rep->n, rep->n_ok,
               rep->n_refused, rep->n_conflict, rep->n_error);
    return rep->n_error ? 1 : rep->n_conflict ? 4 : rep->n_refused ? 3 : 0;
}

static int cmd_why(cli_ctx *ctx, int argc, char **argv)
{
    static const char usage[] = "stpm project why CODE";
    cli_opt opts[] = {CLI_END};
    cli_args args = {0};
    stpm_db *db = NULL;
    stpm_error err = STPM_ERROR_INIT;
    stpm_transition_report *reps = NULL;
    size_t n = 0;
    char *state = NULL;
    int rc = 0;
    if (cli_start(ctx, usage,
                  _("Every transition out of the project's state, and for each blocked one every "
                    "reason:\nfield, document, role, reason, integrity check with its evidence, "
                    "guard expression."),
                  opts, argc, argv, &args, 1, 1, NULL, &db, &rc) < 0)
        goto cleanup;
    if (stpm_project_why(db, args.operands[0], cli_today(ctx), &state, &reps, &n, &err) < 0) {
        rc = cli_report(&err);
        goto cleanup;
    }
    if (ctx->format == CLI_FORMAT_JSON) {
        fputs("{\"code\": ", stdout);
        cli_json_string(stdout, args.operands[0]);
        fputs(", \"state\": ", stdout);
        cli_json_string(stdout, state);
        fputs(", \"transitions\": [", stdout);
        for (size_t i = 0; i < n; i++) {
            fputs(i ? ", {\"transition\": " : "{\"transition\": ", stdout);
            cli_json_string(stdout, reps[i].name);
            fputs(", \"to\": ", stdout);
            cli_json_string(stdout, reps[i].to);
            fprintf(stdout, ", \"allowed\": %s, \"reasons\": ", reps[i].allowed ? "true" : "false");
            json_reasons(&reps[i]);
            fputs(", \"checks\": ", stdout);
            json_checks(&reps[i]);
            fputs("}", stdout);
        }
        fputs("]}\n", stdout);
        goto cleanup;
    }
    if (ctx->format == CLI_FORMAT_CSV) {
        static const char *const cols[] = {N_("transition"), N_("to"),      N_("allowed"),
                                           N_("kind"),       N_("subject"), N_("message")};
        cli_table *t = cli_table_new(6, cols);
        for (size_t i = 0; t && i < n; i++) {
            for (size_t j = 0; j < reps[i].n_reasons || j == 0; j++) {
                const stpm_reason *x = j < reps[i].n_reasons ? &reps[i].reasons[j] : NULL;
                const char *cells[] = {reps[i].name,
                                       reps[i].to,
                                       reps[i].allowed ? "true" : "false",
                                       x ? x->kind : NULL,
                                       x ? x->subject : NULL,
                                       x ? x->message : NULL};
                cli_table_add_row(t, cells);
            }
        }
        if (t)
            cli_table_print(t, ctx->format, stdout, false);
        cli_table_free(t);
        goto cleanup;
    }
    printf(_("%s is in state %s\n"), args.operands[0], state);
    if (n == 0)
        printf(_("  no transition leaves %s\n"), state);
    for (size_t i = 0; i < n; i++) {
        printf("  %s → %s%s%s: %s\n", reps[i].name, reps[i].to, reps[i].label ? "  " : "",
               reps[i].label ? reps[i].label : "", reps[i].allowed ? _("allowed") : _("blocked"));
        print_reasons(stdout, &reps[i], "      ");
    }
cleanup:
    free(state);
    stpm_project_why_free(reps, n);
    stpm_error_clear(&err);
    cli_args_free(&args);
    cli_opts_free(opts);
    return rc;
}

/* stpm project checks CODE [--as-of DATE]: the scheduled checks (中期检查) of a project. */
static int cmd_checks(cli_ctx *ctx, int argc, char **argv)
{
    static const char usage[] = "stpm project checks CODE [--as-of DATE]";
    cli_opt opts[] = {
        CLI_STRING("as-of", 0, "DATE", "the date to look at (default: today)"),
        CLI_END,
    };
    cli_args args = {0};
    stpm_db *db = NULL;
    stpm_error err = STPM_ERROR_INIT;
    stpm_rows *rows = NULL;
    int rc = 0;
    if (cli_start(
            ctx, usage,
            _("The project's scheduled checks (中期检查) as of the end of a day: each outcome "
              "recorded\n(pass, rectify, fail: date, who, report document) and each check "
              "still open with its\ndue date (scheduled, overdue or missed)."),
            opts, argc, argv, &args, 1, 1, NULL, &db, &rc) < 0)
        goto cleanup;
    stpm_date as_of = 0;
    if ((rc = cli_as_of(ctx, opts, &as_of)) != 0)
        goto cleanup;
    if (stpm_project_checks(db, args.operands[0], as_of, &rows, &err) < 0) {
        rc = cli_report(&err);
        goto cleanup;
    }
    char d[11];
    if (ctx->format == CLI_FORMAT_TABLE && stpm_rows_count(rows) == 0)
        printf(_("%s: no check scheduled or held by %s\n"), args.operands[0],
               stpm_date_format(as_of, d));
    else
        rc = cli_print_rows(ctx, rows, true);
cleanup:
    stpm_rows_free(rows);
    stpm_error_clear(&err);
    cli_args_free(&args);
    cli_opts_free(opts);
    return rc;
}

static int cmd_assign(cli_ctx *ctx, int argc, char **argv)
{
    static const char usage[] = "stpm project assign CODE --officer ROLE";
    cli_opt opts[] = {
        CLI_STRING("officer", 0, "ROLE", "the officer's database role (stpm user list)"),
        CLI_END,
    };
    cli_args args = {0};
    stpm_db *db = NULL;
    stpm_error err = STPM_ERROR_INIT;
    bool changed = false;
    int rc = 0;
    if (cli_start(ctx, usage,
                  _("Assign the project to an officer (项目专管员), recorded as an event of the "
                    "project;\nstpm agenda --mine and stpm project todo --mine then include it "
                    "for that officer."),
                  opts, argc, argv, &args, 1, 1, NULL, NULL, &rc) < 0)
        goto cleanup;
    const char *officer = cli_opt_get(opts, "officer")->value;
    if (!officer) {
        rc = cli_usage_error("project assign needs --officer ROLE\nusage: %s", usage);
        goto cleanup;
    }
    if ((rc = cli_connect(ctx, &db)) != 0)
        goto cleanup;
    if (stpm_project_assign(db, args.operands[0], officer, cli_today(ctx), &changed, &err) < 0)
        rc = cli_report(&err);
    else if (changed)
        printf(_("%s: assigned to %s\n"), args.operands[0], officer);
    else
        printf(_("%s: already assigned to %s, nothing changed\n"), args.operands[0], officer);
cleanup:
    stpm_error_clear(&err);
    cli_args_free(&args);
    cli_opts_free(opts);
    return rc;
}

static int cmd_todo(cli_ctx *ctx, int argc, char **argv)
{
    static const char usage[] = "stpm project todo [--mine]";
    cli_opt opts[] = {
        CLI_FLAG("mine", 0, "only projects the connected officer acted on or is assigned to"),
        CLI_END,
    };
    cli_args args = {0};
    stpm_db *db = NULL;
    stpm_error err = STPM_ERROR_INIT;
    stpm_todo *todo = NULL;
    cli_table *t = NULL;
    int rc = 0;
    if (cli_start(ctx, usage,
                  _("The transitions the connected role can take now, with how many projects "
                    "each and the\nbulk command; for the blocked ones, how many projects each "
                    "reason blocks. Nothing\nis written (the server decides and rolls back)."),
                  opts, argc, argv, &args, 0, 0, NULL, &db, &rc) < 0)
        goto cleanup;
    if (stpm_project_todo(db, cli_today(ctx), cli_opt_get(opts, "mine")->flag, &todo, &err) < 0) {
        rc = cli_report(&err);
        goto cleanup;
    }
    static const char *const cols[] = {N_("transition"), N_("from"),   N_("to"),     N_("status"),
                                       N_("projects"),   N_("reason"), N_("command")};
    if (!(t = cli_table_new(7, cols))) {
        rc = 1;
        goto cleanup;
    }
    cli_table_set_kind(t, 4, CLI_COL_NUMBER);
    for (size_t i = 0; i < todo->n; i++) {
        const stpm_todo_group *g = &todo->groups[i];
        char n[32];
        snprintf(n, sizeof(n), "%zu", g->n_ready);
        const char *ready[] = {
            g->transition, g->from, g->to, "ready", n, NULL, g->n_ready ? g->command : NULL};
        if (g->n_ready)
            cli_table_add_row(t, ready);
        for (size_t k = 0; k < g->n_reasons; k++) {
            snprintf(n, sizeof(n), "%zu", g->reasons[k].n);
            const char *row[] = {g->transition,         g->from, g->to, "blocked", n,
                                 g->reasons[k].message, NULL};
            cli_table_add_row(t, row);
        }
    }
    cli_table_print(t, ctx->format, stdout, false);
cleanup:
    cli_table_free(t);
    stpm_todo_free(todo);
    stpm_error_clear(&err);
    cli_args_free(&args);
    cli_opts_free(opts);
    return rc;
}

static const cli_command subcommands[] = {
    {"create", cmd_create, N_("create a project under a plan")},
    {"list", cmd_list, N_("list projects")},
    {"show", cmd_show, N_("show one project")},
    {"history", cmd_history, N_("the project's hash-chained events")},
    {"attach", cmd_attach, N_("attach a document")},
    {"advance", cmd_advance, N_("take a workflow transition (one project, or --where)")},
    {"why", cmd_why, N_("what blocks each transition out of the current state")},
    {"checks", cmd_checks, N_("scheduled checks (中期检查): due, overdue, held")},
    {"todo", cmd_todo,
     N_("what the connected role can take now, in bulk, and what blocks the rest")},
    {"assign", cmd_assign, N_("assign the project to an officer (项目专管员)")},
    {NULL, NULL, NULL},
};

int cli_cmd_project(cli_ctx *ctx, int argc, char **argv)
{
    return cli_dispatch(ctx, "project", NULL, subcommands, NULL, argc, argv);
}

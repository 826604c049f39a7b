/* stpm plan add | list | show: science-and-technology plans (科技计划). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "connect.h"
#include "opts.h"
#include "subcmd.h"
#include "stpm/plan.h"
#include "table.h"

static void plan_row(cli_table *t, const stpm_plan *p)
{
    char version[16], projects[24];
    snprintf(version, sizeof(version), "%d", p->workflow_version);
    snprintf(projects, sizeof(projects), "%ld", p->projects);
    const char *row[7] = {p->code,     p->name,
                          p->level,    p->funded ? "yes" : "no",
                          p->workflow, p->workflow_version ? version : NULL,
                          projects};
    cli_table_add_row(t, row);
}

static cli_table *plan_table(void)
{
    static const char *const cols[] = {N_("code"),     N_("name"),    N_("level"),   N_("funded"),
                                       N_("workflow"), N_("version"), N_("projects")};
    cli_table *t = cli_table_new(7, cols);
    if (t) {
        cli_table_set_kind(t, 3, CLI_COL_BOOL);
        cli_table_set_kind(t, 5, CLI_COL_NUMBER);
        cli_table_set_kind(t, 6, CLI_COL_NUMBER);
    }
    return t;
}

static int plan_add(cli_ctx *ctx, int argc, char **argv)
{
    static const char usage[] = "stpm plan add CODE --name NAME --level "
                                "national|provincial|municipal|county --workflow NAME [--funded]";
    cli_opt opts[] = {
        CLI_STRING("name", 0, "NAME", "the plan's name, e.g. 如皋市科技计划 (required)"),
        CLI_STRING("level", 0, "LEVEL", "national, provincial, municipal or county (required)"),
        CLI_STRING("workflow", 0, "NAME", "the loaded workflow its projects follow (required)"),
        CLI_FLAG("funded", 0, "the plan grants money (资金类项目)"),
        CLI_END,
    };
    cli_args a;
    int rc = 0;
    if (cli_start(ctx, usage, NULL, opts, argc, argv, &a, 1, 1, _("expected one plan CODE"), NULL,
                  &rc) < 0)
        goto cleanup;
    static const char *const required[] = {"name", "level", "workflow"};
    for (int i = 0; i < 3; i++)
        if (!cli_opt_get(opts, required[i])->value) {
            rc = cli_usage_error("option --%s is required\nusage: %s", required[i], usage);
            goto cleanup;
        }
    stpm_db *db = NULL;
    if ((rc = cli_connect(ctx, &db)) != 0)
        goto cleanup;
    stpm_plan_spec s = STPM_PLAN_SPEC_INIT;
    s.code = a.operands[0];
    s.name = cli_opt_get(opts, "name")->value;
    s.level = cli_opt_get(opts, "level")->value;
    s.workflow = cli_opt_get(opts, "workflow")->value;
    s.funded = cli_opt_get(opts, "funded")->flag;
    stpm_error err = STPM_ERROR_INIT;
    if (stpm_plan_add(db, &s, cli_today(ctx), &err) < 0) {
        rc = cli_report_clear(&err);
        goto cleanup;
    }
    printf(_("added plan %s %s (%s%s, workflow %s)\n"), s.code, s.name, s.level,
           s.funded ? _(", funded") : "", s.workflow);
cleanup:
    cli_args_free(&a);
    cli_opts_free(opts);
    return rc;
}

static int plan_list(cli_ctx *ctx, int argc, char **argv)
{
    static const char usage[] = "stpm plan list";
    cli_opt opts[] = {CLI_END};
    cli_args a;
    stpm_plan *plans = NULL;
    size_t n = 0;
    cli_table *t = NULL;
    stpm_db *db = NULL;
    int rc = 0;
    if (cli_start(ctx, usage, NULL, opts, argc, argv, &a, 0, 0, cli_unexpected_operand, &db, &rc) <
        0)
        goto cleanup;
    stpm_error err = STPM_ERROR_INIT;
    if (stpm_plan_list(db, &plans, &n, &err) < 0) {
        rc = cli_report_clear(&err);
        goto cleanup;
    }
    if (!(t = plan_table())) {
        rc = 1;
        goto cleanup;
    }
    for (size_t i = 0; i < n; i++)
        plan_row(t, &plans[i]);
    cli_table_print(t, ctx->format, stdout, true);
cleanup:
    cli_table_free(t);
    stpm_plan_list_free(plans, n);
    cli_args_free(&a);
    cli_opts_free(opts);
    return rc;
}

static int plan_show(cli_ctx *ctx, int argc, char **argv)
{
    static const char usage[] = "stpm plan show CODE";
    cli_opt opts[] = {CLI_END};
    cli_args a;
    stpm_plan *p = NULL;
    stpm_db *db = NULL;
    int rc = 0;
    if (cli_start(ctx, usage, NULL, opts, argc, argv, &a, 1, 1, _("expected one plan CODE"), &db,
                  &rc) < 0)
        goto cleanup;
    stpm_error err = STPM_ERROR_INIT;
    if (stpm_plan_show(db, a.operands[0], &p, &err) < 0) {
        rc = cli_report_clear(&err);
        goto cleanup;
    }
    if (ctx->format != CLI_FORMAT_TABLE) {
        cli_table *t = plan_table();
        if (t) {
            plan_row(t, p);
            cli_table_print(t, ctx->format, stdout, false);
            cli_table_free(t);
        }
    } else {
        printf(_("code:      %s\nname:      %s\nlevel:     %s\nfunded:    %s\n"), p->code, p->name,
               p->level, p->funded ? "yes" : "no");
        if (p->workflow_version)
            printf(_("workflow:  %s (version %d)\n"), p->workflow, p->workflow_version);
        else
            printf(_("workflow:  %s (not loaded)\n"), p->workflow);
        printf(_("projects:  %ld\ncreated:   %s\n"), p->projects,
               p->created_at ? p->created_at : "");
    }
cleanup:
    stpm_plan_free(p);
    cli_args_free(&a);
    cli_opts_free(opts);
    return rc;
}

static const cli_command subcommands[] = {
    {"add", plan_add, N_("add a plan of some level that follows a loaded workflow")},
    {"list", plan_list, N_("the plans")},
    {"show", plan_show, N_("one plan")},
    {NULL, NULL, NULL},
};

int cli_cmd_plan(cli_ctx *ctx, int argc, char **argv)
{
    return cli_dispatch(ctx, "plan", _("Manage science-and-technology plans (科技计划)."),
                        subcommands, NULL, argc, argv);
}

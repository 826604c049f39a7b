/* stpm org add | list | show | blacklist | unblacklist | conflict: organisations (承担单位),
 * the credit blacklist (失信名单) and declared conflicts of interest (回避). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "connect.h"
#include "opts.h"
#include "subcmd.h"
#include "stpm/org.h"
#include "table.h"

static int org_help(const char *usage, const cli_opt *opts)
{
    cli_print_help(stdout, usage, NULL, opts);
    return 0;
}

static int org_add(cli_ctx *ctx, int argc, char **argv)
{
    static const char usage[] = "stpm org add --uscc CODE --name NAME --town TOWN [--kind KIND]";
    cli_opt opts[] = {
        CLI_STRING("uscc", 0, "CODE",
                   "unified social credit code (统一社会信用代码), 18 characters"),
        CLI_STRING("name", 0, "NAME", "the organisation's name (企业名称)"),
        CLI_STRING("town", 0, "TOWN", "its town or district (所属板块)"),
        CLI_STRING("kind", 0, "KIND", "enterprise, university, institute ..."),
        CLI_END,
    };
    cli_args a;
    int rc = cli_parse(ctx, usage, opts, argc, argv, &a);
    if (rc == 0 && a.help)
        rc = -1;
    if (rc == 0 && a.n_operands > 0)
        rc = cli_usage_error("unexpected argument \"%s\"\nusage: %s", a.operands[0], usage);
    const char *missing = NULL;
    if (rc == 0) {
        if (!cli_opt_get(opts, "uscc")->value)
            missing = "uscc";
        else if (!cli_opt_get(opts, "name")->value)
            missing = "name";
        else if (!cli_opt_get(opts, "town")->value)
            missing = "town";
        if (missing)
            rc = cli_usage_error("option --%s is required\nusage: %s", missing, usage);
    }
    if (rc == 0) {
        stpm_db *db = NULL;
        rc = cli_connect(ctx, &db);
        if (rc == 0) {
            stpm_org_spec s = STPM_ORG_SPEC_INIT;
            s.uscc = cli_opt_get(opts, "uscc")->value;
            s.name = cli_opt_get(opts, "name")->value;
            s.town = cli_opt_get(opts, "town")->value;
            s.kind = cli_opt_get(opts, "kind")->value;
            stpm_error err = STPM_ERROR_INIT;
            char uscc[19];
            if (stpm_org_add(db, &s, cli_today(ctx), uscc, &err) < 0)
                rc = cli_report_clear(&err);
            else
                printf(_("added organisation %s %s\n"), uscc, s.name);
        }
    } else if (rc < 0) {
        rc = org_help(usage, opts);
    }
    cli_args_free(&a);
    cli_opts_free(opts);
    return rc;
}

static int org_list(cli_ctx *ctx, int argc, char **argv)
{
    static const char usage[] = "stpm org list [--town TOWN]";
    cli_opt opts[] = {
        CLI_STRING("town", 0, "TOWN", "only the organisations of this town (所属板块)"),
        CLI_END,
    };
    cli_args a;
    stpm_org *orgs = NULL;
    size_t n = 0;
    cli_table *t = NULL;
    int rc = cli_parse(ctx, usage, opts, argc, argv, &a);
    if (rc != 0)
        goto cleanup;
    if (a.help) {
        rc = org_help(usage, opts);
        goto cleanup;
    }
    stpm_db *db = NULL;
    if ((rc = cli_connect(ctx, &db)) != 0)
        goto cleanup;
    stpm_error err = STPM_ERROR_INIT;
    if (stpm_org_list(db, cli_opt_get(opts, "town")->value, cli_today(ctx), &orgs, &n, &err) < 0) {
        rc = cli_report_clear(&err);
        goto cleanup;
    }
    static const char *const cols[] = {N_("uscc"), N_("name"),     N_("town"),
                                       N_("kind"), N_("projects"), N_("blacklisted")};
    t = cli_table_new(6, cols);
    if (!t) {
        rc = 1;
        goto cleanup;
    }
    cli_table_set_kind(t, 4, CLI_COL_NUMBER);
    cli_table_set_kind(t, 5, CLI_COL_BOOL);
    for (size_t i = 0; i < n; i++) {
        char count[24];
        snprintf(count, sizeof(count), "%ld", orgs[i].projects);
        const char *row[6] = {orgs[i].uscc, orgs[i].name, orgs[i].town,
                              orgs[i].kind, count,        orgs[i].blacklisted ? "yes" : "no"};
        cli_table_add_row(t, row);
    }
    cli_table_print(t, ctx->format, stdout, true);
cleanup:
    cli_table_free(t);
    stpm_org_list_free(orgs, n);
    cli_args_free(&a);
    cli_opts_free(opts);
    return rc;
}

static void json_kv(const char *key, const char *value, bool comma)
{
    cli_json_string(stdout, key);
    fputs(": ", stdout);
    if (value)
        cli_json_string(stdout, value);
    else
        fputs("null", stdout);
    if (comma)
        fputs(", ", stdout);
}

static void show_json(const stpm_org_detail *d)
{
    const stpm_org *o = &d->org;
    fputc('{', stdout);
    json_kv("uscc", o->uscc, true);
    json_kv("name", o->name, true);
    json_kv("town", o->town, true);
    json_kv("kind", o->kind, true);
    printf("\"projects\": %ld, \"blacklisted\": %s, \"blacklist\": [", o->projects,
           o->blacklisted ? "true" : "false");
    for (size_t i = 0; i < d->n_blacklist; i++) {
        const stpm_blacklist_entry *e = &d->blacklist[i];
        fputs(i ? ", {" : "{", stdout);
        json_kv("reason", e->reason, true);
        json_kv("valid_from", e->valid_from, true);
        json_kv("valid_until", e->valid_until, true);
        json_kv("added_by", e->added_by, true);
        json_kv("added_at", e->added_at, true);
        json_kv("lifted_on", e->lifted_on, true);
        json_kv("lifted_by", e->lifted_by, true);
        json_kv("lift_reason", e->lift_reason, true);
        printf("\"active\": %s}", e->active ? "true" : "false");
    }
    fputs("], \"conflicts\": [", stdout);
    for (size_t i = 0; i < d->n_conflicts; i++) {
        const stpm_conflict *c = &d->conflicts[i];
        fputs(i ? ", {" : "{", stdout);
        json_kv("officer", c->officer, true);
        json_kv("reason", c->reason, true);
        json_kv("declared_by", c->declared_by, true);
        json_kv("declared_at", c->declared_at, false);
        fputc('}', stdout);
    }
    fputs("]}\n", stdout);
}

static void show_text(const stpm_org_detail *d)
{
    const stpm_org *o = &d->org;
    printf(_("uscc:        %s\nname:        %s\ntown:        %s\nkind:        %s\n"
             "projects:    %ld\nblacklisted: %s\n"),
           o->uscc, o->name, o->town ? o->town : "", o->kind ? o->kind : "", o->projects,
           o->blacklisted ? "yes" : "no");
    printf(_("\nblacklist (失信名单):\n"));
    if (d->n_blacklist == 0) {
        printf(_("  (none)\n"));
    } else {
        static const char *const cols[] = {N_("from"),     N_("until"),     N_("reason"),
                                           N_("added_by"), N_("lifted_on"), N_("lift_reason"),
                                           N_("active")};
        cli_table *t = cli_table_new(7, cols);
        if (t) {
            cli_table_set_kind(t, 6, CLI_COL_BOOL);
            for (size_t i = 0; i < d->n_blacklist; i++) {
                const stpm_blacklist_entry *e = &d->blacklist[i];
                const char *row[7] = {e->valid_from,
                                      e->valid_until ? e->valid_until : "open",
                                      e->reason,
                                      e->added_by,
                                      e->lifted_on,
                                      e->lift_reason,
                                      e->active ? "yes" : "no"};
                cli_table_add_row(t, row);
            }
            cli_table_print(t, CLI_FORMAT_TABLE, stdout, false);
            cli_table_free(t);
        }
    }
    printf(_("\nconflicts of interest (回避):\n"));
    if (d->n_conflicts == 0) {
        printf(_("  (none)\n"));
    } else {
        static const char *const cols[] = {N_("officer"), N_("reason"), N_("declared_by"),
                                           N_("declared_at")};
        cli_table *t = cli_table_new(4, cols);
        if (t) {
            for (size_t i = 0; i < d->n_conflicts; i++) {
                const stpm_conflict *c = &d->conflicts[i];
                const char *row[4] = {c->officer, c->reason, c->declared_by, c->declared_at};
                cli_table_add_row(t, row);
            }
            cli_table_print(t, CLI_FORMAT_TABLE, stdout, false);
            cli_table_free(t);
        }
    }
}

/* show, unblacklist: one USCC operand and the given options. */
/* The start of the subcommands that take one USCC: 0 to go on, -1 after the help, else
 * the exit status of a usage error. */
static int one_operand(cli_ctx *ctx, const char *usage, cli_opt *opts, int argc, char **argv,
                       cli_args *a)
{
    int rc = 0;
    if (cli_start(ctx, usage, NULL, opts, argc, argv, a, 1, 1, _("expected one USCC"), NULL, &rc) <
        0)
        return rc ? rc : -1;
    return 0;
}

static int org_show(cli_ctx *ctx, int argc, char **argv)
{
    static const char usage[] = "stpm org show USCC";
    cli_opt opts[] = {CLI_END};
    cli_args a;
    stpm_org_detail *d = NULL;
    int rc = one_operand(ctx, usage, opts, argc, argv, &a);
    if (rc != 0) {
        rc = rc < 0 ? 0 : rc;
        goto cleanup;
    }
    stpm_db *db = NULL;
    if ((rc = cli_connect(ctx, &db)) != 0)
        goto cleanup;
    stpm_error err = STPM_ERROR_INIT;
    if (stpm_org_show(db, a.operands[0], cli_today(ctx), &d, &err) < 0) {
        rc = cli_report_clear(&err);
        goto cleanup;
    }
    if (ctx->format == CLI_FORMAT_JSON) {
        show_json(d);
    } else if (ctx->format == CLI_FORMAT_CSV) {
        static const char *const cols[] = {N_("uscc"),
                                           N_("name"),
                                           N_("town"),
                                           N_("kind"),
                                           N_("projects"),
                                           N_("blacklisted"),
                                           N_("blacklist_entries"),
                                           N_("conflicts")};
        cli_table *t = cli_table_new(8, cols);
        if (t) {
            char p[24], b[24], c[24];
            snprintf(p, sizeof(p), "%ld", d->org.projects);
            snprintf(b, sizeof(b), "%zu", d->n_blacklist);
            snprintf(c, sizeof(c), "%zu", d->n_conflicts);
            const char *row[8] = {d->org.uscc, d->org.name,
                                  d->org.town, d->org.kind,
                                  p,           d->org.blacklisted ? "yes" : "no",
                                  b,           c};
            cli_table_add_row(t, row);
            cli_table_print(t, CLI_FORMAT_CSV, stdout, false);
            cli_table_free(t);
        }
    } else {
        show_text(d);
    }
cleanup:
    stpm_org_detail_free(d);
    cli_args_free(&a);
    cli_opts_free(opts);
    return rc;
}

static int org_blacklist(cli_ctx *ctx, int argc, char **argv)
{
    static const char usage[] =
        "stpm org blacklist USCC --reason REASON [--from DATE] [--until DATE]";
    cli_opt opts[] = {
        CLI_STRING("reason", 0, "REASON", "why (e.g. 虚假申报), required"),
        CLI_STRING("from", 0, "DATE", "first day of the entry (default: today)"),
        CLI_STRING("until", 0, "DATE", "last day of the entry (default: open-ended)"),
        CLI_END,
    };
    cli_args a;
    int rc = one_operand(ctx, usage, opts, argc, argv, &a);
    stpm_date from = cli_today(ctx), until = 0;
    bool has_from = false, has_until = false;
    if (rc != 0) {
        rc = rc < 0 ? 0 : rc;
        goto cleanup;
    }
    if (!cli_opt_get(opts, "reason")->value) {
        rc = cli_usage_error("option --reason is required\nusage: %s", usage);
        goto cleanup;
    }
    if ((rc = cli_date_opt(opts, "from", &from, &has_from)) != 0 ||
        (rc = cli_date_opt(opts, "until", &until, &has_until)) != 0)
        goto cleanup;
    if (!has_from)
        from = cli_today(ctx);
    stpm_db *db = NULL;
    if ((rc = cli_connect(ctx, &db)) != 0)
        goto cleanup;
    stpm_error err = STPM_ERROR_INIT;
    if (stpm_org_blacklist(db, a.operands[0], cli_opt_get(opts, "reason")->value, from,
                           has_until ? &until : NULL, cli_today(ctx), &err) < 0) {
        rc = cli_report_clear(&err);
        goto cleanup;
    }
    char f[11], u[11];
    printf(_("blacklisted %s from %s until %s\n"), a.operands[0], stpm_date_format(from, f),
           has_until ? stpm_date_format(until, u) : _("further notice"));
cleanup:
    cli_args_free(&a);
    cli_opts_free(opts);
    return rc;
}

static int org_unblacklist(cli_ctx *ctx, int argc, char **argv)
{
    static const char usage[] = "stpm org unblacklist USCC [--reason REASON]";
    cli_opt opts[] = {
        CLI_STRING("reason", 0, "REASON", "why the entries are lifted"),
        CLI_END,
    };
    cli_args a;
    int rc = one_operand(ctx, usage, opts, argc, argv, &a);
    if (rc != 0) {
        rc = rc < 0 ? 0 : rc;
        goto cleanup;
    }
    stpm_db *db = NULL;
    if ((rc = cli_connect(ctx, &db)) != 0)
        goto cleanup;
    stpm_error err = STPM_ERROR_INIT;
    int lifted = 0;
    if (stpm_org_unblacklist(db, a.operands[0], cli_opt_get(opts, "reason")->value, cli_today(ctx),
                             &lifted, &err) < 0) {
        rc = cli_report_clear(&err);
        goto cleanup;
    }
    if (lifted == 0)
        printf(_("%s has no blacklist entry to lift\n"), a.operands[0]);
    else
        printf(_("lifted %d blacklist entr%s of %s\n"), lifted, lifted == 1 ? "y" : "ies",
               a.operands[0]);
cleanup:
    cli_args_free(&a);
    cli_opts_free(opts);
    return rc;
}

static int org_conflict(cli_ctx *ctx, int argc, char **argv)
{
    static const char usage[] = "stpm org conflict USCC --officer ROLE --reason REASON";
    cli_opt opts[] = {
        CLI_STRING("officer", 0, "ROLE", "the officer's database role, required"),
        CLI_STRING("reason", 0, "REASON", "the conflict of interest (e.g. 亲属任职), required"),
        CLI_END,
    };
    cli_args a;
    int rc = one_operand(ctx, usage, opts, argc, argv, &a);
    if (rc != 0) {
        rc = rc < 0 ? 0 : rc;
        goto cleanup;
    }
    const char *officer = cli_opt_get(opts, "officer")->value;
    const char *reason = cli_opt_get(opts, "reason")->value;
    if (!officer || !reason) {
        rc = cli_usage_error("option --%s is required\nusage: %s", officer ? "reason" : "officer",
                             usage);
        goto cleanup;
    }
    stpm_db *db = NULL;
    if ((rc = cli_connect(ctx, &db)) != 0)
        goto cleanup;
    stpm_error err = STPM_ERROR_INIT;
    if (stpm_org_conflict(db, a.operands[0], officer, reason, cli_today(ctx), &err) < 0) {
        rc = cli_report_clear(&err);
        goto cleanup;
    }
    printf(_("declared a conflict of interest of %s with %s\n"), officer, a.operands[0]);
cleanup:
    cli_args_free(&a);
    cli_opts_free(opts);
    return rc;
}

static const cli_command subcommands[] = {
    {"add", org_add, N_("register an organisation (the USCC check character is verified)")},
    {"list", org_list, N_("the organisations, with their projects and blacklist status")},
    {"show", org_show, N_("one organisation with its blacklist entries and conflicts")},
    {"blacklist", org_blacklist, N_("put it on the credit blacklist from a date, until a date")},
    {"unblacklist", org_unblacklist,
     N_("lift its current and future entries (the history is kept)")},
    {"conflict", org_conflict, N_("declare an officer in conflict of interest with it")},
    {NULL, NULL, NULL},
};

int cli_cmd_org(cli_ctx *ctx, int argc, char **argv)
{
    return cli_dispatch(ctx, "org",
                        _("Manage undertaking organisations (承担单位), the credit blacklist "
                          "(失信名单) and conflicts of interest (回避)."),
                        subcommands, NULL, argc, argv);
}

/* stpm user add | list: login roles in the four groups (admin, officer, expert, auditor). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "connect.h"
#include "opts.h"
#include "subcmd.h"
#include "stpm/user.h"
#include "table.h"

/* One line of stdin without its line end; NULL when nothing could be read. */
static char *read_password(void)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, stdin);
    if (n < 0) {
        free(line);
        return NULL;
    }
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    return line;
}

static int user_add(cli_ctx *ctx, int argc, char **argv)
{
    static const char usage[] =
        "stpm user add NAME --role admin|officer|expert|auditor [--password-stdin]";
    cli_opt opts[] = {
        CLI_STRING("role", 0, "ROLE", "admin, officer, expert or auditor (required)"),
        CLI_FLAG("password-stdin", 0, "read the password from the first line of stdin"),
        CLI_END,
    };
    cli_args a;
    char *password = NULL;
    int rc = 0;
    if (cli_start(ctx, usage, NULL, opts, argc, argv, &a, 1, 1, _("expected one user NAME"), NULL,
                  &rc) < 0)
        goto cleanup;
    const char *role = cli_opt_get(opts, "role")->value;
    if (!role) {
        rc = cli_usage_error("option --role is required\nusage: %s", usage);
        goto cleanup;
    }
    if (cli_opt_get(opts, "password-stdin")->flag) {
        password = read_password();
        if (!password || !*password) {
            stpm_error err = STPM_ERROR_INIT;
            stpm_error_set(&err, STPM_EINPUT, "no password on standard input");
            stpm_error_hint(&err, "Write the password as the first line of standard input.");
            rc = cli_report_clear(&err);
            goto cleanup;
        }
    }
    stpm_db *db = NULL;
    if ((rc = cli_connect(ctx, &db)) != 0)
        goto cleanup;
    stpm_error err = STPM_ERROR_INIT;
    bool created = false;
    if (stpm_user_add(db, a.operands[0], role, password, cli_today(ctx), &created, &err) < 0) {
        rc = cli_report_clear(&err);
        goto cleanup;
    }
    printf(_("%s user %s to stpm_%s\n"), created ? _("created") : _("added"), a.operands[0], role);
cleanup:
    if (password) {
        memset(password, 0, strlen(password));
        free(password);
    }
    cli_args_free(&a);
    cli_opts_free(opts);
    return rc;
}

static int user_list(cli_ctx *ctx, int argc, char **argv)
{
    static const char usage[] = "stpm user list";
    cli_opt opts[] = {CLI_END};
    cli_args a;
    stpm_user *users = NULL;
    size_t n = 0;
    cli_table *t = NULL;
    stpm_db *db = NULL;
    int rc = 0;
    if (cli_start(ctx, usage, NULL, opts, argc, argv, &a, 0, INT_MAX, NULL, &db, &rc) < 0)
        goto cleanup;
    stpm_error err = STPM_ERROR_INIT;
    if (stpm_user_list(db, &users, &n, &err) < 0) {
        rc = cli_report_clear(&err);
        goto cleanup;
    }
    static const char *const cols[] = {N_("user"), N_("roles"), N_("login")};
    if (!(t = cli_table_new(3, cols))) {
        rc = 1;
        goto cleanup;
    }
    cli_table_set_kind(t, 2, CLI_COL_BOOL);
    for (size_t i = 0; i < n; i++) {
        const char *row[3] = {users[i].name, users[i].roles, users[i].can_login ? "yes" : "no"};
        cli_table_add_row(t, row);
    }
    cli_table_print(t, ctx->format, stdout, true);
cleanup:
    cli_table_free(t);
    stpm_user_list_free(users, n);
    cli_args_free(&a);
    cli_opts_free(opts);
    return rc;
}

static const cli_command subcommands[] = {
    {"add", user_add, N_("create the login role (when new) and grant it the group")},
    {"list", user_list, N_("the members of the four groups")},
    {NULL, NULL, NULL},
};

int cli_cmd_user(cli_ctx *ctx, int argc, char **argv)
{
    return cli_dispatch(
        ctx, "user",
        _("Manage users: PostgreSQL login roles in the groups stpm_admin, stpm_officer,\n"
          "stpm_expert and stpm_auditor."),
        subcommands, NULL, argc, argv);
}

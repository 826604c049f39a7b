/* stpm demo: the guided tour. For now it brings up the database (the embedded cluster
 * unless --db says otherwise), migrates it and says what stpm does. */
#include <stdio.h>

#include "cli.h"
#include "commands.h"
#include "connect.h"
#include "opts.h"

static const char demo_summary[] =
    "Bring up the database (the embedded cluster under --home unless --db is given: it is\n"
    "created, started and migrated as needed, and left running; \"stpm db stop\" stops it),\n"
    "then show where it is and the stages of the pipeline.";

int cli_cmd_demo(cli_ctx *ctx, int argc, char **argv)
{
    static const char usage[] = "stpm demo";
    cli_opt opts[] = {CLI_END};
    cli_args args;
    stpm_db *db = NULL;
    int rc = cli_parse(ctx, usage, opts, argc, argv, &args);
    if (rc != 0)
        goto out;
    if (args.help) {
        cli_print_help(stdout, usage, demo_summary, opts);
        goto out;
    }
    if (args.n_operands > 0) {
        rc = cli_usage_error("stpm demo takes no operands");
        goto out;
    }
    if ((rc = cli_connect(ctx, &db)) != 0)
        goto out;
    printf("stpm — 科技项目全周期管理 (science & technology project lifecycle manager)\n\n"
           "A county S&T bureau's projects go through the pipeline\n"
           "  储备 reserve → 申报 application → 廉政准入 integrity admission → 立项 approval\n"
           "  → 在研检查 in-progress checks → 验收 acceptance\n"
           "and auditors (审计/纪检) see, as of any date, what is closed and what is due but\n"
           "unclosed (应结未结).\n\n"
           "The database:\n");
    fflush(stdout);
    rc = cli_db_show_status(ctx);
    if (rc == 0)
        printf("\nThe database is ready and left running; \"stpm db stop\" stops it.\n");
out:
    cli_args_free(&args);
    cli_opts_free(opts);
    return rc;
}

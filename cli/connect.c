/* The CLI's connection: see connect.h. */
#include "connect.h"

int cli_connect(cli_ctx *ctx, stpm_db **out)
{
    if (ctx->db_handle) {
        *out = ctx->db_handle;
        return 0;
    }
    stpm_db_options opts = STPM_DB_OPTIONS_INIT;
    opts.conninfo = ctx->db;
    opts.home = ctx->home;
    opts.user = ctx->user;
    stpm_error err = STPM_ERROR_INIT;
    stpm_db *db = NULL;
    if (stpm_db_open(&db, &opts, &err) < 0) {
        int rc = cli_report(&err);
        stpm_error_clear(&err);
        return rc;
    }
    ctx->db_handle = db;
    *out = db;
    return 0;
}

void cli_disconnect(cli_ctx *ctx)
{
    stpm_db_free(ctx->db_handle);
    ctx->db_handle = NULL;
}

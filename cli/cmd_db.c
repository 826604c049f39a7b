/* stpm db init | start | stop | status | migrate: the database itself. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "opts.h"
#include "subcmd.h"
#include "stpm/db.h"
#include "stpm/embedded.h"
#include "stpm/migrate.h"
#include "table.h"

static const char db_summary[] =
    "Manage the database: the embedded cluster (init, start, stop), its state (status) and\n"
    "the schema migrations (migrate).\n\n"
    "subcommands:\n"
    "  init      create the embedded cluster under the home, start it, apply the migrations\n"
    "  start     start the embedded cluster (creating it when missing)\n"
    "  stop      stop the embedded cluster\n"
    "  status    where the database is, whether it runs, its version, applied migrations\n"
    "            (exit 8 when it does not answer)\n"
    "  migrate   apply the pending schema migrations";

static stpm_db_options options_of(const cli_ctx *ctx)
{
    stpm_db_options o = STPM_DB_OPTIONS_INIT;
    o.conninfo = ctx->db;
    o.home = ctx->home;
    o.user = ctx->user;
    return o;
}

/* Open with explicit flags; the handle is owned by ctx (closed by main). */
static int open_db(cli_ctx *ctx, bool no_start, bool no_migrate, stpm_db **out, stpm_error *err)
{
    stpm_db_options o = options_of(ctx);
    o.no_start = no_start;
    o.no_migrate = no_migrate;
    stpm_db *db = NULL;
    int rc = stpm_db_open(&db, &o, err);
    if (rc < 0)
        return rc;
    ctx->db_handle = db;
    *out = db;
    return 0;
}

/* init, start and stop manage the embedded cluster only. */
static int need_embedded(const cli_ctx *ctx, const char *sub)
{
    stpm_db_options o = options_of(ctx);
    stpm_db_source s = stpm_db_resolve(&o);
    if (s == STPM_DB_SOURCE_EMBEDDED)
        return 0;
    return cli_usage_error("\"stpm db %s\" manages the embedded database, but the connection "
                           "is given by %s\nUnset it, or use \"stpm db status\" and \"stpm db "
                           "migrate\" with that server.",
                           sub,
                           s == STPM_DB_SOURCE_CONNINFO ? "--db or STPM_DB"
                                                        : "the libpq environment (PGHOST, ...)");
}

static int db_init(cli_ctx *ctx)
{
    stpm_error err = STPM_ERROR_INIT;
    stpm_embedded *e = NULL;
    stpm_db *db = NULL;
    bool created = false, started = false;
    size_t applied = 0;
    int rc = stpm_embedded_new(&e, ctx->home, &err);
    if (rc == 0)
        rc = stpm_embedded_init(e, &created, &err);
    if (rc == 0)
        rc = stpm_embedded_start(e, &started, &err);
    if (rc == 0)
        rc = open_db(ctx, true, true, &db, &err);
    if (rc == 0)
        rc = stpm_migrate(db, &applied, &err);
    if (rc < 0) {
        rc = cli_report_clear(&err);
        goto out;
    }
    printf(created ? "initialised the embedded database in %s\n"
                   : "the embedded database in %s was already initialised\n",
           stpm_embedded_home(e));
    printf("%s, socket %s\n", started ? "started" : "running", stpm_embedded_socket_dir(e));
    printf("applied %zu migration%s\n", applied, applied == 1 ? "" : "s");
out:
    stpm_embedded_free(e);
    return rc;
}

static int db_start(cli_ctx *ctx)
{
    stpm_error err = STPM_ERROR_INIT;
    stpm_embedded *e = NULL;
    stpm_db *db = NULL;
    bool created = false, started = false;
    int rc = stpm_embedded_new(&e, ctx->home, &err);
    if (rc == 0)
        rc = stpm_embedded_init(e, &created, &err);
    if (rc == 0)
        rc = stpm_embedded_start(e, &started, &err);
    if (rc == 0) /* applies pending migrations, as any command would */
        rc = open_db(ctx, true, false, &db, &err);
    if (rc < 0) {
        rc = cli_report_clear(&err);
        goto out;
    }
    if (created)
        printf("initialised the embedded database in %s\n", stpm_embedded_home(e));
    printf(started ? "started the embedded database, socket %s\n"
                   : "the embedded database is already running, socket %s\n",
           stpm_embedded_socket_dir(e));
out:
    stpm_embedded_free(e);
    return rc;
}

static int db_stop(cli_ctx *ctx)
{
    stpm_error err = STPM_ERROR_INIT;
    stpm_embedded *e = NULL;
    bool stopped = false;
    int rc = stpm_embedded_new(&e, ctx->home, &err);
    if (rc == 0)
        rc = stpm_embedded_stop(e, &stopped, &err);
    if (rc < 0)
        rc = cli_report_clear(&err);
    else
        printf(stopped ? "stopped the embedded database in %s\n"
                       : "the embedded database in %s is not running\n",
               stpm_embedded_home(e));
    stpm_embedded_free(e);
    return rc;
}

/* ---- status ---- */

typedef struct kv {
    const char *keys[24];
    char *vals[24];
    size_t n;
} kv;

static void kv_add(kv *k, const char *key, char *val /* taken */)
{
    if (k->n < sizeof(k->keys) / sizeof(k->keys[0])) {
        k->keys[k->n] = key;
        k->vals[k->n++] = val;
    } else {
        free(val);
    }
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static char *fmt_size(size_t v)
{
    char *s = NULL;
    if (asprintf(&s, "%zu", v) < 0)
        return NULL;
    return s;
}

/* Table format shows one line per setting; json and csv one record with a field each. */
static void kv_print(const kv *k, cli_format fmt)
{
    cli_table *t = NULL;
    if (fmt == CLI_FORMAT_TABLE) {
        const char *names[] = {"setting", "value"};
        t = cli_table_new(2, names);
        for (size_t i = 0; t && i < k->n; i++) {
            const char *row[] = {k->keys[i], k->vals[i] ? k->vals[i] : ""};
            cli_table_add_row(t, row);
        }
    } else {
        t = cli_table_new(k->n, k->keys);
        if (t)
            cli_table_add_row(t, (const char *const *)k->vals);
    }
    if (t)
        cli_table_print(t, fmt, stdout, false);
    cli_table_free(t);
}

static void kv_free(kv *k)
{
    for (size_t i = 0; i < k->n; i++)
        free(k->vals[i]);
}

static const char *source_name(stpm_db_source s)
{
    return s == STPM_DB_SOURCE_EMBEDDED   ? "embedded"
           : s == STPM_DB_SOURCE_CONNINFO ? "conninfo"
                                          : "environment";
}

int cli_db_show_status(cli_ctx *ctx)
{
    stpm_error err = STPM_ERROR_INIT;
    stpm_embedded *e = NULL;
    stpm_db *db = ctx->db_handle;
    kv k = {0};
    int rc = 0;
    stpm_db_options o = options_of(ctx);
    stpm_db_source src = stpm_db_resolve(&o);
    kv_add(&k, "source", dup_or_null(source_name(src)));
    bool running = true;
    if (src == STPM_DB_SOURCE_EMBEDDED) {
        stpm_embedded_state st;
        if ((rc = stpm_embedded_new(&e, ctx->home, &err)) < 0 ||
            (rc = stpm_embedded_status(e, &st, &err)) < 0)
            goto out;
        kv_add(&k, "home", dup_or_null(stpm_embedded_home(e)));
        kv_add(&k, "data_dir", dup_or_null(stpm_embedded_data_dir(e)));
        kv_add(&k, "socket_dir", dup_or_null(stpm_embedded_socket_dir(e)));
        kv_add(&k, "server_log", dup_or_null(stpm_embedded_log_file(e)));
        kv_add(&k, "conninfo", dup_or_null(stpm_embedded_conninfo(e)));
        kv_add(&k, "bindir", dup_or_null(st.bindir ? st.bindir : "(not found)"));
        kv_add(&k, "initialized", dup_or_null(st.initialized ? "yes" : "no"));
        char *state = NULL;
        if (st.running && asprintf(&state, "running (pid %ld)", st.pid) < 0)
            state = NULL;
        kv_add(&k, "state", state ? state : dup_or_null(st.running ? "running" : "not running"));
        running = st.running;
    }
    if (running && !db) {
        stpm_error probe = STPM_ERROR_INIT;
        /* the embedded server runs here: a refused role or a missing database is said too */
        if (open_db(ctx, true, true, &db, &probe) < 0) {
            stpm_error_move(&err, &probe);
            rc = err.code;
            goto out;
        }
    }
    if (db) {
        size_t applied = 0, pending = 0;
        kv_add(&k, "connection", dup_or_null(stpm_db_describe(db)));
        kv_add(&k, "server_version", dup_or_null(stpm_db_server_version(db)));
        kv_add(&k, "role", dup_or_null(stpm_db_role(db)));
        if ((rc = stpm_migrate_status(db, &applied, &pending, &err)) < 0)
            goto out;
        kv_add(&k, "migrations_applied", fmt_size(applied));
        kv_add(&k, "migrations_pending", fmt_size(pending));
    }
    kv_print(&k, ctx->format);
out:
    if (rc < 0) {
        kv_print(&k, ctx->format);
        rc = cli_report_clear(&err);
    } else if (!db) {
        rc = 8;
    }
    kv_free(&k);
    stpm_embedded_free(e);
    return rc;
}

static int db_migrate(cli_ctx *ctx)
{
    stpm_error err = STPM_ERROR_INIT;
    stpm_db *db = NULL;
    size_t applied = 0, done = 0, pending = 0;
    int rc = open_db(ctx, false, true, &db, &err);
    if (rc == 0)
        rc = stpm_migrate(db, &applied, &err);
    if (rc == 0)
        rc = stpm_migrate_status(db, &done, &pending, &err);
    if (rc < 0)
        return cli_report_clear(&err);
    if (applied == 0)
        printf("nothing to apply: all %zu migrations are applied\n", done);
    else
        printf("applied %zu migration%s (%zu in all)\n", applied, applied == 1 ? "" : "s", done);
    return 0;
}

int cli_cmd_db(cli_ctx *ctx, int argc, char **argv)
{
    static const char usage[] = "stpm db init|start|stop|status|migrate";
    cli_opt opts[] = {CLI_END};
    cli_args args;
    int rc = 0;
    if (cli_start(ctx, usage, db_summary, opts, argc, argv, &args, 0, INT_MAX, NULL, NULL, &rc) < 0)
        goto out;
    if (args.n_operands != 1) {
        rc = cli_usage_error(args.n_operands == 0 ? "stpm db needs a subcommand: %s"
                                                  : "stpm db takes one subcommand: %s",
                             "init, start, stop, status or migrate");
        goto out;
    }
    const char *sub = args.operands[0];
    if (strcmp(sub, "status") == 0)
        rc = cli_db_show_status(ctx);
    else if (strcmp(sub, "migrate") == 0)
        rc = db_migrate(ctx);
    else if (strcmp(sub, "init") == 0 || strcmp(sub, "start") == 0 || strcmp(sub, "stop") == 0) {
        rc = need_embedded(ctx, sub);
        if (rc == 0)
            rc = strcmp(sub, "init") == 0    ? db_init(ctx)
                 : strcmp(sub, "start") == 0 ? db_start(ctx)
                                             : db_stop(ctx);
    } else
        rc = cli_usage_error("unknown subcommand \"db %s\"\nTry \"stpm db --help\".", sub);
out:
    cli_args_free(&args);
    cli_opts_free(opts);
    return rc;
}

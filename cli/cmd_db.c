/* stpm db init | start | stop | status | migrate | backup | restore | destroy | archive: the
 * database itself. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "opts.h"
#include "subcmd.h"
#include "stpm/backup.h"
#include "stpm/db.h"
#include "stpm/embedded.h"
#include "stpm/migrate.h"
#include "table.h"

static const char db_summary[] =
    N_("Manage the database: the embedded cluster (init, start, stop, destroy), its state\n"
       "(status), the schema migrations (migrate), backups (backup, restore) and WAL archiving\n"
       "for point-in-time recovery (archive).\n\n"
       "subcommands:\n"
       "  init [--archive DIR]  create the embedded cluster under the home, start it, apply the\n"
       "                        migrations (and archive its WAL into DIR, as archive on DIR)\n"
       "  start     start the embedded cluster (creating it when missing)\n"
       "  stop      stop the embedded cluster\n"
       "  status    where the database is, whether it runs, its version, applied migrations,\n"
       "            primary or standby and the replay lag (exit 8 when it does not answer)\n"
       "  migrate   apply the pending schema migrations\n"
       "  backup FILE   write a backup (pg_dump custom format) of the database into FILE\n"
       "  restore FILE  restore a backup into an empty database or a new home, then migrate\n"
       "  restore --archive DIR --until TIMESTAMP\n"
       "                recover the embedded database of a new home as it was at TIMESTAMP\n"
       "  archive on DIR  archive the embedded cluster's WAL into DIR and take a base backup\n"
       "  destroy [--yes] stop the embedded cluster and remove it with all its data (asks\n"
       "                first; without a terminal --yes is required)");

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
                                                        : _("the libpq environment (PGHOST, ...)"));
}

static int db_init(cli_ctx *ctx, const char *archive)
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
        goto cleanup;
    }
    printf(created ? _("initialised the embedded database in %s\n")
                   : _("the embedded database in %s was already initialised\n"),
           stpm_embedded_home(e));
    printf(started ? _("started, socket %s\n") : _("running, socket %s\n"),
           stpm_embedded_socket_dir(e));
    printf(_("applied %zu migration%s\n"), applied, applied == 1 ? "" : "s");
    if (archive) {
        char *base = NULL;
        if ((rc = stpm_embedded_archive_on(e, archive, &base, &err)) < 0) {
            rc = cli_report_clear(&err);
            goto cleanup;
        }
        printf(_("archiving the WAL into %s/wal; base backup %s\n"), archive, base);
        free(base);
    }
cleanup:
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
        goto cleanup;
    }
    if (created)
        printf(_("initialised the embedded database in %s\n"), stpm_embedded_home(e));
    printf(started ? _("started the embedded database, socket %s\n")
                   : _("the embedded database is already running, socket %s\n"),
           stpm_embedded_socket_dir(e));
cleanup:
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
        printf(stopped ? _("stopped the embedded database in %s\n")
                       : _("the embedded database in %s is not running\n"),
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
        const char *names[] = {N_("setting"), N_("value")};
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

static char *fmt_ll(long long v)
{
    char *s = NULL;
    if (asprintf(&s, "%lld", v) < 0)
        return NULL;
    return s;
}

/* primary or standby; a standby's replay lag, a primary's standbys. */
static int add_replication(kv *k, stpm_db *db, stpm_error *err)
{
    stpm_db_replication r;
    int rc = stpm_db_replication_get(db, &r, err);
    if (rc < 0)
        return rc;
    kv_add(k, "server",
           dup_or_null(r.standby ? "standby (read-only)"
                                 : "primary")); /* i18n-ok: values of the JSON too */
    if (r.standby) {
        kv_add(k, "replay_lag", dup_or_null(r.replay_lag ? r.replay_lag : "unknown"));
        kv_add(k, "replay_lag_bytes", r.lag_bytes >= 0 ? fmt_ll(r.lag_bytes) : NULL);
        kv_add(k, "receive_lsn", dup_or_null(r.receive_lsn));
        kv_add(k, "replay_lsn", dup_or_null(r.replay_lsn));
    } else {
        kv_add(k, "standbys", r.standbys >= 0 ? fmt_ll(r.standbys) : NULL);
        if (r.max_replay_lag)
            kv_add(k, "standby_replay_lag", dup_or_null(r.max_replay_lag));
    }
    stpm_db_replication_clear(&r);
    return 0;
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
            goto cleanup;
        kv_add(&k, "home", dup_or_null(stpm_embedded_home(e)));
        kv_add(&k, "data_dir", dup_or_null(stpm_embedded_data_dir(e)));
        kv_add(&k, "socket_dir", dup_or_null(stpm_embedded_socket_dir(e)));
        kv_add(&k, "server_log", dup_or_null(stpm_embedded_log_file(e)));
        kv_add(&k, "conninfo", dup_or_null(stpm_embedded_conninfo(e)));
        kv_add(&k, "bindir",
               dup_or_null(st.bindir ? st.bindir : "(not found)")); /* i18n-ok: a value */
        kv_add(&k, "initialized", dup_or_null(st.initialized ? "yes" : "no"));
        char *state = NULL;
        if (st.running &&
            asprintf(&state, "running (pid %ld)", st.pid) < 0) /* i18n-ok: JSON value */
            state = NULL;
        kv_add(&k, "state", /* i18n-ok: values */
               state ? state : dup_or_null(st.running ? "running" : "not running"));
        running = st.running;
    }
    if (running && !db) {
        stpm_error probe = STPM_ERROR_INIT;
        /* the embedded server runs here: a refused role or a missing database is said too */
        if (open_db(ctx, true, true, &db, &probe) < 0) {
            stpm_error_move(&err, &probe);
            rc = err.code;
            goto cleanup;
        }
    }
    if (db) {
        size_t applied = 0, pending = 0;
        kv_add(&k, "connection", dup_or_null(stpm_db_describe(db)));
        kv_add(&k, "server_version", dup_or_null(stpm_db_server_version(db)));
        kv_add(&k, "role", dup_or_null(stpm_db_role(db)));
        if ((rc = stpm_migrate_status(db, &applied, &pending, &err)) < 0)
            goto cleanup;
        kv_add(&k, "migrations_applied", fmt_size(applied));
        kv_add(&k, "migrations_pending", fmt_size(pending));
        if ((rc = add_replication(&k, db, &err)) < 0)
            goto cleanup;
    }
    kv_print(&k, ctx->format);
cleanup:
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
        printf(_("nothing to apply: all %zu migrations are applied\n"), done);
    else
        printf(_("applied %zu migration%s (%zu in all)\n"), applied, applied == 1 ? "" : "s", done);
    return 0;
}

static void print_schema(const stpm_backup_info *info)
{
    printf(_("schema version: %zu migration%s, the newest %s\n"), info->migrations,
           info->migrations == 1 ? "" : "s", info->last_migration ? info->last_migration : "none");
}

static int db_backup(cli_ctx *ctx, const char *file)
{
    stpm_error err = STPM_ERROR_INIT;
    stpm_backup_info info;
    stpm_db_options o = options_of(ctx);
    int rc = stpm_db_backup(&o, file, &info, &err);
    if (rc < 0) {
        stpm_backup_info_clear(&info);
        return cli_report_clear(&err);
    }
    printf(_("backed up the database into %s (%lld bytes)\n"), file, info.bytes);
    print_schema(&info);
    stpm_backup_info_clear(&info);
    return 0;
}

static int db_restore(cli_ctx *ctx, const char *file)
{
    stpm_error err = STPM_ERROR_INIT;
    stpm_backup_info info;
    stpm_db_options o = options_of(ctx);
    int rc = stpm_db_restore(&o, file, &info, &err);
    if (rc < 0) {
        stpm_backup_info_clear(&info);
        return cli_report_clear(&err);
    }
    printf(_("restored %s into %s\n"), file, info.target ? info.target : _("the database"));
    print_schema(&info);
    if (info.applied > 0)
        printf(_("applied %zu newer migration%s\n"), info.applied, info.applied == 1 ? "" : "s");
    stpm_backup_info_clear(&info);
    return 0;
}

static int db_restore_archive(cli_ctx *ctx, const char *dir, const char *until)
{
    stpm_error err = STPM_ERROR_INIT;
    stpm_embedded *e = NULL;
    stpm_db *db = NULL;
    char *base = NULL;
    size_t applied = 0;
    int rc = stpm_embedded_new(&e, ctx->home, &err);
    if (rc == 0)
        rc = stpm_embedded_restore_archive(e, dir, until, &base, &err);
    if (rc == 0) /* the recovered schema may be older than this stpm */
        rc = open_db(ctx, true, true, &db, &err);
    if (rc == 0)
        rc = stpm_migrate(db, &applied, &err);
    if (rc < 0) {
        rc = cli_report_clear(&err);
        goto cleanup;
    }
    printf(_("recovered the embedded database in %s as it was at %s\n"), stpm_embedded_home(e),
           until);
    printf(_("from the base backup %s and the WAL of %s/wal\n"), base, dir);
    if (applied > 0)
        printf(_("applied %zu newer migration%s\n"), applied, applied == 1 ? "" : "s");
cleanup:
    free(base);
    stpm_embedded_free(e);
    return rc;
}

static int db_archive(cli_ctx *ctx, int n, char **operands)
{
    if (n != 2 || strcmp(operands[0], "on") != 0)
        return cli_usage_error("usage: stpm db archive on DIR");
    stpm_error err = STPM_ERROR_INIT;
    stpm_embedded *e = NULL;
    char *base = NULL;
    int rc = stpm_embedded_new(&e, ctx->home, &err);
    if (rc == 0)
        rc = stpm_embedded_archive_on(e, operands[1], &base, &err);
    if (rc < 0)
        rc = cli_report_clear(&err);
    else
        printf(_("archiving the WAL of the embedded database in %s into %s/wal\n"
                 "base backup %s\n"),
               stpm_embedded_home(e), operands[1], base);
    free(base);
    stpm_embedded_free(e);
    return rc;
}

/* Ask on the terminal; true when the answer is yes. */
static bool confirm(const char *home)
{
    fprintf(stderr, _("stpm: destroy the embedded database in %s, with all its data? [y/N] "),
            home);
    fflush(stderr);
    char line[64];
    if (!fgets(line, sizeof(line), stdin))
        return false;
    return strcmp(line, "y\n") == 0 || strcmp(line, "yes\n") == 0 || strcmp(line, "Y\n") == 0;
}

static int db_destroy(cli_ctx *ctx, bool yes)
{
    stpm_error err = STPM_ERROR_INIT;
    stpm_embedded *e = NULL;
    bool destroyed = false;
    int rc = stpm_embedded_new(&e, ctx->home, &err);
    if (rc < 0)
        return cli_report_clear(&err);
    if (!yes && !(isatty(STDIN_FILENO) && isatty(STDERR_FILENO))) {
        rc = cli_usage_error("\"stpm db destroy\" removes the embedded database in %s with all "
                             "its data, and there is no terminal to ask on\nGive --yes to "
                             "destroy it.",
                             stpm_embedded_home(e));
        goto cleanup;
    }
    if (!yes && !confirm(stpm_embedded_home(e))) {
        fprintf(stderr, _("stpm: nothing was destroyed\n"));
        rc = 1;
        goto cleanup;
    }
    if ((rc = stpm_embedded_destroy(e, &destroyed, &err)) < 0) {
        rc = cli_report_clear(&err);
        goto cleanup;
    }
    printf(destroyed ? _("destroyed the embedded database in %s\n")
                     : _("there is no embedded database in %s: nothing to destroy\n"),
           stpm_embedded_home(e));
cleanup:
    stpm_embedded_free(e);
    return rc;
}

int cli_cmd_db(cli_ctx *ctx, int argc, char **argv)
{
    static const char usage[] =
        "stpm db init [--archive DIR] | start | stop | status | migrate | backup FILE |\n"
        "       restore FILE | restore --archive DIR --until TIMESTAMP | archive on DIR |\n"
        "       destroy [--yes]";
    cli_opt opts[] = {
        CLI_STRING("archive", 0, "DIR",
                   "init: archive the WAL into DIR; restore: recover from DIR"),
        CLI_STRING("until", 0, "TIMESTAMP", "restore --archive: the time to recover to"),
        CLI_FLAG("yes", 'y', "destroy: do not ask"), CLI_END};
    cli_args args;
    int rc = 0;
    if (cli_start(ctx, usage, db_summary, opts, argc, argv, &args, 0, INT_MAX, NULL, NULL, &rc) < 0)
        goto cleanup;
    if (args.n_operands == 0) {
        rc = cli_usage_error("stpm db needs a subcommand: %s",
                             _("init, start, stop, status, migrate, backup, restore, archive or "
                               "destroy"));
        goto cleanup;
    }
    const char *sub = args.operands[0];
    const char *archive = cli_opt_get(opts, "archive")->value;
    const char *until = cli_opt_get(opts, "until")->value;
    bool yes = cli_opt_get(opts, "yes")->flag;
    int n = args.n_operands - 1;
    bool takes_file = strcmp(sub, "backup") == 0 || (strcmp(sub, "restore") == 0 && !archive);
    bool archive_form = strcmp(sub, "restore") == 0 && archive;
    if (strcmp(sub, "archive") == 0) {
        rc = need_embedded(ctx, sub);
        if (rc == 0)
            rc = db_archive(ctx, n, args.operands + 1);
        goto cleanup;
    }
    if (takes_file && n != 1) {
        rc = cli_usage_error("\"stpm db %s\" takes one FILE", sub);
        goto cleanup;
    }
    if (!takes_file && n != 0) {
        rc = cli_usage_error("\"stpm db %s\" takes no operand: \"%s\" is one too many", sub,
                             args.operands[1]);
        goto cleanup;
    }
    if ((archive && strcmp(sub, "init") != 0 && strcmp(sub, "restore") != 0) ||
        (until && !archive_form) || (yes && strcmp(sub, "destroy") != 0)) {
        rc = cli_usage_error("%s does not apply to \"stpm db %s\"",
                             archive ? "--archive"
                             : until ? "--until"
                                     : "--yes",
                             sub);
        goto cleanup;
    }
    if (archive_form && !until) {
        rc = cli_usage_error("\"stpm db restore --archive DIR\" needs --until TIMESTAMP");
        goto cleanup;
    }
    if (strcmp(sub, "status") == 0)
        rc = cli_db_show_status(ctx);
    else if (strcmp(sub, "migrate") == 0)
        rc = db_migrate(ctx);
    else if (strcmp(sub, "backup") == 0)
        rc = db_backup(ctx, args.operands[1]);
    else if (strcmp(sub, "restore") == 0 && !archive_form)
        rc = db_restore(ctx, args.operands[1]);
    else if (strcmp(sub, "init") == 0 || strcmp(sub, "start") == 0 || strcmp(sub, "stop") == 0 ||
             strcmp(sub, "destroy") == 0 || archive_form) {
        rc = need_embedded(ctx, sub);
        if (rc == 0)
            rc = strcmp(sub, "init") == 0      ? db_init(ctx, archive)
                 : strcmp(sub, "start") == 0   ? db_start(ctx)
                 : strcmp(sub, "stop") == 0    ? db_stop(ctx)
                 : strcmp(sub, "destroy") == 0 ? db_destroy(ctx, yes)
                                               : db_restore_archive(ctx, archive, until);
    } else
        rc = cli_usage_error("unknown subcommand \"db %s\"\nTry \"stpm db --help\".", sub);
cleanup:
    cli_args_free(&args);
    cli_opts_free(opts);
    return rc;
}

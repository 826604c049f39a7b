/* Logical backups through pg_dump and pg_restore: see stpm/backup.h. */
#include "stpm/backup.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stpm/embedded.h"
#include "stpm/migrate.h"
#include "store/db_internal.h"
#include "store/query.h"
#include "util/spawn.h"
#include "util/strutil.h"

void stpm_backup_info_clear(stpm_backup_info *info)
{
    if (!info)
        return;
    free(info->last_migration);
    free(info->target);
    memset(info, 0, sizeof(*info));
}

/* Run argv (argv[0] an absolute path) as ourselves with the caller's environment (the
 * libpq variables included: the connection may come from them); stdout and stderr go into
 * *output. Returns the exit status, or -1 when it could not be run or was killed. */
static int run_capture(char *const argv[], char **output)
{
    return stpm_spawn_capture(argv, NULL, NULL, output, NULL);
}

/* The first lines of a tool's output, for a detail (its "pg_dump: error: " kept). */
static char *head_lines(const char *text, int lines)
{
    const char *p = text ? text : "";
    size_t n = 0;
    for (int seen = 0; p[n] && seen < lines; n++)
        if (p[n] == '\n')
            seen++;
    while (n > 0 && (p[n - 1] == '\n' || p[n - 1] == ' '))
        n--;
    return stpm_strndup(p, n);
}

/* The connection string a tool gets with -d, or NULL for the libpq environment. */
static const char *tool_conninfo(const stpm_db_options *opts, stpm_embedded *e)
{
    switch (stpm_db_resolve(opts)) {
    case STPM_DB_SOURCE_CONNINFO:
        return opts->conninfo;
    case STPM_DB_SOURCE_EMBEDDED:
        return stpm_embedded_conninfo(e);
    default:
        return NULL;
    }
}

/* How many migrations the database has applied, and the newest. */
static int schema_version(stpm_db *db, stpm_backup_info *info, stpm_error *err)
{
    PGresult *r = NULL;
    PGresult *t = NULL;
    int rc = stpm_query(db, "SELECT to_regclass('stpm.schema_migrations') IS NOT NULL", 0, NULL, &t,
                        "cannot read the schema version", err);
    if (rc < 0)
        return rc;
    bool present = strcmp(PQgetvalue(t, 0, 0), "t") == 0;
    PQclear(t);
    if (!present) {
        stpm_error_set(err, STPM_ENOTFOUND, "the database holds no stpm schema");
        stpm_error_detail(err, "There is no table stpm.schema_migrations in %s.",
                          stpm_db_describe(db));
        return STPM_ENOTFOUND;
    }
    rc = stpm_query(db, "SELECT count(*), max(name COLLATE \"C\") FROM stpm.schema_migrations", 0,
                    NULL, &r, "cannot read the schema version", err);
    if (rc < 0)
        return rc;
    info->migrations = (size_t)strtoull(PQgetvalue(r, 0, 0), NULL, 10);
    free(info->last_migration);
    info->last_migration = PQgetisnull(r, 0, 1) ? NULL : stpm_strdup(PQgetvalue(r, 0, 1));
    PQclear(r);
    return 0;
}

int stpm_db_backup(const stpm_db_options *opts, const char *path, stpm_backup_info *info,
                   stpm_error *err)
{
    memset(info, 0, sizeof(*info));
    stpm_embedded *e = NULL;
    stpm_db *db = NULL;
    char *tool = NULL, *tmp = NULL, *out = NULL;
    stpm_db_options o = opts ? *opts : (stpm_db_options)STPM_DB_OPTIONS_INIT;
    o.no_migrate = true; /* a backup takes the database as it is */
    int rc = stpm_embedded_new(&e, o.home, err);
    if (rc == 0)
        rc = stpm_db_open(&db, &o, err);
    if (rc == 0)
        rc = schema_version(db, info, err);
    if (rc == 0)
        rc = stpm_embedded_tool(e, "pg_dump", &tool, err);
    if (rc < 0)
        goto cleanup;
    tmp = stpm_asprintf("%s.partial", path);
    if (!tmp) {
        rc = stpm_error_set(err, STPM_ERROR, "out of memory");
        goto cleanup;
    }
    const char *ci = tool_conninfo(&o, e);
    char *argv[] = {tool,
                    (char *)"--format=custom",
                    (char *)"--no-password",
                    (char *)"-f",
                    tmp,
                    ci ? (char *)"-d" : NULL,
                    (char *)ci,
                    NULL};
    if (run_capture(argv, &out) != 0) {
        char *h = head_lines(out, 3);
        rc = stpm_error_set(err, STPM_ERROR, "cannot back up the database into %s", path);
        stpm_error_detail(err, "%s", h && *h ? h : _("pg_dump could not be run."));
        free(h);
        unlink(tmp);
        goto cleanup;
    }
    if (rename(tmp, path) != 0) {
        rc = stpm_error_set(err, STPM_ERROR, "cannot write %s: %s", path, strerror(errno));
        unlink(tmp);
        goto cleanup;
    }
    struct stat st;
    info->bytes = stat(path, &st) == 0 ? (long long)st.st_size : -1;
cleanup:
    free(tool);
    free(tmp);
    free(out);
    stpm_db_free(db);
    stpm_embedded_free(e);
    return rc;
}

/* Relations, schemas and extensions beyond what a new database has: 0 means empty. */
static const char contents_sql[] =
    "SELECT (SELECT count(*) FROM pg_namespace\n"
    "         WHERE nspname NOT IN ('public', 'information_schema') AND nspname !~ '^pg_')\n"
    "     + (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace\n"
    "         WHERE n.nspname = 'public')\n"
    "     + (SELECT count(*) FROM pg_extension WHERE extname <> 'plpgsql'),\n"
    "       (SELECT string_agg(nspname, ', ' ORDER BY nspname) FROM pg_namespace\n"
    "         WHERE nspname NOT IN ('public', 'information_schema') AND nspname !~ '^pg_')";

/* The groups every stpm database grants to (migrations 003 and 070): cluster-wide, so a
 * new cluster lacks them. */
static const char groups_sql[] =
    "DO $$\n"
    "DECLARE r text;\n"
    "BEGIN\n"
    "    FOREACH r IN ARRAY ARRAY['stpm_admin', 'stpm_officer', 'stpm_expert', 'stpm_auditor',\n"
    "                             'stpm_owner'] LOOP\n"
    "        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN\n"
    "            BEGIN\n"
    "                EXECUTE format('CREATE ROLE %I NOLOGIN', r);\n"
    "            EXCEPTION WHEN duplicate_object OR unique_violation THEN\n"
    "                NULL;\n"
    "            END;\n"
    "        END IF;\n"
    "    END LOOP;\n"
    "END $$";

/*
 * The archive's table of contents for pg_restore -L, without its default privileges:
 * those name the role that applied the migrations (ALTER DEFAULT PRIVILEGES FOR ROLE x),
 * which another cluster may not have; default_sql gives the restoring role its own.
 * Written to a temporary file whose path goes into *path.
 */
static int write_toc(const char *list, char **path, stpm_error *err)
{
    *path = stpm_strdup("/tmp/stpm-restore-toc.XXXXXX");
    int fd = *path ? mkstemp(*path) : -1;
    if (fd < 0) {
        int saved = errno;
        free(*path);
        *path = NULL;
        return stpm_error_set(err, STPM_ERROR, "cannot write a temporary file: %s",
                              strerror(saved));
    }
    FILE *f = fdopen(fd, "w");
    int rc = 0;
    for (const char *p = list; f && *p;) {
        size_t n = strcspn(p, "\n");
        bool keep = !(memmem(p, n, " DEFAULT ACL ", 13));
        if (keep && fwrite(p, 1, n, f) != n)
            rc = -1;
        if (keep && fputc('\n', f) == EOF)
            rc = -1;
        p += n;
        if (*p == '\n')
            p++;
    }
    if (!f || fclose(f) != 0 || rc < 0) {
        if (!f)
            close(fd);
        unlink(*path);
        free(*path);
        *path = NULL;
        return stpm_error_set(err, STPM_ERROR, "cannot write a temporary file: %s",
                              strerror(errno));
    }
    return 0;
}

/* What 003 gives the groups on the tables the migrating role creates later. */
static const char default_sql[] =
    "ALTER DEFAULT PRIVILEGES IN SCHEMA stpm\n"
    "    GRANT SELECT ON TABLES TO stpm_admin, stpm_officer, stpm_expert, stpm_auditor";

/* The restored objects belong to the restoring role (--no-owner): stpm.door_close() (079)
 * hands them to stpm_owner, as the migrations did; an older backup gets it by migrating. */
static const char door_sql[] = "DO $$ BEGIN\n"
                               "    IF to_regprocedure('stpm.door_close()') IS NOT NULL THEN\n"
                               "        PERFORM stpm.door_close();\n"
                               "    END IF;\n"
                               "END $$";

/* The file is a custom-format archive of an stpm database. */
static int check_archive(stpm_embedded *e, const char *path, char **list, stpm_error *err)
{
    *list = NULL;
    char *tool = NULL, *out = NULL;
    int rc = stpm_embedded_tool(e, "pg_restore", &tool, err);
    if (rc < 0)
        return rc;
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = stpm_error_set(err, STPM_EINPUT, "%s: %s", path,
                            errno && stat(path, &st) != 0 ? strerror(errno)
                                                          : _("not a regular file"));
        goto cleanup;
    }
    char *argv[] = {tool, (char *)"--list", (char *)path, NULL};
    if (run_capture(argv, &out) != 0) {
        char *h = head_lines(out, 2);
        rc = stpm_error_set(err, STPM_EINPUT, "%s: not a backup made by \"stpm db backup\"", path);
        stpm_error_detail(err, "%s", h ? h : "");
        free(h);
        goto cleanup;
    }
    if (!strstr(out, "TABLE DATA stpm schema_migrations")) {
        rc = stpm_error_set(err, STPM_EINPUT, "%s: a pg_dump archive, but not of an stpm database",
                            path);
        stpm_error_detail(err, "It holds no data of the table stpm.schema_migrations.");
        goto cleanup;
    }
    *list = out;
    out = NULL;
cleanup:
    free(tool);
    free(out);
    return rc;
}

static int require_empty(stpm_db *db, stpm_error *err)
{
    PGresult *r = NULL;
    int rc = stpm_query(db, contents_sql, 0, NULL, &r, "cannot look into the target database", err);
    if (rc < 0)
        return rc;
    long long n = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    if (n > 0) {
        rc = stpm_error_set(err, STPM_ERROR, "cannot restore into %s: the database is not empty",
                            stpm_db_describe(db));
        if (!PQgetisnull(r, 0, 1))
            stpm_error_detail(err, "It holds the schema %s.", PQgetvalue(r, 0, 1));
        else
            stpm_error_detail(err, "It holds tables or extensions of its own.");
        stpm_error_hint(err, "Restore into an empty database (createdb NAME, then --db "
                             "\"dbname=NAME\") or into a new home (--home DIR).");
    }
    PQclear(r);
    return rc;
}

int stpm_db_restore(const stpm_db_options *opts, const char *path, stpm_backup_info *info,
                    stpm_error *err)
{
    memset(info, 0, sizeof(*info));
    stpm_embedded *e = NULL;
    stpm_db *db = NULL;
    char *tool = NULL, *out = NULL, *list = NULL, *toc = NULL;
    stpm_db_options o = opts ? *opts : (stpm_db_options)STPM_DB_OPTIONS_INIT;
    o.no_migrate = true;
    bool embedded = stpm_db_resolve(&o) == STPM_DB_SOURCE_EMBEDDED;
    int rc = stpm_embedded_new(&e, o.home, err);
    if (rc == 0)
        rc = check_archive(e, path, &list, err);
    if (rc == 0 && embedded)
        rc = stpm_embedded_ensure(e, err);
    if (rc == 0)
        rc = stpm_db_open(&db, &o, err);
    if (rc == 0 && db->standby)
        rc = stpm_pg_standby_error(err, "cannot restore");
    if (rc == 0)
        rc = require_empty(db, err);
    if (rc == 0)
        rc = stpm_query_simple(db, groups_sql, "cannot create the groups of stpm", err);
    if (rc == 0)
        rc = stpm_embedded_tool(e, "pg_restore", &tool, err);
    if (rc == 0)
        rc = write_toc(list, &toc, err);
    if (rc < 0)
        goto cleanup;
    info->target = stpm_strdup(stpm_db_describe(db));
    const char *ci = tool_conninfo(&o, e);
    /* one transaction: all or nothing; owners are the restoring role's until door_close */
    char *argv[] = {tool,
                    (char *)"--no-owner",
                    (char *)"--single-transaction",
                    (char *)"--exit-on-error",
                    (char *)"--no-password",
                    (char *)"-L",
                    toc,
                    (char *)"-d",
                    (char *)(ci ? ci : ""),
                    (char *)path,
                    NULL};
    if (run_capture(argv, &out) != 0) {
        char *h = head_lines(out, 3);
        rc = stpm_error_set(err, STPM_ERROR, "cannot restore %s into %s", path,
                            stpm_db_describe(db));
        stpm_error_detail(err, "%s", h && *h ? h : _("pg_restore could not be run."));
        stpm_error_hint(err, "Nothing was restored (one transaction). A restore creates "
                             "schemas, extensions and roles: connect as a superuser.");
        free(h);
        goto cleanup;
    }
    if ((rc = stpm_query_simple(db, door_sql, "cannot hand the restored objects to stpm_owner",
                                err)) < 0 ||
        (rc = stpm_query_simple(db, default_sql, "cannot grant the default privileges", err)) < 0 ||
        (rc = schema_version(db, info, err)) < 0 ||
        (rc = stpm_migrate(db, &info->applied, err)) < 0)
        goto cleanup;
cleanup:
    if (toc)
        unlink(toc);
    free(toc);
    free(list);
    free(tool);
    free(out);
    stpm_db_free(db);
    stpm_embedded_free(e);
    return rc;
}

/*
 * stpm — the connection to the PostgreSQL store.
 *
 * Resolution order (DESIGN §7): options.conninfo (the CLI passes --db or STPM_DB), else
 * the standard libpq environment when it names a server (PGHOST, PGHOSTADDR, PGPORT or
 * PGSERVICE), else the embedded default: a private cluster under options.home (else
 * $XDG_DATA_HOME/stpm, i.e. ~/.local/share/stpm), created, started and migrated on first
 * use, listening on a Unix socket only (see stpm/embedded.h).
 *
 * A conninfo that names no server either (no host, hostaddr, port or service, and none of
 * those variables set), such as "user=NAME" or "dbname=stpm_demo user=NAME", is taken
 * on the embedded database: its socket and port, the conninfo's other keywords (user,
 * dbname, options, ...). The same holds for PGUSER and PGDATABASE without a server.
 * options.user, when set, is the role to connect as whatever the source.
 *
 * Unless options.no_migrate is set, stpm_db_open applies pending migrations
 * (stpm/migrate.h) once connected; a role that may not read stpm.schema_migrations is
 * left alone. Unless options.no_start is set, the embedded cluster is created and started
 * when nothing answers on its socket. The server's notices are never printed.
 */
#ifndef STPM_DB_H
#define STPM_DB_H

#include "stpm/common.h"
#include "stpm/error.h"

typedef struct stpm_db stpm_db;

typedef enum {
    STPM_DB_SOURCE_CONNINFO, /* an explicit connection string */
    STPM_DB_SOURCE_ENV,      /* the libpq environment */
    STPM_DB_SOURCE_EMBEDDED, /* the private cluster under home */
} stpm_db_source;

#define STPM_DB_OPTIONS_VERSION 2

typedef struct stpm_db_options {
    unsigned version;     /* STPM_DB_OPTIONS_VERSION */
    const char *conninfo; /* explicit conninfo or URI, or NULL */
    const char *home;     /* embedded home, or NULL for the default */
    bool no_start;        /* embedded: fail instead of creating/starting the cluster */
    bool no_migrate;      /* do not apply pending migrations on connect */
    /* Since version 2: */
    const char *user; /* the role to connect as (overrides the conninfo's), or NULL */
} stpm_db_options;

#define STPM_DB_OPTIONS_INIT                                                                       \
    {                                                                                              \
        STPM_DB_OPTIONS_VERSION, NULL, NULL, false, false, NULL                                    \
    }

/* Which source the options resolve to, without connecting. */
STPM_API stpm_db_source stpm_db_resolve(const stpm_db_options *opts);

/* Connect as resolved above. Failures: STPM_EUNAVAIL (refused, not running, lost, server
 * binaries missing, server does not start), STPM_EPERM (authentication or permission),
 * STPM_EUSAGE (malformed conninfo), STPM_EINPUT (an applied migration was edited). Each
 * message says which: "the database server refused the connection", "permission denied to
 * connect ...", "lost the connection to the database"; the detail names the address tried. */
STPM_API int stpm_db_open(stpm_db **out, const stpm_db_options *opts, stpm_error *err);

/* Close the connection. Accepts NULL. */
STPM_API void stpm_db_free(stpm_db *db);

/* Where we are connected, for people: "embedded cluster at /path" or "host=... dbname=...". */
STPM_API const char *stpm_db_describe(const stpm_db *db);

/* The source the connection came from. */
STPM_API stpm_db_source stpm_db_source_of(const stpm_db *db);

/* The connected PostgreSQL role (current_user): the actor of every change. */
STPM_API const char *stpm_db_role(const stpm_db *db);

/* The server's version as it reports it, e.g. "15.4 (Debian 15.4-1)", or "" when unknown. */
STPM_API const char *stpm_db_server_version(const stpm_db *db);

/* Whether the server was a read-only hot standby when connected (pg_is_in_recovery()).
 * On a standby stpm_db_open applies no migration: pending ones fail with STPM_EUNAVAIL
 * ("the schema of the standby is not current"); a write fails with STPM_EUNAVAIL, "the
 * server is a read-only standby", and the hint to connect to the primary. */
STPM_API bool stpm_db_is_standby(const stpm_db *db);

/* Where the server stands in replication, for `stpm db status`. Strings are malloc'd
 * (free with stpm_db_replication_clear); NULL when the server does not know. */
typedef struct stpm_db_replication {
    bool standby;         /* in recovery now */
    char *replay_lag;     /* standby: now() - the last replayed commit's time, e.g. "00:00:00.2" */
    long long lag_bytes;  /* standby: WAL received but not yet replayed; -1 when unknown */
    char *receive_lsn;    /* standby: the last WAL position received */
    char *replay_lsn;     /* standby: the last WAL position replayed */
    long long standbys;   /* primary: streaming standbys connected; -1 when unknown */
    char *max_replay_lag; /* primary: the largest replay_lag of its standbys, or NULL */
} stpm_db_replication;

/* Ask the server (reads only; works on a primary and on a standby). */
STPM_API int stpm_db_replication_get(stpm_db *db, stpm_db_replication *out, stpm_error *err);
STPM_API void stpm_db_replication_clear(stpm_db_replication *r);

#endif

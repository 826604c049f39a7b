/*
 * stpm — the embedded database: a private PostgreSQL cluster under a home directory.
 *
 * Layout. The home (options.home, else $STPM_HOME, else $XDG_DATA_HOME/stpm, else
 * ~/.local/share/stpm) holds `cluster`, which is where the cluster lives:
 *
 *     cluster/data/          the data directory (PGDATA), made by initdb
 *     cluster/run/           the Unix socket directory (mode 0700: the only gate)
 *     cluster/server.log     the server's log
 *
 * Run by an ordinary user, `cluster` is a plain directory in the home and the server
 * runs as that user. Run by root, the server runs as the unprivileged service user
 * (`postgres`, or $STPM_PG_USER), which cannot reach a home such as /root/.local/share/stpm;
 * so `cluster` is a symbolic link to /var/lib/stpm/<first 16 hex digits of the SHA-256 of
 * the home's real path>, owned by the service user. The same home always finds the same
 * cluster, two homes never share one.
 *
 * The server listens on its private socket only (listen_addresses = ''), port 5432 (the
 * port only names the socket file), trust authentication on that socket; the bootstrap
 * superuser is named after the OS user who created the cluster (e.g. `root`); the
 * database is `stpm`. The PostgreSQL server binaries are found in $STPM_PG_BINDIR, else
 * /usr/lib/postgresql/<highest version>/bin (the cluster's own version when it exists),
 * else on PATH.
 */
#ifndef STPM_EMBEDDED_H
#define STPM_EMBEDDED_H

#include "stpm/common.h"
#include "stpm/error.h"

typedef struct stpm_embedded stpm_embedded;

/* The socket's port number and the database's name. */
#define STPM_EMBEDDED_PORT 5432
#define STPM_EMBEDDED_DBNAME "stpm"
/* The database of the guided tour (stpm demo), dropped and created again on each run. */
#define STPM_EMBEDDED_DEMO_DBNAME "stpm_demo"

/* What stpm_embedded_status found. Strings belong to the handle. */
typedef struct stpm_embedded_state {
    bool initialized;         /* the data directory exists */
    bool running;             /* a server answers on the socket */
    long pid;                 /* the postmaster's pid when running, else 0 */
    const char *data_version; /* PG_VERSION of the data directory, or NULL */
    const char *bindir;       /* the server binaries used, or NULL when none found */
} stpm_embedded_state;

/*
 * Resolve the home (NULL for the default) and the cluster's paths, creating nothing.
 * Fails with STPM_ERROR when no home can be determined. Free with stpm_embedded_free.
 */
STPM_API int stpm_embedded_new(stpm_embedded **out, const char *home, stpm_error *err);

/* Release the handle (the server keeps running). Accepts NULL. */
STPM_API void stpm_embedded_free(stpm_embedded *e);

/* The home directory, the cluster directory, the data directory, the socket directory
 * and the server log, as absolute paths. */
STPM_API const char *stpm_embedded_home(const stpm_embedded *e);
STPM_API const char *stpm_embedded_cluster_dir(const stpm_embedded *e);
STPM_API const char *stpm_embedded_data_dir(const stpm_embedded *e);
STPM_API const char *stpm_embedded_socket_dir(const stpm_embedded *e);
STPM_API const char *stpm_embedded_log_file(const stpm_embedded *e);

/* The role to connect as: the OS user who runs stpm (the cluster's bootstrap superuser). */
STPM_API const char *stpm_embedded_user(const stpm_embedded *e);

/* A libpq conninfo string for the embedded database (quoted; for people and psql). */
STPM_API const char *stpm_embedded_conninfo(const stpm_embedded *e);

/*
 * Create the cluster when it does not exist yet: the home, the cluster directory, initdb
 * (into a temporary directory renamed into place when complete), the configuration.
 * Sets *created (may be NULL) to whether it was created now. Does not start it.
 * STPM_EUNAVAIL when the server binaries are missing (hint: install postgresql) or
 * initdb failed (detail: the end of its output).
 */
STPM_API int stpm_embedded_init(stpm_embedded *e, bool *created, stpm_error *err);

/*
 * Start the server when it is not running (a stale postmaster.pid left by a killed
 * server is handled), and create the `stpm` database when missing. Sets *started (may be
 * NULL) to whether it was started now. STPM_EUNAVAIL when it does not start (detail: the
 * last lines of the server log); STPM_ENOTFOUND when the cluster was never initialised.
 */
STPM_API int stpm_embedded_start(stpm_embedded *e, bool *started, stpm_error *err);

/* Initialise when needed, then start when needed: what stpm_db_open does on demand. */
STPM_API int stpm_embedded_ensure(stpm_embedded *e, stpm_error *err);

/* Stop the server (fast shutdown) when it runs. Sets *stopped (may be NULL) to whether
 * it was running. */
STPM_API int stpm_embedded_stop(stpm_embedded *e, bool *stopped, stpm_error *err);

/*
 * Drop the database dbname of the cluster when it exists (closing its connections) and
 * create it again, empty: the guided tour's own database (`stpm demo` uses
 * STPM_EMBEDDED_DEMO_DBNAME), repeatable run after run. The cluster is created and
 * started first when needed (as stpm_embedded_ensure). dbname must be a plain lower-case
 * identifier ([a-z_][a-z0-9_]*, at most 63 bytes) other than "stpm", "postgres" and the
 * templates: else STPM_EUSAGE, and nothing is dropped. STPM_EUNAVAIL when the server cannot
 * be reached.
 */
STPM_API int stpm_embedded_recreate_database(stpm_embedded *e, const char *dbname, stpm_error *err);

/* A libpq conninfo for the database dbname of the cluster (the socket, the port and the
 * role of stpm_embedded_conninfo). malloc'd: the caller frees it with free(); NULL when
 * out of memory. */
STPM_API char *stpm_embedded_conninfo_for(const stpm_embedded *e, const char *dbname);

/* Whether it is initialised and running, and with what. Never starts anything. */
STPM_API int stpm_embedded_status(stpm_embedded *e, stpm_embedded_state *out, stpm_error *err);

/* Whether the data directory exists (initdb ran). */
STPM_API bool stpm_embedded_initialized(stpm_embedded *e);

/* The absolute path of the PostgreSQL program `name` (pg_dump, pg_restore, pg_basebackup)
 * among the server binaries found as above; malloc'd into *path. STPM_EUNAVAIL when it is
 * not installed. Works whatever the connection: only the binaries are looked up. */
STPM_API int stpm_embedded_tool(stpm_embedded *e, const char *name, char **path, stpm_error *err);

/* Stop the server and remove the cluster (its data directory, socket directory and log;
 * as root the directory under /var/lib/stpm and the home's link to it). The home itself
 * stays. *destroyed (may be NULL): whether there was a cluster. The caller asks first. */
STPM_API int stpm_embedded_destroy(stpm_embedded *e, bool *destroyed, stpm_error *err);

/*
 * WAL archiving to dir (another disk): dir/wal receives every WAL segment (archive_mode,
 * archive_command, archive_timeout 60 s, in the data directory's stpm_archive.conf), the
 * server is restarted, then a base backup is taken into dir/base/YYYYMMDDTHHMMSSZ (UTC);
 * its path goes into *base (malloc'd). Run again, it takes another base backup. The
 * cluster must be initialised (STPM_ENOTFOUND); dir may not lie inside the cluster, nor
 * hold a quote, backslash, $, ` or % (STPM_EUSAGE).
 */
STPM_API int stpm_embedded_archive_on(stpm_embedded *e, const char *dir, char **base,
                                      stpm_error *err);

/*
 * Point-in-time recovery into this home, which must hold no cluster yet (else STPM_ERROR,
 * nothing touched): the newest base backup of dir that ends before `until` (a timestamp
 * PostgreSQL reads, e.g. "2026-12-01 10:30:00+08") is copied into the data directory and
 * the server replays the archived WAL up to `until`, then promotes itself and runs as a
 * primary with archiving off. *base_used (malloc'd): the base backup used. STPM_ERROR
 * when the archive's WAL does not reach `until` (detail: the end of the server log).
 */
STPM_API int stpm_embedded_restore_archive(stpm_embedded *e, const char *dir, const char *until,
                                           char **base_used, stpm_error *err);

#endif

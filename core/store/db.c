/* Opening the connection: see stpm/db.h. */
#include <stdlib.h>
#include <string.h>

#include "store/db_internal.h"
#include "util/strutil.h"

static const char *const libpq_env[] = {"PGHOST",        "PGHOSTADDR", "PGPORT",
                                        "PGDATABASE",    "PGUSER",     "PGSERVICE",
                                        "PGSERVICEFILE", "PGPASSFILE", NULL};

stpm_db_source stpm_db_resolve(const stpm_db_options *opts)
{
    if (opts && opts->conninfo && *opts->conninfo)
        return STPM_DB_SOURCE_CONNINFO;
    for (int i = 0; libpq_env[i]; i++) {
        const char *v = getenv(libpq_env[i]);
        if (v && *v)
            return STPM_DB_SOURCE_ENV;
    }
    return STPM_DB_SOURCE_EMBEDDED;
}

PGconn *stpm_db_pg(stpm_db *db)
{
    return db->conn;
}

void stpm_db_free(stpm_db *db)
{
    if (!db)
        return;
    if (db->wf_cache_free)
        db->wf_cache_free(db->wf_cache);
    if (db->conn)
        PQfinish(db->conn);
    free(db->describe);
    free(db->role);
    free(db);
}

const char *stpm_db_describe(const stpm_db *db)
{
    return db->describe ? db->describe : "";
}

stpm_db_source stpm_db_source_of(const stpm_db *db)
{
    return db->source;
}

const char *stpm_db_role(const stpm_db *db)
{
    return db->role ? db->role : "";
}

const char *stpm_db_server_version(const stpm_db *db)
{
    const char *v = db->conn ? PQparameterStatus(db->conn, "server_version") : NULL;
    return v ? v : "";
}

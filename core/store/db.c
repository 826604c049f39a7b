/* Opening the connection: see stpm/db.h. */
#include <stdlib.h>
#include <string.h>

#include "store/db_internal.h"
#include "util/strutil.h"

/* The variables (and conninfo keywords) that name a server: without any of them, a
 * connection goes to the embedded database (see stpm/db.h). */
static const char *const server_env[] = {"PGHOST", "PGHOSTADDR", "PGPORT", "PGSERVICE", NULL};
static const char *const server_keys[] = {"host", "hostaddr", "port", "service", NULL};

static bool env_set(const char *const *names)
{
    for (int i = 0; names[i]; i++) {
        const char *v = getenv(names[i]);
        if (v && *v)
            return true;
    }
    return false;
}

bool stpm_conninfo_names_server(const PQconninfoOption *parsed)
{
    for (const PQconninfoOption *o = parsed; o->keyword; o++)
        for (int i = 0; server_keys[i]; i++)
            if (strcmp(o->keyword, server_keys[i]) == 0 && o->val && *o->val)
                return true;
    return false;
}

stpm_db_source stpm_db_resolve(const stpm_db_options *opts)
{
    bool env_server = env_set(server_env);
    if (opts && opts->conninfo && *opts->conninfo) {
        if (env_server)
            return STPM_DB_SOURCE_CONNINFO;
        /* A malformed string is the explicit source: opening it reports the error. */
        PQconninfoOption *parsed = PQconninfoParse(opts->conninfo, NULL);
        bool server = !parsed || stpm_conninfo_names_server(parsed);
        PQconninfoFree(parsed);
        return server ? STPM_DB_SOURCE_CONNINFO : STPM_DB_SOURCE_EMBEDDED;
    }
    if (env_server)
        return STPM_DB_SOURCE_ENV;
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

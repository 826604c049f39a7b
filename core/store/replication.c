/* Where the server stands in streaming replication: see stpm/db.h. */
#include <stdlib.h>
#include <string.h>

#include "store/db_internal.h"
#include "store/query.h"
#include "util/strutil.h"

bool stpm_db_is_standby(const stpm_db *db)
{
    return db->standby;
}

static char *value_or_null(const PGresult *r, int col)
{
    return PQgetisnull(r, 0, col) ? NULL : stpm_strdup(PQgetvalue(r, 0, col));
}

/* The standby's figures are its own functions'; the primary counts what pg_stat_replication
 * shows the connected role (a role without pg_monitor sees the rows, not every column). */
static const char replication_sql[] =
    "SELECT pg_is_in_recovery(),\n"
    "       CASE WHEN pg_is_in_recovery() THEN\n"
    "            CASE WHEN pg_last_wal_receive_lsn() IS NOT DISTINCT FROM "
    "pg_last_wal_replay_lsn()\n"
    "                 THEN '00:00:00'\n"
    "                 ELSE (now() - pg_last_xact_replay_timestamp())::text END END,\n"
    "       CASE WHEN pg_is_in_recovery() THEN\n"
    "            pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())::bigint "
    "END,\n"
    "       pg_last_wal_receive_lsn()::text, pg_last_wal_replay_lsn()::text,\n"
    "       CASE WHEN NOT pg_is_in_recovery() THEN\n"
    "            (SELECT count(*) FROM pg_stat_replication) END,\n"
    "       CASE WHEN NOT pg_is_in_recovery() THEN\n"
    "            (SELECT max(replay_lag)::text FROM pg_stat_replication) END";

int stpm_db_replication_get(stpm_db *db, stpm_db_replication *out, stpm_error *err)
{
    memset(out, 0, sizeof(*out));
    out->lag_bytes = -1;
    out->standbys = -1;
    PGresult *r = NULL;
    int rc = stpm_query(db, replication_sql, 0, NULL, &r, "cannot read the replication state", err);
    if (rc < 0)
        return rc;
    out->standby = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    out->replay_lag = value_or_null(r, 1);
    if (!PQgetisnull(r, 0, 2))
        out->lag_bytes = strtoll(PQgetvalue(r, 0, 2), NULL, 10);
    out->receive_lsn = value_or_null(r, 3);
    out->replay_lsn = value_or_null(r, 4);
    if (!PQgetisnull(r, 0, 5))
        out->standbys = strtoll(PQgetvalue(r, 0, 5), NULL, 10);
    out->max_replay_lag = value_or_null(r, 6);
    PQclear(r);
    return 0;
}

void stpm_db_replication_clear(stpm_db_replication *r)
{
    if (!r)
        return;
    free(r->replay_lag);
    free(r->receive_lsn);
    free(r->replay_lsn);
    free(r->max_replay_lag);
    memset(r, 0, sizeof(*r));
}

/*
 * stpm — logical backups of the database: `stpm db backup FILE`, `stpm db restore FILE`.
 *
 * A backup is pg_dump's custom format (pg_restore reads it too), made by the pg_dump of
 * the server binaries stpm finds (stpm/embedded.h), from one snapshot: consistent while
 * officers keep working, and possible on a hot standby. It holds stpm.schema_migrations,
 * so it records the schema version. A restore goes into an empty database only (the
 * embedded one of a new home, or any empty database given by --db), in one transaction:
 * the groups stpm_admin, stpm_officer, stpm_expert, stpm_auditor and stpm_owner are
 * created when missing, every object is restored, stpm.door_close() hands them to
 * stpm_owner again, then the migrations this stpm has and the backup had not are
 * applied. Login roles (users) are cluster-wide and not in a backup: recreate them with
 * `stpm user add` on a new cluster.
 */
#ifndef STPM_BACKUP_H
#define STPM_BACKUP_H

#include "stpm/common.h"
#include "stpm/db.h"
#include "stpm/error.h"

typedef struct stpm_backup_info {
    size_t migrations;    /* migrations applied in the database backed up (or the backup) */
    char *last_migration; /* the newest of them, e.g. "083_lock_waits.sql" (malloc'd) */
    long long bytes;      /* the size of the file */
    size_t applied;       /* restore: migrations applied after the restore */
    char *target;         /* restore: where it went, for people (malloc'd) */
} stpm_backup_info;

/* Back up the database opts resolve to (the embedded one is started when needed) into
 * path, written whole or not at all (a temporary file renamed into place).
 * STPM_ENOTFOUND when the database holds no stpm schema; STPM_ERROR when pg_dump fails
 * (detail: its message); STPM_EUNAVAIL as stpm_db_open. */
STPM_API int stpm_db_backup(const stpm_db_options *opts, const char *path, stpm_backup_info *info,
                            stpm_error *err);

/* Restore path into the database opts resolve to (see above). STPM_EINPUT when path is not
 * a backup of stpm's (naming the file); STPM_ERROR when the target is not empty (nothing is
 * changed) or pg_restore fails (the transaction is rolled back: nothing is changed);
 * STPM_EUNAVAIL on a standby. */
STPM_API int stpm_db_restore(const stpm_db_options *opts, const char *path, stpm_backup_info *info,
                             stpm_error *err);

STPM_API void stpm_backup_info_clear(stpm_backup_info *info);

#endif

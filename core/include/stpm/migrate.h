/*
 * stpm — the schema migrations.
 *
 * The numbered SQL files of migrations/ are built into the library. Each one is applied
 * once, in name order, in its own transaction, under a transaction-level advisory lock;
 * stpm.schema_migrations (name, sha256, applied_at, applied_by) records each applied
 * file with the SHA-256 of its text. Two processes migrating at the same moment apply
 * each file once: the second waits for the lock, then re-reads what is applied.
 *
 * A file whose text changed after it was applied is refused with STPM_EINPUT (exit 5),
 * naming the file and both digests; nothing more is applied. A database that holds a
 * migration this library does not know (a newer stpm migrated it) is refused with
 * STPM_ERROR. stpm_db_open runs stpm_migrate unless told not to.
 */
#ifndef STPM_MIGRATE_H
#define STPM_MIGRATE_H

#include "stpm/common.h"
#include "stpm/db.h"
#include "stpm/error.h"

/* Apply every pending built-in migration. *applied (may be NULL) receives how many were
 * applied by this call (0 when the schema was up to date). */
STPM_API int stpm_migrate(stpm_db *db, size_t *applied, stpm_error *err);

/* How many built-in migrations are applied and how many are pending, without changing
 * anything; refuses edited or unknown migrations as stpm_migrate does. A database that
 * was never migrated has 0 applied. */
STPM_API int stpm_migrate_status(stpm_db *db, size_t *applied, size_t *pending, stpm_error *err);

/* The number of migrations built into this library. */
STPM_API size_t stpm_migrate_known(void);

#endif

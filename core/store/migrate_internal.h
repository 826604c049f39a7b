/* The migration runner over any set of files: the built-in set in production, another
 * set in tests (e.g. an "edited" file, without touching migrations/). */
#ifndef STPM_STORE_MIGRATE_INTERNAL_H
#define STPM_STORE_MIGRATE_INTERNAL_H

#include "stpm/migrate.h"
#include "util/embedded.h"

/* As stpm_migrate, over files[0..n), which must be in name order. */
int stpm_migrate_files(stpm_db *db, const stpm_embedded_file *files, size_t n, size_t *applied,
                       stpm_error *err);

/* As stpm_migrate_status, over files[0..n). */
int stpm_migrate_files_status(stpm_db *db, const stpm_embedded_file *files, size_t n,
                              size_t *applied, size_t *pending, stpm_error *err);

/* The advisory lock keys every migrating session takes (pg_advisory_xact_lock(k1, k2)). */
#define STPM_MIGRATE_LOCK_K1 1937010797 /* "stpm" */
#define STPM_MIGRATE_LOCK_K2 1

#endif

/* Internal pieces shared by the audit module's files. */
#ifndef STPM_AUDIT_INTERNAL_H
#define STPM_AUDIT_INTERNAL_H

#include "stpm/audit.h"
#include "store/db_internal.h"
#include "util/strutil.h"

/* A checkpoint file read and verified: its heads point into text. */
typedef struct audit_checkpoint {
    char *text; /* the file's bytes, split in place */
    char *made_at;
    size_t n;
    char **chains;
    long long *seqs;
    char **hashes;
} audit_checkpoint;

/* Read the checkpoint at path, check its form, digest and Ed25519 signature (with the
 * key it holds; with pubkey_path, that key must be the one in that PEM file). A missing
 * or malformed file: STPM_EINPUT (STPM_ENOTFOUND when absent); a bad signature or another
 * key: STPM_EREFUSED. */
int audit_checkpoint_read(const char *path, const char *pubkey_path, audit_checkpoint **out,
                          stpm_error *err);
/* Check that every head of cp is still in the history with the same hash; problems are
 * added to res. Runs inside the caller's snapshot. */
int audit_checkpoint_check(stpm_db *db, const audit_checkpoint *cp, stpm_audit_verify_result *res,
                           stpm_error *err);
void audit_checkpoint_free(audit_checkpoint *cp);

/* BEGIN a read-only repeatable-read transaction printing times in UTC, dates in ISO form
 * and text in UTF-8, as the canonical text wants them. */
int audit_begin_snapshot(stpm_db *db, stpm_error *err);

#endif

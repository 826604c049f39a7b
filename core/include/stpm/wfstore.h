/*
 * stpm — workflow versions stored in the database (DESIGN §5, §6).
 *
 * `stpm workflow load FILE` validates the file completely (stpm_workflow_load_file) and
 * stores it as one immutable version: name, version, title, the SHA-256 digest and the
 * source itself, with its states (for overdue and timer queries on the server). New
 * projects of a plan pin the newest version of the plan's workflow.
 */
#ifndef STPM_WFSTORE_H
#define STPM_WFSTORE_H

#include "stpm/common.h"
#include "stpm/db.h"
#include "stpm/error.h"
#include "stpm/rows.h"
#include "stpm/workflow.h"

typedef enum {
    STPM_WFSTORE_STORED,    /* a new version was stored */
    STPM_WFSTORE_UNCHANGED, /* the same name, version and digest were stored already */
} stpm_wfstore_outcome;

/*
 * Store a loaded (hence validated) workflow as a new version. Loading the same name and
 * version again with the same digest changes nothing (*outcome = UNCHANGED); with another
 * digest it is refused with STPM_EINPUT, the message naming both digests. Needs the
 * stpm_admin role (else STPM_EPERM). outcome may be NULL.
 */
STPM_API int stpm_wfstore_put(stpm_db *db, const stpm_workflow *wf, stpm_wfstore_outcome *outcome,
                              stpm_error *err);

/* Every stored version: name, version, title, digest, states, transitions, loaded_at,
 * loaded_by, plans (codes of plans using the name), projects (pinned to the version);
 * ordered by name and version. */
STPM_API int stpm_wfstore_list(stpm_db *db, stpm_rows **out, stpm_error *err);

/*
 * Fetch a stored version and parse its source again. version 0 means the newest. Not
 * stored: STPM_ENOTFOUND. The caller frees *out with stpm_workflow_free.
 */
STPM_API int stpm_wfstore_get(stpm_db *db, const char *name, int version, stpm_workflow **out,
                              stpm_error *err);

/* Parse "NAME" or "NAME@VERSION" as given on the command line; *version is 0 when
 * absent. *name is malloc'd. STPM_EUSAGE when malformed. */
STPM_API int stpm_wfstore_parse_ref(const char *ref, char **name, int *version, stpm_error *err);

#endif

/*
 * stpm — undertaking organisations (承担单位): registration, the credit blacklist
 * (失信名单) and declared conflicts of interest (回避).
 *
 * Organisations are known by their Unified Social Credit Code (统一社会信用代码, see
 * stpm/uscc.h); codes given to these functions are normalised first (white space,
 * full-width forms, case). Every change writes an event on the organisation's chain
 * "org:<uscc>" (kind "admin", data saying what changed), in the same transaction as the
 * change; `today` is the business date the event and the blacklist's lifting carry.
 *
 * Who may do what is the database's to say (migrations/003_roles.sql): officers and
 * administrators add organisations and declare conflicts; only administrators keep the
 * blacklist; auditors read. A refusal comes back as STPM_EPERM.
 */
#ifndef STPM_ORG_H
#define STPM_ORG_H

#include "stpm/common.h"
#include "stpm/date.h"
#include "stpm/db.h"
#include "stpm/error.h"

/* What `org add` is given. town and kind may be NULL. */
typedef struct stpm_org_spec {
    const char *uscc;
    const char *name;
    const char *town; /* 所属板块 */
    const char *kind; /* enterprise, university, institute ... (free text) */
} stpm_org_spec;

#define STPM_ORG_SPEC_INIT                                                                         \
    {                                                                                              \
        NULL, NULL, NULL, NULL                                                                     \
    }

/* An organisation as listed. Strings are malloc'd; NULL where the column is null. */
typedef struct stpm_org {
    char *id;
    char *uscc;
    char *name;
    char *town;
    char *kind;
    long projects;    /* how many projects it undertakes, in any state */
    bool blacklisted; /* an entry is active on the `today` asked about */
} stpm_org;

/* One blacklist entry. Dates are "YYYY-MM-DD"; valid_until NULL = open-ended. */
typedef struct stpm_blacklist_entry {
    char *id;
    char *reason;
    char *valid_from;
    char *valid_until;
    char *added_by;
    char *added_at;    /* timestamp text */
    char *lifted_on;   /* business date it was lifted, or NULL */
    char *lifted_by;   /* or NULL */
    char *lift_reason; /* or NULL */
    bool active;       /* active on the `today` asked about */
} stpm_blacklist_entry;

/* One declared conflict of interest: officer (a database role) with the organisation. */
typedef struct stpm_conflict {
    char *officer;
    char *reason;
    char *declared_by;
    char *declared_at; /* timestamp text */
} stpm_conflict;

/* `org show`: the organisation with its whole blacklist history and its conflicts. */
typedef struct stpm_org_detail {
    stpm_org org;
    stpm_blacklist_entry *blacklist; /* oldest first */
    size_t n_blacklist;
    stpm_conflict *conflicts; /* by officer */
    size_t n_conflicts;
} stpm_org_detail;

/*
 * Register an organisation. The USCC must pass its check characters (GB 32100-2015)
 * and the name must not be empty: else STPM_EINPUT, with a diagnostic naming the field
 * ("uscc", "name"). An organisation with the same USCC exists: STPM_ECONFLICT.
 * uscc_out (may be NULL) receives the normalised code.
 */
STPM_API int stpm_org_add(stpm_db *db, const stpm_org_spec *spec, stpm_date today,
                          char uscc_out[static 19], stpm_error *err);

/* All organisations (of one town when town is not NULL), by USCC. Free with
 * stpm_org_list_free. */
STPM_API int stpm_org_list(stpm_db *db, const char *town, stpm_date today, stpm_org **out,
                           size_t *n, stpm_error *err);
STPM_API void stpm_org_list_free(stpm_org *orgs, size_t n);

/* One organisation by USCC, as of today; STPM_ENOTFOUND when unknown. Free with
 * stpm_org_detail_free. */
STPM_API int stpm_org_show(stpm_db *db, const char *uscc, stpm_date today, stpm_org_detail **out,
                           stpm_error *err);
STPM_API void stpm_org_detail_free(stpm_org_detail *d);

/*
 * Put an organisation on the credit blacklist from `from` until *until (NULL: open-ended)
 * for `reason` (not empty). until before from: STPM_EINPUT naming "until". Unknown
 * organisation: STPM_ENOTFOUND. Administrators only.
 */
STPM_API int stpm_org_blacklist(stpm_db *db, const char *uscc, const char *reason, stpm_date from,
                                const stpm_date *until, stpm_date today, stpm_error *err);

/*
 * Lift the organisation's entries that are not yet lifted and not yet over on today
 * (valid_until absent or >= today) — also those that start later. The entries stay, with
 * the date, role and reason (may be NULL) of the lifting, so the history is kept and the
 * blacklist as of an earlier date is unchanged. *lifted (may be NULL) receives how many
 * were lifted; 0 is not an error. Administrators only.
 */
STPM_API int stpm_org_unblacklist(stpm_db *db, const char *uscc, const char *reason,
                                  stpm_date today, int *lifted, stpm_error *err);

/*
 * Declare that officer (an existing database role) has a conflict of interest with the
 * organisation, for reason (not empty): the no_conflict check then refuses that role on
 * the organisation's projects. Unknown organisation or role: STPM_ENOTFOUND; already
 * declared: STPM_ECONFLICT.
 */
STPM_API int stpm_org_conflict(stpm_db *db, const char *uscc, const char *officer,
                               const char *reason, stpm_date today, stpm_error *err);

#endif

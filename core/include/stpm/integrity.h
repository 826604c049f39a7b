/*
 * stpm — the integrity admission checks (廉政准入, DESIGN §3 and §5).
 *
 * Before an application goes on, a workflow transition names the checks it must pass
 * under `checks:`. Each check looks at one project (by its UUID) as of a business date
 * ("today") and answers passed or failed, always with its evidence: a one-line summary
 * for people and a JSON object for the event that records the transition. A check that
 * passes says why too ("no active blacklist entry").
 *
 * The checks (see docs/integrity.md for examples):
 *
 *   integrity_commitment  a document of kind integrity_commitment (廉政承诺书) is attached.
 *                         Evidence: "documents": [{file_name, sha256, size, attached_at}].
 *   credit_clean          the project's organisation (by USCC) has no credit blacklist
 *                         (失信名单) entry active on today: valid_from <= today, valid_until
 *                         absent or >= today, and not lifted on or before today.
 *                         Evidence: "entries": [{id, reason, valid_from, valid_until, added_by}].
 *   no_conflict           the acting role — the connection's session_user, never a name
 *                         typed by someone — has no declared conflict of interest (回避)
 *                         with the organisation. Evidence: "officer", "conflict": {reason,
 *                         declared_at, declared_by} or null.
 *   no_duplicate          no other project of the same year (any plan, any organisation)
 *                         that counts (not ended as rejected, terminated or withdrawn, not
 *                         waiting in a state that counts as nothing and is not active: the
 *                         reserve pool; docs/workflows.md) has a title whose pg_trgm similarity()
 * to this one's is
 *                         >= the threshold. Parameter similarity (decimal text in [0, 1],
 *                         default "0.6"). Evidence: "threshold", "similar": the top 5
 *                         [{code, title, org, org_name, plan, state, score}].
 *   leader_limit          the leader's other active projects number fewer than max.
 *                         Active = the state is `active:` in its workflow version. Parameter max
 * (integer
 *                         >= 1, default 3). Evidence: "leader", "max", "active": [{code,
 *                         title, plan, state}].
 *   org_no_overdue        the organisation has no other project 应结未结 on today
 *                         (stpm.project_overdue, docs/audit.md). Evidence: "overdue":
 *                         [{code, title, state, due_date}].
 *   uscc_valid            the organisation's USCC passes the GB 32100-2015 check
 *                         characters. Evidence: "uscc", "reason" when invalid.
 *
 * The lists of leader_limit and org_no_overdue hold at most 20 projects (the first by code,
 * resp. due date); "count" and the summary's number are always complete.
 *
 * Every evidence object also carries "check", "passed", "project" (the human code) and
 * "as_of" (today, YYYY-MM-DD).
 *
 * The checks only read. They run on the caller's connection, inside the caller's open
 * transaction when there is one (so `project advance` sees its own locked row); no_duplicate
 * sets pg_trgm.similarity_threshold locally to that transaction (outside one, it opens and
 * commits its own).
 */
#ifndef STPM_INTEGRITY_H
#define STPM_INTEGRITY_H

#include "stpm/common.h"
#include "stpm/date.h"
#include "stpm/db.h"
#include "stpm/error.h"

/* Parameters of a check, as a workflow's `checks:` entry gives them. Unused ones are
 * ignored by the checks that take none. */
typedef struct stpm_integrity_params {
    bool has_similarity;
    const char *similarity; /* no_duplicate: decimal text, e.g. "0.6" */
    bool has_max;
    int max; /* leader_limit: most active projects per leader */
} stpm_integrity_params;

#define STPM_INTEGRITY_PARAMS_INIT                                                                 \
    {                                                                                              \
        false, NULL, false, 0                                                                      \
    }

/* Defaults when a parameter is not given. */
#define STPM_INTEGRITY_DEFAULT_SIMILARITY "0.6"
#define STPM_INTEGRITY_DEFAULT_MAX 3

/* The outcome of one check. Strings are malloc'd; release with
 * stpm_integrity_result_clear. */
typedef struct stpm_integrity_result {
    bool passed;
    char *summary;       /* one line for people, lower case, e.g. "org 91320682... is on
                            the credit blacklist: 虚假申报 (2020-05-01 – 2023-04-30)" */
    char *evidence_json; /* a JSON object, for the event's data */
} stpm_integrity_result;

#define STPM_INTEGRITY_RESULT_INIT                                                                 \
    {                                                                                              \
        false, NULL, NULL                                                                          \
    }

/*
 * Run the check named `check` on the project whose id (UUID text) is project_id, as of
 * `today`. params may be NULL (defaults apply). On success returns 0 and fills *out
 * (passed or failed, with summary and evidence); the caller clears it. *out must start as
 * STPM_INTEGRITY_RESULT_INIT or hold an earlier result, which is released first.
 * Errors: STPM_EINPUT for an unknown check name, a malformed project id or a bad
 * parameter (the message names it); STPM_ENOTFOUND when no such project exists; the
 * codes of stpm/error.h for database failures. On error *out is left cleared.
 */
STPM_API int stpm_integrity_run(stpm_db *db, const char *check, const char *project_id,
                                const stpm_integrity_params *params, stpm_date today,
                                stpm_integrity_result *out, stpm_error *err);

/* Release the strings of a result and reset it. Accepts NULL. */
STPM_API void stpm_integrity_result_clear(stpm_integrity_result *r);

/* true when `check` names one of the checks above. */
STPM_API bool stpm_integrity_known(const char *check);

/* Whether the named check takes the named parameter ("similarity", "max"); false for
 * unknown checks or parameters. Lets a workflow loader reject `checks:` entries early. */
STPM_API bool stpm_integrity_takes_param(const char *check, const char *param);

/* The names of all checks, in the order above, terminated by NULL. */
STPM_API const char *const *stpm_integrity_names(void);

/* Validate parameter values without a database: similarity must be a decimal in [0, 1],
 * max an integer >= 1. Returns 0 or STPM_EINPUT with a message naming the parameter. */
STPM_API int stpm_integrity_params_check(const stpm_integrity_params *params, stpm_error *err);

#endif

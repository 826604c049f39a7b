/*
 * stpm — the bureau's reports (DESIGN §1, §3, §7; docs/reports.md): how many projects were
 * applied for, admitted, approved, funded, accepted, terminated and are overdue, with
 * the sums in 万元, grouped in the server; and the year's targets against the actuals.
 *
 * A project counts in the year of its plan (projects.year). What each milestone means is
 * decided from the history and the pinned workflow version, not from state names
 * (docs/reports.md): applied = entered a state other than its initial one that is not a
 * rejection (a final state that is not closed); admitted = passed a transition that ran
 * integrity checks (廉政准入) into a state that is not a rejection; approved = entered a
 * state with a `due:` deadline or a closed state; funded = approved under a funded plan
 * (资金类) with amount_approved > 0; accepted = closed in the state `accepted`;
 * terminated = closed in any other closed state; overdue = 应结未结 as of today.
 */
#ifndef STPM_REPORT_H
#define STPM_REPORT_H

#include "stpm/common.h"
#include "stpm/date.h"
#include "stpm/db.h"
#include "stpm/error.h"
#include "stpm/rows.h"

typedef enum {
    STPM_REPORT_BY_NONE,
    STPM_REPORT_BY_LEVEL,
    STPM_REPORT_BY_PLAN,
    STPM_REPORT_BY_YEAR,
    STPM_REPORT_BY_TOWN,
    STPM_REPORT_BY_FIELD,
    STPM_REPORT_BY_STATE,
} stpm_report_by;

/* Parse "level", "plan", "year", "town", "field" or "state"; -1 when unknown. */
STPM_API int stpm_report_by_parse(const char *s, stpm_report_by *out);

/*
 * Counts and sums of the projects of plan years [from_year, to_year] (0: open), one row
 * per group and a total row (the group column NULL) last: projects, applied, admitted,
 * approved, funded, accepted, terminated, overdue (as of today), requested (the sum of
 * amount_requested of the applied projects, 万元, two decimals) and approved_amount (the
 * sum of amount_approved of the funded projects, 万元, two decimals). With BY_NONE, the
 * total row only.
 */
STPM_API int stpm_report_summary(stpm_db *db, int from_year, int to_year, stpm_report_by by,
                                 stpm_date today, stpm_rows **out, stpm_error *err);

/*
 * The targets of `year` (stpm.targets) against the actuals of the projects of that plan
 * year at the target's level (all, one level, municipal_and_above, provincial_and_above):
 * metric, level, target, actual, completion ("121.9%": actual / target, one decimal;
 * NULL when the target is 0). Metrics: applications (applied), approvals (approved),
 * funded (funded), funding (the sum of amount_approved of the funded projects, 万元).
 */
STPM_API int stpm_report_targets(stpm_db *db, int year, stpm_rows **out, stpm_error *err);

/*
 * Set (insert or replace) the target of `year` for `metric` at `level` (NULL: "all") to
 * `value` (a count, or 万元 for funding), and write an event on the chain `system`
 * (kind admin, data.action target_set). Administrators only (else STPM_EPERM); an unknown
 * metric or level or a bad value: STPM_EINPUT.
 */
STPM_API int stpm_report_target_set(stpm_db *db, int year, const char *metric, const char *level,
                                    const char *value, stpm_date today, stpm_error *err);

#endif

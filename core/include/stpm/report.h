/*
 * stpm — the bureau's reports (DESIGN §1, §3, §7; docs/reports.md): how many projects were
 * applied for, admitted, approved, funded, accepted, terminated and are overdue, with
 * the sums in 万元, grouped in the server; and the year's targets against the actuals.
 *
 * A project counts in the year of its plan (projects.year). What each milestone means is
 * declared by the pinned workflow version (`counts_as:` of its states, docs/workflows.md),
 * never read from state names: applied, admitted, approved = entered a state that counts as
 * that milestone or a later one; funded = approved under a funded plan (资金类) with
 * amount_approved > 0; accepted, terminated, rejected = ended in a final state that counts
 * as that; overdue = 应结未结 (stpm.project_overdue, docs/audit.md).
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

/* What `report summary` asks for. */
typedef struct stpm_report_query {
    int from_year, to_year; /* plan years, 0: open */
    stpm_report_by by;
    stpm_date as_of;       /* the figures as they stood at the end of this day */
    const char *level;     /* NULL, a level, municipal_and_above or provincial_and_above */
    const char *plan;      /* NULL or a plan code */
    bool compare_previous; /* also the year before (years - 1, as_of - 1 year), growth in % */
} stpm_report_query;

/* Parse a --level value (a level, municipal_and_above, provincial_and_above); -1 if unknown. */
STPM_API int stpm_report_level_check(const char *s);

/*
 * Counts and sums of the projects of plan years [from_year, to_year] as of the end of
 * q->as_of (every figure from the history as it stood then), one row per group and a total
 * row last: projects, applied, admitted, approved, funded, accepted, terminated, rejected,
 * overdue (应结未结 as of as_of), requested (the sum of amount_requested of the applied
 * projects, 万元, two decimals), approved_amount (the sum of amount_approved of the funded
 * projects), plans and plan_kinds (the plans, and their workflows, with at least one
 * application) and implemented (projects of any plan year in progress at any time from
 * 1 January of from_year to 31 December of to_year or as_of, whichever is earlier).
 * With compare_previous the rows are one per group and figure instead: figure, current,
 * previous (the same figure for the years before, as of one year earlier), growth ("160.2%",
 * NULL when previous is 0). An unknown level: STPM_EUSAGE; an unknown plan: STPM_ENOTFOUND.
 */
STPM_API int stpm_report_summary(stpm_db *db, const stpm_report_query *q, stpm_rows **out,
                                 stpm_error *err);

/*
 * The targets of `year` (stpm.targets) against the actuals of the projects of that plan
 * year at the target's level (all, one level, municipal_and_above, provincial_and_above):
 * metric, level, target, actual, completion ("121.9%": actual / target, one decimal;
 * NULL when the target is 0), as of the end of as_of. Metrics: applications (applied),
 * approvals (approved),
 * funded (funded), funding (the sum of amount_approved of the funded projects, 万元).
 */
STPM_API int stpm_report_targets(stpm_db *db, int year, stpm_date as_of, stpm_rows **out,
                                 stpm_error *err);

/*
 * Set (insert or replace) the target of `year` for `metric` at `level` (NULL: "all") to
 * `value` (a count, or 万元 for funding), and write an event on the chain `system`
 * (kind admin, data.action target_set). Administrators only (else STPM_EPERM); an unknown
 * metric or level or a bad value: STPM_EINPUT.
 */
STPM_API int stpm_report_target_set(stpm_db *db, int year, const char *metric, const char *level,
                                    const char *value, stpm_date today, stpm_error *err);

#endif

/*
 * stpm — the working-day calendar (工作日历) of mainland China.
 *
 * Weekends are rest days, public holidays are rest days, and make-up working days
 * (调休) are working days even on a weekend. The shipped data covers 2016 through 2027;
 * an administrator extends or corrects it with a file of the same format.
 */
#ifndef STPM_CALENDAR_H
#define STPM_CALENDAR_H

#include "stpm/common.h"
#include "stpm/date.h"
#include "stpm/error.h"

typedef struct stpm_calendar stpm_calendar;

/* The shipped calendar (built into the library). */
STPM_API int stpm_calendar_new_default(stpm_calendar **out, stpm_error *err);

/* Add or override days from a calendar file (YAML; format in docs/calendar.md).
 * Problems are reported as FILE:LINE:COL diagnostics with STPM_EINPUT; on error the
 * calendar is unchanged. */
STPM_API int stpm_calendar_load_file(stpm_calendar *cal, const char *path, stpm_error *err);

/* The same from text in memory; `name` is used in diagnostics. */
STPM_API int stpm_calendar_load_text(stpm_calendar *cal, const char *name, const char *text,
                                     size_t len, stpm_error *err);

/* A calendar without any data (weekends only), to load a file into on its own. */
STPM_API int stpm_calendar_new_empty(stpm_calendar **out, stpm_error *err);

STPM_API void stpm_calendar_free(stpm_calendar *cal);

/* Set one day: workday true makes it a working day (调休上班) even on a weekend, false a
 * rest day (放假) even on a weekday; it replaces what the calendar said about that day.
 * The year range widens to the day's year. 0, or STPM_ERROR (out of memory, unchanged). */
STPM_API int stpm_calendar_set_day(stpm_calendar *cal, stpm_date d, bool workday, stpm_error *err);

/* The days the calendar lists explicitly (holidays and make-up working days), in date
 * order: there are stpm_calendar_n_days of them; stpm_calendar_day returns the i-th
 * (i < n) and tells in *workday (may be NULL) whether it is a working day. */
STPM_API size_t stpm_calendar_n_days(const stpm_calendar *cal);
STPM_API stpm_date stpm_calendar_day(const stpm_calendar *cal, size_t i, bool *workday);

/* true when d is a working day. */
STPM_API bool stpm_calendar_is_workday(const stpm_calendar *cal, stpm_date d);

/* The n-th working day after d (n > 0), or before d (n < 0); d itself for n = 0.
 * "20wd after 2021-09-28" counts 20 working days following that date. Walks day by day:
 * meant for |n| up to about 100000 (what expressions allow) from a date in 0001..9999;
 * stpm_duration_add (stpm/expr.h) checks those limits. cal may be NULL (weekends only). */
STPM_API stpm_date stpm_calendar_add_workdays(const stpm_calendar *cal, stpm_date d, int n);

/* The number of working days d with from < d <= to, so that for n >= 0
 * stpm_calendar_workdays_between(cal, d, stpm_calendar_add_workdays(cal, d, n)) == n; the
 * count of (to, from] negated when to < from (how many working days a deadline was missed
 * by). Does not walk the days: whole weeks are counted, then the listed days in between
 * corrected for. cal may be NULL (weekends only). */
STPM_API long stpm_calendar_workdays_between(const stpm_calendar *cal, stpm_date from,
                                             stpm_date to);

/* The first and last year the calendar has data for (holidays are known). */
STPM_API void stpm_calendar_range(const stpm_calendar *cal, int *first_year, int *last_year);

/* true when the calendar's data for `year` is provisional: the file said `provisional: true`
 * (the statutory days only, the notice not yet published: 2027 in the shipped data) and
 * no later file, and no day the administrator added for that year, replaced it. */
STPM_API bool stpm_calendar_year_provisional(const stpm_calendar *cal, int year);

/* The warnings of a working-day count over years the calendar does not know or holds as
 * provisional (docs/calendar.md). */
typedef struct stpm_calendar_warnings {
    int years[16];        /* distinct years, ascending */
    bool provisional[16]; /* true: provisional; false: missing */
    size_t n;
} stpm_calendar_warnings;

/* Add to w the years of [from, to] (either order) that the calendar cal holds no data for or
 * marks provisional. */
STPM_API void stpm_calendar_warnings_add(stpm_calendar_warnings *w, const stpm_calendar *cal,
                                         stpm_date from, stpm_date to);

#endif

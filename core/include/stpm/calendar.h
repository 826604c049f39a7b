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

STPM_API void stpm_calendar_free(stpm_calendar *cal);

/* true when d is a working day. */
STPM_API bool stpm_calendar_is_workday(const stpm_calendar *cal, stpm_date d);

/* The n-th working day after d (n > 0), or before d (n < 0); d itself for n = 0.
 * "20wd after 2021-09-28" counts 20 working days following that date. Walks day by day:
 * meant for |n| up to about 100000 (what expressions allow) from a date in 0001..9999;
 * stpm_duration_add (stpm/expr.h) checks those limits. cal may be NULL (weekends only). */
STPM_API stpm_date stpm_calendar_add_workdays(const stpm_calendar *cal, stpm_date d, int n);

/* The first and last year the calendar has data for (holidays are known). */
STPM_API void stpm_calendar_range(const stpm_calendar *cal, int *first_year, int *last_year);

#endif

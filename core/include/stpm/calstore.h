/*
 * stpm — the administrator's additions to the working-day calendar (调休), kept in the
 * table stpm.calendar_days. They override the shipped calendar (stpm/calendar.h,
 * data/calendar/cn.yaml) day by day, wherever the library counts working days: the `wd`
 * durations of transitions and the timers that `stpm tick` fires.
 *
 * Changing them is for administrators (stpm_admin) only: any other role gets STPM_EPERM
 * and nothing is written. Every change writes one event on the chain "system" (kind
 * "admin", data.action calendar_set, calendar_unset or calendar_load).
 */
#ifndef STPM_CALSTORE_H
#define STPM_CALSTORE_H

#include "stpm/calendar.h"
#include "stpm/common.h"
#include "stpm/date.h"
#include "stpm/db.h"
#include "stpm/error.h"

typedef enum {
    STPM_CALDAY_SHIPPED = 1, /* from the data built into the library */
    STPM_CALDAY_ADDED = 2,   /* added by an administrator (stpm.calendar_days) */
} stpm_calday_source;

/* One listed day: a holiday (rest day) or a make-up working day. */
typedef struct stpm_calday {
    stpm_date date;
    bool workday; /* true: a working day (调休上班); false: a rest day (放假) */
    stpm_calday_source source;
    bool replaces_shipped; /* an added day on a date the shipped data lists too */
    char *note;            /* the administrator's note, or NULL */
} stpm_calday;

/*
 * The effective list of holidays and make-up days: shipped and added, an added day
 * standing in for the shipped entry of the same date; in date order. year 0 lists every
 * year, else only the days of that year. Free with stpm_calstore_list_free.
 */
STPM_API int stpm_calstore_list(stpm_db *db, int year, stpm_calday **out, size_t *n,
                                stpm_error *err);
STPM_API void stpm_calstore_list_free(stpm_calday *days, size_t n);

/* Add or replace the administrator's entry for one day (note may be NULL); `today` is the
 * business date of the event. */
STPM_API int stpm_calstore_set(stpm_db *db, stpm_date day, bool workday, const char *note,
                               stpm_date today, stpm_error *err);

/* Remove the administrator's entry for one day (the shipped data applies again).
 * STPM_ENOTFOUND when there is none. */
STPM_API int stpm_calstore_unset(stpm_db *db, stpm_date day, stpm_date today, stpm_error *err);

/*
 * Read a calendar file (the format of the shipped one, docs/calendar.md) and store every
 * day it lists, in one transaction, each with the note "loaded from FILE". A bad file:
 * STPM_EINPUT with FILE:LINE:COL diagnostics, nothing stored; a missing one:
 * STPM_ENOTFOUND. *n_days (may be NULL) is the number of days stored.
 */
STPM_API int stpm_calstore_load_file(stpm_db *db, const char *path, stpm_date today, size_t *n_days,
                                     stpm_error *err);

/* The calendar in force on this database: the shipped one with the additions over it.
 * Free with stpm_calendar_free. */
STPM_API int stpm_calstore_calendar(stpm_db *db, stpm_calendar **out, stpm_error *err);

#endif

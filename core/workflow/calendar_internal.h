/* Internals of the working-day calendar, shared by its loader and the tests. */
#ifndef STPM_WORKFLOW_CALENDAR_INTERNAL_H
#define STPM_WORKFLOW_CALENDAR_INTERNAL_H

#include "stpm/calendar.h"

typedef enum {
    CAL_HOLIDAY = 1, /* a rest day, even on a weekday */
    CAL_WORKDAY = 2, /* a make-up working day, even on a weekend */
} cal_kind;

typedef struct cal_day {
    stpm_date date;
    cal_kind kind;
} cal_day;

struct stpm_calendar {
    cal_day *days; /* sorted by date, one entry per date */
    size_t n;
    int first_year, last_year; /* 0 when no data */
    /* years whose data is provisional (`provisional: true`: statutory days only), sorted */
    int provisional[16];
    size_t n_provisional;
};

/* Mark `year` provisional or not. */
void calendar_set_provisional(stpm_calendar *cal, int year, bool provisional);

/* Add days (sorted by date, no date twice); they replace entries of the same dates.
 * The year range widens to [first, last]. 0 or STPM_ERROR (out of memory, unchanged). */
int calendar_merge(stpm_calendar *cal, const cal_day *add, size_t n, int first, int last,
                   stpm_error *err);

#endif

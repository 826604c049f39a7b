/*
 * stpm — calendar dates without time zones.
 *
 * A date is the number of days since 1970-01-01 (proleptic Gregorian), so that
 * arithmetic and comparison are plain integer operations.
 */
#ifndef STPM_DATE_H
#define STPM_DATE_H

#include "stpm/common.h"

typedef int32_t stpm_date;

/* Days since the epoch for a civil date; no range check (see stpm_date_valid_ymd). */
STPM_API stpm_date stpm_date_from_ymd(int year, int month, int day);
STPM_API void stpm_date_to_ymd(stpm_date d, int *year, int *month, int *day);
/* true when year 1..9999, month 1..12 and day exists in that month. */
STPM_API bool stpm_date_valid_ymd(int year, int month, int day);
/* Parse exactly "YYYY-MM-DD" (the whole string); 0 on success, -1 otherwise. */
STPM_API int stpm_date_parse(const char *s, stpm_date *out);
/* Parse "YYYY-MM-DD" at the start of s; returns the number of bytes used, 0 if none. */
STPM_API size_t stpm_date_scan(const char *s, stpm_date *out);
/* Write "YYYY-MM-DD" into buf (at least 11 bytes). Returns buf. */
STPM_API char *stpm_date_format(stpm_date d, char buf[static 11]);
/* Add calendar months; the day is clamped to the end of the target month
 * (2021-01-31 + 1mo = 2021-02-28). */
STPM_API stpm_date stpm_date_add_months(stpm_date d, int months);
/* 0 = Monday ... 6 = Sunday. */
STPM_API int stpm_date_weekday(stpm_date d);
/* Today in local time. */
STPM_API stpm_date stpm_date_today(void);

#endif

/* The stored workflow versions as the lifecycle code uses them. */
#ifndef STPM_STORE_WF_STORE_INTERNAL_H
#define STPM_STORE_WF_STORE_INTERNAL_H

#include "stpm/calendar.h"
#include "stpm/wfstore.h"

/* The parsed version with id `id` (a uuid), cached on the connection: the pointer stays
 * valid until the connection is closed. STPM_ENOTFOUND when no such version. */
int stpm_wfstore_by_id(stpm_db *db, const char *id, const stpm_workflow **out, stpm_error *err);

/* The working-day calendar in force: the shipped one with the administrator's additions
 * (stpm.calendar_days) over it, made once per connection (until stpm_store_calendar_reset). */
int stpm_store_calendar(stpm_db *db, const stpm_calendar **out, stpm_error *err);

/* Forget the connection's calendar (after the additions changed). */
void stpm_store_calendar_reset(stpm_db *db);

/* Apply the additions of stpm.calendar_days to cal (store/cal_store.c). */
int stpm_store_calendar_overlay(stpm_db *db, stpm_calendar *cal, stpm_error *err);

#endif

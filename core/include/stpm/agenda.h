/*
 * stpm — the officer's agenda (docs/agenda.md): every deadline ahead within a window,
 * soonest first, the overdue ones (应结未结) before them, each with the days and working
 * days left and the transition that meets it; and the assignment of projects to officers.
 *
 *     stpm_agenda_options o = STPM_AGENDA_OPTIONS_INIT;
 *     o.as_of = today;
 *     stpm_agenda *a = NULL;
 *     if (stpm_agenda_list(db, &o, &a, &err) == 0)
 *         for (size_t i = 0; i < a->n; i++)
 *             ... a->items[i] ...
 *     stpm_agenda_free(a);
 */
#ifndef STPM_AGENDA_H
#define STPM_AGENDA_H

#include <stddef.h>

#include "stpm/common.h"
#include "stpm/date.h"
#include "stpm/db.h"
#include "stpm/error.h"
#include "stpm/calendar.h"
#include "stpm/expr.h"

/* What falls due. */
typedef enum {
    STPM_DEADLINE_DUE,     /* the `due:` date of the project's state (a task book to sign,
                              the completion or extension date, an acceptance window ...) */
    STPM_DEADLINE_OVERDUE, /* 应结未结 as stpm.overdue_as_of says: a deadline already missed */
    STPM_DEADLINE_TIMER,   /* a state's `timeout:` that `stpm tick` fires (publicity ending) */
    STPM_DEADLINE_CHECK,   /* a scheduled check (中期检查) still open */
} stpm_deadline_kind;

/* "due", "overdue", "timer", "check". */
STPM_API const char *stpm_deadline_kind_name(stpm_deadline_kind k);

typedef struct stpm_agenda_item {
    stpm_deadline_kind kind;
    bool overdue;      /* past its date: 应结未结, or a check overdue (stpm.project_checks) */
    stpm_date due;     /* the deadline: the last day still in time (a timer: the day it fires) */
    int days_left;     /* due - as_of (negative when past) */
    int workdays_left; /* working days after as_of up to due (negative when past) */
    char *code, *title, *plan, *state, *state_label;
    char *what;    /* the field (due), the check's name, or the timer's transition */
    char *label;   /* what people call the deadline: the field's or check's label */
    char *todo;    /* the transitions that meet it, ", "-separated ("" when none) */
    char *command; /* the command to run, e.g. "stpm project advance 2026-X-0001 start" */
} stpm_agenda_item;

typedef struct stpm_agenda {
    stpm_agenda_item *items; /* overdue first (oldest first), then by date, then code */
    size_t n;
    stpm_date as_of, until; /* the window: after as_of up to until (inclusive) */
    stpm_calendar_warnings warnings;
} stpm_agenda;

typedef struct stpm_agenda_options {
    stpm_date as_of;                /* the day the agenda is made for (required) */
    stpm_duration_unit within_unit; /* the window (default 20 working days) */
    int32_t within_n;
    const char *plan; /* only this plan's projects, or NULL */
    bool mine;        /* only projects the connected role acted on or is assigned to */
} stpm_agenda_options;

#define STPM_AGENDA_OPTIONS_INIT                                                                   \
    {                                                                                              \
        0, STPM_DUR_WORKDAYS, 20, NULL, false                                                      \
    }

/* The agenda as of o->as_of. 0 and *out (free with stpm_agenda_free), or a negative code:
 * STPM_ENOTFOUND for an unknown plan, STPM_EUSAGE for a window the calendar cannot
 * reach. */
STPM_API int stpm_agenda_list(stpm_db *db, const stpm_agenda_options *o, stpm_agenda **out,
                              stpm_error *err);
STPM_API void stpm_agenda_free(stpm_agenda *a);

/* The agenda as an iCalendar file (RFC 5545): one VEVENT per item, an all-day event on its
 * date with a VALARM alarm_days before, a UID made of the project code and the deadline
 * (the same on every export, so that a calendar updates the event rather than adding
 * another), CRLF line endings, lines folded at 75 octets. `stamp` is the DTSTAMP
 * (YYYYMMDDTHHMMSSZ). *out is malloc'd. 0 or STPM_ERROR (out of memory). */
STPM_API int stpm_agenda_ics(const stpm_agenda *a, int alarm_days, const char *stamp, char **out,
                             stpm_error *err);

/* stpm project todo: per transition the connected role may take from a project's state,
 * how many projects it would take now and, for the others, how many are blocked by each
 * reason (as the server decides a transition: nothing is written). */
typedef struct stpm_todo_reason {
    char *message; /* the server's sentence (a block's message, or an error's) */
    size_t n;      /* projects it blocks */
} stpm_todo_reason;

typedef struct stpm_todo_group {
    char *transition, *label, *from, *to;
    size_t n_ready, n_blocked;
    stpm_todo_reason *reasons; /* in order of first appearance */
    size_t n_reasons;
    char *command; /* the bulk command that takes them */
} stpm_todo_group;

typedef struct stpm_todo {
    stpm_todo_group *groups; /* by version, state, then the workflow's transition order */
    size_t n;
} stpm_todo;

/* The todo list as of `today` of every project not in a final state (mine: those the
 * connected role acted on or is assigned to). 0 and *out (stpm_todo_free), or negative. */
STPM_API int stpm_project_todo(stpm_db *db, stpm_date today, bool mine, stpm_todo **out,
                               stpm_error *err);
STPM_API void stpm_todo_free(stpm_todo *t);

/* Assign project `code` to the officer role `officer` (an event on the project's chain,
 * stpm.project_assign of migrations/086_agenda.sql). *changed false when it was already
 * assigned to that officer. STPM_ENOTFOUND (project, role), STPM_EINPUT (not an officer),
 * STPM_EPERM (neither an officer nor an administrator). */
STPM_API int stpm_project_assign(stpm_db *db, const char *code, const char *officer,
                                 stpm_date today, bool *changed, stpm_error *err);

#endif

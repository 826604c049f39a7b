/*
 * stpm — projects (科技项目) and their lifecycle (DESIGN §3, §5, §6, §7).
 *
 * A project belongs to one plan (科技计划), one organisation (承担单位) and one leader
 * (项目负责人); it is pinned to the workflow version that was newest when it was created
 * and moves only by that version's transitions. Every change writes one event to the
 * project's hash chain (see docs/history.md); the actor is the connected database role.
 *
 * "today" is always the caller's: --today / STPM_TODAY in the CLI. It is the business
 * date of events, the date of state_since, and the date guards, timers and checks see.
 *
 * A transition is taken in one transaction: the project row is locked, the pinned
 * workflow's rules are verified (roles, required fields and documents, reason, integrity
 * checks with their evidence, the `when` guard), `set:` is applied, the row and one
 * event are written. Refused: STPM_EREFUSED, every reason listed, nothing written.
 * Someone changed the project first: STPM_ECONFLICT. Serialisation failures and
 * deadlocks are retried a few times.
 */
#ifndef STPM_PROJECT_H
#define STPM_PROJECT_H

#include "stpm/calendar.h"
#include "stpm/common.h"
#include "stpm/date.h"
#include "stpm/db.h"
#include "stpm/error.h"
#include "stpm/rows.h"

/* Largest document `project attach` stores. */
#define STPM_PROJECT_MAX_DOCUMENT (32u * 1024u * 1024u)

#define STPM_PROJECT_NEW_VERSION 1

/* What `project create` is given. */
typedef struct stpm_project_new {
    unsigned version; /* STPM_PROJECT_NEW_VERSION */
    const char *plan; /* plan code, e.g. "PKRD" */
    const char *org;  /* the organisation's USCC */
    const char *title;
    const char *leader;      /* a name; upserted among the organisation's leaders */
    int year;                /* 0: the year of today */
    const char *field;       /* 技术领域, or NULL */
    const char *const *sets; /* "FIELD=VALUE" assignments of workflow fields */
    size_t n_sets;
    stpm_date today;
    /* The reserve entry (uuid) this project is promoted from, or NULL: stored as the
     * project's reserve_entry_id, and the 'create' event names it with its survey import
     * (set by stpm_reserve_promote). */
    const char *reserve_entry;
} stpm_project_new;

#define STPM_PROJECT_NEW_INIT                                                                      \
    {                                                                                              \
        STPM_PROJECT_NEW_VERSION, NULL, NULL, NULL, NULL, 0, NULL, NULL, 0, 0, NULL                \
    }

/*
 * Create a project in the initial state of the newest version of its plan's workflow and
 * write its 'create' event. *code receives the new human code, "2021-PKRD-0042" (year,
 * plan, serial within both), malloc'd. Unknown plan, organisation or workflow:
 * STPM_ENOTFOUND; a bad FIELD=VALUE: STPM_EINPUT.
 */
STPM_API int stpm_project_create(stpm_db *db, const stpm_project_new *spec, char **code,
                                 stpm_error *err);

/* A selection of projects; NULL / 0 members do not restrict. */
typedef struct stpm_project_filter {
    char *state;
    char *plan;  /* plan code */
    char *level; /* national, provincial, municipal, county */
    int year;
    char *town;   /* the organisation's 所属板块 */
    char *org;    /* USCC */
    char *code;   /* one project */
    bool overdue; /* 应结未结 as of the day (stpm.project_overdue, docs/audit.md) */
} stpm_project_filter;

#define STPM_PROJECT_FILTER_INIT                                                                   \
    {                                                                                              \
        NULL, NULL, NULL, 0, NULL, NULL, NULL, false                                               \
    }

/* Parse a --where text: space-separated KEY=VALUE terms with the keys state, plan, level,
 * year, town, org, code, and the word `overdue`. STPM_EUSAGE when malformed or empty (no
 * term at all: an empty --where would select every project). */
STPM_API int stpm_project_filter_parse(const char *where, stpm_project_filter *out,
                                       stpm_error *err);
/* Release the strings of a filter and reset it. */
STPM_API void stpm_project_filter_clear(stpm_project_filter *f);

/* The selected projects as of the end of `today` (the --as-of day): those created by then,
 * each with the state it was in then and the filters applied to that state (code, title,
 * org_name, town, plan, level, year, field, state, state_since, leader, due — the `due:`
 * date of that state —, overdue — 应结未结 then, docs/audit.md), in code order. */
STPM_API int stpm_project_list(stpm_db *db, const stpm_project_filter *f, stpm_date today,
                               stpm_rows **out, stpm_error *err);

/* One project as one row: every column, the workflow's fields (JSON text), documents and
 * checks (text). Unknown code: STPM_ENOTFOUND. */
STPM_API int stpm_project_show(stpm_db *db, const char *code, stpm_date today, stpm_rows **out,
                               stpm_error *err);

/* The same as one JSON document built by the server (fields, documents and checks as
 * nested objects and arrays). *json is malloc'd. */
STPM_API int stpm_project_show_json(stpm_db *db, const char *code, stpm_date today, char **json,
                                    stpm_error *err);

/* The project's events in chain order: seq, on_date, actor, kind, transition, from_state,
 * to_state, reason, hash (the first 12 hex digits), data (JSON text). */
STPM_API int stpm_project_history(stpm_db *db, const char *code, stpm_rows **out, stpm_error *err);

/*
 * Store the file at path as a document of `kind` ([a-z][a-z0-9_]*) of the project, with
 * its size and SHA-256, and write an 'attach' event. The same content of the same kind
 * twice is one document: *already is set and nothing is written. Larger than
 * STPM_PROJECT_MAX_DOCUMENT: STPM_EINPUT. sha256 (65 bytes) receives the digest; may be NULL.
 */
STPM_API int stpm_project_attach(stpm_db *db, const char *code, const char *kind, const char *path,
                                 stpm_date today, bool *already, char sha256[65], stpm_error *err);

/* One document of stpm_project_attach_from: the file, the project and kind it names, its
 * outcome (an stpm_outcome: ok, refused — a file name that is not CODE-KIND.ext, not a
 * regular file, too large, no such project, a kind its workflow does not declare —,
 * conflict or error) and, when ok, its digest and whether it was attached already. */
typedef struct stpm_attach_item {
    char *file; /* as listed: the name in DIR, or the manifest's file column */
    char *code, *kind;
    char sha256[65];
    bool already;
    int outcome;
    char *message; /* why not; NULL when ok */
} stpm_attach_item;

typedef struct stpm_attach_report {
    stpm_attach_item *items;
    size_t n, cap;
    size_t n_ok, n_already, n_refused, n_conflict, n_error;
    bool dry_run;
} stpm_attach_report;

#define STPM_ATTACH_REPORT_INIT                                                                    \
    {                                                                                              \
        NULL, 0, 0, 0, 0, 0, 0, 0, false                                                           \
    }

STPM_API void stpm_attach_report_clear(stpm_attach_report *r);

/*
 * `project attach --from`: from is a directory whose files are named CODE-KIND.ext (e.g.
 * 2021-RGKJ-0001-task_book.pdf; names beginning with '.' are skipped), or a manifest CSV
 * with the header code,kind,file (files relative to the manifest's directory). Each
 * document is attached as stpm_project_attach does, each in its own subtransaction of a
 * server call per batch (stpm.document_attach_many, migrations/088), so one refused file
 * does not undo the others. dry_run: the same calls in a transaction rolled back. Returns
 * 0 once every file has its outcome in *report; negative when the run itself failed (from
 * unreadable, a malformed manifest, permission, the server lost).
 */
STPM_API int stpm_project_attach_from(stpm_db *db, const char *from, stpm_date today, bool dry_run,
                                      stpm_attach_report *report, stpm_error *err);

/* ---- transitions ---- */

/* A file to attach as part of a transition: kind and path. */
typedef struct stpm_project_attachment {
    const char *kind;
    const char *path;
} stpm_project_attachment;

#define STPM_ADVANCE_OPTIONS_VERSION 1

typedef struct stpm_advance_options {
    unsigned version; /* STPM_ADVANCE_OPTIONS_VERSION */
    const char *reason;
    const char *const *sets; /* "FIELD=VALUE", applied before `set:` and the checks */
    size_t n_sets;
    const stpm_project_attachment *attachments;
    size_t n_attachments;
    bool dry_run; /* verify and report, then roll back */
    stpm_date today;
    bool by_timer; /* fired by `stpm tick`: the transition's roles are not required */
} stpm_advance_options;

#define STPM_ADVANCE_OPTIONS_INIT                                                                  \
    {                                                                                              \
        STPM_ADVANCE_OPTIONS_VERSION, NULL, NULL, 0, NULL, 0, false, 0, false                      \
    }

/* Why a transition is blocked: one reason. kind is "state", "role", "field", "document",
 * "reason", "check" or "guard"; subject names the field, document, check, roles or the
 * guard's source; evidence is a check's JSON evidence or NULL. */
typedef struct stpm_reason {
    char *kind;
    char *subject;
    char *message;
    char *evidence;
} stpm_reason;

/* The outcome of one check run for a transition. */
typedef struct stpm_check_outcome {
    char *name;
    bool passed;
    char *summary;
    char *evidence; /* JSON */
} stpm_check_outcome;

/* One transition out of the current state, allowed or not, with every reason. */
typedef struct stpm_transition_report {
    char *name;
    char *label; /* or NULL */
    char *to;
    bool allowed;
    stpm_reason *reasons;
    size_t n_reasons;
    stpm_check_outcome *checks;
    size_t n_checks;
} stpm_transition_report;

/* What `project advance` did or would do. */
typedef struct stpm_advance_result {
    char *code;
    char *from;
    char *to; /* NULL when refused */
    int row_version;
    bool dry_run;
    stpm_transition_report report; /* reasons when refused; the checks that ran */
    char *changes;                 /* the field changes as a JSON object */
    char *event_hash;              /* the event's hash, NULL when nothing was written */
} stpm_advance_result;

/* Release a result's strings and reset it. */
STPM_API void stpm_advance_result_clear(stpm_advance_result *r);
STPM_API void stpm_transition_report_clear(stpm_transition_report *r);

/*
 * Take `transition` on the project `code`. On 0, *result says what changed (or, with
 * dry_run, what would). STPM_EREFUSED when a rule said no: result->report lists every
 * reason (the error's detail too) and nothing is written. STPM_ECONFLICT when the
 * project changed while we looked. STPM_EPERM when the connected role may take no
 * transition at all (an auditor). STPM_EINPUT for a bad FIELD=VALUE or attachment;
 * STPM_ENOTFOUND for an unknown project or transition. result may be NULL.
 */
STPM_API int stpm_project_advance(stpm_db *db, const char *code, const char *transition,
                                  const stpm_advance_options *opts, stpm_advance_result *result,
                                  stpm_error *err);

/* `project why`: every transition out of the current state with every reason it is
 * blocked (integrity checks are run, read only). *state receives the current state
 * (malloc'd); *reports an array of *n reports, freed with stpm_project_why_free. */
STPM_API int stpm_project_why(stpm_db *db, const char *code, stpm_date today, char **state,
                              stpm_transition_report **reports, size_t *n, stpm_error *err);
STPM_API void stpm_project_why_free(stpm_transition_report *reports, size_t n);

/* ---- many projects ---- */

typedef enum {
    STPM_OUTCOME_OK,
    STPM_OUTCOME_REFUSED,
    STPM_OUTCOME_CONFLICT,
    STPM_OUTCOME_ERROR,
} stpm_outcome;

/* One project's outcome in a bulk advance or a tick. */
typedef struct stpm_bulk_item {
    char *code;
    char *transition;
    char *from;
    char *to;
    stpm_outcome outcome;
    char *message; /* reasons when refused, the error otherwise; NULL when ok */
} stpm_bulk_item;

typedef struct stpm_bulk_report {
    stpm_bulk_item *items;
    size_t n, cap;
    size_t n_ok, n_refused, n_conflict, n_error;
    /* tick: the years its working-day timers were counted across that the calendar does
     * not know or holds as provisional */
    stpm_calendar_warnings warnings;
} stpm_bulk_report;

#define STPM_BULK_REPORT_INIT                                                                      \
    {                                                                                              \
        NULL, 0, 0, 0, 0, 0, 0,                                                                    \
        {                                                                                          \
            {0}, {0}, 0                                                                            \
        }                                                                                          \
    }

STPM_API void stpm_bulk_report_clear(stpm_bulk_report *r);
/* "ok", "refused", "conflict", "error". */
STPM_API const char *stpm_outcome_name(stpm_outcome o);

/*
 * Take `transition` on every project the filter selects, atomically per project (a
 * refused or conflicting project does not stop the others; the later ones see the
 * earlier ones), a chunk of projects per round trip to the server. opts->sets and
 * attachments are not allowed here (STPM_EUSAGE). Returns 0 once every project has its
 * outcome in *report; a negative code only when the run itself failed.
 */
/* One project of stpm_project_advance_each: its code and its own `--set` assignments
 * ("FIELD=VALUE"; the server checks each against the transition's inputs and types). */
typedef struct stpm_advance_item {
    const char *code;
    const char *const *sets;
    size_t n_sets;
} stpm_advance_item;

/*
 * Take `transition` on each of items[0..n) with its own sets, in the order given, as
 * stpm_project_advance_where does (atomic per project, later ones see earlier ones, a
 * chunk per round trip). opts->sets and attachments are not allowed (STPM_EUSAGE); a
 * malformed assignment (no '=') is STPM_EINPUT before anything is sent. Returns 0 once
 * every project has its outcome in *report (an unknown code is an error outcome).
 */
STPM_API int stpm_project_advance_each(stpm_db *db, const stpm_advance_item *items, size_t n,
                                       const char *transition, const stpm_advance_options *o,
                                       stpm_bulk_report *report, stpm_error *err);

STPM_API int stpm_project_advance_where(stpm_db *db, const stpm_project_filter *f,
                                        const char *transition, const stpm_advance_options *opts,
                                        stpm_bulk_report *report, stpm_error *err);

/*
 * `stpm tick`: for every project whose current state has a `timeout:` that is due by
 * opts->today (state_since + after, working days by the calendar), take the timer's
 * transition as the connected role, atomically per project. A project whose timer was
 * taken already is no longer in the state, so a second tick does nothing.
 */
STPM_API int stpm_project_tick(stpm_db *db, const stpm_advance_options *opts,
                               stpm_bulk_report *report, stpm_error *err);

/* ---- migrating projects to a newer workflow version ---- */

/* One project of a migration: what was (or would be) done. */
typedef struct stpm_migrate_item {
    char *code;
    int from_version; /* the version the project was pinned to */
    char *state;      /* its current state */
    /* OK: moves (moved unless dry run); REFUSED: stranded, left pinned; CONFLICT: it
     * changed meanwhile, left pinned; ERROR: writing failed. */
    stpm_outcome outcome;
    char *message; /* why stranded, or the error; NULL when it moves */
    /* Fields the new version requires in the state (`required_in`) that the project has
     * not set, ", "-separated; NULL when none. Reported, never blocking. */
    char *missing;
} stpm_migrate_item;

typedef struct stpm_migrate_report {
    stpm_migrate_item *items; /* in code order */
    size_t n, cap;
    size_t n_moved, n_stranded, n_conflict, n_error; /* n_moved counts "would move" too */
} stpm_migrate_report;

#define STPM_MIGRATE_REPORT_INIT                                                                   \
    {                                                                                              \
        NULL, 0, 0, 0, 0, 0, 0                                                                     \
    }

STPM_API void stpm_migrate_report_clear(stpm_migrate_report *r);

/*
 * `workflow migrate`: move every project of workflow `name` pinned to a version older than
 * `to_version` (only those of plan code `plan` when not NULL) to `to_version`. A project is
 * stranded when its state does not exist in the new version, or is a non-final state
 * that no transition of the new version leaves; stranded projects stay pinned. Each
 * movable project moves atomically on its own: its workflow_id is updated if its
 * row_version is unchanged, with one 'migrate' event on its chain (data: workflow,
 * from_version, to_version, state, missing_fields); its state and fields are unchanged.
 * With dry_run nothing is written. Only an administrator (member of stpm_admin, or a
 * superuser) may migrate: STPM_EPERM. Unknown workflow version or plan: STPM_ENOTFOUND;
 * a plan of another workflow: STPM_EINPUT. Returns 0 once every project has its outcome
 * in *report (stranded ones included); the caller decides what stranding means.
 */
STPM_API int stpm_project_migrate(stpm_db *db, const char *name, int to_version, const char *plan,
                                  bool dry_run, stpm_date today, stpm_migrate_report *report,
                                  stpm_error *err);

/*
 * The project's scheduled checks (中期检查) as of the end of `as_of` (docs/workflows.md,
 * "Scheduled checks"): each outcome recorded by then and each check still open, in the
 * order the workflow declares them. Columns: check, label, due, status (done, scheduled,
 * overdue or missed), outcome (pass, rectify, fail; for done rows), date and by (business
 * date and actor of the event recording it), report and report_sha256 (the documents
 * attached in that event, "KIND FILE" and their SHA-256, "; "-separated), seq (that event)
 * and reason. STPM_ENOTFOUND for an unknown code.
 */
STPM_API int stpm_project_checks(stpm_db *db, const char *code, stpm_date as_of, stpm_rows **out,
                                 stpm_error *err);

#endif

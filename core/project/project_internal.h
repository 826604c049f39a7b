/* Internals of the project lifecycle: the snapshot of one project as the engine sees it,
 * FIELD=VALUE parsing, and the statements shared by single and bulk transitions. */
#ifndef STPM_PROJECT_PROJECT_INTERNAL_H
#define STPM_PROJECT_PROJECT_INTERNAL_H

#include <libpq-fe.h>

#include "stpm/engine.h"
#include "stpm/project.h"
#include "store/db_internal.h"
#include "util/strutil.h"

/* One project as loaded for a transition. */
typedef struct proj_snap {
    char *id, *code, *state, *workflow_id;
    int row_version;
    stpm_date state_since;
    const stpm_workflow *wf;   /* cached on the connection */
    stpm_engine_field *fields; /* every field of the workflow, built-in first */
    size_t n_fields;
    char **documents; /* kinds attached */
    size_t n_documents;
    unsigned roles; /* the connected role's STPM_ROLE_* memberships */
} proj_snap;

/* The columns proj_snap_from_row reads, as a SELECT list over projects p. */
#define PROJ_SNAP_COLUMNS                                                                          \
    "p.id, p.code, p.state, p.row_version, p.state_since, p.workflow_id, p.title, p.year, "        \
    "p.amount_requested, p.amount_approved, p.start_date, p.due_date, p.closed_date, "             \
    "p.extensions, p.fields::text, "                                                               \
    "ARRAY(SELECT DISTINCT d.kind FROM stpm.documents d WHERE d.project_id = p.id)::text, "        \
    "pg_has_role(session_user, 'stpm_officer', 'MEMBER'), "                                        \
    "pg_has_role(session_user, 'stpm_admin', 'MEMBER'), "                                          \
    "pg_has_role(session_user, 'stpm_expert', 'MEMBER')"

/* Set an item's outcome (and message, copied) and count it in r. */
void proj_bulk_outcome(stpm_bulk_report *r, stpm_bulk_item *it, stpm_outcome o, const char *msg);

/*
 * Take rep->items[idx[i]] for i in [0, n) (all of one transition) through the server, a
 * chunk of 500 per call of stpm.project_advance_many; sets, when not NULL, holds each one's
 * own sets as a JSON object (sets[i] for idx[i]). Each project is atomic on its own, and
 * the projects of one organisation are taken in the order given. A bulk of more than one
 * chunk runs on two connections at once (stpm_db_twin), the projects split between them by
 * organisation (the largest organisations first, each to the connection with fewer
 * projects so far), so that the server's second core works too; its locks (070, 097) keep
 * every rule across the two as across two officers. STPM_BULK_LANES=1 in the environment,
 * or no second connection to be had, keeps the bulk on db alone, in the order given.
 * Returns 0, or the first error (the outcomes taken until then stay in rep).
 */
int proj_bulk_many(stpm_db *db, stpm_bulk_report *rep, const size_t *idx, size_t n,
                   char *const *sets, const stpm_advance_options *o, stpm_error *err);

/* Fill a snapshot from row `row` of a result selecting PROJ_SNAP_COLUMNS. */
int proj_snap_from_row(stpm_db *db, PGresult *r, int row, proj_snap *out, stpm_error *err);
/* Load the project `code`; STPM_ENOTFOUND when unknown. */
int proj_snap_load(stpm_db *db, const char *code, proj_snap *out, stpm_error *err);
void proj_snap_clear(proj_snap *s);
/* Replace (or add) the value of a field in the snapshot. */
int proj_snap_put(proj_snap *s, const char *name, const stpm_value *v);

/* Parse "FIELD=VALUE" given with --set for `transition` of wf (NULL: at project creation).
 * The field must exist and be one of the transition's `input:` fields (at creation: a field
 * of the workflow or amount_requested); VALUE of its type, empty for "not set".
 * STPM_EINPUT otherwise, naming the field and the transition's inputs. An unknown
 * transition is left to the decision, which refuses it. */
int proj_parse_set(const stpm_workflow *wf, const char *assign, const char *transition,
                   const stpm_wf_field **field, stpm_value *value, stpm_error *err);

/* Append v as a JSON literal (numbers unquoted, dates and text as strings). */
void proj_json_value(stpm_strbuf *sb, const stpm_value *v);

/* Parse a value of the field type from its text form (as PostgreSQL or JSON gives it). */
int proj_value_from_text(stpm_field_type t, const char *text, stpm_value *out);

/* Attach a file to the project `code`, pinned to workflow wf, through the server (see
 * stpm_project_attach): STPM_EINPUT, listing the declared kinds, when wf does not declare
 * kind. The document's id into doc_id when not NULL. */
int proj_attach_id(stpm_db *db, const stpm_workflow *wf, const char *code, const char *kind,
                   const char *path, stpm_date today, bool *already, char sha256[65],
                   char doc_id[37], stpm_error *err);

/* STPM_EPERM unless the connected role is an officer, admin or expert. */
int proj_require_writer(const proj_snap *s, stpm_error *err);

/*
 * Decide `transition` for the snapshot (its fields already overlaid with the user's
 * sets) in C, for `--dry-run`: run the integrity checks it names (the server's SQL, on
 * this connection), ask the engine, and when allowed apply `set:`. Always fills report;
 * when allowed also *to_state and *changes_json (user_sets — the inner members of a JSON
 * object, possibly empty — followed by the `set:` changes). Returns 0 when allowed,
 * STPM_EREFUSED with every reason in err's detail, or another error.
 */
int proj_decide(stpm_db *db, proj_snap *s, const char *transition, const stpm_advance_options *o,
                const char *user_sets, stpm_transition_report *report, char **to_state,
                char **changes_json, stpm_error *err);

/* A transition taken by the server: stpm.project_advance with its result as rows (see
 * project_advance.c). Parameters: code, transition, today, sets (a JSON object), reason,
 * by_timer, the kinds and file names of documents to attach (text[] literals; none
 * here: with documents, project_advance.c sends their contents too), the state seen. */
extern const char proj_advance_sql[];
#define PROJ_ADVANCE_NPARAMS 9

/* STPM_EINPUT, listing the declared kinds, unless wf declares the document kind. */
int proj_check_kind(const stpm_workflow *wf, const char *kind, stpm_error *err);

/* Fill res (from, to, row_version, changes, event_hash, the report's reasons and checks)
 * from the rows of proj_advance_sql; STPM_EREFUSED with every reason in err's detail
 * when the server refused. */
int proj_advance_outcome(PGresult *r, const char *code, const char *transition,
                         stpm_advance_result *res, stpm_error *err);

/* The filter's WHERE clause over p, pl, o, ws with parameters $1..$9 (see project.c). */
extern const char proj_filter_sql[];
#define PROJ_FILTER_NPARAMS 9
/* Fill the 9 parameters of proj_filter_sql; bufs holds the numbers' text. */
void proj_filter_params(const stpm_project_filter *f, stpm_date today, const char *params[9],
                        char year_buf[16], char today_buf[11]);

/* Copy a transition report's reasons into err's detail, one per line. */
void proj_report_detail(const stpm_transition_report *r, stpm_error *err);

/* The workflow's own fields with a default, as a JSON object (a new project's p_defaults). */
void proj_defaults_json(const stpm_workflow *wf, stpm_strbuf *out);

/* "message. detail" of an error, for one item's outcome line (malloc'd; NULL on OOM). */
char *proj_item_message(const char *message, const char *detail);

/* The stpm_outcome of an item that failed with the STPM_E* code: refused for what is
 * about the item (refused, bad input, not found, usage), conflict, else error. */
int proj_item_outcome(int code);

/* Count an item's outcome in its report's counters (ok, refused, conflict, error). */
void proj_outcome_tally(int outcome, size_t *n_ok, size_t *n_refused, size_t *n_conflict,
                        size_t *n_error);

#endif

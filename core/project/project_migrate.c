/* Migrating live projects to a newer workflow version (DESIGN §5): see stpm/project.h.
 *
 * Every candidate is decided in C against the parsed new version; each movable project is
 * then written by one statement (the pinned version and its 'migrate' event together), so
 * each project is atomic on its own and a stranded or conflicting one stops no other. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "project/project_internal.h"
#include "store/query.h"
#include "store/wf_store_internal.h"

#define WHAT _("cannot migrate projects")

/* Re-pin the project if nobody changed it since it was read, and write its event:
 * stpm.project_migrate_one (migrations/072) returns the event's hash, or NULL when the
 * project changed meanwhile. Parameters: id, row_version, old workflow_id, new workflow_id,
 * today, missing fields (", "-separated or NULL). */
static const char migrate_sql[] =
    "SELECT stpm.project_migrate_one($1::uuid, $2::int, $3::uuid, $4::uuid, $5::date, $6)";

void stpm_migrate_report_clear(stpm_migrate_report *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++) {
        free(r->items[i].code);
        free(r->items[i].state);
        free(r->items[i].message);
        free(r->items[i].missing);
    }
    free(r->items);
    memset(r, 0, sizeof(*r));
}

static stpm_migrate_item *add_item(stpm_migrate_report *r)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 32;
        stpm_migrate_item *grown = realloc(r->items, cap * sizeof(*grown));
        if (!grown)
            return NULL;
        r->items = grown;
        r->cap = cap;
    }
    stpm_migrate_item *it = &r->items[r->n++];
    memset(it, 0, sizeof(*it));
    return it;
}

/* The id of name@version into id[40]; STPM_ENOTFOUND when not stored. */
static int version_id(stpm_db *db, const char *name, int version, char id[40], stpm_error *err)
{
    PGresult *r = NULL;
    char ver[16];
    snprintf(ver, sizeof(ver), "%d", version);
    const char *p[] = {name, ver};
    int rc = stpm_query(db,
                        "SELECT id, (SELECT count(*) FROM stpm.workflows x WHERE x.name = $1) "
                        "FROM stpm.workflows w WHERE w.name = $1 AND w.version = $2::int "
                        "UNION ALL SELECT NULL, count(*) FROM stpm.workflows x WHERE x.name = $1 "
                        "LIMIT 1",
                        2, p, &r, WHAT, err);
    if (rc < 0)
        return rc;
    if (PQgetisnull(r, 0, 0)) {
        if (strcmp(PQgetvalue(r, 0, 1), "0") == 0)
            rc = stpm_error_set(err, STPM_ENOTFOUND, "workflow %s is not stored", name);
        else
            rc = stpm_error_set(err, STPM_ENOTFOUND, "workflow %s version %d is not stored", name,
                                version);
        stpm_error_hint(err, "\"stpm workflow list\" shows the stored workflows; \"stpm "
                             "workflow load FILE\" stores a new version.");
    } else {
        snprintf(id, 40, "%s", PQgetvalue(r, 0, 0));
    }
    PQclear(r);
    return rc;
}

/* The plan must exist and follow the workflow. */
static int check_plan(stpm_db *db, const char *name, const char *plan, stpm_error *err)
{
    PGresult *r = NULL;
    const char *p[] = {plan};
    int rc =
        stpm_query(db, "SELECT workflow_name FROM stpm.plans WHERE code = $1", 1, p, &r, WHAT, err);
    if (rc < 0)
        return rc;
    if (PQntuples(r) == 0) {
        rc = stpm_error_set(err, STPM_ENOTFOUND, "plan %s does not exist", plan);
        stpm_error_hint(err, "\"stpm plan list\" shows the plans.");
    } else if (strcmp(PQgetvalue(r, 0, 0), name) != 0) {
        rc = stpm_error_set(err, STPM_EINPUT, "plan %s follows workflow %s, not %s", plan,
                            PQgetvalue(r, 0, 0), name);
    }
    PQclear(r);
    return rc;
}

/* Why the state strands a project under wf, as a malloc'd message; NULL when it can move
 * (or *oom when out of memory). */
static char *stranded_by(const stpm_workflow *wf, const char *state, bool *oom)
{
    char *msg = NULL;
    const stpm_wf_state *s = stpm_workflow_find_state(wf, state);
    if (!s) {
        msg = stpm_asprintf(_("state %s does not exist in version %d"), state,
                            stpm_workflow_version(wf));
    } else if (!s->final) {
        bool leaves = false;
        for (size_t i = 0; !leaves && i < stpm_workflow_n_transitions(wf); i++)
            leaves = stpm_wf_transition_leaves(stpm_workflow_transition(wf, i), state);
        if (!leaves)
            msg = stpm_asprintf(_("state %s has no transition out in version %d"), state,
                                stpm_workflow_version(wf));
        else
            return NULL;
    } else {
        return NULL;
    }
    if (!msg)
        *oom = true;
    return msg;
}

/* The fields wf requires in state (`required_in`) that the snapshot has not set, as a
 * malloc'd ", "-separated list, or NULL when none (*oom when out of memory). */
static char *missing_fields(const stpm_workflow *wf, const proj_snap *s, bool *oom)
{
    stpm_strbuf sb = STPM_STRBUF_INIT;
    for (size_t i = 0; i < stpm_workflow_n_fields(wf); i++) {
        const stpm_wf_field *f = stpm_workflow_field(wf, i);
        bool required = false;
        for (size_t j = 0; !required && j < f->n_required_in; j++)
            required = strcmp(f->required_in[j], s->state) == 0;
        if (!required)
            continue;
        bool set = !f->builtin && f->has_default;
        for (size_t j = 0; j < s->n_fields; j++)
            if (strcmp(s->fields[j].name, f->name) == 0) {
                set = s->fields[j].value.type != STPM_TYPE_NULL;
                break;
            }
        if (set)
            continue;
        if (sb.len)
            stpm_strbuf_puts(&sb, ", ");
        stpm_strbuf_puts(&sb, f->name);
    }
    if (sb.oom)
        *oom = true;
    return sb.len && !sb.oom ? stpm_strbuf_detach(&sb) : (stpm_strbuf_free(&sb), NULL);
}

/* Write one movable project. 0 moved, STPM_ECONFLICT changed meanwhile, or an error. */
static int move_one(stpm_db *db, const proj_snap *s, const char *new_id, const char *missing,
                    stpm_date today, stpm_error *err)
{
    PGresult *r = NULL;
    char rv[16], day[11];
    snprintf(rv, sizeof(rv), "%d", s->row_version);
    const char *p[] = {s->id, rv, s->workflow_id, new_id, stpm_date_format(today, day), missing};
    int rc = stpm_query_call(db, migrate_sql, 6, p, &r, WHAT, err);
    if (rc < 0)
        return rc;
    if (PQgetisnull(r, 0, 0)) {
        rc = stpm_error_set(err, STPM_ECONFLICT, "project %s changed while it was migrated",
                            s->code);
        stpm_error_detail(err, "It was in state %s at row version %d; another change came first.",
                          s->state, s->row_version);
    }
    PQclear(r);
    return rc;
}

int stpm_project_migrate(stpm_db *db, const char *name, int to_version, const char *plan,
                         bool dry_run, stpm_date today, stpm_migrate_report *report,
                         stpm_error *err)
{
    PGresult *r = NULL;
    const stpm_workflow *wf = NULL;
    char new_id[40] = "";
    char ver[16];
    int rc = 0;
    stpm_migrate_report_clear(report);
    if (to_version <= 0)
        return stpm_error_set(err, STPM_EUSAGE, "invalid workflow version %d", to_version);
    if ((rc = stpm_query_require_admin(
             db, WHAT,
             _("Only an administrator (stpm_admin) may move projects to another workflow version."),
             err)) < 0)
        goto out;
    if ((rc = version_id(db, name, to_version, new_id, err)) < 0)
        goto out;
    if (plan && (rc = check_plan(db, name, plan, err)) < 0)
        goto out;
    if ((rc = stpm_wfstore_by_id(db, new_id, &wf, err)) < 0)
        goto out;
    snprintf(ver, sizeof(ver), "%d", to_version);
    const char *p[] = {name, ver, plan};
    rc = stpm_query(db,
                    "SELECT " PROJ_SNAP_COLUMNS ", w.version FROM stpm.projects p"
                    " JOIN stpm.workflows w ON w.id = p.workflow_id"
                    " JOIN stpm.plans pl ON pl.id = p.plan_id"
                    " WHERE w.name = $1 AND w.version < $2::int"
                    "   AND ($3::text IS NULL OR pl.code = $3) ORDER BY p.code",
                    3, p, &r, WHAT, err);
    if (rc < 0)
        goto out;
    int vcol = PQnfields(r) - 1;
    for (int i = 0; i < PQntuples(r); i++) {
        proj_snap s;
        if ((rc = proj_snap_from_row(db, r, i, &s, err)) < 0) {
            proj_snap_clear(&s);
            goto out;
        }
        stpm_migrate_item *it = add_item(report);
        bool oom = !it;
        if (it) {
            it->code = stpm_strdup(s.code);
            it->state = stpm_strdup(s.state);
            it->from_version = atoi(PQgetvalue(r, i, vcol));
            it->message = stranded_by(wf, s.state, &oom);
            it->missing = missing_fields(wf, &s, &oom);
            oom = oom || !it->code || !it->state;
        }
        if (oom) {
            proj_snap_clear(&s);
            rc = stpm_error_set(err, STPM_ERROR, "out of memory");
            goto out;
        }
        if (it->message) {
            it->outcome = STPM_OUTCOME_REFUSED;
            report->n_stranded++;
        } else if (dry_run) {
            it->outcome = STPM_OUTCOME_OK;
            report->n_moved++;
        } else {
            stpm_error one = STPM_ERROR_INIT;
            int w = move_one(db, &s, new_id, it->missing, today, &one);
            if (w == 0) {
                it->outcome = STPM_OUTCOME_OK;
                report->n_moved++;
            } else {
                it->outcome = w == STPM_ECONFLICT ? STPM_OUTCOME_CONFLICT : STPM_OUTCOME_ERROR;
                it->message = stpm_strdup(one.message ? one.message : "failed");
                if (w == STPM_ECONFLICT)
                    report->n_conflict++;
                else
                    report->n_error++;
            }
            stpm_error_clear(&one);
            if (w == STPM_EUNAVAIL) { /* the connection is gone: the others cannot move either */
                proj_snap_clear(&s);
                rc = stpm_error_set(err, STPM_EUNAVAIL, "%s: the database connection was lost",
                                    WHAT);
                goto out;
            }
        }
        proj_snap_clear(&s);
    }
    rc = 0;
out:
    PQclear(r);
    return rc;
}

/* Many projects at once: project advance --where, and stpm tick (see stpm/project.h).
 *
 * The projects are selected in one query; the server decides and writes them, a chunk of
 * projects per call (bulk_chunks.c), so that 10,000 projects cost a few dozen round trips
 * and commits, not 10,000. A dry run is decided in C and writes nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "project/project_internal.h"
#include "project/px.h"
#include "store/query.h"
#include "store/wf_store_internal.h"

const char *stpm_outcome_name(stpm_outcome o)
{
    switch (o) {
    case STPM_OUTCOME_OK:
        return "ok";
    case STPM_OUTCOME_REFUSED:
        return "refused";
    case STPM_OUTCOME_CONFLICT:
        return "conflict";
    case STPM_OUTCOME_ERROR:
        return "error";
    }
    return "error";
}

void stpm_bulk_report_clear(stpm_bulk_report *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++) {
        free(r->items[i].code);
        free(r->items[i].transition);
        free(r->items[i].from);
        free(r->items[i].to);
        free(r->items[i].message);
    }
    free(r->items);
    memset(r, 0, sizeof(*r));
}

static stpm_bulk_item *add_item(stpm_bulk_report *r, const char *code, const char *state,
                                const char *transition)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 64;
        stpm_bulk_item *grown = realloc(r->items, cap * sizeof(*grown));
        if (!grown)
            return NULL;
        r->items = grown;
        r->cap = cap;
    }
    stpm_bulk_item *it = &r->items[r->n++];
    memset(it, 0, sizeof(*it));
    it->code = stpm_strdup(code);
    it->transition = stpm_strdup(transition);
    it->from = state ? stpm_strdup(state) : NULL;
    return it;
}

void proj_bulk_outcome(stpm_bulk_report *r, stpm_bulk_item *it, stpm_outcome o, const char *msg)
{
    it->outcome = o;
    free(it->message);
    it->message = msg ? stpm_strdup(msg) : NULL;
    proj_outcome_tally(o, &r->n_ok, &r->n_refused, &r->n_conflict, &r->n_error);
}

/* Decide (dry run: in C, nothing written) or take transitions[i] for each snapshot. */
static int run_many(stpm_db *db, proj_snap *snaps, const char *const *transitions, size_t n,
                    const stpm_advance_options *o, stpm_bulk_report *rep, stpm_error *err)
{
    size_t *idx = calloc(n + 1, sizeof(*idx));
    bool *sent = calloc(n + 1, sizeof(*sent));
    int rc = 0;
    if (!idx || !sent) {
        rc = stpm_error_set(err, STPM_ERROR, "out of memory");
        goto cleanup;
    }
    /* Reserve every item first so that pointers into rep->items stay valid. */
    for (size_t i = 0; i < n; i++) {
        if (!add_item(rep, snaps[i].code, snaps[i].state, transitions[i])) {
            rc = stpm_error_set(err, STPM_ERROR, "out of memory");
            goto cleanup;
        }
    }
    size_t base = rep->n - n;
    if (o->dry_run) {
        for (size_t i = 0; i < n; i++) {
            stpm_bulk_item *it = &rep->items[base + i];
            stpm_transition_report tr = {0};
            stpm_error e = STPM_ERROR_INIT;
            char *to = NULL, *changes = NULL;
            int r = proj_decide(db, &snaps[i], transitions[i], o, NULL, &tr, &to, &changes, &e);
            if (r == STPM_EREFUSED)
                proj_bulk_outcome(rep, it, STPM_OUTCOME_REFUSED, e.detail ? e.detail : e.message);
            else if (r < 0)
                proj_bulk_outcome(rep, it,
                                  r == STPM_ECONFLICT ? STPM_OUTCOME_CONFLICT : STPM_OUTCOME_ERROR,
                                  e.message);
            else {
                it->to = stpm_strdup(to);
                proj_bulk_outcome(rep, it, STPM_OUTCOME_OK, _("dry run: allowed, nothing written"));
            }
            free(to);
            free(changes);
            stpm_transition_report_clear(&tr);
            stpm_error_clear(&e);
            if (PQstatus(db->conn) == CONNECTION_BAD) {
                rc = stpm_pg_error(err, db->conn, NULL, "cannot advance projects");
                goto cleanup;
            }
        }
        goto cleanup;
    }
    /* One transition at a time (tick fires several), in chunks, in the order given. */
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (sent[i])
            continue;
        size_t m = 0;
        for (size_t j = i; j < n; j++) {
            if (!sent[j] && strcmp(transitions[j], transitions[i]) == 0) {
                idx[m++] = base + j;
                sent[j] = true;
            }
        }
        rc = proj_bulk_many(db, rep, idx, m, NULL, o, err);
    }
cleanup:
    free(idx);
    free(sent);
    return rc;
}

static void snaps_free(proj_snap *snaps, size_t n)
{
    for (size_t i = 0; snaps && i < n; i++)
        proj_snap_clear(&snaps[i]);
    free(snaps);
}

/* Load the snapshots of a result selecting PROJ_SNAP_COLUMNS. */
static int load_snaps(stpm_db *db, PGresult *r, proj_snap **out, stpm_error *err)
{
    size_t n = (size_t)PQntuples(r);
    proj_snap *snaps = calloc(n + 1, sizeof(*snaps));
    if (!snaps)
        return stpm_error_set(err, STPM_ERROR, "out of memory");
    for (size_t i = 0; i < n; i++) {
        int rc = proj_snap_from_row(db, r, (int)i, &snaps[i], err);
        if (rc < 0) {
            snaps_free(snaps, i);
            return rc;
        }
    }
    *out = snaps;
    return 0;
}

int stpm_project_advance_where(stpm_db *db, const stpm_project_filter *f, const char *transition,
                               const stpm_advance_options *o, stpm_bulk_report *report,
                               stpm_error *err)
{
    if (o->n_sets || o->n_attachments)
        return stpm_error_set(err, STPM_EUSAGE,
                              "--set and --attach apply to one project, not to --where");
    const char *params[PROJ_FILTER_NPARAMS];
    char ybuf[16], tbuf[11];
    proj_filter_params(f, o->today, params, ybuf, tbuf);
    stpm_strbuf sql = STPM_STRBUF_INIT;
    stpm_strbuf_puts(&sql, "SELECT " PROJ_SNAP_COLUMNS);
    stpm_strbuf_puts(&sql, proj_filter_sql);
    stpm_strbuf_puts(&sql, " ORDER BY p.code");
    proj_snap *snaps = NULL;
    const char **trs = NULL;
    size_t n = 0;
    int rc = 0;
    PGresult *r = stpm_px_exec(db, stpm_strbuf_str(&sql), PROJ_FILTER_NPARAMS, params,
                               PGRES_TUPLES_OK, "cannot select projects", &rc, err);
    stpm_strbuf_free(&sql);
    if (!r)
        return rc;
    n = (size_t)PQntuples(r);
    if ((rc = load_snaps(db, r, &snaps, err)) < 0)
        goto out;
    if (n && (rc = proj_require_writer(&snaps[0], err)) < 0)
        goto out;
    /* a standby refuses each write: say so once, before trying any */
    if (n && !o->dry_run && db->standby) {
        rc = stpm_pg_standby_error(err, "cannot advance the projects");
        goto out;
    }
    trs = calloc(n + 1, sizeof(*trs));
    if (!trs) {
        rc = stpm_error_set(err, STPM_ERROR, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        trs[i] = transition;
    rc = run_many(db, snaps, trs, n, o, report, err);
out:
    PQclear(r);
    free(trs);
    snaps_free(snaps, rc < 0 && !snaps ? 0 : n);
    return rc;
}

int stpm_project_tick(stpm_db *db, const stpm_advance_options *opts, stpm_bulk_report *report,
                      stpm_error *err)
{
    stpm_advance_options o = *opts;
    o.by_timer = true;
    char tbuf[11];
    const char *params[] = {stpm_date_format(o.today, tbuf)};
    proj_snap *snaps = NULL, *due = NULL;
    const char **trs = NULL;
    const stpm_calendar *cal = NULL;
    size_t n = 0, nd = 0;
    int rc = 0;
    /* A necessary condition in SQL (n working days are at least n days), exact in C. */
    PGresult *r = stpm_px_exec(
        db,
        "SELECT " PROJ_SNAP_COLUMNS " FROM stpm.projects p JOIN stpm.workflow_states ws"
        "   ON ws.workflow_id = p.workflow_id AND ws.name = p.state"
        " WHERE ws.timeout_n IS NOT NULL AND p.state_since + CASE ws.timeout_unit"
        "   WHEN 'mo' THEN make_interval(months => ws.timeout_n)"
        "   WHEN 'y' THEN make_interval(years => ws.timeout_n)"
        "   ELSE make_interval(days => ws.timeout_n) END <= $1::date"
        " ORDER BY p.code",
        1, params, PGRES_TUPLES_OK, "cannot find due timers", &rc, err);
    if (!r)
        return rc;
    n = (size_t)PQntuples(r);
    if ((rc = load_snaps(db, r, &snaps, err)) < 0) {
        n = 0;
        goto out;
    }
    if (n && (rc = proj_require_writer(&snaps[0], err)) < 0)
        goto out;
    if (n && !opts->dry_run && db->standby) { /* a standby refuses each write */
        rc = stpm_pg_standby_error(err, "cannot fire the timers");
        goto out;
    }
    if ((rc = stpm_store_calendar(db, &cal, err)) < 0)
        goto out;
    due = calloc(n + 1, sizeof(*due));
    trs = calloc(n + 1, sizeof(*trs));
    if (!due || !trs) {
        rc = stpm_error_set(err, STPM_ERROR, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        stpm_date fire_on = 0;
        const stpm_wf_transition *t = NULL;
        rc = stpm_engine_timer(snaps[i].wf, snaps[i].state, snaps[i].state_since, cal, &fire_on, &t,
                               err);
        if (rc < 0)
            goto out;
        if (rc == 1 && o.today >= fire_on) {
            const stpm_wf_state *st = stpm_workflow_find_state(snaps[i].wf, snaps[i].state);
            if (st && st->timeout_after.unit == STPM_DUR_WORKDAYS)
                stpm_calendar_warnings_add(&report->warnings, cal, snaps[i].state_since, fire_on);
            trs[nd] = t->name;
            due[nd++] = snaps[i];
            memset(&snaps[i], 0, sizeof(snaps[i])); /* moved */
        }
        rc = 0;
    }
    rc = run_many(db, due, trs, nd, &o, report, err);
out:
    PQclear(r);
    free(trs);
    snaps_free(due, nd);
    snaps_free(snaps, n);
    return rc;
}

/* "FIELD=VALUE" assignments as a JSON object of strings (an empty value: null); the server
 * reads each string as its field's type. */
static int sets_json(const stpm_advance_item *it, char **out, stpm_error *err)
{
    stpm_strbuf sb = STPM_STRBUF_INIT;
    int rc = 0;
    stpm_strbuf_putc(&sb, '{');
    for (size_t k = 0; k < it->n_sets; k++) {
        const char *a = it->sets[k], *eq = strchr(a, '=');
        if (!eq || eq == a) {
            rc = stpm_error_set(err, STPM_EINPUT,
                                "invalid assignment \"%s\" for project %s: expected FIELD=VALUE", a,
                                it->code);
            goto cleanup;
        }
        char *name = stpm_strndup(a, (size_t)(eq - a));
        if (k)
            stpm_strbuf_putc(&sb, ',');
        stpm_px_json_string(&sb, name ? name : "");
        stpm_strbuf_putc(&sb, ':');
        stpm_px_json_string(&sb, eq[1] ? eq + 1 : NULL);
        free(name);
    }
    stpm_strbuf_putc(&sb, '}');
    if (sb.oom) {
        rc = stpm_error_set(err, STPM_ERROR, "out of memory");
        goto cleanup;
    }
    *out = stpm_strbuf_detach(&sb);
cleanup:
    stpm_strbuf_free(&sb);
    return rc;
}

int stpm_project_advance_each(stpm_db *db, const stpm_advance_item *items, size_t n,
                              const char *transition, const stpm_advance_options *o,
                              stpm_bulk_report *report, stpm_error *err)
{
    char **sets = NULL;
    size_t *idx = NULL, base = report->n;
    int rc = 0;
    if (o->n_sets || o->n_attachments || o->dry_run)
        return stpm_error_set(err, STPM_EUSAGE,
                              "each project's own sets only: no common --set, --attach or "
                              "--dry-run here");
    sets = calloc(n + 1, sizeof(*sets));
    idx = calloc(n + 1, sizeof(*idx));
    if (!sets || !idx) {
        rc = stpm_error_set(err, STPM_ERROR, "out of memory");
        goto cleanup;
    }
    for (size_t i = 0; i < n; i++)
        if ((rc = sets_json(&items[i], &sets[i], err)) < 0)
            goto cleanup;
    for (size_t i = 0; i < n; i++) {
        if (!add_item(report, items[i].code, NULL, transition)) {
            rc = stpm_error_set(err, STPM_ERROR, "out of memory");
            goto cleanup;
        }
        idx[i] = base + i;
    }
    rc = proj_bulk_many(db, report, idx, n, sets, o, err);
cleanup:
    for (size_t i = 0; sets && i < n; i++)
        free(sets[i]);
    free(sets);
    free(idx);
    return rc;
}

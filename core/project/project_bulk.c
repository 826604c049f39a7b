/* Many projects at once: project advance --where, and stpm tick (see stpm/project.h).
 *
 * Every project is decided in C from one query that loads them all; the writes — one
 * statement each, so each project is atomic on its own — are sent in pipeline mode,
 * a chunk at a time, so that 10,000 projects cost a few dozen round trips, not 10,000. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "project/project_internal.h"
#include "project/px.h"
#include "store/query.h"
#include "store/wf_store_internal.h"

/* Writes sent before their results are read: small enough that neither side's socket
 * buffer fills while the other is not reading. */
#define PIPELINE_CHUNK 200

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

static stpm_bulk_item *add_item(stpm_bulk_report *r, const proj_snap *s, const char *transition)
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
    it->code = stpm_strdup(s->code);
    it->transition = stpm_strdup(transition);
    it->from = stpm_strdup(s->state);
    return it;
}

static void set_outcome(stpm_bulk_report *r, stpm_bulk_item *it, stpm_outcome o, const char *msg)
{
    it->outcome = o;
    free(it->message);
    it->message = msg ? stpm_strdup(msg) : NULL;
    if (o == STPM_OUTCOME_OK)
        r->n_ok++;
    else if (o == STPM_OUTCOME_REFUSED)
        r->n_refused++;
    else if (o == STPM_OUTCOME_CONFLICT)
        r->n_conflict++;
    else
        r->n_error++;
}

/* A decided write waiting to be sent. */
typedef struct pending {
    stpm_bulk_item *item; /* index into the report is stable: items are not reallocated */
    size_t item_index;
    char *params[PROJ_WRITE_NPARAMS];
} pending;

static void pending_clear(pending *p)
{
    for (int i = 0; i < PROJ_WRITE_NPARAMS; i++)
        free(p->params[i]);
}

/* Send writes [from, to) in the pipeline and read their outcomes. */
static int flush_chunk(stpm_db *db, pending *w, size_t from, size_t to, stpm_bulk_report *rep,
                       stpm_error *err)
{
    PGconn *c = db->conn;
    for (size_t i = from; i < to; i++) {
        if (!PQsendQueryPrepared(c, "stpm_bulk_write", PROJ_WRITE_NPARAMS,
                                 (const char *const *)w[i].params, NULL, NULL, 0) ||
            !PQpipelineSync(c))
            return stpm_pg_error(err, c, NULL, "cannot advance projects");
    }
    for (size_t i = from; i < to; i++) {
        stpm_bulk_item *it = &rep->items[w[i].item_index];
        PGresult *r;
        bool done = false;
        while ((r = PQgetResult(c)) != NULL) {
            ExecStatusType st = PQresultStatus(r);
            if (!done && st == PGRES_TUPLES_OK) {
                if (PQntuples(r) == 1) {
                    set_outcome(rep, it, STPM_OUTCOME_OK, NULL);
                } else {
                    set_outcome(rep, it, STPM_OUTCOME_CONFLICT,
                                "the project changed while the transition was decided");
                    free(it->to);
                    it->to = NULL;
                }
                done = true;
            } else if (!done && st != PGRES_PIPELINE_ABORTED) {
                stpm_error e = STPM_ERROR_INIT;
                int code = stpm_pg_error(&e, c, r, NULL);
                set_outcome(rep, it,
                            code == STPM_ECONFLICT ? STPM_OUTCOME_CONFLICT : STPM_OUTCOME_ERROR,
                            e.message);
                free(it->to);
                it->to = NULL;
                stpm_error_clear(&e);
                done = true;
            }
            PQclear(r);
        }
        /* The sync that ends this project's implicit transaction. */
        r = PQgetResult(c);
        if (PQresultStatus(r) != PGRES_PIPELINE_SYNC) {
            int code = stpm_pg_error(err, c, r, "cannot advance projects");
            PQclear(r);
            return code;
        }
        PQclear(r);
    }
    return 0;
}

static int send_writes(stpm_db *db, pending *w, size_t n, stpm_bulk_report *rep, stpm_error *err)
{
    PGconn *c = db->conn;
    int rc = 0;
    if (n == 0)
        return 0;
    if (!PQenterPipelineMode(c))
        return stpm_pg_error(err, c, NULL, "cannot advance projects");
    if (!PQsendPrepare(c, "stpm_bulk_write", proj_write_sql, PROJ_WRITE_NPARAMS, NULL) ||
        !PQpipelineSync(c)) {
        rc = stpm_pg_error(err, c, NULL, "cannot advance projects");
        goto out;
    }
    PGresult *r = PQgetResult(c);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        rc = stpm_pg_error(err, c, r, "cannot advance projects");
        PQclear(r);
        goto out;
    }
    PQclear(r);
    while ((r = PQgetResult(c)) != NULL) /* end of the prepare's results */
        PQclear(r);
    r = PQgetResult(c); /* its sync */
    PQclear(r);
    for (size_t i = 0; i < n && rc == 0; i += PIPELINE_CHUNK)
        rc = flush_chunk(db, w, i, i + PIPELINE_CHUNK < n ? i + PIPELINE_CHUNK : n, rep, err);
out:
    PQexitPipelineMode(c);
    r = PQexec(c, "DEALLOCATE stpm_bulk_write");
    PQclear(r);
    return rc;
}

/* The writes of many projects in one statement: each project's row and event go together
 * (an event is inserted only for a row updated at its expected row version), so each
 * project stays atomic; the statement answers with the ids written. Parameters are
 * arrays in the order of proj_write_sql's, today last. */
static const char batch_write_sql[] =
    "WITH i AS (SELECT * FROM unnest($1::uuid[], $2::int[], $3::text[], $4::jsonb[], $5::text[],"
    "   $6::text[], $7::text[], $8::jsonb[])"
    "   AS i(id, rv, to_state, changes, transition, from_state, reason, data)),"
    " u AS (UPDATE stpm.projects p SET state = i.to_state, state_since = $9::date,"
    "   amount_requested = CASE WHEN i.changes ? 'amount_requested'"
    "     THEN (i.changes->>'amount_requested')::numeric ELSE p.amount_requested END,"
    "   amount_approved = CASE WHEN i.changes ? 'amount_approved'"
    "     THEN (i.changes->>'amount_approved')::numeric ELSE p.amount_approved END,"
    "   start_date = CASE WHEN i.changes ? 'start_date'"
    "     THEN (i.changes->>'start_date')::date ELSE p.start_date END,"
    "   due_date = CASE WHEN i.changes ? 'due_date'"
    "     THEN (i.changes->>'due_date')::date ELSE p.due_date END,"
    "   closed_date = CASE WHEN i.changes ? 'closed_date'"
    "     THEN (i.changes->>'closed_date')::date ELSE p.closed_date END,"
    "   extensions = CASE WHEN i.changes ? 'extensions'"
    "     THEN coalesce((i.changes->>'extensions')::int, 0) ELSE p.extensions END,"
    "   fields = jsonb_strip_nulls(p.fields || (i.changes - '{amount_requested,amount_approved,"
    "start_date,due_date,closed_date,extensions}'::text[])),"
    "   row_version = p.row_version + 1, updated_at = now()"
    "   FROM i WHERE p.id = i.id AND p.row_version = i.rv RETURNING p.id)"
    " INSERT INTO stpm.events (chain, project_id, on_date, kind, transition, from_state, to_state,"
    "   reason, data)"
    " SELECT 'project:' || u.id, u.id, $9::date, 'transition', i.transition, i.from_state,"
    "   i.to_state, i.reason, i.data FROM u JOIN i ON i.id = u.id"
    " RETURNING project_id::text";

/* Projects per batch statement. */
#define BATCH_SIZE 1000

/* Append one element to a PostgreSQL array literal being built. */
static void array_put(stpm_strbuf *sb, const char *v, bool first)
{
    if (!first)
        stpm_strbuf_putc(sb, ',');
    if (!v) {
        stpm_strbuf_puts(sb, "NULL");
        return;
    }
    stpm_strbuf_putc(sb, '"');
    for (const char *c = v; *c; c++) {
        if (*c == '"' || *c == '\\')
            stpm_strbuf_putc(sb, '\\');
        stpm_strbuf_putc(sb, *c);
    }
    stpm_strbuf_putc(sb, '"');
}

/* Write [from, to) in one statement. 1 when the statement failed as a whole (the caller
 * falls back to one statement per project), 0 when done, negative on a lost connection. */
static int batch_chunk(stpm_db *db, pending *w, size_t from, size_t to, const char *today,
                       stpm_bulk_report *rep, stpm_error *err)
{
    /* Parameter k of each write goes into array k (today, parameter 3, is shared). */
    static const int cols[8] = {0, 1, 2, 4, 5, 6, 7, 8};
    stpm_strbuf arr[8];
    int rc = 0;
    for (int k = 0; k < 8; k++) {
        stpm_strbuf init = STPM_STRBUF_INIT;
        arr[k] = init;
        stpm_strbuf_putc(&arr[k], '{');
        for (size_t i = from; i < to; i++)
            array_put(&arr[k], w[i].params[cols[k]], i == from);
        stpm_strbuf_putc(&arr[k], '}');
        if (arr[k].oom)
            rc = stpm_error_set(err, STPM_ERROR, "out of memory");
    }
    PGresult *r = NULL;
    if (rc == 0) {
        const char *p[9];
        for (int k = 0; k < 8; k++)
            p[k] = stpm_strbuf_str(&arr[k]);
        p[8] = today;
        r = PQexecParams(db->conn, batch_write_sql, 9, NULL, p, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_TUPLES_OK) {
            rc = PQstatus(db->conn) == CONNECTION_BAD
                     ? stpm_pg_error(err, db->conn, r, "cannot advance projects")
                     : 1;
        } else {
            /* Mark the written ones; the others changed meanwhile. */
            int n = PQntuples(r);
            for (size_t i = from; i < to; i++) {
                stpm_bulk_item *it = &rep->items[w[i].item_index];
                bool written = false;
                for (int j = 0; j < n && !written; j++)
                    written = strcmp(PQgetvalue(r, j, 0), w[i].params[0]) == 0;
                if (written) {
                    set_outcome(rep, it, STPM_OUTCOME_OK, NULL);
                } else {
                    set_outcome(rep, it, STPM_OUTCOME_CONFLICT,
                                "the project changed while the transition was decided");
                    free(it->to);
                    it->to = NULL;
                }
            }
        }
    }
    PQclear(r);
    for (int k = 0; k < 8; k++)
        stpm_strbuf_free(&arr[k]);
    return rc;
}

/* Decide transitions[i] for each snapshot and write the allowed ones. */
static int run_many(stpm_db *db, proj_snap *snaps, const char *const *transitions, size_t n,
                    const stpm_advance_options *o, stpm_bulk_report *rep, stpm_error *err)
{
    pending *w = calloc(n + 1, sizeof(*w));
    size_t nw = 0;
    int rc = 0;
    if (!w)
        return stpm_error_set(err, STPM_ERROR, "out of memory");
    /* Reserve every item first so that pointers into rep->items stay valid. */
    for (size_t i = 0; i < n; i++) {
        if (!add_item(rep, &snaps[i], transitions[i])) {
            rc = stpm_error_set(err, STPM_ERROR, "out of memory");
            goto out;
        }
    }
    size_t base = rep->n - n;
    for (size_t i = 0; i < n; i++) {
        stpm_bulk_item *it = &rep->items[base + i];
        proj_snap *s = &snaps[i];
        stpm_transition_report tr = {0};
        stpm_error e = STPM_ERROR_INIT;
        char *to = NULL, *changes = NULL, *data = NULL;
        int r = proj_decide(db, s, transitions[i], o, NULL, NULL, &tr, &to, &changes, &data, &e);
        if (r == STPM_EREFUSED) {
            set_outcome(rep, it, STPM_OUTCOME_REFUSED, e.detail ? e.detail : e.message);
        } else if (r < 0) {
            set_outcome(rep, it, r == STPM_ECONFLICT ? STPM_OUTCOME_CONFLICT : STPM_OUTCOME_ERROR,
                        e.message);
        } else {
            it->to = stpm_strdup(to);
            if (o->dry_run) {
                set_outcome(rep, it, STPM_OUTCOME_OK, "dry run: allowed, nothing written");
            } else {
                char ver[16], today[11];
                snprintf(ver, sizeof(ver), "%d", s->row_version);
                pending *p = &w[nw++];
                p->item_index = base + i;
                const char *vals[PROJ_WRITE_NPARAMS] = {
                    s->id,    ver,
                    to,       stpm_date_format(o->today, today),
                    changes,  transitions[i],
                    s->state, o->reason && *o->reason ? o->reason : NULL,
                    data};
                for (int k = 0; k < PROJ_WRITE_NPARAMS; k++)
                    p->params[k] = vals[k] ? stpm_strdup(vals[k]) : NULL;
            }
        }
        free(to);
        free(changes);
        free(data);
        stpm_transition_report_clear(&tr);
        stpm_error_clear(&e);
        /* A lost connection ends the run: the rest cannot be decided either. */
        if (PQstatus(db->conn) == CONNECTION_BAD) {
            rc = stpm_pg_error(err, db->conn, NULL, "cannot advance projects");
            goto out;
        }
    }
    /* In batches; a batch that fails as a whole is written one project at a time. */
    char today[11];
    stpm_date_format(o->today, today);
    for (size_t i = 0; i < nw && rc >= 0; i += BATCH_SIZE) {
        size_t end = i + BATCH_SIZE < nw ? i + BATCH_SIZE : nw;
        rc = batch_chunk(db, w, i, end, today, rep, err);
        if (rc == 1)
            rc = send_writes(db, w + i, end - i, rep, err);
    }
out:
    for (size_t i = 0; i < nw; i++)
        pending_clear(&w[i]);
    free(w);
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

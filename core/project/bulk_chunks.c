/* A bulk's chunks: one call of stpm.project_advance_many per chunk, on one connection or,
 * for a bulk of several chunks, on two at once (see proj_bulk_many in project_internal.h). */
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <pthread.h>

#include "project/project_internal.h"
#include "store/query.h"

/* Many transitions through the server in one call per chunk (stpm.project_advance_many,
 * migrations/070_rules.sql and 097_bulk_sets.sql): each project is atomic on its own, the
 * later ones see the earlier ones (a leader's limit counts the projects admitted a moment
 * before in the same run), and a chunk costs one round trip and one commit. The server
 * writes the plainly allowed projects of a chunk as one set and takes the others one by
 * one; the answers are the same either way.
 * Rows: code, allowed, to, the error's SQLSTATE, message and detail, the blocks as
 * "kind: message" lines. */
static const char many_sql[] =
    "SELECT j->>'code', j->>'allowed', j->>'to', j#>>'{error,sqlstate}', j#>>'{error,message}',"
    " j#>>'{error,detail}',"
    " (SELECT string_agg((b->>'kind') || ': ' || (b->>'message'), E'\\n' ORDER BY n)"
    "   FROM jsonb_array_elements(j->'blocks') WITH ORDINALITY x(b, n)), j->>'from'"
    " FROM stpm.project_advance_many($1::text[], $2, $3::date, coalesce($6::jsonb, '{}'), $4,"
    "   $5::boolean) WITH ORDINALITY m(j, n) ORDER BY m.n";

/* Projects per call: a chunk holds its leaders' locks until it commits, so it stays short. */
#define MANY_CHUNK 500
/* How often a chunk is retried after a serialisation failure or deadlock. */
#define MANY_TRIES 4

/* The outcome of one project from a row of many_sql. */
static void take_row(stpm_bulk_report *rep, stpm_bulk_item *it, PGresult *r, int row)
{
    free(it->to);
    it->to = NULL;
    if (!it->from && !PQgetisnull(r, row, 7))
        it->from = stpm_strdup(PQgetvalue(r, row, 7));
    if (!PQgetisnull(r, row, 3)) {
        int code = stpm_pg_sqlstate_code(PQgetvalue(r, row, 3));
        proj_bulk_outcome(rep, it,
                          code == STPM_ECONFLICT  ? STPM_OUTCOME_CONFLICT
                          : code == STPM_EREFUSED ? STPM_OUTCOME_REFUSED
                                                  : STPM_OUTCOME_ERROR,
                          PQgetisnull(r, row, 5) ? PQgetvalue(r, row, 4) : PQgetvalue(r, row, 5));
        return;
    }
    if (strcmp(PQgetvalue(r, row, 1), "true") == 0) {
        it->to = stpm_strdup(PQgetvalue(r, row, 2));
        proj_bulk_outcome(rep, it, STPM_OUTCOME_OK, NULL);
    } else {
        proj_bulk_outcome(rep, it, STPM_OUTCOME_REFUSED,
                          PQgetisnull(r, row, 6) ? "refused" : PQgetvalue(r, row, 6));
    }
}

/* Send items idx[from..to) of rep (all of one transition) in one call; sets, when not NULL,
 * holds each one's own sets as a JSON object (sets[i] for idx[i]). */
static int many_chunk(stpm_db *db, stpm_bulk_report *rep, const size_t *idx, size_t from, size_t to,
                      char *const *sets, const stpm_advance_options *o, stpm_error *err)
{
    stpm_strbuf codes = STPM_STRBUF_INIT, each = STPM_STRBUF_INIT;
    PGresult *r = NULL;
    char today[11];
    int rc = 0;
    for (size_t i = from; i < to; i++) {
        stpm_strbuf_array_item(&codes, rep->items[idx[i]].code);
        if (sets)
            stpm_strbuf_printf(&each, "%s%s", i == from ? "[" : ",", sets[i] ? sets[i] : "{}");
    }
    stpm_strbuf_array_end(&codes);
    if (sets)
        stpm_strbuf_putc(&each, ']');
    if (codes.oom || each.oom) {
        rc = stpm_error_set(err, STPM_ERROR, "out of memory");
        goto cleanup;
    }
    const char *p[] = {stpm_strbuf_str(&codes),           rep->items[idx[from]].transition,
                       stpm_date_format(o->today, today), o->reason,
                       o->by_timer ? "true" : "false",    sets ? stpm_strbuf_str(&each) : NULL};
    for (int attempt = 1; attempt <= MANY_TRIES; attempt++) {
        stpm_error_clear(err);
        PQclear(r);
        r = NULL;
        rc = stpm_query(db, many_sql, 6, p, &r, "cannot advance projects", err);
        if (!(rc == STPM_ECONFLICT && stpm_query_retryable(err)))
            break;
    }
    if (rc < 0)
        goto cleanup;
    for (int row = 0; row < PQntuples(r) && from + (size_t)row < to; row++)
        take_row(rep, &rep->items[idx[from + (size_t)row]], r, row);
cleanup:
    PQclear(r);
    stpm_strbuf_free(&codes);
    stpm_strbuf_free(&each);
    return rc;
}

/* Connections a bulk of several chunks runs on. The server is the one that decides and
 * writes; with two connections its two cores do, each a chunk at a time. */
#define MANY_LANES 2

/* The organisation of each item of idx[0..n), in that order ("" when unknown). */
static const char orgs_sql[] =
    "SELECT coalesce(p.org_id::text, '') FROM unnest($1::text[]) WITH ORDINALITY u(code, n)"
    " LEFT JOIN stpm.projects p ON p.code = u.code ORDER BY u.n";

/* One connection's share of a bulk: its items in the bulk's order, its own counts. */
typedef struct lane {
    stpm_db *db;
    stpm_bulk_report rep; /* the bulk's items (shared, each written by one lane), own counts */
    size_t *idx, n;
    char **sets; /* each item's sets, or NULL */
    const stpm_advance_options *o;
    atomic_bool *stop; /* set by a lane that failed: the others stop after their chunk */
    stpm_error err;
    int rc;
} lane;

/* Items idx[0..n) a chunk at a time, in order, until one fails or *stop (when not NULL)
 * is set. */
static int chunks(stpm_db *db, stpm_bulk_report *rep, const size_t *idx, size_t n,
                  char *const *sets, const stpm_advance_options *o, atomic_bool *stop,
                  stpm_error *err)
{
    int rc = 0;
    for (size_t k = 0; k < n && rc == 0 && !(stop && atomic_load(stop)); k += MANY_CHUNK)
        rc = many_chunk(db, rep, idx, k, k + MANY_CHUNK < n ? k + MANY_CHUNK : n, sets, o, err);
    return rc;
}

static void *lane_run(void *arg)
{
    lane *l = arg;
    l->rc = chunks(l->db, &l->rep, l->idx, l->n, l->sets, l->o, l->stop, &l->err);
    if (l->rc < 0)
        atomic_store(l->stop, true);
    return NULL;
}

/* One item's organisation and position, for grouping the items by organisation. */
typedef struct org_item {
    const char *org;
    size_t i;
} org_item;

static int by_org(const void *x, const void *y)
{
    const org_item *a = x, *b = y;
    int c = strcmp(a->org, b->org);
    return c ? c : (a->i > b->i) - (a->i < b->i);
}

/* The organisations' groups, largest first (then by organisation: the split is the same
 * for the same projects). */
typedef struct org_group {
    const char *org;
    size_t from, n; /* in the sorted items */
} org_group;

static int by_size(const void *x, const void *y)
{
    const org_group *a = x, *b = y;
    if (a->n != b->n)
        return a->n < b->n ? 1 : -1;
    return strcmp(a->org, b->org);
}

/* lane_of[i] for each item: the organisations' groups dealt out largest first, each to the
 * lane with the fewest items so far, so that the lanes end together. -1 when out of
 * memory. */
static int deal(PGresult *r, size_t n, unsigned char *lane_of)
{
    org_item *items = calloc(n + 1, sizeof(*items));
    org_group *groups = calloc(n + 1, sizeof(*groups));
    size_t ng = 0, load[MANY_LANES] = {0};
    int rc = 0;
    if (!items || !groups) {
        rc = -1;
        goto cleanup;
    }
    for (size_t i = 0; i < n; i++)
        items[i] = (org_item){PQgetvalue(r, (int)i, 0), i};
    qsort(items, n, sizeof(*items), by_org);
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || strcmp(items[i].org, items[i - 1].org) != 0)
            groups[ng++] = (org_group){items[i].org, i, 0};
        groups[ng - 1].n++;
    }
    qsort(groups, ng, sizeof(*groups), by_size);
    for (size_t g = 0; g < ng; g++) {
        size_t best = 0;
        for (size_t l = 1; l < MANY_LANES; l++)
            if (load[l] < load[best])
                best = l;
        load[best] += groups[g].n;
        for (size_t k = groups[g].from; k < groups[g].from + groups[g].n; k++)
            lane_of[items[k].i] = (unsigned char)best;
    }
cleanup:
    free(items);
    free(groups);
    return rc;
}

/* Split idx[0..n) by organisation into lanes[0..MANY_LANES) (idx and sets of each
 * allocated here). 1 when they all fell into one lane, 0 when split, < 0 on error. */
static int lanes_split(stpm_db *db, const stpm_bulk_report *rep, const size_t *idx, size_t n,
                       char *const *sets, lane *lanes, stpm_error *err)
{
    stpm_strbuf codes = STPM_STRBUF_INIT;
    PGresult *r = NULL;
    unsigned char *lane_of = NULL;
    int rc = 0;
    for (size_t i = 0; i < n; i++)
        stpm_strbuf_array_item(&codes, rep->items[idx[i]].code);
    stpm_strbuf_array_end(&codes);
    if (codes.oom) {
        rc = stpm_error_set(err, STPM_ERROR, "out of memory");
        goto cleanup;
    }
    const char *p[] = {stpm_strbuf_str(&codes)};
    if ((rc = stpm_query(db, orgs_sql, 1, p, &r, "cannot advance projects", err)) < 0)
        goto cleanup;
    if ((size_t)PQntuples(r) != n) { /* (cannot be: then the bulk keeps to one lane) */
        rc = 1;
        goto cleanup;
    }
    for (size_t l = 0; l < MANY_LANES; l++) {
        lanes[l].idx = calloc(n + 1, sizeof(*lanes[l].idx));
        lanes[l].sets = sets ? calloc(n + 1, sizeof(*lanes[l].sets)) : NULL;
        if (!lanes[l].idx || (sets && !lanes[l].sets)) {
            rc = stpm_error_set(err, STPM_ERROR, "out of memory");
            goto cleanup;
        }
    }
    if (!(lane_of = calloc(n + 1, 1)) || deal(r, n, lane_of) < 0) {
        rc = stpm_error_set(err, STPM_ERROR, "out of memory");
        goto cleanup;
    }
    for (size_t i = 0; i < n; i++) {
        lane *l = &lanes[lane_of[i]];
        if (sets)
            l->sets[l->n] = sets[i];
        l->idx[l->n++] = idx[i];
    }
    rc = lanes[0].n == n || lanes[1].n == n ? 1 : 0;
cleanup:
    free(lane_of);
    PQclear(r);
    stpm_strbuf_free(&codes);
    return rc;
}

int proj_bulk_many(stpm_db *db, stpm_bulk_report *rep, const size_t *idx, size_t n,
                   char *const *sets, const stpm_advance_options *o, stpm_error *err)
{
    lane lanes[MANY_LANES];
    atomic_bool stop = false;
    static const stpm_error no_error = STPM_ERROR_INIT;
    stpm_db *twin = NULL;
    bool started = false;
    pthread_t thread;
    int rc = 0;
    memset(lanes, 0, sizeof(lanes));
    for (size_t l = 0; l < MANY_LANES; l++)
        lanes[l].err = no_error;
    const char *env = getenv("STPM_BULK_LANES");
    bool one = n <= MANY_CHUNK || (env && strcmp(env, "1") == 0);
    if (!one) {
        rc = lanes_split(db, rep, idx, n, sets, lanes, err);
        if (rc < 0)
            goto cleanup;
        one = rc == 1;
        rc = 0;
    }
    if (!one) { /* (no second connection to be had: the bulk runs on the first alone) */
        stpm_error e = STPM_ERROR_INIT;
        one = stpm_db_twin(db, &twin, &e) < 0;
        stpm_error_clear(&e);
    }
    if (one) {
        rc = chunks(db, rep, idx, n, sets, o, NULL, err);
        goto cleanup;
    }
    for (size_t l = 0; l < MANY_LANES; l++) {
        lanes[l].db = l ? twin : db;
        lanes[l].rep = *rep;
        lanes[l].rep.n_ok = lanes[l].rep.n_refused = lanes[l].rep.n_conflict =
            lanes[l].rep.n_error = 0;
        lanes[l].o = o;
        lanes[l].stop = &stop;
    }
    /* Lane 1 in a thread of its own, lane 0 here. */
    started = pthread_create(&thread, NULL, lane_run, &lanes[1]) == 0;
    if (!started) { /* no thread to be had: lane 1 after lane 0, on its own connection */
        lane_run(&lanes[0]);
        lane_run(&lanes[1]);
    } else {
        lane_run(&lanes[0]);
        pthread_join(thread, NULL);
    }
    for (size_t l = 0; l < MANY_LANES; l++) {
        rep->n_ok += lanes[l].rep.n_ok;
        rep->n_refused += lanes[l].rep.n_refused;
        rep->n_conflict += lanes[l].rep.n_conflict;
        rep->n_error += lanes[l].rep.n_error;
        if (lanes[l].rc < 0 && rc == 0) {
            rc = lanes[l].rc;
            stpm_error_move(err, &lanes[l].err);
        }
    }
cleanup:
    for (size_t l = 0; l < MANY_LANES; l++) {
        free(lanes[l].idx);
        free(lanes[l].sets);
        stpm_error_clear(&lanes[l].err);
    }
    stpm_db_free(twin);
    return rc;
}

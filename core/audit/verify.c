/* audit verify and audit trail: the history checked in C (see stpm/audit.h). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit/audit_internal.h"
#include "audit/chain.h"
#include "project/px.h"
#include "store/query.h"
#include "store/rows_internal.h"

/* Every column of an event as the canonical text needs it, with the head when it points
 * at the event. Printed with TimeZone UTC and DateStyle ISO (set by the caller). */
#define EVENT_COLUMNS                                                                              \
    "e.chain, e.seq, e.project_id, e.at, e.on_date, e.actor, e.kind, e.transition,"                \
    " e.from_state, e.to_state, e.reason, e.data, e.prev_hash, e.hash, h.seq, h.hash, e.canon"

/* The same columns for `audit verify`, streamed in COPY's binary form: the server sends
 * the raw values (no text output functions, no escaping) and the C code prints seq, the
 * project's uuid, at and on_date exactly as event_canonical does. data stays the server's
 * jsonb text, which C cannot reproduce: jsonb's binary form is a version byte (1) and then
 * the very text data::text gives (both come from the server's JsonbToCString). */
static const char verify_copy_sql[] =
    "COPY (SELECT e.chain, e.seq, e.project_id, e.at, e.on_date, e.actor, e.kind, e.transition,"
    " e.from_state, e.to_state, e.reason, e.data, e.prev_hash, e.hash, h.seq, h.hash, e.canon"
    " FROM stpm.events e"
    " LEFT JOIN stpm.chain_heads h ON h.chain = e.chain AND h.seq = e.seq"
    " ORDER BY e.chain, e.seq) TO STDOUT WITH (FORMAT binary)";

/* Heads that point at no event at all (the chain or its end was deleted, or the head forged). */
static const char orphan_heads_sql[] =
    "SELECT h.chain, h.seq, h.hash FROM stpm.chain_heads h"
    " WHERE NOT EXISTS (SELECT 1 FROM stpm.events e WHERE e.chain = h.chain AND e.seq = h.seq)"
    " ORDER BY h.chain";

int audit_begin_snapshot(stpm_db *db, stpm_error *err)
{
    int rc = stpm_query_simple(db, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
                               "cannot begin the verification", err);
    if (rc < 0)
        return rc;
    static const char *const sets[] = {"SET LOCAL TimeZone = 'UTC'",
                                       "SET LOCAL DateStyle = 'ISO, YMD'",
                                       "SET LOCAL client_encoding = 'UTF8'"};
    for (size_t i = 0; rc == 0 && i < sizeof(sets) / sizeof(sets[0]); i++)
        rc = stpm_query_simple(db, sets[i], "cannot set up the verification", err);
    if (rc < 0)
        stpm_query_rollback(db);
    return rc;
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static uint64_t be64(const unsigned char *p)
{
    return (uint64_t)be32(p) << 32 | be32(p + 4);
}

/* One binary COPY tuple decoded into the walker's text columns (audit/chain.h). */
typedef struct bin_row {
    stpm_strbuf text;         /* the columns' text, each NUL-terminated */
    size_t off[EV_N_COLUMNS]; /* where each column starts in text */
    bool null[EV_N_COLUMNS];  /* SQL null */
    const char *cols[EV_N_COLUMNS];
} bin_row;

/* Append one field's text form to row->text. */
static bool bin_field(bin_row *row, int c, const unsigned char *v, uint32_t len)
{
    char tmp[48];
    static const char x[] = "0123456789abcdef";
    switch (c) {
    case EV_SEQ:
    case EV_HEAD_SEQ:
        if (len != 8)
            return false;
        snprintf(tmp, sizeof(tmp), "%lld", (long long)(int64_t)be64(v));
        stpm_strbuf_puts(&row->text, tmp);
        break;
    case EV_PROJECT: {
        if (len != 16)
            return false;
        char *w = tmp;
        for (int i = 0; i < 16; i++) {
            if (i == 4 || i == 6 || i == 8 || i == 10)
                *w++ = '-';
            *w++ = x[v[i] >> 4];
            *w++ = x[v[i] & 15];
        }
        stpm_strbuf_putn(&row->text, tmp, (size_t)(w - tmp));
        break;
    }
    case EV_CANON:
        if (len != 2)
            return false;
        snprintf(tmp, sizeof(tmp), "%d", (int)(int16_t)((v[0] << 8) | v[1]));
        stpm_strbuf_puts(&row->text, tmp);
        break;
    case EV_AT:
        if (len != 8)
            return false;
        /* A timestamp event_canonical cannot have hashed this way stays unreadable. */
        if (!stpm_chain_ts_utc((int64_t)be64(v), tmp))
            snprintf(tmp, sizeof(tmp), "out of range");
        stpm_strbuf_puts(&row->text, tmp);
        break;
    case EV_ON_DATE:
        if (len != 4)
            return false;
        stpm_strbuf_putn(&row->text, tmp, stpm_chain_date_iso((int32_t)be32(v), tmp));
        break;
    case EV_DATA:
        if (len < 1 || v[0] != 1)
            return false;
        stpm_strbuf_putn(&row->text, (const char *)v + 1, len - 1);
        break;
    default: /* text, bpchar: the bytes in the client encoding (UTF8) */
        stpm_strbuf_putn(&row->text, (const char *)v, len);
    }
    return true;
}

/* Decode the tuple at p (n bytes available). Returns the bytes it took, 0 when the tuple is
 * incomplete, -1 when malformed, -2 at the trailer. */
static long bin_tuple(bin_row *row, const unsigned char *p, size_t n)
{
    if (n < 2)
        return 0;
    int16_t nf = (int16_t)((p[0] << 8) | p[1]);
    if (nf == -1)
        return -2;
    if (nf != EV_N_COLUMNS)
        return -1;
    size_t at = 2;
    stpm_strbuf_reset(&row->text);
    for (int c = 0; c < EV_N_COLUMNS; c++) {
        if (n - at < 4)
            return 0;
        uint32_t len = be32(p + at);
        at += 4;
        row->off[c] = row->text.len;
        row->null[c] = len == UINT32_MAX;
        if (row->null[c])
            continue;
        if (n - at < len)
            return 0;
        if (!bin_field(row, c, p + at, len))
            return -1;
        stpm_strbuf_putc(&row->text, '\0');
        at += len;
    }
    if (row->text.oom)
        return -1;
    for (int c = 0; c < EV_N_COLUMNS; c++)
        row->cols[c] = row->null[c] ? NULL : row->text.buf + row->off[c];
    return (long)at;
}

static const unsigned char bin_signature[11] = {'P',  'G',  'C',  'O',  'P', 'Y',
                                                '\n', 0xff, '\r', '\n', 0};

/* Feed the binary COPY stream's bytes (buf, pending bytes first) to the walker: consumes
 * the complete tuples and leaves the rest in pend. Returns 0, or a negative code. */
static int bin_feed(stpm_chain_walker *w, bin_row *row, stpm_strbuf *pend, bool *header,
                    bool *trailer, uint64_t *heads, stpm_error *err)
{
    const unsigned char *p = (const unsigned char *)pend->buf;
    size_t n = pend->len, used = 0;
    if (!*header) {
        if (n < 19)
            return 0;
        uint32_t ext = be32(p + 15);
        if (memcmp(p, bin_signature, sizeof(bin_signature)) != 0 || n - 19 < ext)
            return memcmp(p, bin_signature, sizeof(bin_signature)) != 0
                       ? stpm_error_set(err, STPM_ERROR,
                                        "cannot read the history: not a binary COPY stream")
                       : 0;
        used = 19 + ext;
        *header = true;
    }
    while (used < n && !*trailer) {
        long k = bin_tuple(row, p + used, n - used);
        if (k == 0)
            break;
        if (k == -2) {
            *trailer = true;
            used += 2;
            break;
        }
        if (k < 0)
            return stpm_error_set(err, STPM_ERROR, "cannot read the history: malformed COPY row");
        bool ok;
        if (row->cols[EV_HEAD_SEQ])
            (*heads)++;
        if (!stpm_chain_walker_event(w, row->cols, &ok, NULL))
            return stpm_error_set(err, STPM_ERROR, "out of memory while verifying");
        used += (size_t)k;
    }
    memmove(pend->buf, pend->buf + used, n - used);
    pend->len = n - used;
    return 0;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Stream every event through the walker. */
static int walk_all(stpm_db *db, stpm_audit_verify_result *res, uint64_t *heads, stpm_error *err)
{
    PGconn *c = stpm_db_pg(db);
    stpm_chain_walker w;
    int rc = 0;
    char *line = NULL;
    bin_row row = {.text = STPM_STRBUF_INIT};
    stpm_strbuf pend = STPM_STRBUF_INIT;
    bool header = false, trailer = false;
    if (!stpm_chain_walker_init(&w, res)) {
        rc = stpm_error_set(err, STPM_ERROR, "cannot start SHA-256 (OpenSSL)");
        goto cleanup;
    }
    PGresult *r = PQexec(c, verify_copy_sql);
    if (PQresultStatus(r) != PGRES_COPY_OUT) {
        rc = stpm_pg_error(err, c, r, "cannot read the history");
        PQclear(r);
        goto cleanup;
    }
    PQclear(r);
    double t0 = now_seconds();
    int n;
    while ((n = PQgetCopyData(c, &line, 0)) > 0) {
        if (rc == 0) {
            stpm_strbuf_putn(&pend, line, (size_t)n);
            if (pend.oom)
                rc = stpm_error_set(err, STPM_ERROR, "out of memory while verifying");
            else
                rc = bin_feed(&w, &row, &pend, &header, &trailer, heads, err);
        }
        PQfreemem(line);
        line = NULL;
    }
    if (rc == 0 && (!trailer || pend.len != 0))
        rc =
            stpm_error_set(err, STPM_ERROR, "cannot read the history: the COPY stream ended early");
    /* Read the COPY's final result(s) until NULL, whatever happened above. */
    while ((r = PQgetResult(c)) != NULL) {
        if (rc == 0 && PQresultStatus(r) != PGRES_COMMAND_OK)
            rc = stpm_pg_error(err, c, r, "cannot read the history");
        PQclear(r);
    }
    if (n == -2 && rc == 0)
        rc = stpm_pg_error(err, c, NULL, "cannot read the history");
    stpm_chain_walker_finish(&w);
    res->seconds = now_seconds() - t0;
cleanup:
    stpm_chain_walker_free(&w);
    stpm_strbuf_free(&row.text);
    stpm_strbuf_free(&pend);
    return rc;
}

/* The heads the walk met (each points at one event at most) are all the heads unless
 * some point at no event: only then look for those (a scan of every head). */
static int orphan_heads(stpm_db *db, uint64_t heads_met, stpm_audit_verify_result *res,
                        stpm_error *err)
{
    PGresult *r = NULL;
    int rc = stpm_query(db, "SELECT count(*) FROM stpm.chain_heads", 0, NULL, &r,
                        "cannot read the chain heads", err);
    if (rc < 0)
        return rc;
    bool all_met = strtoull(PQgetvalue(r, 0, 0), NULL, 10) == heads_met;
    PQclear(r);
    if (all_met)
        return 0;
    rc = stpm_query(db, orphan_heads_sql, 0, NULL, &r, "cannot read the chain heads", err);
    if (rc < 0)
        return rc;
    for (int i = 0; i < PQntuples(r); i++)
        stpm_audit_add_problem(res, PQgetvalue(r, i, 0), strtoll(PQgetvalue(r, i, 1), NULL, 10),
                               "chain_heads points at seq %s, which is not in the history: "
                               "events were deleted or the head was forged",
                               PQgetvalue(r, i, 1));
    PQclear(r);
    return 0;
}

/* What the tables say against what the events say (080): each project row against its
 * chain, the derived tables the reports read, each document against its attach event, each
 * stored workflow version against its load event. One query, inside the snapshot of the
 * walk: chain, project code, seq, what. */
static const char history_checks_sql[] =
    "SELECT coalesce('project:' || p.id, x.chain, x.code), x.code, coalesce(x.seq, 0), x.what"
    " FROM (SELECT 1 AS k, NULL::text AS chain, project_code AS code, seq, what"
    "         FROM stpm.project_problems()"
    "       UNION ALL SELECT 2, CASE WHEN project_code IS NULL THEN 'report_counts' END,"
    "         project_code, NULL, what FROM stpm.derived_problems()"
    "       UNION ALL SELECT 3, NULL, project_code, seq, what FROM stpm.document_problems()"
    "       UNION ALL SELECT 4, 'system', NULL, seq, 'workflow ' || workflow || ': ' || what"
    "         FROM stpm.workflow_problems()) x"
    " LEFT JOIN stpm.projects p ON p.code = x.code"
    " ORDER BY x.k, x.code, x.seq, x.what";

static int history_checks(stpm_db *db, stpm_audit_verify_result *res, stpm_error *err)
{
    PGresult *r = NULL;
    int rc = stpm_query(db, history_checks_sql, 0, NULL, &r,
                        "cannot compare the tables with the history", err);
    if (rc < 0)
        return rc;
    for (int i = 0; i < PQntuples(r); i++) {
        size_t kept = res->n_kept;
        stpm_audit_add_problem(res, PQgetvalue(r, i, 0), strtoll(PQgetvalue(r, i, 2), NULL, 10),
                               "%s", PQgetvalue(r, i, 3));
        if (res->n_kept > kept && !PQgetisnull(r, i, 1) &&
            strncmp(PQgetvalue(r, i, 1), "project:", 8) != 0)
            res->problems[kept].code = stpm_strdup(PQgetvalue(r, i, 1));
    }
    PQclear(r);
    return 0;
}

/* Name the projects of the problems the walk found on project chains by their codes. */
static int name_projects(stpm_db *db, stpm_audit_verify_result *res, stpm_error *err)
{
    stpm_strbuf ids = STPM_STRBUF_INIT;
    size_t n = 0;
    for (size_t i = 0; i < res->n_kept; i++) {
        const char *c = res->problems[i].chain;
        if (!res->problems[i].code && c && strncmp(c, "project:", 8) == 0 && strlen(c) == 44) {
            stpm_strbuf_array_item(&ids, c + 8);
            n++;
        }
    }
    if (n == 0)
        return 0;
    stpm_strbuf_array_end(&ids);
    PGresult *r = NULL;
    int rc = ids.oom ? stpm_error_set(err, STPM_ERROR, "out of memory") : 0;
    const char *p[] = {ids.buf};
    if (rc == 0)
        rc = stpm_query(db,
                        "SELECT 'project:' || p.id, p.code FROM stpm.projects p"
                        " WHERE p.id = ANY ($1::uuid[])",
                        1, p, &r, "cannot read the projects' codes", err);
    for (int j = 0; rc == 0 && j < PQntuples(r); j++)
        for (size_t i = 0; i < res->n_kept; i++)
            if (!res->problems[i].code && strcmp(res->problems[i].chain, PQgetvalue(r, j, 0)) == 0)
                res->problems[i].code = stpm_strdup(PQgetvalue(r, j, 1));
    PQclear(r);
    stpm_strbuf_free(&ids);
    return rc;
}

/* Turn the problems found into the function's outcome. */
static int verdict(const stpm_audit_verify_result *res, stpm_error *err)
{
    if (res->n_problems == 0)
        return 0;
    const stpm_audit_problem *p = res->n_kept ? &res->problems[0] : NULL;
    stpm_error_set(err, STPM_EREFUSED, "the history does not verify: %llu problem%s found",
                   (unsigned long long)res->n_problems, res->n_problems == 1 ? "" : "s");
    if (p) {
        char seq[32] = "";
        if (p->seq)
            snprintf(seq, sizeof(seq), " seq %lld", (long long)p->seq);
        stpm_error_detail(err, "First: %s %s%s: %s.", p->code ? "project" : "chain",
                          p->code ? p->code : p->chain, seq, p->what ? p->what : "?");
    }
    stpm_error_hint(err, "Compare with the last checkpoint kept outside the database and "
                         "with the backups; the history must never be changed.");
    return STPM_EREFUSED;
}

int stpm_audit_verify(stpm_db *db, const stpm_audit_verify_options *opts,
                      stpm_audit_verify_result *result, stpm_error *err)
{
    audit_checkpoint *cp = NULL;
    int rc = 0;
    stpm_audit_verify_result_clear(result);
    if (opts && opts->checkpoint) {
        /* The file first: a bad file or signature needs no database work. */
        if ((rc = audit_checkpoint_read(opts->checkpoint, opts->pubkey, &cp, err)) < 0)
            goto cleanup;
        result->checkpoint_made_at = stpm_strdup(cp->made_at);
    }
    if ((rc = audit_begin_snapshot(db, err)) < 0)
        goto cleanup;
    uint64_t heads = 0;
    if ((rc = walk_all(db, result, &heads, err)) == 0 &&
        (rc = orphan_heads(db, heads, result, err)) == 0 && cp)
        rc = audit_checkpoint_check(db, cp, result, err);
    if (rc == 0)
        rc = history_checks(db, result, err);
    if (rc == 0)
        rc = name_projects(db, result, err);
    if (rc < 0)
        stpm_query_rollback(db);
    else
        rc = stpm_query_simple(db, "COMMIT", "cannot end the verification", err);
    if (rc == 0)
        rc = verdict(result, err);
cleanup:
    audit_checkpoint_free(cp);
    return rc;
}

/* ---- audit trail ---- */

static const char trail_sql[] =
    "SELECT " EVENT_COLUMNS " FROM stpm.projects p"
    " JOIN stpm.events e ON e.chain = 'project:' || p.id"
    " LEFT JOIN stpm.chain_heads h ON h.chain = e.chain AND h.seq = e.seq"
    " WHERE p.code = $1 ORDER BY e.seq";

static const char trail_show_sql[] =
    "SELECT e.seq, to_char(e.at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') AS at,"
    " e.on_date::text AS on_date, e.actor, e.kind, e.transition, e.from_state, e.to_state,"
    " e.reason, e.prev_hash, e.hash, c.chk AS \"check\","
    " CASE WHEN e.at::date - e.on_date > stpm.late_after_days() THEN 'late' END AS late"
    " FROM stpm.projects p JOIN stpm.events e ON e.chain = 'project:' || p.id"
    " JOIN unnest($2::bigint[], $3::text[]) AS c(seq, chk) ON c.seq = e.seq"
    " WHERE p.code = $1 ORDER BY e.seq";

int stpm_audit_trail(stpm_db *db, const char *code, stpm_rows **out,
                     stpm_audit_verify_result *check, stpm_error *err)
{
    *out = NULL;
    stpm_audit_verify_result_clear(check);
    PGresult *r = NULL, *show = NULL;
    stpm_strbuf seqs = STPM_STRBUF_INIT, checks = STPM_STRBUF_INIT;
    stpm_chain_walker w;
    bool walker = false;
    int rc = audit_begin_snapshot(db, err);
    if (rc < 0)
        return rc;
    const char *p1[] = {code};
    if ((rc = stpm_query(db, trail_sql, 1, p1, &r, "cannot read the trail", err)) < 0)
        goto cleanup;
    if (PQntuples(r) == 0) {
        rc = stpm_error_set(err, STPM_ENOTFOUND, "project %s not found", code);
        goto cleanup;
    }
    if (!(walker = stpm_chain_walker_init(&w, check))) {
        rc = stpm_error_set(err, STPM_ERROR, "cannot start SHA-256 (OpenSSL)");
        goto cleanup;
    }
    for (int i = 0; i < PQntuples(r); i++) {
        const char *cols[EV_N_COLUMNS];
        for (int j = 0; j < EV_N_COLUMNS; j++)
            cols[j] = PQgetisnull(r, i, j) ? NULL : PQgetvalue(r, i, j);
        bool ok = true;
        const char *what = NULL;
        if (!stpm_chain_walker_event(&w, cols, &ok, &what)) {
            rc = stpm_error_set(err, STPM_ERROR, "out of memory while verifying");
            goto cleanup;
        }
        stpm_strbuf_array_item(&seqs, cols[EV_SEQ]);
        stpm_strbuf_array_item(&checks, ok ? "ok" : (what ? what : "does not verify"));
    }
    stpm_chain_walker_finish(&w);
    stpm_strbuf_array_end(&seqs);
    stpm_strbuf_array_end(&checks);
    if (seqs.oom || checks.oom) {
        rc = stpm_error_set(err, STPM_ERROR, "out of memory");
        goto cleanup;
    }
    const char *p3[] = {code, seqs.buf, checks.buf};
    if ((rc = stpm_query(db, trail_show_sql, 3, p3, &show, "cannot read the trail", err)) < 0)
        goto cleanup;
    if (!(*out = stpm_rows_from_pg(show))) {
        show = NULL;
        rc = stpm_error_set(err, STPM_ERROR, "out of memory");
        goto cleanup;
    }
    show = NULL;
    rc = stpm_query_simple(db, "COMMIT", "cannot end the trail", err);
cleanup:
    if (rc < 0) {
        stpm_query_rollback(db);
        stpm_rows_free(*out);
        *out = NULL;
    }
    if (walker)
        stpm_chain_walker_free(&w);
    PQclear(r);
    PQclear(show);
    stpm_strbuf_free(&seqs);
    stpm_strbuf_free(&checks);
    return rc;
}

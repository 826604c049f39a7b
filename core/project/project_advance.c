/* Transitions: project advance and project why (see stpm/project.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "project/project_internal.h"
#include "project/px.h"
#include "stpm/integrity.h"
#include "store/query.h"
#include "store/wf_store_internal.h"
#include "util/readfile.h"
#include "util/server_text.h"
#include "util/text.h"

/* How often a transition is retried after a deadlock. */
#define ADVANCE_TRIES 4

/* A transition through the server (stpm.project_advance, migrations/070_rules.sql), its
 * JSON result unpacked into rows: the outcome's columns on every row, then one row per
 * block ('b': kind, subject, message, evidence) and per check run ('c': name, passed,
 * summary, evidence), in order. The function is called once (a subquery in FROM). */
#define ADVANCE_SQL_HEAD                                                                           \
    "SELECT j->>'allowed', j->>'from', j->>'to', j->>'row_version', j->>'hash',"                   \
    " (j->'changes')::text, j->>'refused', x.typ, x.a, x.b, x.c, x.d"                              \
    " FROM (SELECT stpm.project_advance($1, $2, $3::date, $4::jsonb, $5, $6::boolean, $7::text[]," \
    "   $8::text[], p_expect_state => $9, p_report => true, p_attach_contents => "
#define ADVANCE_SQL_TAIL                                                                           \
    ") AS j) r"                                                                                    \
    " LEFT JOIN LATERAL ("                                                                         \
    "  SELECT 'b' AS typ, e.v->>'kind' AS a, e.v->>'subject' AS b, e.v->>'message' AS c,"          \
    "   (e.v->'evidence')::text AS d, e.n FROM jsonb_array_elements(j->'blocks')"                  \
    "   WITH ORDINALITY e(v, n)"                                                                   \
    "  UNION ALL"                                                                                  \
    "  SELECT 'c', e.v->>'name', e.v->>'passed', e.v->>'summary', (e.v->'evidence')::text, e.n"    \
    "   FROM jsonb_array_elements(j->'outcomes') WITH ORDINALITY e(v, n)) x ON true"               \
    " ORDER BY x.typ, x.n"

/* A transition through the server (stpm.project_advance, migrations/070_rules.sql), its
 * JSON result unpacked into rows: the outcome's columns on every row, then one row per
 * block ('b': kind, subject, message, evidence) and per check run ('c': name, passed,
 * summary, evidence), in order. The function is called once (a subquery in FROM). With
 * documents to attach, their contents follow as binary parameters $10.. in an ARRAY[];
 * $9 is the state the caller saw (a change meanwhile is a conflict, exit 4). */
const char proj_advance_sql[] = ADVANCE_SQL_HEAD "'{}'::bytea[]" ADVANCE_SQL_TAIL;

static const char *block_kind_name(stpm_block_kind k)
{
    switch (k) {
    case STPM_BLOCK_STATE:
        return "state";
    case STPM_BLOCK_ROLE:
        return "role";
    case STPM_BLOCK_FIELD:
        return "field";
    case STPM_BLOCK_DOCUMENT:
        return "document";
    case STPM_BLOCK_REASON:
        return "reason";
    case STPM_BLOCK_CHECK:
        return "check";
    case STPM_BLOCK_GUARD:
        return "guard";
    }
    return "rule";
}

void stpm_transition_report_clear(stpm_transition_report *r)
{
    if (!r)
        return;
    free(r->name);
    free(r->label);
    free(r->to);
    for (size_t i = 0; i < r->n_reasons; i++) {
        free(r->reasons[i].kind);
        free(r->reasons[i].subject);
        free(r->reasons[i].message);
        free(r->reasons[i].evidence);
    }
    free(r->reasons);
    for (size_t i = 0; i < r->n_checks; i++) {
        free(r->checks[i].name);
        free(r->checks[i].summary);
        free(r->checks[i].evidence);
    }
    free(r->checks);
    memset(r, 0, sizeof(*r));
}

void stpm_advance_result_clear(stpm_advance_result *r)
{
    if (!r)
        return;
    free(r->code);
    free(r->from);
    free(r->to);
    free(r->changes);
    free(r->event_hash);
    stpm_transition_report_clear(&r->report);
    memset(r, 0, sizeof(*r));
}

/* A reason or check summary the server worded, in the user's language (s is freed). */
static char *server_text(char *s)
{
    char *t = stpm_server_text(s);
    free(s);
    return t;
}

static char *dup_or_null(const char *s)
{
    return s ? stpm_strdup(s) : NULL;
}

/* Run every check of transition t on the project; results appended to the report. */
static int run_checks(stpm_db *db, const proj_snap *s, const stpm_wf_transition *t, stpm_date today,
                      stpm_transition_report *rep, stpm_error *err)
{
    if (!t->n_checks)
        return 0;
    rep->checks = calloc(t->n_checks, sizeof(*rep->checks));
    if (!rep->checks)
        return stpm_error_set(err, STPM_ERROR, "out of memory");
    for (size_t i = 0; i < t->n_checks; i++) {
        const stpm_wf_check *c = &t->checks[i];
        stpm_integrity_params params = STPM_INTEGRITY_PARAMS_INIT;
        char sim[32];
        if (c->kind == STPM_CHECK_NO_DUPLICATE) {
            params.has_similarity = true;
            params.similarity = stpm_decimal_format(c->similarity, 4, sim);
        } else if (c->kind == STPM_CHECK_LEADER_LIMIT) {
            params.has_max = true;
            params.max = (int)c->max;
        }
        stpm_integrity_result res = STPM_INTEGRITY_RESULT_INIT;
        int rc = stpm_integrity_run(db, c->name, s->id, &params, today, &res, err);
        if (rc < 0)
            return rc;
        stpm_check_outcome *o = &rep->checks[rep->n_checks++];
        o->name = stpm_strdup(c->name);
        o->passed = res.passed;
        o->summary = res.summary;
        o->evidence = res.evidence_json;
        res.summary = res.evidence_json = NULL;
        stpm_integrity_result_clear(&res);
    }
    return 0;
}

static void engine_ctx(const proj_snap *s, const stpm_advance_options *o, const stpm_calendar *cal,
                       const stpm_engine_fields *fields, stpm_engine_check_result *checks,
                       const stpm_transition_report *rep, stpm_engine_ctx *ctx)
{
    stpm_engine_ctx init = STPM_ENGINE_CTX_INIT;
    *ctx = init;
    ctx->state = s->state;
    ctx->lookup = stpm_engine_fields_lookup;
    ctx->lookup_ctx = (void *)fields;
    ctx->documents = (const char *const *)s->documents;
    ctx->n_documents = s->n_documents;
    ctx->roles = s->roles;
    ctx->by_timer = o->by_timer;
    ctx->today = o->today;
    ctx->calendar = cal;
    ctx->reason_given = !stpm_text_is_blank(o->reason);
    for (size_t i = 0; rep && i < rep->n_checks; i++) {
        checks[i].name = rep->checks[i].name;
        checks[i].passed = rep->checks[i].passed;
        checks[i].evidence = rep->checks[i].summary;
    }
    ctx->checks = checks;
    ctx->n_checks = rep ? rep->n_checks : 0;
}

/* Copy the engine's verdict on one transition into a report. */
static int fill_report(const stpm_engine_option *opt, stpm_transition_report *rep, stpm_error *err)
{
    const stpm_wf_transition *t = opt->transition;
    rep->name = stpm_strdup(t->name);
    rep->label = dup_or_null(t->label);
    rep->to = stpm_strdup(t->to);
    rep->allowed = opt->allowed;
    if (opt->n_blocks) {
        rep->reasons = calloc(opt->n_blocks, sizeof(*rep->reasons));
        if (!rep->reasons)
            return stpm_error_set(err, STPM_ERROR, "out of memory");
        for (size_t i = 0; i < opt->n_blocks; i++) {
            const stpm_engine_block *b = &opt->blocks[i];
            stpm_reason *r = &rep->reasons[rep->n_reasons++];
            r->kind = stpm_strdup(block_kind_name(b->kind));
            r->subject = dup_or_null(b->subject);
            r->message = dup_or_null(b->message);
            r->evidence = NULL;
            /* A failed check's evidence: the JSON the check gave, not only its summary. */
            for (size_t c = 0; b->kind == STPM_BLOCK_CHECK && c < rep->n_checks; c++)
                if (b->subject && strcmp(rep->checks[c].name, b->subject) == 0)
                    r->evidence = dup_or_null(rep->checks[c].evidence);
            if (!r->evidence && b->evidence)
                r->evidence = stpm_strdup(b->evidence);
        }
    }
    return rep->name && rep->to ? 0 : stpm_error_set(err, STPM_ERROR, "out of memory");
}

void proj_report_detail(const stpm_transition_report *r, stpm_error *err)
{
    stpm_strbuf sb = STPM_STRBUF_INIT;
    for (size_t i = 0; i < r->n_reasons; i++) {
        if (i)
            stpm_strbuf_putc(&sb, '\n');
        stpm_strbuf_printf(&sb, "%s: %s", r->reasons[i].kind,
                           r->reasons[i].message ? r->reasons[i].message : "");
    }
    stpm_error_detail(err, "%s", stpm_strbuf_str(&sb));
    stpm_strbuf_free(&sb);
}

int proj_decide(stpm_db *db, proj_snap *s, const char *transition, const stpm_advance_options *o,
                const char *user_sets, stpm_transition_report *report, char **to_state,
                char **changes_json, stpm_error *err)
{
    *to_state = *changes_json = NULL;
    stpm_engine_check_result *checks = NULL;
    stpm_engine_option opt = {0};
    stpm_engine_result res = {0};
    stpm_strbuf changes = STPM_STRBUF_INIT;
    const stpm_calendar *cal = NULL;
    const stpm_wf_transition *t = stpm_workflow_find_transition(s->wf, transition);
    int rc = 0;
    if (!t) {
        rc = stpm_error_set(err, STPM_ENOTFOUND, "workflow %s@%d has no transition \"%s\"",
                            stpm_workflow_name(s->wf), stpm_workflow_version(s->wf), transition);
        stpm_error_hint(err, "\"stpm project why %s\" lists the transitions out of its state.",
                        s->code);
        goto out;
    }
    if ((rc = stpm_store_calendar(db, &cal, err)) < 0)
        goto out;
    if (stpm_wf_transition_leaves(t, s->state) &&
        (rc = run_checks(db, s, t, o->today, report, err)) < 0)
        goto out;
    checks = calloc(report->n_checks + 1, sizeof(*checks));
    if (!checks) {
        rc = stpm_error_set(err, STPM_ERROR, "out of memory");
        goto out;
    }
    stpm_engine_fields fields = {s->fields, s->n_fields};
    stpm_engine_ctx ctx;
    engine_ctx(s, o, cal, &fields, checks, report, &ctx);
    if ((rc = stpm_engine_evaluate(s->wf, &ctx, transition, &opt, err)) < 0)
        goto out;
    if ((rc = fill_report(&opt, report, err)) < 0)
        goto out;
    if (!opt.allowed) {
        rc = stpm_error_set(err, STPM_EREFUSED, "transition %s of project %s is refused",
                            transition, s->code);
        proj_report_detail(report, err);
        goto out;
    }
    rc = stpm_engine_apply(s->wf, &ctx, transition, &res, err);
    if (rc < 0)
        goto out;
    stpm_strbuf_putc(&changes, '{');
    stpm_strbuf_puts(&changes, user_sets ? user_sets : "");
    bool first = !user_sets || !*user_sets;
    for (size_t i = 0; i < res.n_changes; i++) {
        if (!first)
            stpm_strbuf_puts(&changes, ", ");
        first = false;
        stpm_px_json_string(&changes, res.changes[i].field);
        stpm_strbuf_puts(&changes, ": ");
        proj_json_value(&changes, &res.changes[i].value);
    }
    stpm_strbuf_putc(&changes, '}');
    if (changes.oom) {
        rc = stpm_error_set(err, STPM_ERROR, "out of memory");
        goto out;
    }
    *to_state = stpm_strdup(res.to);
    *changes_json = stpm_strbuf_detach(&changes);
out:
    free(checks);
    stpm_engine_option_clear(&opt);
    stpm_engine_result_clear(&res);
    stpm_strbuf_free(&changes);
    return rc;
}

/* Overlay the user's FIELD=VALUE on the snapshot; *inner receives the JSON members. */
static int overlay_sets(proj_snap *s, const char *transition, const stpm_advance_options *o,
                        char **inner, stpm_error *err)
{
    stpm_strbuf sb = STPM_STRBUF_INIT;
    int rc = 0;
    for (size_t i = 0; i < o->n_sets; i++) {
        const stpm_wf_field *f = NULL;
        stpm_value v;
        if ((rc = proj_parse_set(s->wf, o->sets[i], transition, &f, &v, err)) < 0)
            break;
        if (i)
            stpm_strbuf_puts(&sb, ", ");
        stpm_px_json_string(&sb, f->name);
        stpm_strbuf_puts(&sb, ": ");
        proj_json_value(&sb, &v);
        proj_snap_put(s, f->name, &v);
        stpm_value_clear(&v);
    }
    if (rc == 0 && sb.oom)
        rc = stpm_error_set(err, STPM_ERROR, "out of memory");
    *inner = rc == 0 ? stpm_strbuf_detach(&sb) : NULL;
    stpm_strbuf_free(&sb);
    return rc;
}

/* Attach the files of a dry run inside its transaction (rolled back), so that the engine
 * sees their kinds as attached. */
static int attach_all(stpm_db *db, proj_snap *s, const stpm_advance_options *o, stpm_error *err)
{
    int rc = 0;
    for (size_t i = 0; i < o->n_attachments && rc == 0; i++) {
        const stpm_project_attachment *a = &o->attachments[i];
        if ((rc = proj_attach_id(db, s->wf, s->code, a->kind, a->path, o->today, NULL, NULL, NULL,
                                 err)) < 0)
            break;
        char **grown = realloc(s->documents, (s->n_documents + 1) * sizeof(*grown));
        if (grown)
            s->documents = grown;
        if (!grown || !(s->documents[s->n_documents] = stpm_strdup(a->kind)))
            rc = stpm_error_set(err, STPM_ERROR, "out of memory");
        else
            s->n_documents++;
    }
    return rc;
}

int proj_advance_outcome(PGresult *r, const char *code, const char *transition,
                         stpm_advance_result *res, stpm_error *err)
{
    int n = PQntuples(r), nb = 0, nc = 0;
    stpm_transition_report *rep = &res->report;
    if (n < 1)
        return stpm_error_set(err, STPM_ERROR, "cannot advance project: no answer from the server");
    bool allowed = strcmp(PQgetvalue(r, 0, 0), "true") == 0;
    res->code = stpm_strdup(code);
    res->from = stpm_px_value(r, 0, 1);
    res->row_version = atoi(PQgetvalue(r, 0, 3));
    rep->name = stpm_strdup(transition);
    rep->to = stpm_px_value(r, 0, 2);
    rep->allowed = allowed;
    for (int i = 0; i < n; i++) {
        const char *typ = PQgetisnull(r, i, 7) ? "" : PQgetvalue(r, i, 7);
        nb += typ[0] == 'b';
        nc += typ[0] == 'c';
    }
    rep->reasons = calloc((size_t)nb + 1, sizeof(*rep->reasons));
    rep->checks = calloc((size_t)nc + 1, sizeof(*rep->checks));
    if (!rep->reasons || !rep->checks || !res->code || !rep->name)
        return stpm_error_set(err, STPM_ERROR, "out of memory");
    for (int i = 0; i < n; i++) {
        const char *typ = PQgetisnull(r, i, 7) ? "" : PQgetvalue(r, i, 7);
        if (typ[0] == 'b') {
            stpm_reason *x = &rep->reasons[rep->n_reasons++];
            x->kind = stpm_px_value(r, i, 8);
            x->subject = stpm_px_value(r, i, 9);
            x->message = server_text(stpm_px_value(r, i, 10));
            x->evidence = stpm_px_value(r, i, 11);
        } else if (typ[0] == 'c') {
            stpm_check_outcome *x = &rep->checks[rep->n_checks++];
            x->name = stpm_px_value(r, i, 8);
            x->passed = !PQgetisnull(r, i, 9) && strcmp(PQgetvalue(r, i, 9), "true") == 0;
            x->summary = server_text(stpm_px_value(r, i, 10));
            x->evidence = stpm_px_value(r, i, 11);
        }
    }
    if (!allowed) {
        stpm_error_set(err, STPM_EREFUSED, "transition %s of project %s is refused", transition,
                       code);
        proj_report_detail(rep, err);
        if (!PQgetisnull(r, 0, 6))
            stpm_error_hint(err, "The refusal and the evidence of the failed checks are recorded "
                                 "in the project's history.");
        return STPM_EREFUSED;
    }
    res->to = stpm_px_value(r, 0, 2);
    res->event_hash = stpm_px_value(r, 0, 4);
    res->changes = stpm_px_value(r, 0, 5);
    return 0;
}

/* The user's FIELD=VALUE as a JSON object for the server (types checked here first, so
 * that a typing mistake is named the same way in a dry run and a real one). */
static int sets_object(proj_snap *s, const char *transition, const stpm_advance_options *o,
                       char **obj, stpm_error *err)
{
    char *inner = NULL;
    int rc = overlay_sets(s, transition, o, &inner, err);
    if (rc == 0 && !(*obj = stpm_asprintf("{%s}", inner)))
        rc = stpm_error_set(err, STPM_ERROR, "out of memory");
    free(inner);
    return rc;
}

/* A dry run: the C engine decides on the snapshot inside a transaction that is rolled
 * back (attachments included), so nothing is written. */
static int advance_dry(stpm_db *db, proj_snap *s, const char *transition,
                       const stpm_advance_options *o, stpm_advance_result *res, stpm_error *err)
{
    char *inner = NULL, *to = NULL, *changes = NULL;
    int rc = overlay_sets(s, transition, o, &inner, err);
    if (rc < 0)
        goto cleanup;
    if ((rc = stpm_query_simple(db, "BEGIN", "cannot advance project", err)) < 0)
        goto cleanup;
    rc = attach_all(db, s, o, err);
    if (rc == 0)
        rc = proj_decide(db, s, transition, o, inner, &res->report, &to, &changes, err);
    stpm_query_rollback(db);
    res->code = stpm_strdup(s->code);
    res->from = stpm_strdup(s->state);
    res->row_version = s->row_version;
    res->dry_run = true;
    if (rc < 0)
        goto cleanup;
    res->to = stpm_strdup(to);
    res->changes = stpm_strdup(changes);
cleanup:
    free(inner);
    free(to);
    free(changes);
    return rc;
}

/* The documents of --attach for the server: kinds and file names as array literals, the
 * contents read into memory (checked against the workflow's declared kinds first, so that
 * a dry run and a real one name the same problem). */
typedef struct attachments {
    stpm_strbuf kinds, names;
    char **contents;
    int *lens;
    size_t n;
} attachments;

static void attachments_free(attachments *a)
{
    for (size_t i = 0; i < a->n; i++)
        free(a->contents[i]);
    free(a->contents);
    free(a->lens);
    stpm_strbuf_free(&a->kinds);
    stpm_strbuf_free(&a->names);
}

static int attachments_read(const proj_snap *s, const stpm_advance_options *o, attachments *a,
                            stpm_error *err)
{
    int rc = 0;
    a->contents = calloc(o->n_attachments + 1, sizeof(*a->contents));
    a->lens = calloc(o->n_attachments + 1, sizeof(*a->lens));
    if (!a->contents || !a->lens)
        return stpm_error_set(err, STPM_ERROR, "out of memory");
    for (size_t i = 0; i < o->n_attachments; i++) {
        const stpm_project_attachment *at = &o->attachments[i];
        size_t len = 0;
        if ((rc = proj_check_kind(s->wf, at->kind, err)) < 0)
            return rc;
        if ((rc = stpm_read_file(at->path, "document", STPM_PROJECT_MAX_DOCUMENT, &a->contents[i],
                                 &len, err)) < 0)
            return rc;
        a->lens[i] = (int)len;
        a->n++;
        const char *base = strrchr(at->path, '/');
        stpm_strbuf_array_item(&a->kinds, at->kind);
        stpm_strbuf_array_item(&a->names, base ? base + 1 : at->path);
    }
    stpm_strbuf_array_end(&a->kinds);
    stpm_strbuf_array_end(&a->names);
    if (a->kinds.oom || a->names.oom)
        return stpm_error_set(err, STPM_ERROR, "out of memory");
    return 0;
}

/* Call stpm.project_advance with the documents' contents as binary parameters. */
static int advance_call(stpm_db *db, const char *const *p9, const attachments *a, PGresult **out,
                        stpm_error *err)
{
    stpm_strbuf sql = STPM_STRBUF_INIT;
    size_t n = 9 + a->n;
    const char **params = calloc(n, sizeof(*params));
    int *lens = calloc(n, sizeof(*lens)), *fmts = calloc(n, sizeof(*fmts));
    int rc = 0;
    if (!params || !lens || !fmts) {
        rc = stpm_error_set(err, STPM_ERROR, "out of memory");
        goto cleanup;
    }
    stpm_strbuf_puts(&sql, ADVANCE_SQL_HEAD "ARRAY[");
    for (size_t i = 0; i < 9; i++)
        params[i] = p9[i];
    params[6] = stpm_strbuf_str(&a->kinds);
    params[7] = stpm_strbuf_str(&a->names);
    for (size_t i = 0; i < a->n; i++) {
        stpm_strbuf_printf(&sql, "%s$%zu::bytea", i ? ", " : "", i + 10);
        params[9 + i] = a->contents[i];
        lens[9 + i] = a->lens[i];
        fmts[9 + i] = 1;
    }
    stpm_strbuf_puts(&sql, "]" ADVANCE_SQL_TAIL);
    if (sql.oom) {
        rc = stpm_error_set(err, STPM_ERROR, "out of memory");
        goto cleanup;
    }
    *out = PQexecParams(db->conn, stpm_strbuf_str(&sql), (int)n, NULL, params, lens, fmts, 0);
    if (PQresultStatus(*out) != PGRES_TUPLES_OK) {
        rc = stpm_pg_error(err, db->conn, *out, "cannot advance project");
        PQclear(*out);
        *out = NULL;
    }
cleanup:
    free(params);
    free(lens);
    free(fmts);
    stpm_strbuf_free(&sql);
    return rc;
}

/* One try of a transition: the server attaches, decides and writes in one call
 * (stpm.project_advance). */
static int advance_once(stpm_db *db, const char *code, const char *transition,
                        const stpm_advance_options *o, stpm_advance_result *res, stpm_error *err)
{
    proj_snap s;
    attachments a = {STPM_STRBUF_INIT, STPM_STRBUF_INIT, NULL, NULL, 0};
    char *sets = NULL, today[11];
    PGresult *r = NULL;
    int rc = 0;
    memset(&s, 0, sizeof(s));
    /* Nothing to parse or attach: no snapshot is needed, the server does everything in one
     * round trip; "*" has it report a change made while it waited for the locks as a
     * conflict (exit 4). Else the snapshot types the sets, checks the document kinds and
     * gives the state the caller saw. */
    bool lean = !o->dry_run && !o->n_sets && !o->n_attachments;
    if (!lean) {
        if ((rc = proj_snap_load(db, code, &s, err)) < 0)
            return rc;
        if ((rc = proj_require_writer(&s, err)) < 0)
            goto cleanup;
        if (o->dry_run) {
            rc = advance_dry(db, &s, transition, o, res, err);
            goto cleanup;
        }
        if ((rc = sets_object(&s, transition, o, &sets, err)) < 0 ||
            (rc = attachments_read(&s, o, &a, err)) < 0)
            goto cleanup;
    }
    const char *p[] = {code,
                       transition,
                       stpm_date_format(o->today, today),
                       sets ? sets : "{}",
                       o->reason,
                       o->by_timer ? "true" : "false",
                       "{}",
                       "{}",
                       lean ? "*" : s.state};
    if (a.n == 0)
        rc = stpm_query_prepared(db, STPM_STMT_PROJECT_WRITE, proj_advance_sql,
                                 PROJ_ADVANCE_NPARAMS, p, &r, "cannot advance project", err);
    else
        rc = advance_call(db, p, &a, &r, err);
    if (rc == 0) {
        rc = proj_advance_outcome(r, code, transition, res, err);
    } else if (lean && rc == STPM_EPERM && proj_snap_load(db, code, &s, NULL) == 0 && !s.roles) {
        /* an auditor: say so, not "permission denied for function" */
        stpm_error_clear(err);
        rc = proj_require_writer(&s, err);
    }
cleanup:
    PQclear(r);
    free(sets);
    attachments_free(&a);
    proj_snap_clear(&s);
    return rc;
}

int stpm_project_advance(stpm_db *db, const char *code, const char *transition,
                         const stpm_advance_options *opts, stpm_advance_result *result,
                         stpm_error *err)
{
    stpm_advance_result local = {0};
    stpm_advance_result *res = result ? result : &local;
    int rc = 0;
    for (int attempt = 1; attempt <= ADVANCE_TRIES; attempt++) {
        stpm_advance_result_clear(res);
        stpm_error_clear(err);
        rc = advance_once(db, code, transition, opts, res, err);
        /* Only a deadlock is retried: "changed meanwhile" (40001) is the answer the user
         * gets — the project moved on while it was being decided (exit 4). */
        if (!(rc == STPM_ECONFLICT && err && strcmp(err->sqlstate, "40P01") == 0))
            break;
    }
    stpm_advance_result_clear(&local);
    return rc;
}

void stpm_project_why_free(stpm_transition_report *reports, size_t n)
{
    for (size_t i = 0; reports && i < n; i++)
        stpm_transition_report_clear(&reports[i]);
    free(reports);
}

int stpm_project_why(stpm_db *db, const char *code, stpm_date today, char **state,
                     stpm_transition_report **reports, size_t *n, stpm_error *err)
{
    *state = NULL;
    *reports = NULL;
    *n = 0;
    proj_snap s;
    stpm_engine_options opts = {0};
    stpm_transition_report *reps = NULL;
    stpm_engine_check_result *checks = NULL;
    const stpm_calendar *cal = NULL;
    size_t nt = 0, nchecks = 0;
    int rc = proj_snap_load(db, code, &s, err);
    if (rc < 0)
        return rc;
    if ((rc = stpm_store_calendar(db, &cal, err)) < 0)
        goto out;
    /* One report per transition leaving the state, each with its own checks run. */
    for (size_t i = 0; i < stpm_workflow_n_transitions(s.wf); i++)
        if (stpm_wf_transition_leaves(stpm_workflow_transition(s.wf, i), s.state))
            nt++;
    reps = calloc(nt + 1, sizeof(*reps));
    if (!reps) {
        rc = stpm_error_set(err, STPM_ERROR, "out of memory");
        goto out;
    }
    stpm_advance_options o = STPM_ADVANCE_OPTIONS_INIT;
    o.today = today;
    size_t k = 0;
    for (size_t i = 0; i < stpm_workflow_n_transitions(s.wf); i++) {
        const stpm_wf_transition *t = stpm_workflow_transition(s.wf, i);
        if (!stpm_wf_transition_leaves(t, s.state))
            continue;
        if ((rc = run_checks(db, &s, t, today, &reps[k], err)) < 0)
            goto out;
        nchecks += reps[k].n_checks;
        k++;
    }
    checks = calloc(nchecks + 1, sizeof(*checks));
    if (!checks) {
        rc = stpm_error_set(err, STPM_ERROR, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < nt; i++) {
        stpm_engine_fields fields = {s.fields, s.n_fields};
        stpm_engine_ctx ctx;
        engine_ctx(&s, &o, cal, &fields, checks, &reps[i], &ctx);
        /* A reason is not needed to see why: the report says whether one is required. */
        stpm_engine_option opt = {0};
        const stpm_wf_transition *t = NULL;
        for (size_t j = 0, m = 0; j < stpm_workflow_n_transitions(s.wf); j++) {
            const stpm_wf_transition *c = stpm_workflow_transition(s.wf, j);
            if (stpm_wf_transition_leaves(c, s.state) && m++ == i)
                t = c;
        }
        if (!t) {
            rc = stpm_error_set(err, STPM_ERROR, "transition %zu of state %s vanished", i, s.state);
            goto out;
        }
        if ((rc = stpm_engine_evaluate(s.wf, &ctx, t->name, &opt, err)) < 0)
            goto out;
        rc = fill_report(&opt, &reps[i], err);
        stpm_engine_option_clear(&opt);
        if (rc < 0)
            goto out;
    }
    *state = stpm_strdup(s.state);
    *reports = reps;
    *n = nt;
    reps = NULL;
out:
    stpm_project_why_free(reps, nt);
    stpm_engine_options_free(&opts);
    free(checks);
    proj_snap_clear(&s);
    return rc;
}

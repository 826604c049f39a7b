/* Transitions: project advance and project why (see stpm/project.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "project/project_internal.h"
#include "project/px.h"
#include "stpm/integrity.h"
#include "store/query.h"
#include "store/wf_store_internal.h"

/* How often a transition is retried after a serialisation failure or deadlock. */
#define ADVANCE_TRIES 4

const char proj_write_sql[] =
    "WITH u AS (UPDATE stpm.projects p SET state = $3, state_since = $4::date,"
    "   amount_requested = CASE WHEN $5::jsonb ? 'amount_requested'"
    "     THEN ($5::jsonb->>'amount_requested')::numeric ELSE p.amount_requested END,"
    "   amount_approved = CASE WHEN $5::jsonb ? 'amount_approved'"
    "     THEN ($5::jsonb->>'amount_approved')::numeric ELSE p.amount_approved END,"
    "   start_date = CASE WHEN $5::jsonb ? 'start_date'"
    "     THEN ($5::jsonb->>'start_date')::date ELSE p.start_date END,"
    "   due_date = CASE WHEN $5::jsonb ? 'due_date'"
    "     THEN ($5::jsonb->>'due_date')::date ELSE p.due_date END,"
    "   closed_date = CASE WHEN $5::jsonb ? 'closed_date'"
    "     THEN ($5::jsonb->>'closed_date')::date ELSE p.closed_date END,"
    "   extensions = CASE WHEN $5::jsonb ? 'extensions'"
    "     THEN coalesce(($5::jsonb->>'extensions')::int, 0) ELSE p.extensions END,"
    "   fields = jsonb_strip_nulls(p.fields || ($5::jsonb - '{amount_requested,amount_approved,"
    "start_date,due_date,closed_date,extensions}'::text[])),"
    "   row_version = p.row_version + 1, updated_at = now()"
    "   WHERE p.id = $1 AND p.row_version = $2 RETURNING p.id)"
    " INSERT INTO stpm.events (chain, project_id, on_date, kind, transition, from_state, to_state,"
    "   reason, data)"
    " SELECT 'project:' || u.id, u.id, $4::date, 'transition', $6, $7, $3, $8, $9::jsonb FROM u"
    " RETURNING hash";

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
    ctx->reason_given = o->reason && *o->reason;
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
                const char *user_sets, const char *documents_json, stpm_transition_report *report,
                char **to_state, char **changes_json, char **data_json, stpm_error *err)
{
    *to_state = *changes_json = *data_json = NULL;
    stpm_engine_check_result *checks = NULL;
    stpm_engine_option opt = {0};
    stpm_engine_result res = {0};
    stpm_strbuf changes = STPM_STRBUF_INIT, data = STPM_STRBUF_INIT;
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
    stpm_strbuf_printf(&data, "{\"workflow\": \"%s\", \"version\": %d, \"set\": %s, \"checks\": [",
                       stpm_workflow_name(s->wf), stpm_workflow_version(s->wf),
                       stpm_strbuf_str(&changes));
    for (size_t i = 0; i < report->n_checks; i++)
        stpm_strbuf_printf(&data, "%s%s", i ? ", " : "",
                           report->checks[i].evidence ? report->checks[i].evidence : "null");
    stpm_strbuf_printf(&data, "], \"documents\": %s, \"by_timer\": %s}",
                       documents_json ? documents_json : "[]", o->by_timer ? "true" : "false");
    if (changes.oom || data.oom) {
        rc = stpm_error_set(err, STPM_ERROR, "out of memory");
        goto out;
    }
    *to_state = stpm_strdup(res.to);
    *changes_json = stpm_strbuf_detach(&changes);
    *data_json = stpm_strbuf_detach(&data);
out:
    free(checks);
    stpm_engine_option_clear(&opt);
    stpm_engine_result_clear(&res);
    stpm_strbuf_free(&changes);
    stpm_strbuf_free(&data);
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

/* Attach the files of the transition inside its transaction; their digests as JSON. */
static int attach_all(stpm_db *db, proj_snap *s, const stpm_advance_options *o, char **json,
                      stpm_error *err)
{
    stpm_strbuf sb = STPM_STRBUF_INIT;
    int rc = 0;
    stpm_strbuf_putc(&sb, '[');
    for (size_t i = 0; i < o->n_attachments; i++) {
        char sha[65] = {0};
        bool already = false;
        const stpm_project_attachment *a = &o->attachments[i];
        if ((rc = proj_attach_id(db, s->wf, s->id, a->kind, a->path, o->today, &already, sha,
                                 err)) < 0)
            break;
        stpm_strbuf_printf(&sb, "%s{\"kind\": ", i ? ", " : "");
        stpm_px_json_string(&sb, a->kind);
        stpm_strbuf_printf(&sb, ", \"sha256\": \"%s\", \"new\": %s}", sha,
                           already ? "false" : "true");
        char **grown = realloc(s->documents, (s->n_documents + 1) * sizeof(*grown));
        if (!grown || !(grown[s->n_documents] = stpm_strdup(a->kind))) {
            if (grown)
                s->documents = grown;
            rc = stpm_error_set(err, STPM_ERROR, "out of memory");
            break;
        }
        s->documents = grown;
        s->n_documents++;
    }
    stpm_strbuf_putc(&sb, ']');
    if (rc == 0 && sb.oom)
        rc = stpm_error_set(err, STPM_ERROR, "out of memory");
    *json = rc == 0 ? stpm_strbuf_detach(&sb) : NULL;
    stpm_strbuf_free(&sb);
    return rc;
}

static int conflict(const proj_snap *s, stpm_error *err)
{
    stpm_error_set(err, STPM_ECONFLICT, "project %s changed while the transition was decided",
                   s->code);
    stpm_error_detail(err, "It was in state %s at row version %d; another change came first.",
                      s->state, s->row_version);
    stpm_error_hint(err, "Look at it again with \"stpm project why %s\" and retry.", s->code);
    return STPM_ECONFLICT;
}

/* One try of a transition. */
static int advance_once(stpm_db *db, const char *code, const char *transition,
                        const stpm_advance_options *o, stpm_advance_result *res, stpm_error *err)
{
    proj_snap s;
    char *inner = NULL, *docs = NULL, *to = NULL, *changes = NULL, *data = NULL;
    PGresult *r = NULL;
    bool tx = false;
    int rc = proj_snap_load(db, code, &s, err);
    if (rc < 0)
        return rc;
    if ((rc = proj_require_writer(&s, err)) < 0)
        goto out;
    if ((rc = overlay_sets(&s, transition, o, &inner, err)) < 0)
        goto out;
    if (o->n_attachments || o->dry_run) {
        if ((rc = stpm_query_simple(db, "BEGIN", "cannot advance project", err)) < 0)
            goto out;
        tx = true;
    }
    if ((rc = attach_all(db, &s, o, &docs, err)) < 0)
        goto out;
    rc = proj_decide(db, &s, transition, o, inner, docs, &res->report, &to, &changes, &data, err);
    res->code = stpm_strdup(s.code);
    res->from = stpm_strdup(s.state);
    res->row_version = s.row_version;
    res->dry_run = o->dry_run;
    if (rc < 0)
        goto out;
    res->to = stpm_strdup(to);
    res->changes = stpm_strdup(changes);
    if (o->dry_run)
        goto out;
    char ver[16], today[11];
    snprintf(ver, sizeof(ver), "%d", s.row_version);
    const char *p[] = {s.id,    ver,        to,      stpm_date_format(o->today, today),
                       changes, transition, s.state, o->reason && *o->reason ? o->reason : NULL,
                       data};
    rc = stpm_query_prepared(db, STPM_STMT_PROJECT_WRITE, proj_write_sql, PROJ_WRITE_NPARAMS, p, &r,
                             "cannot advance project", err);
    if (rc < 0)
        goto out;
    if (PQntuples(r) == 0) {
        rc = conflict(&s, err);
        goto out;
    }
    res->row_version = s.row_version + 1;
    res->event_hash = stpm_strdup(PQgetvalue(r, 0, 0));
    if (tx) {
        rc = stpm_query_simple(db, "COMMIT", "cannot advance project", err);
        tx = false;
    }
out:
    if (tx)
        stpm_query_rollback(db);
    PQclear(r);
    free(inner);
    free(docs);
    free(to);
    free(changes);
    free(data);
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
        if (!(rc == STPM_ECONFLICT && stpm_query_retryable(err)))
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

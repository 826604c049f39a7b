/* Projects: create, list, show, history, attach (see stpm/project.h). */
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "project/project_internal.h"
#include "project/px.h"
#include "store/query.h"
#include "store/rows_internal.h"
#include "store/wf_store_internal.h"
#include "util/readfile.h"

/* ---- filters ---- */

const char proj_filter_sql[] =
    " FROM stpm.projects p"
    " JOIN stpm.plans pl ON pl.id = p.plan_id"
    " JOIN stpm.orgs o ON o.id = p.org_id"
    " JOIN stpm.leaders l ON l.id = p.leader_id"
    " JOIN stpm.workflows w ON w.id = p.workflow_id"
    " LEFT JOIN stpm.workflow_states ws ON ws.workflow_id = p.workflow_id AND ws.name = p.state"
    " WHERE ($1::text IS NULL OR p.state = $1) AND ($2::text IS NULL OR pl.code = $2)"
    " AND ($3::text IS NULL OR pl.level = $3) AND ($4::int IS NULL OR p.year = $4)"
    " AND ($5::text IS NULL OR o.town = $5) AND ($6::text IS NULL OR o.uscc = $6)"
    " AND ($7::text IS NULL OR p.code = $7)"
    " AND (NOT $8::bool OR EXISTS (SELECT 1 FROM stpm.project_overdue(p.id, $9::date)))";

/* `project list`: the same filters on the state each project was in at the end of $9 (the
 * last period of stpm.project_states that began by then; projects created later are not
 * listed), overdue as stpm.project_overdue has it (应结未结, docs/audit.md). */
static const char list_sql[] =
    "SELECT p.code, p.title, o.name AS org_name, o.town, pl.code AS plan,"
    " pl.level, p.year, p.field, st.state, st.from_date::text AS state_since, l.name AS leader,"
    " st.due::text AS due, od.due IS NOT NULL AS overdue"
    " FROM stpm.projects p"
    " JOIN stpm.plans pl ON pl.id = p.plan_id"
    " JOIN stpm.orgs o ON o.id = p.org_id"
    " JOIN stpm.leaders l ON l.id = p.leader_id"
    " CROSS JOIN LATERAL (SELECT x.state, x.from_date, x.due FROM stpm.project_states x"
    "   WHERE x.project_id = p.id AND x.from_date <= $9::date ORDER BY x.seq DESC LIMIT 1) st"
    " LEFT JOIN LATERAL (SELECT min(y.due) AS due FROM stpm.project_overdue(p.id, $9::date) y)"
    "   od ON true"
    " WHERE ($1::text IS NULL OR st.state = $1) AND ($2::text IS NULL OR pl.code = $2)"
    " AND ($3::text IS NULL OR pl.level = $3) AND ($4::int IS NULL OR p.year = $4)"
    " AND ($5::text IS NULL OR o.town = $5) AND ($6::text IS NULL OR o.uscc = $6)"
    " AND ($7::text IS NULL OR p.code = $7)"
    " AND (NOT $8::bool OR od.due IS NOT NULL)"
    " ORDER BY p.code";

void proj_filter_params(const stpm_project_filter *f, stpm_date today, const char *params[9],
                        char year_buf[16], char today_buf[11])
{
    snprintf(year_buf, 16, "%d", f->year);
    stpm_date_format(today, today_buf);
    params[0] = f->state;
    params[1] = f->plan;
    params[2] = f->level;
    params[3] = f->year ? year_buf : NULL;
    params[4] = f->town;
    params[5] = f->org;
    params[6] = f->code;
    params[7] = f->overdue ? "t" : "f";
    params[8] = today_buf;
}

void stpm_project_filter_clear(stpm_project_filter *f)
{
    if (!f)
        return;
    free(f->state);
    free(f->plan);
    free(f->level);
    free(f->town);
    free(f->org);
    free(f->code);
    memset(f, 0, sizeof(*f));
}

int stpm_project_filter_parse(const char *where, stpm_project_filter *f, stpm_error *err)
{
    int rc = 0, terms = 0;
    const char *p = where;
    while (rc == 0) {
        p += strspn(p, " \t\n\r");
        if (!*p)
            break;
        terms++;
        size_t n = strcspn(p, " \t\n\r");
        char *term = stpm_strndup(p, n);
        if (!term)
            return stpm_error_set(err, STPM_ERROR, "out of memory");
        p += n;
        char *eq = strchr(term, '=');
        char **slot = NULL;
        if (!eq) {
            if (strcmp(term, "overdue") == 0)
                f->overdue = true;
            else
                rc = stpm_error_set(err, STPM_EUSAGE, "invalid condition \"%s\" in --where", term);
        } else {
            *eq = '\0';
            const char *v = eq + 1;
            if (!strcmp(term, "state"))
                slot = &f->state;
            else if (!strcmp(term, "plan"))
                slot = &f->plan;
            else if (!strcmp(term, "level"))
                slot = &f->level;
            else if (!strcmp(term, "town"))
                slot = &f->town;
            else if (!strcmp(term, "org"))
                slot = &f->org;
            else if (!strcmp(term, "code"))
                slot = &f->code;
            if (slot) {
                free(*slot);
                *slot = stpm_strdup(v);
            } else if (!strcmp(term, "year")) {
                char *end = NULL;
                long y = strtol(v, &end, 10);
                if (!*v || *end || y < 1990 || y > 2100)
                    rc = stpm_error_set(err, STPM_EUSAGE, "invalid year \"%s\" in --where", v);
                else
                    f->year = (int)y;
            } else {
                rc = stpm_error_set(err, STPM_EUSAGE, "unknown key \"%s\" in --where", term);
            }
            if (rc == 0 && !*v)
                rc = stpm_error_set(err, STPM_EUSAGE, "empty value for \"%s\" in --where", term);
        }
        if (rc < 0)
            stpm_error_hint(err, "Write conditions as KEY=VALUE separated by spaces, with the keys "
                                 "state, plan, level, year, town, org and code, or overdue.");
        free(term);
    }
    if (rc == 0 && terms == 0) {
        rc = stpm_error_set(err, STPM_EUSAGE, "--where needs at least one condition");
        stpm_error_hint(err, "An empty --where would select every project: write KEY=VALUE "
                             "conditions such as state=applied plan=PKRD.");
    }
    return rc;
}

/* ---- create ---- */

/* The JSON object of the user's FIELD=VALUE assignments, checked against wf. */
static int sets_json(const stpm_workflow *wf, const char *const *sets, size_t n, stpm_strbuf *out,
                     stpm_error *err)
{
    stpm_strbuf_putc(out, '{');
    for (size_t i = 0; i < n; i++) {
        const stpm_wf_field *f = NULL;
        stpm_value v;
        int rc = proj_parse_set(wf, sets[i], NULL, &f, &v, err);
        if (rc < 0)
            return rc;
        if (i)
            stpm_strbuf_puts(out, ", ");
        stpm_px_json_string(out, f->name);
        stpm_strbuf_puts(out, ": ");
        proj_json_value(out, &v);
        stpm_value_clear(&v);
    }
    stpm_strbuf_putc(out, '}');
    return out->oom ? stpm_error_set(err, STPM_ERROR, "out of memory") : 0;
}

/* The workflow's own fields with a default, as a JSON object. */
void proj_defaults_json(const stpm_workflow *wf, stpm_strbuf *out)
{
    stpm_strbuf_putc(out, '{');
    bool first = true;
    for (size_t i = 0; i < stpm_workflow_n_fields(wf); i++) {
        const stpm_wf_field *f = stpm_workflow_field(wf, i);
        if (f->builtin || !f->has_default)
            continue;
        if (!first)
            stpm_strbuf_puts(out, ", ");
        first = false;
        stpm_px_json_string(out, f->name);
        stpm_strbuf_puts(out, ": ");
        proj_json_value(out, &f->default_value);
    }
    stpm_strbuf_putc(out, '}');
}

/* stpm.project_create and stpm.reserve_promote (migrations/072) write the project, its
 * leader, its code and its 'create' event (the promotion also links the entry). */
static const char create_sql[] =
    "SELECT stpm.project_create($1, $2, $3::uuid, $4, $5, $6::int, $7, $8, $9::jsonb, $10::jsonb,"
    " $11::date)";
static const char promote_sql[] =
    "SELECT stpm.reserve_promote($1::uuid, $2, $3::uuid, $4, $5::int, $6, $7::jsonb, $8::jsonb,"
    " $9::date)";

int stpm_project_create(stpm_db *db, const stpm_project_new *spec, char **code, stpm_error *err)
{
    *code = NULL;
    PGresult *r = NULL, *w = NULL;
    stpm_strbuf sets = STPM_STRBUF_INIT, defaults = STPM_STRBUF_INIT;
    int rc = 0;
    if (!spec->plan || !spec->org || !spec->title || !spec->leader || !*spec->title ||
        !*spec->leader)
        return stpm_error_set(err, STPM_EUSAGE,
                              "a project needs a plan, an org, a title and a leader");
    const char *p1[] = {spec->plan, spec->org};
    r = stpm_px_exec(db,
                     "SELECT pl.id, pl.workflow_name, wv.id, wv.version, o.id, pl.code"
                     " FROM (SELECT 1) x"
                     " LEFT JOIN stpm.plans pl ON pl.code = $1"
                     " LEFT JOIN stpm.orgs o ON o.uscc = $2"
                     " LEFT JOIN LATERAL (SELECT id, version FROM stpm.workflows"
                     "   WHERE name = pl.workflow_name ORDER BY version DESC LIMIT 1) wv ON true",
                     2, p1, PGRES_TUPLES_OK, "cannot create project", &rc, err);
    if (!r)
        goto out;
    if (PQgetisnull(r, 0, 0)) {
        rc = stpm_error_set(err, STPM_ENOTFOUND, "plan %s does not exist", spec->plan);
        stpm_error_hint(err, "\"stpm plan list\" shows the plans.");
        goto out;
    }
    if (PQgetisnull(r, 0, 4)) {
        rc = stpm_error_set(err, STPM_ENOTFOUND, "organisation %s does not exist", spec->org);
        stpm_error_hint(err, "Add it with \"stpm org add\" or import a survey first.");
        goto out;
    }
    if (PQgetisnull(r, 0, 2)) {
        rc = stpm_error_set(err, STPM_ENOTFOUND, "workflow %s of plan %s is not stored",
                            PQgetvalue(r, 0, 1), spec->plan);
        stpm_error_hint(err, "Load it with \"stpm workflow load FILE\".");
        goto out;
    }
    const stpm_workflow *wf = NULL;
    rc = stpm_wfstore_by_id(db, PQgetvalue(r, 0, 2), &wf, err);
    if (rc < 0)
        goto out;
    rc = sets_json(wf, spec->sets, spec->n_sets, &sets, err);
    if (rc < 0)
        goto out;
    proj_defaults_json(wf, &defaults);
    int year = spec->year;
    if (!year) {
        int m, d;
        stpm_date_to_ymd(spec->today, &year, &m, &d);
    }
    char ybuf[16], today[11];
    snprintf(ybuf, sizeof(ybuf), "%d", year);
    stpm_date_format(spec->today, today);
    if (spec->reserve_entry) {
        const char *p2[] = {spec->reserve_entry,
                            PQgetvalue(r, 0, 5),
                            PQgetvalue(r, 0, 2),
                            spec->leader,
                            ybuf,
                            stpm_workflow_initial(wf),
                            stpm_strbuf_str(&defaults),
                            stpm_strbuf_str(&sets),
                            today};
        rc = stpm_query_call(db, promote_sql, 9, p2, &w, "cannot create project", err);
    } else {
        const char *p2[] = {PQgetvalue(r, 0, 5),
                            spec->org,
                            PQgetvalue(r, 0, 2),
                            spec->title,
                            spec->leader,
                            ybuf,
                            spec->field,
                            stpm_workflow_initial(wf),
                            stpm_strbuf_str(&defaults),
                            stpm_strbuf_str(&sets),
                            today};
        rc = stpm_query_call(db, create_sql, 11, p2, &w, "cannot create project", err);
    }
    if (rc < 0)
        goto out;
    *code = stpm_strdup(PQgetvalue(w, 0, 0));
    if (!*code)
        rc = stpm_error_set(err, STPM_ERROR, "out of memory");
out:
    PQclear(r);
    PQclear(w);
    stpm_strbuf_free(&sets);
    stpm_strbuf_free(&defaults);
    return rc;
}

/* ---- list, show, history ---- */

static int rows_or_oom(PGresult *r, stpm_rows **out, stpm_error *err)
{
    *out = stpm_rows_from_pg(r);
    return *out ? 0 : stpm_error_set(err, STPM_ERROR, "out of memory");
}

int stpm_project_list(stpm_db *db, const stpm_project_filter *f, stpm_date today, stpm_rows **out,
                      stpm_error *err)
{
    *out = NULL;
    static const stpm_project_filter none = STPM_PROJECT_FILTER_INIT;
    const char *params[9];
    char ybuf[16], tbuf[11];
    proj_filter_params(f ? f : &none, today, params, ybuf, tbuf);
    int rc = 0;
    PGresult *r =
        stpm_px_exec(db, list_sql, 9, params, PGRES_TUPLES_OK, "cannot list projects", &rc, err);
    if (!r)
        return rc;
    return rows_or_oom(r, out, err);
}

static int not_found(PGresult *r, const char *code, stpm_error *err)
{
    if (PQntuples(r) > 0)
        return 0;
    PQclear(r);
    stpm_error_set(err, STPM_ENOTFOUND, "project %s does not exist", code);
    stpm_error_hint(err, "\"stpm project list\" shows the projects.");
    return STPM_ENOTFOUND;
}

static const char show_from[] =
    " FROM stpm.projects p"
    " JOIN stpm.plans pl ON pl.id = p.plan_id JOIN stpm.orgs o ON o.id = p.org_id"
    " JOIN stpm.leaders l ON l.id = p.leader_id JOIN stpm.workflows w ON w.id = p.workflow_id"
    " LEFT JOIN stpm.workflow_states ws ON ws.workflow_id = p.workflow_id AND ws.name = p.state"
    " WHERE p.code = $1";

int stpm_project_show(stpm_db *db, const char *code, stpm_date today, stpm_rows **out,
                      stpm_error *err)
{
    *out = NULL;
    char tbuf[11];
    const char *p[] = {code, stpm_date_format(today, tbuf)};
    int rc = 0;
    stpm_strbuf sql = STPM_STRBUF_INIT;
    stpm_strbuf_puts(
        &sql,
        "SELECT p.code, p.title, o.uscc AS org, o.name AS org_name, o.town, l.name AS leader,"
        " pl.code AS plan, pl.name AS plan_name, pl.level, pl.funded, p.year, p.field,"
        " w.name || '@' || w.version AS workflow, p.state, ws.label AS state_label,"
        " p.state_since::text, coalesce(ws.closed, false) AS closed,"
        " stpm.project_due(p, ws.due_field)::text AS due,"
        " EXISTS (SELECT 1 FROM stpm.project_overdue(p.id, $2::date)) AS overdue,"
        " round(p.amount_requested, 2) AS amount_requested,"
        " round(p.amount_approved, 2) AS amount_approved, p.start_date::text,"
        " p.due_date::text,"
        " p.closed_date::text, p.extensions, p.fields::text AS fields,"
        " (SELECT string_agg(format('%s %s (%s bytes, sha256 %s)', d.kind, d.file_name, d.size,"
        "   left(d.sha256, 12)), '; ' ORDER BY d.attached_at) FROM stpm.documents d"
        "   WHERE d.project_id = p.id) AS documents,"
        " (SELECT string_agg(format('%s %s %s', c.kind, coalesce(c.done_on, c.scheduled_on),"
        "   coalesce(c.outcome, 'scheduled')), '; ' ORDER BY c.scheduled_on) FROM stpm.checks c"
        "   WHERE c.project_id = p.id) AS checks,"
        " p.row_version, p.id::text");
    stpm_strbuf_puts(&sql, show_from);
    PGresult *r = stpm_px_exec(db, stpm_strbuf_str(&sql), 2, p, PGRES_TUPLES_OK,
                               "cannot show project", &rc, err);
    stpm_strbuf_free(&sql);
    if (!r)
        return rc;
    if ((rc = not_found(r, code, err)) < 0)
        return rc;
    return rows_or_oom(r, out, err);
}

int stpm_project_show_json(stpm_db *db, const char *code, stpm_date today, char **json,
                           stpm_error *err)
{
    *json = NULL;
    char tbuf[11];
    const char *p[] = {code, stpm_date_format(today, tbuf)};
    int rc = 0;
    stpm_strbuf sql = STPM_STRBUF_INIT;
    stpm_strbuf_puts(
        &sql,
        "SELECT json_build_object('code', p.code, 'id', p.id, 'title', p.title,"
        " 'org', json_build_object('uscc', o.uscc, 'name', o.name, 'town', o.town),"
        " 'leader', l.name,"
        " 'plan', json_build_object('code', pl.code, 'name', pl.name, 'level', pl.level,"
        "   'funded', pl.funded),"
        " 'year', p.year, 'field', p.field,"
        " 'workflow', json_build_object('name', w.name, 'version', w.version),"
        " 'state', p.state, 'state_label', ws.label, 'state_since', p.state_since,"
        " 'closed', coalesce(ws.closed, false), 'due', stpm.project_due(p, ws.due_field),"
        " 'overdue', EXISTS (SELECT 1 FROM stpm.project_overdue(p.id, $2::date)),"
        " 'amount_requested', p.amount_requested, 'amount_approved', p.amount_approved,"
        " 'start_date', p.start_date, 'due_date', p.due_date, 'closed_date', p.closed_date,"
        " 'extensions', p.extensions, 'fields', p.fields,"
        " 'documents', (SELECT coalesce(json_agg(json_build_object('kind', d.kind,"
        "   'file_name', d.file_name, 'size', d.size, 'sha256', d.sha256,"
        "   'attached_at', d.attached_at, 'attached_by', d.attached_by) ORDER BY d.attached_at),"
        "   '[]') FROM stpm.documents d WHERE d.project_id = p.id),"
        " 'checks', (SELECT coalesce(json_agg(json_build_object('kind', c.kind,"
        "   'scheduled_on', c.scheduled_on, 'done_on', c.done_on, 'outcome', c.outcome,"
        "   'notes', c.notes) ORDER BY c.scheduled_on), '[]') FROM stpm.checks c"
        "   WHERE c.project_id = p.id),"
        " 'row_version', p.row_version, 'created_at', p.created_at)");
    stpm_strbuf_puts(&sql, show_from);
    PGresult *r = stpm_px_exec(db, stpm_strbuf_str(&sql), 2, p, PGRES_TUPLES_OK,
                               "cannot show project", &rc, err);
    stpm_strbuf_free(&sql);
    if (!r)
        return rc;
    if ((rc = not_found(r, code, err)) < 0)
        return rc;
    *json = stpm_strdup(PQgetvalue(r, 0, 0));
    PQclear(r);
    return *json ? 0 : stpm_error_set(err, STPM_ERROR, "out of memory");
}

int stpm_project_history(stpm_db *db, const char *code, stpm_rows **out, stpm_error *err)
{
    *out = NULL;
    const char *p[] = {code};
    int rc = 0;
    PGresult *r =
        stpm_px_exec(db,
                     "SELECT e.seq, e.on_date::text, e.actor, e.kind, e.transition, e.from_state,"
                     " e.to_state, e.reason, left(e.hash, 12) AS hash, e.data,"
                     " to_char(e.at, 'YYYY-MM-DD HH24:MI:SS') AS entered_at,"
                     " e.at::date - e.on_date > stpm.late_after_days() AS late"
                     " FROM stpm.projects p JOIN stpm.events e ON e.chain = 'project:' || p.id"
                     " WHERE p.code = $1 ORDER BY e.seq",
                     1, p, PGRES_TUPLES_OK, "cannot read history", &rc, err);
    if (!r)
        return rc;
    if ((rc = not_found(r, code, err)) < 0)
        return rc;
    return rows_or_oom(r, out, err);
}

/* ---- documents ---- */

/* Read a whole file (at most the limit) into *buf and hash it. */
static int read_document(const char *path, char **buf, size_t *len, char sha[65], stpm_error *err)
{
    int rc = stpm_read_file(path, "document", STPM_PROJECT_MAX_DOCUMENT, buf, len, err);
    if (rc < 0)
        return rc;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (!EVP_Digest(*buf, *len, md, &mdlen, EVP_sha256(), NULL)) {
        free(*buf);
        *buf = NULL;
        return stpm_error_set(err, STPM_ERROR, "cannot compute the digest of %s", path);
    }
    for (unsigned i = 0; i < mdlen && i < 32; i++)
        snprintf(sha + 2 * i, 3, "%02x", md[i]);
    return 0;
}

/* The server stores the document and its event, computing the digest and the size itself
 * and refusing a kind the pinned workflow does not declare (stpm.document_attach,
 * migrations/070_rules.sql). The digest computed here is compared with the server's. */
static const char attach_sql[] =
    "SELECT id, sha256, is_new FROM stpm.document_attach($1, $2, $3, $4, $5::date)";

int proj_check_kind(const stpm_workflow *wf, const char *kind, stpm_error *err)
{
    if (stpm_workflow_find_document(wf, kind))
        return 0;
    stpm_strbuf sb = STPM_STRBUF_INIT;
    for (size_t i = 0; i < stpm_workflow_n_documents(wf); i++) {
        const stpm_wf_document *d = stpm_workflow_document(wf, i);
        stpm_strbuf_printf(&sb, "%s%s (%s)", i ? ", " : "", d->kind, d->label);
    }
    stpm_error_set(err, STPM_EINPUT, "document kind \"%s\" is not declared by workflow %s", kind,
                   stpm_workflow_name(wf));
    if (stpm_workflow_n_documents(wf))
        stpm_error_detail(err, "The declared kinds are: %s.", sb.oom ? "?" : stpm_strbuf_str(&sb));
    else
        stpm_error_detail(err, "Workflow %s declares no document kinds.", stpm_workflow_name(wf));
    stpm_strbuf_free(&sb);
    return STPM_EINPUT;
}

int proj_attach_id(stpm_db *db, const stpm_workflow *wf, const char *code, const char *kind,
                   const char *path, stpm_date today, bool *already, char sha256[65],
                   char doc_id[37], stpm_error *err)
{
    char *buf = NULL, sha[65] = {0}, tbuf[11];
    size_t len = 0;
    int rc = proj_check_kind(wf, kind, err);
    if (rc < 0)
        return rc;
    rc = read_document(path, &buf, &len, sha, err);
    if (rc < 0)
        return rc;
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *p[] = {code, kind, base, buf, stpm_date_format(today, tbuf)};
    int lens[] = {0, 0, 0, (int)len, 0};
    int fmts[] = {0, 0, 0, 1, 0};
    PGresult *r = PQexecParams(db->conn, attach_sql, 5, NULL, p, lens, fmts, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
        rc = stpm_pg_error(err, db->conn, r, "cannot attach document");
    } else if (strcmp(PQgetvalue(r, 0, 1), sha) != 0) {
        rc = stpm_error_set(err, STPM_ERROR,
                            "cannot attach document: the server read another "
                            "content than %s (sha256 %s, not %s)",
                            path, PQgetvalue(r, 0, 1), sha);
    } else {
        if (already)
            *already = PQgetvalue(r, 0, 2)[0] != 't';
        if (sha256)
            memcpy(sha256, sha, 65);
        if (doc_id)
            snprintf(doc_id, 37, "%s", PQgetvalue(r, 0, 0));
    }
    PQclear(r);
    free(buf);
    return rc;
}

int stpm_project_attach(stpm_db *db, const char *code, const char *kind, const char *path,
                        stpm_date today, bool *already, char sha256[65], stpm_error *err)
{
    const char *p[] = {code};
    int rc = 0;
    PGresult *r = stpm_px_exec(db, "SELECT workflow_id FROM stpm.projects WHERE code = $1", 1, p,
                               PGRES_TUPLES_OK, "cannot attach document", &rc, err);
    if (!r)
        return rc;
    if ((rc = not_found(r, code, err)) < 0)
        return rc;
    const stpm_workflow *wf = NULL;
    rc = stpm_wfstore_by_id(db, PQgetvalue(r, 0, 0), &wf, err);
    if (rc == 0)
        rc = proj_attach_id(db, wf, code, kind, path, today, already, sha256, NULL, err);
    PQclear(r);
    return rc;
}

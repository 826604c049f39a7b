/* Many candidates at once: `reserve promote --where | --from` (stpm/reserve.h).
 *
 * The entries are selected (or their prefixes resolved) in one query; the server promotes a
 * batch of them per call (stpm.reserve_promote_many, migrations/088_bulk.sql), each in its
 * own subtransaction, so 700 promotions cost a few round trips and commits, not 700. A dry
 * run makes the same calls in a transaction that is rolled back. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "project/project_internal.h"
#include "stpm/project.h"
#include "stpm/reserve.h"
#include "store/db_internal.h"
#include "store/query.h"
#include "store/wf_store_internal.h"
#include "util/readfile.h"
#include "util/strutil.h"

/* Entries per call: a batch holds its year locks and entry rows until it commits. */
#define PROMOTE_CHUNK 250
/* How often a batch is retried after a serialisation failure or deadlock. */
#define PROMOTE_TRIES 4

void stpm_reserve_where_clear(stpm_reserve_where *w)
{
    if (!w)
        return;
    free(w->town);
    free(w->field);
    free(w->target_plan);
    free(w->org);
    memset(w, 0, sizeof(*w));
}

static int where_term(char *term, stpm_reserve_where *w, stpm_error *err)
{
    char *eq = strchr(term, '=');
    if (!eq)
        return stpm_error_set(err, STPM_EUSAGE, "invalid condition \"%s\" in --where", term);
    *eq = '\0';
    const char *v = eq + 1;
    if (!*v)
        return stpm_error_set(err, STPM_EUSAGE, "empty value for \"%s\" in --where", term);
    char **slot = !strcmp(term, "town")          ? &w->town
                  : !strcmp(term, "field")       ? &w->field
                  : !strcmp(term, "target_plan") ? &w->target_plan
                  : !strcmp(term, "org")         ? &w->org
                                                 : NULL;
    if (slot) {
        free(*slot);
        *slot = stpm_strdup(v);
        return *slot ? 0 : stpm_error_set(err, STPM_ERROR, "out of memory");
    }
    char *end = NULL;
    if (!strcmp(term, "year")) {
        long y = strtol(v, &end, 10);
        if (*end || y < 1990 || y > 2100)
            return stpm_error_set(err, STPM_EUSAGE, "invalid year \"%s\" in --where", v);
        w->year = (int)y;
        return 0;
    }
    if (!strcmp(term, "top")) {
        long n = strtol(v, &end, 10);
        if (*end || n <= 0)
            return stpm_error_set(err, STPM_EUSAGE,
                                  "invalid top \"%s\" in --where: expected a positive number", v);
        w->top = (size_t)n;
        return 0;
    }
    if (!strcmp(term, "min_score")) {
        if (stpm_decimal_parse(v, &w->min_score) < 0)
            return stpm_error_set(err, STPM_EUSAGE,
                                  "invalid min_score \"%s\" in --where: expected a number", v);
        w->has_min_score = true;
        return 0;
    }
    return stpm_error_set(err, STPM_EUSAGE, "unknown key \"%s\" in --where", term);
}

int stpm_reserve_where_parse(const char *where, stpm_reserve_where *w, stpm_error *err)
{
    int rc = 0, terms = 0;
    const char *p = where ? where : "";
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
        rc = where_term(term, w, err);
        free(term);
    }
    if (rc < 0)
        stpm_error_hint(err, "Write conditions as KEY=VALUE separated by spaces, with the keys "
                             "year, town, field, target_plan, org, min_score and top.");
    else if (terms == 0) {
        rc = stpm_error_set(err, STPM_EUSAGE, "--where needs at least one condition");
        stpm_error_hint(err, "An empty --where would select every candidate: write KEY=VALUE "
                             "conditions such as year=2020 town=城北街道.");
    } else if ((w->top || w->has_min_score) && !w->year) {
        rc = stpm_error_set(err, STPM_EUSAGE, "top and min_score in --where need year=Y");
        stpm_error_hint(err, "Scores rank the candidates of one survey year, as \"stpm reserve "
                             "rank --year Y\" does.");
    }
    return rc;
}

void stpm_promote_report_clear(stpm_promote_report *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++) {
        free(r->items[i].entry);
        free(r->items[i].org);
        free(r->items[i].title);
        free(r->items[i].project);
        free(r->items[i].message);
    }
    free(r->items);
    memset(r, 0, sizeof(*r));
}

static stpm_promote_item *add_item(stpm_promote_report *r, const char *entry, const char *id,
                                   const char *org, const char *title)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 64;
        stpm_promote_item *grown = realloc(r->items, cap * sizeof(*grown));
        if (!grown)
            return NULL;
        r->items = grown;
        r->cap = cap;
    }
    stpm_promote_item *it = &r->items[r->n++];
    memset(it, 0, sizeof(*it));
    it->outcome = -1;
    it->entry = stpm_strdup(entry);
    snprintf(it->id, sizeof(it->id), "%s", id ? id : "");
    it->org = org ? stpm_strdup(org) : NULL;
    it->title = title ? stpm_strdup(title) : NULL;
    return it;
}

static void set_outcome(stpm_promote_report *r, stpm_promote_item *it, int outcome, char *message)
{
    it->outcome = outcome;
    free(it->message);
    it->message = message;
    proj_outcome_tally(outcome, &r->n_ok, &r->n_refused, &r->n_conflict, &r->n_error);
}

/* The plan to apply under: its code, its workflow's newest stored version, that version's
 * initial state and defaults. */
typedef struct target {
    char plan[64];
    char wf_id[37];
    const stpm_workflow *wf;
    stpm_strbuf defaults;
} target;

static int target_load(stpm_db *db, const char *plan, target *t, stpm_error *err)
{
    const char *p[] = {plan};
    PGresult *r = NULL;
    int rc =
        stpm_query(db,
                   "SELECT pl.code, pl.workflow_name, wv.id FROM (SELECT 1) x"
                   " LEFT JOIN stpm.plans pl ON pl.code = $1"
                   " LEFT JOIN LATERAL (SELECT id FROM stpm.workflows"
                   "   WHERE name = pl.workflow_name ORDER BY version DESC LIMIT 1) wv ON true",
                   1, p, &r, "cannot promote candidates", err);
    if (rc < 0)
        goto cleanup;
    if (PQgetisnull(r, 0, 0)) {
        rc = stpm_error_set(err, STPM_ENOTFOUND, "plan %s does not exist", plan);
        stpm_error_hint(err, "\"stpm plan list\" shows the plans.");
        goto cleanup;
    }
    if (PQgetisnull(r, 0, 2)) {
        rc = stpm_error_set(err, STPM_ENOTFOUND, "workflow %s of plan %s is not stored",
                            PQgetvalue(r, 0, 1), plan);
        stpm_error_hint(err, "Load it with \"stpm workflow load FILE\".");
        goto cleanup;
    }
    snprintf(t->plan, sizeof(t->plan), "%s", PQgetvalue(r, 0, 0));
    snprintf(t->wf_id, sizeof(t->wf_id), "%s", PQgetvalue(r, 0, 2));
    if ((rc = stpm_wfstore_by_id(db, t->wf_id, &t->wf, err)) < 0)
        goto cleanup;
    proj_defaults_json(t->wf, &t->defaults);
    if (t->defaults.oom)
        rc = stpm_error_set(err, STPM_ERROR, "out of memory");
cleanup:
    PQclear(r);
    return rc;
}

static const char many_sql[] =
    "SELECT j->>'code', j#>>'{error,sqlstate}', j#>>'{error,message}', j#>>'{error,detail}'"
    " FROM stpm.reserve_promote_many($1::uuid[], $2, $3::uuid, $4, $5::int, $6, $7::jsonb,"
    "   $8::date) WITH ORDINALITY m(j, n) ORDER BY m.n";

/* Promote items idx[from..to) in one call. */
static int promote_chunk(stpm_db *db, stpm_promote_report *rep, const size_t *idx, size_t from,
                         size_t to, const target *t, const stpm_promote_options *o, stpm_error *err)
{
    stpm_strbuf ids = STPM_STRBUF_INIT;
    PGresult *r = NULL;
    char today[11], year[16];
    int rc = 0;
    for (size_t i = from; i < to; i++)
        stpm_strbuf_array_item(&ids, rep->items[idx[i]].id);
    stpm_strbuf_array_end(&ids);
    if (ids.oom) {
        rc = stpm_error_set(err, STPM_ERROR, "out of memory");
        goto cleanup;
    }
    snprintf(year, sizeof(year), "%d", o->year);
    const char *p[] = {stpm_strbuf_str(&ids),
                       t->plan,
                       t->wf_id,
                       o->leader,
                       o->year ? year : NULL,
                       stpm_workflow_initial(t->wf),
                       stpm_strbuf_str(&t->defaults),
                       stpm_date_format(o->today ? o->today : stpm_date_today(), today)};
    for (int attempt = 1; attempt <= PROMOTE_TRIES; attempt++) {
        stpm_error_clear(err);
        PQclear(r);
        r = NULL;
        rc = stpm_query_call(db, many_sql, 8, p, &r, "cannot promote candidates", err);
        if (!(rc == STPM_ECONFLICT && stpm_query_retryable(err) && !rep->dry_run))
            break;
    }
    if (rc < 0)
        goto cleanup;
    for (int row = 0; row < PQntuples(r) && from + (size_t)row < to; row++) {
        stpm_promote_item *it = &rep->items[idx[from + (size_t)row]];
        if (PQgetisnull(r, row, 1)) {
            it->project = stpm_strdup(PQgetvalue(r, row, 0));
            set_outcome(rep, it, STPM_OUTCOME_OK,
                        rep->dry_run ? stpm_strdup(_("dry run: nothing written")) : NULL);
        } else {
            set_outcome(rep, it, proj_item_outcome(stpm_pg_sqlstate_code(PQgetvalue(r, row, 1))),
                        proj_item_message(PQgetvalue(r, row, 2),
                                          PQgetisnull(r, row, 3) ? NULL : PQgetvalue(r, row, 3)));
        }
    }
cleanup:
    PQclear(r);
    stpm_strbuf_free(&ids);
    return rc;
}

/* Promote every item of rep that has an id and no outcome yet, in order. */
static int promote_items(stpm_db *db, const stpm_promote_options *o, stpm_promote_report *rep,
                         stpm_error *err)
{
    target t = {.defaults = STPM_STRBUF_INIT};
    size_t *idx = NULL, m = 0;
    int rc = 0;
    if (!o || o->version != STPM_PROMOTE_OPTIONS_VERSION || !o->plan)
        return stpm_error_set(err, STPM_EUSAGE, "promoting candidates needs a plan");
    if ((rc = target_load(db, o->plan, &t, err)) < 0)
        goto cleanup;
    idx = calloc(rep->n + 1, sizeof(*idx));
    if (!idx) {
        rc = stpm_error_set(err, STPM_ERROR, "out of memory");
        goto cleanup;
    }
    for (size_t i = 0; i < rep->n; i++)
        if (rep->items[i].id[0] && rep->items[i].outcome < 0)
            idx[m++] = i;
    if (m == 0)
        goto cleanup;
    if (rep->dry_run && (rc = stpm_query_simple(db, "BEGIN", "cannot promote candidates", err)) < 0)
        goto cleanup;
    for (size_t k = 0; k < m && rc == 0; k += PROMOTE_CHUNK)
        rc = promote_chunk(db, rep, idx, k, k + PROMOTE_CHUNK < m ? k + PROMOTE_CHUNK : m, &t, o,
                           err);
    if (rep->dry_run)
        stpm_query_rollback(db);
cleanup:
    free(idx);
    stpm_strbuf_free(&t.defaults);
    return rc;
}

static const char select_sql[] =
    "SELECT left(r.id::text, 8), r.id, o.name, r.title"
    " FROM stpm.reserve_entries r JOIN stpm.orgs o ON o.id = r.org_id"
    " WHERE r.project_id IS NULL"
    "   AND ($1::integer IS NULL OR r.survey_year = $1::integer)"
    "   AND ($2::text IS NULL OR o.town = $2) AND ($3::text IS NULL OR r.field = $3)"
    "   AND ($4::text IS NULL OR r.target_plan = (SELECT name FROM stpm.plans WHERE code = $4))"
    "   AND ($5::text IS NULL OR o.uscc = $5)"
    " ORDER BY r.survey_year, o.name COLLATE \"C\", r.title COLLATE \"C\", r.id";

static int check_target_plan(stpm_db *db, const char *code, stpm_error *err)
{
    const char *p[] = {code};
    PGresult *r = NULL;
    int rc = stpm_query(db, "SELECT 1 FROM stpm.plans WHERE code = $1", 1, p, &r,
                        "cannot select candidates", err);
    if (rc == 0 && PQntuples(r) == 0) {
        rc = stpm_error_set(err, STPM_ENOTFOUND, "plan %s of target_plan in --where does not exist",
                            code);
        stpm_error_hint(err, "\"stpm plan list\" shows the plans.");
    }
    PQclear(r);
    return rc;
}

/* The ranking's selection: the best `top` of the candidates w selects (org applied first),
 * those scoring at least min_score, not promoted yet, best first. */
static int select_ranked(stpm_db *db, const stpm_reserve_where *w, const stpm_scoring *s,
                         stpm_promote_report *rep, stpm_error *err)
{
    stpm_reserve_filter f = STPM_RESERVE_FILTER_INIT;
    stpm_ranking rk = {NULL, 0};
    f.year = w->year;
    f.town = w->town;
    f.field = w->field;
    f.plan = w->target_plan;
    if (!s)
        return stpm_error_set(err, STPM_EUSAGE, "top and min_score need scoring weights");
    int rc = stpm_reserve_rank(db, &f, s, 0, &rk, err);
    size_t taken = 0;
    for (size_t i = 0; rc == 0 && i < rk.n; i++) {
        const stpm_ranked *x = &rk.items[i];
        if (w->org && strcmp(x->uscc, w->org) != 0)
            continue;
        if (w->top && taken++ >= w->top)
            break;
        if (x->project || (w->has_min_score && x->score < w->min_score))
            continue;
        char entry[9];
        snprintf(entry, sizeof(entry), "%.8s", x->id);
        if (!add_item(rep, entry, x->id, x->org_name, x->title))
            rc = stpm_error_set(err, STPM_ERROR, "out of memory");
    }
    stpm_ranking_clear(&rk);
    return rc;
}

int stpm_reserve_promote_where(stpm_db *db, const stpm_reserve_where *w, const stpm_scoring *s,
                               const stpm_promote_options *o, bool dry_run,
                               stpm_promote_report *rep, stpm_error *err)
{
    PGresult *r = NULL;
    int rc = 0;
    rep->dry_run = dry_run;
    if (w->target_plan && (rc = check_target_plan(db, w->target_plan, err)) < 0)
        return rc;
    if (w->top || w->has_min_score) {
        if ((rc = select_ranked(db, w, s, rep, err)) < 0)
            return rc;
        return promote_items(db, o, rep, err);
    }
    char year[16];
    snprintf(year, sizeof(year), "%d", w->year);
    const char *p[] = {w->year ? year : NULL, w->town, w->field, w->target_plan, w->org};
    if ((rc = stpm_query(db, select_sql, 5, p, &r, "cannot select candidates", err)) < 0)
        return rc;
    for (int i = 0; i < PQntuples(r); i++) {
        if (!add_item(rep, PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), PQgetvalue(r, i, 2),
                      PQgetvalue(r, i, 3))) {
            rc = stpm_error_set(err, STPM_ERROR, "out of memory");
            goto cleanup;
        }
    }
    rc = promote_items(db, o, rep, err);
cleanup:
    PQclear(r);
    return rc;
}

/* Each prefix's range, resolved in one query: the first two ids in it, with org and title. */
static const char resolve_sql[] =
    "SELECT x.n, m.id, m.org, m.title, m.project, m.k"
    " FROM unnest($1::uuid[], $2::uuid[]) WITH ORDINALITY x(lo, hi, n)"
    " LEFT JOIN LATERAL (SELECT r.id, o.name AS org, r.title, p.code AS project,"
    "   count(*) OVER () AS k FROM stpm.reserve_entries r JOIN stpm.orgs o ON o.id = r.org_id"
    "   LEFT JOIN stpm.projects p ON p.id = r.project_id"
    "   WHERE r.id BETWEEN x.lo AND x.hi ORDER BY r.id LIMIT 2) m ON true"
    " ORDER BY x.n, m.id";

/* An id prefix (hex digits, dashes allowed, at least 6) as the range of ids it covers. */
static bool prefix_range(const char *entry, char lo[37], char hi[37])
{
    char hex[33];
    size_t n = 0;
    for (const char *p = entry; *p; p++) {
        char ch = *p;
        if (ch == '-')
            continue;
        if (ch >= 'A' && ch <= 'F')
            ch = (char)(ch - 'A' + 'a');
        if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')) || n >= 32)
            return false;
        hex[n++] = ch;
    }
    if (n < 6)
        return false;
    char l[33], h[33];
    for (size_t i = 0; i < 32; i++) {
        l[i] = i < n ? hex[i] : '0';
        h[i] = i < n ? hex[i] : 'f';
    }
    snprintf(lo, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", l, l + 8, l + 12, l + 16, l + 20);
    snprintf(hi, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", h, h + 8, h + 12, h + 16, h + 20);
    return true;
}

int stpm_reserve_promote_list(stpm_db *db, const char *const *entries, size_t n,
                              const stpm_promote_options *o, bool dry_run, stpm_promote_report *rep,
                              stpm_error *err)
{
    stpm_strbuf los = STPM_STRBUF_INIT, his = STPM_STRBUF_INIT;
    PGresult *r = NULL;
    size_t base = rep->n, m = 0;
    int rc = 0;
    rep->dry_run = dry_run;
    for (size_t i = 0; i < n; i++) {
        char lo[37], hi[37];
        stpm_promote_item *it = add_item(rep, entries[i], NULL, NULL, NULL);
        if (!it) {
            rc = stpm_error_set(err, STPM_ERROR, "out of memory");
            goto cleanup;
        }
        if (!prefix_range(entries[i], lo, hi)) {
            set_outcome(rep, it, STPM_OUTCOME_REFUSED,
                        stpm_asprintf(_("invalid reserve entry \"%s\": expected its id or a prefix "
                                        "of at least 6 hex digits"),
                                      entries[i]));
            /* a range nobody matches keeps the rows of the query in step */
            snprintf(lo, sizeof(lo), "ffffffff-ffff-ffff-ffff-ffffffffffff");
            snprintf(hi, sizeof(hi), "00000000-0000-0000-0000-000000000000");
        }
        stpm_strbuf_array_item(&los, lo);
        stpm_strbuf_array_item(&his, hi);
    }
    stpm_strbuf_array_end(&los);
    stpm_strbuf_array_end(&his);
    if (los.oom || his.oom) {
        rc = stpm_error_set(err, STPM_ERROR, "out of memory");
        goto cleanup;
    }
    const char *p[] = {stpm_strbuf_str(&los), stpm_strbuf_str(&his)};
    if ((rc = stpm_query(db, resolve_sql, 2, p, &r, "cannot find the entries", err)) < 0)
        goto cleanup;
    for (int row = 0; row < PQntuples(r); row++) {
        size_t i = (size_t)atoll(PQgetvalue(r, row, 0)) - 1;
        if (i >= n)
            continue;
        stpm_promote_item *it = &rep->items[base + i];
        if (it->outcome >= 0)
            continue; /* refused already, or the second row of an ambiguous prefix */
        if (PQgetisnull(r, row, 1)) {
            set_outcome(rep, it, STPM_OUTCOME_REFUSED,
                        stpm_asprintf(_("reserve entry %s does not exist"), it->entry));
        } else if (atoll(PQgetvalue(r, row, 5)) > 1) {
            set_outcome(
                rep, it, STPM_OUTCOME_REFUSED,
                stpm_asprintf(_("reserve entry %s is ambiguous: give more digits of the id"),
                              it->entry));
        } else {
            snprintf(it->id, sizeof(it->id), "%s", PQgetvalue(r, row, 1));
            it->org = stpm_strdup(PQgetvalue(r, row, 2));
            it->title = stpm_strdup(PQgetvalue(r, row, 3));
            if (!PQgetisnull(r, row, 4))
                set_outcome(rep, it, STPM_OUTCOME_REFUSED,
                            stpm_asprintf(_("reserve entry %.8s was promoted already, into "
                                            "project %s"),
                                          it->id, PQgetvalue(r, row, 4)));
            else
                m++;
        }
    }
    if (m)
        rc = promote_items(db, o, rep, err);
cleanup:
    PQclear(r);
    stpm_strbuf_free(&los);
    stpm_strbuf_free(&his);
    return rc;
}

int stpm_reserve_promote_file(stpm_db *db, const char *path, const stpm_promote_options *o,
                              bool dry_run, stpm_promote_report *rep, stpm_error *err)
{
    char *buf = NULL;
    size_t len = 0, n = 0, cap = 0;
    const char **entries = NULL;
    int rc = stpm_read_file(path, _("list of entries"), 16u * 1024u * 1024u, &buf, &len, err);
    if (rc < 0)
        return rc;
    for (char *line = buf, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        line += strspn(line, " \t\r");
        size_t l = strcspn(line, " \t\r#");
        if (line[l] && line[l] != '#' && line[l + strspn(line + l, " \t\r")] &&
            line[l + strspn(line + l, " \t\r")] != '#') {
            rc = stpm_error_set(err, STPM_EINPUT, "%s:%zu: one reserve entry id per line", path,
                                n + 1);
            goto cleanup;
        }
        line[l] = '\0';
        if (!*line)
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            const char **grown = realloc(entries, cap * sizeof(*grown));
            if (!grown) {
                rc = stpm_error_set(err, STPM_ERROR, "out of memory");
                goto cleanup;
            }
            entries = grown;
        }
        entries[n++] = line;
    }
    if (n == 0) {
        rc = stpm_error_set(err, STPM_EINPUT, "%s names no reserve entry", path);
        stpm_error_hint(err, "Write one entry id (or a prefix of at least 6 hex digits, as "
                             "\"stpm reserve list\" shows it) per line.");
        goto cleanup;
    }
    rc = stpm_reserve_promote_list(db, entries, n, o, dry_run, rep, err);
cleanup:
    free(entries);
    free(buf);
    return rc;
}

/* Many documents at once: `project attach --from DIR | MANIFEST` (stpm/project.h).
 *
 * The files are listed and checked here (the name, a regular file, the project, a kind its
 * workflow declares); the server stores a batch of them per call
 * (stpm.document_attach_many, migrations/088_bulk.sql), each in its own subtransaction of
 * stpm.document_attach, so 2,000 documents cost a few round trips and commits. A dry run
 * makes the same calls in a transaction that is rolled back. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "project/project_internal.h"
#include "store/query.h"
#include "store/wf_store_internal.h"
#include "survey/csv.h"
#include "survey/decode.h"
#include "util/readfile.h"

/* A batch: at most this many documents or bytes per call (one document may be larger). */
#define ATTACH_CHUNK 250
#define ATTACH_CHUNK_BYTES (48u * 1024u * 1024u)
#define ATTACH_TRIES 4

void stpm_attach_report_clear(stpm_attach_report *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++) {
        free(r->items[i].file);
        free(r->items[i].code);
        free(r->items[i].kind);
        free(r->items[i].message);
    }
    free(r->items);
    memset(r, 0, sizeof(*r));
}

static stpm_attach_item *add_item(stpm_attach_report *r, const char *file, const char *code,
                                  const char *kind)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 64;
        stpm_attach_item *grown = realloc(r->items, cap * sizeof(*grown));
        if (!grown)
            return NULL;
        r->items = grown;
        r->cap = cap;
    }
    stpm_attach_item *it = &r->items[r->n++];
    memset(it, 0, sizeof(*it));
    it->outcome = -1;
    it->file = stpm_strdup(file);
    it->code = code ? stpm_strdup(code) : NULL;
    it->kind = kind ? stpm_strdup(kind) : NULL;
    return it;
}

static void set_outcome(stpm_attach_report *r, stpm_attach_item *it, int outcome, char *message)
{
    it->outcome = outcome;
    free(it->message);
    it->message = message;
    proj_outcome_tally(outcome, &r->n_ok, &r->n_refused, &r->n_conflict, &r->n_error);
}

static void set_error(stpm_attach_report *r, stpm_attach_item *it, const stpm_error *e)
{
    set_outcome(r, it, proj_item_outcome(e->code), proj_item_message(e->message, e->detail));
}

static bool valid_kind(const char *k)
{
    if (!(*k >= 'a' && *k <= 'z'))
        return false;
    for (; *k; k++)
        if (!((*k >= 'a' && *k <= 'z') || (*k >= '0' && *k <= '9') || *k == '_'))
            return false;
    return true;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The files of a directory, by name: CODE-KIND.ext, the kind after the last '-'. */
static int list_dir(const char *dir, stpm_attach_report *rep, char ***paths, stpm_error *err)
{
    DIR *d = opendir(dir);
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    if (!d)
        return stpm_error_set(err, errno == ENOENT ? STPM_ENOTFOUND : STPM_EINPUT,
                              "cannot read directory %s: %s", dir, strerror(errno));
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            char **grown = realloc(names, cap * sizeof(*grown));
            if (!grown) {
                rc = stpm_error_set(err, STPM_ERROR, "out of memory");
                goto cleanup;
            }
            names = grown;
        }
        if (!(names[n] = stpm_strdup(e->d_name))) {
            rc = stpm_error_set(err, STPM_ERROR, "out of memory");
            goto cleanup;
        }
        n++;
    }
    if (n)
        qsort(names, n, sizeof(*names), compare_names);
    *paths = calloc(n + 1, sizeof(**paths));
    if (!*paths) {
        rc = stpm_error_set(err, STPM_ERROR, "out of memory");
        goto cleanup;
    }
    for (size_t i = 0; i < n; i++) {
        char *stem = stpm_strdup(names[i]);
        char *dot = stem ? strrchr(stem, '.') : NULL;
        if (dot && dot != stem)
            *dot = '\0';
        char *dash = stem ? strrchr(stem, '-') : NULL;
        stpm_attach_item *it = NULL;
        if (stem && dash && dash != stem && valid_kind(dash + 1)) {
            *dash = '\0';
            it = add_item(rep, names[i], stem, dash + 1);
        } else {
            it = add_item(rep, names[i], NULL, NULL);
            if (it)
                set_outcome(rep, it, STPM_OUTCOME_REFUSED,
                            stpm_asprintf(_("file name \"%s\" is not CODE-KIND.ext (e.g. "
                                            "2021-RGKJ-0001-task_book.pdf)"),
                                          names[i]));
        }
        (*paths)[rep->n - 1] = it ? stpm_asprintf("%s/%s", dir, names[i]) : NULL;
        free(stem);
        if (!it || !(*paths)[rep->n - 1]) {
            rc = stpm_error_set(err, STPM_ERROR, "out of memory");
            goto cleanup;
        }
    }
cleanup:
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    closedir(d);
    return rc;
}

/* A manifest: the header code,kind,file (any order, other columns ignored), files relative
 * to the manifest's directory. */
static int read_manifest(const char *path, stpm_attach_report *rep, char ***paths, stpm_error *err)
{
    int fd = -1, rc = 0, col[3] = {-1, -1, -1};
    size_t cap = 0;
    stpm_decoder *dec = NULL;
    stpm_csv *csv = NULL;
    stpm_csv_record *rec = NULL;
    const char *slash = strrchr(path, '/');
    char *dir = slash ? stpm_strndup(path, (size_t)(slash - path)) : NULL;
    if (slash && !dir)
        return stpm_error_set(err, STPM_ERROR, "out of memory");
    if ((rc = stpm_open_input(path, "manifest", &fd, err)) < 0)
        goto cleanup;
    dec = stpm_decoder_new(fd, true, STPM_ENCODING_AUTO);
    if (!dec) {
        close(fd);
        rc = stpm_error_set(err, STPM_ERROR, "out of memory");
        goto cleanup;
    }
    csv = stpm_csv_new(dec, path);
    if (!csv) {
        rc = stpm_error_set(err, STPM_ERROR, "out of memory");
        goto cleanup;
    }
    static const char *const want[] = {"code", "kind", "file"};
    while ((rc = stpm_csv_next(csv, &rec, err)) > 0) {
        if (rec->row == 1) {
            for (size_t i = 0; i < rec->n_fields; i++)
                for (int k = 0; k < 3; k++)
                    if (strcmp(rec->fields[i], want[k]) == 0 && col[k] < 0)
                        col[k] = (int)i;
            for (int k = 0; k < 3; k++)
                if (col[k] < 0) {
                    rc = stpm_error_set(err, STPM_EINPUT, "%s:1: the manifest has no column %s",
                                        path, want[k]);
                    stpm_error_hint(err, "A manifest's header is code,kind,file.");
                    goto cleanup;
                }
            continue;
        }
        if (rec->n_fields == 1 && rec->lens[0] == 0)
            continue; /* a blank line */
        const char *v[3];
        for (int k = 0; k < 3; k++)
            v[k] = (size_t)col[k] < rec->n_fields ? rec->fields[col[k]] : "";
        char where[64];
        snprintf(where, sizeof(where), "row %d", rec->row);
        stpm_attach_item *it = add_item(rep, *v[2] ? v[2] : where, v[0], v[1]);
        if (!it) {
            rc = stpm_error_set(err, STPM_ERROR, "out of memory");
            goto cleanup;
        }
        if (rep->n > cap) {
            size_t ncap = cap ? 2 * cap : 64;
            char **grown = realloc(*paths, (ncap + 1) * sizeof(*grown));
            if (!grown) {
                rc = stpm_error_set(err, STPM_ERROR, "out of memory");
                goto cleanup;
            }
            memset(grown + cap, 0, (ncap + 1 - cap) * sizeof(*grown));
            *paths = grown;
            cap = ncap;
        }
        if (!*v[0] || !*v[1] || !*v[2]) {
            set_outcome(rep, it, STPM_OUTCOME_REFUSED,
                        stpm_asprintf("%s:%d: empty %s", path, rec->row,
                                      !*v[0]   ? "code"
                                      : !*v[1] ? "kind"
                                               : "file"));
            continue;
        }
        (*paths)[rep->n - 1] =
            v[2][0] == '/' || !dir ? stpm_strdup(v[2]) : stpm_asprintf("%s/%s", dir, v[2]);
        if (!(*paths)[rep->n - 1]) {
            rc = stpm_error_set(err, STPM_ERROR, "out of memory");
            goto cleanup;
        }
    }
    if (rc == 0 && col[0] < 0) {
        rc = stpm_error_set(err, STPM_EINPUT, "%s: the manifest is empty", path);
        stpm_error_hint(err, "A manifest's header is code,kind,file.");
    }
    if (rc == 0 && !*paths && !(*paths = calloc(1, sizeof(**paths))))
        rc = stpm_error_set(err, STPM_ERROR, "out of memory");
cleanup:
    stpm_csv_free(csv);
    stpm_decoder_free(dec);
    free(dir);
    return rc;
}

/* A document read and ready to send. */
typedef struct doc {
    char *buf;
    size_t len;
    const char *base; /* the file name stored */
} doc;

/* The workflow of each distinct code of the items (one query), then each item's checks in
 * C: the project, the kind, the file. */
static int check_items(stpm_db *db, stpm_attach_report *rep, char **paths, doc *docs,
                       stpm_error *err)
{
    stpm_strbuf codes = STPM_STRBUF_INIT;
    PGresult *r = NULL;
    int rc = 0;
    for (size_t i = 0; i < rep->n; i++)
        if (rep->items[i].outcome < 0)
            stpm_strbuf_array_item(&codes, rep->items[i].code);
    stpm_strbuf_array_end(&codes);
    if (codes.oom)
        return stpm_error_set(err, STPM_ERROR, "out of memory");
    const char *p[] = {stpm_strbuf_str(&codes)};
    rc = stpm_query(db,
                    "SELECT DISTINCT c.code, p.workflow_id FROM unnest($1::text[]) c(code)"
                    " JOIN stpm.projects p ON p.code = c.code ORDER BY 1",
                    1, p, &r, "cannot attach documents", err);
    if (rc < 0)
        goto cleanup;
    for (size_t i = 0; i < rep->n; i++) {
        stpm_attach_item *it = &rep->items[i];
        if (it->outcome >= 0)
            continue;
        const char *wf_id = NULL;
        for (int lo = 0, hi = PQntuples(r) - 1; lo <= hi && !wf_id;) {
            int mid = lo + (hi - lo) / 2, c = strcmp(PQgetvalue(r, mid, 0), it->code);
            if (c == 0)
                wf_id = PQgetvalue(r, mid, 1);
            else if (c < 0)
                lo = mid + 1;
            else
                hi = mid - 1;
        }
        stpm_error e = STPM_ERROR_INIT;
        const stpm_workflow *wf = NULL;
        if (!wf_id) {
            stpm_error_set(&e, STPM_ENOTFOUND, "project %s does not exist", it->code);
        } else if ((rc = stpm_wfstore_by_id(db, wf_id, &wf, err)) < 0) {
            goto cleanup;
        } else if (proj_check_kind(wf, it->kind, &e) == 0 &&
                   stpm_read_file(paths[i], "document", STPM_PROJECT_MAX_DOCUMENT, &docs[i].buf,
                                  &docs[i].len, &e) == 0) {
            const char *base = strrchr(paths[i], '/');
            docs[i].base = base ? base + 1 : paths[i];
        }
        if (e.code)
            set_error(rep, it, &e);
        stpm_error_clear(&e);
    }
cleanup:
    PQclear(r);
    stpm_strbuf_free(&codes);
    return rc;
}

static void put_u32(stpm_strbuf *sb, uint32_t v)
{
    uint32_t be = htonl(v);
    stpm_strbuf_putn(sb, (const char *)&be, 4);
}

static const char many_sql[] =
    "SELECT j->>'sha256', (j->>'is_new')::boolean, j#>>'{error,sqlstate}',"
    " j#>>'{error,message}', j#>>'{error,detail}'"
    " FROM stpm.document_attach_many($1::text[], $2::text[], $3::text[], $4::bytea[],"
    "   $5::date) WITH ORDINALITY m(j, n) ORDER BY m.n";

/* Send items idx[from..to) in one call: the contents as a binary bytea[]. */
static int attach_chunk(stpm_db *db, stpm_attach_report *rep, const doc *docs, const size_t *idx,
                        size_t from, size_t to, stpm_date today, stpm_error *err)
{
    stpm_strbuf codes = STPM_STRBUF_INIT, kinds = STPM_STRBUF_INIT, names = STPM_STRBUF_INIT;
    stpm_strbuf bin = STPM_STRBUF_INIT;
    PGresult *r = NULL;
    char tbuf[11];
    int rc = 0;
    put_u32(&bin, 1);  /* dimensions */
    put_u32(&bin, 0);  /* no nulls */
    put_u32(&bin, 17); /* bytea */
    put_u32(&bin, (uint32_t)(to - from));
    put_u32(&bin, 1); /* lower bound */
    for (size_t i = from; i < to; i++) {
        const stpm_attach_item *it = &rep->items[idx[i]];
        const doc *d = &docs[idx[i]];
        stpm_strbuf_array_item(&codes, it->code);
        stpm_strbuf_array_item(&kinds, it->kind);
        stpm_strbuf_array_item(&names, d->base);
        put_u32(&bin, (uint32_t)d->len);
        stpm_strbuf_putn(&bin, d->buf, d->len);
    }
    stpm_strbuf_array_end(&codes);
    stpm_strbuf_array_end(&kinds);
    stpm_strbuf_array_end(&names);
    if (codes.oom || kinds.oom || names.oom || bin.oom) {
        rc = stpm_error_set(err, STPM_ERROR, "out of memory");
        goto cleanup;
    }
    const char *p[] = {stpm_strbuf_str(&codes), stpm_strbuf_str(&kinds), stpm_strbuf_str(&names),
                       bin.buf, stpm_date_format(today, tbuf)};
    int lens[] = {0, 0, 0, (int)bin.len, 0};
    int fmts[] = {0, 0, 0, 1, 0};
    Oid types[] = {0, 0, 0, 1001 /* bytea[] */, 0};
    for (int attempt = 1; attempt <= ATTACH_TRIES; attempt++) {
        stpm_error_clear(err);
        PQclear(r);
        r = PQexecParams(db->conn, many_sql, 5, types, p, lens, fmts, 0);
        if (PQresultStatus(r) == PGRES_TUPLES_OK) {
            rc = 0;
            break;
        }
        rc = stpm_pg_error_call(err, db->conn, r, "cannot attach documents");
        if (!(rc == STPM_ECONFLICT && stpm_query_retryable(err) && !rep->dry_run))
            break;
    }
    if (rc < 0)
        goto cleanup;
    for (int row = 0; row < PQntuples(r) && from + (size_t)row < to; row++) {
        stpm_attach_item *it = &rep->items[idx[from + (size_t)row]];
        if (!PQgetisnull(r, row, 2)) {
            set_outcome(rep, it, proj_item_outcome(stpm_pg_sqlstate_code(PQgetvalue(r, row, 2))),
                        proj_item_message(PQgetvalue(r, row, 3),
                                          PQgetisnull(r, row, 4) ? NULL : PQgetvalue(r, row, 4)));
            continue;
        }
        snprintf(it->sha256, sizeof(it->sha256), "%s", PQgetvalue(r, row, 0));
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int mdlen = 0;
        char sha[65] = {0};
        const doc *d = &docs[idx[from + (size_t)row]];
        if (EVP_Digest(d->buf, d->len, md, &mdlen, EVP_sha256(), NULL))
            for (unsigned k = 0; k < mdlen && k < 32; k++)
                snprintf(sha + 2 * k, 3, "%02x", md[k]);
        if (strcmp(sha, it->sha256) != 0) {
            set_outcome(
                rep, it, STPM_OUTCOME_ERROR,
                stpm_asprintf(_("the server read another content (sha256 %.12s, not %.12s)"),
                              it->sha256, sha));
            continue;
        }
        it->already = PQgetvalue(r, row, 1)[0] != 't';
        if (it->already)
            rep->n_already++;
        set_outcome(rep, it, STPM_OUTCOME_OK,
                    it->already    ? stpm_strdup(_("attached already, unchanged"))
                    : rep->dry_run ? stpm_strdup(_("dry run: nothing written"))
                                   : NULL);
    }
cleanup:
    PQclear(r);
    stpm_strbuf_free(&codes);
    stpm_strbuf_free(&kinds);
    stpm_strbuf_free(&names);
    stpm_strbuf_free(&bin);
    return rc;
}

int stpm_project_attach_from(stpm_db *db, const char *from, stpm_date today, bool dry_run,
                             stpm_attach_report *rep, stpm_error *err)
{
    char **paths = NULL;
    doc *docs = NULL;
    size_t *idx = NULL, m = 0, n = 0;
    struct stat st;
    int rc = 0;
    if (rep->n)
        return stpm_error_set(err, STPM_EUSAGE, "stpm_project_attach_from needs an empty report");
    rep->dry_run = dry_run;
    if (stat(from, &st) != 0) {
        rc = stpm_error_set(err, errno == ENOENT ? STPM_ENOTFOUND : STPM_EINPUT,
                            "cannot read %s: %s", from, strerror(errno));
        stpm_error_hint(err, "Give a directory of files named CODE-KIND.ext or a manifest CSV "
                             "(code,kind,file).");
        return rc;
    }
    rc = S_ISDIR(st.st_mode) ? list_dir(from, rep, &paths, err)
                             : read_manifest(from, rep, &paths, err);
    n = rep->n;
    if (rc < 0)
        goto cleanup;
    docs = calloc(n + 1, sizeof(*docs));
    idx = calloc(n + 1, sizeof(*idx));
    if (!docs || !idx) {
        rc = stpm_error_set(err, STPM_ERROR, "out of memory");
        goto cleanup;
    }
    if ((rc = check_items(db, rep, paths, docs, err)) < 0)
        goto cleanup;
    for (size_t i = 0; i < n; i++)
        if (rep->items[i].outcome < 0)
            idx[m++] = i;
    if (m == 0)
        goto cleanup;
    if (dry_run && (rc = stpm_query_simple(db, "BEGIN", "cannot attach documents", err)) < 0)
        goto cleanup;
    for (size_t k = 0; k < m && rc == 0;) {
        size_t end = k, bytes = 0;
        while (end < m && end - k < ATTACH_CHUNK &&
               (end == k || bytes + docs[idx[end]].len <= ATTACH_CHUNK_BYTES))
            bytes += docs[idx[end++]].len;
        rc = attach_chunk(db, rep, docs, idx, k, end, today, err);
        for (size_t j = k; j < end; j++) { /* sent: the memory can go */
            free(docs[idx[j]].buf);
            docs[idx[j]].buf = NULL;
        }
        k = end;
    }
    if (dry_run)
        stpm_query_rollback(db);
cleanup:
    for (size_t i = 0; i < n; i++) {
        if (paths)
            free(paths[i]);
        if (docs)
            free(docs[i].buf);
    }
    free(paths);
    free(docs);
    free(idx);
    return rc;
}

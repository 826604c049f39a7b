/* Workflow versions in the database: see stpm/wfstore.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/query.h"
#include "store/rows_internal.h"
#include "store/wf_store_internal.h"
#include "util/strutil.h"
#include "workflow/wf_compile.h"

int stpm_wfstore_put(stpm_db *db, const stpm_workflow *wf, stpm_wfstore_outcome *outcome,
                     stpm_error *err)
{
    PGresult *r = NULL;
    char ver[24], *rules = NULL, *states = NULL;
    snprintf(ver, sizeof(ver), "%d", stpm_workflow_version(wf));
    size_t len = 0;
    const char *source = stpm_workflow_source(wf, &len);
    /* The server checks the caller, the digest and immutability, and stores the version,
     * its states, what it needs to decide transitions and the event in one transaction. */
    int rc = stpm_wf_compile(wf, &rules, &states, err);
    if (rc < 0)
        goto cleanup;
    const char *p[] = {stpm_workflow_name(wf),
                       ver,
                       stpm_workflow_title(wf),
                       stpm_workflow_digest(wf),
                       source,
                       states,
                       rules};
    rc = stpm_query(db, "SELECT stpm.workflow_store($1, $2::int, $3, $4, $5, $6::jsonb, $7::jsonb)",
                    7, p, &r, "cannot load workflow", err);
    if (rc < 0)
        goto cleanup;
    if (outcome)
        *outcome = strcmp(PQgetvalue(r, 0, 0), "unchanged") == 0 ? STPM_WFSTORE_UNCHANGED
                                                                 : STPM_WFSTORE_STORED;
cleanup:
    PQclear(r);
    free(rules);
    free(states);
    return rc;
}

int stpm_wfstore_list(stpm_db *db, stpm_rows **out, stpm_error *err)
{
    *out = NULL;
    PGresult *r = NULL;
    int rc = stpm_query(
        db,
        "SELECT w.name, w.version, w.title, left(w.digest, 12) AS digest, "
        "  (SELECT count(*) FROM stpm.workflow_states s WHERE s.workflow_id = w.id) AS states, "
        "  to_char(w.loaded_at, 'YYYY-MM-DD HH24:MI:SS') AS loaded_at, w.loaded_by, "
        "  (SELECT string_agg(code, ' ' ORDER BY code) FROM stpm.plans pl "
        "    WHERE pl.workflow_name = w.name) AS plans, "
        "  (SELECT count(*) FROM stpm.projects p WHERE p.workflow_id = w.id) AS projects "
        "FROM stpm.workflows w ORDER BY w.name, w.version",
        0, NULL, &r, "cannot list workflows", err);
    if (rc < 0)
        return rc;
    *out = stpm_rows_from_pg(r);
    return *out ? 0 : stpm_error_set(err, STPM_ERROR, "out of memory");
}

static int parse_source(const char *name, int version, const char *src, size_t len,
                        stpm_workflow **out, stpm_error *err)
{
    char *label = stpm_asprintf("%s@%d (stored)", name, version);
    int rc = stpm_workflow_load_text(out, label ? label : name, src, len, err);
    if (rc < 0 && rc != STPM_ERROR) {
        /* The stored source was valid when loaded; a newer stpm disagreeing is ours to say. */
        stpm_error_detail(err, "The stored source of %s version %d no longer validates.", name,
                          version);
        rc = STPM_ERROR;
        if (err)
            err->code = rc;
    }
    free(label);
    return rc;
}

int stpm_wfstore_get(stpm_db *db, const char *name, int version, stpm_workflow **out,
                     stpm_error *err)
{
    *out = NULL;
    PGresult *r = NULL;
    char ver[24];
    snprintf(ver, sizeof(ver), "%d", version);
    const char *p[] = {name, ver};
    int rc = stpm_query(db,
                        "SELECT version, source FROM stpm.workflows WHERE name = $1 "
                        "AND ($2::int = 0 OR version = $2::int) ORDER BY version DESC LIMIT 1",
                        2, p, &r, "cannot read workflow", err);
    if (rc < 0)
        goto out;
    if (PQntuples(r) == 0) {
        if (version)
            rc = stpm_error_set(err, STPM_ENOTFOUND, "workflow %s version %d is not stored", name,
                                version);
        else
            rc = stpm_error_set(err, STPM_ENOTFOUND, "workflow %s is not stored", name);
        stpm_error_hint(err, "\"stpm workflow list\" shows the stored workflows.");
        goto out;
    }
    rc = parse_source(name, atoi(PQgetvalue(r, 0, 0)), PQgetvalue(r, 0, 1),
                      (size_t)PQgetlength(r, 0, 1), out, err);
out:
    PQclear(r);
    return rc;
}

int stpm_wfstore_parse_ref(const char *ref, char **name, int *version, stpm_error *err)
{
    *name = NULL;
    *version = 0;
    const char *at = strchr(ref, '@');
    size_t n = at ? (size_t)(at - ref) : strlen(ref);
    if (n == 0)
        return stpm_error_set(err, STPM_EUSAGE, "invalid workflow \"%s\": expected NAME[@VERSION]",
                              ref);
    if (at) {
        char *end = NULL;
        long v = strtol(at + 1, &end, 10);
        if (!at[1] || *end || v <= 0 || v > 1000000)
            return stpm_error_set(err, STPM_EUSAGE,
                                  "invalid workflow version in \"%s\": expected a positive integer",
                                  ref);
        *version = (int)v;
    }
    *name = stpm_strndup(ref, n);
    return *name ? 0 : stpm_error_set(err, STPM_ERROR, "out of memory");
}

/* The connection's cache: parsed versions and the calendar. */
typedef struct wf_cached {
    struct wf_cached *next;
    char id[40];
    stpm_workflow *wf;
} wf_cached;

typedef struct store_cache {
    wf_cached *list;
    stpm_calendar *calendar;
} store_cache;

static void cache_free(void *cache)
{
    store_cache *sc = cache;
    if (!sc)
        return;
    for (wf_cached *c = sc->list, *next; c; c = next) {
        next = c->next;
        stpm_workflow_free(c->wf);
        free(c);
    }
    stpm_calendar_free(sc->calendar);
    free(sc);
}

static store_cache *cache_of(stpm_db *db)
{
    if (!db->wf_cache) {
        db->wf_cache = calloc(1, sizeof(store_cache));
        db->wf_cache_free = cache_free;
    }
    return db->wf_cache;
}

int stpm_store_calendar(stpm_db *db, const stpm_calendar **out, stpm_error *err)
{
    *out = NULL;
    store_cache *sc = cache_of(db);
    if (!sc)
        return stpm_error_set(err, STPM_ERROR, "out of memory");
    if (!sc->calendar) {
        stpm_calendar *cal = NULL;
        int rc = stpm_calendar_new_default(&cal, err);
        if (rc == 0)
            rc = stpm_store_calendar_overlay(db, cal, err);
        if (rc < 0) {
            stpm_calendar_free(cal);
            return rc;
        }
        sc->calendar = cal;
    }
    *out = sc->calendar;
    return 0;
}

void stpm_store_calendar_reset(stpm_db *db)
{
    store_cache *sc = db->wf_cache;
    if (sc) {
        stpm_calendar_free(sc->calendar);
        sc->calendar = NULL;
    }
}

int stpm_wfstore_by_id(stpm_db *db, const char *id, const stpm_workflow **out, stpm_error *err)
{
    *out = NULL;
    store_cache *sc = cache_of(db);
    if (!sc)
        return stpm_error_set(err, STPM_ERROR, "out of memory");
    for (wf_cached *c = sc->list; c; c = c->next) {
        if (strcmp(c->id, id) == 0) {
            *out = c->wf;
            return 0;
        }
    }
    PGresult *r = NULL;
    wf_cached *c = NULL;
    const char *p[] = {id};
    int rc = stpm_query(db, "SELECT name, version, source FROM stpm.workflows WHERE id = $1", 1, p,
                        &r, "cannot read workflow", err);
    if (rc < 0)
        goto out;
    if (PQntuples(r) == 0) {
        rc = stpm_error_set(err, STPM_ENOTFOUND, "workflow version %s is not stored", id);
        goto out;
    }
    c = calloc(1, sizeof(*c));
    if (!c) {
        rc = stpm_error_set(err, STPM_ERROR, "out of memory");
        goto out;
    }
    rc = parse_source(PQgetvalue(r, 0, 0), atoi(PQgetvalue(r, 0, 1)), PQgetvalue(r, 0, 2),
                      (size_t)PQgetlength(r, 0, 2), &c->wf, err);
    if (rc < 0)
        goto out;
    snprintf(c->id, sizeof(c->id), "%s", id);
    c->next = sc->list;
    sc->list = c;
    *out = c->wf;
    c = NULL;
out:
    free(c);
    PQclear(r);
    return rc;
}

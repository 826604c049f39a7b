/* Organisations, the credit blacklist and conflicts of interest: see stpm/org.h. */
#include "stpm/org.h"

#include <stdlib.h>
#include <string.h>

#include "project/px.h"
#include "stpm/uscc.h"
#include "util/strutil.h"

/* The blacklist entry e is active on the date $N: the same rule as credit_clean. */
#define ACTIVE_ON(d)                                                                               \
    "(e.valid_from <= " d " AND (e.valid_until IS NULL OR e.valid_until >= " d ")"                 \
    " AND coalesce(e.lifted_on, e.lifted_at::date, 'infinity') > " d ")"

static bool blank(const char *s)
{
    if (!s)
        return true;
    for (; *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
            return false;
    return true;
}

/* After the message is set: name the field in a diagnostic; returns STPM_EINPUT. */
static int field_error(stpm_error *err, const char *field, const char *why)
{
    stpm_error_add_diag(err, NULL, 0, 0, field, "%s", why);
    return STPM_EINPUT;
}

static const char sql_add[] =
    "WITH o AS (INSERT INTO stpm.orgs (uscc, name, town, kind) VALUES ($1, $2, $3, $4)"
    "           ON CONFLICT (uscc) DO NOTHING RETURNING id, uscc, name, town, kind),"
    " e AS (INSERT INTO stpm.events (chain, kind, on_date, data)"
    "       SELECT 'org:' || o.uscc, 'admin', $5::date, jsonb_build_object('action', 'org_add',"
    "        'uscc', o.uscc, 'name', o.name, 'town', o.town, 'kind', o.kind) FROM o)"
    "SELECT o.id FROM o";

int stpm_org_add(stpm_db *db, const stpm_org_spec *spec, stpm_date today, char uscc_out[static 19],
                 stpm_error *err)
{
    int rc = 0;
    PGresult *res = NULL;
    char norm[STPM_USCC_LEN + 1] = "", why[128] = "", day[11];
    if (uscc_out)
        uscc_out[0] = '\0';
    if (blank(spec->uscc)) {
        stpm_error_set(err, STPM_EINPUT, "missing unified social credit code");
        rc = field_error(err, "uscc", "a code of 18 characters is required");
        goto cleanup;
    }
    if (stpm_uscc_validate(spec->uscc, norm, why, sizeof(why)) < 0) {
        stpm_error_set(err, STPM_EINPUT, "invalid unified social credit code \"%s\"", spec->uscc);
        rc = field_error(err, "uscc", why);
        stpm_error_hint(err, "Copy the code from the business licence (营业执照); its last "
                             "character is a check character.");
        goto cleanup;
    }
    if (blank(spec->name)) {
        stpm_error_set(err, STPM_EINPUT, "missing organisation name");
        rc = field_error(err, "name", "the name must not be empty");
        goto cleanup;
    }
    stpm_date_format(today, day);
    const char *p[5] = {norm, spec->name, blank(spec->town) ? NULL : spec->town,
                        blank(spec->kind) ? NULL : spec->kind, day};
    res = stpm_px_exec(db, sql_add, 5, p, PGRES_TUPLES_OK, "cannot add organisation", &rc, err);
    if (!res)
        goto cleanup;
    if (PQntuples(res) == 0) {
        rc = stpm_error_set(err, STPM_ECONFLICT, "organisation %s already exists", norm);
        stpm_error_hint(err, "See it with \"stpm org show %s\".", norm);
        goto cleanup;
    }
    if (uscc_out)
        memcpy(uscc_out, norm, sizeof(norm));
cleanup:
    PQclear(res);
    return rc;
}

static void org_fill(stpm_org *o, const PGresult *res, int r)
{
    o->id = stpm_px_value(res, r, 0);
    o->uscc = stpm_px_value(res, r, 1);
    o->name = stpm_px_value(res, r, 2);
    o->town = stpm_px_value(res, r, 3);
    o->kind = stpm_px_value(res, r, 4);
    o->projects = strtol(PQgetvalue(res, r, 5), NULL, 10);
    o->blacklisted = strcmp(PQgetvalue(res, r, 6), "t") == 0;
}

static void org_clear(stpm_org *o)
{
    free(o->id);
    free(o->uscc);
    free(o->name);
    free(o->town);
    free(o->kind);
}

#define ORG_COLUMNS                                                                                \
    "o.id, o.uscc, o.name, o.town, o.kind,"                                                        \
    " (SELECT count(*) FROM stpm.projects p WHERE p.org_id = o.id),"                               \
    " EXISTS (SELECT 1 FROM stpm.blacklist e WHERE e.uscc = o.uscc AND " ACTIVE_ON("$2::date") ")"

int stpm_org_list(stpm_db *db, const char *town, stpm_date today, stpm_org **out, size_t *n,
                  stpm_error *err)
{
    int rc = 0;
    char day[11];
    stpm_date_format(today, day);
    const char *p[2] = {town, day};
    *out = NULL;
    *n = 0;
    PGresult *res = stpm_px_exec(db,
                                 "SELECT " ORG_COLUMNS " FROM stpm.orgs o"
                                 " WHERE $1::text IS NULL OR o.town = $1 ORDER BY o.uscc",
                                 2, p, PGRES_TUPLES_OK, "cannot list organisations", &rc, err);
    if (!res)
        return rc;
    size_t rows = (size_t)PQntuples(res);
    stpm_org *v = calloc(rows ? rows : 1, sizeof(*v));
    if (!v) {
        rc = stpm_error_set(err, STPM_ERROR, "out of memory");
        goto cleanup;
    }
    for (size_t i = 0; i < rows; i++)
        org_fill(&v[i], res, (int)i);
    *out = v;
    *n = rows;
cleanup:
    PQclear(res);
    return rc;
}

void stpm_org_list_free(stpm_org *orgs, size_t n)
{
    if (!orgs)
        return;
    for (size_t i = 0; i < n; i++)
        org_clear(&orgs[i]);
    free(orgs);
}

void stpm_org_detail_free(stpm_org_detail *d)
{
    if (!d)
        return;
    org_clear(&d->org);
    for (size_t i = 0; i < d->n_blacklist; i++) {
        stpm_blacklist_entry *e = &d->blacklist[i];
        free(e->id);
        free(e->reason);
        free(e->valid_from);
        free(e->valid_until);
        free(e->added_by);
        free(e->added_at);
        free(e->lifted_on);
        free(e->lifted_by);
        free(e->lift_reason);
    }
    free(d->blacklist);
    for (size_t i = 0; i < d->n_conflicts; i++) {
        free(d->conflicts[i].officer);
        free(d->conflicts[i].reason);
        free(d->conflicts[i].declared_by);
        free(d->conflicts[i].declared_at);
    }
    free(d->conflicts);
    free(d);
}

static const char sql_show_blacklist[] =
    "SELECT e.id, e.reason, e.valid_from, e.valid_until, e.added_by,"
    " to_char(e.added_at, 'YYYY-MM-DD HH24:MI:SS'),"
    " coalesce(e.lifted_on, e.lifted_at::date), e.lifted_by, e.lift_reason, " ACTIVE_ON(
        "$2::date") " FROM stpm.blacklist e WHERE e.uscc = $1 ORDER BY e.valid_from, e.added_at, "
                    "e.id";

static const char sql_show_conflicts[] =
    "SELECT c.officer, c.reason, c.declared_by, to_char(c.declared_at, 'YYYY-MM-DD HH24:MI:SS')"
    " FROM stpm.conflicts c JOIN stpm.orgs o ON o.id = c.org_id WHERE o.uscc = $1"
    " ORDER BY c.officer";

int stpm_org_show(stpm_db *db, const char *uscc, stpm_date today, stpm_org_detail **out,
                  stpm_error *err)
{
    int rc = 0;
    char key[64], day[11];
    PGresult *res = NULL;
    stpm_org_detail *d = calloc(1, sizeof(*d));
    *out = NULL;
    if (!d)
        return stpm_error_set(err, STPM_ERROR, "out of memory");
    stpm_px_uscc_key(uscc, key);
    stpm_date_format(today, day);
    const char *p[2] = {key, day};
    res = stpm_px_exec(db, "SELECT " ORG_COLUMNS " FROM stpm.orgs o WHERE o.uscc = $1", 2, p,
                       PGRES_TUPLES_OK, "cannot show organisation", &rc, err);
    if (!res)
        goto cleanup;
    if (PQntuples(res) == 0) {
        rc = stpm_error_set(err, STPM_ENOTFOUND, "organisation %s does not exist", key);
        stpm_error_hint(err, "List the organisations with \"stpm org list\".");
        goto cleanup;
    }
    org_fill(&d->org, res, 0);
    PQclear(res);
    res = stpm_px_exec(db, sql_show_blacklist, 2, p, PGRES_TUPLES_OK, "cannot show organisation",
                       &rc, err);
    if (!res)
        goto cleanup;
    d->n_blacklist = (size_t)PQntuples(res);
    d->blacklist = calloc(d->n_blacklist ? d->n_blacklist : 1, sizeof(*d->blacklist));
    if (!d->blacklist) {
        d->n_blacklist = 0;
        rc = stpm_error_set(err, STPM_ERROR, "out of memory");
        goto cleanup;
    }
    for (size_t i = 0; i < d->n_blacklist; i++) {
        stpm_blacklist_entry *e = &d->blacklist[i];
        int r = (int)i;
        e->id = stpm_px_value(res, r, 0);
        e->reason = stpm_px_value(res, r, 1);
        e->valid_from = stpm_px_value(res, r, 2);
        e->valid_until = stpm_px_value(res, r, 3);
        e->added_by = stpm_px_value(res, r, 4);
        e->added_at = stpm_px_value(res, r, 5);
        e->lifted_on = stpm_px_value(res, r, 6);
        e->lifted_by = stpm_px_value(res, r, 7);
        e->lift_reason = stpm_px_value(res, r, 8);
        e->active = strcmp(PQgetvalue(res, r, 9), "t") == 0;
    }
    PQclear(res);
    res = stpm_px_exec(db, sql_show_conflicts, 1, p, PGRES_TUPLES_OK, "cannot show organisation",
                       &rc, err);
    if (!res)
        goto cleanup;
    d->n_conflicts = (size_t)PQntuples(res);
    d->conflicts = calloc(d->n_conflicts ? d->n_conflicts : 1, sizeof(*d->conflicts));
    if (!d->conflicts) {
        d->n_conflicts = 0;
        rc = stpm_error_set(err, STPM_ERROR, "out of memory");
        goto cleanup;
    }
    for (size_t i = 0; i < d->n_conflicts; i++) {
        d->conflicts[i].officer = stpm_px_value(res, (int)i, 0);
        d->conflicts[i].reason = stpm_px_value(res, (int)i, 1);
        d->conflicts[i].declared_by = stpm_px_value(res, (int)i, 2);
        d->conflicts[i].declared_at = stpm_px_value(res, (int)i, 3);
    }
cleanup:
    PQclear(res);
    if (rc < 0)
        stpm_org_detail_free(d);
    else
        *out = d;
    return rc;
}

static const char sql_blacklist[] =
    "WITH o AS (SELECT uscc FROM stpm.orgs WHERE uscc = $1),"
    " b AS (INSERT INTO stpm.blacklist (uscc, reason, valid_from, valid_until)"
    "       SELECT o.uscc, $2, $3::date, $4::date FROM o"
    "       RETURNING id, uscc, reason, valid_from, valid_until),"
    " e AS (INSERT INTO stpm.events (chain, kind, on_date, reason, data)"
    "       SELECT 'org:' || b.uscc, 'admin', $5::date, b.reason,"
    "        jsonb_build_object('action', 'blacklist', 'entry', b.id, 'reason', b.reason,"
    "         'valid_from', b.valid_from, 'valid_until', b.valid_until) FROM b)"
    "SELECT b.id FROM b";

int stpm_org_blacklist(stpm_db *db, const char *uscc, const char *reason, stpm_date from,
                       const stpm_date *until, stpm_date today, stpm_error *err)
{
    int rc = 0;
    PGresult *res = NULL;
    char key[64], from_s[11], until_s[11], day[11];
    if (blank(reason)) {
        stpm_error_set(err, STPM_EINPUT, "missing reason for the blacklist entry");
        return field_error(err, "reason", "a reason is required");
    }
    if (until && *until < from) {
        stpm_date_format(*until, until_s);
        stpm_date_format(from, from_s);
        stpm_error_set(err, STPM_EINPUT, "invalid end of the blacklist entry %s", until_s);
        rc = field_error(err, "until", "the end is before the start");
        stpm_error_detail(err, "The entry would start on %s.", from_s);
        return rc;
    }
    stpm_px_uscc_key(uscc, key);
    stpm_date_format(from, from_s);
    if (until)
        stpm_date_format(*until, until_s);
    stpm_date_format(today, day);
    const char *p[5] = {key, reason, from_s, until ? until_s : NULL, day};
    res = stpm_px_exec(db, sql_blacklist, 5, p, PGRES_TUPLES_OK, "cannot add the blacklist entry",
                       &rc, err);
    if (!res)
        goto cleanup;
    if (PQntuples(res) == 0) {
        rc = stpm_error_set(err, STPM_ENOTFOUND, "organisation %s does not exist", key);
        stpm_error_hint(err, "Add it first with \"stpm org add\".");
    }
cleanup:
    PQclear(res);
    return rc;
}

static const char sql_unblacklist[] =
    "WITH o AS (SELECT uscc FROM stpm.orgs WHERE uscc = $1),"
    " l AS (UPDATE stpm.blacklist b SET lifted_on = $3::date, lifted_at = now(),"
    "        lifted_by = session_user, lift_reason = $2"
    "       FROM o WHERE b.uscc = o.uscc AND b.lifted_on IS NULL AND b.lifted_at IS NULL"
    "        AND (b.valid_until IS NULL OR b.valid_until >= $3::date)"
    "       RETURNING b.id, b.reason, b.valid_from, b.valid_until),"
    " e AS (INSERT INTO stpm.events (chain, kind, on_date, reason, data)"
    "       SELECT 'org:' || o.uscc, 'admin', $3::date, $2,"
    "        jsonb_build_object('action', 'unblacklist', 'lifted',"
    "         (SELECT jsonb_agg(jsonb_build_object('entry', l.id, 'reason', l.reason,"
    "           'valid_from', l.valid_from, 'valid_until', l.valid_until)) FROM l))"
    "       FROM o WHERE EXISTS (SELECT 1 FROM l))"
    "SELECT (SELECT count(*) FROM o), (SELECT count(*) FROM l)";

int stpm_org_unblacklist(stpm_db *db, const char *uscc, const char *reason, stpm_date today,
                         int *lifted, stpm_error *err)
{
    int rc = 0;
    char key[64], day[11];
    if (lifted)
        *lifted = 0;
    stpm_px_uscc_key(uscc, key);
    stpm_date_format(today, day);
    const char *p[3] = {key, blank(reason) ? NULL : reason, day};
    PGresult *res = stpm_px_exec(db, sql_unblacklist, 3, p, PGRES_TUPLES_OK,
                                 "cannot lift the blacklist entries", &rc, err);
    if (!res)
        return rc;
    if (strcmp(PQgetvalue(res, 0, 0), "0") == 0) {
        rc = stpm_error_set(err, STPM_ENOTFOUND, "organisation %s does not exist", key);
        stpm_error_hint(err, "List the organisations with \"stpm org list\".");
    } else if (lifted) {
        *lifted = atoi(PQgetvalue(res, 0, 1));
    }
    PQclear(res);
    return rc;
}

static const char sql_conflict[] =
    "WITH o AS (SELECT id, uscc FROM stpm.orgs WHERE uscc = $1),"
    " r AS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $2),"
    " c AS (INSERT INTO stpm.conflicts (officer, org_id, reason)"
    "       SELECT $2, o.id, $3 FROM o WHERE EXISTS (SELECT 1 FROM r)"
    "       ON CONFLICT (officer, org_id) DO NOTHING RETURNING id, officer, reason),"
    " e AS (INSERT INTO stpm.events (chain, kind, on_date, reason, data)"
    "       SELECT 'org:' || o.uscc, 'admin', $4::date, c.reason,"
    "        jsonb_build_object('action', 'conflict', 'officer', c.officer, 'reason', c.reason)"
    "       FROM o, c)"
    "SELECT (SELECT count(*) FROM o), (SELECT count(*) FROM r), (SELECT count(*) FROM c)";

int stpm_org_conflict(stpm_db *db, const char *uscc, const char *officer, const char *reason,
                      stpm_date today, stpm_error *err)
{
    int rc = 0;
    char key[64], day[11];
    if (blank(officer)) {
        stpm_error_set(err, STPM_EINPUT, "missing officer");
        return field_error(err, "officer", "the officer's database role is required");
    }
    if (blank(reason)) {
        stpm_error_set(err, STPM_EINPUT, "missing reason for the conflict of interest");
        return field_error(err, "reason", "a reason is required");
    }
    stpm_px_uscc_key(uscc, key);
    stpm_date_format(today, day);
    const char *p[4] = {key, officer, reason, day};
    PGresult *res = stpm_px_exec(db, sql_conflict, 4, p, PGRES_TUPLES_OK,
                                 "cannot declare the conflict of interest", &rc, err);
    if (!res)
        return rc;
    if (strcmp(PQgetvalue(res, 0, 0), "0") == 0) {
        rc = stpm_error_set(err, STPM_ENOTFOUND, "organisation %s does not exist", key);
        stpm_error_hint(err, "List the organisations with \"stpm org list\".");
    } else if (strcmp(PQgetvalue(res, 0, 1), "0") == 0) {
        rc = stpm_error_set(err, STPM_ENOTFOUND, "role \"%s\" does not exist", officer);
        stpm_error_hint(err, "Give the officer's database role; \"stpm user list\" shows them.");
    } else if (strcmp(PQgetvalue(res, 0, 2), "0") == 0) {
        rc = stpm_error_set(err, STPM_ECONFLICT,
                            "a conflict of interest of %s with organisation %s is already "
                            "declared",
                            officer, key);
        stpm_error_hint(err, "See it with \"stpm org show %s\".", key);
    }
    PQclear(res);
    return rc;
}

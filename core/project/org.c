/* Organisations, the credit blacklist and conflicts of interest: see stpm/org.h. */
#include "stpm/org.h"

#include <stdlib.h>
#include <string.h>

#include "project/px.h"
#include "store/query.h"
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
    stpm_error_add_diag(err, NULL, 0, 0, field, "%s", _(why));
    return STPM_EINPUT;
}

/* stpm.org_add (migrations/072) writes the organisation and its event. */
static const char sql_add[] = "SELECT stpm.org_add($1, $2, $3, $4, $5::date)";

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
    if ((rc = stpm_query_call(db, sql_add, 5, p, &res, "cannot add organisation", err)) < 0)
        goto cleanup;
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
    "SELECT stpm.blacklist_add($1, $2, $3::date, $4::date, $5::date)";

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
    rc = stpm_query_call(db, sql_blacklist, 5, p, &res, "cannot add the blacklist entry", err);
    PQclear(res);
    return rc;
}

static const char sql_unblacklist[] = "SELECT stpm.blacklist_lift($1, $2, $3::date)";

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
    PGresult *res = NULL;
    if ((rc = stpm_query_call(db, sql_unblacklist, 3, p, &res, "cannot lift the blacklist entries",
                              err)) < 0)
        return rc;
    if (lifted)
        *lifted = atoi(PQgetvalue(res, 0, 0));
    PQclear(res);
    return 0;
}

static const char sql_conflict[] = "SELECT stpm.conflict_declare($1, $2, $3, $4::date)";

int stpm_org_conflict(stpm_db *db, const char *uscc, const char *officer, const char *reason,
                      stpm_date today, stpm_error *err)
{
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
    return stpm_query_call(db, sql_conflict, 4, p, NULL, "cannot declare the conflict of interest",
                           err);
}

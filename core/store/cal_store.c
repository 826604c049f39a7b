/* The administrator's additions to the working-day calendar: see stpm/calstore.h. */
#include "stpm/calstore.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/query.h"
#include "store/wf_store_internal.h"
#include "util/strutil.h"
#include "workflow/calendar_internal.h"

/* The rows of stpm.calendar_days in date order (day, workday, note). */
static int fetch_added(stpm_db *db, int year, PGresult **out, stpm_error *err)
{
    char y[16];
    snprintf(y, sizeof(y), "%d", year);
    const char *p[] = {y};
    return stpm_query(db,
                      "SELECT day::text, workday, note FROM stpm.calendar_days"
                      " WHERE $1::int = 0 OR extract(year FROM day) = $1::int ORDER BY day",
                      1, p, out, "cannot read the calendar", err);
}

int stpm_store_calendar_overlay(stpm_db *db, stpm_calendar *cal, stpm_error *err)
{
    PGresult *r = NULL;
    cal_day *days = NULL;
    int rc = fetch_added(db, 0, &r, err);
    if (rc < 0)
        goto cleanup;
    size_t n = (size_t)PQntuples(r);
    if (n == 0)
        goto cleanup;
    if (!(days = malloc(n * sizeof(*days)))) {
        rc = stpm_error_set(err, STPM_ERROR, "out of memory");
        goto cleanup;
    }
    int first = 0, last = 0;
    for (size_t i = 0; i < n; i++) {
        int y = 0, m = 0, d = 0;
        if (stpm_date_parse(PQgetvalue(r, (int)i, 0), &days[i].date) < 0) {
            rc = stpm_error_set(err, STPM_ERROR, "cannot read the calendar: bad date \"%s\"",
                                PQgetvalue(r, (int)i, 0));
            goto cleanup;
        }
        days[i].kind = strcmp(PQgetvalue(r, (int)i, 1), "t") == 0 ? CAL_WORKDAY : CAL_HOLIDAY;
        stpm_date_to_ymd(days[i].date, &y, &m, &d);
        if (first == 0 || y < first)
            first = y;
        if (y > last)
            last = y;
    }
    rc = calendar_merge(cal, days, n, first, last, err);
    /* The administrator who enters days of a provisional year enters its notice: from
     * then on the year is the administrator's, not provisional (docs/calendar.md). */
    for (size_t i = 0; rc == 0 && i < n; i++) {
        int y = 0, m = 0, d = 0;
        stpm_date_to_ymd(days[i].date, &y, &m, &d);
        calendar_set_provisional(cal, y, false);
    }
cleanup:
    free(days);
    PQclear(r);
    return rc;
}

int stpm_calstore_calendar(stpm_db *db, stpm_calendar **out, stpm_error *err)
{
    stpm_calendar *cal = NULL;
    int rc = stpm_calendar_new_default(&cal, err);
    if (rc < 0)
        goto cleanup;
    if ((rc = stpm_store_calendar_overlay(db, cal, err)) < 0)
        goto cleanup;
    *out = cal;
    cal = NULL;
cleanup:
    stpm_calendar_free(cal);
    return rc;
}

int stpm_calstore_list(stpm_db *db, int year, stpm_calday **out, size_t *n, stpm_error *err)
{
    stpm_calendar *shipped = NULL;
    PGresult *r = NULL;
    stpm_calday *v = NULL;
    size_t k = 0;
    *out = NULL;
    *n = 0;
    int rc = stpm_calendar_new_default(&shipped, err);
    if (rc < 0)
        goto cleanup;
    if ((rc = fetch_added(db, year, &r, err)) < 0)
        goto cleanup;
    size_t ns = stpm_calendar_n_days(shipped), na = (size_t)PQntuples(r);
    if (!(v = calloc(ns + na + 1, sizeof(*v)))) {
        rc = stpm_error_set(err, STPM_ERROR, "out of memory");
        goto cleanup;
    }
    size_t i = 0, j = 0;
    while (i < ns || j < na) {
        bool sw = false;
        stpm_date sd = i < ns ? stpm_calendar_day(shipped, i, &sw) : 0;
        int y = 0, m = 0, d = 0;
        if (i < ns) {
            stpm_date_to_ymd(sd, &y, &m, &d);
            if (year != 0 && y != year) {
                i++;
                continue;
            }
        }
        stpm_date ad = 0;
        if (j < na && stpm_date_parse(PQgetvalue(r, (int)j, 0), &ad) < 0) {
            rc = stpm_error_set(err, STPM_ERROR, "cannot read the calendar: bad date \"%s\"",
                                PQgetvalue(r, (int)j, 0));
            goto cleanup;
        }
        stpm_calday *c = &v[k++];
        if (j < na && (i == ns || ad <= sd)) {
            c->date = ad;
            c->workday = strcmp(PQgetvalue(r, (int)j, 1), "t") == 0;
            c->source = STPM_CALDAY_ADDED;
            c->replaces_shipped = i < ns && ad == sd;
            if (!PQgetisnull(r, (int)j, 2) && !(c->note = stpm_strdup(PQgetvalue(r, (int)j, 2)))) {
                rc = stpm_error_set(err, STPM_ERROR, "out of memory");
                goto cleanup;
            }
            if (c->replaces_shipped)
                i++;
            j++;
        } else {
            c->date = sd;
            c->workday = sw;
            c->source = STPM_CALDAY_SHIPPED;
            i++;
        }
    }
    *out = v;
    *n = k;
    v = NULL;
cleanup:
    stpm_calstore_list_free(v, k);
    stpm_calendar_free(shipped);
    PQclear(r);
    return rc;
}

void stpm_calstore_list_free(stpm_calday *days, size_t n)
{
    if (!days)
        return;
    for (size_t i = 0; i < n; i++)
        free(days[i].note);
    free(days);
}

int stpm_calstore_set(stpm_db *db, stpm_date day, bool workday, const char *note, stpm_date today,
                      stpm_error *err)
{
    static const char what[] = N_("cannot set the calendar day");
    char d[11], t[11];
    int rc = stpm_query_require_admin(
        db, what, _("Only an administrator (stpm_admin) may change the calendar."), err);
    if (rc < 0)
        return rc;
    const char *p[] = {stpm_date_format(day, d), workday ? "t" : "f", note,
                       stpm_date_format(today, t)};
    /* stpm.calendar_set (migrations/072) writes the day and its event. */
    rc = stpm_query_call(db, "SELECT stpm.calendar_set($1::date, $2::boolean, $3::text, $4::date)",
                         4, p, NULL, what, err);
    if (rc < 0)
        return rc;
    stpm_store_calendar_reset(db);
    return 0;
}

int stpm_calstore_unset(stpm_db *db, stpm_date day, stpm_date today, stpm_error *err)
{
    static const char what[] = N_("cannot unset the calendar day");
    char d[11], t[11];
    int rc = stpm_query_require_admin(
        db, what, _("Only an administrator (stpm_admin) may change the calendar."), err);
    if (rc < 0)
        return rc;
    const char *p[] = {stpm_date_format(day, d), stpm_date_format(today, t)};
    /* stpm.calendar_unset (migrations/072): the day and its event, or "no calendar day D
     * was added" (P0002). */
    rc = stpm_query_call(db, "SELECT stpm.calendar_unset($1::date, $2::date)", 2, p, NULL, what,
                         err);
    if (rc < 0)
        return rc;
    stpm_store_calendar_reset(db);
    return 0;
}

int stpm_calstore_load_file(stpm_db *db, const char *path, stpm_date today, size_t *n_days,
                            stpm_error *err)
{
    static const char what[] = N_("cannot load the calendar file");
    stpm_calendar *cal = NULL;
    stpm_strbuf dates = STPM_STRBUF_INIT, kinds = STPM_STRBUF_INIT;
    char *note = NULL;
    char t[11];
    if (n_days)
        *n_days = 0;
    int rc = stpm_calendar_new_empty(&cal, err);
    if (rc < 0)
        goto cleanup;
    if ((rc = stpm_calendar_load_file(cal, path, err)) < 0)
        goto cleanup;
    if ((rc = stpm_query_require_admin(
             db, what, _("Only an administrator (stpm_admin) may change the calendar."), err)) < 0)
        goto cleanup;
    size_t n = stpm_calendar_n_days(cal);
    stpm_strbuf_putc(&dates, '{');
    stpm_strbuf_putc(&kinds, '{');
    for (size_t i = 0; i < n; i++) {
        char d[11];
        bool w = false;
        stpm_date_format(stpm_calendar_day(cal, i, &w), d);
        stpm_strbuf_printf(&dates, "%s%s", i ? "," : "", d);
        stpm_strbuf_printf(&kinds, "%s%s", i ? "," : "", w ? "t" : "f");
    }
    stpm_strbuf_putc(&dates, '}');
    stpm_strbuf_putc(&kinds, '}');
    const char *base = strrchr(path, '/');
    note = stpm_asprintf(_("loaded from %s"), base ? base + 1 : path);
    if (dates.oom || kinds.oom || !note) {
        rc = stpm_error_set(err, STPM_ERROR, "out of memory");
        goto cleanup;
    }
    const char *p[] = {stpm_strbuf_str(&dates), stpm_strbuf_str(&kinds), note, path,
                       stpm_date_format(today, t)};
    /* stpm.calendar_load (migrations/072): the days and one event, in one statement. */
    rc = stpm_query_call(
        db, "SELECT stpm.calendar_load($1::date[], $2::boolean[], $3::text, $4::text, $5::date)", 5,
        p, NULL, what, err);
    if (rc < 0)
        goto cleanup;
    stpm_store_calendar_reset(db);
    if (n_days)
        *n_days = n;
cleanup:
    free(note);
    stpm_strbuf_free(&dates);
    stpm_strbuf_free(&kinds);
    stpm_calendar_free(cal);
    return rc;
}

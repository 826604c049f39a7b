/* The working-day calendar: weekends, holidays and make-up working days. */
#include "workflow/calendar_internal.h"

#include <stdlib.h>
#include <string.h>

#include "util/embedded.h"

int calendar_merge(stpm_calendar *cal, const cal_day *add, size_t n, int first, int last,
                   stpm_error *err)
{
    cal_day *out = malloc((cal->n + n + 1) * sizeof(*out));
    if (!out)
        return stpm_error_set(err, STPM_ERROR, "out of memory");
    size_t i = 0, j = 0, k = 0;
    while (i < cal->n || j < n) {
        if (j == n || (i < cal->n && cal->days[i].date < add[j].date)) {
            out[k++] = cal->days[i++];
        } else {
            if (i < cal->n && cal->days[i].date == add[j].date)
                i++; /* replaced */
            out[k++] = add[j++];
        }
    }
    free(cal->days);
    cal->days = out;
    cal->n = k;
    if (first > 0 && (cal->first_year == 0 || first < cal->first_year))
        cal->first_year = first;
    if (last > 0 && last > cal->last_year)
        cal->last_year = last;
    return 0;
}

int stpm_calendar_new_default(stpm_calendar **out, stpm_error *err)
{
    int rc = 0;
    stpm_calendar *cal = calloc(1, sizeof(*cal));
    *out = NULL;
    if (!cal)
        return stpm_error_set(err, STPM_ERROR, "out of memory");
    for (size_t i = 0; i < stpm_calendars_count; i++) {
        const stpm_embedded_file *f = &stpm_calendars[i];
        if ((rc = stpm_calendar_load_text(cal, f->name, f->text, f->len, err)) < 0)
            goto cleanup;
    }
    *out = cal;
    cal = NULL;
cleanup:
    stpm_calendar_free(cal);
    return rc;
}

int stpm_calendar_new_empty(stpm_calendar **out, stpm_error *err)
{
    *out = calloc(1, sizeof(**out));
    return *out ? 0 : stpm_error_set(err, STPM_ERROR, "out of memory");
}

int stpm_calendar_set_day(stpm_calendar *cal, stpm_date d, bool workday, stpm_error *err)
{
    cal_day day = {d, workday ? CAL_WORKDAY : CAL_HOLIDAY};
    int y = 0, m = 0, dd = 0;
    stpm_date_to_ymd(d, &y, &m, &dd);
    return calendar_merge(cal, &day, 1, y, y, err);
}

size_t stpm_calendar_n_days(const stpm_calendar *cal)
{
    return cal ? cal->n : 0;
}

stpm_date stpm_calendar_day(const stpm_calendar *cal, size_t i, bool *workday)
{
    if (workday)
        *workday = cal->days[i].kind == CAL_WORKDAY;
    return cal->days[i].date;
}

void stpm_calendar_free(stpm_calendar *cal)
{
    if (!cal)
        return;
    free(cal->days);
    free(cal);
}

static const cal_day *find(const stpm_calendar *cal, stpm_date d)
{
    size_t lo = 0, hi = cal->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cal->days[mid].date < d)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < cal->n && cal->days[lo].date == d ? &cal->days[lo] : NULL;
}

bool stpm_calendar_is_workday(const stpm_calendar *cal, stpm_date d)
{
    const cal_day *day = cal ? find(cal, d) : NULL;
    if (day)
        return day->kind == CAL_WORKDAY;
    return stpm_date_weekday(d) < 5;
}

stpm_date stpm_calendar_add_workdays(const stpm_calendar *cal, stpm_date d, int n)
{
    int step = n < 0 ? -1 : 1;
    long left = n < 0 ? -(long)n : n;
    while (left > 0) {
        d += step;
        if (stpm_calendar_is_workday(cal, d))
            left--;
    }
    return d;
}

void stpm_calendar_range(const stpm_calendar *cal, int *first_year, int *last_year)
{
    if (first_year)
        *first_year = cal->first_year;
    if (last_year)
        *last_year = cal->last_year;
}

/* Index of the first listed day on or after d. */
static size_t lower_bound(const stpm_calendar *cal, stpm_date d)
{
    size_t lo = 0, hi = cal->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cal->days[mid].date < d)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

long stpm_calendar_workdays_between(const stpm_calendar *cal, stpm_date from, stpm_date to)
{
    if (to < from)
        return -stpm_calendar_workdays_between(cal, to, from);
    long span = (long)to - (long)from, n = span / 7 * 5;
    for (stpm_date d = (stpm_date)(from + span / 7 * 7 + 1); d <= to; d++)
        n += stpm_date_weekday(d) < 5;
    if (!cal)
        return n;
    /* The listed days in (from, to] that change what a weekday says. */
    for (size_t i = lower_bound(cal, from + 1); i < cal->n && cal->days[i].date <= to; i++) {
        bool weekday = stpm_date_weekday(cal->days[i].date) < 5;
        if (cal->days[i].kind == CAL_HOLIDAY && weekday)
            n--;
        else if (cal->days[i].kind == CAL_WORKDAY && !weekday)
            n++;
    }
    return n;
}

void calendar_set_provisional(stpm_calendar *cal, int year, bool provisional)
{
    size_t k = 0;
    while (k < cal->n_provisional && cal->provisional[k] < year)
        k++;
    bool have = k < cal->n_provisional && cal->provisional[k] == year;
    size_t cap = sizeof(cal->provisional) / sizeof(cal->provisional[0]);
    if (provisional && !have && cal->n_provisional < cap) {
        memmove(&cal->provisional[k + 1], &cal->provisional[k],
                (cal->n_provisional - k) * sizeof(int));
        cal->provisional[k] = year;
        cal->n_provisional++;
    } else if (!provisional && have) {
        memmove(&cal->provisional[k], &cal->provisional[k + 1],
                (cal->n_provisional - k - 1) * sizeof(int));
        cal->n_provisional--;
    }
}

bool stpm_calendar_year_provisional(const stpm_calendar *cal, int year)
{
    for (size_t k = 0; cal && k < cal->n_provisional; k++)
        if (cal->provisional[k] == year)
            return true;
    return false;
}

void stpm_calendar_warnings_add(stpm_calendar_warnings *w, const stpm_calendar *cal, stpm_date from,
                                stpm_date to)
{
    int first = 0, last = 0, y0, y1, m, d;
    stpm_calendar_range(cal, &first, &last);
    stpm_date_to_ymd(from < to ? from : to, &y0, &m, &d);
    stpm_date_to_ymd(from < to ? to : from, &y1, &m, &d);
    for (int y = y0; y <= y1; y++) {
        bool missing = first == 0 || y < first || y > last;
        bool provisional = !missing && stpm_calendar_year_provisional(cal, y);
        if (!missing && !provisional)
            continue;
        size_t k = 0;
        while (k < w->n && w->years[k] < y)
            k++;
        if (k < w->n && w->years[k] == y)
            continue;
        if (w->n == sizeof(w->years) / sizeof(w->years[0]))
            return;
        memmove(&w->years[k + 1], &w->years[k], (w->n - k) * sizeof(w->years[0]));
        memmove(&w->provisional[k + 1], &w->provisional[k], (w->n - k) * sizeof(bool));
        w->years[k] = y;
        w->provisional[k] = provisional;
        w->n++;
    }
}

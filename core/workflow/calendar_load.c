/* Reading calendar files (YAML, docs/calendar.md) into a calendar:
 *
 *   2021:
 *     holidays: [2021-01-01..2021-01-03, 2021-02-11..2021-02-17]
 *     workdays: [2021-02-07, 2021-02-20]
 *
 * Every problem is a FILE:LINE:COL diagnostic; nothing changes unless the whole file is
 * good. */
#include "workflow/calendar_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

#include "util/strutil.h"
#include "util/readfile.h"
#include "util/yamlcheck.h"

/* Longest range accepted, in days: a holiday block is never longer than a few weeks. */
#define MAX_RANGE 366

typedef struct pending_day {
    stpm_date date;
    cal_kind kind;
    int line, col;
} pending_day;

typedef struct loader {
    const char *name;
    yaml_document_t *doc;
    stpm_error *err;
    size_t n_errors;
    pending_day *days;
    size_t n, cap;
    int first_year, last_year;
    int years[64]; /* the years the file lists (the first 64), and which are provisional */
    bool provisional[64];
    size_t n_years;
} loader;

static void problem(loader *ld, const yaml_node_t *node, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void problem(loader *ld, const yaml_node_t *node, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = stpm_vasprintf(_(fmt), ap);
    va_end(ap);
    stpm_error_add_diag(ld->err, ld->name, (int)node->start_mark.line + 1,
                        (int)node->start_mark.column + 1, NULL, "%s",
                        msg ? msg : _("out of memory"));
    free(msg);
    ld->n_errors++;
}

static const char *scalar(const yaml_node_t *node)
{
    return node->type == YAML_SCALAR_NODE ? (const char *)node->data.scalar.value : NULL;
}

static const char *node_kind(const yaml_node_t *node)
{
    switch (node->type) {
    case YAML_SCALAR_NODE:
        return "a scalar";
    case YAML_SEQUENCE_NODE:
        return "a list";
    case YAML_MAPPING_NODE:
        return "a mapping";
    default:
        return "nothing";
    }
}

static int push(loader *ld, stpm_date d, cal_kind kind, const yaml_node_t *node)
{
    if (ld->n == ld->cap) {
        size_t cap = ld->cap ? ld->cap * 2 : 256;
        pending_day *p = realloc(ld->days, cap * sizeof(*p));
        if (!p)
            return -1;
        ld->days = p;
        ld->cap = cap;
    }
    pending_day *p = &ld->days[ld->n++];
    p->date = d;
    p->kind = kind;
    p->line = (int)node->start_mark.line + 1;
    p->col = (int)node->start_mark.column + 1;
    return 0;
}

/* One list item: "YYYY-MM-DD" or "YYYY-MM-DD..YYYY-MM-DD". */
static int load_item(loader *ld, int year, cal_kind kind, const yaml_node_t *item)
{
    const char *s = scalar(item);
    stpm_date from, to;
    if (!s) {
        problem(ld, item, "expected a date or a range DATE..DATE, found %s", node_kind(item));
        return 0;
    }
    size_t n = stpm_date_scan(s, &from);
    if (n == 0) {
        problem(ld, item, "invalid date '%.40s' (expected YYYY-MM-DD)", s);
        return 0;
    }
    to = from;
    if (s[n] == '.' && s[n + 1] == '.') {
        const char *t = s + n + 2;
        size_t m = stpm_date_scan(t, &to);
        if (m == 0 || t[m] != '\0') {
            problem(ld, item, "invalid end of range '%.40s' (expected YYYY-MM-DD)", t);
            return 0;
        }
    } else if (s[n] != '\0') {
        problem(ld, item, "invalid date '%.40s' (expected YYYY-MM-DD or DATE..DATE)", s);
        return 0;
    }
    if (to < from) {
        problem(ld, item, "range '%.40s' ends before it starts", s);
        return 0;
    }
    if (to - from >= MAX_RANGE) {
        problem(ld, item, "range '%.40s' is longer than a year", s);
        return 0;
    }
    int y1, y2;
    stpm_date_to_ymd(from, &y1, NULL, NULL);
    stpm_date_to_ymd(to, &y2, NULL, NULL);
    if (y1 < year - 1 || y2 > year + 1) {
        problem(ld, item, "'%.40s' is not in or next to year %d", s, year);
        return 0;
    }
    for (stpm_date d = from; d <= to; d++) {
        if (push(ld, d, kind, item) < 0)
            return -1;
    }
    return 0;
}

static int load_year(loader *ld, int year, const yaml_node_t *value)
{
    if (value->type != YAML_MAPPING_NODE) {
        problem(ld, value, "expected a mapping with holidays and workdays, found %s",
                node_kind(value));
        return 0;
    }
    bool seen[2] = {false, false};
    for (yaml_node_pair_t *pair = value->data.mapping.pairs.start;
         pair < value->data.mapping.pairs.top; pair++) {
        yaml_node_t *key = yaml_document_get_node(ld->doc, pair->key);
        yaml_node_t *list = yaml_document_get_node(ld->doc, pair->value);
        const char *k = scalar(key);
        cal_kind kind;
        if (k && strcmp(k, "provisional") == 0) {
            const char *v = scalar(list);
            if (!v || (strcmp(v, "true") != 0 && strcmp(v, "false") != 0))
                problem(ld, list, "expected true or false for provisional, found '%.40s'",
                        v ? v : node_kind(list));
            else if (ld->n_years)
                ld->provisional[ld->n_years - 1] = strcmp(v, "true") == 0;
            continue;
        }
        if (k && strcmp(k, "holidays") == 0) {
            kind = CAL_HOLIDAY;
        } else if (k && strcmp(k, "workdays") == 0) {
            kind = CAL_WORKDAY;
        } else {
            problem(ld, key, "unknown key '%.40s' (expected holidays, workdays or provisional)",
                    k ? k : node_kind(key));
            continue;
        }
        if (seen[kind - 1]) {
            problem(ld, key, "duplicate key '%s'", k);
            continue;
        }
        seen[kind - 1] = true;
        if (list->type != YAML_SEQUENCE_NODE) {
            problem(ld, list, "expected a list of dates, found %s", node_kind(list));
            continue;
        }
        for (yaml_node_item_t *it = list->data.sequence.items.start;
             it < list->data.sequence.items.top; it++) {
            if (load_item(ld, year, kind, yaml_document_get_node(ld->doc, *it)) < 0)
                return -1;
        }
    }
    return 0;
}

static int parse_year(const char *s)
{
    int y = 0;
    if (!s || !*s || strlen(s) > 4)
        return -1;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        y = y * 10 + (*p - '0');
    }
    return y >= 1 && y <= 9999 ? y : -1;
}

static int load_root(loader *ld, const yaml_node_t *root)
{
    if (root->type != YAML_MAPPING_NODE) {
        problem(ld, root, "expected a mapping of years, found %s", node_kind(root));
        return 0;
    }
    for (yaml_node_pair_t *pair = root->data.mapping.pairs.start;
         pair < root->data.mapping.pairs.top; pair++) {
        yaml_node_t *key = yaml_document_get_node(ld->doc, pair->key);
        int year = parse_year(scalar(key));
        if (year < 0) {
            problem(ld, key, "expected a year such as 2021, found '%.40s'",
                    scalar(key) ? scalar(key) : node_kind(key));
            continue;
        }
        bool dup = false;
        for (yaml_node_pair_t *q = root->data.mapping.pairs.start; q < pair && !dup; q++)
            dup = parse_year(scalar(yaml_document_get_node(ld->doc, q->key))) == year;
        if (dup) {
            problem(ld, key, "year %d appears twice", year);
            continue;
        }
        if (ld->first_year == 0 || year < ld->first_year)
            ld->first_year = year;
        if (year > ld->last_year)
            ld->last_year = year;
        if (ld->n_years < sizeof(ld->years) / sizeof(ld->years[0])) {
            ld->years[ld->n_years] = year;
            ld->provisional[ld->n_years++] = false;
        }
        if (load_year(ld, year, yaml_document_get_node(ld->doc, pair->value)) < 0)
            return -1;
    }
    return 0;
}

static int by_date(const void *a, const void *b)
{
    const pending_day *x = a, *y = b;
    if (x->date != y->date)
        return x->date < y->date ? -1 : 1;
    /* keep file order among equal dates, so the later mention is reported */
    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    return (x->col > y->col) - (x->col < y->col);
}

/* Sort, reject a date that is both a holiday and a workday, and drop repeats. */
static int finish(loader *ld, stpm_calendar *cal)
{
    int rc = 0;
    cal_day *days = NULL;
    if (ld->n > 0)
        qsort(ld->days, ld->n, sizeof(*ld->days), by_date);
    if (!(days = malloc((ld->n + 1) * sizeof(*days))))
        return stpm_error_set(ld->err, STPM_ERROR, "out of memory");
    size_t k = 0;
    for (size_t i = 0; i < ld->n; i++) {
        const pending_day *p = &ld->days[i];
        if (k > 0 && days[k - 1].date == p->date) {
            if (days[k - 1].kind != p->kind) {
                char buf[11];
                stpm_error_add_diag(ld->err, ld->name, p->line, p->col, NULL,
                                    "%s is listed both as a holiday and as a working day",
                                    stpm_date_format(p->date, buf));
                ld->n_errors++;
            }
            continue;
        }
        days[k].date = p->date;
        days[k].kind = p->kind;
        k++;
    }
    if (ld->n_errors == 0)
        rc = calendar_merge(cal, days, k, ld->first_year, ld->last_year, ld->err);
    /* A file's word on a year replaces what an earlier one said. */
    for (size_t i = 0; rc == 0 && ld->n_errors == 0 && i < ld->n_years; i++)
        calendar_set_provisional(cal, ld->years[i], ld->provisional[i]);
    free(days);
    return rc;
}

int stpm_calendar_load_text(stpm_calendar *cal, const char *name, const char *text, size_t len,
                            stpm_error *err)
{
    int rc = 0;
    yaml_parser_t parser;
    yaml_document_t doc;
    bool have_parser = false, have_doc = false;
    loader ld = {.name = name, .doc = &doc, .err = err};
    if ((rc = stpm_yaml_precheck(name, _("calendar file"), text, len, STPM_YAML_MAX_DEPTH, err)) <
        0)
        goto cleanup;
    if (!yaml_parser_initialize(&parser)) {
        rc = stpm_error_set(err, STPM_ERROR, "out of memory");
        goto cleanup;
    }
    have_parser = true;
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (!yaml_parser_load(&parser, &doc)) {
        stpm_error_add_diag(err, name, (int)parser.problem_mark.line + 1,
                            (int)parser.problem_mark.column + 1, NULL, "%s%s%s",
                            parser.problem ? parser.problem : "invalid YAML",
                            parser.context ? " " : "", parser.context ? parser.context : "");
        rc = stpm_error_set(err, STPM_EINPUT, "invalid calendar file %s", name);
        goto cleanup;
    }
    have_doc = true;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (root && load_root(&ld, root) < 0) {
        rc = stpm_error_set(err, STPM_ERROR, "out of memory");
        goto cleanup;
    }
    if ((rc = finish(&ld, cal)) < 0)
        goto cleanup;
    if (ld.n_errors > 0)
        rc = stpm_error_set(err, STPM_EINPUT, "invalid calendar file %s", name);
cleanup:
    free(ld.days);
    if (have_doc)
        yaml_document_delete(&doc);
    if (have_parser)
        yaml_parser_delete(&parser);
    return rc;
}

int stpm_calendar_load_file(stpm_calendar *cal, const char *path, stpm_error *err)
{
    char *text = NULL;
    size_t len = 0;
    int rc = stpm_read_file(path, _("calendar file"), 1u << 20, &text, &len, err);
    if (rc == 0)
        rc = stpm_calendar_load_text(cal, path, text, len, err);
    free(text);
    return rc;
}

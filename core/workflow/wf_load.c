/* Loading a workflow definition from YAML (DESIGN §5, docs/workflows.md).
 *
 * libyaml's document API gives a tree whose nodes carry their marks. The loader walks it
 * in a fixed order — top-level scalars, the names declared under states/fields/
 * transitions, then fields, states and transitions in full — so that every reference can
 * be checked where it is written. Every problem becomes one FILE:LINE:COL diagnostic and
 * the walk goes on, so one run lists all problems of a file; the graph checks come last
 * (wf_validate.c). On any problem the half-built workflow is freed. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

#include <openssl/evp.h>

#include "stpm/workflow.h"
#include "util/strutil.h"
#include "workflow/wf_internal.h"
#include "util/readfile.h"
#include "util/yamlcheck.h"

#define WF_MAX_DIAGS 200
#define WF_MAX_FILE (4u << 20)
/* At most this many entries in any mapping or list: keeps every check well below
 * quadratic trouble on hostile input. Real workflows have a few dozen. */
#define WF_MAX_ITEMS 500

typedef struct loader {
    stpm_workflow *wf;
    yaml_document_t *doc;
    wf_diags d;
    bool bad_refs;             /* an unknown state was named: skip the graph checks */
    wf_loc *state_locs;        /* where each state is declared */
    yaml_node_t **timeout_tr;  /* per state: the node naming its timeout transition */
    yaml_node_t **state_nodes; /* per state / field / transition: its value node */
    yaml_node_t **field_nodes;
    yaml_node_t **tr_nodes;
    wf_check_locs *check_locs; /* per scheduled check: where its parts are written */
} loader;

void wf_diag(wf_diags *d, int line, int col, const char *fmt, ...)
{
    d->count++;
    if (d->count > WF_MAX_DIAGS)
        return;
    va_list ap;
    va_start(ap, fmt);
    char *msg = stpm_vasprintf(_(fmt), ap);
    va_end(ap);
    if (d->count == WF_MAX_DIAGS)
        stpm_error_add_diag(d->err, d->file, line, col, NULL, "too many problems; giving up here");
    else
        stpm_error_add_diag(d->err, d->file, line, col, NULL, "%s", msg ? msg : _("out of memory"));
    free(msg);
}

#define DIAG(ld, n, ...)                                                                           \
    wf_diag(&(ld)->d, (int)(n)->start_mark.line + 1, (int)(n)->start_mark.column + 1, __VA_ARGS__)

static wf_loc loc_of(const yaml_node_t *n)
{
    wf_loc l = {(int)n->start_mark.line + 1, (int)n->start_mark.column + 1};
    return l;
}

static yaml_node_t *get(loader *ld, int index)
{
    return yaml_document_get_node(ld->doc, index);
}

/* The text of a scalar node, or NULL (with a diagnostic naming `what`) when n is not a
 * scalar or holds a NUL byte. */
static const char *scalar(loader *ld, yaml_node_t *n, const char *what)
{
    if (n->type != YAML_SCALAR_NODE) {
        DIAG(ld, n, "%s must be a single value, not a %s", what,
             n->type == YAML_MAPPING_NODE ? "mapping" : "list");
        return NULL;
    }
    const char *s = (const char *)n->data.scalar.value;
    if (strlen(s) != n->data.scalar.length) {
        DIAG(ld, n, "%s contains a NUL character", what);
        return NULL;
    }
    return s;
}

static bool is_plain_null(const yaml_node_t *n)
{
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    const char *s = (const char *)n->data.scalar.value;
    return !*s || strcmp(s, "~") == 0 || strcmp(s, "null") == 0;
}

/* An identifier ([a-z][a-z0-9_]*): its text, or NULL with a diagnostic. */
static const char *ident(loader *ld, yaml_node_t *n, const char *what)
{
    const char *s = scalar(ld, n, what);
    if (!s)
        return NULL;
    if (!wf_is_identifier(s)) {
        DIAG(ld, n,
             "%s \"%s\" is not an identifier (lower-case letters, digits and _, "
             "starting with a letter, at most 63 bytes)",
             what, s);
        return NULL;
    }
    return s;
}

static int parse_bool(loader *ld, yaml_node_t *n, const char *what, bool *out)
{
    const char *s = scalar(ld, n, what);
    if (!s)
        return -1;
    if (strcmp(s, "true") == 0)
        *out = true;
    else if (strcmp(s, "false") == 0)
        *out = false;
    else {
        DIAG(ld, n, "%s must be true or false, not \"%s\"", what, s);
        return -1;
    }
    return 0;
}

/* A decimal integer without sign, 1..INT_MAX (or 0.. when allow_zero). */
static int parse_int_text(const char *s, int64_t *out)
{
    bool neg = false;
    if (*s == '-' || *s == '+')
        neg = *s++ == '-';
    if (!*s)
        return -1;
    int64_t v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        if (v > (INT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (*s - '0');
    }
    *out = neg ? -v : v;
    return 0;
}

/* true (with a diagnostic) when a mapping or list holds more than WF_MAX_ITEMS entries. */
static bool too_big(loader *ld, yaml_node_t *n)
{
    size_t count = 0;
    if (n->type == YAML_MAPPING_NODE)
        count = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
    else if (n->type == YAML_SEQUENCE_NODE)
        count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
    if (count <= WF_MAX_ITEMS)
        return false;
    DIAG(ld, n, "%zu entries are too many (at most %d)", count, WF_MAX_ITEMS);
    return true;
}

/* Check a mapping's keys: each a scalar, none twice, each one of `allowed` (NULL-ended;
 * NULL allowed means any identifier-free key). `what` names the mapping in messages. */
static void check_keys(loader *ld, yaml_node_t *map, const char *const *allowed, const char *what)
{
    if (too_big(ld, map))
        return;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = get(ld, p->key);
        const char *ks = scalar(ld, k, "a key");
        if (!ks)
            continue;
        for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < p; q++) {
            yaml_node_t *k2 = get(ld, q->key);
            if (k2->type == YAML_SCALAR_NODE &&
                strcmp((const char *)k2->data.scalar.value, ks) == 0) {
                DIAG(ld, k, "duplicate key \"%s\" in %s (first at line %d)", ks, what,
                     (int)k2->start_mark.line + 1);
                break;
            }
        }
        if (!allowed)
            continue;
        bool ok = false;
        for (const char *const *a = allowed; *a; a++)
            if (strcmp(*a, ks) == 0)
                ok = true;
        if (!ok) {
            stpm_strbuf sb = STPM_STRBUF_INIT;
            for (const char *const *a = allowed; *a; a++)
                stpm_strbuf_printf(&sb, "%s%s", a == allowed ? "" : ", ", *a);
            DIAG(ld, k, "unknown key \"%s\" in %s (expected one of: %s)", ks, what,
                 stpm_strbuf_str(&sb));
            stpm_strbuf_free(&sb);
        }
    }
}

/* The value of `key` in a mapping (the first, when duplicated), or NULL. */
static yaml_node_t *map_get(loader *ld, yaml_node_t *map, const char *key)
{
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = get(ld, p->key);
        if (k->type == YAML_SCALAR_NODE && strcmp((const char *)k->data.scalar.value, key) == 0)
            return get(ld, p->value);
    }
    return NULL;
}

static bool want_mapping(loader *ld, yaml_node_t *n, const char *what)
{
    if (n->type == YAML_MAPPING_NODE)
        return true;
    DIAG(ld, n, "%s must be a mapping", what);
    return false;
}

static size_t state_index(const stpm_workflow *wf, const char *name)
{
    for (size_t i = 0; i < wf->n_states; i++)
        if (wf->states[i].name && strcmp(wf->states[i].name, name) == 0)
            return i;
    return SIZE_MAX;
}

/* A reference to a state: its interned name, or NULL with "unknown state". */
static const char *state_ref(loader *ld, yaml_node_t *n, const char *what)
{
    const char *s = scalar(ld, n, what);
    if (!s)
        return NULL;
    size_t i = state_index(ld->wf, s);
    if (i == SIZE_MAX) {
        DIAG(ld, n, "unknown state \"%s\" in %s", s, what);
        ld->bad_refs = true;
        return NULL;
    }
    return ld->wf->states[i].name;
}

/* A scalar or a list of scalars as an array of items (nodes); n_out items. */
static yaml_node_t **scalar_list(loader *ld, yaml_node_t *n, size_t *n_out, const char *what)
{
    *n_out = 0;
    if (n->type == YAML_SCALAR_NODE) {
        yaml_node_t **a = wf_alloc(ld->wf, sizeof(*a));
        if (a) {
            a[0] = n;
            *n_out = 1;
        }
        return a;
    }
    if (n->type != YAML_SEQUENCE_NODE) {
        DIAG(ld, n, "%s must be a name or a list of names", what);
        return NULL;
    }
    if (too_big(ld, n))
        return NULL;
    size_t count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
    yaml_node_t **a = wf_alloc(ld->wf, (count ? count : 1) * sizeof(*a));
    if (!a)
        return NULL;
    for (size_t i = 0; i < count; i++)
        a[i] = get(ld, n->data.sequence.items.start[i]);
    *n_out = count;
    return a;
}

/* A list of names each checked by `resolve`, without duplicates. Returns the array of
 * interned names (valid ones only). */
typedef const char *(*resolve_fn)(loader *ld, yaml_node_t *n, const char *what);

static const char *const *name_list(loader *ld, yaml_node_t *n, const char *what,
                                    resolve_fn resolve, size_t *n_out)
{
    size_t count;
    *n_out = 0;
    yaml_node_t **items = scalar_list(ld, n, &count, what);
    if (!items)
        return NULL;
    const char **names = wf_alloc(ld->wf, (count ? count : 1) * sizeof(*names));
    if (!names)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < count; i++) {
        const char *s = resolve(ld, items[i], what);
        if (!s)
            continue;
        bool dup = false;
        for (size_t j = 0; j < k; j++)
            if (strcmp(names[j], s) == 0)
                dup = true;
        if (dup) {
            DIAG(ld, items[i], "\"%s\" is listed twice in %s", s, what);
            continue;
        }
        names[k++] = s;
    }
    *n_out = k;
    return names;
}

static const char *field_ref(loader *ld, yaml_node_t *n, const char *what)
{
    const char *s = scalar(ld, n, what);
    if (!s)
        return NULL;
    const stpm_wf_field *f = stpm_workflow_find_field(ld->wf, s);
    if (!f) {
        DIAG(ld, n, "unknown field \"%s\" in %s", s, what);
        return NULL;
    }
    return f->name;
}

/* The declared kinds as "a, b, c" (or a sentence saying there are none), for messages. */
static char *declared_kinds(const stpm_workflow *wf)
{
    stpm_strbuf sb = STPM_STRBUF_INIT;
    for (size_t i = 0; i < wf->n_documents; i++)
        if (wf->documents[i].kind)
            stpm_strbuf_printf(&sb, "%s%s", sb.len ? ", " : "", wf->documents[i].kind);
    if (!sb.len)
        stpm_strbuf_puts(&sb, _("none: the workflow has no \"documents:\""));
    return stpm_strbuf_detach(&sb);
}

static const char *document_ref(loader *ld, yaml_node_t *n, const char *what)
{
    const char *s = ident(ld, n, _("a document kind"));
    if (!s)
        return NULL;
    const stpm_wf_document *d = stpm_workflow_find_document(ld->wf, s);
    if (!d) {
        char *kinds = declared_kinds(ld->wf);
        DIAG(ld, n, "undeclared document kind \"%s\" in %s (declared: %s)", s, what,
             kinds ? kinds : _("out of memory"));
        free(kinds);
        return NULL;
    }
    return d->kind;
}

/* A field that `input:` may name: the workflow's own fields, amount_requested and
 * amount_approved. */
static const char *input_ref(loader *ld, yaml_node_t *n, const char *what)
{
    const char *s = field_ref(ld, n, what);
    if (!s)
        return NULL;
    const stpm_wf_field *f = stpm_workflow_find_field(ld->wf, s);
    if (!wf_field_may_be_input(f)) {
        DIAG(ld, n,
             "built-in field \"%s\" cannot be an input (input may name the workflow's own "
             "fields, amount_requested and amount_approved)",
             s);
        return NULL;
    }
    return s;
}

/* ---- expressions ------------------------------------------------------------------- */

static int type_of_name(void *ctx, const char *name, stpm_type *out)
{
    const stpm_wf_field *f = stpm_workflow_find_field(ctx, name);
    if (!f)
        return -1;
    *out = stpm_field_type_expr(f->type);
    return 0;
}

/* Move the expression diagnostics in `e` to the scalar n's place in the file. */
/* The number of UTF-8 characters in the first n bytes of s. */
static int utf8_chars(const char *s, size_t n)
{
    int c = 0;
    for (size_t i = 0; i < n && s[i]; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            c++;
    return c;
}

static void expr_diags(loader *ld, yaml_node_t *n, const char *src, const stpm_error *e,
                       const char *what)
{
    int line = (int)n->start_mark.line + 1, col = (int)n->start_mark.column + 1;
    yaml_scalar_style_t st = n->data.scalar.style;
    bool shift = st == YAML_PLAIN_SCALAR_STYLE || st == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
                 st == YAML_DOUBLE_QUOTED_SCALAR_STYLE;
    int quote = st == YAML_PLAIN_SCALAR_STYLE ? 0 : 1;
    if (e->n_diags == 0) {
        wf_diag(&ld->d, line, col, "%s: %s", what, e->message ? e->message : _("out of memory"));
        return;
    }
    for (size_t i = 0; i < e->n_diags; i++) {
        int c = col;
        if (shift && e->diags[i].col > 0) /* the byte column as characters, as libyaml counts */
            c = col + utf8_chars(src, (size_t)e->diags[i].col - 1) + quote;
        wf_diag(&ld->d, line, c, "%s: %s", what,
                e->diags[i].message ? e->diags[i].message : _("out of memory"));
    }
}

/* Parse and type-check an expression scalar; *type gets its type. NULL on a problem. */
static stpm_expr *expression(loader *ld, yaml_node_t *n, const char *what, stpm_type *type)
{
    const char *src = scalar(ld, n, what);
    if (!src)
        return NULL;
    stpm_error e = STPM_ERROR_INIT;
    stpm_expr *x = NULL;
    if (stpm_expr_parse(&x, src, &e) < 0) {
        expr_diags(ld, n, src, &e, what);
        stpm_error_clear(&e);
        return NULL;
    }
    if (stpm_expr_check(x, type_of_name, ld->wf, type, &e) < 0) {
        expr_diags(ld, n, src, &e, what);
        stpm_error_clear(&e);
        stpm_expr_free(x);
        return NULL;
    }
    stpm_error_clear(&e);
    if (wf_keep_expr(ld->wf, x) < 0)
        return NULL;
    return x;
}

/* ---- the parts of the file ----------------------------------------------------------- */

static const char *const top_keys[] = {"workflow", "version",     "title",  "description",
                                       "initial",  "states",      "fields", "documents",
                                       "checks",   "transitions", NULL};
static const char *const state_keys[] = {"label",   "final",     "closed", "due",
                                         "timeout", "counts_as", "active", NULL};
static const char *const timeout_keys[] = {"after", "transition", NULL};
static const char *const field_keys[] = {"type", "label", "default", "required_in", NULL};
static const char *const tr_keys[] = {"label",   "from",   "to",   "roles", "input",
                                      "require", "checks", "when", "set",   NULL};
static const char *const require_keys[] = {"fields", "documents", "reason", NULL};
static const char *const document_keys[] = {"label", NULL};

static yaml_node_t *required(loader *ld, yaml_node_t *map, const char *key, const char *what)
{
    yaml_node_t *n = map_get(ld, map, key);
    if (!n)
        DIAG(ld, map, "%s has no \"%s\"", what, key);
    return n;
}

static const char *text_value(loader *ld, yaml_node_t *n, const char *what)
{
    const char *s = scalar(ld, n, what);
    if (!s)
        return NULL;
    if (!*s) {
        DIAG(ld, n, "%s is empty", what);
        return NULL;
    }
    return wf_strdup(ld->wf, s);
}

/* Pass 1: the names under states, fields and transitions. */
static size_t declare(loader *ld, yaml_node_t *map, const char *what, yaml_node_t ***values)
{
    *values = NULL;
    if (too_big(ld, map))
        return 0;
    check_keys(ld, map, NULL, what);
    size_t count = (size_t)(map->data.mapping.pairs.top - map->data.mapping.pairs.start);
    *values = wf_alloc(ld->wf, (count ? count : 1) * sizeof(**values));
    return *values ? count : 0;
}

static void declare_names(loader *ld, yaml_node_t *map, size_t n, const char *what,
                          const char **names, yaml_node_t **values, wf_loc *locs)
{
    size_t i = 0;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; i < n; p++, i++) {
        yaml_node_t *k = get(ld, p->key);
        values[i] = get(ld, p->value);
        if (locs)
            locs[i] = loc_of(k);
        if (k->type != YAML_SCALAR_NODE)
            continue; /* reported by check_keys */
        const char *s = (const char *)k->data.scalar.value;
        bool dup = false;
        for (size_t j = 0; j < i; j++)
            if (names[j] && strcmp(names[j], s) == 0)
                dup = true;
        if (dup)
            continue; /* reported by check_keys */
        if (!wf_is_identifier(s)) {
            DIAG(ld, k,
                 "%s name \"%s\" is not an identifier (lower-case letters, digits and _, "
                 "starting with a letter, at most 63 bytes)",
                 what, s);
            continue;
        }
        names[i] = wf_strdup(ld->wf, s);
    }
}

static int parse_default(loader *ld, yaml_node_t *n, stpm_field_type type, stpm_value *v)
{
    const char *s = scalar(ld, n, "default");
    if (!s)
        return -1;
    memset(v, 0, sizeof(*v));
    int64_t i;
    switch (type) {
    case STPM_FIELD_TEXT:
        v->type = STPM_TYPE_STRING;
        v->s = stpm_strdup(s);
        if (!v->s) {
            ld->wf->oom = true;
            return -1;
        }
        return 0;
    case STPM_FIELD_INTEGER:
        if (parse_int_text(s, &i) < 0)
            break;
        v->type = STPM_TYPE_INT;
        v->u.i = i;
        return 0;
    case STPM_FIELD_AMOUNT:
        if (stpm_decimal_parse(s, &v->u.d) < 0)
            break;
        v->type = STPM_TYPE_DECIMAL;
        return 0;
    case STPM_FIELD_DATE:
        if (stpm_date_parse(s, &v->u.date) < 0)
            break;
        v->type = STPM_TYPE_DATE;
        return 0;
    case STPM_FIELD_BOOLEAN:
        if (strcmp(s, "true") != 0 && strcmp(s, "false") != 0)
            break;
        v->type = STPM_TYPE_BOOL;
        v->u.b = strcmp(s, "true") == 0;
        return 0;
    }
    DIAG(ld, n, "default \"%s\" is not a valid %s", s, stpm_field_type_name(type));
    return -1;
}

static void parse_field(loader *ld, size_t i, yaml_node_t *n)
{
    stpm_wf_field *f = &ld->wf->fields[i];
    if (!f->name || !want_mapping(ld, n, "a field"))
        return;
    check_keys(ld, n, field_keys, "a field");
    f->settable = true;
    yaml_node_t *t = required(ld, n, "type", "field");
    const char *ts = t ? scalar(ld, t, "type") : NULL;
    bool type_ok = false;
    if (ts) {
        static const stpm_field_type all[] = {STPM_FIELD_TEXT, STPM_FIELD_INTEGER,
                                              STPM_FIELD_AMOUNT, STPM_FIELD_DATE,
                                              STPM_FIELD_BOOLEAN};
        for (size_t k = 0; k < 5; k++)
            if (strcmp(ts, stpm_field_type_name(all[k])) == 0) {
                f->type = all[k];
                type_ok = true;
            }
        if (!type_ok)
            DIAG(ld, t,
                 "unknown field type \"%s\" (expected text, integer, amount, date or "
                 "boolean)",
                 ts);
    }
    yaml_node_t *x;
    if ((x = map_get(ld, n, "label")))
        f->label = text_value(ld, x, "label");
    if ((x = map_get(ld, n, "default")) && type_ok)
        f->has_default = parse_default(ld, x, f->type, &f->default_value) == 0;
    if ((x = map_get(ld, n, "required_in")))
        f->required_in = name_list(ld, x, "required_in", state_ref, &f->n_required_in);
}

static void parse_timeout(loader *ld, size_t i, yaml_node_t *n)
{
    stpm_wf_state *s = &ld->wf->states[i];
    if (!want_mapping(ld, n, "timeout"))
        return;
    check_keys(ld, n, timeout_keys, "timeout");
    yaml_node_t *a = required(ld, n, "after", "timeout");
    yaml_node_t *t = required(ld, n, "transition", "timeout");
    const char *as = a ? scalar(ld, a, "after") : NULL;
    bool ok = as != NULL;
    if (as && wf_parse_duration(as, &s->timeout_after) < 0) {
        DIAG(ld, a,
             "bad duration \"%s\" (expected a positive number and d, wd, mo or y, "
             "as in 5wd)",
             as);
        ok = false;
    }
    const char *ts = t ? scalar(ld, t, "transition") : NULL;
    if (ts) {
        const stpm_wf_transition *tr = stpm_workflow_find_transition(ld->wf, ts);
        if (!tr) {
            DIAG(ld, t, "unknown transition \"%s\" in timeout", ts);
            ok = false;
        } else {
            s->timeout_transition = tr->name;
            ld->timeout_tr[i] = t; /* whether it leaves the state is checked at the end */
        }
    } else {
        ok = false;
    }
    s->has_timeout = ok;
}

/* `counts_as:` and `active:`, and whether they fit `final:` and `closed:` (a closed state
 * ends the project as accepted or terminated; a state that counts as applied, admitted or
 * in progress cannot be final; a final state is never active). */
static void parse_milestone(loader *ld, stpm_wf_state *s, yaml_node_t *n)
{
    yaml_node_t *x = map_get(ld, n, "counts_as");
    const char *m = x ? scalar(ld, x, "counts_as") : NULL;
    if (m && !wf_milestone_parse(m, &s->counts_as))
        DIAG(ld, x,
             "unknown milestone \"%s\" in counts_as (expected applied, admitted, approved, "
             "in_progress, accepted, terminated, rejected or withdrawn)",
             m);
    stpm_milestone c = s->counts_as;
    bool ends = c == STPM_MILESTONE_ACCEPTED || c == STPM_MILESTONE_TERMINATED ||
                c == STPM_MILESTONE_REJECTED || c == STPM_MILESTONE_WITHDRAWN;
    bool on_way = c == STPM_MILESTONE_APPLIED || c == STPM_MILESTONE_ADMITTED ||
                  c == STPM_MILESTONE_IN_PROGRESS;
    if (x && ends && !s->final)
        DIAG(ld, x, "state \"%s\" counts as %s but is not final", s->name, stpm_milestone_name(c));
    else if (x && on_way && s->final)
        DIAG(ld, x, "final state \"%s\" cannot count as %s (a project there is still on its way)",
             s->name, stpm_milestone_name(c));
    else if (x && s->closed && (c == STPM_MILESTONE_REJECTED || c == STPM_MILESTONE_WITHDRAWN))
        DIAG(ld, x,
             "closed state \"%s\" cannot count as %s (closed is for approved projects that "
             "ended; a rejection is final without closed)",
             s->name, stpm_milestone_name(c));
    else if (x && s->closed && c != STPM_MILESTONE_ACCEPTED && c != STPM_MILESTONE_TERMINATED &&
             c != STPM_MILESTONE_APPROVED)
        DIAG(ld, x, "closed state \"%s\" must count as accepted, terminated or approved", s->name);
    /* not given: every state on the way, i.e. neither final nor the initial one (the
     * initial state is where a project waits before it applies: the reserve pool) */
    s->active = !s->final && !(ld->wf->initial && strcmp(s->name, ld->wf->initial) == 0);
    if ((x = map_get(ld, n, "active"))) {
        parse_bool(ld, x, "active", &s->active);
        if (s->active && s->final)
            DIAG(ld, x, "final state \"%s\" cannot be active", s->name);
    }
}

static void parse_state(loader *ld, size_t i, yaml_node_t *n)
{
    stpm_wf_state *s = &ld->wf->states[i];
    if (!s->name || !want_mapping(ld, n, "a state"))
        return;
    check_keys(ld, n, state_keys, "a state");
    yaml_node_t *x;
    if ((x = required(ld, n, "label", "state")))
        s->label = text_value(ld, x, "label");
    if ((x = map_get(ld, n, "final")))
        parse_bool(ld, x, "final", &s->final);
    if ((x = map_get(ld, n, "closed")))
        parse_bool(ld, x, "closed", &s->closed);
    if (s->closed && !s->final)
        DIAG(ld, map_get(ld, n, "closed"), "state \"%s\" is closed but not final", s->name);
    if ((x = map_get(ld, n, "due"))) {
        const char *f = field_ref(ld, x, "due");
        const stpm_wf_field *fd = f ? stpm_workflow_find_field(ld->wf, f) : NULL;
        if (fd && fd->type != STPM_FIELD_DATE)
            DIAG(ld, x, "due field \"%s\" is not a date (it is %s)", f,
                 stpm_field_type_name(fd->type));
        else if (fd && s->final)
            DIAG(ld, x, "final state \"%s\" cannot have a due date", s->name);
        else if (fd)
            s->due = fd->name;
    }
    if ((x = map_get(ld, n, "timeout")))
        parse_timeout(ld, i, x);
    parse_milestone(ld, s, n);
}

static const char *role_ref(loader *ld, yaml_node_t *n, const char *what)
{
    const char *s = scalar(ld, n, what);
    if (!s)
        return NULL;
    if (!wf_role_bit(s)) {
        DIAG(ld, n, "unknown role \"%s\" (expected officer, admin or expert)", s);
        return NULL;
    }
    return s;
}

static void parse_check_params(loader *ld, stpm_wf_check *c, yaml_node_t *key, yaml_node_t *p)
{
    const char *param = c->kind == STPM_CHECK_NO_DUPLICATE   ? "similarity"
                        : c->kind == STPM_CHECK_LEADER_LIMIT ? "max"
                                                             : NULL;
    if (!p) {
        if (param)
            DIAG(ld, key, "check %s needs the parameter %s", c->name, param);
        return;
    }
    if (!param) {
        if (!is_plain_null(p))
            DIAG(ld, p, "check %s takes no parameters", c->name);
        return;
    }
    if (!want_mapping(ld, p, _("the parameters of a check")))
        return;
    const char *const allowed[] = {param, NULL};
    check_keys(ld, p, allowed, c->name);
    yaml_node_t *v = map_get(ld, p, param);
    if (!v) {
        DIAG(ld, p, "check %s needs the parameter %s", c->name, param);
        return;
    }
    const char *s = scalar(ld, v, param);
    if (!s)
        return;
    if (c->kind == STPM_CHECK_NO_DUPLICATE) {
        if (stpm_decimal_parse(s, &c->similarity) < 0 || c->similarity < 0 ||
            c->similarity > STPM_DECIMAL_SCALE)
            DIAG(ld, v, "similarity must be a decimal from 0 to 1, not \"%s\"", s);
    } else {
        if (parse_int_text(s, &c->max) < 0 || c->max <= 0 || c->max > INT_MAX)
            DIAG(ld, v, "max must be a positive integer, not \"%s\"", s);
    }
}

static void parse_checks(loader *ld, stpm_wf_transition *t, yaml_node_t *n)
{
    if (n->type != YAML_SEQUENCE_NODE) {
        DIAG(ld, n, "checks must be a list");
        return;
    }
    if (too_big(ld, n))
        return;
    size_t count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
    stpm_wf_check *checks = wf_alloc(ld->wf, (count ? count : 1) * sizeof(*checks));
    if (!checks)
        return;
    size_t k = 0;
    for (size_t i = 0; i < count; i++) {
        yaml_node_t *item = get(ld, n->data.sequence.items.start[i]);
        yaml_node_t *key = item, *params = NULL;
        if (item->type == YAML_MAPPING_NODE) {
            size_t np = (size_t)(item->data.mapping.pairs.top - item->data.mapping.pairs.start);
            if (np != 1) {
                DIAG(ld, item, "a check with parameters is written \"NAME: {PARAM: VALUE}\"");
                continue;
            }
            key = get(ld, item->data.mapping.pairs.start[0].key);
            params = get(ld, item->data.mapping.pairs.start[0].value);
        }
        const char *name = scalar(ld, key, "a check");
        if (!name)
            continue;
        stpm_wf_check *c = &checks[k];
        if (wf_check_kind(name, &c->kind) < 0) {
            DIAG(ld, key,
                 "unknown check \"%s\" (expected integrity_commitment, credit_clean, "
                 "no_conflict, no_duplicate, leader_limit, org_no_overdue or "
                 "uscc_valid)",
                 name);
            continue;
        }
        c->name = stpm_check_kind_name(c->kind);
        bool dup = false;
        for (size_t j = 0; j < k; j++)
            if (checks[j].kind == c->kind)
                dup = true;
        if (dup) {
            DIAG(ld, key, "check %s is listed twice", name);
            continue;
        }
        parse_check_params(ld, c, key, params);
        k++;
    }
    t->checks = checks;
    t->n_checks = k;
}

static void parse_require(loader *ld, stpm_wf_transition *t, yaml_node_t *n)
{
    if (!want_mapping(ld, n, "require"))
        return;
    check_keys(ld, n, require_keys, "require");
    yaml_node_t *x;
    if ((x = map_get(ld, n, "fields")))
        t->require_fields = name_list(ld, x, _("require fields"), field_ref, &t->n_require_fields);
    if ((x = map_get(ld, n, "documents")))
        t->require_documents =
            name_list(ld, x, _("require documents"), document_ref, &t->n_require_documents);
    if ((x = map_get(ld, n, "reason")))
        parse_bool(ld, x, "reason", &t->require_reason);
}

static void parse_set(loader *ld, stpm_wf_transition *t, yaml_node_t *n)
{
    if (!want_mapping(ld, n, "set") || too_big(ld, n))
        return;
    check_keys(ld, n, NULL, "set");
    size_t count = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
    stpm_wf_set *set = wf_alloc(ld->wf, (count ? count : 1) * sizeof(*set));
    if (!set)
        return;
    size_t k = 0;
    for (size_t i = 0; i < count; i++) {
        yaml_node_t *key = get(ld, n->data.mapping.pairs.start[i].key);
        yaml_node_t *val = get(ld, n->data.mapping.pairs.start[i].value);
        const char *fname = field_ref(ld, key, "set");
        const stpm_wf_field *f = fname ? stpm_workflow_find_field(ld->wf, fname) : NULL;
        if (f && !f->settable) {
            DIAG(ld, key, "built-in field \"%s\" cannot be set by a transition", fname);
            f = NULL;
        }
        bool dup = false;
        for (size_t j = 0; f && j < k; j++)
            if (strcmp(set[j].field, f->name) == 0)
                dup = true;
        if (dup)
            f = NULL; /* reported by check_keys */
        stpm_type ty;
        stpm_expr *x = expression(ld, val, _("set expression"), &ty);
        if (!x || !f)
            continue;
        stpm_type want = stpm_field_type_expr(f->type);
        if (ty != want && ty != STPM_TYPE_NULL &&
            !(want == STPM_TYPE_DECIMAL && ty == STPM_TYPE_INT)) {
            DIAG(ld, val, "set expression for %s field \"%s\" has type %s",
                 stpm_field_type_name(f->type), f->name, stpm_type_name(ty));
            continue;
        }
        set[k].field = f->name;
        set[k].expr = x;
        k++;
    }
    t->set = set;
    t->n_set = k;
}

static void parse_transition(loader *ld, size_t i, yaml_node_t *n)
{
    stpm_wf_transition *t = &ld->wf->transitions[i];
    if (!t->name || !want_mapping(ld, n, "a transition"))
        return;
    check_keys(ld, n, tr_keys, "a transition");
    yaml_node_t *x;
    if ((x = map_get(ld, n, "label")))
        t->label = text_value(ld, x, "label");
    if ((x = required(ld, n, "from", "transition")))
        t->from = name_list(ld, x, "from", state_ref, &t->n_from);
    if ((x = required(ld, n, "to", "transition")))
        t->to = state_ref(ld, x, "to");
    if ((x = required(ld, n, "roles", "transition"))) {
        size_t nr;
        const char *const *roles = name_list(ld, x, "roles", role_ref, &nr);
        for (size_t k = 0; roles && k < nr; k++)
            t->roles |= wf_role_bit(roles[k]);
    }
    if ((x = map_get(ld, n, "input")))
        t->inputs = name_list(ld, x, "input", input_ref, &t->n_inputs);
    if ((x = map_get(ld, n, "require")))
        parse_require(ld, t, x);
    if ((x = map_get(ld, n, "checks")))
        parse_checks(ld, t, x);
    if ((x = map_get(ld, n, "when"))) {
        stpm_type ty;
        stpm_expr *e = expression(ld, x, "guard", &ty);
        if (e && ty != STPM_TYPE_BOOL)
            DIAG(ld, x, "guard must be a boolean expression, not %s", stpm_type_name(ty));
        else
            t->when = e;
    }
    if ((x = map_get(ld, n, "set")))
        parse_set(ld, t, x);
}

/* `documents:` kind → {label: TEXT} or kind → TEXT. */
static void parse_documents(loader *ld, yaml_node_t *map)
{
    stpm_workflow *wf = ld->wf;
    yaml_node_t **values = NULL;
    size_t n = declare(ld, map, "documents", &values);
    const char **names = wf_alloc(wf, (n ? n : 1) * sizeof(*names));
    wf_loc *locs = wf_alloc(wf, (n ? n : 1) * sizeof(*locs));
    wf->documents = wf_alloc(wf, (n ? n : 1) * sizeof(*wf->documents));
    if (!values || !names || !locs || !wf->documents)
        return;
    declare_names(ld, map, n, _("document kind"), names, values, locs);
    for (size_t i = 0; i < n; i++) {
        stpm_wf_document *d = &wf->documents[i];
        d->kind = names[i];
        d->line = locs[i].line;
        yaml_node_t *v = values[i], *label = v;
        if (v->type == YAML_MAPPING_NODE) {
            check_keys(ld, v, document_keys, _("a document kind"));
            label = required(ld, v, "label", _("document kind"));
        }
        if (label)
            d->label = text_value(ld, label, "label");
        if (!d->label)
            d->kind = NULL; /* reported; an unusable declaration */
    }
    wf->n_documents = n;
}

/* true when expression e reads the field `name`. */
typedef struct reads_ctx {
    const char *name;
    bool found;
} reads_ctx;

static void reads_one(void *ctx, const char *name)
{
    reads_ctx *r = ctx;
    if (strcmp(r->name, name) == 0)
        r->found = true;
}

static bool expr_reads(const stpm_expr *e, const char *name)
{
    reads_ctx r = {name, false};
    if (e)
        stpm_expr_names(e, reads_one, &r);
    return r.found;
}

/* A warning: a timer whose own transition can be taken by hand at once, because no guard
 * waits for the timer (reads state_since). The 公示 period could be skipped. */
static void warn_timers(loader *ld)
{
    stpm_workflow *wf = ld->wf;
    for (size_t i = 0; i < wf->n_states; i++) {
        const stpm_wf_state *s = &wf->states[i];
        if (!s->has_timeout || !ld->timeout_tr[i])
            continue;
        const stpm_wf_transition *t = stpm_workflow_find_transition(wf, s->timeout_transition);
        if (!t || !t->roles || expr_reads(t->when, "state_since"))
            continue;
        char dur[24];
        yaml_node_t *n = ld->timeout_tr[i];
        stpm_wf_duration_format(s->timeout_after, dur);
        stpm_error_add_diag(&wf->warnings, ld->d.file, (int)n->start_mark.line + 1,
                            (int)n->start_mark.column + 1, NULL,
                            "warning: the timer of state \"%s\" takes transition \"%s\" after %s, "
                            "but \"%s\" can be taken by hand at once: no guard of it reads "
                            "state_since (add \"when: today >= state_since + %s\")",
                            s->name, t->name, dur, t->name, dur);
    }
}

/* A warning: a workflow that declares milestones (`counts_as:`) but not for one of its
 * final states — projects that end there would count as neither accepted, terminated nor
 * rejected. (A workflow that declares none counts no milestones at all.) */
static void warn_milestones(loader *ld)
{
    stpm_workflow *wf = ld->wf;
    bool any = false;
    for (size_t i = 0; i < wf->n_states; i++)
        any = any || wf->states[i].counts_as != STPM_MILESTONE_NONE;
    for (size_t i = 0; any && i < wf->n_states; i++) {
        const stpm_wf_state *s = &wf->states[i];
        if (!s->final || s->counts_as != STPM_MILESTONE_NONE || !s->name)
            continue;
        stpm_error_add_diag(&wf->warnings, ld->d.file, s->line, 3, NULL,
                            "warning: final state \"%s\" does not say what it counts as: reports "
                            "count a project that ends there as neither accepted, terminated nor "
                            "rejected (add \"counts_as:\" accepted, terminated, rejected, "
                            "withdrawn or approved)",
                            s->name);
    }
}

/* ---- scheduled checks (`checks:`) ------------------------------------------------------ */

static const char *const scheduled_check_keys[] = {"label", "after",   "of",   "in",
                                                   "pass",  "rectify", "fail", NULL};

static const char *transition_ref(loader *ld, yaml_node_t *n, const char *what)
{
    const char *s = scalar(ld, n, what);
    if (!s)
        return NULL;
    const stpm_wf_transition *t = stpm_workflow_find_transition(ld->wf, s);
    if (!t) {
        DIAG(ld, n, "unknown transition \"%s\" in %s", s, what);
        return NULL;
    }
    return t->name;
}

/* One check: NAME → {label, after, of, in, pass, rectify, fail}. */
static void parse_scheduled_check(loader *ld, stpm_wf_scheduled_check *c, wf_check_locs *l,
                                  yaml_node_t *n)
{
    if (!want_mapping(ld, n, "a check")) {
        c->name = NULL;
        return;
    }
    check_keys(ld, n, scheduled_check_keys, "a check");
    yaml_node_t *x;
    c->label = c->name;
    if ((x = map_get(ld, n, "label")))
        c->label = text_value(ld, x, "label");
    if ((x = required(ld, n, "after", "check"))) {
        const char *as = scalar(ld, x, "after");
        if (as && wf_parse_duration(as, &c->after) < 0)
            DIAG(ld, x,
                 "bad duration \"%s\" (expected a positive number and d, wd, mo or y, "
                 "as in 12mo)",
                 as);
    }
    if ((x = required(ld, n, "of", "check"))) {
        const char *f = field_ref(ld, x, "of");
        const stpm_wf_field *fd = f ? stpm_workflow_find_field(ld->wf, f) : NULL;
        if (fd && fd->type != STPM_FIELD_DATE)
            DIAG(ld, x, "check field \"%s\" is not a date (it is %s)", f,
                 stpm_field_type_name(fd->type));
        else if (fd && !fd->settable) /* the history holds only what transitions set */
            DIAG(ld, x, "check field \"%s\" is not a field transitions set", f);
        else if (fd)
            c->of = fd->name;
    }
    static const char *const outcomes[3] = {"pass", "rectify", "fail"};
    const char **dst[3] = {&c->pass, &c->rectify, &c->fail};
    for (int k = 0; k < 3; k++) {
        x = k == 0 ? required(ld, n, outcomes[k], "check") : map_get(ld, n, outcomes[k]);
        if (!x)
            continue;
        l->outcome[k] = loc_of(x);
        *dst[k] = transition_ref(ld, x, outcomes[k]);
    }
    l->in = l->name;
    if ((x = map_get(ld, n, "in"))) {
        l->in = loc_of(x);
        c->in = name_list(ld, x, "in", state_ref, &c->n_in);
    } else if (c->pass) { /* by default: where the pass transition is taken from */
        const stpm_wf_transition *t = stpm_workflow_find_transition(ld->wf, c->pass);
        c->in = t->from;
        c->n_in = t->n_from;
    }
}

/* The top-level `checks:` mapping, once states, fields and transitions are parsed. */
static void parse_scheduled_checks(loader *ld, yaml_node_t *root)
{
    stpm_workflow *wf = ld->wf;
    yaml_node_t *map = map_get(ld, root, "checks");
    if (!map || is_plain_null(map) || !want_mapping(ld, map, "checks"))
        return;
    yaml_node_t **values = NULL;
    size_t n = declare(ld, map, "checks", &values);
    const char **names = wf_alloc(wf, (n ? n : 1) * sizeof(*names));
    wf_loc *locs = wf_alloc(wf, (n ? n : 1) * sizeof(*locs));
    ld->check_locs = wf_alloc(wf, (n ? n : 1) * sizeof(*ld->check_locs));
    wf->scheduled_checks = wf_alloc(wf, (n ? n : 1) * sizeof(*wf->scheduled_checks));
    if (!values || !names || !locs || !ld->check_locs || !wf->scheduled_checks)
        return;
    declare_names(ld, map, n, "check", names, values, locs);
    for (size_t i = 0; i < n; i++) {
        stpm_wf_scheduled_check *c = &wf->scheduled_checks[i];
        c->name = names[i];
        c->line = locs[i].line;
        ld->check_locs[i].name = locs[i];
        if (c->name)
            parse_scheduled_check(ld, c, &ld->check_locs[i], values[i]);
    }
    wf->n_scheduled_checks = n;
}

static void parse_header(loader *ld, yaml_node_t *root)
{
    stpm_workflow *wf = ld->wf;
    yaml_node_t *x;
    if ((x = required(ld, root, "workflow", _("the workflow file")))) {
        const char *s = ident(ld, x, _("workflow name"));
        wf->name = wf_strdup(wf, s);
    }
    if ((x = required(ld, root, "version", _("the workflow file")))) {
        const char *s = scalar(ld, x, "version");
        int64_t v;
        if (s && (parse_int_text(s, &v) < 0 || v <= 0 || v > INT_MAX || *s == '+'))
            DIAG(ld, x, "version must be a positive integer, not \"%s\"", s);
        else if (s)
            wf->version = (int)v;
    }
    if ((x = required(ld, root, "title", _("the workflow file"))))
        wf->title = text_value(ld, x, "title");
    if ((x = map_get(ld, root, "description")))
        wf->description = text_value(ld, x, "description");
}

static void load_tree(loader *ld, yaml_node_t *root)
{
    stpm_workflow *wf = ld->wf;
    if (!want_mapping(ld, root, _("a workflow file")))
        return;
    check_keys(ld, root, top_keys, _("the workflow file"));
    parse_header(ld, root);

    yaml_node_t *states = required(ld, root, "states", _("the workflow file"));
    yaml_node_t *fields = map_get(ld, root, "fields");
    yaml_node_t *trs = required(ld, root, "transitions", _("the workflow file"));
    if (states && !want_mapping(ld, states, "states"))
        states = NULL;
    if (fields && !is_plain_null(fields) && !want_mapping(ld, fields, "fields"))
        fields = NULL;
    if (fields && fields->type != YAML_MAPPING_NODE)
        fields = NULL;
    if (trs && !want_mapping(ld, trs, "transitions"))
        trs = NULL;

    /* pass 1: declarations */
    if (states) {
        size_t n = declare(ld, states, "states", &ld->state_nodes);
        if (states->data.mapping.pairs.top == states->data.mapping.pairs.start)
            DIAG(ld, states, "a workflow needs at least one state");
        wf->states = wf_alloc(wf, (n ? n : 1) * sizeof(*wf->states));
        ld->state_locs = wf_alloc(wf, (n ? n : 1) * sizeof(*ld->state_locs));
        ld->timeout_tr = wf_alloc(wf, (n ? n : 1) * sizeof(*ld->timeout_tr));
        if (!wf->states || !ld->state_locs || !ld->timeout_tr)
            return;
        const char **names = wf_alloc(wf, (n ? n : 1) * sizeof(*names));
        if (!names)
            return;
        declare_names(ld, states, n, "state", names, ld->state_nodes, ld->state_locs);
        for (size_t i = 0; i < n; i++) {
            wf->states[i].name = names[i];
            wf->states[i].line = ld->state_locs[i].line;
        }
        wf->n_states = n;
    }
    if (fields) {
        size_t n = declare(ld, fields, "fields", &ld->field_nodes);
        wf->fields = calloc(n ? n : 1, sizeof(*wf->fields));
        const char **names = wf_alloc(wf, (n ? n : 1) * sizeof(*names));
        wf_loc *locs = wf_alloc(wf, (n ? n : 1) * sizeof(*locs));
        if (!wf->fields || !names || !locs) {
            wf->oom = true;
            return;
        }
        declare_names(ld, fields, n, "field", names, ld->field_nodes, locs);
        for (size_t i = 0; i < n; i++) {
            yaml_node_t *k = get(ld, fields->data.mapping.pairs.start[i].key);
            if (names[i] &&
                (stpm_workflow_find_field(NULL, names[i]) || strcmp(names[i], "today") == 0)) {
                DIAG(ld, k, "field \"%s\" is a built-in field and cannot be declared again",
                     names[i]);
                names[i] = NULL;
            }
            wf->fields[i].name = names[i];
            wf->fields[i].line = locs[i].line;
        }
        wf->n_fields = n;
    }
    if (trs) {
        size_t n = declare(ld, trs, "transitions", &ld->tr_nodes);
        if (trs->data.mapping.pairs.top == trs->data.mapping.pairs.start)
            DIAG(ld, trs, "a workflow needs at least one transition");
        wf->transitions = wf_alloc(wf, (n ? n : 1) * sizeof(*wf->transitions));
        const char **names = wf_alloc(wf, (n ? n : 1) * sizeof(*names));
        if (!wf->transitions || !names)
            return;
        declare_names(ld, trs, n, "transition", names, ld->tr_nodes, NULL);
        for (size_t i = 0; i < n; i++) {
            wf->transitions[i].name = names[i];
            wf->transitions[i].line =
                (int)get(ld, trs->data.mapping.pairs.start[i].key)->start_mark.line + 1;
        }
        wf->n_transitions = n;
    }
    yaml_node_t *docs = map_get(ld, root, "documents");
    if (docs && !is_plain_null(docs) && want_mapping(ld, docs, "documents"))
        parse_documents(ld, docs);
    yaml_node_t *init = required(ld, root, "initial", _("the workflow file"));
    if (init)
        wf->initial = state_ref(ld, init, "initial");

    /* pass 2: contents */
    for (size_t i = 0; i < wf->n_fields; i++)
        parse_field(ld, i, ld->field_nodes[i]);
    for (size_t i = 0; i < wf->n_states; i++)
        parse_state(ld, i, ld->state_nodes[i]);
    for (size_t i = 0; i < wf->n_transitions; i++)
        parse_transition(ld, i, ld->tr_nodes[i]);
    parse_scheduled_checks(ld, root);

    /* pass 3: what needs everything */
    for (size_t i = 0; i < wf->n_states; i++) {
        const stpm_wf_state *s = &wf->states[i];
        if (!ld->timeout_tr[i] || !s->timeout_transition)
            continue;
        const stpm_wf_transition *t = stpm_workflow_find_transition(wf, s->timeout_transition);
        if (t && t->from && !stpm_wf_transition_leaves(t, s->name))
            DIAG(ld, ld->timeout_tr[i], "timeout transition \"%s\" does not leave state \"%s\"",
                 t->name, s->name);
    }
    bool names_ok = true;
    for (size_t i = 0; i < wf->n_states; i++)
        if (!wf->states[i].name)
            names_ok = false;
    for (size_t i = 0; i < wf->n_transitions; i++)
        if (!wf->transitions[i].name || !wf->transitions[i].to)
            names_ok = false;
    if (names_ok && !ld->bad_refs && wf->initial && !wf->oom)
        wf_validate_graph(wf, ld->state_locs, &ld->d);
    if (ld->check_locs && !wf->oom)
        wf_validate_scheduled_checks(wf, ld->check_locs, &ld->d);
    warn_timers(ld);
    warn_milestones(ld);
}

static void yaml_problem(loader *ld, const yaml_parser_t *p, const char *text, size_t len)
{
    const yaml_mark_t *m = &p->problem_mark;
    const char *problem = p->problem ? p->problem : "invalid YAML";
    if (p->error == YAML_MEMORY_ERROR) {
        ld->wf->oom = true;
        return;
    }
    if (p->error == YAML_READER_ERROR) { /* located by byte offset only */
        int line = 1, col = 1;
        for (size_t i = 0; i < p->problem_offset && i < len; i++) {
            if (text[i] == '\n') {
                line++;
                col = 1;
            } else if (((unsigned char)text[i] & 0xC0) != 0x80) {
                col++;
            }
        }
        wf_diag(&ld->d, line, col, "%s (the file must be UTF-8)", problem);
        return;
    }
    if (p->context)
        wf_diag(&ld->d, (int)m->line + 1, (int)m->column + 1, "%s %s (line %d)", problem,
                p->context, (int)p->context_mark.line + 1);
    else
        wf_diag(&ld->d, (int)m->line + 1, (int)m->column + 1, "%s", problem);
}

static int cmp_diag(const void *a, const void *b)
{
    const stpm_diag *x = a, *y = b;
    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    if (x->col != y->col)
        return x->col < y->col ? -1 : 1;
    return x < y ? -1 : 1;
}

static void digest_hex(const char *text, size_t len, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    out[0] = '\0';
    if (!EVP_Digest(text, len, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32)
        return;
    static const char hex[] = "0123456789abcdef";
    for (unsigned i = 0; i < 32; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[64] = '\0';
}

int stpm_workflow_load_text(stpm_workflow **out, const char *name, const char *text, size_t len,
                            stpm_error *err)
{
    int rc = STPM_ERROR;
    stpm_error local = STPM_ERROR_INIT;
    stpm_workflow *wf = NULL;
    yaml_parser_t parser;
    yaml_document_t doc, extra;
    bool parser_ok = false, doc_ok = false, extra_ok = false;
    loader ld = {0};

    *out = NULL;
    if (!name)
        name = "<workflow>";
    if ((rc = stpm_yaml_precheck(name, _("workflow file"), text, len, STPM_YAML_MAX_DEPTH, err)) <
        0)
        goto cleanup;
    if (!(wf = wf_new()) || !(wf->source = malloc(len + 1)))
        goto oom;
    memcpy(wf->source, text, len);
    wf->source[len] = '\0';
    wf->source_len = len;
    digest_hex(text, len, wf->digest);
    if (!wf->digest[0]) {
        rc = stpm_error_set(err, STPM_ERROR, "could not compute the SHA-256 digest");
        goto cleanup;
    }

    ld.wf = wf;
    ld.doc = &doc;
    ld.d.file = name;
    ld.d.err = &local;
    if (!yaml_parser_initialize(&parser))
        goto oom;
    parser_ok = true;
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING);
    if (!yaml_parser_load(&parser, &doc)) {
        yaml_problem(&ld, &parser, text, len);
    } else {
        doc_ok = true;
        yaml_node_t *root = yaml_document_get_root_node(&doc);
        if (!root) {
            wf_diag(&ld.d, 1, 1, "the file is empty");
        } else {
            if (!yaml_parser_load(&parser, &extra))
                yaml_problem(&ld, &parser, text, len);
            else {
                extra_ok = true;
                if (yaml_document_get_root_node(&extra))
                    wf_diag(&ld.d, (int)extra.start_mark.line + 1, (int)extra.start_mark.column + 1,
                            "a workflow file holds one YAML document, not several");
            }
            load_tree(&ld, root);
        }
    }
    if (wf->oom)
        goto oom;
    if (ld.d.count > 0) {
        qsort(local.diags, local.n_diags, sizeof(*local.diags), cmp_diag);
        stpm_error_move(err, &local);
        rc = stpm_error_set(err, STPM_EINPUT, "invalid workflow file \"%s\"", name);
        stpm_error_detail(err, "%zu problem%s found.", ld.d.count, ld.d.count == 1 ? "" : "s");
        goto cleanup;
    }
    if (wf->warnings.n_diags > 1)
        qsort(wf->warnings.diags, wf->warnings.n_diags, sizeof(*wf->warnings.diags), cmp_diag);
    *out = wf;
    wf = NULL;
    rc = 0;
    goto cleanup;

oom:
    rc = stpm_error_set(err, STPM_ERROR, "out of memory while loading workflow \"%s\"", name);
cleanup:
    if (extra_ok)
        yaml_document_delete(&extra);
    if (doc_ok)
        yaml_document_delete(&doc);
    if (parser_ok)
        yaml_parser_delete(&parser);
    stpm_error_clear(&local);
    stpm_workflow_free(wf);
    return rc;
}

int stpm_workflow_load_file(stpm_workflow **out, const char *path, stpm_error *err)
{
    char *text = NULL;
    size_t len = 0;
    *out = NULL;
    int rc = stpm_read_file(path, _("workflow file"), WF_MAX_FILE, &text, &len, err);
    if (rc == 0)
        rc = stpm_workflow_load_text(out, path, text, len, err);
    free(text);
    return rc;
}

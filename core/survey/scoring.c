/* Reserve scoring: the loader of scoring files and the exact arithmetic (stpm/reserve.h,
 * docs/scoring.md). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>
#include <sys/stat.h>

#include "stpm/reserve.h"
#include "survey/scoring_internal.h"
#include "util/strutil.h"
#include "util/readfile.h"
#include "util/yamlcheck.h"

typedef enum { IN_BOOL, IN_AMOUNT, IN_INTEGER, IN_TEXT } input_type;

typedef enum {
    INPUT_HIGH_TECH,
    INPUT_RD_SPEND,
    INPUT_REVENUE,
    INPUT_PARTNER,
    INPUT_MATURITY,
    INPUT_PLANNED_INVESTMENT,
    INPUT_REQUESTED_FUNDING,
    INPUT_TARGET_PLAN,
    INPUT_FIELD,
    INPUT_TOWN,
    N_INPUTS
} input_id;

static const struct {
    const char *name;
    input_type type;
} inputs[N_INPUTS] = {
    {"high_tech", IN_BOOL},
    {"rd_spend", IN_AMOUNT},
    {"revenue", IN_AMOUNT},
    {"partner", IN_TEXT},
    {"maturity", IN_INTEGER},
    {"planned_investment", IN_AMOUNT},
    {"requested_funding", IN_AMOUNT},
    {"target_plan", IN_TEXT},
    {"field", IN_TEXT},
    {"town", IN_TEXT},
};

typedef enum { RULE_YES, RULE_PRESENT, RULE_LINEAR, RULE_RATIO, RULE_MAP } rule_kind;

typedef struct map_entry {
    char *value;
    stpm_decimal fraction;
} map_entry;

typedef struct criterion {
    char *name, *label;
    stpm_decimal weight;
    input_id input;
    rule_kind rule;
    stpm_decimal from, to; /* linear */
    input_id ratio_to;     /* ratio */
    stpm_decimal full_at;  /* ratio */
    map_entry *map;        /* map */
    size_t n_map;
} criterion;

struct stpm_scoring {
    char *name, *title;
    int version;
    criterion *c;
    size_t n;
};

/* ---- arithmetic ---- */

__extension__ typedef __int128 i128;

/* round(num / den) half away from zero; den > 0. Saturates at the int64 range. */
static stpm_decimal div_round(i128 num, i128 den)
{
    bool neg = num < 0;
    if (neg)
        num = -num;
    i128 q = (num + den / 2) / den;
    if (q > INT64_MAX)
        q = INT64_MAX;
    return neg ? -(stpm_decimal)q : (stpm_decimal)q;
}

static stpm_decimal clamp01(stpm_decimal f)
{
    return f < 0 ? 0 : f > STPM_DECIMAL_SCALE ? STPM_DECIMAL_SCALE : f;
}

/* The numeric value of an input; false when not given. */
static bool number_of(const stpm_reserve_values *v, input_id in, stpm_decimal *out)
{
    switch (in) {
    case INPUT_RD_SPEND:
        *out = v->rd_spend;
        return v->rd_spend_set;
    case INPUT_REVENUE:
        *out = v->revenue;
        return v->revenue_set;
    case INPUT_PLANNED_INVESTMENT:
        *out = v->planned_investment;
        return v->planned_investment_set;
    case INPUT_REQUESTED_FUNDING:
        *out = v->requested_funding;
        return v->requested_funding_set;
    case INPUT_MATURITY:
        *out = stpm_decimal_from_int(v->maturity);
        return v->maturity_set;
    default:
        return false;
    }
}

static const char *text_of(const stpm_reserve_values *v, input_id in)
{
    const char *s = NULL;
    switch (in) {
    case INPUT_PARTNER:
        s = v->partner;
        break;
    case INPUT_TARGET_PLAN:
        s = v->target_plan;
        break;
    case INPUT_FIELD:
        s = v->field;
        break;
    case INPUT_TOWN:
        s = v->town;
        break;
    default:
        break;
    }
    return s && *s ? s : NULL;
}

static stpm_score_part score_one(const criterion *c, const stpm_reserve_values *v)
{
    stpm_score_part p = {false, 0, 0};
    const i128 S = STPM_DECIMAL_SCALE;
    stpm_decimal x, y;
    switch (c->rule) {
    case RULE_YES:
        p.missing = !v->high_tech_set;
        p.fraction = v->high_tech_set && v->high_tech ? STPM_DECIMAL_SCALE : 0;
        break;
    case RULE_PRESENT:
        p.missing = text_of(v, c->input) == NULL;
        p.fraction = p.missing ? 0 : STPM_DECIMAL_SCALE;
        break;
    case RULE_LINEAR:
        if (!number_of(v, c->input, &x)) {
            p.missing = true;
            break;
        }
        p.fraction = clamp01(div_round(((i128)x - c->from) * S, (i128)c->to - c->from));
        break;
    case RULE_RATIO:
        if (!number_of(v, c->input, &x) || !number_of(v, c->ratio_to, &y)) {
            p.missing = true;
            break;
        }
        /* (x / y) / R with x, y, R scaled by S: x·S·S / (y·R), scaled by S. */
        if (y > 0)
            p.fraction = clamp01(div_round((i128)x * S * S, (i128)y * c->full_at));
        break;
    case RULE_MAP: {
        const char *t = text_of(v, c->input);
        p.missing = t == NULL;
        for (size_t i = 0; t && i < c->n_map; i++)
            if (strcmp(c->map[i].value, t) == 0)
                p.fraction = c->map[i].fraction;
        break;
    }
    }
    p.points = div_round((i128)c->weight * p.fraction, S);
    return p;
}

void stpm_scoring_score(const stpm_scoring *s, const stpm_reserve_values *v, stpm_decimal *total,
                        stpm_score_part *parts)
{
    stpm_decimal sum = 0;
    for (size_t i = 0; i < s->n; i++) {
        stpm_score_part p = score_one(&s->c[i], v);
        sum += p.points;
        if (parts)
            parts[i] = p;
    }
    *total = sum;
}

/* ---- accessors ---- */

const char *stpm_scoring_name(const stpm_scoring *s)
{
    return s->name;
}

int stpm_scoring_version(const stpm_scoring *s)
{
    return s->version;
}

const char *stpm_scoring_title(const stpm_scoring *s)
{
    return s->title;
}

size_t stpm_scoring_n_criteria(const stpm_scoring *s)
{
    return s->n;
}

const char *stpm_scoring_criterion_name(const stpm_scoring *s, size_t i)
{
    return s->c[i].name;
}

const char *stpm_scoring_criterion_label(const stpm_scoring *s, size_t i)
{
    return s->c[i].label;
}

stpm_decimal stpm_scoring_criterion_weight(const stpm_scoring *s, size_t i)
{
    return s->c[i].weight;
}

void stpm_scoring_free(stpm_scoring *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++) {
        free(s->c[i].name);
        free(s->c[i].label);
        for (size_t j = 0; j < s->c[i].n_map; j++)
            free(s->c[i].map[j].value);
        free(s->c[i].map);
    }
    free(s->c);
    free(s->name);
    free(s->title);
    free(s);
}

/* ---- the loader ---- */

typedef struct loader {
    const char *file;
    yaml_document_t *doc;
    stpm_error *err;
    size_t errors;
} loader;

static yaml_node_t *node(loader *ld, int i)
{
    return yaml_document_get_node(ld->doc, i);
}

static void problem(loader *ld, const yaml_node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void problem(loader *ld, const yaml_node_t *n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *m = stpm_vasprintf(_(fmt), ap);
    va_end(ap);
    stpm_error_add_diag(ld->err, ld->file, n ? (int)n->start_mark.line + 1 : 0,
                        n ? (int)n->start_mark.column + 1 : 0, NULL, "%s",
                        m ? m : _("out of memory"));
    free(m);
    ld->errors++;
}

static const char *scalar(loader *ld, yaml_node_t *n, const char *what)
{
    if (!n || n->type != YAML_SCALAR_NODE) {
        problem(ld, n, "%s must be a single value", what);
        return NULL;
    }
    return (const char *)n->data.scalar.value;
}

/* The value of key in a mapping, or NULL. */
static yaml_node_t *map_get(loader *ld, yaml_node_t *map, const char *key)
{
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = node(ld, p->key);
        if (k && k->type == YAML_SCALAR_NODE && strcmp((char *)k->data.scalar.value, key) == 0)
            return node(ld, p->value);
    }
    return NULL;
}

/* Report keys not in allowed, and duplicates. */
static void check_keys(loader *ld, yaml_node_t *map, const char *const *allowed, const char *what)
{
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = node(ld, p->key);
        if (!k || k->type != YAML_SCALAR_NODE) {
            problem(ld, k, "keys of %s must be plain names", what);
            continue;
        }
        const char *name = (const char *)k->data.scalar.value;
        bool ok = false;
        for (size_t i = 0; allowed && allowed[i]; i++)
            ok = ok || strcmp(allowed[i], name) == 0;
        if (allowed && !ok)
            problem(ld, k, "unknown key \"%s\" in %s", name, what);
        for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < p; q++) {
            yaml_node_t *k2 = node(ld, q->key);
            if (k2 && k2->type == YAML_SCALAR_NODE &&
                strcmp((const char *)k2->data.scalar.value, name) == 0) {
                problem(ld, k, "duplicate key \"%s\" in %s", name, what);
                break;
            }
        }
    }
}

static yaml_node_t *need(loader *ld, yaml_node_t *map, const char *key, const char *what)
{
    yaml_node_t *n = map_get(ld, map, key);
    if (!n)
        problem(ld, map, "%s needs \"%s\"", what, key);
    return n;
}

static bool is_ident(const char *s)
{
    if (!(*s >= 'a' && *s <= 'z'))
        return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
            return false;
    return true;
}

static bool decimal_node(loader *ld, yaml_node_t *n, const char *what, stpm_decimal *out)
{
    const char *s = scalar(ld, n, what);
    if (!s)
        return false;
    if (stpm_decimal_parse(s, out) < 0) {
        problem(ld, n, "%s must be a decimal number with at most four places, not \"%s\"", what, s);
        return false;
    }
    return true;
}

static bool input_node(loader *ld, yaml_node_t *n, const char *what, input_id *out)
{
    const char *s = scalar(ld, n, what);
    if (!s)
        return false;
    for (int i = 0; i < N_INPUTS; i++) {
        if (strcmp(inputs[i].name, s) == 0) {
            *out = (input_id)i;
            return true;
        }
    }
    problem(ld, n, "unknown survey column \"%s\" as %s", s, what);
    return false;
}

static bool is_true(const char *s)
{
    return strcmp(s, "true") == 0 || strcmp(s, "yes") == 0 || strcmp(s, "True") == 0;
}

static void load_rule(loader *ld, yaml_node_t *rn, criterion *c, bool input_ok)
{
    if (rn->type != YAML_MAPPING_NODE) {
        problem(ld, rn, "rule of criterion %s must be a mapping", c->name);
        return;
    }
    static const char *const keys[] = {"yes",     "present", "linear", "ratio_to",
                                       "full_at", "map",     NULL};
    check_keys(ld, rn, keys, "a rule");
    int forms = 0;
    yaml_node_t *n;
    input_type t = inputs[c->input].type;
    bool numeric = t == IN_AMOUNT || t == IN_INTEGER;
    if ((n = map_get(ld, rn, "yes"))) {
        forms++;
        c->rule = RULE_YES;
        const char *v = scalar(ld, n, "yes");
        if (v && !is_true(v))
            problem(ld, n, "\"yes\" must be true");
        if (input_ok && t != IN_BOOL)
            problem(ld, n, "rule \"yes\" needs a yes/no column, not %s", inputs[c->input].name);
    }
    if ((n = map_get(ld, rn, "present"))) {
        forms++;
        c->rule = RULE_PRESENT;
        const char *v = scalar(ld, n, "present");
        if (v && !is_true(v))
            problem(ld, n, "\"present\" must be true");
        if (input_ok && t != IN_TEXT)
            problem(ld, n, "rule \"present\" needs a text column, not %s", inputs[c->input].name);
    }
    if ((n = map_get(ld, rn, "linear"))) {
        forms++;
        c->rule = RULE_LINEAR;
        if (n->type != YAML_MAPPING_NODE) {
            problem(ld, n, "\"linear\" must be a mapping {from: A, to: B}");
        } else {
            static const char *const lk[] = {"from", "to", NULL};
            check_keys(ld, n, lk, "linear");
            yaml_node_t *a = need(ld, n, "from", "linear"), *b = need(ld, n, "to", "linear");
            if (a && b && decimal_node(ld, a, "from", &c->from) &&
                decimal_node(ld, b, "to", &c->to) && c->from >= c->to)
                problem(ld, n, "\"from\" must be less than \"to\"");
        }
        if (input_ok && !numeric)
            problem(ld, n, "rule \"linear\" needs a numeric column, not %s", inputs[c->input].name);
    }
    yaml_node_t *rt = map_get(ld, rn, "ratio_to"), *fa = map_get(ld, rn, "full_at");
    if (rt || fa) {
        forms++;
        c->rule = RULE_RATIO;
        if (!rt)
            problem(ld, fa, "\"full_at\" needs \"ratio_to\"");
        if (!fa)
            problem(ld, rt, "\"ratio_to\" needs \"full_at\"");
        if (rt && input_node(ld, rt, "ratio_to", &c->ratio_to) &&
            inputs[c->ratio_to].type != IN_AMOUNT && inputs[c->ratio_to].type != IN_INTEGER)
            problem(ld, rt, "\"ratio_to\" must be a numeric column, not %s",
                    inputs[c->ratio_to].name);
        if (fa && decimal_node(ld, fa, "full_at", &c->full_at) && c->full_at <= 0)
            problem(ld, fa, "\"full_at\" must be greater than 0");
        if (input_ok && !numeric)
            problem(ld, rt ? rt : fa, "rule \"ratio_to\" needs a numeric column, not %s",
                    inputs[c->input].name);
    }
    if ((n = map_get(ld, rn, "map"))) {
        forms++;
        c->rule = RULE_MAP;
        if (n->type != YAML_MAPPING_NODE) {
            problem(ld, n, "\"map\" must be a mapping VALUE: FRACTION");
        } else {
            check_keys(ld, n, NULL, "map");
            size_t cnt = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
            c->map = calloc(cnt ? cnt : 1, sizeof(*c->map));
            if (!c->map) {
                problem(ld, n, "out of memory");
                return;
            }
            for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
                 p++) {
                const char *k = scalar(ld, node(ld, p->key), _("a map key"));
                stpm_decimal f;
                yaml_node_t *vn = node(ld, p->value);
                if (!k || !decimal_node(ld, vn, _("a map fraction"), &f))
                    continue;
                if (f < 0 || f > STPM_DECIMAL_SCALE) {
                    problem(ld, vn, "a map fraction must be between 0 and 1");
                    continue;
                }
                c->map[c->n_map].value = stpm_strdup(k);
                c->map[c->n_map++].fraction = f;
            }
        }
        if (input_ok && t != IN_TEXT)
            problem(ld, n, "rule \"map\" needs a text column, not %s", inputs[c->input].name);
    }
    if (forms != 1)
        problem(ld, rn,
                "rule of criterion %s must have exactly one of yes, present, linear, ratio_to, "
                "map",
                c->name);
}

static void load_criteria(loader *ld, yaml_node_t *cn, stpm_scoring *s)
{
    if (cn->type != YAML_MAPPING_NODE) {
        problem(ld, cn, "\"criteria\" must be a mapping of names to criteria");
        return;
    }
    check_keys(ld, cn, NULL, "criteria");
    size_t cnt = (size_t)(cn->data.mapping.pairs.top - cn->data.mapping.pairs.start);
    if (cnt == 0) {
        problem(ld, cn, "\"criteria\" must name at least one criterion");
        return;
    }
    s->c = calloc(cnt, sizeof(*s->c));
    if (!s->c) {
        problem(ld, cn, "out of memory");
        return;
    }
    stpm_decimal sum = 0;
    static const char *const keys[] = {"label", "weight", "input", "rule", NULL};
    for (yaml_node_pair_t *p = cn->data.mapping.pairs.start; p < cn->data.mapping.pairs.top; p++) {
        yaml_node_t *kn = node(ld, p->key), *vn = node(ld, p->value);
        const char *name = scalar(ld, kn, _("a criterion name"));
        if (!name)
            continue;
        if (!is_ident(name))
            problem(ld, kn, "criterion name \"%s\" must match [a-z][a-z0-9_]*", name);
        criterion *c = &s->c[s->n++];
        c->name = stpm_strdup(name);
        if (!vn || vn->type != YAML_MAPPING_NODE) {
            problem(ld, vn, "criterion %s must be a mapping", name);
            continue;
        }
        check_keys(ld, vn, keys, "a criterion");
        yaml_node_t *n;
        if ((n = need(ld, vn, "label", "a criterion"))) {
            const char *l = scalar(ld, n, "label");
            c->label = stpm_strdup(l ? l : "");
        }
        if ((n = need(ld, vn, "weight", "a criterion")) &&
            decimal_node(ld, n, "weight", &c->weight)) {
            if (c->weight <= 0)
                problem(ld, n, "weight must be greater than 0");
            else
                sum += c->weight;
        }
        bool input_ok = false;
        if ((n = need(ld, vn, "input", "a criterion")))
            input_ok = input_node(ld, n, "input", &c->input);
        if ((n = need(ld, vn, "rule", "a criterion")))
            load_rule(ld, n, c, input_ok);
    }
    if (ld->errors == 0 && sum != stpm_decimal_from_int(100)) {
        char buf[32];
        problem(ld, cn, "the weights add up to %s, not 100", stpm_decimal_format(sum, 4, buf));
    }
}

static void load_root(loader *ld, yaml_node_t *root, stpm_scoring *s)
{
    if (!root || root->type != YAML_MAPPING_NODE) {
        problem(ld, root, "a scoring file must be a mapping (scoring, version, title, criteria)");
        return;
    }
    static const char *const keys[] = {"scoring", "version", "title", "criteria", NULL};
    check_keys(ld, root, keys, _("the scoring file"));
    yaml_node_t *n;
    if ((n = need(ld, root, "scoring", _("the scoring file")))) {
        const char *v = scalar(ld, n, "scoring");
        if (v && !is_ident(v))
            problem(ld, n, "scoring name \"%s\" must match [a-z][a-z0-9_]*", v);
        s->name = stpm_strdup(v ? v : "");
    }
    if ((n = need(ld, root, "version", _("the scoring file")))) {
        const char *v = scalar(ld, n, "version");
        char *end = NULL;
        long x = v ? strtol(v, &end, 10) : 0;
        if (v && (!*v || *end || x <= 0 || x > 1000000))
            problem(ld, n, "version must be a positive integer, not \"%s\"", v);
        s->version = (int)x;
    }
    if ((n = need(ld, root, "title", _("the scoring file")))) {
        const char *v = scalar(ld, n, "title");
        s->title = stpm_strdup(v ? v : "");
    }
    if ((n = need(ld, root, "criteria", _("the scoring file"))))
        load_criteria(ld, n, s);
}

int stpm_scoring_load_text(stpm_scoring **out, const char *name, const char *text, size_t len,
                           stpm_error *err)
{
    *out = NULL;
    yaml_parser_t parser;
    yaml_document_t doc;
    bool have_doc = false;
    int rc = stpm_yaml_precheck(name, _("scoring file"), text, len, STPM_YAML_MAX_DEPTH, err);
    if (rc < 0)
        return rc;
    stpm_scoring *s = calloc(1, sizeof(*s));
    stpm_error diags = STPM_ERROR_INIT;
    loader ld = {name, &doc, &diags, 0};
    if (!s || !yaml_parser_initialize(&parser)) {
        free(s);
        return stpm_error_set(err, STPM_ERROR, "out of memory");
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (!yaml_parser_load(&parser, &doc)) {
        stpm_error_add_diag(&diags, name, (int)parser.problem_mark.line + 1,
                            (int)parser.problem_mark.column + 1, NULL, "%s",
                            parser.problem ? parser.problem : "invalid YAML");
        ld.errors++;
    } else {
        have_doc = true;
        load_root(&ld, yaml_document_get_root_node(&doc), s);
    }
    if (ld.errors) {
        stpm_error_move(err, &diags);
        rc = stpm_error_set(err, STPM_EINPUT, "%zu error%s in scoring file %s", ld.errors,
                            ld.errors == 1 ? "" : "s", name);
        stpm_error_hint(err, "The format is described in docs/scoring.md.");
        stpm_scoring_free(s);
    } else {
        *out = s;
    }
    stpm_error_clear(&diags);
    if (have_doc)
        yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    return rc;
}

int stpm_scoring_load_file(stpm_scoring **out, const char *path, stpm_error *err)
{
    char *text = NULL;
    size_t len = 0;
    *out = NULL;
    int rc = stpm_read_file(path, _("scoring file"), 1u << 20, &text, &len, err);
    if (rc == 0)
        rc = stpm_scoring_load_text(out, path, text, len, err);
    free(text);
    return rc;
}

bool stpm_scoring_file_is(const char *path)
{
    char *text = NULL;
    size_t len = 0;
    bool scoring = false, workflow = false;
    yaml_parser_t parser;
    yaml_document_t doc;
    if (stpm_read_file(path, _("scoring file"), 1u << 20, &text, &len, NULL) < 0)
        return false;
    if (stpm_yaml_precheck(path, _("scoring file"), text, len, STPM_YAML_MAX_DEPTH, NULL) < 0 ||
        !yaml_parser_initialize(&parser))
        goto cleanup;
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (yaml_parser_load(&parser, &doc)) {
        yaml_node_t *root = yaml_document_get_root_node(&doc);
        if (root && root->type == YAML_MAPPING_NODE)
            for (yaml_node_pair_t *p = root->data.mapping.pairs.start;
                 p < root->data.mapping.pairs.top; p++) {
                yaml_node_t *k = yaml_document_get_node(&doc, p->key);
                if (k && k->type == YAML_SCALAR_NODE) {
                    scoring |= strcmp((const char *)k->data.scalar.value, "scoring") == 0;
                    workflow |= strcmp((const char *)k->data.scalar.value, "workflow") == 0;
                }
            }
        yaml_document_delete(&doc);
    }
    yaml_parser_delete(&parser);
cleanup:
    free(text);
    return scoring && !workflow;
}

int stpm_scoring_load_default(stpm_scoring **out, stpm_error *err)
{
    for (const stpm_embedded_file *e = stpm_scoring_files; e->name; e++)
        if (strcmp(e->name, "scoring.yaml") == 0)
            return stpm_scoring_load_text(out, "workflows/scoring.yaml", e->text, e->len, err);
    *out = NULL;
    return stpm_error_set(err, STPM_ERROR, "the shipped scoring file is missing");
}

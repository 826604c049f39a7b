/* The snapshot of one project, FIELD=VALUE parsing and field values as JSON. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "project/project_internal.h"
#include "project/px.h"
#include "stpm/decimal.h"
#include "store/query.h"
#include "store/wf_store_internal.h"

int proj_value_from_text(stpm_field_type t, const char *s, stpm_value *out)
{
    memset(out, 0, sizeof(*out));
    out->type = STPM_TYPE_NULL;
    if (!s)
        return 0;
    switch (t) {
    case STPM_FIELD_TEXT:
        out->s = stpm_strdup(s);
        if (!out->s)
            return -1;
        out->type = STPM_TYPE_STRING;
        return 0;
    case STPM_FIELD_INTEGER: {
        char *end = NULL;
        long long v = strtoll(s, &end, 10);
        if (!*s || *end)
            return -1;
        out->type = STPM_TYPE_INT;
        out->u.i = v;
        return 0;
    }
    case STPM_FIELD_AMOUNT:
        if (stpm_decimal_parse(s, &out->u.d) < 0)
            return -1;
        out->type = STPM_TYPE_DECIMAL;
        return 0;
    case STPM_FIELD_DATE:
        if (stpm_date_parse(s, &out->u.date) < 0)
            return -1;
        out->type = STPM_TYPE_DATE;
        return 0;
    case STPM_FIELD_BOOLEAN:
        if (!strcmp(s, "true") || !strcmp(s, "t") || !strcmp(s, "yes") || !strcmp(s, "1") ||
            !strcmp(s, "是"))
            out->u.b = true;
        else if (!strcmp(s, "false") || !strcmp(s, "f") || !strcmp(s, "no") || !strcmp(s, "0") ||
                 !strcmp(s, "否"))
            out->u.b = false;
        else
            return -1;
        out->type = STPM_TYPE_BOOL;
        return 0;
    }
    return -1;
}

void proj_json_value(stpm_strbuf *sb, const stpm_value *v)
{
    char buf[32];
    switch (v->type) {
    case STPM_TYPE_NULL:
        stpm_strbuf_puts(sb, "null");
        break;
    case STPM_TYPE_BOOL:
        stpm_strbuf_puts(sb, v->u.b ? "true" : "false");
        break;
    case STPM_TYPE_INT:
        stpm_strbuf_printf(sb, "%lld", (long long)v->u.i);
        break;
    case STPM_TYPE_DECIMAL:
        stpm_strbuf_puts(sb, stpm_decimal_format(v->u.d, 4, buf));
        break;
    case STPM_TYPE_DATE: {
        char d[11];
        stpm_strbuf_printf(sb, "\"%s\"", stpm_date_format(v->u.date, d));
        break;
    }
    case STPM_TYPE_STRING:
        stpm_px_json_string(sb, v->s ? v->s : "");
        break;
    case STPM_TYPE_DURATION: {
        char *s = stpm_value_to_string(v);
        stpm_px_json_string(sb, s ? s : "");
        free(s);
        break;
    }
    }
}

/* STPM_EINPUT unless `--set` may give field f: at creation (transition NULL) the workflow's
 * own fields and amount_requested; for a transition only its `input:` fields. */
static int check_input(const stpm_workflow *wf, const stpm_wf_field *f, const char *transition,
                       stpm_error *err)
{
    if (!transition) {
        if (!f->builtin || strcmp(f->name, "amount_requested") == 0)
            return 0;
        stpm_error_set(err, STPM_EINPUT, "field \"%s\" cannot be set when a project is created",
                       f->name);
        stpm_error_detail(err,
                          "At creation --set takes amount_requested and the fields of workflow "
                          "%s; built-in fields change only by the workflow's own set:.",
                          stpm_workflow_name(wf));
        return STPM_EINPUT;
    }
    const stpm_wf_transition *t = stpm_workflow_find_transition(wf, transition);
    if (!t || stpm_wf_transition_takes_input(t, f->name))
        return 0; /* an unknown transition is refused when it is decided */
    stpm_strbuf sb = STPM_STRBUF_INIT;
    for (size_t i = 0; i < t->n_inputs; i++)
        stpm_strbuf_printf(&sb, "%s%s", i ? ", " : "", t->inputs[i]);
    stpm_error_set(err, STPM_EINPUT, "field \"%s\" is not an input of transition %s", f->name,
                   t->name);
    if (t->n_inputs)
        stpm_error_detail(err,
                          "The inputs of %s are: %s. Other fields change only by the "
                          "workflow's own set:.",
                          t->name, sb.oom ? "?" : stpm_strbuf_str(&sb));
    else
        stpm_error_detail(err,
                          "Transition %s has no inputs: it takes no --set. Fields change "
                          "only by the workflow's own set:.",
                          t->name);
    stpm_strbuf_free(&sb);
    return STPM_EINPUT;
}

int proj_parse_set(const stpm_workflow *wf, const char *assign, const char *transition,
                   const stpm_wf_field **field, stpm_value *value, stpm_error *err)
{
    *field = NULL;
    memset(value, 0, sizeof(*value));
    const char *eq = strchr(assign, '=');
    if (!eq || eq == assign)
        return stpm_error_set(err, STPM_EUSAGE, "invalid --set \"%s\": expected FIELD=VALUE",
                              assign);
    char *name = stpm_strndup(assign, (size_t)(eq - assign));
    int rc = 0;
    if (!name)
        return stpm_error_set(err, STPM_ERROR, "out of memory");
    const stpm_wf_field *f = stpm_workflow_find_field(wf, name);
    if (!f) {
        rc = stpm_error_set(err, STPM_EINPUT, "unknown field \"%s\" in workflow %s", name,
                            stpm_workflow_name(wf));
        stpm_error_hint(err, "\"stpm workflow show %s@%d\" lists its fields.",
                        stpm_workflow_name(wf), stpm_workflow_version(wf));
        goto out;
    }
    if ((rc = check_input(wf, f, transition, err)) < 0)
        goto out;
    if (f->type == STPM_FIELD_AMOUNT && stpm_decimal_parse(eq + 1, NULL) == -2) {
        rc = stpm_error_set(err, STPM_EINPUT,
                            "invalid value \"%s\" for field \"%s\": the amount is too large",
                            eq + 1, name);
        stpm_error_detail(err, "An amount has at most %d digits before the decimal point.",
                          STPM_DECIMAL_MAX_DIGITS);
        goto out;
    }
    if (eq[1] && proj_value_from_text(f->type, eq + 1, value) < 0) {
        rc = stpm_error_set(err, STPM_EINPUT, "invalid value \"%s\" for field \"%s\": expected %s",
                            eq + 1, name,
                            f->type == STPM_FIELD_DATE      ? "a date YYYY-MM-DD"
                            : f->type == STPM_FIELD_AMOUNT  ? _("an amount in 万元, e.g. 12.5")
                            : f->type == STPM_FIELD_INTEGER ? _("an integer")
                            : f->type == STPM_FIELD_BOOLEAN ? _("true or false")
                                                            : "text");
        goto out;
    }
    if (f->type == STPM_FIELD_AMOUNT && value->type == STPM_TYPE_DECIMAL && value->u.d < 0) {
        stpm_value_clear(value);
        rc = stpm_error_set(err, STPM_EINPUT,
                            "invalid value \"%s\" for field \"%s\": amounts are not negative",
                            eq + 1, name);
        goto out;
    }
    *field = f;
out:
    free(name);
    return rc;
}

/* ---- a flat JSON object, as jsonb::text writes it ---- */

static const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')
        p++;
    return p;
}

static void put_utf8(stpm_strbuf *sb, unsigned cp)
{
    char b[4];
    if (cp < 0x80) {
        stpm_strbuf_putc(sb, (char)cp);
    } else if (cp < 0x800) {
        b[0] = (char)(0xC0 | (cp >> 6));
        b[1] = (char)(0x80 | (cp & 0x3F));
        stpm_strbuf_putn(sb, b, 2);
    } else if (cp < 0x10000) {
        b[0] = (char)(0xE0 | (cp >> 12));
        b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (char)(0x80 | (cp & 0x3F));
        stpm_strbuf_putn(sb, b, 3);
    } else {
        b[0] = (char)(0xF0 | (cp >> 18));
        b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        b[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[3] = (char)(0x80 | (cp & 0x3F));
        stpm_strbuf_putn(sb, b, 4);
    }
}

static const char *json_string(const char *p, stpm_strbuf *sb)
{
    if (*p != '"')
        return NULL;
    for (p++; *p && *p != '"'; p++) {
        if (*p != '\\') {
            stpm_strbuf_putc(sb, *p);
            continue;
        }
        p++;
        switch (*p) {
        case 'n':
            stpm_strbuf_putc(sb, '\n');
            break;
        case 't':
            stpm_strbuf_putc(sb, '\t');
            break;
        case 'r':
            stpm_strbuf_putc(sb, '\r');
            break;
        case 'b':
            stpm_strbuf_putc(sb, '\b');
            break;
        case 'f':
            stpm_strbuf_putc(sb, '\f');
            break;
        case 'u': {
            unsigned cp = 0;
            if (sscanf(p + 1, "%4x", &cp) != 1)
                return NULL;
            p += 4;
            if (cp >= 0xD800 && cp < 0xDC00 && p[1] == '\\' && p[2] == 'u') {
                unsigned lo = 0;
                if (sscanf(p + 3, "%4x", &lo) == 1 && lo >= 0xDC00 && lo < 0xE000) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    p += 6;
                }
            }
            put_utf8(sb, cp);
            break;
        }
        case '\0':
            return NULL;
        default:
            stpm_strbuf_putc(sb, *p);
        }
    }
    return *p == '"' ? p + 1 : NULL;
}

/* Call fn(name, text-or-NULL) for each member of a flat object; -1 when malformed. */
static int json_each(const char *p, int (*fn)(void *, const char *, const char *), void *ctx)
{
    stpm_strbuf key = STPM_STRBUF_INIT, val = STPM_STRBUF_INIT;
    int rc = -1;
    p = skip_ws(p);
    if (*p++ != '{')
        goto out;
    p = skip_ws(p);
    if (*p == '}') {
        rc = 0;
        goto out;
    }
    for (;;) {
        stpm_strbuf_reset(&key);
        stpm_strbuf_reset(&val);
        p = json_string(skip_ws(p), &key);
        if (!p)
            goto out;
        p = skip_ws(p);
        if (*p++ != ':')
            goto out;
        p = skip_ws(p);
        bool null = false;
        if (*p == '"') {
            p = json_string(p, &val);
            if (!p)
                goto out;
        } else {
            size_t n = strcspn(p, ",} \n");
            if (n == 0)
                goto out;
            null = n == 4 && strncmp(p, "null", 4) == 0;
            stpm_strbuf_putn(&val, p, n);
            p += n;
        }
        if (key.oom || val.oom ||
            fn(ctx, stpm_strbuf_str(&key), null ? NULL : stpm_strbuf_str(&val)) < 0)
            goto out;
        p = skip_ws(p);
        if (*p == ',') {
            p++;
            continue;
        }
        if (*p == '}') {
            rc = 0;
            break;
        }
        goto out;
    }
out:
    stpm_strbuf_free(&key);
    stpm_strbuf_free(&val);
    return rc;
}

/* ---- snapshots ---- */

void proj_snap_clear(proj_snap *s)
{
    if (!s)
        return;
    free(s->id);
    free(s->code);
    free(s->state);
    free(s->workflow_id);
    for (size_t i = 0; i < s->n_fields; i++)
        stpm_value_clear(&s->fields[i].value);
    free(s->fields);
    for (size_t i = 0; i < s->n_documents; i++)
        free(s->documents[i]);
    free(s->documents);
    memset(s, 0, sizeof(*s));
}

int proj_snap_put(proj_snap *s, const char *name, const stpm_value *v)
{
    for (size_t i = 0; i < s->n_fields; i++) {
        if (strcmp(s->fields[i].name, name) == 0) {
            stpm_value copy;
            if (stpm_value_copy(&copy, v) < 0)
                return -1;
            stpm_value_clear(&s->fields[i].value);
            s->fields[i].value = copy;
            return 0;
        }
    }
    return -1;
}

static int put_json_field(void *ctx, const char *name, const char *text)
{
    proj_snap *s = ctx;
    const stpm_wf_field *f = stpm_workflow_find_field(s->wf, name);
    if (!f || f->builtin)
        return 0; /* a field of another version, or stray: not the engine's business */
    stpm_value v;
    if (proj_value_from_text(f->type, text, &v) < 0)
        return 0; /* stored by an older definition with another type: treat as not set */
    int rc = proj_snap_put(s, name, &v);
    stpm_value_clear(&v);
    return rc;
}

/* "{a,b,c}" of identifiers → an array of strings. */
static int parse_kinds(const char *t, proj_snap *s)
{
    if (*t == '{')
        t++;
    while (*t && *t != '}') {
        size_t n = strcspn(t, ",}");
        char **grown = realloc(s->documents, (s->n_documents + 1) * sizeof(*grown));
        if (!grown)
            return -1;
        s->documents = grown;
        if (!(s->documents[s->n_documents] = stpm_strndup(t, n)))
            return -1;
        s->n_documents++;
        t += n;
        if (*t == ',')
            t++;
    }
    return 0;
}

int proj_snap_from_row(stpm_db *db, PGresult *r, int row, proj_snap *s, stpm_error *err)
{
    memset(s, 0, sizeof(*s));
    int rc = 0;
    s->id = stpm_strdup(PQgetvalue(r, row, 0));
    s->code = stpm_strdup(PQgetvalue(r, row, 1));
    s->state = stpm_strdup(PQgetvalue(r, row, 2));
    s->row_version = atoi(PQgetvalue(r, row, 3));
    stpm_date_parse(PQgetvalue(r, row, 4), &s->state_since);
    s->workflow_id = stpm_strdup(PQgetvalue(r, row, 5));
    if (!s->id || !s->code || !s->state || !s->workflow_id) {
        rc = stpm_error_set(err, STPM_ERROR, "out of memory");
        goto out;
    }
    rc = stpm_wfstore_by_id(db, s->workflow_id, &s->wf, err);
    if (rc < 0)
        goto out;
    s->n_fields = stpm_workflow_n_fields(s->wf);
    s->fields = calloc(s->n_fields ? s->n_fields : 1, sizeof(*s->fields));
    if (!s->fields) {
        s->n_fields = 0;
        rc = stpm_error_set(err, STPM_ERROR, "out of memory");
        goto out;
    }
    /* Built-in fields come from these columns of PROJ_SNAP_COLUMNS. */
    static const struct {
        const char *name;
        int col;
    } builtin_cols[] = {{"state_since", 4},      {"title", 6},           {"year", 7},
                        {"amount_requested", 8}, {"amount_approved", 9}, {"start_date", 10},
                        {"due_date", 11},        {"closed_date", 12},    {"extensions", 13}};
    for (size_t i = 0; i < s->n_fields; i++) {
        const stpm_wf_field *f = stpm_workflow_field(s->wf, i);
        s->fields[i].name = f->name;
        s->fields[i].value.type = STPM_TYPE_NULL;
        if (!f->builtin) {
            if (f->has_default && stpm_value_copy(&s->fields[i].value, &f->default_value) < 0) {
                rc = stpm_error_set(err, STPM_ERROR, "out of memory");
                goto out;
            }
            continue;
        }
        for (size_t c = 0; c < sizeof(builtin_cols) / sizeof(builtin_cols[0]); c++) {
            int col = builtin_cols[c].col;
            if (strcmp(builtin_cols[c].name, f->name) == 0 && !PQgetisnull(r, row, col)) {
                proj_value_from_text(f->type, PQgetvalue(r, row, col), &s->fields[i].value);
                break;
            }
        }
    }
    if (json_each(PQgetvalue(r, row, 14), put_json_field, s) < 0 ||
        parse_kinds(PQgetvalue(r, row, 15), s) < 0) {
        rc = stpm_error_set(err, STPM_ERROR, "cannot read project %s: malformed fields", s->code);
        goto out;
    }
    s->roles = (PQgetvalue(r, row, 16)[0] == 't' ? STPM_ROLE_OFFICER : 0) |
               (PQgetvalue(r, row, 17)[0] == 't' ? STPM_ROLE_ADMIN : 0) |
               (PQgetvalue(r, row, 18)[0] == 't' ? STPM_ROLE_EXPERT : 0);
out:
    if (rc < 0)
        proj_snap_clear(s);
    return rc;
}

int proj_snap_load(stpm_db *db, const char *code, proj_snap *out, stpm_error *err)
{
    memset(out, 0, sizeof(*out));
    PGresult *r = NULL;
    int rc = 0;
    const char *p[] = {code};
    rc = stpm_query_prepared(db, STPM_STMT_PROJECT_LOAD,
                             "SELECT " PROJ_SNAP_COLUMNS " FROM stpm.projects p WHERE p.code = $1",
                             1, p, &r, "cannot read project", err);
    if (rc < 0)
        return rc;
    if (PQntuples(r) == 0) {
        rc = stpm_error_set(err, STPM_ENOTFOUND, "project %s does not exist", code);
        stpm_error_hint(err, "\"stpm project list\" shows the projects.");
    } else {
        rc = proj_snap_from_row(db, r, 0, out, err);
    }
    PQclear(r);
    return rc;
}

int proj_require_writer(const proj_snap *s, stpm_error *err)
{
    if (s->roles)
        return 0;
    stpm_error_set(err, STPM_EPERM, "permission denied: the role may not change projects");
    stpm_error_detail(err, "Transitions are taken by members of stpm_officer, stpm_admin or "
                           "stpm_expert; auditors only read.");
    return STPM_EPERM;
}

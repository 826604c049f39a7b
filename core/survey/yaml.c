/* The YAML form of a survey: a list of mappings with the same keys as the CSV header.
 * Events are read one at a time (libyaml), through the decoder, so memory stays flat and
 * --encoding applies as for CSV. ROW in diagnostics is the line of the value. */
#include <stdlib.h>
#include <string.h>

#include "survey/survey_internal.h"
#include "util/strutil.h"
#include "util/yamlcheck.h"

static int yaml_read(void *data, unsigned char *buffer, size_t size, size_t *size_read)
{
    stpm_survey_reader *r = data;
    *size_read = 0;
    if (r->yaml_left == 0) {
        int rc = stpm_decoder_next(r->dec);
        if (rc < 0) {
            r->yaml_failed = rc;
            return 0;
        }
        if (rc == 0)
            return 1; /* end of input */
        r->yaml_chunk = r->dec->data;
        r->yaml_left = r->dec->data_len;
    }
    size_t n = r->yaml_left < size ? r->yaml_left : size;
    memcpy(buffer, r->yaml_chunk, n);
    r->yaml_chunk += n;
    r->yaml_left -= n;
    *size_read = n;
    return 1;
}

int survey_yaml_open(stpm_survey_reader *r, stpm_error *err)
{
    if (!yaml_parser_initialize(&r->yaml))
        return stpm_error_set(err, STPM_ERROR, "out of memory");
    yaml_parser_set_input(&r->yaml, yaml_read, r);
    yaml_parser_set_encoding(&r->yaml, YAML_UTF8_ENCODING);
    r->yaml_open = true;
    return 0;
}

void survey_yaml_close(stpm_survey_reader *r)
{
    if (r->yaml_open)
        yaml_parser_delete(&r->yaml);
    r->yaml_open = false;
}

/* A fatal problem: collect it and stop. */
static int fatal(stpm_survey_reader *r, stpm_error *err, int code, int line, const char *msg)
{
    survey_error(r, line, NULL, "%s", msg);
    stpm_error_add_diag(err, r->file, line, 0, NULL, "%s", msg);
    return stpm_error_set(err, code, "cannot read %s: %s (line %d)", r->file, msg, line);
}

static int parse(stpm_survey_reader *r, yaml_event_t *ev, stpm_error *err)
{
    if (yaml_parser_parse(&r->yaml, ev))
        return 0;
    int line = (int)r->yaml.problem_mark.line + 1;
    if (r->yaml_failed) {
        char msg[256];
        snprintf(msg, sizeof(msg), "%s", r->dec->message);
        return fatal(r, err, r->yaml_failed, line, msg);
    }
    char msg[256];
    snprintf(msg, sizeof(msg), "invalid YAML: %s%s%s", r->yaml.problem ? r->yaml.problem : "error",
             r->yaml.context ? " " : "", r->yaml.context ? r->yaml.context : "");
    return fatal(r, err, STPM_EINPUT, line, msg);
}

/* Skip the rest of a collection whose start event was just read. A survey row is never
 * nested: a file nested deeper than STPM_YAML_MAX_DEPTH is refused at once (the scanner
 * slows down with the square of the depth). */
static int skip_node(stpm_survey_reader *r, stpm_error *err)
{
    int depth = 1;
    while (depth > 0) {
        yaml_event_t ev;
        int rc = parse(r, &ev, err);
        if (rc < 0)
            return rc;
        if ((ev.type == YAML_MAPPING_START_EVENT || ev.type == YAML_SEQUENCE_START_EVENT) &&
            depth + 2 >= STPM_YAML_MAX_DEPTH) {
            char msg[64];
            int line = (int)ev.start_mark.line + 1;
            yaml_event_delete(&ev);
            snprintf(msg, sizeof(msg), _("nesting deeper than %d levels"), STPM_YAML_MAX_DEPTH);
            return fatal(r, err, STPM_EINPUT, line, msg);
        }
        if (ev.type == YAML_MAPPING_START_EVENT || ev.type == YAML_SEQUENCE_START_EVENT)
            depth++;
        else if (ev.type == YAML_MAPPING_END_EVENT || ev.type == YAML_SEQUENCE_END_EVENT)
            depth--;
        else if (ev.type == YAML_STREAM_END_EVENT)
            depth = 0;
        yaml_event_delete(&ev);
    }
    return 0;
}

static bool is_null(const yaml_event_t *ev)
{
    const char *v = (const char *)ev->data.scalar.value;
    if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    return ev->data.scalar.length == 0 || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
           strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0;
}

/* Warn once per unknown key name. */
static void warn_unknown(stpm_survey_reader *r, int line, const char *key)
{
    const char *p = r->yaml_warned.buf;
    if (p)
        for (size_t i = 0; i < r->yaml_warned.len; i += strlen(p + i) + 1)
            if (strcmp(p + i, key) == 0)
                return;
    if (r->yaml_warned.len < 64 * 1024) {
        stpm_strbuf_puts(&r->yaml_warned, key);
        stpm_strbuf_putc(&r->yaml_warned, '\0');
    }
    survey_warning(r, line, key, "unknown key ignored");
}

/* Read one mapping (its start event already read) into the cells. */
static int read_mapping(stpm_survey_reader *r, int start_line, stpm_error *err)
{
    int zh = 0, en = 0;
    survey_clear_cells(r);
    for (int c = 0; c < SV_NCOLS; c++)
        stpm_strbuf_reset(&r->cname[c]);
    r->n_order = 0;
    r->rows++;
    r->cur_row = start_line;
    r->cur_line = start_line;
    for (;;) {
        yaml_event_t key, val;
        int rc = parse(r, &key, err);
        if (rc < 0)
            return rc;
        if (key.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&key);
            break;
        }
        int key_line = (int)key.start_mark.line + 1;
        if (key.type != YAML_SCALAR_EVENT) {
            survey_error(r, key_line, NULL, "expected a key (a column name)");
            bool coll =
                key.type == YAML_MAPPING_START_EVENT || key.type == YAML_SEQUENCE_START_EVENT;
            yaml_event_delete(&key);
            if (coll && (rc = skip_node(r, err)) < 0)
                return rc;
            /* and its value */
            if ((rc = parse(r, &val, err)) < 0)
                return rc;
            coll = val.type == YAML_MAPPING_START_EVENT || val.type == YAML_SEQUENCE_START_EVENT;
            yaml_event_delete(&val);
            if (coll && (rc = skip_node(r, err)) < 0)
                return rc;
            continue;
        }
        rc = parse(r, &val, err);
        if (rc < 0) {
            yaml_event_delete(&key);
            return rc;
        }
        const char *k = (const char *)key.data.scalar.value;
        int line = (int)val.start_mark.line + 1;
        bool is_zh;
        int c = survey_column_lookup(k, key.data.scalar.length, &is_zh);
        if (c < 0) {
            warn_unknown(r, key_line, k);
        } else if (r->cname[c].len > 0) {
            survey_error(r, key_line, k, "%s given twice in the same row (first as %s)",
                         survey_column_en((survey_col)c), r->cname[c].buf);
        } else {
            stpm_strbuf_puts(&r->cname[c], k);
            r->order[r->n_order++] = (survey_col)c;
            r->cell_row[c] = line;
            is_zh ? zh++ : en++;
        }
        if (val.type == YAML_SCALAR_EVENT) {
            if (c >= 0 && !is_null(&val) && !r->present[c]) {
                r->present[c] = true;
                stpm_strbuf_putn(&r->raw[c], (const char *)val.data.scalar.value,
                                 val.data.scalar.length);
            }
        } else if (val.type == YAML_MAPPING_START_EVENT || val.type == YAML_SEQUENCE_START_EVENT) {
            survey_error(r, line, k, "expected a single value, not a list or mapping");
            rc = skip_node(r, err);
        } else {
            survey_error(r, line, k, "expected a single value (aliases are not supported)");
        }
        yaml_event_delete(&key);
        yaml_event_delete(&val);
        if (rc < 0)
            return rc;
    }
    r->header_zh = zh >= en && zh > 0;
    return 1;
}

int survey_yaml_next(stpm_survey_reader *r, stpm_error *err)
{
    for (;;) {
        yaml_event_t ev;
        int rc = parse(r, &ev, err);
        if (rc < 0)
            return rc;
        int line = (int)ev.start_mark.line + 1;
        yaml_event_type_t t = ev.type;
        bool empty_doc = t == YAML_SCALAR_EVENT && is_null(&ev);
        yaml_event_delete(&ev);
        switch (r->yaml_stage) {
        case 0: /* before the list */
            if (t == YAML_STREAM_START_EVENT || t == YAML_DOCUMENT_START_EVENT)
                continue;
            if (t == YAML_SEQUENCE_START_EVENT) {
                r->yaml_stage = 1;
                continue;
            }
            if (t == YAML_STREAM_END_EVENT || empty_doc || t == YAML_DOCUMENT_END_EVENT) {
                /* An empty file is a mistake (the wrong file, a failed export), not an
                 * empty survey: say so rather than import nothing. */
                survey_error(r, line, NULL, "the file is empty: expected a list of survey rows");
                if (t == YAML_STREAM_END_EVENT)
                    return 0;
                r->yaml_stage = 2;
                continue;
            }
            return fatal(r, err, STPM_EINPUT, line,
                         _("expected a list of survey rows (\"- 企业名称: ...\")"));
        case 1: /* in the list */
            if (t == YAML_MAPPING_START_EVENT)
                return read_mapping(r, line, err);
            if (t == YAML_SEQUENCE_END_EVENT) {
                r->yaml_stage = 2;
                continue;
            }
            survey_error(r, line, NULL, "expected a mapping (one survey row)");
            if ((t == YAML_SEQUENCE_START_EVENT) && (rc = skip_node(r, err)) < 0)
                return rc;
            continue;
        default: /* after it */
            if (t == YAML_DOCUMENT_END_EVENT)
                continue;
            if (t == YAML_STREAM_END_EVENT)
                return 0;
            return fatal(r, err, STPM_EINPUT, line,
                         _("expected one list of survey rows in one document"));
        }
    }
}

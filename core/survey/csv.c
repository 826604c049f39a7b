/* Streaming RFC 4180 CSV: see survey/csv.h. */
#include "survey/csv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/strutil.h"

typedef enum { S_FIELD_START, S_UNQUOTED, S_QUOTED, S_QUOTE_IN_QUOTED } csv_state;

struct stpm_csv {
    stpm_decoder *dec;
    char *file;
    const char *p, *end; /* the decoder's current chunk, unread part */
    bool eof;
    stpm_strbuf buf; /* the record's bytes, fields separated by NUL */
    size_t *starts;  /* offsets of the fields in buf */
    size_t cap_fields;
    size_t n_fields;
    stpm_csv_record rec;
    int row;       /* rows handed out */
    int line;      /* current physical line */
    int col;       /* characters read on the current line */
    bool after_cr; /* the last byte was a CR: a following LF belongs to it */
    bool first;    /* nothing read yet (a stray U+FEFF is dropped) */
};

stpm_csv *stpm_csv_new(stpm_decoder *dec, const char *file)
{
    stpm_csv *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->dec = dec;
    c->file = stpm_strdup(file ? file : "-");
    c->line = 1;
    c->first = true;
    if (!c->file) {
        free(c);
        return NULL;
    }
    return c;
}

void stpm_csv_free(stpm_csv *c)
{
    if (!c)
        return;
    stpm_strbuf_free(&c->buf);
    free(c->starts);
    free(c->rec.fields);
    free(c->rec.lens);
    free(c->file);
    free(c);
}

uint64_t stpm_csv_bytes_read(const stpm_csv *c)
{
    return c->dec->bytes_in;
}

static int start_field(stpm_csv *c)
{
    if (c->n_fields == STPM_CSV_MAX_FIELDS)
        return -1;
    if (c->n_fields == c->cap_fields) {
        size_t cap = c->cap_fields ? c->cap_fields * 2 : 32;
        size_t *s = realloc(c->starts, cap * sizeof(*s));
        if (!s)
            return -1;
        c->starts = s;
        c->cap_fields = cap;
    }
    c->starts[c->n_fields++] = c->buf.len;
    return 0;
}

/* Turn the buffer into the record handed out. */
static int finish_record(stpm_csv *c, int start_line, stpm_csv_record **out, stpm_error *err,
                         bool at_newline)
{
    stpm_csv_record *r = &c->rec;
    stpm_strbuf_putc(&c->buf, '\0');
    if (c->buf.oom)
        goto oom;
    char **f = realloc(r->fields, (c->n_fields + 1) * sizeof(*f));
    if (!f)
        goto oom;
    r->fields = f;
    size_t *l = realloc(r->lens, (c->n_fields + 1) * sizeof(*l));
    if (!l)
        goto oom;
    r->lens = l;
    for (size_t i = 0; i < c->n_fields; i++) {
        size_t end = i + 1 < c->n_fields ? c->starts[i + 1] - 1 : c->buf.len - 1;
        r->fields[i] = c->buf.buf + c->starts[i];
        r->lens[i] = end - c->starts[i];
    }
    r->n_fields = c->n_fields;
    r->row = ++c->row;
    r->line = start_line;
    r->end_line = at_newline ? c->line - 1 : c->line;
    *out = r;
    return 1;
oom:
    return stpm_error_set(err, STPM_ERROR, "out of memory");
}

static int located(stpm_csv *c, stpm_error *err, int code, int line, const char *what)
{
    stpm_error_add_diag(err, c->file, c->row + 1, (int)(c->n_fields ? c->n_fields : 1), NULL, "%s",
                        what);
    stpm_error_set(err, code, "cannot read %s: %s (row %d, line %d)", c->file, what, c->row + 1,
                   line);
    return code;
}

int stpm_csv_next(stpm_csv *c, stpm_csv_record **out, stpm_error *err)
{
    csv_state st = S_FIELD_START;
    int start_line = c->line;
    int quote_line = 0;
    bool any = false; /* anything of this record read */
    stpm_strbuf_reset(&c->buf);
    c->n_fields = 0;
    c->rec.stray_field = -1;
    c->rec.stray_line = 0;
    c->rec.stray_col = 0;
    if (c->eof)
        return 0;
    for (;;) {
        if (c->p == c->end) {
            int rc = stpm_decoder_next(c->dec);
            if (rc < 0) {
                char what[256];
                snprintf(what, sizeof(what), _("%s on line %d"), c->dec->message, c->line);
                return located(c, err, rc, c->line, what);
            }
            if (rc == 0) {
                c->eof = true;
                if (st == S_QUOTED) {
                    char what[128];
                    snprintf(what, sizeof(what),
                             _("unterminated quoted field (the quote opens on line %d)"),
                             quote_line);
                    return located(c, err, STPM_EINPUT, quote_line, what);
                }
                if (!any)
                    return 0;
                if (st == S_FIELD_START && start_field(c) < 0)
                    goto oom;
                return finish_record(c, start_line, out, err, false);
            }
            c->p = c->dec->data;
            c->end = c->p + c->dec->data_len;
            if (c->first) {
                c->first = false;
                if (c->end - c->p >= 3 && memcmp(c->p, "\xEF\xBB\xBF", 3) == 0)
                    c->p += 3;
                continue;
            }
        }
        if ((st == S_UNQUOTED || st == S_QUOTED) && !c->after_cr) {
            /* a run of ordinary bytes is copied at once (up to the record limit, which the
             * byte after it then reports) */
            size_t room = c->buf.len < STPM_CSV_MAX_RECORD ? STPM_CSV_MAX_RECORD - c->buf.len : 0;
            const char *lim = (size_t)(c->end - c->p) > room ? c->p + room : c->end;
            const char *q = c->p;
            bool quoted = st == S_QUOTED;
            int cols = 0;
            for (; q < lim; q++) {
                char b = *q;
                if (b == '"' || b == '\n' || b == '\r' || (b == ',' && !quoted))
                    break;
                cols += ((unsigned char)b & 0xC0) != 0x80;
            }
            if (q > c->p) {
                c->col += cols;
                stpm_strbuf_putn(&c->buf, c->p, (size_t)(q - c->p));
                c->p = q;
                if (c->buf.oom)
                    goto oom;
                continue;
            }
        }
        char ch = *c->p++;
        if (c->after_cr) {
            c->after_cr = false;
            if (ch == '\n')
                continue; /* the LF of a CRLF: the line was counted at the CR */
        }
        if (((unsigned char)ch & 0xC0) != 0x80)
            c->col++;
        bool newline = ch == '\n' || ch == '\r';
        if (newline) {
            c->line++;
            c->col = 0;
            if (ch == '\r')
                c->after_cr = true;
        }
        if (c->buf.len >= STPM_CSV_MAX_RECORD) {
            char what[128];
            snprintf(what, sizeof(what), _("record longer than %d bytes (an unterminated quote?)"),
                     STPM_CSV_MAX_RECORD);
            return located(c, err, STPM_EINPUT, start_line, what);
        }
        switch (st) {
        case S_FIELD_START:
            if (newline) {
                /* after a comma: a trailing empty field; on a blank line: the one empty
                 * field of a spreadsheet's empty row */
                if (start_field(c) < 0)
                    goto oom;
                return finish_record(c, start_line, out, err, true);
            }
            any = true;
            if (start_field(c) < 0)
                goto oom;
            if (ch == '"') {
                st = S_QUOTED;
                quote_line = c->line;
            } else if (ch == ',') {
                stpm_strbuf_putc(&c->buf, '\0');
            } else {
                stpm_strbuf_putc(&c->buf, ch);
                st = S_UNQUOTED;
            }
            break;
        case S_UNQUOTED:
            if (newline)
                return finish_record(c, start_line, out, err, true);
            if (ch == ',') {
                stpm_strbuf_putc(&c->buf, '\0');
                st = S_FIELD_START;
            } else {
                if (ch == '"' && c->rec.stray_field < 0) {
                    c->rec.stray_field = (int)c->n_fields - 1;
                    c->rec.stray_line = c->line;
                    c->rec.stray_col = c->col;
                }
                stpm_strbuf_putc(&c->buf, ch);
            }
            break;
        case S_QUOTED:
            if (ch == '"') {
                st = S_QUOTE_IN_QUOTED;
            } else if (ch == '\r') {
                stpm_strbuf_putc(&c->buf, '\n');
            } else {
                stpm_strbuf_putc(&c->buf, ch);
            }
            break;
        case S_QUOTE_IN_QUOTED:
            if (ch == '"') {
                stpm_strbuf_putc(&c->buf, '"');
                st = S_QUOTED;
            } else if (ch == ',') {
                stpm_strbuf_putc(&c->buf, '\0');
                st = S_FIELD_START;
            } else if (newline) {
                return finish_record(c, start_line, out, err, true);
            } else {
                /* text after the closing quote: keep it, note the quote as stray */
                if (c->rec.stray_field < 0) {
                    c->rec.stray_field = (int)c->n_fields - 1;
                    c->rec.stray_line = c->line;
                    c->rec.stray_col = c->col - 1;
                }
                stpm_strbuf_putc(&c->buf, '"');
                stpm_strbuf_putc(&c->buf, ch);
                st = S_UNQUOTED;
            }
            break;
        }
        if (c->buf.oom)
            goto oom;
    }
oom:
    return stpm_error_set(err, STPM_ERROR, "out of memory");
}

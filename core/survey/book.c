/* The rows of a workbook's sheet: see survey/book.h. */
#include "survey/book.h"

#include <errno.h>
#include <freexl.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <expat.h>
#include <libxml/xmlreader.h>
#include <zip.h>

#include "stpm/date.h"
#include "util/strutil.h"

#define MAX_ROWS 1048576
#define MAX_STYLES 65536
#define MAX_FORMATS 4096
#define MAX_SHEETS 4096

/* ---- shared strings: in memory up to a budget, then in a temporary file ------------- */

typedef struct sst {
    char *data; /* the strings, each NUL-terminated */
    size_t len, cap;
    uint64_t *off; /* start of string i; off[n] is the end */
    size_t n, cap_off;
    FILE *fdata, *foff; /* when spilled: the strings and the offsets (uint64_t each) */
    uint64_t flen;      /* bytes in fdata */
    char *buf;          /* a string read back from fdata */
    size_t buf_cap;
} sst;

static int sst_spill(sst *s)
{
    s->fdata = tmpfile();
    s->foff = tmpfile();
    if (!s->fdata || !s->foff || fwrite(s->data, 1, s->len, s->fdata) != s->len ||
        fwrite(s->off, sizeof(uint64_t), s->n + 1, s->foff) != s->n + 1)
        return -1;
    s->flen = s->len;
    free(s->data);
    free(s->off);
    s->data = NULL;
    s->off = NULL;
    s->len = s->cap = s->cap_off = 0;
    return 0;
}

/* Append one string. -1 on OOM or when the temporary file cannot be written. */
static int sst_add(sst *s, const char *str, size_t n)
{
    if (s->fdata) {
        uint64_t end = s->flen + n + 1;
        if (fwrite(str, 1, n, s->fdata) != n || fputc('\0', s->fdata) == EOF ||
            fwrite(&end, sizeof(end), 1, s->foff) != 1)
            return -1;
        s->flen = end;
        s->n++;
        return 0;
    }
    if (s->n + 2 > s->cap_off) {
        size_t cap = s->cap_off ? s->cap_off * 2 : 1024;
        uint64_t *o = realloc(s->off, cap * sizeof(*o));
        if (!o)
            return -1;
        s->off = o;
        s->cap_off = cap;
    }
    if (s->len + n + 1 > s->cap) {
        size_t cap = s->cap ? s->cap : 65536;
        while (cap < s->len + n + 1)
            cap *= 2;
        char *d = realloc(s->data, cap);
        if (!d)
            return -1;
        s->data = d;
        s->cap = cap;
    }
    if (s->n == 0)
        s->off[0] = 0;
    memcpy(s->data + s->len, str, n);
    s->data[s->len + n] = '\0';
    s->len += n + 1;
    s->off[++s->n] = s->len;
    if (s->cap + s->cap_off * sizeof(uint64_t) > STPM_BOOK_SST_MEMORY)
        return sst_spill(s);
    return 0;
}

static int sst_done(sst *s)
{
    if (s->fdata && (fflush(s->fdata) != 0 || fflush(s->foff) != 0))
        return -1;
    return 0;
}

/* String i (NULL when reading the temporary file fails or memory runs out). */
static const char *sst_get(sst *s, size_t i, size_t *len)
{
    if (!s->fdata) {
        *len = (size_t)(s->off[i + 1] - s->off[i]) - 1;
        return s->data + s->off[i];
    }
    uint64_t o[2];
    if (pread(fileno(s->foff), o, sizeof(o), (off_t)(i * sizeof(uint64_t))) != (ssize_t)sizeof(o))
        return NULL;
    size_t n = (size_t)(o[1] - o[0]);
    if (o[1] < o[0] || n == 0 || n > STPM_BOOK_MAX_ROW_BYTES + 1)
        return NULL;
    if (n > s->buf_cap) {
        char *b = realloc(s->buf, n);
        if (!b)
            return NULL;
        s->buf = b;
        s->buf_cap = n;
    }
    if (pread(fileno(s->fdata), s->buf, n, (off_t)o[0]) != (ssize_t)n)
        return NULL;
    s->buf[n - 1] = '\0';
    *len = n - 1;
    return s->buf;
}

static void sst_free(sst *s)
{
    free(s->data);
    free(s->off);
    free(s->buf);
    if (s->fdata)
        fclose(s->fdata);
    if (s->foff)
        fclose(s->foff);
    memset(s, 0, sizeof(*s));
}

/* ---- the book ----------------------------------------------------------------------- */

typedef struct cell_at {
    int col;
    size_t off, len;
} cell_at;

struct stpm_book {
    stpm_book_kind kind;
    char *file;
    char *sheet;
    int where_row, where_col;

    /* xlsx */
    zip_t *zip;
    zip_file_t *sheet_zf; /* the sheet's entry, parsed by parser */
    XML_Parser parser;
    uint64_t done, total;
    char xml_error[200];
    sst sst;
    bool *date_style;
    size_t n_styles;
    bool date1904;
    bool in_data, at_end;
    int last_row;
    /* where the sheet's parser is; depths count from the root element (1) */
    stpm_error *err; /* the caller's, while xlsx_next parses */
    int rc;          /* a handler's failure (err says why) */
    bool suspended, sheet_eof, row_ready;
    int depth, row_depth, cell_depth, in_is; /* in_is: the depth of an inline string */
    bool in_v, in_t, in_rph;
    int last_col, cell_col, cell_type;
    long cell_style;
    stpm_strbuf value; /* the cell's value as written */
    /* the rows parsed by the sheet's thread, handed to the caller through a queue */
    struct queue *queue;

    /* the row being read */
    stpm_strbuf text; /* the cells' text, each NUL-terminated */
    cell_at *cells;
    size_t n_cells, cap_cells;
    char **fields;
    size_t *lens;
    size_t cap_fields;
    stpm_book_row row;

    /* xls */
    const void *xls;
    unsigned xls_rows, xls_next;
    unsigned short xls_cols;
};

stpm_book_kind stpm_book_sniff(const unsigned char *head, size_t n)
{
    static const unsigned char ole[8] = {0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1};
    if (n >= 4 && memcmp(head, "PK\x03\x04", 4) == 0)
        return STPM_BOOK_XLSX;
    if (n >= 8 && memcmp(head, ole, 8) == 0)
        return STPM_BOOK_XLS;
    return STPM_BOOK_NONE;
}

void stpm_book_cell_name(int col, int row, char out[16])
{
    char tmp[8];
    int n = 0;
    unsigned i = (unsigned)(col < 0 ? 0 : col) + 1;
    while (i > 0 && n < 7) {
        i--;
        tmp[n++] = (char)('A' + i % 26);
        i /= 26;
    }
    int k = 0;
    while (n > 0)
        out[k++] = tmp[--n];
    snprintf(out + k, (size_t)(16 - k), "%d", row);
}

char *stpm_book_cell_ref(const char *sheet, int col, int row)
{
    char cell[16];
    stpm_book_cell_name(col, row, cell);
    bool quote = !sheet[0] || (sheet[0] >= '0' && sheet[0] <= '9');
    for (const unsigned char *p = (const unsigned char *)sheet; *p; p++)
        if (*p < 0x80 && !((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
                           (*p >= '0' && *p <= '9') || *p == '_' || *p == '.'))
            quote = true;
    stpm_strbuf sb = STPM_STRBUF_INIT;
    if (quote) {
        stpm_strbuf_putc(&sb, '\'');
        for (const char *p = sheet; *p; p++) {
            if (*p == '\'')
                stpm_strbuf_putc(&sb, '\'');
            stpm_strbuf_putc(&sb, *p);
        }
        stpm_strbuf_putc(&sb, '\'');
    } else {
        stpm_strbuf_puts(&sb, sheet);
    }
    stpm_strbuf_putc(&sb, '!');
    stpm_strbuf_puts(&sb, cell);
    if (sb.oom) {
        stpm_strbuf_free(&sb);
        return NULL;
    }
    return stpm_strbuf_detach(&sb);
}

long stpm_book_serial_days(long serial, bool date1904, bool *feb29)
{
    *feb29 = false;
    if (date1904)
        return serial - 24107;
    if (serial == 60)
        *feb29 = true;
    /* Excel counts 1900 as a leap year: serials from 61 on are one day ahead */
    return serial >= 61 ? serial - 25569 : serial - 25568;
}

static int fail(stpm_book *b, stpm_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(stpm_book *b, stpm_error *err, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = stpm_vasprintf(_(fmt), ap);
    va_end(ap);
    stpm_error_set(err, code, "%s", msg ? msg : _("out of memory"));
    free(msg);
    (void)b;
    return code;
}

/* ---- XML parts of the zip ----------------------------------------------------------- */

/* A small part (workbook, relationships, styles) read by libxml2's reader. */
typedef struct part {
    struct stpm_book *b;
    zip_file_t *zf;
    uint64_t *done;
} part;

static int part_read(void *ctx, char *buf, int len)
{
    part *p = ctx;
    zip_int64_t n = zip_fread(p->zf, buf, (zip_uint64_t)len);
    if (n < 0)
        return -1;
    if (p->done)
        *p->done += (uint64_t)n;
    return (int)n;
}

static void xml_error(void *arg, xmlErrorPtr e)
{
    stpm_book *b = arg;
    if (b->xml_error[0] || !e)
        return;
    const char *m = e->message ? e->message : "malformed XML";
    size_t n = strlen(m);
    while (n > 0 && (m[n - 1] == '\n' || m[n - 1] == ' '))
        n--;
    snprintf(b->xml_error, sizeof(b->xml_error), "%.*s (line %d)", (int)(n > 150 ? 150 : n), m,
             e->line);
}

/* Find an entry by name (case-insensitively when not found as written). */
static zip_int64_t find_entry(stpm_book *b, const char *name)
{
    zip_int64_t i = zip_name_locate(b->zip, name, 0);
    if (i < 0)
        i = zip_name_locate(b->zip, name, ZIP_FL_NOCASE);
    return i;
}

/* Open a reader on the part called name: 1, 0 when there is no such part, or -1. */
static int part_open(stpm_book *b, const char *name, part *p, xmlTextReaderPtr *xr, uint64_t *size,
                     stpm_error *err)
{
    *xr = NULL;
    p->b = b;
    p->zf = NULL;
    p->done = NULL;
    zip_int64_t i = find_entry(b, name);
    if (i < 0)
        return 0;
    zip_stat_t st;
    zip_stat_init(&st);
    if (size && zip_stat_index(b->zip, (zip_uint64_t)i, 0, &st) == 0 && (st.valid & ZIP_STAT_SIZE))
        *size = st.size;
    p->zf = zip_fopen_index(b->zip, (zip_uint64_t)i, 0);
    if (!p->zf)
        return fail(b, err, STPM_EINPUT, "%s: cannot read %s in the workbook: %s", b->file, name,
                    zip_strerror(b->zip)),
               -1;
    b->xml_error[0] = '\0';
    *xr = xmlReaderForIO(part_read, NULL, p, name, NULL,
                         XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!*xr) {
        zip_fclose(p->zf);
        p->zf = NULL;
        return fail(b, err, STPM_ERROR, "out of memory"), -1;
    }
    xmlTextReaderSetStructuredErrorHandler(*xr, xml_error, b);
    return 1;
}

static void part_close(part *p, xmlTextReaderPtr xr)
{
    if (xr)
        xmlFreeTextReader(xr);
    if (p->zf)
        zip_fclose(p->zf);
    p->zf = NULL;
}

static int xml_failed(stpm_book *b, const char *name, stpm_error *err)
{
    return fail(b, err, STPM_EINPUT, "%s: %s in the workbook is not well-formed XML: %s", b->file,
                name, b->xml_error[0] ? b->xml_error : _("malformed or truncated"));
}

static bool is(xmlTextReaderPtr xr, const char *name)
{
    const xmlChar *n = xmlTextReaderConstLocalName(xr);
    return n && strcmp((const char *)n, name) == 0;
}

static char *attr(xmlTextReaderPtr xr, const char *name)
{
    return (char *)xmlTextReaderGetAttribute(xr, (const xmlChar *)name);
}

/* An attribute in the relationships namespace (r:id), whatever its prefix. */
static char *rel_attr(xmlTextReaderPtr xr, const char *name)
{
    static const char *const ns[] = {
        "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
        "http://purl.oclc.org/ooxml/officeDocument/relationships", NULL};
    for (int i = 0; ns[i]; i++) {
        char *v =
            (char *)xmlTextReaderGetAttributeNs(xr, (const xmlChar *)name, (const xmlChar *)ns[i]);
        if (v)
            return v;
    }
    return NULL;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* The zip entry a relationship's target names (relative to xl/, or absolute). */
static char *part_name(const char *target)
{
    if (target[0] == '/')
        return stpm_strdup(target + 1);
    while (strncmp(target, "./", 2) == 0)
        target += 2;
    return stpm_asprintf("xl/%s", target);
}

typedef struct book_parts {
    char *sheet_rid;    /* the chosen sheet's relationship id */
    int sheet_pos;      /* and its position (1-based), for a workbook without rels */
    stpm_strbuf names;  /* every sheet's name, for the message when one is not found */
    char *sheet_target; /* entries found in the relationships */
    char *strings_target;
    char *styles_target;
} book_parts;

static int read_workbook(stpm_book *b, const char *want, book_parts *bp, stpm_error *err)
{
    part p;
    xmlTextReaderPtr xr;
    int rc = part_open(b, "xl/workbook.xml", &p, &xr, NULL, err);
    if (rc == 0)
        rc = fail(b, err, STPM_EINPUT,
                  "%s: a zip archive but not an Excel workbook (no xl/workbook.xml)", b->file);
    if (rc < 0)
        return rc;
    int n_sheets = 0, r;
    rc = 0;
    while ((r = xmlTextReaderRead(xr)) == 1) {
        if (xmlTextReaderNodeType(xr) != XML_READER_TYPE_ELEMENT)
            continue;
        if (is(xr, "workbookPr")) {
            char *v = attr(xr, "date1904");
            b->date1904 = v && (strcmp(v, "1") == 0 || strcmp(v, "true") == 0);
            xmlFree(v);
        } else if (is(xr, "sheet") && n_sheets < MAX_SHEETS) {
            char *name = attr(xr, "name");
            n_sheets++;
            if (name && !b->sheet && (!want || strcmp(name, want) == 0)) {
                b->sheet = stpm_strdup(name);
                bp->sheet_rid = rel_attr(xr, "id");
                bp->sheet_pos = n_sheets;
                if (!b->sheet) {
                    xmlFree(name);
                    rc = fail(b, err, STPM_ERROR, "out of memory");
                    break;
                }
            }
            if (name) {
                if (bp->names.len)
                    stpm_strbuf_puts(&bp->names, ", ");
                if (bp->names.len < 400)
                    stpm_strbuf_puts(&bp->names, name);
            }
            xmlFree(name);
        }
    }
    if (rc == 0 && r < 0)
        rc = xml_failed(b, "xl/workbook.xml", err);
    part_close(&p, xr);
    if (rc < 0)
        return rc;
    if (!b->sheet) {
        if (want)
            return fail(b, err, STPM_ENOTFOUND,
                        "%s: no sheet \"%s\" in the workbook (its sheets: %s)", b->file, want,
                        n_sheets ? stpm_strbuf_str(&bp->names) : "none");
        return fail(b, err, STPM_EINPUT, "%s: the workbook has no sheet", b->file);
    }
    return 0;
}

static int read_rels(stpm_book *b, book_parts *bp, stpm_error *err)
{
    part p;
    xmlTextReaderPtr xr;
    int rc = part_open(b, "xl/_rels/workbook.xml.rels", &p, &xr, NULL, err);
    if (rc <= 0)
        return rc;
    int r;
    rc = 0;
    while ((r = xmlTextReaderRead(xr)) == 1 && rc == 0) {
        if (xmlTextReaderNodeType(xr) != XML_READER_TYPE_ELEMENT || !is(xr, "Relationship"))
            continue;
        char *id = attr(xr, "Id"), *target = attr(xr, "Target"), *type = attr(xr, "Type");
        if (id && target && type) {
            char **slot = NULL;
            if (bp->sheet_rid && strcmp(id, bp->sheet_rid) == 0)
                slot = &bp->sheet_target;
            else if (ends_with(type, "/sharedStrings"))
                slot = &bp->strings_target;
            else if (ends_with(type, "/styles"))
                slot = &bp->styles_target;
            if (slot && !*slot && !(*slot = part_name(target)))
                rc = fail(b, err, STPM_ERROR, "out of memory");
        }
        xmlFree(id);
        xmlFree(target);
        xmlFree(type);
    }
    if (rc == 0 && r < 0)
        rc = xml_failed(b, "xl/_rels/workbook.xml.rels", err);
    part_close(&p, xr);
    return rc;
}

/* Is a custom number format a date (it shows a year or a day)? */
static bool format_is_date(const char *code)
{
    bool quoted = false;
    int bracket = 0;
    for (const char *p = code; *p; p++) {
        if (*p == '"')
            quoted = !quoted;
        else if (quoted)
            continue;
        else if (*p == '\\' && p[1])
            p++;
        else if (*p == '[')
            bracket++;
        else if (*p == ']' && bracket > 0)
            bracket--;
        else if (bracket == 0 && (*p == 'y' || *p == 'Y' || *p == 'd' || *p == 'D'))
            return true;
    }
    return false;
}

static bool builtin_date(long id)
{
    return (id >= 14 && id <= 22) || (id >= 27 && id <= 36) || (id >= 50 && id <= 58);
}

static int read_styles(stpm_book *b, const char *name, stpm_error *err)
{
    part p;
    xmlTextReaderPtr xr;
    int rc = part_open(b, name, &p, &xr, NULL, err);
    if (rc <= 0)
        return rc;
    long fmt_id[MAX_FORMATS];
    bool fmt_date[MAX_FORMATS];
    size_t n_fmt = 0;
    bool in_xfs = false;
    int r;
    rc = 0;
    b->date_style = calloc(MAX_STYLES, sizeof(bool));
    if (!b->date_style)
        rc = fail(b, err, STPM_ERROR, "out of memory");
    while (rc == 0 && (r = xmlTextReaderRead(xr)) == 1) {
        int t = xmlTextReaderNodeType(xr);
        if (t == XML_READER_TYPE_END_ELEMENT && is(xr, "cellXfs"))
            in_xfs = false;
        if (t != XML_READER_TYPE_ELEMENT)
            continue;
        if (is(xr, "numFmt") && n_fmt < MAX_FORMATS) {
            char *id = attr(xr, "numFmtId"), *code = attr(xr, "formatCode");
            if (id && code) {
                fmt_id[n_fmt] = strtol(id, NULL, 10);
                fmt_date[n_fmt++] = format_is_date(code);
            }
            xmlFree(id);
            xmlFree(code);
        } else if (is(xr, "cellXfs")) {
            in_xfs = !xmlTextReaderIsEmptyElement(xr);
        } else if (in_xfs && is(xr, "xf") && b->n_styles < MAX_STYLES) {
            char *id = attr(xr, "numFmtId");
            long n = id ? strtol(id, NULL, 10) : 0;
            bool date = builtin_date(n);
            for (size_t i = 0; i < n_fmt; i++)
                if (fmt_id[i] == n)
                    date = fmt_date[i];
            b->date_style[b->n_styles++] = date;
            xmlFree(id);
        }
    }
    if (rc == 0 && r < 0)
        rc = xml_failed(b, name, err);
    part_close(&p, xr);
    return rc;
}

/* A zip entry opened for reading: 1, 0 when there is no such entry, or -1. */
static int entry_open(stpm_book *b, const char *name, zip_file_t **zf, uint64_t *size,
                      stpm_error *err)
{
    zip_int64_t i = find_entry(b, name);
    if (i < 0)
        return 0;
    zip_stat_t st;
    zip_stat_init(&st);
    if (size && zip_stat_index(b->zip, (zip_uint64_t)i, 0, &st) == 0 && (st.valid & ZIP_STAT_SIZE))
        *size = st.size;
    *zf = zip_fopen_index(b->zip, (zip_uint64_t)i, 0);
    if (!*zf)
        return fail(b, err, STPM_EINPUT, "%s: cannot read %s in the workbook: %s", b->file, name,
                    zip_strerror(b->zip));
    return 1;
}

/* Expat's reason, for the message of a part that is not well-formed. */
static void expat_error(stpm_book *b, XML_Parser p)
{
    snprintf(b->xml_error, sizeof(b->xml_error), "%s (line %lu)",
             XML_ErrorString(XML_GetErrorCode(p)), (unsigned long)XML_GetCurrentLineNumber(p));
}

/* The parts' bytes go to expat in pieces of this size. */
#define XML_CHUNK (64 * 1024)

/* The shared strings are parsed with expat too (see the sheet's parser below): the text of
 * the <t> elements of each <si>, without the phonetic runs (<rPh>). */
typedef struct strings_parse {
    stpm_book *b;
    XML_Parser p;
    const char *name;
    stpm_error *err;
    int rc;
    int depth, si_depth;
    bool in_t, in_rph;
    stpm_strbuf s;
} strings_parse;

static const char *local_name(const XML_Char *name);

static void XMLCALL strings_start(void *arg, const XML_Char *name, const XML_Char **atts)
{
    strings_parse *sp = arg;
    const char *n = local_name(name);
    (void)atts;
    sp->depth++;
    if (sp->rc < 0)
        return;
    if (!sp->si_depth) {
        if (strcmp(n, "si") == 0) {
            sp->si_depth = sp->depth;
            sp->in_t = sp->in_rph = false;
            stpm_strbuf_reset(&sp->s);
        }
    } else if (strcmp(n, "t") == 0) {
        sp->in_t = true;
    } else if (strcmp(n, "rPh") == 0) {
        sp->in_rph = true;
    }
}

static void XMLCALL strings_end(void *arg, const XML_Char *name)
{
    strings_parse *sp = arg;
    int depth = sp->depth--;
    if (sp->rc < 0 || !sp->si_depth)
        return;
    const char *n = local_name(name);
    if (depth == sp->si_depth) {
        sp->si_depth = 0;
        if (sp->s.oom || sst_add(&sp->b->sst, sp->s.buf ? sp->s.buf : "", sp->s.len) < 0) {
            sp->rc = fail(sp->b, sp->err, STPM_ERROR,
                          "%s: out of memory or temporary space reading %s", sp->b->file, sp->name);
            XML_StopParser(sp->p, XML_FALSE);
        }
    } else if (strcmp(n, "t") == 0) {
        sp->in_t = false;
    } else if (strcmp(n, "rPh") == 0) {
        sp->in_rph = false;
    }
}

static void XMLCALL strings_text(void *arg, const XML_Char *s, int len)
{
    strings_parse *sp = arg;
    if (sp->rc < 0 || !sp->si_depth || !sp->in_t || sp->in_rph)
        return;
    stpm_strbuf_putn(&sp->s, s, (size_t)len);
    if (sp->s.len > STPM_BOOK_MAX_ROW_BYTES) {
        sp->rc = fail(sp->b, sp->err, STPM_EINPUT, "a text in %s is longer than %d bytes", sp->name,
                      STPM_BOOK_MAX_ROW_BYTES);
        XML_StopParser(sp->p, XML_FALSE);
    }
}

static int read_strings(stpm_book *b, const char *name, stpm_error *err)
{
    zip_file_t *zf = NULL;
    strings_parse sp = {b, NULL, name, err, 0, 0, 0, false, false, STPM_STRBUF_INIT};
    int rc = entry_open(b, name, &zf, NULL, err);
    if (rc <= 0)
        return rc;
    rc = 0;
    b->xml_error[0] = '\0';
    if (!(sp.p = XML_ParserCreate(NULL))) {
        rc = fail(b, err, STPM_ERROR, "out of memory");
        goto cleanup;
    }
    XML_SetUserData(sp.p, &sp);
    XML_SetElementHandler(sp.p, strings_start, strings_end);
    XML_SetCharacterDataHandler(sp.p, strings_text);
    for (;;) {
        void *buf = XML_GetBuffer(sp.p, XML_CHUNK);
        if (!buf) {
            rc = fail(b, err, STPM_ERROR, "out of memory");
            goto cleanup;
        }
        zip_int64_t n = zip_fread(zf, buf, XML_CHUNK);
        if (n < 0) {
            snprintf(b->xml_error, sizeof(b->xml_error), "%s", zip_file_strerror(zf));
            rc = xml_failed(b, name, err);
            goto cleanup;
        }
        enum XML_Status st = XML_ParseBuffer(sp.p, (int)n, n == 0);
        if (sp.rc < 0) {
            rc = sp.rc;
            goto cleanup;
        }
        if (st != XML_STATUS_OK) {
            expat_error(b, sp.p);
            rc = xml_failed(b, name, err);
            goto cleanup;
        }
        if (n == 0)
            break;
    }
    if (sst_done(&b->sst) < 0)
        rc = fail(b, err, STPM_ERROR, "%s: cannot write the shared strings to a temporary file",
                  b->file);
cleanup:
    if (sp.p)
        XML_ParserFree(sp.p);
    stpm_strbuf_free(&sp.s);
    zip_fclose(zf);
    return rc;
}

static int sheet_open(stpm_book *b, const char *name, stpm_error *err);

static int open_xlsx(stpm_book *b, const char *path, const char *want, stpm_error *err)
{
    int zerr = 0;
    book_parts bp = {NULL, 0, STPM_STRBUF_INIT, NULL, NULL, NULL};
    char *sheet_name = NULL;
    int rc;
    b->zip = zip_open(path, ZIP_RDONLY, &zerr);
    if (!b->zip) {
        zip_error_t ze;
        zip_error_init_with_code(&ze, zerr);
        rc = fail(b, err, STPM_EINPUT, "%s: not a readable workbook: %s", b->file,
                  zip_error_strerror(&ze));
        zip_error_fini(&ze);
        goto cleanup;
    }
    xmlInitParser();
    if ((rc = read_workbook(b, want, &bp, err)) < 0 || (rc = read_rels(b, &bp, err)) < 0)
        goto cleanup;
    sheet_name = bp.sheet_target ? stpm_strdup(bp.sheet_target)
                                 : stpm_asprintf("xl/worksheets/sheet%d.xml", bp.sheet_pos);
    if (!sheet_name) {
        rc = fail(b, err, STPM_ERROR, "out of memory");
        goto cleanup;
    }
    if ((rc = read_styles(b, bp.styles_target ? bp.styles_target : "xl/styles.xml", err)) < 0 ||
        (rc = read_strings(b, bp.strings_target ? bp.strings_target : "xl/sharedStrings.xml",
                           err)) < 0)
        goto cleanup;
    rc = sheet_open(b, sheet_name, err);
    if (rc == 0)
        rc = fail(b, err, STPM_EINPUT, "%s: the sheet \"%s\" is missing from the workbook (%s)",
                  b->file, b->sheet, sheet_name);
    if (rc < 0)
        goto cleanup;
    rc = 0;
cleanup:
    free(sheet_name);
    xmlFree(bp.sheet_rid);
    stpm_strbuf_free(&bp.names);
    free(bp.sheet_target);
    free(bp.strings_target);
    free(bp.styles_target);
    return rc;
}

/* ---- the cells of the sheet --------------------------------------------------------- */

/* A number as a spreadsheet shows it in the General format, without binary noise. */
static void number_text(stpm_strbuf *out, double x)
{
    char buf[64];
    if (x == 0)
        x = 0; /* no "-0" */
    if (x == floor(x) && fabs(x) < 1e15)
        snprintf(buf, sizeof(buf), "%.0f", x);
    else
        snprintf(buf, sizeof(buf), "%.15g", x);
    if (strchr(buf, 'e')) {
        if (fabs(x) >= 1)
            snprintf(buf, sizeof(buf), "%.0f", x);
        else {
            snprintf(buf, sizeof(buf), "%.15f", x);
            size_t n = strlen(buf);
            while (n > 1 && buf[n - 1] == '0')
                buf[--n] = '\0';
        }
    }
    stpm_strbuf_puts(out, buf);
}

/* A number written as plain digits ("1234.50", "007"): what number_text would make of it,
 * without strtod and printf (which were a sixth of reading a sheet of amounts). Only when
 * it has at most 15 digits besides leading and trailing zeros (DBL_DIG: such a decimal
 * comes back from a double unchanged) and no sign or exponent; false otherwise. */
static bool plain_number(stpm_strbuf *out, const char *s, size_t n)
{
    size_t i = 0, int_start, int_end, frac_start, frac_end;
    while (i < n && s[i] == '0')
        i++;
    int_start = i;
    while (i < n && s[i] >= '0' && s[i] <= '9')
        i++;
    int_end = i;
    frac_start = frac_end = i;
    if (i < n && s[i] == '.') {
        frac_start = ++i;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
        frac_end = i;
        while (frac_end > frac_start && s[frac_end - 1] == '0')
            frac_end--;
    }
    bool digits = int_end > 0 || i > frac_start; /* "." alone is not a number */
    if (i != n || !digits || (int_end - int_start) + (frac_end - frac_start) > 15)
        return false; /* not plain digits, or too many of them: the general way */
    if (int_end == int_start)
        stpm_strbuf_putc(out, '0');
    else
        stpm_strbuf_putn(out, s + int_start, int_end - int_start);
    if (frac_end > frac_start) {
        stpm_strbuf_putc(out, '.');
        stpm_strbuf_putn(out, s + frac_start, frac_end - frac_start);
    }
    return true;
}

/* A serial date (and time) as YYYY-MM-DD[ HH:MM:SS]; false when out of Excel's range. */
static bool date_text(stpm_strbuf *out, double x, bool date1904)
{
    if (!(x >= 0 && x < 2958466))
        return false;
    long days = (long)floor(x);
    long secs = lround((x - (double)days) * 86400.0);
    if (secs >= 86400) {
        days++;
        secs -= 86400;
    }
    bool feb29;
    long d = stpm_book_serial_days(days, date1904, &feb29);
    int y, m, dd;
    if (feb29) {
        y = 1900;
        m = 2;
        dd = 29;
    } else {
        stpm_date_to_ymd((stpm_date)d, &y, &m, &dd);
    }
    char buf[48];
    if (secs)
        snprintf(buf, sizeof(buf), "%04d-%02d-%02d %02ld:%02ld:%02ld", y, m, dd, secs / 3600,
                 secs / 60 % 60, secs % 60);
    else
        snprintf(buf, sizeof(buf), "%04d-%02d-%02d", y, m, dd);
    stpm_strbuf_puts(out, buf);
    return true;
}

/* Parse a cell reference "H7": 0-based column and the row; -1 when it is not one. */
static int parse_ref(const char *s, int *col, int *row)
{
    long c = 0, r = 0;
    const char *p = s;
    while ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z')) {
        c = c * 26 + ((*p | 0x20) - 'a' + 1);
        if (c > STPM_BOOK_MAX_COLS)
            return -1;
        p++;
    }
    if (p == s || *p < '1' || *p > '9')
        return -1;
    for (; *p >= '0' && *p <= '9'; p++) {
        r = r * 10 + (*p - '0');
        if (r > MAX_ROWS)
            return -1;
    }
    if (*p)
        return -1;
    *col = (int)c - 1;
    *row = (int)r;
    return 0;
}

static int parse_index(const char *s, long max, long *out)
{
    char *end;
    errno = 0;
    long v = s ? strtol(s, &end, 10) : -1;
    if (!s || !*s || *end || errno || v < 0 || v > max)
        return -1;
    *out = v;
    return 0;
}

typedef enum { T_NUMBER, T_SHARED, T_INLINE, T_STRING, T_BOOL, T_ERROR, T_DATE } cell_type;

static cell_type type_of(const char *t)
{
    if (!t || strcmp(t, "n") == 0)
        return T_NUMBER;
    if (strcmp(t, "s") == 0)
        return T_SHARED;
    if (strcmp(t, "inlineStr") == 0)
        return T_INLINE;
    if (strcmp(t, "b") == 0)
        return T_BOOL;
    if (strcmp(t, "e") == 0)
        return T_ERROR;
    if (strcmp(t, "d") == 0)
        return T_DATE;
    return T_STRING; /* "str", a formula's text */
}

static int cell_fail(stpm_book *b, stpm_error *err, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int cell_fail(stpm_book *b, stpm_error *err, int col, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = stpm_vasprintf(_(fmt), ap);
    va_end(ap);
    b->where_row = b->last_row;
    b->where_col = col;
    stpm_error_set(err, STPM_EINPUT, "%s", msg ? msg : _("out of memory"));
    free(msg);
    return STPM_EINPUT;
}

/* Append the cell's text (from its value v) to the row. */
static int put_cell(stpm_book *b, int col, cell_type type, long style, const stpm_strbuf *v,
                    stpm_error *err)
{
    const char *val = v->buf ? v->buf : "";
    size_t start = b->text.len;
    switch (type) {
    case T_SHARED: {
        long i;
        if (parse_index(val, LONG_MAX, &i) < 0 || (size_t)i >= b->sst.n)
            return cell_fail(b, err, col,
                             "the cell refers to shared string \"%s\", which the workbook does "
                             "not have (it has %zu)",
                             val, b->sst.n);
        size_t n;
        const char *s = sst_get(&b->sst, (size_t)i, &n);
        if (!s)
            return fail(b, err, STPM_ERROR, "%s: cannot read the shared strings back", b->file);
        stpm_strbuf_putn(&b->text, s, n);
        break;
    }
    case T_BOOL:
        stpm_strbuf_puts(&b->text,
                         strcmp(val, "1") == 0 || strcmp(val, "true") == 0 ? "TRUE" : "FALSE");
        break;
    case T_DATE: {
        size_t n = v->len;
        if (n > 10 && (strcmp(val + 10, "T00:00:00") == 0 || strcmp(val + 10, "T00:00:00Z") == 0))
            n = 10;
        for (size_t i = 0; i < n; i++)
            stpm_strbuf_putc(&b->text, val[i] == 'T' ? ' ' : val[i]);
        break;
    }
    case T_NUMBER: {
        if (v->len == 0)
            break;
        bool date = style >= 0 && (size_t)style < b->n_styles && b->date_style[style];
        if (!date && plain_number(&b->text, val, v->len))
            break;
        char *end;
        double x = strtod(val, &end);
        if (*end || !isfinite(x)) {
            stpm_strbuf_putn(&b->text, val, v->len);
            break;
        }
        if (!date || !date_text(&b->text, x, b->date1904))
            number_text(&b->text, x);
        break;
    }
    default:
        stpm_strbuf_putn(&b->text, val, v->len);
    }
    if (b->text.len > STPM_BOOK_MAX_ROW_BYTES)
        return cell_fail(b, err, col, "row %d holds more than %d bytes of text", b->last_row,
                         STPM_BOOK_MAX_ROW_BYTES);
    size_t len = b->text.len - start;
    stpm_strbuf_putc(&b->text, '\0');
    if (b->text.oom)
        return fail(b, err, STPM_ERROR, "out of memory");
    if (len == 0)
        return 0;
    if (b->n_cells == b->cap_cells) {
        size_t cap = b->cap_cells ? b->cap_cells * 2 : 32;
        cell_at *c = realloc(b->cells, cap * sizeof(*c));
        if (!c)
            return fail(b, err, STPM_ERROR, "out of memory");
        b->cells = c;
        b->cap_cells = cap;
    }
    b->cells[b->n_cells++] = (cell_at){col, start, len};
    return 0;
}

/* Turn the cells collected into the dense row handed out. */
static int finish_row(stpm_book *b, stpm_error *err)
{
    size_t n = 1;
    for (size_t i = 0; i < b->n_cells; i++)
        if ((size_t)b->cells[i].col + 1 > n)
            n = (size_t)b->cells[i].col + 1;
    if (n > b->cap_fields) {
        char **f = realloc(b->fields, n * sizeof(*f));
        if (!f)
            return fail(b, err, STPM_ERROR, "out of memory");
        b->fields = f;
        size_t *l = realloc(b->lens, n * sizeof(*l));
        if (!l)
            return fail(b, err, STPM_ERROR, "out of memory");
        b->lens = l;
        b->cap_fields = n;
    }
    static char empty[1] = "";
    for (size_t i = 0; i < n; i++) {
        b->fields[i] = empty;
        b->lens[i] = 0;
    }
    for (size_t i = 0; i < b->n_cells; i++) {
        b->fields[b->cells[i].col] = b->text.buf + b->cells[i].off;
        b->lens[b->cells[i].col] = b->cells[i].len;
    }
    b->row.row = b->last_row;
    b->row.n_fields = n;
    b->row.fields = b->fields;
    b->row.lens = b->lens;
    return 0;
}

static int xlsx_fail(stpm_book *b, stpm_error *err)
{
    b->where_row = b->last_row;
    return stpm_error_set(err, STPM_EINPUT, "the sheet is not well-formed XML: %s",
                          b->xml_error[0] ? b->xml_error : _("malformed or truncated"));
}

/* The sheet is parsed with expat rather than libxml2's reader: it is most of the bytes of
 * a workbook, and the reader's nodes, attribute copies and per-node calls made the .xlsx
 * import about five times slower than the CSV one. Expat calls the handlers below; the
 * handler that ends a row suspends the parser (XML_StopParser, resumable), so xlsx_next
 * still hands out one row at a time and memory stays flat. */

/* The local part of an element's name (x:row is row, as libxml2's reader said). */
static const char *local_name(const XML_Char *name)
{
    const char *colon = strrchr(name, ':');
    return colon ? colon + 1 : name;
}

/* A handler failed: remember why (the caller's err is already set) and abort the parse. */
static void sheet_stop(stpm_book *b, int rc)
{
    b->rc = rc;
    XML_StopParser(b->parser, XML_FALSE);
}

static const char *sheet_attr(const XML_Char **atts, const char *name)
{
    for (; atts[0]; atts += 2)
        if (strcmp(atts[0], name) == 0)
            return atts[1];
    return NULL;
}

/* A <c> element starts: check where it is, keep its type and style. */
static int cell_start(stpm_book *b, const XML_Char **atts)
{
    const char *ref = sheet_attr(atts, "r"), *t = sheet_attr(atts, "t"), *s = sheet_attr(atts, "s");
    int col = b->last_col + 1, row = b->last_row;
    stpm_error *err = b->err;
    if (ref && parse_ref(ref, &col, &row) < 0)
        return cell_fail(b, err, b->last_col + 1, "invalid cell reference \"%s\"", ref);
    if (row != b->last_row)
        return cell_fail(b, err, col, "cell %s is inside row %d", ref, b->last_row);
    if (col <= b->last_col)
        return cell_fail(b, err, col, "cell %s comes after a cell to its right", ref);
    if (col >= STPM_BOOK_MAX_COLS)
        return cell_fail(b, err, b->last_col + 1, "a cell beyond column XFD");
    b->cell_style = -1;
    if (s)
        parse_index(s, MAX_STYLES, &b->cell_style);
    b->cell_type = type_of(t);
    b->cell_col = col;
    b->last_col = col;
    stpm_strbuf_reset(&b->value);
    return 0;
}

/* A <row> element starts (inside <sheetData>). */
static int row_start(stpm_book *b, const XML_Char **atts)
{
    const char *ra = sheet_attr(atts, "r");
    long rn = b->last_row + 1;
    if (ra && (parse_index(ra, MAX_ROWS, &rn) < 0 || rn < 1)) {
        b->where_row = b->last_row + 1;
        b->where_col = -1;
        return stpm_error_set(b->err, STPM_EINPUT, "invalid row number \"%s\"", ra);
    }
    if (rn <= b->last_row) {
        b->where_row = (int)rn;
        b->where_col = -1;
        return stpm_error_set(b->err, STPM_EINPUT, "row %ld comes after row %d", rn, b->last_row);
    }
    if (rn > MAX_ROWS)
        return cell_fail(b, b->err, -1, "a row beyond row %d", MAX_ROWS);
    b->last_row = (int)rn;
    b->last_col = -1;
    stpm_strbuf_reset(&b->text);
    b->n_cells = 0;
    return 0;
}

static void XMLCALL sheet_start(void *arg, const XML_Char *name, const XML_Char **atts)
{
    stpm_book *b = arg;
    const char *n = local_name(name);
    int rc = 0;
    b->depth++;
    if (b->rc < 0)
        return;
    if (b->cell_depth) { /* inside a cell: its value, or the runs of an inline string */
        if (b->in_is) {
            if (strcmp(n, "t") == 0)
                b->in_t = true;
            else if (strcmp(n, "rPh") == 0)
                b->in_rph = true;
        } else if (strcmp(n, "v") == 0) {
            b->in_v = true;
        } else if (strcmp(n, "is") == 0 && b->cell_type == T_INLINE) {
            b->in_is = b->depth;
            b->in_t = b->in_rph = false;
        }
        return;
    }
    if (b->row_depth) {
        if (strcmp(n, "c") == 0) {
            if ((rc = cell_start(b, atts)) < 0)
                sheet_stop(b, rc);
            else
                b->cell_depth = b->depth;
        }
        return;
    }
    if (!b->in_data) {
        if (strcmp(n, "sheetData") == 0)
            b->in_data = true;
        return;
    }
    if (strcmp(n, "row") == 0) {
        if ((rc = row_start(b, atts)) < 0)
            sheet_stop(b, rc);
        else
            b->row_depth = b->depth;
    }
}

static void XMLCALL sheet_end(void *arg, const XML_Char *name)
{
    stpm_book *b = arg;
    const char *n = local_name(name);
    int rc;
    /* 0 bytes: the end of an empty-element tag (<c r="A1"/>), which adds no cell */
    bool empty = XML_GetCurrentByteCount(b->parser) == 0;
    int depth = b->depth--;
    if (b->rc < 0)
        return;
    if (b->cell_depth) {
        if (depth == b->cell_depth) {
            b->cell_depth = 0;
            b->in_v = b->in_t = b->in_rph = false;
            b->in_is = 0;
            if (!empty &&
                (rc = put_cell(b, b->cell_col, b->cell_type, b->cell_style, &b->value, b->err)) < 0)
                sheet_stop(b, rc);
        } else if (b->in_is) {
            if (depth == b->in_is)
                b->in_is = 0;
            else if (strcmp(n, "t") == 0)
                b->in_t = false;
            else if (strcmp(n, "rPh") == 0)
                b->in_rph = false;
        } else if (strcmp(n, "v") == 0) {
            b->in_v = false;
        }
        return;
    }
    if (b->row_depth) {
        if (depth != b->row_depth)
            return;
        b->row_depth = 0;
        if (b->n_cells == 0)
            return; /* an empty row, or nothing in it */
        if ((rc = finish_row(b, b->err)) < 0) {
            sheet_stop(b, rc);
            return;
        }
        b->row_ready = true;
        XML_StopParser(b->parser, XML_TRUE);
        return;
    }
    if (b->in_data && strcmp(n, "sheetData") == 0) {
        b->at_end = true; /* what follows (merged cells, ...) does not matter */
        XML_StopParser(b->parser, XML_FALSE);
    }
}

static void XMLCALL sheet_text(void *arg, const XML_Char *s, int len)
{
    stpm_book *b = arg;
    if (b->rc < 0 || !(b->in_is ? b->in_t && !b->in_rph : b->in_v))
        return;
    stpm_strbuf_putn(&b->value, s, (size_t)len);
    if (b->value.len > STPM_BOOK_MAX_ROW_BYTES)
        sheet_stop(b, cell_fail(b, b->err, b->cell_col, "the cell holds more than %d bytes",
                                STPM_BOOK_MAX_ROW_BYTES));
}

static int sheet_open(stpm_book *b, const char *name, stpm_error *err)
{
    int rc = entry_open(b, name, &b->sheet_zf, &b->total, err);
    if (rc <= 0)
        return rc;
    b->parser = XML_ParserCreate(NULL);
    if (!b->parser)
        return fail(b, err, STPM_ERROR, "out of memory");
    XML_SetUserData(b->parser, b);
    XML_SetElementHandler(b->parser, sheet_start, sheet_end);
    XML_SetCharacterDataHandler(b->parser, sheet_text);
    b->xml_error[0] = '\0';
    return 1;
}

static int xlsx_next(stpm_book *b, stpm_book_row **out, stpm_error *err)
{
    b->err = err;
    while (b->rc == 0 && !b->at_end) {
        enum XML_Status st;
        if (b->suspended) {
            b->suspended = false;
            st = XML_ResumeParser(b->parser);
        } else if (b->sheet_eof) {
            b->where_row = b->last_row;
            b->where_col = -1;
            b->rc =
                stpm_error_set(err, STPM_EINPUT, "the sheet ends before its last row is complete");
            break;
        } else {
            void *buf = XML_GetBuffer(b->parser, XML_CHUNK);
            if (!buf) {
                b->rc = fail(b, err, STPM_ERROR, "out of memory");
                break;
            }
            zip_int64_t n = zip_fread(b->sheet_zf, buf, XML_CHUNK);
            if (n < 0) {
                snprintf(b->xml_error, sizeof(b->xml_error), "%s", zip_file_strerror(b->sheet_zf));
                b->where_col = b->cell_depth ? b->cell_col : -1;
                b->rc = xlsx_fail(b, err);
                break;
            }
            b->done += (uint64_t)n;
            b->sheet_eof = n == 0;
            st = XML_ParseBuffer(b->parser, (int)n, n == 0);
        }
        if (b->rc < 0 || b->at_end)
            break;
        if (st == XML_STATUS_SUSPENDED) {
            b->suspended = true;
            if (b->row_ready) {
                b->row_ready = false;
                *out = &b->row;
                return 1;
            }
        } else if (st == XML_STATUS_ERROR) {
            expat_error(b, b->parser);
            b->where_col = b->cell_depth ? b->cell_col : -1;
            b->rc = xlsx_fail(b, err);
        }
    }
    /* once: a sheet that failed or ended gives 0 from then on */
    int rc = b->at_end ? 0 : b->rc;
    b->at_end = true;
    return rc;
}

/* ---- .xls through libfreexl ---------------------------------------------------------- */

static int open_xls(stpm_book *b, const char *path, const char *want, stpm_error *err)
{
    unsigned count = 0;
    int rc = freexl_open(path, &b->xls);
    if (rc != FREEXL_OK)
        return fail(b, err, STPM_EINPUT,
                    "%s: not a readable Excel 97-2003 workbook (libfreexl error %d)", b->file, rc);
    if (freexl_get_info(b->xls, FREEXL_BIFF_SHEET_COUNT, &count) != FREEXL_OK || count == 0)
        return fail(b, err, STPM_EINPUT, "%s: the workbook has no sheet", b->file);
    stpm_strbuf names = STPM_STRBUF_INIT;
    int found = -1;
    for (unsigned i = 0; i < count && i < MAX_SHEETS && found < 0; i++) {
        const char *name = NULL;
        if (freexl_get_worksheet_name(b->xls, (unsigned short)i, &name) != FREEXL_OK || !name)
            continue;
        if (!want || strcmp(name, want) == 0) {
            found = (int)i;
            b->sheet = stpm_strdup(name);
        }
        if (names.len)
            stpm_strbuf_puts(&names, ", ");
        if (names.len < 400)
            stpm_strbuf_puts(&names, name);
    }
    if (found < 0) {
        rc = fail(b, err, STPM_ENOTFOUND, "%s: no sheet \"%s\" in the workbook (its sheets: %s)",
                  b->file, want ? want : "", stpm_strbuf_str(&names));
        stpm_strbuf_free(&names);
        return rc;
    }
    stpm_strbuf_free(&names);
    if (!b->sheet)
        return fail(b, err, STPM_ERROR, "out of memory");
    if (freexl_select_active_worksheet(b->xls, (unsigned short)found) != FREEXL_OK ||
        freexl_worksheet_dimensions(b->xls, &b->xls_rows, &b->xls_cols) != FREEXL_OK)
        return fail(b, err, STPM_EINPUT, "%s: cannot read the sheet \"%s\"", b->file, b->sheet);
    b->total = b->xls_rows;
    return 0;
}

static int xls_next(stpm_book *b, stpm_book_row **out, stpm_error *err)
{
    stpm_strbuf v = STPM_STRBUF_INIT;
    int rc = 0;
    while (b->xls_next < b->xls_rows) {
        unsigned row = b->xls_next++;
        b->done = b->xls_next;
        b->last_row = (int)row + 1;
        stpm_strbuf_reset(&b->text);
        b->n_cells = 0;
        for (unsigned short c = 0; c < b->xls_cols; c++) {
            FreeXL_CellValue cv;
            if (freexl_get_cell_value(b->xls, row, c, &cv) != FREEXL_OK) {
                rc = cell_fail(b, err, c, "cannot read the cell");
                goto cleanup;
            }
            stpm_strbuf_reset(&v);
            cell_type type = T_STRING;
            switch (cv.type) {
            case FREEXL_CELL_INT:
                stpm_strbuf_printf(&v, "%d", cv.value.int_value);
                break;
            case FREEXL_CELL_DOUBLE:
                number_text(&v, cv.value.double_value);
                break;
            case FREEXL_CELL_TEXT:
            case FREEXL_CELL_SST_TEXT:
            case FREEXL_CELL_DATE:
            case FREEXL_CELL_DATETIME:
            case FREEXL_CELL_TIME:
                if (cv.value.text_value)
                    stpm_strbuf_puts(&v, cv.value.text_value);
                break;
            default:
                continue;
            }
            if (v.oom) {
                rc = fail(b, err, STPM_ERROR, "out of memory");
                goto cleanup;
            }
            if ((rc = put_cell(b, c, type, -1, &v, err)) < 0)
                goto cleanup;
        }
        if (b->n_cells == 0)
            continue;
        if ((rc = finish_row(b, err)) < 0)
            goto cleanup;
        *out = &b->row;
        rc = 1;
        goto cleanup;
    }
cleanup:
    stpm_strbuf_free(&v);
    return rc;
}

/* ---- the sheet's rows parsed ahead, in a thread of their own ------------------------ */

/* Inflating and parsing the sheet's XML costs about three times what checking and sending
 * a row costs, so a thread parses the sheet (xlsx_next and the handlers above touch only
 * what it owns) while the caller's thread checks and sends the rows it has already parsed:
 * on two cores, the .xlsx import then takes about as long as its parsing alone. The queue
 * between them is bounded (QUEUE_SLOTS rows, QUEUE_BYTES of text), so memory stays flat. */
#define QUEUE_SLOTS 64
#define QUEUE_BYTES (4 * 1024 * 1024)

typedef struct qitem {
    int rc; /* 1 a row, 0 the end of the sheet, < 0 an error (message, where) */
    int row, where_row, where_col;
    uint64_t done;    /* bytes of the sheet parsed when it was queued */
    stpm_strbuf text; /* the row's fields, each NUL-terminated */
    size_t *lens;
    size_t n_fields, cap_lens;
    char *message;
} qitem;

typedef struct queue {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t can_put, can_get;
    qitem items[QUEUE_SLOTS];
    size_t head, count, bytes; /* the consumer holds items[head] while `holding` */
    bool cancel, holding, finished;
    bool put_waits, get_waits; /* signal only a side that waits: fewer system calls */
    /* the consumer's side: the row handed out, progress and place of the last item */
    char **fields;
    size_t cap_fields;
    stpm_book_row row;
    uint64_t done;
    int where_row, where_col;
} queue;

/* Copy what xlsx_next gave (rc, the row or the error) into a free slot. */
static int qitem_fill(qitem *it, stpm_book *b, int rc, const stpm_book_row *r,
                      const stpm_error *err)
{
    it->rc = rc;
    it->done = b->done;
    it->where_row = b->where_row;
    it->where_col = b->where_col;
    free(it->message);
    it->message = NULL;
    stpm_strbuf_reset(&it->text);
    it->n_fields = 0;
    if (rc < 0) { /* xlsx_next always says why; no message left means no memory */
        it->message = err->message ? stpm_strdup(err->message) : NULL;
        return it->message ? 0 : -1;
    }
    if (rc == 0)
        return 0;
    if (r->n_fields > it->cap_lens) {
        size_t *l = realloc(it->lens, r->n_fields * sizeof(*l));
        if (!l)
            return -1;
        it->lens = l;
        it->cap_lens = r->n_fields;
    }
    it->row = r->row;
    it->n_fields = r->n_fields;
    for (size_t i = 0; i < r->n_fields; i++) {
        stpm_strbuf_putn(&it->text, r->fields[i], r->lens[i]);
        stpm_strbuf_putc(&it->text, '\0');
        it->lens[i] = r->lens[i];
    }
    return it->text.oom ? -1 : 0;
}

static void *sheet_thread(void *arg)
{
    stpm_book *b = arg;
    queue *q = b->queue;
    int rc;
    do {
        stpm_error err = STPM_ERROR_INIT;
        stpm_book_row *r = NULL;
        rc = xlsx_next(b, &r, &err);
        pthread_mutex_lock(&q->mu);
        while (!q->cancel &&
               (q->count == QUEUE_SLOTS || (q->count > 0 && q->bytes > QUEUE_BYTES))) {
            q->put_waits = true;
            if (q->get_waits) /* a few long rows fill the queue: the caller must not wait */
                pthread_cond_signal(&q->can_get);
            pthread_cond_wait(&q->can_put, &q->mu);
        }
        q->put_waits = false;
        size_t slot = (q->head + q->count) % QUEUE_SLOTS;
        bool cancel = q->cancel;
        pthread_mutex_unlock(&q->mu);
        if (!cancel) {
            /* the slot is free until it is counted: fill it without the lock */
            qitem *it = &q->items[slot];
            if (qitem_fill(it, b, rc, r, &err) < 0) {
                free(it->message);
                it->message = NULL;
                stpm_strbuf_reset(&it->text);
                it->rc = rc = STPM_ERROR; /* message NULL: out of memory */
            }
            pthread_mutex_lock(&q->mu);
            q->count++;
            q->bytes += it->text.len;
            /* wake the caller for a batch of rows, not for each one */
            if (q->get_waits && (q->count >= QUEUE_SLOTS / 4 || rc <= 0))
                pthread_cond_signal(&q->can_get);
            pthread_mutex_unlock(&q->mu);
        }
        stpm_error_clear(&err);
        if (cancel)
            break;
    } while (rc > 0);
    return NULL;
}

static int queue_start(stpm_book *b, stpm_error *err)
{
    queue *q = calloc(1, sizeof(*q));
    if (!q)
        return stpm_error_set(err, STPM_ERROR, "out of memory");
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->can_put, NULL);
    pthread_cond_init(&q->can_get, NULL);
    q->where_col = -1;
    b->queue = q;
    if (pthread_create(&q->thread, NULL, sheet_thread, b) != 0) {
        b->queue = NULL;
        pthread_cond_destroy(&q->can_get);
        pthread_cond_destroy(&q->can_put);
        pthread_mutex_destroy(&q->mu);
        free(q);
        /* pthread_create fails for want of resources (EAGAIN): as good as memory */
        return stpm_error_set(err, STPM_ERROR, "out of memory");
    }
    return 0;
}

static void queue_free(stpm_book *b)
{
    queue *q = b->queue;
    if (!q)
        return;
    pthread_mutex_lock(&q->mu);
    q->cancel = true;
    pthread_cond_broadcast(&q->can_put);
    pthread_mutex_unlock(&q->mu);
    pthread_join(q->thread, NULL);
    for (size_t i = 0; i < QUEUE_SLOTS; i++) {
        stpm_strbuf_free(&q->items[i].text);
        free(q->items[i].lens);
        free(q->items[i].message);
    }
    free(q->fields);
    pthread_cond_destroy(&q->can_get);
    pthread_cond_destroy(&q->can_put);
    pthread_mutex_destroy(&q->mu);
    free(q);
    b->queue = NULL;
}

/* The next row of the sheet from the queue (see xlsx_next for what it returns). */
static int queue_next(stpm_book *b, stpm_book_row **out, stpm_error *err)
{
    int rc;
    if (!b->queue && (rc = queue_start(b, err)) < 0)
        return rc;
    queue *q = b->queue;
    pthread_mutex_lock(&q->mu);
    if (q->holding) { /* the row handed out last is no longer needed */
        q->bytes -= q->items[q->head].text.len;
        if (q->items[q->head].text.cap > 64 * 1024) /* a long row: give its room back */
            stpm_strbuf_free(&q->items[q->head].text);
        q->head = (q->head + 1) % QUEUE_SLOTS;
        q->count--;
        q->holding = false;
        if (q->put_waits && (q->count <= QUEUE_SLOTS / 2 || q->bytes <= QUEUE_BYTES / 2))
            pthread_cond_signal(&q->can_put);
    }
    if (q->finished) {
        pthread_mutex_unlock(&q->mu);
        return 0;
    }
    while (q->count == 0) {
        q->get_waits = true;
        pthread_cond_wait(&q->can_get, &q->mu);
    }
    q->get_waits = false;
    qitem *it = &q->items[q->head];
    pthread_mutex_unlock(&q->mu);
    q->done = it->done;
    q->where_row = it->where_row;
    q->where_col = it->where_col;
    if (it->rc <= 0) {
        q->finished = true; /* the thread has ended: nothing comes after this */
        if (it->rc < 0 && it->message)
            stpm_error_set(err, it->rc, "%s", it->message);
        else if (it->rc < 0)
            stpm_error_set(err, STPM_ERROR, "out of memory");
        return it->rc;
    }
    if (it->n_fields > q->cap_fields) {
        char **f = realloc(q->fields, it->n_fields * sizeof(*f));
        if (!f) {
            q->finished = true;
            return stpm_error_set(err, STPM_ERROR, "out of memory");
        }
        q->fields = f;
        q->cap_fields = it->n_fields;
    }
    char *p = it->text.buf;
    for (size_t i = 0; i < it->n_fields; i++) {
        q->fields[i] = p;
        p += it->lens[i] + 1;
    }
    q->holding = true;
    q->row = (stpm_book_row){it->row, it->n_fields, q->fields, it->lens};
    *out = &q->row;
    return 1;
}

/* ---- the interface ------------------------------------------------------------------- */

int stpm_book_open(stpm_book **out, stpm_book_kind kind, const char *path, const char *file,
                   const char *sheet, stpm_error *err)
{
    *out = NULL;
    stpm_book *b = calloc(1, sizeof(*b));
    int rc;
    if (!b || !(b->file = stpm_strdup(file))) {
        rc = stpm_error_set(err, STPM_ERROR, "out of memory");
        goto cleanup;
    }
    b->kind = kind;
    b->where_col = -1;
    rc = kind == STPM_BOOK_XLS ? open_xls(b, path, sheet, err) : open_xlsx(b, path, sheet, err);
    if (rc < 0)
        goto cleanup;
    *out = b;
    b = NULL;
cleanup:
    stpm_book_free(b);
    return rc;
}

const char *stpm_book_sheet(const stpm_book *b)
{
    return b->sheet;
}

int stpm_book_next(stpm_book *b, stpm_book_row **out, stpm_error *err)
{
    *out = NULL;
    return b->kind == STPM_BOOK_XLS ? xls_next(b, out, err) : queue_next(b, out, err);
}

void stpm_book_where(const stpm_book *b, int *row, int *col)
{
    /* the sheet's thread keeps its own place: the caller's is that of the last row taken */
    *row = b->queue ? b->queue->where_row : b->where_row;
    *col = b->queue ? b->queue->where_col : b->where_col;
}

void stpm_book_progress(const stpm_book *b, uint64_t *done, uint64_t *total)
{
    *done = b->queue ? b->queue->done : b->done;
    *total = b->total;
}

void stpm_book_free(stpm_book *b)
{
    if (!b)
        return;
    queue_free(b); /* first: its thread reads the rest */
    if (b->parser)
        XML_ParserFree(b->parser);
    if (b->sheet_zf)
        zip_fclose(b->sheet_zf);
    if (b->zip)
        zip_discard(b->zip);
    if (b->xls)
        freexl_close(b->xls);
    sst_free(&b->sst);
    free(b->date_style);
    stpm_strbuf_free(&b->text);
    stpm_strbuf_free(&b->value);
    free(b->cells);
    free(b->fields);
    free(b->lens);
    free(b->sheet);
    free(b->file);
    free(b);
}

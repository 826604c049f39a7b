/* The survey import: see stpm/survey_import.h and docs/survey.md. */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uuid/uuid.h>

#include "stpm/survey_import.h"
#include "store/db_internal.h"
#include "store/digest.h"
#include "survey/survey_internal.h"
#include "util/strutil.h"

/* Rows are sent to the server in COPY messages of about this many bytes. The server
 * handles a message only once it has all of it, so a message must fit in the socket's
 * buffer (about 208 KiB for a Unix socket) for the client to go on reading the file while
 * the server ingests: 256 KiB messages made the two take turns (COPY 0.70 s of wall for
 * 100,000 rows), 64 KiB ones let them overlap (0.37 s). */
#define COPY_CHUNK (64 * 1024)
/* The server merges the staged rows every this many rows (stpm.survey_import_chunk,
 * migrations/102) while the client reads the next ones into memory (about 300 bytes a row):
 * a workbook's parsing then overlaps the merge instead of preceding it. STPM_SURVEY_MERGE_EVERY
 * in the environment sets another number; 0 merges once, after the last row. */
#define MERGE_EVERY 16384
#define MERGE_EVERY_MAX 65536 /* rows held in memory: about 25 MiB */
/* The progress callback is called every this many rows. */
#define PROGRESS_EVERY 2000

/* The staging table. The client makes the ids a row gets if its candidate or its
 * organisation is new (consecutive, see id_seq). */
static const char stage_sql[] = "CREATE TEMP TABLE stpm_survey_stage (\n"
                                "    rownum integer NOT NULL,\n"
                                "    id uuid NOT NULL,\n"
                                "    org_new_id uuid NOT NULL,\n"
                                "    uscc char(18) NOT NULL,\n"
                                "    org_name text NOT NULL,\n"
                                "    town text,\n"
                                "    title text NOT NULL,\n"
                                "    title_norm text COLLATE \"C\" NOT NULL,\n"
                                "    field text,\n"
                                "    target_plan text,\n"
                                "    leader text,\n"
                                "    planned_investment numeric(18,4),\n"
                                "    requested_funding numeric(18,4),\n"
                                "    rd_spend numeric(18,4),\n"
                                "    revenue numeric(18,4),\n"
                                "    high_tech boolean,\n"
                                "    partner text,\n"
                                "    maturity integer,\n"
                                "    notes text,\n"
                                "    row_digest char(64) NOT NULL\n"
                                ") ON COMMIT DROP";

/* Binary, so that the server does not parse the numbers, ids and escapes of the text
 * format back (the client has them as values already): see "COPY binary format". */
static const char copy_sql[] = "COPY stpm_survey_stage FROM STDIN (FORMAT binary)";

/* The caller owns the staging table and lets the owner of the schema's functions read it. */
static const char grant_sql[] = "GRANT SELECT ON pg_temp.stpm_survey_stage TO stpm_owner";

/* The merge of the rows staged since the last one (migrations/102). */
static const char chunk_sql[] = "SELECT stpm.survey_import_chunk($1::integer, $2)";

/* The set-based merge (migrations/072, 102): organisations, their figures of the year, the
 * reserve pool, the record of the run and its event, from the staged rows. */
static const char apply_sql[] =
    "SELECT import_id, rows, new, updated, unchanged, orgs_new, orgs_updated, figures_changed\n"
    "FROM stpm.survey_import_apply($1::integer, $2, $3, $4, $5::date)";

/* ---- the row digest ---- */

/* The decimal digits of v, written backwards from end (which gets the NUL). */
static char *format_long(char *end, long v)
{
    unsigned long u = v < 0 ? 0UL - (unsigned long)v : (unsigned long)v;
    *end = '\0';
    do {
        *--end = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--end = '-';
    return end;
}

/* An amount as stpm_decimal_format(value, 4) writes it; NULL when not given. */
static const char *amount_text(const stpm_survey_amount *a, char buf[32])
{
    if (!a->set)
        return NULL;
    if (a->value < 0) /* the reader never gives one; keep the general format */
        return stpm_decimal_format(a->value, STPM_DECIMAL_PLACES, buf);
    uint64_t u = (uint64_t)a->value;
    char *p = buf + 31;
    *p = '\0';
    for (int i = 0; i < STPM_DECIMAL_PLACES; i++, u /= 10)
        *--p = (char)('0' + u % 10);
    *--p = '.';
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    return p;
}

/* A row's values as text, as the digest takes them. */
typedef struct {
    char buf[4][32];
    const char *amount[4]; /* planned, requested, R&D, revenue; NULL when not given */
    char year_buf[24], maturity_buf[24];
    const char *year, *maturity, *high_tech;
} row_text;

static void row_text_fill(row_text *t, const stpm_survey_row *row)
{
    /* t's buffers are written here, not read: cppcheck takes them for inputs. */
    // cppcheck-suppress uninitvar
    t->amount[0] = amount_text(&row->planned_investment, t->buf[0]);
    t->amount[1] = amount_text(&row->requested_funding, t->buf[1]);
    t->amount[2] = amount_text(&row->rd_spend, t->buf[2]);
    t->amount[3] = amount_text(&row->revenue, t->buf[3]);
    t->year = format_long(t->year_buf + sizeof(t->year_buf) - 1, row->year);
    t->maturity = row->maturity > 0
                      ? format_long(t->maturity_buf + sizeof(t->maturity_buf) - 1, row->maturity)
                      : NULL;
    t->high_tech = row->high_tech < 0 ? NULL : row->high_tech ? "1" : "0";
}

static void put_text(stpm_strbuf *sb, const char *s)
{
    stpm_strbuf_putc(sb, '\x1f');
    if (s)
        stpm_strbuf_puts(sb, s);
    else
        stpm_strbuf_putc(sb, '\x1e');
}

/* The canonical values of a row, as stpm_survey_row_digest hashes them. */
static void canonical(stpm_strbuf *sb, const stpm_survey_row *row, const row_text *t)
{
    stpm_strbuf_puts(sb, "v1");
    put_text(sb, t->year);
    put_text(sb, row->uscc);
    put_text(sb, row->title);
    put_text(sb, row->field);
    put_text(sb, row->target_plan);
    put_text(sb, row->leader);
    for (int i = 0; i < 4; i++)
        put_text(sb, t->amount[i]);
    put_text(sb, t->high_tech);
    put_text(sb, row->partner);
    put_text(sb, t->maturity);
    put_text(sb, row->notes);
}

/* What the digests of one import share: a buffer and a SHA-256 context, made once. */
typedef struct {
    stpm_strbuf sb;
    EVP_MD *md;
    EVP_MD_CTX *ctx;
} digester;

static bool digester_init(digester *d)
{
    d->sb = (stpm_strbuf)STPM_STRBUF_INIT;
    d->md = EVP_MD_fetch(NULL, "SHA256", NULL);
    d->ctx = EVP_MD_CTX_new();
    return d->md && d->ctx;
}

static void digester_free(digester *d)
{
    stpm_strbuf_free(&d->sb);
    EVP_MD_CTX_free(d->ctx);
    EVP_MD_free(d->md);
}

static bool digest_row(digester *d, const stpm_survey_row *row, const row_text *t, char out[65])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    stpm_strbuf_reset(&d->sb);
    canonical(&d->sb, row, t);
    if (d->sb.oom || !EVP_DigestInit_ex2(d->ctx, d->md, NULL) ||
        !EVP_DigestUpdate(d->ctx, d->sb.buf, d->sb.len) || !EVP_DigestFinal_ex(d->ctx, md, &len) ||
        len != 32)
        return false;
    for (unsigned i = 0; i < 32; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[64] = '\0';
    return true;
}

bool stpm_survey_row_digest(const stpm_survey_row *row, char out[65])
{
    digester d;
    row_text t; /* filled by row_text_fill: its buffers are outputs */
    row_text_fill(&t, row);
    bool ok = digester_init(&d) && digest_row(&d, row, &t, out);
    digester_free(&d);
    return ok;
}

/* ---- ids, made by the client ---- */

/* The ids of new candidates and organisations: UUIDs of version 8 (RFC 9562, custom)
 * whose first 32 bits count up from a random start and whose other 90 bits are random per
 * import. Consecutive, so the primary keys grow at one edge instead of at random pages;
 * and the first 8 hex digits (the short id `reserve list` shows) still differ from row to
 * row. */
typedef struct {
    unsigned char base[16];
    uint32_t start;
    uint32_t next;
} id_seq;

static void id_seq_init(id_seq *q)
{
    uuid_t r;
    uuid_generate_random(r);
    memcpy(q->base, r, sizeof(q->base));
    q->start = (uint32_t)r[0] << 24 | (uint32_t)r[1] << 16 | (uint32_t)r[2] << 8 | r[3];
    q->base[6] = (unsigned char)(0x80 | (q->base[6] & 0x0F)); /* version 8 */
    q->base[8] = (unsigned char)(0x80 | (q->base[8] & 0x3F)); /* the variant */
    q->next = 0;
}

static void id_seq_next(id_seq *q, unsigned char u[16])
{
    uint32_t n = q->start + q->next++;
    memcpy(u, q->base, 16);
    for (int i = 0; i < 4; i++)
        u[i] = (unsigned char)(n >> (24 - 8 * i));
}

/* ---- COPY binary format ---- */

/* What the server would otherwise do per row for the text format: find the tabs, undo the
 * escapes and parse four numerics, two uuids, two integers and a boolean. In binary each
 * value is a 32-bit length and the bytes of its type's binary form (network byte order). */

static const char copy_header[] = "PGCOPY\n\377\r\n"; /* and its NUL: 11 bytes */
#define COPY_FIELDS 20                                /* the columns of stpm_survey_stage */

static void put_u16(stpm_strbuf *sb, unsigned v)
{
    char b[2] = {(char)(v >> 8 & 0xFF), (char)(v & 0xFF)};
    stpm_strbuf_putn(sb, b, 2);
}

static void put_u32(stpm_strbuf *sb, uint32_t v)
{
    char b[4] = {(char)(v >> 24), (char)(v >> 16 & 0xFF), (char)(v >> 8 & 0xFF), (char)(v & 0xFF)};
    stpm_strbuf_putn(sb, b, 4);
}

static void bin_null(stpm_strbuf *sb)
{
    put_u32(sb, UINT32_MAX); /* length -1 */
}

static void bin_text(stpm_strbuf *sb, const char *s)
{
    if (!s) {
        bin_null(sb);
        return;
    }
    size_t n = strlen(s);
    put_u32(sb, (uint32_t)n);
    stpm_strbuf_putn(sb, s, n);
}

static void bin_int4(stpm_strbuf *sb, long v)
{
    put_u32(sb, 4);
    put_u32(sb, (uint32_t)(int32_t)v);
}

static void bin_uuid(stpm_strbuf *sb, const unsigned char u[16])
{
    put_u32(sb, 16);
    stpm_strbuf_putn(sb, (const char *)u, 16);
}

/* An amount as a numeric: base-10000 digits, most significant first, with their weight
 * (the power of 10000 of the first) and a display scale of 4, what numeric(18,4) keeps. */
#if STPM_DECIMAL_PLACES != 4
#error one base-10000 digit of a numeric must hold the decimals of an amount
#endif
static void bin_amount(stpm_strbuf *sb, const stpm_survey_amount *a)
{
    if (!a->set) {
        bin_null(sb);
        return;
    }
    uint64_t u = a->value < 0 ? 0 - (uint64_t)a->value : (uint64_t)a->value;
    unsigned digits[8], n = 0, whole[6], n_whole = 0;
    for (uint64_t w = u / 10000; w; w /= 10000)
        whole[n_whole++] = (unsigned)(w % 10000);
    while (n_whole > 0)
        digits[n++] = whole[--n_whole];
    int weight = (int)n - 1;
    digits[n++] = (unsigned)(u % 10000);
    while (n > 0 && digits[n - 1] == 0) /* trailing zero digits are not stored */
        n--;
    put_u32(sb, 8 + 2 * n);
    put_u16(sb, n);
    put_u16(sb, n ? (unsigned)(weight & 0xFFFF) : 0);
    put_u16(sb, a->value < 0 ? 0x4000 : 0);
    put_u16(sb, STPM_DECIMAL_PLACES);
    for (unsigned i = 0; i < n; i++)
        put_u16(sb, digits[i]);
}

/* What streaming the rows needs besides the rows. */
typedef struct {
    digester dig;
    id_seq entry_ids, org_ids;
} stager;

/* Append one staging tuple for row; false when the digest cannot be computed. */
static bool stage_line(stager *st, stpm_strbuf *sb, const stpm_survey_row *row)
{
    char digest[STPM_SHA256_HEX_LEN];
    unsigned char id[16], org_id[16];
    row_text t; /* filled by row_text_fill: its buffers are outputs */
    row_text_fill(&t, row);
    if (!digest_row(&st->dig, row, &t, digest))
        return false;
    id_seq_next(&st->entry_ids, id);
    id_seq_next(&st->org_ids, org_id);
    put_u16(sb, COPY_FIELDS);
    bin_int4(sb, row->row);
    bin_uuid(sb, id);
    bin_uuid(sb, org_id);
    bin_text(sb, row->uscc);
    bin_text(sb, row->org_name);
    bin_text(sb, row->town);
    bin_text(sb, row->title);
    bin_text(sb, row->title_key);
    bin_text(sb, row->field);
    bin_text(sb, row->target_plan);
    bin_text(sb, row->leader);
    bin_amount(sb, &row->planned_investment);
    bin_amount(sb, &row->requested_funding);
    bin_amount(sb, &row->rd_spend);
    bin_amount(sb, &row->revenue);
    if (row->high_tech < 0) {
        bin_null(sb);
    } else {
        put_u32(sb, 1);
        stpm_strbuf_putc(sb, row->high_tech ? 1 : 0);
    }
    bin_text(sb, row->partner);
    if (row->maturity > 0)
        bin_int4(sb, row->maturity);
    else
        bin_null(sb);
    bin_text(sb, row->notes);
    bin_text(sb, digest);
    return true;
}

/* ---- the file's digest, computed while the reader reads the file ---- */

typedef struct {
    EVP_MD_CTX *ctx;
    bool ok;
} file_hash;

static void file_hash_update(void *arg, const char *buf, size_t n)
{
    file_hash *h = arg;
    if (h->ok && !EVP_DigestUpdate(h->ctx, buf, n))
        h->ok = false;
}

static int file_hash_final(file_hash *h, const char *shown, char out[65], stpm_error *err)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (!h->ok || !EVP_DigestFinal_ex(h->ctx, md, &len) || len != 32)
        return stpm_error_set(err, STPM_ERROR, "cannot compute the digest of %s", shown);
    for (unsigned i = 0; i < 32; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[64] = '\0';
    return 0;
}

/* ---- the transaction ---- */

static int exec_ok(PGconn *c, const char *sql, const char *what, stpm_error *err)
{
    PGresult *r = PQexec(c, sql);
    int rc = 0;
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        rc = stpm_pg_error(err, c, r, what);
    PQclear(r);
    return rc;
}

static size_t count_at(const PGresult *r, int col)
{
    return (size_t)strtoull(PQgetvalue(r, 0, col), NULL, 10);
}

static void rollback(PGconn *c)
{
    if (PQstatus(c) == CONNECTION_OK && PQtransactionStatus(c) != PQTRANS_IDLE)
        PQclear(PQexec(c, "ROLLBACK"));
}

/* End the COPY: normally, or with a reason (the server then fails the statement). */
static int copy_end(PGconn *c, const char *failure, size_t *rows, stpm_error *err)
{
    int rc = 0;
    if (PQputCopyEnd(c, failure) != 1)
        rc = stpm_error_set(err, STPM_EUNAVAIL, "cannot finish sending the survey rows");
    PGresult *r;
    while ((r = PQgetResult(c)) != NULL) {
        if (rc == 0 && !failure && PQresultStatus(r) != PGRES_COMMAND_OK)
            rc = stpm_pg_error(err, c, r, "cannot stage the survey rows");
        else if (rc == 0 && !failure && rows)
            *rows = (size_t)strtoull(PQcmdTuples(r), NULL, 10);
        PQclear(r);
    }
    return rc;
}

static int flush_chunk(PGconn *c, stpm_strbuf *sb, stpm_error *err)
{
    if (sb->oom)
        return stpm_error_set(err, STPM_ERROR, "out of memory");
    if (sb->len && PQputCopyData(c, sb->buf, (int)sb->len) != 1) {
        stpm_error_set(err, STPM_EUNAVAIL, "cannot send the survey rows to the database");
        stpm_error_detail(err, "%.*s", (int)strcspn(PQerrorMessage(c), "\n"), PQerrorMessage(c));
        return STPM_EUNAVAIL;
    }
    stpm_strbuf_reset(sb);
    return 0;
}

/* ---- staging and merging, side by side ---- */

/* A COPY of the staging table: its header, then rows, then its trailer (COPY binary
 * format); each COPY of a run is one of these. */
static int copy_open(PGconn *c, stpm_error *err)
{
    PGresult *cp = PQexec(c, copy_sql);
    int rc = 0;
    if (PQresultStatus(cp) != PGRES_COPY_IN)
        rc = stpm_pg_error(err, c, cp, "cannot start the import");
    PQclear(cp);
    if (rc < 0)
        return rc;
    stpm_strbuf h = STPM_STRBUF_INIT;
    stpm_strbuf_putn(&h, copy_header, sizeof(copy_header)); /* with its NUL */
    put_u32(&h, 0);                                         /* flags */
    put_u32(&h, 0);                                         /* no header extension */
    if ((rc = flush_chunk(c, &h, err)) < 0)
        copy_end(c, "the import failed", NULL, NULL); /* no COPY stays open */
    stpm_strbuf_free(&h);
    return rc;
}

/* Send sb (rows staged while the server merged) in messages of COPY_CHUNK bytes. */
static int flush_all(PGconn *c, stpm_strbuf *sb, stpm_error *err)
{
    if (sb->oom)
        return stpm_error_set(err, STPM_ERROR, "out of memory");
    for (size_t off = 0; off < sb->len; off += COPY_CHUNK) {
        size_t n = sb->len - off < COPY_CHUNK ? sb->len - off : COPY_CHUNK;
        if (PQputCopyData(c, sb->buf + off, (int)n) != 1) {
            stpm_error_set(err, STPM_EUNAVAIL, "cannot send the survey rows to the database");
            stpm_error_detail(err, "%.*s", (int)strcspn(PQerrorMessage(c), "\n"),
                              PQerrorMessage(c));
            return STPM_EUNAVAIL;
        }
    }
    stpm_strbuf_reset(sb);
    return 0;
}

/* The end of a COPY: its trailer (a field count of -1), then the end itself. */
static int copy_close(PGconn *c, stpm_strbuf *sb, size_t *rows, stpm_error *err)
{
    int rc;
    put_u16(sb, 0xFFFF);
    if ((rc = flush_all(c, sb, err)) < 0) {
        copy_end(c, "the import failed", NULL, NULL);
        return rc;
    }
    return copy_end(c, NULL, rows, err);
}

/* The answer to the merge of a chunk (stpm.survey_import_chunk), sent before. */
static int merge_wait(PGconn *c, stpm_error *err)
{
    PGresult *q;
    int rc = 0;
    while ((q = PQgetResult(c)) != NULL) {
        if (rc == 0 && PQresultStatus(q) != PGRES_TUPLES_OK)
            rc = stpm_pg_error_call(err, c, q, "cannot import the survey");
        PQclear(q);
    }
    return rc;
}

/* A run of staging and merging: while the server merges the rows of one chunk, the client
 * reads the next chunk's into memory (a chunk's rows at most), then sends them at once. */
typedef struct {
    PGconn *c;
    const char *params[2]; /* the year and the file's name, as stpm.survey_import_apply gets them */
    bool copying;          /* a COPY is open: rows go to the server as they come */
    bool merging;          /* a chunk's merge was sent and its answer is due */
    size_t in_chunk;       /* rows staged since the last merge began */
    size_t staged;         /* rows the COPYs took in */
} run_state;

/* The rows per merge: MERGE_EVERY, or STPM_SURVEY_MERGE_EVERY (0 to MERGE_EVERY_MAX). */
static int merge_every(size_t *out, stpm_error *err)
{
    const char *env = getenv("STPM_SURVEY_MERGE_EVERY");
    *out = MERGE_EVERY;
    if (!env)
        return 0;
    char *end = NULL;
    unsigned long n = strtoul(env, &end, 10);
    if (!*env || *end || strspn(env, "0123456789") != strlen(env) || n > MERGE_EVERY_MAX) {
        int rc = stpm_error_set(err, STPM_EUSAGE,
                                "STPM_SURVEY_MERGE_EVERY must be a number of rows from 0 to %d",
                                MERGE_EVERY_MAX);
        stpm_error_hint(err,
                        "Unset it for the default (%d rows); 0 merges once, after the last "
                        "row.",
                        MERGE_EVERY);
        return rc;
    }
    *out = (size_t)n;
    return 0;
}

/* The chunk is complete: end its COPY and have the server merge it, without waiting. If a
 * merge is under way, the chunk was held: wait for that merge, then send the chunk. */
static int chunk_done(run_state *rs, stpm_strbuf *sb, stpm_error *err)
{
    int rc;
    size_t n = 0;
    if (rs->merging) {
        rs->merging = false;
        if ((rc = merge_wait(rs->c, err)) < 0 || (rc = copy_open(rs->c, err)) < 0)
            return rc;
    }
    rs->copying = false; /* copy_close ends the COPY, on failure too */
    if ((rc = copy_close(rs->c, sb, &n, err)) < 0)
        return rc;
    rs->staged += n;
    if (PQsendQueryParams(rs->c, chunk_sql, 2, NULL, rs->params, NULL, NULL, 0) != 1) {
        stpm_error_set(err, STPM_EUNAVAIL, "cannot send the survey rows to the database");
        stpm_error_detail(err, "%.*s", (int)strcspn(PQerrorMessage(rs->c), "\n"),
                          PQerrorMessage(rs->c));
        return STPM_EUNAVAIL;
    }
    rs->merging = true;
    rs->in_chunk = 0;
    return 0;
}

/* Leave the connection with no COPY open and no answer due (the caller rolls back). */
static void run_abandon(run_state *rs, const char *why)
{
    if (rs->copying)
        copy_end(rs->c, why, NULL, NULL);
    if (rs->merging) {
        stpm_error ignored = STPM_ERROR_INIT;
        merge_wait(rs->c, &ignored);
        stpm_error_clear(&ignored);
    }
    rs->copying = rs->merging = false;
}

/* Read every row of r into the staging table through the COPY open on c (copy_open), having
 * the server merge every `every` rows (0: never) while the next ones are read; the rows of the last
 * chunk stay for stpm.survey_import_apply. On a bad file, no COPY is left open and the reader's
 * error (every diagnostic) is returned. */
static int stream_rows(PGconn *c, stpm_survey_reader *r, const stpm_survey_import_options *o,
                       size_t every, const char *year, const char *file_name, size_t *staged,
                       stpm_error *err)
{
    stpm_strbuf sb = STPM_STRBUF_INIT;
    stager st;
    bool st_ok = digester_init(&st.dig);
    id_seq_init(&st.entry_ids);
    id_seq_init(&st.org_ids);
    run_state rs = {c, {year, file_name}, true, false, 0, 0};
    const stpm_survey_row *row = NULL;
    int rc = 0, next;
    size_t n = 0;
    stpm_error rerr = STPM_ERROR_INIT;
    if (!st_ok) {
        rc = stpm_error_set(err, STPM_ERROR, "cannot compute row digests");
        goto cleanup;
    }
    while ((next = stpm_survey_reader_next(r, &row, &rerr)) > 0) {
        if (o->progress && ++n % PROGRESS_EVERY == 0) {
            uint64_t done, total;
            stpm_survey_reader_progress(r, &done, &total);
            o->progress(o->progress_arg, "reading", done, total, stpm_survey_reader_rows(r));
        }
        /* a file with errors is not imported: its rows need not reach the server */
        if (stpm_survey_reader_error_count(r) > 0)
            continue;
        if (!stage_line(&st, &sb, row)) {
            rc = stpm_error_set(err, STPM_ERROR, "cannot compute a row digest");
            goto cleanup;
        }
        if (rs.copying && sb.len >= COPY_CHUNK && (rc = flush_chunk(c, &sb, err)) < 0)
            goto cleanup;
        if (every && ++rs.in_chunk == every && (rc = chunk_done(&rs, &sb, err)) < 0)
            goto cleanup;
    }
    /* Whether the file stopped early or ran to its end, finish() collects every error. */
    stpm_error_clear(&rerr);
    if (stpm_survey_reader_finish(r, &rerr) < 0 || next < 0) {
        if (rerr.code == 0) /* defensive: a read failure finish() did not report */
            stpm_error_set(&rerr, STPM_EINPUT, "cannot read the survey file");
        stpm_error_move(err, &rerr);
        rc = err->code;
        run_abandon(&rs, "the survey file has errors");
        goto cleanup;
    }
    /* the last chunk: after the merge under way, if any, in a COPY of its own */
    if (rs.merging) {
        rs.merging = false;
        if ((rc = merge_wait(c, err)) < 0 || (rc = copy_open(c, err)) < 0)
            goto cleanup;
    }
    rs.copying = false; /* copy_close ends the COPY, on failure too */
    n = 0;
    if ((rc = copy_close(c, &sb, &n, err)) < 0)
        goto cleanup;
    *staged = rs.staged + n;
cleanup:
    if (rc < 0) /* no COPY left open, no answer left due (the file's errors did it above) */
        run_abandon(&rs, "the import failed");
    digester_free(&st.dig);
    stpm_error_clear(&rerr);
    stpm_strbuf_free(&sb);
    return rc;
}

static void progress(const stpm_survey_import_options *o, stpm_survey_reader *r, const char *phase)
{
    if (!o->progress)
        return;
    uint64_t done, total;
    stpm_survey_reader_progress(r, &done, &total);
    o->progress(o->progress_arg, phase, done, total, stpm_survey_reader_rows(r));
}

/* The set-based merge, once every row is staged: one call of stpm.survey_import_apply. */
static int merge(PGconn *c, const stpm_survey_import_options *o, const char *file_name,
                 stpm_survey_import_result *res, stpm_error *err)
{
    char year[16], today[11];
    snprintf(year, sizeof(year), "%d", o->read.year);
    const char *p[] = {year, file_name, res->file_digest, stpm_encoding_name(res->encoding),
                       o->today ? stpm_date_format(o->today, today) : NULL};
    PGresult *q = PQexecParams(c, apply_sql, 5, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(q) != PGRES_TUPLES_OK || PQntuples(q) != 1) {
        int rc = stpm_pg_error_call(err, c, q, "cannot import the survey");
        PQclear(q);
        return rc;
    }
    snprintf(res->import_id, sizeof(res->import_id), "%s", PQgetvalue(q, 0, 0));
    res->rows = count_at(q, 1);
    res->new_rows = count_at(q, 2);
    res->updated = count_at(q, 3);
    res->unchanged = count_at(q, 4);
    res->orgs_new = count_at(q, 5);
    res->orgs_updated = count_at(q, 6);
    res->figures_changed = count_at(q, 7);
    PQclear(q);
    return 0;
}

int stpm_survey_import(stpm_db *db, const char *path, const stpm_survey_import_options *opts,
                       stpm_survey_import_result *result, stpm_error *err)
{
    stpm_survey_import_result res;
    memset(&res, 0, sizeof(res));
    stpm_survey_reader *r = NULL;
    file_hash fh = {NULL, false};
    PGconn *c = stpm_db_pg(db);
    int rc = 0;
    if (!opts || opts->version != STPM_SURVEY_IMPORT_OPTIONS_VERSION)
        return stpm_error_set(err, STPM_EUSAGE, "unsupported survey import options version");
    const char *shown = opts->read.display_name ? opts->read.display_name : path;
    if (strcmp(path, "-") == 0) {
        rc = stpm_error_set(err, STPM_EUSAGE, "cannot import a survey from standard input");
        stpm_error_hint(err, "Save it to a file and import the file; --dry-run reads "
                             "standard input.");
        goto cleanup;
    }
    if (opts->read.year < 1990 || opts->read.year > 2100) {
        rc = stpm_error_set(err, STPM_EUSAGE, "invalid survey year %d", opts->read.year);
        stpm_error_hint(err, "Give the year of the survey, e.g. --year 2020.");
        goto cleanup;
    }
    size_t every;
    if ((rc = merge_every(&every, err)) < 0)
        goto cleanup;
    res.year = opts->read.year;
    res.dry_run = opts->dry_run;
    fh.ctx = EVP_MD_CTX_new();
    fh.ok = fh.ctx && EVP_DigestInit_ex(fh.ctx, EVP_sha256(), NULL);
    if (!fh.ok) {
        rc = stpm_error_set(err, STPM_ERROR, "out of memory");
        goto cleanup;
    }
    if ((rc = survey_reader_open_raw(&r, path, &opts->read, file_hash_update, &fh, err)) < 0)
        goto cleanup;

    if ((rc = exec_ok(c, "BEGIN", "cannot start the import", err)) < 0)
        goto cleanup;
    char lock[96];
    /* the advisory lock that queues one year's imports, (0x73757276 "surv", year), waited
     * for a bounded time and naming its holder (migrations/083) */
    snprintf(lock, sizeof(lock), "SELECT stpm.survey_import_lock(%d)", opts->read.year);
    PGresult *l = PQexec(c, lock);
    if (PQresultStatus(l) != PGRES_TUPLES_OK)
        rc = stpm_pg_error(err, c, l, "cannot start the import");
    PQclear(l);
    if (rc < 0)
        goto cleanup;
    /* sorts and hashes of the merge in memory, not in temporary files */
    if ((rc = exec_ok(c, "SET LOCAL work_mem = '64MB'", "cannot start the import", err)) < 0)
        goto cleanup;
    if ((rc = exec_ok(c, stage_sql, "cannot start the import", err)) < 0 ||
        (rc = exec_ok(c, grant_sql, "cannot start the import", err)) < 0)
        goto cleanup;
    if ((rc = copy_open(c, err)) < 0)
        goto cleanup;
    size_t staged = 0;
    char year[16];
    snprintf(year, sizeof(year), "%d", opts->read.year);
    if ((rc = stream_rows(c, r, opts, every, year, shown, &staged, err)) < 0)
        goto cleanup;
    /* the whole file has been read (and hashed) by now */
    if ((rc = survey_reader_drain(r, err)) < 0 ||
        (rc = file_hash_final(&fh, shown, res.file_digest, err)) < 0)
        goto cleanup;
    res.encoding = stpm_survey_reader_encoding(r);
    progress(opts, r, "merging");
    if ((rc = merge(c, opts, shown, &res, err)) < 0)
        goto cleanup;
    if (opts->dry_run) {
        res.import_id[0] = '\0';
        rc = exec_ok(c, "ROLLBACK", "cannot end the dry run", err);
    } else {
        rc = exec_ok(c, "COMMIT", "cannot commit the import", err);
    }
cleanup:
    if (rc < 0)
        rollback(c);
    stpm_survey_reader_free(r);
    EVP_MD_CTX_free(fh.ctx);
    if (rc == 0 && result)
        *result = res;
    return rc;
}

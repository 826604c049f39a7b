/* Unit tests of the streaming CSV reader and the UTF-8 / GB18030 decoder (core/survey). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stpm/error.h"
#include "survey/csv.h"
#include "survey/decode.h"

typedef struct reader {
    stpm_decoder *dec;
    stpm_csv *csv;
    stpm_error err;
    char path[64];
} reader;

/* Write bytes to a temporary file and open a CSV reader on it. */
static reader *open_bytes(const char *bytes, size_t n, stpm_encoding enc)
{
    reader *r = calloc(1, sizeof(*r));
    assert_non_null(r);
    snprintf(r->path, sizeof(r->path), "/tmp/stpm-test-csv.XXXXXX");
    int fd = mkstemp(r->path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, bytes, n), (ssize_t)n);
    assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
    r->dec = stpm_decoder_new(fd, true, enc);
    r->csv = stpm_csv_new(r->dec, "t.csv");
    assert_non_null(r->csv);
    return r;
}

static reader *open_str(const char *s)
{
    return open_bytes(s, strlen(s), STPM_ENCODING_AUTO);
}

static void close_reader(reader *r)
{
    stpm_csv_free(r->csv);
    stpm_decoder_free(r->dec);
    stpm_error_clear(&r->err);
    unlink(r->path);
    free(r);
}

static stpm_csv_record *next(reader *r)
{
    stpm_csv_record *rec = NULL;
    int rc = stpm_csv_next(r->csv, &rec, &r->err);
    if (rc != 1)
        fail_msg("expected a record, got %d (%s)", rc, r->err.message ? r->err.message : "");
    return rec;
}

static void expect_end(reader *r)
{
    stpm_csv_record *rec = NULL;
    assert_int_equal(stpm_csv_next(r->csv, &rec, &r->err), 0);
}

static void expect_fields(const stpm_csv_record *rec, size_t n, ...)
{
    va_list ap;
    assert_int_equal(rec->n_fields, n);
    va_start(ap, n);
    for (size_t i = 0; i < n; i++) {
        const char *want = va_arg(ap, const char *);
        assert_string_equal(rec->fields[i], want);
        assert_int_equal(rec->lens[i], strlen(want));
    }
    va_end(ap);
}

/* GB18030 bytes of a UTF-8 string, converted with iconv. */
static size_t to_gb18030(const char *utf8, char *out, size_t cap)
{
    iconv_t cd = iconv_open("GB18030", "UTF-8");
    assert_true(cd != (iconv_t)-1);
    char *in = (char *)utf8, *o = out;
    size_t inleft = strlen(utf8), outleft = cap;
    assert_true(iconv(cd, &in, &inleft, &o, &outleft) != (size_t)-1);
    iconv_close(cd);
    return cap - outleft;
}

static void bom_crlf(void **state)
{
    (void)state;
    reader *r = open_str("\xEF\xBB\xBF企业名称,项目名称\r\n力星钢球,钢球\r\n");
    stpm_csv_record *rec = next(r);
    expect_fields(rec, 2, "企业名称", "项目名称");
    assert_int_equal(rec->row, 1);
    rec = next(r);
    expect_fields(rec, 2, "力星钢球", "钢球");
    assert_int_equal(rec->row, 2);
    assert_int_equal(rec->line, 2);
    expect_end(r);
    assert_int_equal(stpm_decoder_encoding(r->dec), STPM_ENCODING_UTF8);
    close_reader(r);
}

static void lf_cr_and_no_final_newline(void **state)
{
    (void)state;
    reader *r = open_str("a,b\nc,d\re,f\r\ng,h");
    expect_fields(next(r), 2, "a", "b");
    expect_fields(next(r), 2, "c", "d");
    stpm_csv_record *rec = next(r);
    expect_fields(rec, 2, "e", "f");
    assert_int_equal(rec->line, 3);
    rec = next(r);
    expect_fields(rec, 2, "g", "h");
    assert_int_equal(rec->row, 4);
    assert_int_equal(rec->line, 4);
    expect_end(r);
    close_reader(r);
}

static void quoting(void **state)
{
    (void)state;
    reader *r = open_str("name,notes\r\n"
                         "\"南通力威机械有限公司\",\"拟联合东南大学, 南京大学\"\r\n"
                         "\"say \"\"hi\"\"\",\"line one\r\nline two\nline three\rline four\"\r\n"
                         "\"\",\"\"\"\"\r\n"
                         "last,row\r\n");
    next(r);
    stpm_csv_record *rec = next(r);
    expect_fields(rec, 2, "南通力威机械有限公司", "拟联合东南大学, 南京大学");
    rec = next(r);
    expect_fields(rec, 2, "say \"hi\"", "line one\nline two\nline three\nline four");
    assert_int_equal(rec->row, 3);
    assert_int_equal(rec->line, 3);
    assert_int_equal(rec->end_line, 6);
    assert_int_equal(rec->stray_field, -1);
    rec = next(r);
    expect_fields(rec, 2, "", "\"");
    /* the spreadsheet row counts records, not lines */
    assert_int_equal(rec->row, 4);
    assert_int_equal(rec->line, 7);
    rec = next(r);
    expect_fields(rec, 2, "last", "row");
    assert_int_equal(rec->row, 5);
    assert_int_equal(rec->line, 8);
    expect_end(r);
    close_reader(r);
}

static void empty_fields_and_blank_lines(void **state)
{
    (void)state;
    reader *r = open_str("a,b,,\r\n\r\n,,\r\n");
    expect_fields(next(r), 4, "a", "b", "", "");
    stpm_csv_record *rec = next(r);
    expect_fields(rec, 1, "");
    assert_int_equal(rec->row, 2);
    rec = next(r);
    expect_fields(rec, 3, "", "", "");
    assert_int_equal(rec->row, 3);
    expect_end(r);
    close_reader(r);

    r = open_str("");
    expect_end(r);
    close_reader(r);
}

static void unterminated_quote(void **state)
{
    (void)state;
    reader *r = open_str("a,b\r\nx,\"never closed\r\nmore\r\n");
    next(r);
    stpm_csv_record *rec = NULL;
    assert_int_equal(stpm_csv_next(r->csv, &rec, &r->err), STPM_EINPUT);
    assert_int_equal(r->err.n_diags, 1);
    assert_string_equal(r->err.diags[0].file, "t.csv");
    assert_int_equal(r->err.diags[0].line, 2); /* row */
    assert_int_equal(r->err.diags[0].col, 2);  /* field */
    assert_non_null(strstr(r->err.diags[0].message, "unterminated quoted field"));
    assert_non_null(strstr(r->err.diags[0].message, "line 2"));
    close_reader(r);
}

static void stray_quotes(void **state)
{
    (void)state;
    reader *r = open_str("a,b,c\r\n1,ab\"c,3\r\n\"x\"y,2,3\r\n");
    next(r);
    stpm_csv_record *rec = next(r);
    expect_fields(rec, 3, "1", "ab\"c", "3");
    assert_int_equal(rec->stray_field, 1);
    assert_int_equal(rec->stray_line, 2);
    assert_int_equal(rec->stray_col, 5);
    rec = next(r);
    expect_fields(rec, 3, "x\"y", "2", "3");
    assert_int_equal(rec->stray_field, 0);
    expect_end(r);
    close_reader(r);
}

static void gb18030_auto_and_forced(void **state)
{
    (void)state;
    char gb[256];
    size_t n = to_gb18030("企业名称,所属板块\r\n江苏力星通用钢球股份有限公司,城南街道\r\n", gb,
                          sizeof(gb));
    reader *r = open_bytes(gb, n, STPM_ENCODING_AUTO);
    expect_fields(next(r), 2, "企业名称", "所属板块");
    expect_fields(next(r), 2, "江苏力星通用钢球股份有限公司", "城南街道");
    expect_end(r);
    assert_int_equal(stpm_decoder_encoding(r->dec), STPM_ENCODING_GB18030);
    close_reader(r);

    r = open_bytes(gb, n, STPM_ENCODING_GB18030);
    expect_fields(next(r), 2, "企业名称", "所属板块");
    close_reader(r);

    /* GB18030 bytes read as UTF-8: an error naming the row and the line */
    n = to_gb18030("name,town\r\nok,ok\r\n力星,城南\r\n", gb, sizeof(gb));
    r = open_bytes(gb, n, STPM_ENCODING_UTF8);
    next(r);
    next(r);
    stpm_csv_record *rec = NULL;
    assert_int_equal(stpm_csv_next(r->csv, &rec, &r->err), STPM_EINPUT);
    assert_int_equal(r->err.diags[0].line, 3);
    assert_non_null(strstr(r->err.diags[0].message, "invalid UTF-8"));
    assert_non_null(strstr(r->err.diags[0].message, "line 3"));
    close_reader(r);

    /* a UTF-8 file forced to GB18030 with its BOM is refused */
    r = open_str("\xEF\xBB\xBF"
                 "a\r\n");
    stpm_decoder_free(r->dec);
    int fd = open(r->path, O_RDONLY);
    r->dec = stpm_decoder_new(fd, true, STPM_ENCODING_GB18030);
    stpm_csv_free(r->csv);
    r->csv = stpm_csv_new(r->dec, "t.csv");
    assert_int_equal(stpm_csv_next(r->csv, &rec, &r->err), STPM_EINPUT);
    assert_non_null(strstr(r->err.diags[0].message, "byte order mark"));
    close_reader(r);

    /* bytes that are not GB18030 either */
    r = open_bytes("a,b\r\n\x81\x20,c\r\n", 10, STPM_ENCODING_GB18030);
    next(r);
    assert_int_equal(stpm_csv_next(r->csv, &rec, &r->err), STPM_EINPUT);
    assert_non_null(strstr(r->err.diags[0].message, "invalid GB18030"));
    assert_int_equal(r->err.diags[0].line, 2);
    close_reader(r);
}

static void utf8_cut_at_sniff_boundary(void **state)
{
    (void)state;
    /* a 3-byte character straddles the end of the 64 KiB sample: still UTF-8 */
    size_t n = STPM_DECODE_SNIFF + 64;
    char *buf = malloc(n);
    assert_non_null(buf);
    memset(buf, 'x', n);
    size_t at = STPM_DECODE_SNIFF - 1;
    memcpy(buf + at, "中", 3);
    buf[n - 2] = '\r';
    buf[n - 1] = '\n';
    reader *r = open_bytes(buf, n, STPM_ENCODING_AUTO);
    stpm_csv_record *rec = next(r);
    assert_int_equal(stpm_decoder_encoding(r->dec), STPM_ENCODING_UTF8);
    assert_int_equal(rec->lens[0], n - 2);
    assert_memory_equal(rec->fields[0] + at, "中", 3);
    expect_end(r);
    close_reader(r);

    /* valid UTF-8 in the sample, GB18030 after it: an error at the right line */
    memset(buf, 'x', n);
    for (size_t i = 99; i < STPM_DECODE_SNIFF; i += 100)
        buf[i] = '\n';
    buf[n - 10] = (char)0xC1; /* never valid in UTF-8 */
    r = open_bytes(buf, n, STPM_ENCODING_AUTO);
    stpm_csv_record *last = NULL;
    int rc, rows = 0;
    while ((rc = stpm_csv_next(r->csv, &last, &r->err)) == 1)
        rows++;
    assert_int_equal(rc, STPM_EINPUT);
    assert_int_equal(rows, (int)(STPM_DECODE_SNIFF / 100));
    char want[32];
    snprintf(want, sizeof(want), "line %d", rows + 1);
    assert_non_null(strstr(r->err.diags[0].message, want));
    close_reader(r);
    free(buf);
}

static void record_too_long(void **state)
{
    (void)state;
    size_t n = STPM_CSV_MAX_RECORD + 100;
    char *buf = malloc(n);
    assert_non_null(buf);
    memset(buf, 'y', n);
    buf[0] = '"';
    reader *r = open_bytes(buf, n, STPM_ENCODING_UTF8);
    stpm_csv_record *rec = NULL;
    assert_int_equal(stpm_csv_next(r->csv, &rec, &r->err), STPM_EINPUT);
    assert_non_null(strstr(r->err.diags[0].message, "record longer than"));
    close_reader(r);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bom_crlf),
        cmocka_unit_test(lf_cr_and_no_final_newline),
        cmocka_unit_test(quoting),
        cmocka_unit_test(empty_fields_and_blank_lines),
        cmocka_unit_test(unterminated_quote),
        cmocka_unit_test(stray_quotes),
        cmocka_unit_test(gb18030_auto_and_forced),
        cmocka_unit_test(utf8_cut_at_sniff_boundary),
        cmocka_unit_test(record_too_long),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* The workbook reader (core/survey/book.c) on workbooks written by libxlsxwriter, the
 * writer of --format xlsx: in its default mode (shared strings) and in constant_memory
 * mode (inline strings, rows streamed), a merged title above the header, numbers, dates,
 * times of day, booleans, a formula's cached value, codes kept as text, blank cells and a
 * row left out. The workbooks of other writers are those of tests/data/xlsx (test_book.c)
 * and tests/data/xls (tests/cli/xlsx.sh). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xlsxwriter.h>

#include "stpm/error.h"
#include "survey/book.h"

/* Write the test workbook to a new temporary file; its path, to unlink and free. */
static char *write_book(bool constant_memory)
{
    const char *dir = getenv("TMPDIR");
    char *path = malloc(4096);
    assert_non_null(path);
    snprintf(path, 4096, "%s/stpm-book-XXXXXX", dir && *dir ? dir : "/tmp");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    lxw_workbook_options o = {.constant_memory = constant_memory ? LXW_TRUE : LXW_FALSE};
    lxw_workbook *wb = workbook_new_opt(path, &o);
    assert_non_null(wb);
    lxw_format *date = workbook_add_format(wb);
    format_set_num_format(date, "yyyy-mm-dd");
    lxw_format *datetime = workbook_add_format(wb);
    format_set_num_format(datetime, "yyyy/m/d h:mm");
    lxw_format *amount = workbook_add_format(wb);
    format_set_num_format(amount, "#,##0.00");
    lxw_format *text = workbook_add_format(wb);
    format_set_num_format(text, "@");
    lxw_worksheet *ws = workbook_add_worksheet(wb, "调研表");
    assert_non_null(ws);
    /* constant_memory: the rows in order, each written whole before the next */
    assert_int_equal(worksheet_merge_range(ws, 0, 0, 0, 5, "2020年科技项目调研表", NULL),
                     LXW_NO_ERROR);
    static const char *const header[] = {"企业名称",           "统一社会信用代码",
                                         "预计总投入（万元）", "是否高新技术企业",
                                         "填报日期",           "备注"};
    for (lxw_col_t c = 0; c < 6; c++)
        worksheet_write_string(ws, 2, c, header[c], NULL);
    worksheet_write_string(ws, 3, 0, "南通力威机械有限公司", NULL);
    worksheet_write_string(ws, 3, 1, "91320682MA1KK5MQ2F", text);
    worksheet_write_number(ws, 3, 2, 0.1 + 0.2, amount);
    worksheet_write_boolean(ws, 3, 3, 1, NULL);
    lxw_datetime d = {2020, 10, 31, 0, 0, 0};
    worksheet_write_datetime(ws, 3, 4, &d, date);
    worksheet_write_formula_num(ws, 3, 5, "=1+2", NULL, 3);
    /* row 5 is left out; row 6: blanks between the cells, a code of digits as text */
    worksheet_write_string(ws, 5, 0, "0012", text);
    worksheet_write_blank(ws, 5, 1, text);
    worksheet_write_number(ws, 5, 2, 3200, amount);
    worksheet_write_boolean(ws, 5, 3, 0, NULL);
    lxw_datetime t = {2020, 10, 31, 12, 30, 0};
    worksheet_write_datetime(ws, 5, 4, &t, datetime);
    worksheet_write_string(ws, 5, 5, "“引号”与 <尖括号> & 和号", NULL);
    assert_int_equal(workbook_close(wb), LXW_NO_ERROR);
    return path;
}

static stpm_book_row *next_row(stpm_book *b, int row)
{
    stpm_error err = STPM_ERROR_INIT;
    stpm_book_row *r = NULL;
    int rc = stpm_book_next(b, &r, &err);
    if (rc != 1)
        fail_msg("expected row %d, got %d (%s)", row, rc, err.message ? err.message : "");
    assert_int_equal(r->row, row);
    stpm_error_clear(&err);
    return r;
}

static const char *cell(const stpm_book_row *r, size_t col)
{
    return col < r->n_fields ? r->fields[col] : "";
}

static void read_back(bool constant_memory)
{
    char *path = write_book(constant_memory);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    unsigned char head[512];
    size_t n = fread(head, 1, sizeof(head), f);
    fclose(f);
    assert_int_equal(stpm_book_sniff(head, n), STPM_BOOK_XLSX);
    stpm_error err = STPM_ERROR_INIT;
    stpm_book *b = NULL;
    if (stpm_book_open(&b, STPM_BOOK_XLSX, path, "written.xlsx", NULL, &err) < 0)
        fail_msg("%s", err.message);
    assert_string_equal(stpm_book_sheet(b), "调研表");
    stpm_book_row *r = next_row(b, 1);
    assert_string_equal(cell(r, 0), "2020年科技项目调研表");
    for (size_t c = 1; c < 6; c++)
        assert_string_equal(cell(r, c), ""); /* the merged cells are empty */
    r = next_row(b, 3);                      /* row 2 is not in the file */
    assert_string_equal(cell(r, 2), "预计总投入（万元）");
    r = next_row(b, 4);
    assert_string_equal(cell(r, 0), "南通力威机械有限公司");
    assert_string_equal(cell(r, 1), "91320682MA1KK5MQ2F");
    assert_string_equal(cell(r, 2), "0.3"); /* 0.30000000000000004 as stored */
    assert_string_equal(cell(r, 3), "TRUE");
    assert_string_equal(cell(r, 4), "2020-10-31");
    assert_string_equal(cell(r, 5), "3"); /* the formula's cached value */
    r = next_row(b, 6);
    assert_string_equal(cell(r, 0), "0012");
    assert_string_equal(cell(r, 1), "");
    assert_string_equal(cell(r, 2), "3200");
    assert_string_equal(cell(r, 3), "FALSE");
    assert_string_equal(cell(r, 4), "2020-10-31 12:30:00");
    assert_string_equal(cell(r, 5), "“引号”与 <尖括号> & 和号");
    assert_int_equal(stpm_book_next(b, &r, &err), 0);
    stpm_book_free(b);
    stpm_error_clear(&err);
    unlink(path);
    free(path);
}

static void shared_strings(void **state)
{
    (void)state;
    read_back(false);
}

static void constant_memory_inline_strings(void **state)
{
    (void)state;
    read_back(true);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(shared_strings),
        cmocka_unit_test(constant_memory_inline_strings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

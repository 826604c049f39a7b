/* Unit tests of the workbook reader (core/survey/book.c) on the workbooks of
 * tests/data/xlsx: every way of storing a cell comes out as the text a spreadsheet shows. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stpm/error.h"
#include "survey/book.h"

static char *data_path(const char *name)
{
    const char *root = getenv("STPM_SOURCE_ROOT");
    char *p = malloc(4096);
    assert_non_null(p);
    snprintf(p, 4096, "%s/tests/data/xlsx/%s", root ? root : ".", name);
    return p;
}

static stpm_book *open_book(const char *name, const char *sheet)
{
    char *p = data_path(name);
    stpm_error err = STPM_ERROR_INIT;
    stpm_book *b = NULL;
    int rc = stpm_book_open(&b, STPM_BOOK_XLSX, p, name, sheet, &err);
    if (rc < 0)
        fail_msg("%s: %s", name, err.message);
    stpm_error_clear(&err);
    free(p);
    return b;
}

/* The next row, which must be row `row`. */
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

static void dates_and_booleans(void **state)
{
    (void)state;
    stpm_book *b = open_book("dates.xlsx", NULL);
    assert_string_equal(stpm_book_sheet(b), "Sheet1");
    stpm_book_row *r = next_row(b, 1);
    assert_string_equal(cell(r, 7), "预计总投入（万元）");
    r = next_row(b, 2);
    assert_string_equal(cell(r, 11), "TRUE");
    assert_string_equal(cell(r, 14), "2020-10-31");
    assert_string_equal(cell(r, 7), "3200");
    assert_string_equal(cell(r, 10), "38600");
    r = next_row(b, 3);
    assert_string_equal(cell(r, 11), "FALSE");
    assert_string_equal(cell(r, 14), "1900-02-29");
    assert_string_equal(cell(r, 7), "1234.56"); /* 1234.5599999999999 as stored */
    r = next_row(b, 4);
    assert_string_equal(cell(r, 14), "1900-03-01 12:00:00");
    assert_string_equal(cell(r, 7), "1500"); /* 1.5E+3 */
    r = next_row(b, 5);
    assert_string_equal(cell(r, 14), "1900-02-28");
    stpm_error err = STPM_ERROR_INIT;
    assert_int_equal(stpm_book_next(b, &r, &err), 0);
    stpm_book_free(b);
}

static void inline_rich_and_sparse(void **state)
{
    (void)state;
    stpm_book *b = open_book("inline.xlsx", NULL);
    next_row(b, 1);
    stpm_book_row *r = next_row(b, 2);
    /* the runs joined, the phonetic run left out */
    assert_string_equal(cell(r, 3), "全海深地质绞车系统工程化应用");
    r = next_row(b, 5); /* rows 3 and 4 are not in the file */
    assert_string_equal(cell(r, 14), "见附件");
    assert_string_equal(cell(r, 4), "高端装备");
    stpm_book_free(b);
    /* cells and rows without r="": counted from the left and from the top */
    b = open_book("inline.xlsx", "Sheet2");
    r = next_row(b, 1);
    assert_string_equal(cell(r, 0), "企业名称");
    r = next_row(b, 2);
    assert_string_equal(cell(r, 1), "91320682MA1EFBXDXL");
    stpm_book_free(b);
}

static void shared_and_titles(void **state)
{
    (void)state;
    stpm_book *b = open_book("title.xlsx", NULL);
    assert_string_equal(stpm_book_sheet(b), "调研表");
    stpm_book_row *r = next_row(b, 1);
    assert_int_equal(r->n_fields, 1); /* the merged title: one cell */
    assert_string_equal(cell(r, 0), "2020年科技项目调研表");
    next_row(b, 2);
    r = next_row(b, 4);
    assert_string_equal(cell(r, 14), "备注");
    stpm_book_free(b);
}

static void missing_sheet(void **state)
{
    (void)state;
    char *p = data_path("shared.xlsx");
    stpm_error err = STPM_ERROR_INIT;
    stpm_book *b = NULL;
    assert_int_equal(stpm_book_open(&b, STPM_BOOK_XLSX, p, "shared.xlsx", "2022", &err),
                     STPM_ENOTFOUND);
    assert_non_null(strstr(err.message, "its sheets: Sheet1, 2021"));
    assert_null(b);
    stpm_error_clear(&err);
    free(p);
}

static void cell_names(void **state)
{
    (void)state;
    char c[16];
    stpm_book_cell_name(0, 1, c);
    assert_string_equal(c, "A1");
    stpm_book_cell_name(25, 7, c);
    assert_string_equal(c, "Z7");
    stpm_book_cell_name(26, 7, c);
    assert_string_equal(c, "AA7");
    stpm_book_cell_name(16383, 1048576, c);
    assert_string_equal(c, "XFD1048576");
    char *ref = stpm_book_cell_ref("调研表", 7, 7);
    assert_string_equal(ref, "调研表!H7");
    free(ref);
    ref = stpm_book_cell_ref("My sheet's", 0, 2);
    assert_string_equal(ref, "'My sheet''s'!A2");
    free(ref);
    bool feb29;
    assert_int_equal(stpm_book_serial_days(25569, false, &feb29), 0); /* 1970-01-01 */
    assert_false(feb29);
    stpm_book_serial_days(60, false, &feb29);
    assert_true(feb29);
    assert_int_equal(stpm_book_serial_days(24107, true, &feb29), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(dates_and_booleans), cmocka_unit_test(inline_rich_and_sparse),
        cmocka_unit_test(shared_and_titles),  cmocka_unit_test(missing_sheet),
        cmocka_unit_test(cell_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

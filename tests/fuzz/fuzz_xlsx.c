/* libFuzzer harness for the workbook reader under the survey import (survey/book.c): the
 * bytes as a file, read as .xlsx (libzip, expat in the sheet's thread) or, when they start
 * like an OLE2 file, as .xls (libfreexl), on the first sheet or the sheet "Sheet2" (first
 * byte odd). Never a crash, a hang or a leak; rows come out in order, each cell
 * NUL-terminated UTF-8 of the length given, and a reader that stops says why. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "survey/book.h"
#include "util/text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* fuzz_memfile.c */
int fuzz_memfile(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *sheet = data[0] & 1 ? "Sheet2" : NULL;
    int fd = fuzz_memfile(data + 1, size - 1);
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    stpm_book_kind kind = stpm_book_sniff(data + 1, size - 1);
    stpm_error err = STPM_ERROR_INIT;
    stpm_book *b = NULL;
    int rc = stpm_book_open(&b, kind == STPM_BOOK_XLS ? STPM_BOOK_XLS : STPM_BOOK_XLSX, path,
                            "fuzz.xlsx", sheet, &err);
    if (rc < 0) {
        if (b || !err.message)
            abort(); /* a failed open says why and hands out nothing */
        goto cleanup;
    }
    if (!stpm_book_sheet(b) || (sheet && strcmp(stpm_book_sheet(b), sheet) != 0))
        abort();
    stpm_book_row *row = NULL;
    int last = 0;
    while ((rc = stpm_book_next(b, &row, &err)) == 1) {
        if (row->row <= last || row->n_fields == 0 || row->n_fields > STPM_BOOK_MAX_COLS)
            abort();
        last = row->row;
        for (size_t i = 0; i < row->n_fields; i++) {
            bool incomplete = false;
            if (row->fields[i][row->lens[i]] != '\0' ||
                stpm_utf8_valid_prefix(row->fields[i], row->lens[i], &incomplete) != row->lens[i])
                abort();
        }
    }
    if (rc < 0 && !err.message)
        abort();
cleanup:
    stpm_book_free(b);
    stpm_error_clear(&err);
    close(fd);
    return 0;
}

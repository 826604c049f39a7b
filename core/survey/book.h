/* Internal: the rows of one sheet of a spreadsheet workbook, read as text.
 *
 * .xlsx (Office Open XML) is read with libzip and expat: the sheet's XML is parsed
 * straight from its zip entry, one row at a time, so memory stays flat whatever the
 * number of rows (the small parts are read with libxml2's xmlTextReader); the shared
 * strings are loaded once, in memory up to STPM_BOOK_SST_MEMORY
 * bytes and in an unlinked temporary file beyond. .xls (Excel 97-2003, BIFF8) is read with
 * libfreexl (which holds the whole sheet; such files have at most 65,536 rows).
 *
 * Every cell comes out as text, as the spreadsheet shows it in a plain number format:
 * numbers without floating-point noise (0.1+0.2 is "0.3"), booleans "TRUE"/"FALSE", dates
 * (numbers in a date format, 1900 or 1904 date system, Excel's 1900-02-29 included) as
 * YYYY-MM-DD (YYYY-MM-DD HH:MM:SS with a time of day), an error value as written
 * ("#DIV/0!"). Missing cells are empty; rows that are not in the file are skipped (the row
 * numbers say where each row is). */
#ifndef STPM_SURVEY_BOOK_H
#define STPM_SURVEY_BOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stpm/error.h"

#define STPM_BOOK_MAX_COLS 16384                /* XFD, Excel's last column */
#define STPM_BOOK_MAX_ROW_BYTES (1024 * 1024)   /* the text of one row */
#define STPM_BOOK_SST_MEMORY (16 * 1024 * 1024) /* shared strings kept in memory */
#define STPM_BOOK_MAX_SHEET_NAME 128

typedef enum { STPM_BOOK_NONE, STPM_BOOK_XLSX, STPM_BOOK_XLS } stpm_book_kind;

/* What the first bytes of a file say: a zip archive (PK\3\4, an .xlsx when it holds
 * xl/workbook.xml) or an OLE2 compound file (an .xls). */
stpm_book_kind stpm_book_sniff(const unsigned char *head, size_t n);

typedef struct stpm_book_row {
    int row;         /* 1-based, as the spreadsheet shows it */
    size_t n_fields; /* fields[i] is column i (A = 0); at least 1 */
    char **fields;   /* NUL-terminated UTF-8 ("" for a missing cell), valid until the next */
    size_t *lens;
} stpm_book_row;

typedef struct stpm_book stpm_book;

/* Open the workbook at path (file is its name in messages) on the sheet called sheet, or
 * the first sheet when sheet is NULL. STPM_EINPUT when the file is not a workbook of that
 * kind or has no such sheet (the message names the sheets there are), STPM_ERROR when it
 * cannot be read or memory runs out. */
int stpm_book_open(stpm_book **out, stpm_book_kind kind, const char *path, const char *file,
                   const char *sheet, stpm_error *err);
void stpm_book_free(stpm_book *b);

/* The sheet being read, as named in the workbook. */
const char *stpm_book_sheet(const stpm_book *b);

/* The next row into *out: 1; 0 at the end; a negative STPM_E* code when the sheet cannot be
 * read any further, with err's message saying why and stpm_book_where telling the cell. */
int stpm_book_next(stpm_book *b, stpm_book_row **out, stpm_error *err);

/* Where reading stopped: the row and 0-based column (-1 when not known). */
void stpm_book_where(const stpm_book *b, int *row, int *col);

/* Bytes of the sheet read so far and its size (uncompressed). */
void stpm_book_progress(const stpm_book *b, uint64_t *done, uint64_t *total);

/* The cell reference of a 0-based column and a row: "H7". out holds at least 16 bytes. */
void stpm_book_cell_name(int col, int row, char out[16]);
/* SHEET!CELL as Excel writes it: the sheet's name quoted ('My sheet'!H7) when it holds
 * anything but letters, digits, '_' and non-ASCII characters. NULL on OOM; free() it. */
char *stpm_book_cell_ref(const char *sheet, int col, int row);

/* Days since 1970-01-01 of a serial day number of the 1900 (or 1904) date system, and
 * whether it is Excel's 1900-02-29 (serial 60, a day that did not exist). */
long stpm_book_serial_days(long serial, bool date1904, bool *feb29);

#endif

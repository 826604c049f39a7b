/* Internal: a streaming RFC 4180 CSV reader over a decoder (survey/decode.h).
 *
 * Records are separated by CRLF, LF or a lone CR; a quoted field may hold commas, doubled
 * quotes and line breaks (kept as "\n"). A record's memory is reused for the next one, so
 * memory is bounded by the longest record (at most STPM_CSV_MAX_RECORD bytes). Each
 * record carries its row as a spreadsheet shows it (the first record is row 1) and the
 * physical line it starts on. */
#ifndef STPM_SURVEY_CSV_H
#define STPM_SURVEY_CSV_H

#include <stddef.h>

#include "stpm/error.h"
#include "survey/decode.h"

#define STPM_CSV_MAX_RECORD (1024 * 1024)
#define STPM_CSV_MAX_FIELDS 4096

typedef struct stpm_csv_record {
    size_t n_fields;
    char **fields; /* NUL-terminated UTF-8, valid until the next call */
    size_t *lens;
    int row;      /* 1-based record number = spreadsheet row */
    int line;     /* physical line where the record starts (1-based) */
    int end_line; /* physical line where it ends */
    /* A stray quote (in an unquoted field, or after a closing quote) does not stop the
     * reader: the quote is kept as text and the first one is noted here. */
    int stray_field; /* 0-based field index, or -1 */
    int stray_line;  /* physical line and 1-based character column of that quote */
    int stray_col;
} stpm_csv_record;

typedef struct stpm_csv stpm_csv;

/* A reader on dec (not owned); file is the name used in diagnostics. NULL on OOM. */
stpm_csv *stpm_csv_new(stpm_decoder *dec, const char *file);
void stpm_csv_free(stpm_csv *c);

/* Read the next record into *out: 1; 0 at the end of the file; a negative STPM_E* code
 * when reading cannot go on (bad bytes, an unterminated quote at the end of the file, a
 * record that is too long), with err set and one located diagnostic FILE:ROW:COL added
 * (COL is the 1-based field number; the message names the physical line). */
int stpm_csv_next(stpm_csv *c, stpm_csv_record **out, stpm_error *err);

/* Bytes of the file read so far. */
uint64_t stpm_csv_bytes_read(const stpm_csv *c);

#endif

/*
 * stpm — a read-only result table handed from libstpm to its callers: named columns,
 * rows of text cells (NULL for a null value), and a kind per column so that a front end
 * can align numbers and type JSON values. Listings (`project list`, `project history`,
 * `workflow list`) return one.
 */
#ifndef STPM_ROWS_H
#define STPM_ROWS_H

#include "stpm/common.h"

typedef struct stpm_rows stpm_rows;

typedef enum {
    STPM_COL_TEXT,
    STPM_COL_NUMBER, /* integers and decimals, written without quotes in JSON */
    STPM_COL_BOOL,   /* "true" / "false" */
    STPM_COL_JSON,   /* a JSON document (json or jsonb), written as it is in JSON */
} stpm_col_kind;

/* Number of columns and of rows. */
STPM_API size_t stpm_rows_ncols(const stpm_rows *r);
STPM_API size_t stpm_rows_count(const stpm_rows *r);
/* The name of column col (< ncols). */
STPM_API const char *stpm_rows_name(const stpm_rows *r, size_t col);
/* The kind of column col. */
STPM_API stpm_col_kind stpm_rows_kind(const stpm_rows *r, size_t col);
/* The cell at (row, col) as text, or NULL when the value is null. */
STPM_API const char *stpm_rows_value(const stpm_rows *r, size_t row, size_t col);
/* Release the table. Accepts NULL. */
STPM_API void stpm_rows_free(stpm_rows *r);

#endif

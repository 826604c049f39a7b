/*
 * stpm — the error object.
 *
 * Every fallible libstpm function returns 0 on success or a negative STPM_E* code, and
 * fills a caller-owned stpm_error with what went wrong: a short lower-case message, an
 * optional detail and hint (as PostgreSQL words its own messages), the SQLSTATE when the
 * server raised the error, and a list of located diagnostics ("FILE:LINE:COL: message")
 * when input was bad. The CLI maps the code to the exit status of DESIGN §7 with
 * stpm_error_exit_code().
 *
 *     stpm_error err = STPM_ERROR_INIT;
 *     if (stpm_something(..., &err) < 0)
 *         report(&err);
 *     stpm_error_clear(&err);
 */
#ifndef STPM_ERROR_H
#define STPM_ERROR_H

#include "stpm/common.h"
#include "stpm/i18n.h" /* messages come in the user's language */

/* Codes a caller acts on; each maps to one exit status (the negated value). */
enum {
    STPM_OK = 0,
    STPM_ERROR = -1,     /* anything else (exit 1) */
    STPM_EUSAGE = -2,    /* the call itself was wrong (exit 2) */
    STPM_EREFUSED = -3,  /* a rule said no, or the history was tampered with (exit 3) */
    STPM_ECONFLICT = -4, /* someone changed it first; try again (exit 4) */
    STPM_EINPUT = -5,    /* bad input data (exit 5) */
    STPM_ENOTFOUND = -6, /* no such thing (exit 6) */
    STPM_EPERM = -7,     /* permission denied (exit 7) */
    STPM_EUNAVAIL = -8,  /* database unavailable (exit 8) */
};

/* One located problem in some input: a file, a row or line, a column. */
typedef struct stpm_diag {
    char *file;    /* file name as given, or NULL */
    int line;      /* 1-based line or row; 0 when unknown */
    int col;       /* 1-based column; 0 when unknown */
    char *column;  /* a column or field name, or NULL */
    char *message; /* lower case, no full stop */
    char *cell;    /* a workbook's cell as SHEET!CELL ("Sheet1!H7"), or NULL: then the place
                      is shown as FILE:SHEET!CELL instead of FILE:LINE */
} stpm_diag;

typedef struct stpm_error {
    int code;         /* 0 or a negative STPM_E* code */
    char *message;    /* primary message, lower case, what failed first */
    char *detail;     /* optional: more facts */
    char *hint;       /* optional: what to do, as a sentence */
    char sqlstate[6]; /* SQLSTATE when PostgreSQL raised the error, else "" */
    stpm_diag *diags; /* located problems, in the order found */
    size_t n_diags;
    size_t cap_diags;
} stpm_error;

#define STPM_ERROR_INIT                                                                            \
    {                                                                                              \
        0, NULL, NULL, NULL, {0}, NULL, 0, 0                                                       \
    }

/* Release everything the error holds and reset it to STPM_ERROR_INIT. Accepts NULL. */
STPM_API void stpm_error_clear(stpm_error *err);

/* Set code and primary message (printf style); returns code, so `return stpm_error_set(...)`.
 * A NULL err is allowed and ignored. Any earlier message, detail and hint are replaced. */
STPM_API int stpm_error_set(stpm_error *err, int code, const char *fmt, ...) STPM_PRINTF(3, 4);

/* Add or replace the detail / hint. */
STPM_API void stpm_error_detail(stpm_error *err, const char *fmt, ...) STPM_PRINTF(2, 3);
STPM_API void stpm_error_hint(stpm_error *err, const char *fmt, ...) STPM_PRINTF(2, 3);

/* Append a located diagnostic. file and column may be NULL; line and col may be 0. */
STPM_API void stpm_error_add_diag(stpm_error *err, const char *file, int line, int col,
                                  const char *column, const char *fmt, ...) STPM_PRINTF(6, 7);

/* Append a diagnostic located in a workbook's cell (SHEET!CELL, e.g. "Sheet1!H7"); line is
 * the row as the spreadsheet shows it, column the column's header (or NULL). */
STPM_API void stpm_error_add_cell_diag(stpm_error *err, const char *file, const char *cell,
                                       int line, const char *column, const char *fmt, ...)
    STPM_PRINTF(6, 7);

/* The exit status of DESIGN §7 for a code: 0 for 0, 1..8 for STPM_ERROR..STPM_EUNAVAIL. */
STPM_API int stpm_error_exit_code(int code);

/* The name of a code ("refused", "conflict", ...), for JSON output and logs. */
STPM_API const char *stpm_error_code_name(int code);

/* Move src into dst (dst cleared first); src is left cleared. */
STPM_API void stpm_error_move(stpm_error *dst, stpm_error *src);

#endif

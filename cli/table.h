/*
 * Tabular output in the three formats of DESIGN §7: aligned text tables that respect the
 * display width of Chinese text, one JSON document (an array of objects), or RFC 4180 CSV.
 */
#ifndef STPM_CLI_TABLE_H
#define STPM_CLI_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "cli.h"

typedef struct cli_table cli_table;

/* Column kinds decide JSON typing and alignment. */
typedef enum { CLI_COL_TEXT, CLI_COL_NUMBER, CLI_COL_BOOL, CLI_COL_JSON } cli_col_kind;

/* A table with the given column names (also the JSON keys and CSV header). NULL on OOM. */
cli_table *cli_table_new(size_t ncols, const char *const *names);
void cli_table_free(cli_table *t);
/* Change a column's kind (default text). */
void cli_table_set_kind(cli_table *t, size_t col, cli_col_kind kind);
/* Append a row of ncols cells (copied); a NULL cell is a null value. 0 or -1 on OOM. */
int cli_table_add_row(cli_table *t, const char *const *cells);
size_t cli_table_rows(const cli_table *t);
/* Print in the format; table format prints "(N rows)" after the rows when footer is set.
 * xlsx adds the table as a sheet of the invocation's workbook (cli/xlsx.h), out unused. */
void cli_table_print(const cli_table *t, cli_format fmt, FILE *out, bool footer);

/* A native chart in the xlsx output: bars of the named value columns, one group per row
 * (labelled by the category column; the "total" row left out), or, when the category
 * column is absent, one bar per value column of the first row. */
typedef struct cli_chart {
    const char *title;
    const char *category;      /* a column name */
    const char *const *values; /* column names, NULL-terminated */
} cli_chart;
void cli_table_set_chart(cli_table *t, const cli_chart *chart);

/* The headers' translation context (gettext's msgctxt) where a column name means something
 * else than in other tables ("by" of the survey's counts); NULL, the default, for none.
 * context must outlive t. */
void cli_table_set_context(cli_table *t, const char *context);
/* Column col's header in the user's language (the table format's and the workbook's). */
const char *cli_table_header(const cli_table *t, size_t col);

/* What the xlsx writer reads. */
size_t cli_table_ncols(const cli_table *t);
const char *cli_table_name(const cli_table *t, size_t col);
cli_col_kind cli_table_kind(const cli_table *t, size_t col);
const char *cli_table_cell(const cli_table *t, size_t row, size_t col); /* NULL = null */
const cli_chart *cli_table_chart(const cli_table *t);

/* Display width of a UTF-8 string in terminal columns (CJK and full-width count 2). */
size_t cli_display_width(const char *s);
/*
 * s as shown on a terminal, in a new string (NULL on OOM): a control character of the data
 * (C0, DEL, C1), a line or paragraph separator and a bidirectional override are written as
 * an escape (\n, \r, \t, \x1b, \u202e), a byte that is not UTF-8 as \xHH. With
 * keep_newlines, \n and \t stay as they are (for messages of several lines).
 */
char *cli_escape(const char *s, bool keep_newlines);
/* fputs of cli_escape(s, false). */
void cli_put_escaped(FILE *out, const char *s);

/* Write s as a JSON string literal (with quotes). */
void cli_json_string(FILE *out, const char *s);
/* Write s as one CSV field, quoted when needed. */
void cli_csv_field(FILE *out, const char *s);

#endif

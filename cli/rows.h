/* Printing libstpm result tables (stpm_rows) in the invocation's format. */
#ifndef STPM_CLI_ROWS_H
#define STPM_CLI_ROWS_H

#include "cli.h"
#include "stpm/rows.h"
#include "table.h"

/* Print r as a table (with a "(N rows)" footer when footer), JSON array or CSV. 0 or 1. */
int cli_print_rows(const cli_ctx *ctx, const stpm_rows *r, bool footer);

/* cli_print_rows, and in the xlsx output a native chart of the table (table.h). */
int cli_print_rows_chart(const cli_ctx *ctx, const stpm_rows *r, bool footer,
                         const cli_chart *chart);

/* Print the first row of r vertically ("name: value" lines) in table format, else as
 * cli_print_rows does (JSON: the one object, not an array). */
int cli_print_record(const cli_ctx *ctx, const stpm_rows *r);

#endif

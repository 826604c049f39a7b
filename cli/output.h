/* Where a command's output goes: --output FILE, --bom for CSV, and the workbook of
 * --format xlsx (one sheet per table printed, written with libxlsxwriter). */
#ifndef STPM_CLI_OUTPUT_H
#define STPM_CLI_OUTPUT_H

#include <stdbool.h>

#include "cli.h"
#include "table.h"

/* Once every option is known (cli_parse calls it): check the format against the output
 * (xlsx needs --output FILE or a standard output that is not a terminal: else a usage
 * error, 2), send stdout to --output for the other formats, and remember the command line
 * (its filters head each sheet). 0 or an exit status. */
int cli_output_begin(const cli_ctx *ctx);
/* The command's words and options (main, before the command runs). */
void cli_output_args(int argc, char **argv);
/* A command run within another (stpm demo's steps): forget where the last one's output
 * went, so that the next one's options decide again (cli_output_end after it, then reset
 * once more); argv: the next command's words, as for cli_output_args. */
void cli_output_reset(int argc, char **argv);

/* After the command: write the workbook (to --output, or to standard output); nothing when
 * the command failed (rc != 0). Returns rc, or 1 when the workbook cannot be written. */
int cli_output_end(const cli_ctx *ctx, int rc);

/* --headers zh was given: CSV headers in Chinese. */
bool cli_output_headers_zh(void);

/* --bom was given and no CSV has been written yet: true once. */
bool cli_output_bom_due(void);

/* Add t as a sheet of the workbook (--format xlsx). */
void cli_xlsx_add_table(const cli_table *t);
/* A line under the command and its filters on the sheets added after (what the command
 * would print after its table: the day it was made for, a warning); copied. */
void cli_xlsx_note(const char *text);

#endif

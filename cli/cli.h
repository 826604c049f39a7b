/* The stpm command: shared state of one invocation and the pieces every command uses. */
#ifndef STPM_CLI_H
#define STPM_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "stpm/date.h"
#include "stpm/error.h"
#include "stpm/i18n.h"

typedef enum { CLI_FORMAT_TABLE, CLI_FORMAT_JSON, CLI_FORMAT_CSV, CLI_FORMAT_XLSX } cli_format;

/* What the global options said; filled by main before a command runs. */
typedef struct cli_ctx {
    const char *db;   /* --db or STPM_DB, else NULL */
    const char *home; /* --home or STPM_HOME, else NULL (the default applies) */
    const char *user; /* --user: the role to connect as, else NULL (the connection's own) */
    cli_format format;
    bool today_set; /* --today or STPM_TODAY given */
    stpm_date today;
    bool color;         /* stdout is a terminal and NO_COLOR is unset */
    void *db_handle;    /* the open connection, owned by cli/connect.c; NULL until needed */
    const char *output; /* --output FILE: what the command prints goes there */
    bool bom;           /* --bom: CSV starts with a UTF-8 byte-order mark (for Excel) */
    bool headers_zh;    /* --headers zh: CSV headers in Chinese (the JSON keys stay English) */
} cli_ctx;

/* A command's entry point: argv[0] is the command name. Returns the exit status. */
typedef int (*cli_command_fn)(cli_ctx *ctx, int argc, char **argv);

typedef struct cli_command {
    const char *name;
    cli_command_fn fn;
    const char *summary;
} cli_command;

/* Print err in PostgreSQL's style to stderr ("stpm: error: ...", DETAIL, HINT and one line
 * per located diagnostic) and return its exit status. */
int cli_report(const stpm_error *err);
/* One located diagnostic (a warning, say) as FILE:LINE:COL: message on stderr. */
void cli_print_diag(const stpm_diag *d);

/* cli_report(err), then clear err (stpm_error_clear) for reuse; returns the exit status. */
int cli_report_clear(stpm_error *err);

/* Print a usage error ("stpm: usage: ...") and return 2; fmt is translated (a keyword of
 * po/xgettext-args). */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The effective "today": --today / STPM_TODAY, else the real date. */
stpm_date cli_today(const cli_ctx *ctx);

/* The option `name` of opts as a date: *given false and 0 returned when absent; a bad date
 * is a usage error (returns 2). Declared in opts.h's terms: opts is a cli_opt array. */
struct cli_opt;
int cli_date_opt(struct cli_opt *opts, const char *name, stpm_date *out, bool *given);
/* --as-of DATE of opts (the figures as they stood at the end of that day), else today. */
int cli_as_of(const cli_ctx *ctx, struct cli_opt *opts, stpm_date *out);

/* Parse a --headers value (en or zh) into *zh; 0 on success, -1 otherwise. */
int cli_parse_headers(const char *s, bool *zh);

/* Parse a --format value; 0 on success, -1 otherwise. */
int cli_parse_format(const char *s, cli_format *out);

#endif

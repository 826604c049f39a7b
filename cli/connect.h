/* The CLI's one connection per invocation, opened when a command first needs it. */
#ifndef STPM_CLI_CONNECT_H
#define STPM_CLI_CONNECT_H

#include "cli.h"
#include "stpm/db.h"

/* Open (once) the connection the global options resolve to. On failure reports the
 * error and returns its exit status; else 0 with *out set (owned by ctx). */
int cli_connect(cli_ctx *ctx, stpm_db **out);

/* Close the connection if open. */
void cli_disconnect(cli_ctx *ctx);

#endif

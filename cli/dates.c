/* Date options shared by the commands: --from/--to and --as-of (see cli.h). */
#include "cli.h"
#include "opts.h"

int cli_date_opt(struct cli_opt *opts, const char *name, stpm_date *out, bool *given)
{
    const char *s = cli_opt_get(opts, name)->value;
    *given = s != NULL;
    *out = 0;
    if (!s)
        return 0;
    if (stpm_date_parse(s, out) < 0)
        return cli_usage_error("invalid date \"%s\" for --%s: expected YYYY-MM-DD", s, name);
    return 0;
}

int cli_as_of(const cli_ctx *ctx, struct cli_opt *opts, stpm_date *out)
{
    bool given = false;
    int rc = cli_date_opt(opts, "as-of", out, &given);
    if (rc == 0 && !given)
        *out = cli_today(ctx);
    return rc;
}

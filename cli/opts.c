/* Table-driven option parsing: see opts.h. */
#include "opts.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Options every command accepts; they set the invocation context. */
static int apply_global(cli_ctx *ctx, const char *name, const char *value, int *handled)
{
    *handled = 1;
    if (strcmp(name, "db") == 0) {
        ctx->db = value;
    } else if (strcmp(name, "home") == 0) {
        ctx->home = value;
    } else if (strcmp(name, "format") == 0) {
        if (cli_parse_format(value, &ctx->format) < 0) {
            cli_usage_error("unknown format \"%s\": expected table, json or csv", value);
            return -1;
        }
    } else if (strcmp(name, "today") == 0) {
        if (stpm_date_parse(value, &ctx->today) < 0) {
            cli_usage_error("invalid --today \"%s\": expected a date YYYY-MM-DD", value);
            return -1;
        }
        ctx->today_set = true;
    } else {
        *handled = 0;
    }
    return 0;
}

static const char *const global_names[] = {"db", "home", "format", "today", NULL};

static int is_global(const char *name)
{
    for (int i = 0; global_names[i]; i++)
        if (strcmp(global_names[i], name) == 0)
            return 1;
    return 0;
}

static cli_opt *find_long(cli_opt *opts, const char *name, size_t len)
{
    for (cli_opt *o = opts; o->kind != CLI_OPT_END; o++)
        if (strlen(o->name) == len && strncmp(o->name, name, len) == 0)
            return o;
    return NULL;
}

static cli_opt *find_short(cli_opt *opts, char c)
{
    for (cli_opt *o = opts; o->kind != CLI_OPT_END; o++)
        if (o->short_name && o->short_name == c)
            return o;
    return NULL;
}

static int store(cli_opt *o, const char *value)
{
    if (o->kind == CLI_OPT_FLAG) {
        o->flag = true;
    } else if (o->kind == CLI_OPT_STRING) {
        o->value = value;
    } else {
        const char **v = realloc(o->values, (o->n_values + 1) * sizeof(*v));
        if (!v)
            return -1;
        o->values = v;
        o->values[o->n_values++] = value;
    }
    return 0;
}

/* The command words at the start of a usage line ("stpm plan list" of "stpm plan list
 * [--year Y]"): lower-case words, up to the first operand or option. */
static const char *usage_or(const char *usage, const char *fallback)
{
    return usage && strncmp(usage, "stpm ", 5) == 0 ? usage : fallback;
}

static int command_len(const char *usage, const char *fallback)
{
    const char *s = usage_or(usage, fallback), *end = s;
    if (s != usage)
        return (int)strlen(s);
    for (const char *p = s; *p;) {
        const char *w = p;
        while (*p >= 'a' && *p <= 'z')
            p++;
        if (p == w || (*p != ' ' && *p != '\0'))
            break;
        end = p;
        while (*p == ' ')
            p++;
    }
    return (int)(end - s);
}

int cli_parse(cli_ctx *ctx, const char *usage, cli_opt *opts, int argc, char **argv, cli_args *out)
{
    memset(out, 0, sizeof(*out));
    out->operands = calloc((size_t)argc + 1, sizeof(char *));
    if (!out->operands)
        return cli_usage_error("out of memory");
    bool only_operands = false;
    for (int i = 1; i < argc; i++) {
        char *a = argv[i];
        if (only_operands || a[0] != '-' || a[1] == '\0') {
            out->operands[out->n_operands++] = a;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            only_operands = true;
            continue;
        }
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            out->help = true;
            continue;
        }
        cli_opt *o = NULL;
        const char *value = NULL;
        char namebuf[64];
        const char *name;
        if (a[1] == '-') {
            const char *eq = strchr(a + 2, '=');
            size_t len = eq ? (size_t)(eq - (a + 2)) : strlen(a + 2);
            if (len >= sizeof(namebuf))
                len = sizeof(namebuf) - 1;
            memcpy(namebuf, a + 2, len);
            namebuf[len] = '\0';
            name = namebuf;
            o = find_long(opts, a + 2, len);
            if (eq)
                value = eq + 1;
            if (!o && is_global(name)) {
                if (!value) {
                    if (i + 1 >= argc)
                        return cli_usage_error("option --%s needs a value", name);
                    value = argv[++i];
                }
                int handled;
                if (apply_global(ctx, name, value, &handled) < 0)
                    return 2;
                continue;
            }
            if (!o)
                return cli_usage_error("unknown option --%s\nTry \"%.*s --help\".", name,
                                       command_len(usage, argv[0]), usage_or(usage, argv[0]));
        } else {
            if (a[2] != '\0')
                return cli_usage_error("unknown option %s\nTry \"%.*s --help\".", a,
                                       command_len(usage, argv[0]), usage_or(usage, argv[0]));
            o = find_short(opts, a[1]);
            if (!o)
                return cli_usage_error("unknown option %s\nTry \"%.*s --help\".", a,
                                       command_len(usage, argv[0]), usage_or(usage, argv[0]));
            name = o->name;
        }
        if (o->kind == CLI_OPT_FLAG) {
            if (value)
                return cli_usage_error("option --%s takes no value", o->name);
        } else if (!value) {
            if (i + 1 >= argc)
                return cli_usage_error("option --%s needs a value %s", o->name,
                                       o->arg ? o->arg : "");
            value = argv[++i];
        }
        if (store(o, value) < 0)
            return cli_usage_error("out of memory");
    }
    (void)usage;
    return 0;
}

void cli_args_free(cli_args *args)
{
    free(args->operands);
    memset(args, 0, sizeof(*args));
}

void cli_opts_free(cli_opt *opts)
{
    for (cli_opt *o = opts; o->kind != CLI_OPT_END; o++) {
        free(o->values);
        o->values = NULL;
        o->n_values = 0;
    }
}

void cli_print_help(FILE *f, const char *usage, const char *summary, const cli_opt *opts)
{
    fprintf(f, "usage: %s\n", usage);
    if (summary)
        fprintf(f, "\n%s\n", summary);
    if (opts && opts->kind != CLI_OPT_END) {
        fprintf(f, "\noptions:\n");
        for (const cli_opt *o = opts; o->kind != CLI_OPT_END; o++) {
            char left[96];
            if (o->short_name)
                snprintf(left, sizeof(left), "-%c, --%s%s%s", o->short_name, o->name,
                         o->arg ? " " : "", o->arg ? o->arg : "");
            else
                snprintf(left, sizeof(left), "    --%s%s%s", o->name, o->arg ? " " : "",
                         o->arg ? o->arg : "");
            fprintf(f, "  %-30s %s%s\n", left, o->help ? o->help : "",
                    o->kind == CLI_OPT_LIST ? " (repeatable)" : "");
        }
    }
    fprintf(f,
            "\nglobal options: --db CONNINFO, --home DIR, --format table|json|csv, --today DATE\n");
}

cli_opt *cli_opt_get(cli_opt *opts, const char *name)
{
    for (cli_opt *o = opts; o->kind != CLI_OPT_END; o++)
        if (strcmp(o->name, name) == 0)
            return o;
    assert(!"cli_opt_get: no such option");
    return NULL;
}

/* Table-driven option parsing: see opts.h. */
#include "opts.h"
#include "output.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stpm/text.h"
#include "table.h"

int cli_check_text(const char *name, const char *value)
{
    size_t len = strlen(value), bad = stpm_utf8_invalid_at(value, len);
    if (bad == len)
        return 0;
    char *shown = cli_escape(value, false);
    fprintf(stderr, _("stpm: error: %s is not valid UTF-8: \"%s\"\n"), name, shown ? shown : "");
    fprintf(stderr, _("DETAIL: The byte 0x%02x at offset %zu does not begin a UTF-8 character.\n"),
            (unsigned char)value[bad], bad);
    fprintf(stderr, _("HINT: Give every text in UTF-8; convert GB18030 text with "
                      "\"iconv -f GB18030 -t UTF-8\".\n"));
    free(shown);
    return 5;
}

/* The value of option --NAME checked as text: "--set town" names the part before '=' when
 * the bad byte is after it (NAME=VALUE options). */
static int check_option_text(const char *name, const char *value)
{
    char label[160];
    const char *eq = strchr(value, '=');
    size_t head = eq ? (size_t)(eq - value) : 0;
    if (eq && head < 100 && stpm_utf8_invalid_at(value, head) == head &&
        stpm_utf8_invalid_at(value, strlen(value)) > head)
        snprintf(label, sizeof(label), "--%s %.*s", name, (int)head, value);
    else
        snprintf(label, sizeof(label), "--%s", name);
    return cli_check_text(label, value);
}

/* The name of operand idx (0-based) in the first line of usage ("stpm project attach CODE
 * KIND FILE" names operand 2 FILE): the upper-case words outside brackets that do not
 * follow an option; the last one ending in "..." names every later operand. Else
 * "argument N". */
static void operand_name(const char *usage, int idx, char *out, size_t cap)
{
    int depth = 0, k = 0;
    bool after_option = false;
    char last[64] = "";
    for (const char *p = usage ? usage : ""; *p && *p != '\n';) {
        while (*p == ' ')
            p++;
        const char *w = p;
        while (*p && *p != ' ' && *p != '\n')
            p++;
        size_t n = (size_t)(p - w);
        if (n == 0)
            break;
        bool upper = true, repeat = n > 3 && strncmp(p - 3, "...", 3) == 0;
        size_t wl = repeat ? n - 3 : n;
        for (size_t i = 0; i < wl; i++)
            if (!((w[i] >= 'A' && w[i] <= 'Z') || w[i] == '_' || (w[i] >= '0' && w[i] <= '9')))
                upper = false;
        int d0 = depth;
        for (size_t i = 0; i < n; i++)
            depth += w[i] == '[' ? 1 : w[i] == ']' ? -1 : 0;
        if (d0 == 0 && upper && wl > 0 && !after_option && wl < sizeof(last)) {
            memcpy(last, w, wl);
            last[wl] = '\0';
            if (k++ == idx || repeat) {
                snprintf(out, cap, "argument %s", last);
                return;
            }
        }
        after_option = w[0] == '-' || (w[0] == '[' && w[1] == '-');
    }
    snprintf(out, cap, "argument %d", idx + 1);
}

/* Options every command accepts; they set the invocation context. */
static int apply_global(cli_ctx *ctx, const char *name, const char *value, int *handled)
{
    *handled = 1;
    if (strcmp(name, "db") == 0) {
        ctx->db = value;
    } else if (strcmp(name, "home") == 0) {
        ctx->home = value;
    } else if (strcmp(name, "user") == 0) {
        if (!*value) {
            cli_usage_error("option --user needs a role name");
            return -1;
        }
        ctx->user = value;
    } else if (strcmp(name, "format") == 0) {
        if (cli_parse_format(value, &ctx->format) < 0) {
            cli_usage_error("unknown format \"%s\": expected table, json, csv or xlsx", value);
            return -1;
        }
    } else if (strcmp(name, "output") == 0) {
        ctx->output = value;
    } else if (strcmp(name, "headers") == 0) {
        if (cli_parse_headers(value, &ctx->headers_zh) < 0) {
            cli_usage_error("invalid --headers \"%s\": expected en or zh", value);
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

static const char *const global_names[] = {"db",    "home",   "user",    "format",
                                           "today", "output", "headers", NULL};

static int is_global(const char *name)
{
    for (int i = 0; global_names[i]; i++)
        if (strcmp(global_names[i], name) == 0)
            return 1;
    return 0;
}

/* A global option NAME (without "--") whose value may follow in argv[*i + 1]: checked and
 * applied to ctx; 0, 2 (usage) or 5 (bad text). eq_value is the value after '=', if any. */
static int take_global(cli_ctx *ctx, const char *name, const char *eq_value, int argc, char **argv,
                       int *i)
{
    const char *value = eq_value;
    if (strcmp(name, "bom") == 0) {
        if (value)
            return cli_usage_error("option --bom takes no value");
        ctx->bom = true;
        return 0;
    }
    if (!value) {
        if (*i + 1 >= argc)
            return cli_usage_error("option --%s needs a value", name);
        value = argv[++*i];
    }
    /* named as the option only: a conninfo's or a path's text is no NAME=VALUE */
    char label[24];
    snprintf(label, sizeof(label), "--%s", name);
    int rc, handled;
    if ((rc = cli_check_text(label, value)) != 0)
        return rc;
    return apply_global(ctx, name, value, &handled) < 0 ? 2 : 0;
}

int cli_global_option(cli_ctx *ctx, int argc, char **argv, int *i, bool *matched)
{
    const char *a = argv[*i];
    *matched = false;
    if (strncmp(a, "--", 2) != 0)
        return 0;
    const char *eq = strchr(a + 2, '=');
    size_t len = eq ? (size_t)(eq - (a + 2)) : strlen(a + 2);
    char name[16];
    if (len >= sizeof(name))
        return 0;
    memcpy(name, a + 2, len);
    name[len] = '\0';
    if (!is_global(name) && strcmp(name, "bom") != 0)
        return 0;
    *matched = true;
    return take_global(ctx, name, eq ? eq + 1 : NULL, argc, argv, i);
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
    int rc;
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
            if (!o && (is_global(name) || strcmp(name, "bom") == 0)) {
                if ((rc = take_global(ctx, name, value, argc, argv, &i)) != 0)
                    return rc;
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
        if (value && (rc = check_option_text(o->name, value)) != 0)
            return rc;
        if (store(o, value) < 0)
            return cli_usage_error("out of memory");
        /* a command's own --format (agenda's takes ics too) sets the invocation's format
         * when it is one of the global ones, so that cli_output_begin below knows it */
        if (o->kind == CLI_OPT_STRING && strcmp(o->name, "format") == 0)
            (void)cli_parse_format(value, &ctx->format);
    }
    for (int k = 0; k < out->n_operands; k++) {
        const char *v = out->operands[k];
        if (stpm_utf8_invalid_at(v, strlen(v)) != strlen(v)) {
            char name[64];
            operand_name(usage_or(usage, ""), k, name, sizeof(name));
            return cli_check_text(name, v);
        }
    }
    /* every global option is known now: where the output goes (--output, xlsx) */
    if (!out->help)
        return cli_output_begin(ctx);
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
    fprintf(f, _("usage: %s\n"), usage);
    if (summary)
        fprintf(f, "\n%s\n", _(summary));
    if (opts && opts->kind != CLI_OPT_END) {
        fprintf(f, _("\noptions:\n"));
        for (const cli_opt *o = opts; o->kind != CLI_OPT_END; o++) {
            char left[96];
            if (o->short_name)
                snprintf(left, sizeof(left), "-%c, --%s%s%s", o->short_name, o->name,
                         o->arg ? " " : "", o->arg ? o->arg : "");
            else
                snprintf(left, sizeof(left), "    --%s%s%s", o->name, o->arg ? " " : "",
                         o->arg ? o->arg : "");
            fprintf(f, "  %-30s %s%s\n", left, o->help ? _(o->help) : "",
                    o->kind == CLI_OPT_LIST ? _(" (repeatable)") : "");
        }
    }
    fprintf(f, _("\nglobal options: --db CONNINFO, --home DIR, --user NAME, "
                 "--format table|json|csv|xlsx,\n"
                 "--output FILE, --bom (CSV for Excel: a UTF-8 byte-order mark), --headers en|zh,\n"
                 "--today DATE\n"));
}

cli_opt *cli_opt_get(cli_opt *opts, const char *name)
{
    for (cli_opt *o = opts; o->kind != CLI_OPT_END; o++)
        if (strcmp(o->name, name) == 0)
            return o;
    assert(!"cli_opt_get: no such option"); /* i18n-ok: a programming error */
    return NULL;
}

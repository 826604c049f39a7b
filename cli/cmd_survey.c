/* stpm survey: reading the annual October survey (科技项目调研) into the reserve pool. */
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "opts.h"
#include "subcmd.h"
#include "connect.h"
#include "stpm/survey.h"
#include "stpm/survey_import.h"
#include "table.h"

static const char import_usage[] =
    "stpm survey import FILE [--year Y] [--encoding auto|utf-8|gb18030] [--sheet NAME] "
    "[--dry-run]";

/* ---- counting for the summary ------------------------------------------------------ */

typedef struct tally {
    char **names;
    size_t *counts;
    size_t n, cap;
} tally;

#define TALLY_MAX 10000 /* distinct values counted; the rest go under "(other)" */

static int tally_add(tally *t, const char *name)
{
    if (!name)
        name = "(none)";
    for (size_t i = 0; i < t->n; i++) {
        if (strcmp(t->names[i], name) == 0) {
            t->counts[i]++;
            return 0;
        }
    }
    if (t->n >= TALLY_MAX)
        name = "(other)";
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        char **nn = realloc(t->names, cap * sizeof(*nn));
        if (!nn)
            return -1;
        t->names = nn;
        size_t *nc = realloc(t->counts, cap * sizeof(*nc));
        if (!nc)
            return -1;
        t->counts = nc;
        t->cap = cap;
    }
    t->names[t->n] = strdup(name);
    if (!t->names[t->n])
        return -1;
    t->counts[t->n++] = 1;
    return 0;
}

static void tally_free(tally *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->names[i]);
    free(t->names);
    free(t->counts);
}

/* Order by count, most first, then by name. */
static void tally_sort(tally *t)
{
    for (size_t i = 1; i < t->n; i++) {
        for (size_t j = i; j > 0; j--) {
            bool before =
                t->counts[j] > t->counts[j - 1] ||
                (t->counts[j] == t->counts[j - 1] && strcmp(t->names[j], t->names[j - 1]) < 0);
            if (!before)
                break;
            char *n = t->names[j];
            t->names[j] = t->names[j - 1];
            t->names[j - 1] = n;
            size_t c = t->counts[j];
            t->counts[j] = t->counts[j - 1];
            t->counts[j - 1] = c;
        }
    }
}

/* Distinct organisations: a set of 64-bit hashes of the USCC (8 bytes a row at most). */
typedef struct hashset {
    uint64_t *slots;
    size_t cap, n;
} hashset;

static int hashset_add(hashset *s, const char *key)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (const char *p = key; *p; p++)
        h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 32;
    if (!h)
        h = 1;
    if ((s->n + 1) * 10 > s->cap * 7) {
        size_t cap = s->cap ? s->cap * 2 : 256;
        uint64_t *ns = calloc(cap, sizeof(*ns));
        if (!ns)
            return -1;
        for (size_t i = 0; i < s->cap; i++) {
            if (!s->slots[i])
                continue;
            size_t j = s->slots[i] & (cap - 1);
            while (ns[j])
                j = (j + 1) & (cap - 1);
            ns[j] = s->slots[i];
        }
        free(s->slots);
        s->slots = ns;
        s->cap = cap;
    }
    size_t j = h & (s->cap - 1);
    while (s->slots[j]) {
        if (s->slots[j] == h)
            return 0;
        j = (j + 1) & (s->cap - 1);
    }
    s->slots[j] = h;
    s->n++;
    return 0;
}

/* ---- progress ---------------------------------------------------------------------- */

typedef struct progress {
    bool on;
    uint64_t last;
    const char *name;
} progress;

static void progress_show(progress *p, const stpm_survey_reader *r, bool force)
{
    uint64_t done, total;
    if (!p->on)
        return;
    stpm_survey_reader_progress(r, &done, &total);
    if (!force && done - p->last < 256 * 1024)
        return;
    p->last = done;
    if (total > 0) {
        int pct = (int)(done * 100 / total);
        int bars = pct / 5;
        fprintf(stderr, _("\rreading %s [%.*s%*s] %3d%%"), p->name, bars, "####################",
                20 - bars, "", pct);
    } else {
        fprintf(stderr, _("\rreading %s %.1f MiB"), p->name, (double)done / (1024.0 * 1024.0));
    }
    fflush(stderr);
}

static void progress_end(progress *p)
{
    if (p->on)
        fputs("\r\033[K", stderr);
}

/* ---- output ------------------------------------------------------------------------ */

static void print_warnings(const stpm_survey_reader *r)
{
    size_t n;
    const stpm_diag *w = stpm_survey_reader_warnings(r, &n);
    for (size_t i = 0; i < n; i++) {
        if (w[i].cell)
            fprintf(stderr, _("%s:%s: %s%swarning: %s\n"), w[i].file, w[i].cell,
                    w[i].column ? w[i].column : "", w[i].column ? ": " : "", w[i].message);
        else
            fprintf(stderr, _("%s:%d:%s: warning: %s\n"), w[i].file, w[i].line,
                    w[i].column ? w[i].column : "", w[i].message);
    }
}

static void print_tally_json(FILE *out, const char *key, const tally *t)
{
    fprintf(out, ",\n  ");
    cli_json_string(out, key);
    fputs(": {", out);
    for (size_t i = 0; i < t->n; i++) {
        fputs(i ? ", " : "", out);
        cli_json_string(out, t->names[i]);
        fprintf(out, ": %zu", t->counts[i]);
    }
    fputc('}', out);
}

static int print_summary(cli_ctx *ctx, const char *file, const stpm_survey_reader *r, int year,
                         size_t rows, size_t orgs, const tally *towns, const tally *fields)
{
    const char *enc = stpm_encoding_name(stpm_survey_reader_encoding(r));
    stpm_survey_format f = stpm_survey_reader_format(r);
    const char *fmt = f == STPM_SURVEY_FORMAT_YAML   ? "yaml"
                      : f == STPM_SURVEY_FORMAT_XLSX ? "xlsx"
                      : f == STPM_SURVEY_FORMAT_XLS  ? "xls"
                                                     : "csv";
    const char *sheet = stpm_survey_reader_sheet(r);
    if (ctx->format == CLI_FORMAT_JSON) {
        fputs("{\"file\": ", stdout);
        cli_json_string(stdout, file);
        fprintf(stdout, ", \"format\": \"%s\", ", fmt);
        if (sheet) {
            fputs("\"sheet\": ", stdout);
            cli_json_string(stdout, sheet);
            fputs(", ", stdout);
        }
        fprintf(stdout,
                "\"encoding\": \"%s\", \"year\": %d, \"rows\": %zu, "
                "\"organisations\": %zu, \"errors\": 0, \"dry_run\": true",
                enc, year, rows, orgs);
        print_tally_json(stdout, "by_town", towns);
        print_tally_json(stdout, "by_field", fields);
        fputs("}\n", stdout);
        return 0;
    }
    static const char *const names[] = {NC_("survey", "by"), N_("name"), N_("candidates")};
    cli_table *t = cli_table_new(3, names);
    if (!t)
        return -1;
    cli_table_set_context(t, "survey");
    cli_table_set_kind(t, 2, CLI_COL_NUMBER);
    const tally *groups[] = {towns, fields};
    const char *group_names[] = {"town", "field"};
    for (int g = 0; g < 2; g++) {
        for (size_t i = 0; i < groups[g]->n; i++) {
            char num[32];
            snprintf(num, sizeof(num), "%zu", groups[g]->counts[i]);
            const char *cells[] = {group_names[g], groups[g]->names[i], num};
            if (cli_table_add_row(t, cells) < 0) {
                cli_table_free(t);
                return -1;
            }
        }
    }
    if (ctx->format == CLI_FORMAT_TABLE && sheet)
        printf(_("%s: %zu candidate%s from %zu organisation%s, no errors (%s, sheet %s, year %d; "
                 "dry run, nothing imported)\n\n"),
               file, rows, rows == 1 ? "" : "s", orgs, orgs == 1 ? "" : "s", fmt, sheet, year);
    else if (ctx->format == CLI_FORMAT_TABLE)
        printf(_("%s: %zu candidate%s from %zu organisation%s, no errors (%s, %s, year %d; dry "
                 "run, nothing imported)\n\n"),
               file, rows, rows == 1 ? "" : "s", orgs, orgs == 1 ? "" : "s", fmt, enc, year);
    cli_table_print(t, ctx->format, stdout, false);
    cli_table_free(t);
    return 0;
}

/* ---- the import into the database ------------------------------------------------- */

typedef struct import_bar {
    bool on;
    const char *name;
    uint64_t last;
} import_bar;

static void import_progress(void *arg, const char *phase, uint64_t done, uint64_t total,
                            size_t rows)
{
    import_bar *b = arg;
    if (!b->on || (strcmp(phase, "reading") == 0 && done - b->last < 256 * 1024))
        return;
    b->last = done;
    if (strcmp(phase, "merging") == 0)
        fprintf(stderr, _("\r\033[Kmerging %zu rows of %s into the reserve pool"), rows, b->name);
    else if (total > 0) {
        int pct = (int)(done * 100 / total);
        int bars = pct / 5;
        fprintf(stderr, _("\rimporting %s [%.*s%*s] %3d%% %zu rows"), b->name, bars,
                "####################", 20 - bars, "", pct, rows);
    } else {
        fprintf(stderr, _("\rimporting %s %zu rows"), b->name, rows);
    }
    fflush(stderr);
}

static void print_import(cli_ctx *ctx, const char *file, const stpm_survey_import_result *r)
{
    if (ctx->format == CLI_FORMAT_JSON) {
        fputs("{\"file\": ", stdout);
        cli_json_string(stdout, file);
        fprintf(stdout,
                ", \"year\": %d, \"file_digest\": \"%s\", \"encoding\": \"%s\", "
                "\"import_id\": %s%s%s, \"rows\": %zu, \"new\": %zu, \"updated\": %zu, "
                "\"unchanged\": %zu, \"orgs_new\": %zu, \"orgs_updated\": %zu, "
                "\"figures_changed\": %zu, \"dry_run\": %s}\n",
                r->year, r->file_digest, stpm_encoding_name(r->encoding), r->dry_run ? "" : "\"",
                r->dry_run ? "null" : r->import_id, r->dry_run ? "" : "\"", r->rows, r->new_rows,
                r->updated, r->unchanged, r->orgs_new, r->orgs_updated, r->figures_changed,
                r->dry_run ? "true" : "false");
        return;
    }
    if (ctx->format == CLI_FORMAT_CSV) {
        static const char *const names[] = {N_("file"),     N_("year"),         N_("rows"),
                                            N_("new"),      N_("updated"),      N_("unchanged"),
                                            N_("orgs_new"), N_("orgs_updated"), N_("file_digest"),
                                            N_("import_id")};
        cli_table *t = cli_table_new(10, names);
        if (!t)
            return;
        char n[7][24];
        size_t v[7] = {(size_t)r->year, r->rows,     r->new_rows,    r->updated,
                       r->unchanged,    r->orgs_new, r->orgs_updated};
        for (int i = 0; i < 7; i++)
            snprintf(n[i], sizeof(n[i]), "%zu", v[i]);
        const char *cells[] = {file, n[0], n[1], n[2],           n[3],
                               n[4], n[5], n[6], r->file_digest, r->dry_run ? NULL : r->import_id};
        cli_table_add_row(t, cells);
        cli_table_print(t, ctx->format, stdout, false);
        cli_table_free(t);
        return;
    }
    printf(_("%s: %zu candidate%s for %d: %zu new, %zu updated, %zu unchanged%s\n"), file, r->rows,
           r->rows == 1 ? "" : "s", r->year, r->new_rows, r->updated, r->unchanged,
           r->dry_run ? N_(" (dry run, nothing imported)") : "");
    printf(_("organisations: %zu new, %zu updated; figures of %d: %zu changed\n"), r->orgs_new,
           r->orgs_updated, r->year, r->figures_changed);
    if (!r->dry_run)
        printf(_("import %.8s, file sha256 %s\n"), r->import_id, r->file_digest);
    if (!r->dry_run && r->new_rows == 0 && r->updated == 0)
        printf(_("nothing changed: the reserve pool already holds this survey\n"));
}

/* Import into the database in one transaction (stpm_survey_import). */
static int import_into_db(cli_ctx *ctx, const char *file, const stpm_survey_options *read)
{
    stpm_error err = STPM_ERROR_INIT;
    stpm_db *db = NULL;
    int rc = cli_connect(ctx, &db);
    if (rc)
        return rc;
    stpm_survey_import_options o = STPM_SURVEY_IMPORT_OPTIONS_INIT;
    o.read = *read;
    o.today = ctx->today_set ? ctx->today : 0;
    import_bar bar = {isatty(STDERR_FILENO) != 0, file, 0};
    o.progress = import_progress;
    o.progress_arg = &bar;
    stpm_survey_import_result res;
    rc = stpm_survey_import(db, file, &o, &res, &err);
    if (bar.on)
        fputs("\r\033[K", stderr);
    if (rc < 0) {
        rc = cli_report(&err);
        goto out;
    }
    print_import(ctx, file, &res);
    rc = 0;
out:
    stpm_error_clear(&err);
    return rc;
}

/* ---- survey import ----------------------------------------------------------------- */

static int survey_import(cli_ctx *ctx, int argc, char **argv)
{
    cli_opt opts[] = {
        CLI_STRING("year", 'y', "Y", "the survey year (default: this year)"),
        CLI_STRING("encoding", 'e', "ENC", "auto (default), utf-8 or gb18030"),
        CLI_STRING("sheet", 0, "NAME", "a workbook's sheet (default: the first)"),
        CLI_FLAG("dry-run", 'n', "validate only, import nothing"),
        CLI_END,
    };
    cli_args args;
    stpm_survey_reader *r = NULL;
    stpm_error err = STPM_ERROR_INIT;
    tally towns = {0}, fields = {0};
    hashset orgs = {0};
    int rc = 0;
    if (cli_start(ctx, import_usage,
                  _("Validate an October survey file (CSV or YAML in UTF-8 or GB18030, or an "
                    "Excel\nworkbook, .xlsx or .xls) and import its candidates into the reserve "
                    "pool. Every\nbad value is listed as FILE:ROW:COLUMN, in a workbook as "
                    "FILE:SHEET!CELL."),
                  opts, argc, argv, &args, 0, INT_MAX, NULL, NULL, &rc) < 0)
        goto cleanup;
    if (args.n_operands != 1) {
        rc = cli_usage_error("%s", import_usage);
        goto cleanup;
    }
    const char *file = args.operands[0];
    stpm_survey_options o = STPM_SURVEY_OPTIONS_INIT;
    const char *year = cli_opt_get(opts, "year")->value;
    if (year) {
        char *end;
        long y = strtol(year, &end, 10);
        if (*end || y < 1990 || y > 2100) {
            rc = cli_usage_error("invalid --year \"%s\": expected a year such as 2020", year);
            goto cleanup;
        }
        o.year = (int)y;
    } else {
        int y, m, d;
        stpm_date_to_ymd(cli_today(ctx), &y, &m, &d);
        o.year = y;
    }
    const char *enc = cli_opt_get(opts, "encoding")->value;
    o.sheet = cli_opt_get(opts, "sheet")->value;
    if (enc && stpm_encoding_parse(enc, &o.encoding) < 0) {
        rc = cli_usage_error("unknown encoding \"%s\": expected auto, utf-8 or gb18030", enc);
        goto cleanup;
    }
    if (!cli_opt_get(opts, "dry-run")->flag) {
        rc = import_into_db(ctx, file, &o);
        goto cleanup;
    }
    if (stpm_survey_reader_open(&r, file, &o, &err) < 0) {
        rc = cli_report(&err);
        goto cleanup;
    }
    progress bar = {isatty(STDERR_FILENO) != 0, 0, file};
    const stpm_survey_row *row;
    size_t good = 0;
    int next;
    while ((next = stpm_survey_reader_next(r, &row, &err)) > 0) {
        /* the importer takes each valid row here (COPY into a staging table) */
        good++;
        if (tally_add(&towns, row->town) < 0 || tally_add(&fields, row->field) < 0 ||
            hashset_add(&orgs, row->uscc) < 0) {
            progress_end(&bar);
            stpm_error_set(&err, STPM_ERROR, "out of memory");
            rc = cli_report(&err);
            goto cleanup;
        }
        progress_show(&bar, r, false);
    }
    progress_end(&bar);
    print_warnings(r);
    stpm_error all = STPM_ERROR_INIT;
    int fin = stpm_survey_reader_finish(r, &all);
    if (next < 0 || fin < 0) {
        if (next < 0 && next != STPM_EINPUT) {
            /* reading failed (I/O): that is the message; the diagnostics come along */
            stpm_error_set(&all, next, "%s", err.message ? err.message : _("cannot read"));
        }
        rc = cli_report(&all);
        stpm_error_clear(&all);
        goto cleanup;
    }
    tally_sort(&towns);
    tally_sort(&fields);
    if (print_summary(ctx, file, r, o.year, good, orgs.n, &towns, &fields) < 0) {
        stpm_error_set(&err, STPM_ERROR, "out of memory");
        rc = cli_report(&err);
        goto cleanup;
    }
    rc = 0;
cleanup:
    stpm_survey_reader_free(r);
    stpm_error_clear(&err);
    tally_free(&towns);
    tally_free(&fields);
    free(orgs.slots);
    cli_args_free(&args);
    cli_opts_free(opts);
    return rc;
}

int cli_cmd_survey(cli_ctx *ctx, int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        FILE *f = argc < 2 ? stderr : stdout;
        fprintf(f,
                _("usage: %s\n\n"
                  "  import   validate a survey file and import it into the reserve pool\n"),
                import_usage);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "import") == 0)
        return survey_import(ctx, argc - 1, argv + 1);
    return cli_usage_error("unknown survey command \"%s\"\nTry \"stpm survey --help\".", argv[1]);
}

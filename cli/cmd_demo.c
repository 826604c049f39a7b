/*
 * stpm demo: the guided tour. It runs the real commands — the same cli_cmd_* entry points
 * that `stpm COMMAND ...` runs, with constructed argument vectors — on a database of its
 * own, narrating each step: the six shipped workflows, the plans, the October 2020 survey,
 * the ranking (好中选优), promotion, application, integrity admission (廉政准入) with a
 * blacklisted organisation refused, publicity (公示) and the timer that approves after
 * five working days across the Spring Festival, task books, a mid-term check, acceptance,
 * an overdue project (应结未结).
 *
 * The database: without --db (and without STPM_DB or the libpq environment) it is the
 * database stpm_demo of the embedded cluster, dropped and created again on each run; with
 * --db it must be an empty database (no plan, no workflow). The tour's files (the
 * workflows and the survey built into libstpm, the small documents it attaches) are
 * written to a temporary directory, which is the working directory while the commands
 * run and is removed at the end.
 *
 * The roles (DESIGN §6): the tour connects as the role it is given (the embedded cluster's
 * superuser without --db), which administers: it loads workflows, adds plans and users,
 * keeps the blacklist, records checkpoints, sets targets. It adds two users, the officer
 * wang_officer and the auditor li_auditor, and runs the officer's work and the auditor's
 * questions as them: each on a connection of its own, the conninfo in use with
 * "user=NAME" added (the embedded cluster trusts its private socket).
 *
 * Any step whose exit status is not the one expected stops the tour with that status.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "connect.h"
#include "opts.h"
#include "output.h"
#include "stpm/db.h"
#include "stpm/decimal.h"
#include "stpm/embedded.h"
#include "stpm/examples.h"
#include "stpm/plan.h"
#include "stpm/reserve.h"
#include "stpm/wfstore.h"

static const char demo_summary[] =
    N_("The guided tour: runs the real commands, step by step, on a database of its own and\n"
       "explains what they do — from the October survey (科技项目调研) through the reserve\n"
       "pool, application, integrity admission (廉政准入), publicity (公示) and approval\n"
       "(立项) to checks and acceptance (验收), and what an auditor sees.\n"
       "\n"
       "Without --db it uses the database stpm_demo of the embedded cluster (under --home),\n"
       "dropped and created again on each run; the cluster is created and started as needed\n"
       "and left running (\"stpm db stop\" stops it). With --db CONNINFO it runs on that\n"
       "database, which must be empty.");

/* The plans of the tour: the bureau's six kinds (DESIGN §3, the seed document). The
 * names are those the survey's 拟申报计划 column uses. */
typedef struct demo_plan {
    const char *code;
    const char *name;
    const char *level;
    const char *workflow;
    bool funded;
} demo_plan;

static const demo_plan demo_plans[] = {
    {"NKRD", "国家重点研发计划", "national", "national_key_rd", true},
    {"PKRD", "省重点研发计划（产业前瞻与关键核心技术）", "provincial", "provincial_key_rd_industry",
     true},
    {"PAGR", "省重点研发计划（现代农业）", "provincial", "provincial_key_rd_agriculture", true},
    {"PINT", "省国际科技合作计划", "provincial", "provincial_international", true},
    {"NTSP", "南通市科技计划", "municipal", "municipal_nantong", false},
    {"RGSP", "如皋市科技计划", "county", "county_rugao", true},
};
#define N_PLANS (sizeof(demo_plans) / sizeof(demo_plans[0]))

/* How many of the best candidates the tour promotes (one per organisation, under a plan
 * of the tour), and then the best candidate for the county plan. */
#define N_TOP_PICKS 5
#define MAX_PICKS (N_TOP_PICKS + 1)

/* A candidate the tour promotes into a project. */
typedef struct demo_pick {
    char entry[9];
    const demo_plan *plan;
    char *code; /* the project's code once promoted */
    char *title, *org, *uscc, *town, *field, *partner;
    stpm_decimal requested, planned;
    bool planned_set;
} demo_pick;

typedef struct demo {
    cli_ctx *ctx;
    bool color;
    bool pause; /* --step on a terminal */
    int step;
    char *dir;  /* the temporary working directory */
    int cwd_fd; /* where we were */
    demo_pick picks[MAX_PICKS];
    size_t n_picks;
    char *conninfo;  /* the embedded tour database's, owned */
    const char *as;  /* the user the next commands run as; NULL: the role connected */
    char *as_name;   /* the user of as_db, owned */
    char *as_db;     /* the conninfo "... user=AS_NAME", owned */
    void *as_handle; /* the connection as as_name (a stpm_db *), owned; NULL until needed */
} demo;

/* The tour's users: the officer (项目专管员) and the auditor (审计). */
#define OFFICER "wang_officer"
#define AUDITOR "li_auditor"

/* A malloc'd formatted string, or NULL. */
static char *str_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *str_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0)
        s = NULL;
    va_end(ap);
    return s;
}

/* ---- output ---- */

static const char *col(const demo *d, const char *code)
{
    return d->color ? code : "";
}

#define C_HEAD "\033[1;36m"
#define C_CMD "\033[1m"
#define C_NOTE "\033[33m"
#define C_OFF "\033[0m"

static void wait_key(demo *d)
{
    if (!d->pause || d->step == 0)
        return;
    printf(_("%s[Enter: next step]%s"), col(d, C_NOTE), col(d, C_OFF));
    fflush(stdout);
    int c;
    while ((c = getchar()) != EOF && c != '\n')
        ;
}

/* A step's heading: "== 3. The October survey (科技项目调研)" and a few lines of text, both in
 * the user's language (the texts are extracted as heading's third argument, the titles are
 * marked N_() where they are given). */
static void heading(demo *d, const char *title, const char *text)
{
    wait_key(d);
    d->step++;
    printf("\n%s== %d. %s%s\n", col(d, C_HEAD), d->step, _(title), col(d, C_OFF));
    if (text && *text)
        printf("%s\n", _(text));
    fflush(stdout);
}

/* A remark between commands. */
static void note(demo *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(demo *d, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs(col(d, C_NOTE), stdout);
    vprintf(_(fmt), ap); /* the remarks are extracted as note's second argument */
    fputs(col(d, C_OFF), stdout);
    fputc('\n', stdout);
    va_end(ap);
    fflush(stdout);
}

/* Whether a word must be quoted for the shell: anything beyond the harmless ASCII
 * characters (bytes of UTF-8 text are harmless). */
static bool needs_quotes(const char *s)
{
    if (!*s)
        return true;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x80 && !strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                 "0123456789_./:=,@%+-",
                                 *p))
            return true;
    return false;
}

static void put_word(const char *s)
{
    if (!needs_quotes(s)) {
        fputs(s, stdout);
        return;
    }
    fputc('\'', stdout);
    for (const char *p = s; *p; p++) {
        if (*p == '\'')
            fputs("'\\''", stdout);
        else
            fputc(*p, stdout);
    }
    fputc('\'', stdout);
}

/* ---- running the commands ---- */

/* The conninfo of base (NULL: the environment's) as user: "user=NAME" added, or for a URI
 * the parameter user=NAME. */
static char *conninfo_as(const char *base, const char *user)
{
    if (!base || !*base)
        return str_printf("user=%s", user);
    if (strncmp(base, "postgres://", 11) == 0 || strncmp(base, "postgresql://", 13) == 0)
        return str_printf("%s%cuser=%s", base, strchr(base, '?') ? '&' : '?', user);
    return str_printf("%s user=%s", base, user);
}

/* Make d->as_db the conninfo for d->as, closing the connection of another user. */
static int prepare_as(demo *d)
{
    if (d->as_name && strcmp(d->as_name, d->as) == 0)
        return 0;
    stpm_db_free(d->as_handle);
    d->as_handle = NULL;
    free(d->as_name);
    free(d->as_db);
    d->as_name = strdup(d->as);
    d->as_db = conninfo_as(d->ctx->db, d->as);
    return d->as_name && d->as_db ? 0 : 1;
}

/*
 * Run one stpm command as "stpm [--today TODAY] ARGS..." would, through the command
 * table, after echoing it. today may be NULL (the tour's current date stays). expect is
 * the exit status the step expects; anything else ends the tour: returns the command's
 * status (1 when it succeeded but should not have), else 0.
 */
static int run_argv(demo *d, int expect, const char *today, int argc, char **argv)
{
    if (today && stpm_date_parse(today, &d->ctx->today) == 0)
        d->ctx->today_set = true;
    if (d->as && prepare_as(d) != 0)
        return 1;
    printf("%s%s$ stpm", col(d, C_CMD), d->as ? d->as : "");
    if (today)
        printf(" --today %s", today);
    for (int i = 0; i < argc; i++) {
        fputc(' ', stdout);
        put_word(argv[i]);
    }
    printf("%s\n", col(d, C_OFF));
    fflush(stdout);
    const cli_command *cmd = NULL;
    for (const cli_command *c = cli_commands; c->name; c++)
        if (strcmp(c->name, argv[0]) == 0 && c->fn != cli_cmd_demo)
            cmd = c;
    if (!cmd) {
        fprintf(stderr, _("stpm: error: the tour needs the command \"%s\", which is missing\n"),
                argv[0]);
        return 1;
    }
    d->ctx->format = CLI_FORMAT_TABLE;
    /* As another user: that user's connection stands in for the tour's while it runs. */
    const char *own_db = d->ctx->db, *own_user = d->ctx->user;
    void *own_handle = d->ctx->db_handle;
    if (d->as) {
        d->ctx->db = d->as_db;
        d->ctx->user = NULL; /* the step's user, not --user */
        d->ctx->db_handle = d->as_handle;
    }
    int rc = cmd->fn(d->ctx, argc, argv);
    if (d->as) {
        d->as_handle = d->ctx->db_handle;
        d->ctx->db = own_db;
        d->ctx->user = own_user;
        d->ctx->db_handle = own_handle;
    }
    fflush(stdout);
    fflush(stderr);
    if (rc == expect)
        return 0;
    fprintf(stderr,
            _("stpm: error: the tour stops at step %d: \"stpm %s\" exited with %d, expected %d\n"),
            d->step, argv[0], rc, expect);
    return rc != 0 ? rc : 1;
}

/* The same with the words given as arguments, ended by NULL. */
/* The end of run()'s arguments: a null pointer of the type va_arg reads. */
#define END_OF_ARGS ((const char *)NULL)

/* The words of ap up to END_OF_ARGS (47 at most) into argv, ended by NULL; their count. */
static int collect_args(va_list ap, char *argv[48])
{
    int argc = 0;
    const char *a;
    while ((a = va_arg(ap, const char *)) != NULL && argc < 47)
        argv[argc++] = (char *)a;
    argv[argc] = NULL;
    return argc;
}

static int run(demo *d, int expect, const char *today, ...)
{
    char *argv[48];
    va_list ap;
    va_start(ap, today);
    int argc = collect_args(ap, argv);
    va_end(ap);
    return run_argv(d, expect, today, argc, argv);
}

/* An argument vector built step by step (its strings are owned). */
typedef struct words {
    char *v[48];
    int n;
} words;

static void words_add(words *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void words_add(words *w, const char *fmt, ...)
{
    if (w->n >= 47)
        return;
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0)
        s = NULL;
    va_end(ap);
    if (s)
        w->v[w->n++] = s;
    w->v[w->n] = NULL;
}

static void words_clear(words *w)
{
    for (int i = 0; i < w->n; i++)
        free(w->v[i]);
    w->n = 0;
}

static int run_words(demo *d, int expect, const char *today, words *w)
{
    int rc = run_argv(d, expect, today, w->n, w->v);
    words_clear(w);
    return rc;
}

/* A command that writes a workbook (--format xlsx --output FILE among its words, ended by
 * NULL): the output begins and ends around it as main has it around a command of its own,
 * and the commands after it write to standard output again. */
static int run_workbook(demo *d, const char *today, ...)
{
    char *argv[48];
    va_list ap;
    va_start(ap, today);
    int argc = collect_args(ap, argv);
    va_end(ap);
    cli_output_reset(argc, argv);
    int rc = cli_output_end(d->ctx, run_argv(d, 0, today, argc, argv));
    d->ctx->output = NULL;
    d->ctx->format = CLI_FORMAT_TABLE;
    cli_output_reset(0, NULL);
    return rc;
}

/* ---- files ---- */

static int write_file(const char *name, const char *text, size_t len)
{
    FILE *f = fopen(name, "wb");
    if (!f) {
        fprintf(stderr, _("stpm: error: cannot write %s: %s\n"), name, strerror(errno));
        return 1;
    }
    size_t n = fwrite(text, 1, len, f);
    if (fclose(f) != 0 || n != len) {
        fprintf(stderr, _("stpm: error: cannot write %s: %s\n"), name, strerror(errno));
        return 1;
    }
    return 0;
}

/* A small document of the tour: "KIND-CODE.txt" in the working directory, holding a few
 * lines that name the project. Sets name (malloc'd). */
static int write_document(const demo_pick *p, const char *label, const char *body, char **name)
{
    *name = str_printf("%s-%s.txt", label, p->code);
    char *text = str_printf("%s\n\n项目编号：%s\n项目名称：%s\n承担单位：%s（%s）\n\n%s\n", label,
                            p->code, p->title, p->org, p->uscc, body);
    int rc = (*name && text) ? write_file(*name, text, strlen(text)) : 1;
    free(text);
    return rc;
}

/* Write a document for the project and take a transition attaching it as kind (with one
 * more FIELD=VALUE when set is not NULL), on the business date today. */
static int advance_with_document(demo *d, const demo_pick *p, const char *today,
                                 const char *transition, const char *kind, const char *label,
                                 const char *body, const char *set)
{
    char *doc = NULL;
    int rc = write_document(p, label, body, &doc);
    words w = {0};
    words_add(&w, "project");
    words_add(&w, "advance");
    words_add(&w, "%s", p->code);
    words_add(&w, "%s", transition);
    words_add(&w, "--attach");
    words_add(&w, "%s=%s", kind, doc ? doc : "");
    if (set) {
        words_add(&w, "--set");
        words_add(&w, "%s", set);
    }
    if (rc == 0)
        rc = run_words(d, 0, today, &w);
    words_clear(&w);
    free(doc);
    return rc;
}

/* Make the temporary directory, write the examples built into libstpm into it and make
 * it the working directory. */
static int enter_workdir(demo *d)
{
    const char *tmp = getenv("TMPDIR");
    char *tmpl = str_printf("%s/stpm-demo.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!tmpl || !mkdtemp(tmpl)) {
        fprintf(stderr, _("stpm: error: cannot make a temporary directory: %s\n"), strerror(errno));
        free(tmpl);
        return 1;
    }
    d->dir = tmpl;
    d->cwd_fd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (chdir(d->dir) != 0) {
        fprintf(stderr, _("stpm: error: cannot enter %s: %s\n"), d->dir, strerror(errno));
        return 1;
    }
    stpm_example ex;
    for (size_t i = 0; stpm_example_get(i, &ex); i++)
        if (write_file(ex.name, ex.text, ex.len) != 0)
            return 1;
    return 0;
}

static void leave_workdir(demo *d)
{
    if (d->cwd_fd >= 0) {
        if (fchdir(d->cwd_fd) != 0)
            (void)chdir("/");
        close(d->cwd_fd);
        d->cwd_fd = -1;
    }
    if (!d->dir)
        return;
    DIR *dir = opendir(d->dir);
    if (dir) {
        struct dirent *e;
        while ((e = readdir(dir)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            char *p = str_printf("%s/%s", d->dir, e->d_name);
            if (p)
                unlink(p);
            free(p);
        }
        closedir(dir);
    }
    rmdir(d->dir);
    free(d->dir);
    d->dir = NULL;
}

/* ---- the database ---- */

/* Without --db: the embedded cluster's tour database, dropped and created again. */
static int prepare_embedded(demo *d)
{
    stpm_error err = STPM_ERROR_INIT;
    stpm_embedded *e = NULL;
    int rc = 0;
    if (stpm_embedded_new(&e, d->ctx->home, &err) < 0 ||
        stpm_embedded_recreate_database(e, STPM_EMBEDDED_DEMO_DBNAME, &err) < 0) {
        rc = cli_report(&err);
        goto out;
    }
    d->conninfo = stpm_embedded_conninfo_for(e, STPM_EMBEDDED_DEMO_DBNAME);
    if (!d->conninfo) {
        rc = 1;
        goto out;
    }
    printf(_("The tour runs in its own database, %s, of the embedded cluster in %s\n"
             "(dropped and created again on each run; your data in the database %s is not\n"
             "touched).\n"),
           STPM_EMBEDDED_DEMO_DBNAME, stpm_embedded_home(e), STPM_EMBEDDED_DBNAME);
    d->ctx->db = d->conninfo;
out:
    stpm_embedded_free(e);
    stpm_error_clear(&err);
    return rc;
}

/* With --db (or STPM_DB, or the libpq environment): the database must hold no plan and
 * no workflow, so that the tour neither collides with nor changes real work. */
static int check_empty(demo *d, stpm_db *db)
{
    stpm_error err = STPM_ERROR_INIT;
    stpm_plan *plans = NULL;
    size_t n_plans = 0;
    stpm_rows *wfs = NULL;
    int rc = 0;
    if (stpm_plan_list(db, &plans, &n_plans, &err) < 0 || stpm_wfstore_list(db, &wfs, &err) < 0) {
        rc = cli_report(&err);
        goto out;
    }
    if (n_plans > 0 || stpm_rows_count(wfs) > 0) {
        stpm_error_set(&err, STPM_ECONFLICT,
                       "the database is not empty: it has %zu plan(s) and "
                       "%zu workflow version(s)",
                       n_plans, stpm_rows_count(wfs));
        stpm_error_detail(&err, "The tour adds workflows, plans, organisations and projects; "
                                "it runs only on an empty database.");
        stpm_error_hint(&err,
                        "Give --db a new empty database, or run \"stpm demo\" without "
                        "--db: it then uses its own database %s of the embedded cluster.",
                        STPM_EMBEDDED_DEMO_DBNAME);
        rc = cli_report(&err);
        goto out;
    }
    printf(_("The tour runs in the database given: %s\n"), stpm_db_describe(db));
out:
    stpm_plan_list_free(plans, n_plans);
    stpm_rows_free(wfs);
    stpm_error_clear(&err);
    return rc;
}

/* ---- the candidates ---- */

static const demo_plan *plan_named(const char *name)
{
    for (size_t i = 0; name && i < N_PLANS; i++)
        if (strcmp(demo_plans[i].name, name) == 0)
            return &demo_plans[i];
    return NULL;
}

static const demo_plan *plan_coded(const char *code)
{
    for (size_t i = 0; i < N_PLANS; i++)
        if (strcmp(demo_plans[i].code, code) == 0)
            return &demo_plans[i];
    return NULL;
}

static bool org_picked(const demo *d, const char *uscc)
{
    for (size_t i = 0; i < d->n_picks; i++)
        if (strcmp(d->picks[i].uscc, uscc) == 0)
            return true;
    return false;
}

static char *dup_or_empty(const char *s)
{
    return strdup(s ? s : "");
}

static void add_pick(demo *d, const stpm_ranked *r, const demo_plan *plan)
{
    demo_pick *p = &d->picks[d->n_picks++];
    memcpy(p->entry, r->id, 8);
    p->entry[8] = '\0';
    p->plan = plan;
    p->title = dup_or_empty(r->title);
    p->org = dup_or_empty(r->org_name);
    p->uscc = dup_or_empty(r->uscc);
    p->town = dup_or_empty(r->values.town);
    p->field = dup_or_empty(r->values.field);
    p->partner = dup_or_empty(r->values.partner);
    p->requested = r->values.requested_funding_set ? r->values.requested_funding : 0;
    p->planned = r->values.planned_investment;
    p->planned_set = r->values.planned_investment_set;
}

static void picks_clear(demo *d)
{
    for (size_t i = 0; i < d->n_picks; i++) {
        demo_pick *p = &d->picks[i];
        free(p->code);
        free(p->title);
        free(p->org);
        free(p->uscc);
        free(p->town);
        free(p->field);
        free(p->partner);
    }
    d->n_picks = 0;
}

/* Choose from the ranking (the library's, the same that "reserve rank" prints): the best
 * N_TOP_PICKS candidates aiming at a plan of the tour, one per organisation, then the best
 * candidate for the county plan from another organisation. */
static int choose_picks(demo *d, stpm_db *db)
{
    stpm_error err = STPM_ERROR_INIT;
    stpm_scoring *s = NULL;
    stpm_ranking rk = {0};
    stpm_reserve_filter f = STPM_RESERVE_FILTER_INIT;
    int rc = 0;
    f.year = 2020;
    if (stpm_scoring_load_default(&s, &err) < 0 || stpm_reserve_rank(db, &f, s, 0, &rk, &err) < 0) {
        rc = cli_report(&err);
        goto out;
    }
    const demo_plan *county = plan_coded("RGSP");
    for (size_t i = 0; i < rk.n && d->n_picks < N_TOP_PICKS; i++) {
        const demo_plan *plan = plan_named(rk.items[i].target_plan);
        if (plan && plan != county && !org_picked(d, rk.items[i].uscc))
            add_pick(d, &rk.items[i], plan);
    }
    for (size_t i = 0; i < rk.n; i++) {
        if (plan_named(rk.items[i].target_plan) == county && !org_picked(d, rk.items[i].uscc)) {
            add_pick(d, &rk.items[i], county);
            break;
        }
    }
    if (d->n_picks < MAX_PICKS) {
        fprintf(stderr, _("stpm: error: the example survey has too few candidates for the tour\n"));
        rc = 1;
    }
out:
    stpm_ranking_clear(&rk);
    stpm_scoring_free(s);
    stpm_error_clear(&err);
    return rc;
}

/* After promotion: each pick's project code, as the ranking now shows it. */
static int learn_codes(demo *d, stpm_db *db)
{
    stpm_error err = STPM_ERROR_INIT;
    stpm_scoring *s = NULL;
    stpm_ranking rk = {0};
    stpm_reserve_filter f = STPM_RESERVE_FILTER_INIT;
    int rc = 0;
    f.year = 2020;
    if (stpm_scoring_load_default(&s, &err) < 0 || stpm_reserve_rank(db, &f, s, 0, &rk, &err) < 0) {
        rc = cli_report(&err);
        goto out;
    }
    for (size_t k = 0; k < d->n_picks; k++) {
        for (size_t i = 0; i < rk.n; i++)
            if (strncmp(rk.items[i].id, d->picks[k].entry, 8) == 0 && rk.items[i].project)
                d->picks[k].code = strdup(rk.items[i].project);
        if (!d->picks[k].code) {
            fprintf(stderr, _("stpm: error: candidate %s was not promoted\n"), d->picks[k].entry);
            rc = 1;
            goto out;
        }
    }
out:
    stpm_ranking_clear(&rk);
    stpm_scoring_free(s);
    stpm_error_clear(&err);
    return rc;
}

/* The first pick under a plan of this code, or NULL. */
static demo_pick *pick_of(demo *d, const char *plan)
{
    for (size_t i = 0; i < d->n_picks; i++)
        if (strcmp(d->picks[i].plan->code, plan) == 0)
            return &d->picks[i];
    return NULL;
}

static const char *money(stpm_decimal v, char buf[static 32])
{
    return stpm_decimal_format(v, v % STPM_DECIMAL_SCALE == 0 ? 0 : 2, buf);
}

/* ---- the steps ---- */

static int step_workflows(demo *d)
{
    heading(d, N_("Workflows (流程定义)"),
            "Each kind of plan has a YAML workflow: its states, fields, and the transitions with\n"
            "who may take them, what must be present and which integrity checks must pass. The\n"
            "six shipped ones are built into libstpm; the tour writes them out and loads them\n"
            "(docs/workflows.md). A loaded version is immutable, kept with its SHA-256.");
    words w = {0};
    words_add(&w, "workflow");
    words_add(&w, "load");
    stpm_example ex;
    for (size_t i = 0; stpm_example_get(i, &ex); i++)
        if (ex.kind == STPM_EXAMPLE_WORKFLOW)
            words_add(&w, "%s", ex.name);
    int rc = run_words(d, 0, NULL, &w);
    if (rc == 0)
        rc = run(d, 0, NULL, "workflow", "list", END_OF_ARGS);
    return rc;
}

static int step_plans(demo *d)
{
    heading(
        d, N_("Plans (科技计划)"),
        "The bureau's plans at four levels — national (国家级), provincial (省级), municipal\n"
        "(市级, Nantong) and county (县级, Rugao) — each following its workflow; funded (资金类)\n"
        "plans grant money.");
    for (size_t i = 0; i < N_PLANS; i++) {
        const demo_plan *p = &demo_plans[i];
        int rc = run(d, 0, NULL, "plan", "add", p->code, "--name", p->name, "--level", p->level,
                     "--workflow", p->workflow, p->funded ? "--funded" : END_OF_ARGS, END_OF_ARGS);
        if (rc)
            return rc;
    }
    return run(d, 0, NULL, "plan", "list", END_OF_ARGS);
}

static int step_users(demo *d)
{
    heading(
        d, N_("Users and roles (用户与角色)"),
        "Users are PostgreSQL login roles in four groups: stpm_admin, stpm_officer (项目专管员),\n"
        "stpm_expert (专家) and stpm_auditor (审计, read only) — the database's grants decide\n"
        "what each may do, and the actor of every event is the role connected. So far the\n"
        "tour ran as the administrator; from now on the officer's work runs as wang_officer\n"
        "and the auditor's questions as li_auditor (the prompt names the user):\n"
        "  stpm --db \"CONNINFO user=wang_officer\" ...");
    d->as = NULL;
    int rc = run(d, 0, NULL, "user", "add", OFFICER, "--role", "officer", END_OF_ARGS);
    if (rc == 0)
        rc = run(d, 0, NULL, "user", "add", AUDITOR, "--role", "auditor", END_OF_ARGS);
    if (rc == 0)
        rc = run(d, 0, NULL, "user", "list", END_OF_ARGS);
    return rc;
}

static int step_survey(demo *d)
{
    heading(d, N_("The October survey (科技项目调研) into the reserve pool (储备库)"),
            "Every October the bureau surveys the companies' planned projects. The survey comes\n"
            "back as the bureau's Excel/WPS workbook (a title row above the Chinese headers),\n"
            "read as it is; every row is validated first, organisations are upserted by their\n"
            "统一社会信用代码, and the whole import is one transaction (docs/survey.md).");
    d->as = OFFICER;
    int rc = run(d, 0, "2020-10-31", "survey", "import", "survey-2020.xlsx", "--year", "2020",
                 END_OF_ARGS);
    if (rc == 0) {
        note(d, "The same survey saved as CSV holds the same rows: importing it changes nothing:");
        rc = run(d, 0, NULL, "survey", "import", "survey-2020.csv", "--year", "2020", END_OF_ARGS);
    }
    return rc;
}

static int step_rank(demo *d)
{
    heading(d, N_("Ranking the reserve (好中选优)"),
            "Candidates are scored by the weights of workflows/scoring.yaml: high-tech\n"
            "enterprise, R&D intensity, university partner, maturity, investment, leverage\n"
            "and target level — each score with its breakdown (docs/scoring.md).");
    return run(d, 0, "2020-11-02", "reserve", "rank", "--year", "2020", "--top", "10", END_OF_ARGS);
}

static int step_promote(demo *d, stpm_db *db)
{
    heading(d, N_("Promotion into the 2021 plans (申报)"),
            "The best candidates become projects under the plan they aim at (one per\n"
            "organisation this year), and the best for the county plan (如皋市科技计划) too.\n"
            "Each project's history begins with the survey row it came from.");
    int rc = choose_picks(d, db);
    for (size_t i = 0; rc == 0 && i < d->n_picks; i++)
        rc = run(d, 0, "2020-11-16", "reserve", "promote", d->picks[i].entry, "--plan",
                 d->picks[i].plan->code, "--year", "2021", END_OF_ARGS);
    if (rc == 0)
        rc = learn_codes(d, db);
    return rc;
}

/* apply: the fields and documents each plan's workflow requires. */
static int apply_one(demo *d, demo_pick *p)
{
    words w = {0};
    char *form = NULL, *extra = NULL;
    char buf[32];
    int rc = write_document(p, "申报书", "（项目申报书正文）", &form);
    words_add(&w, "project");
    words_add(&w, "advance");
    words_add(&w, "%s", p->code);
    words_add(&w, "apply");
    const char *plan = p->plan->code;
    if (strcmp(plan, "PKRD") == 0) {
        words_add(&w, "--set");
        words_add(&w, "self_raised_funds=%s",
                  money(p->planned_set ? p->planned : p->requested, buf));
        words_add(&w, "--set");
        words_add(&w, "core_technology=%s", *p->field ? p->field : p->title);
    } else if (strcmp(plan, "NKRD") == 0) {
        words_add(&w, "--set");
        words_add(&w, "special_programme=深海关键技术与装备");
        if (rc == 0)
            rc = write_document(p, "推荐函", "省科技厅推荐函", &extra);
        words_add(&w, "--attach");
        words_add(&w, "recommendation_letter=%s", extra ? extra : "");
    } else if (strcmp(plan, "PAGR") == 0) {
        words_add(&w, "--set");
        words_add(&w, "demonstration_base=%s示范基地", p->town);
    } else if (strcmp(plan, "PINT") == 0) {
        words_add(&w, "--set");
        words_add(&w, "foreign_partner=%s", *p->partner ? p->partner : "外方合作单位");
        words_add(&w, "--set");
        words_add(&w, "partner_country=德国");
        if (rc == 0)
            rc = write_document(p, "合作协议", "国际科技合作协议", &extra);
        words_add(&w, "--attach");
        words_add(&w, "cooperation_agreement=%s", extra ? extra : "");
    } else if (strcmp(plan, "RGSP") == 0) {
        words_add(&w, "--set");
        words_add(&w, "town=%s", p->town);
    }
    words_add(&w, "--attach");
    words_add(&w, "application_form=%s", form ? form : "");
    if (rc == 0)
        rc = run_words(d, 0, "2021-01-11", &w);
    words_clear(&w);
    free(form);
    free(extra);
    return rc;
}

static int step_apply(demo *d)
{
    heading(d, N_("Application (申报)"),
            "Each workflow says which fields and documents an application needs; the officer\n"
            "sets them and attaches the application form (申报书) in the same transition.");
    for (size_t i = 0; i < d->n_picks; i++) {
        int rc = apply_one(d, &d->picks[i]);
        if (rc)
            return rc;
    }
    note(d,
         "What stands between %s and integrity admission? \"project why\" lists every way\n"
         "out of the current state and, for each blocked one, the rule that blocks it:",
         d->picks[0].code);
    return run(d, 0, NULL, "project", "why", d->picks[0].code, END_OF_ARGS);
}

static int step_commitments(demo *d)
{
    heading(d, N_("Integrity commitments (廉政承诺书)"),
            "Each applicant signs an integrity commitment; the document is stored with its\n"
            "size and SHA-256, and its digest goes into the history.");
    for (size_t i = 0; i < d->n_picks; i++) {
        char *doc = NULL;
        int rc = write_document(&d->picks[i], "廉政承诺书",
                                "本单位承诺：申报材料真实，不存在重复申报、多头申报，"
                                "不向项目管理人员输送任何利益。",
                                &doc);
        if (rc == 0)
            rc = run(d, 0, NULL, "project", "attach", d->picks[i].code, "integrity_commitment", doc,
                     END_OF_ARGS);
        free(doc);
        if (rc)
            return rc;
    }
    return 0;
}

/* The pick whose organisation the tour blacklists: the fourth of the best. */
static demo_pick *blacklisted(demo *d)
{
    return &d->picks[3];
}

static int step_blacklist(demo *d)
{
    demo_pick *b = blacklisted(d);
    heading(d, N_("The credit blacklist (失信名单)"),
            "The administrator keeps the credit blacklist; an entry has a validity window and\n"
            "is never deleted, only lifted, so that as of an earlier date it still counts.");
    d->as = NULL;
    note(d, "%s (%s) was found to have made a false application (虚假申报):", b->org, b->uscc);
    int rc = run(d, 0, NULL, "org", "blacklist", b->uscc, "--reason", "虚假申报", "--from",
                 "2020-05-01", "--until", "2023-04-30", END_OF_ARGS);
    if (rc == 0)
        rc = run(d, 0, NULL, "org", "show", b->uscc, END_OF_ARGS);
    return rc;
}

static int step_admit(demo *d)
{
    demo_pick *b = blacklisted(d);
    heading(d, N_("Integrity admission (廉政准入)"),
            "Before an application goes on, seven checks must pass: the signed commitment,\n"
            "no conflict of interest of the officer (回避), not on the credit blacklist, no\n"
            "duplicate application (重复申报), the leader under the project limit (限项), no\n"
            "overdue project of the organisation, a valid credit code. Each check's evidence\n"
            "goes into the history (docs/integrity.md).");
    d->as = OFFICER;
    for (size_t i = 0; i < d->n_picks; i++) {
        demo_pick *p = &d->picks[i];
        if (p == b)
            continue;
        int rc = run(d, 0, "2021-01-18", "project", "advance", p->code, "admit", END_OF_ARGS);
        if (rc)
            return rc;
    }
    note(d,
         "%s belongs to the blacklisted %s. The transition is refused with exit\n"
         "status 3 (refused by a rule), every reason is given with its evidence, and nothing\n"
         "is written:",
         b->code, b->org);
    int rc = run(d, 3, NULL, "project", "advance", b->code, "admit", END_OF_ARGS);
    if (rc == 0) {
        note(d, "\"project why\" shows the same without trying:");
        rc = run(d, 0, NULL, "project", "why", b->code, END_OF_ARGS);
    }
    if (rc == 0) {
        note(d, "The officer rejects the application, giving the reason:");
        rc = run(d, 0, NULL, "project", "advance", b->code, "reject", "--reason",
                 "承担单位列入失信名单（虚假申报）", END_OF_ARGS);
    }
    return rc;
}

static int step_publicize(demo *d)
{
    demo_pick *b = blacklisted(d);
    heading(d, N_("Publicity (公示) with the approved amounts"),
            "The admitted projects are publicized with the funding the bureau intends to\n"
            "approve (万元). The publicity lasts five working days (seven for the national\n"
            "programme); with no objection, a timer approves the project (立项).");
    for (size_t i = 0; i < d->n_picks; i++) {
        demo_pick *p = &d->picks[i];
        if (p == b)
            continue;
        /* Four fifths of the request, in whole 万元; nothing from a plan that grants no
         * money. */
        stpm_decimal approved = p->requested / 5 * 4 / STPM_DECIMAL_SCALE * STPM_DECIMAL_SCALE;
        if (approved <= 0)
            approved = p->requested;
        if (!p->plan->funded) {
            approved = 0;
            note(d, "%s grants no money (not 资金类): its approved amount is 0.", p->plan->name);
        }
        char buf[32];
        words w = {0};
        words_add(&w, "project");
        words_add(&w, "advance");
        words_add(&w, "%s", p->code);
        words_add(&w, "publicize");
        words_add(&w, "--set");
        words_add(&w, "amount_approved=%s", money(approved, buf));
        int rc = run_words(d, 0, "2021-02-08", &w);
        if (rc)
            return rc;
    }
    return 0;
}

static int step_tick(demo *d)
{
    heading(d, N_("Timers (定时器) on the working-day calendar (工作日历)"),
            "\"stpm tick\" (run daily, e.g. by cron) fires the timers that are due. Working\n"
            "days skip weekends and public holidays and count make-up working days (调休): the\n"
            "Spring Festival of 2021 is 02-11..02-17, and Saturday 02-20 is a working day.\n"
            "Publicized on Monday 02-08, five working days end on Saturday 02-20.");
    int rc = run(d, 0, "2021-02-19", "tick", END_OF_ARGS);
    if (rc == 0) {
        note(d, "Nothing yet on Friday 02-19 (four working days). On Saturday 02-20:");
        rc = run(d, 0, "2021-02-20", "tick", END_OF_ARGS);
    }
    if (rc == 0) {
        note(d, "The national programme's seven working days end on Tuesday 02-23:");
        rc = run(d, 0, "2021-02-23", "tick", END_OF_ARGS);
    }
    return rc;
}

/* The project the tour leaves overdue: the county one; the one it accepts: the
 * municipal one. */
static int step_start(demo *d)
{
    demo_pick *b = blacklisted(d), *county = pick_of(d, "RGSP");
    heading(d, N_("Task books (任务书) and due dates"),
            "Approval set each project's start and due dates from its workflow (one year for\n"
            "the county plan, two for the municipal, three for the provincial and national).\n"
            "Signing the task book starts the work (在研); a task book may fix another due\n"
            "date.");
    for (size_t i = 0; i < d->n_picks; i++) {
        demo_pick *p = &d->picks[i];
        if (p == b)
            continue;
        if (p == county)
            note(d, "The county project's task book fixes its due date at the end of 2021:");
        int rc = advance_with_document(d, p, "2021-03-01", "start", "task_book", "任务书",
                                       "（项目任务书：目标、进度、经费预算）",
                                       p == county ? "agreed_due_date=2021-12-31" : NULL);
        if (rc)
            return rc;
    }
    return run(d, 0, NULL, "project", "list", "--year", "2021", END_OF_ARGS);
}

static int step_check(demo *d)
{
    demo_pick *p = pick_of(d, "PKRD");
    heading(d, N_("Mid-term check (中期检查)"),
            "The provincial key R&D plan requires a mid-term check; the report is attached and\n"
            "the check recorded (pass; rectify (整改) and fail are the other outcomes).");
    if (!p)
        return 0;
    return advance_with_document(d, p, "2022-03-15", "check_pass", "midterm_report", "中期检查报告",
                                 "（中期检查报告：进展、经费使用、存在问题）", NULL);
}

static int step_accept(demo *d)
{
    demo_pick *p = pick_of(d, "NTSP"), *county = pick_of(d, "RGSP");
    heading(d, N_("Acceptance (验收) — and one left overdue (应结未结)"),
            "A project applies for acceptance with its report, and the acceptance closes it.\n"
            "A project still open after its due date is overdue: due but not closed.");
    if (!p || !county)
        return 0;
    int rc = advance_with_document(d, p, "2022-05-10", "submit_acceptance", "acceptance_report",
                                   "验收报告", "（项目验收报告：完成情况、经费决算）", NULL);
    if (rc == 0)
        rc = run(d, 0, "2022-06-20", "project", "advance", p->code, "accept", END_OF_ARGS);
    if (rc == 0) {
        note(d, "%s was due on 2021-12-31 and is still in progress:", county->code);
        rc = run(d, 0, "2022-06-30", "project", "list", "--overdue", END_OF_ARGS);
    }
    if (rc == 0) {
        note(d, "Every change is an event in the project's hash chain, with who (the database\n"
                "role), when, the reason, each check's evidence and the documents' digests:");
        rc = run(d, 0, NULL, "project", "history", p->code, END_OF_ARGS);
    }
    return rc;
}

static int step_audit(demo *d)
{
    heading(d, N_("The auditor's view (审计/纪检)"),
            "Auditors read and cannot change anything (the database's grants enforce it). They\n"
            "ask what was due but not closed (应结未结) as of any date, what was closed, and\n"
            "whether the history is intact: every event is hash-chained, and a checkpoint\n"
            "signed with Ed25519 and kept outside the database detects any later change,\n"
            "insertion, deletion or truncation.");
    demo_pick *county = pick_of(d, "RGSP");
    d->as = AUDITOR;
    int rc = run(d, 0, "2022-06-30", "audit", "unclosed", "--as-of", "2022-06-30", END_OF_ARGS);
    if (rc == 0)
        rc = run(d, 0, NULL, "audit", "closed", END_OF_ARGS);
    if (rc == 0 && county) {
        note(d,
             "The auditor may not change anything: advancing %s is refused with exit\n"
             "status 7 (permission denied):",
             county->code);
        rc = run(d, 7, NULL, "project", "advance", county->code, "submit_acceptance", END_OF_ARGS);
    }
    if (rc == 0) {
        note(d, "The administrator records a signed checkpoint (an auditor may make one too,\n"
                "kept only in its file: auditors write nothing to the database):");
        d->as = NULL;
        rc = run(d, 0, NULL, "audit", "checkpoint", "--key", "auditor-key.pem", "--generate-key",
                 "--out", "checkpoint-2022-06-30.json", END_OF_ARGS);
    }
    if (rc == 0) {
        d->as = AUDITOR;
        rc = run(d, 0, NULL, "audit", "verify", "--checkpoint", "checkpoint-2022-06-30.json",
                 "--pubkey", "auditor-key.pem.pub", END_OF_ARGS);
    }
    return rc;
}

/* The summary as leadership reads it: a workbook with its chart, in the tour's directory. */
static int step_report_workbook(demo *d)
{
    note(d, "The same as a workbook, with a chart of the bars by level, for leadership:");
    int rc = run_workbook(d, NULL, "report", "summary", "--year", "2021", "--by", "level",
                          "--format", "xlsx", "--output", "report-2021.xlsx", END_OF_ARGS);
    if (rc == 0)
        note(d,
             "It is in the tour's directory: %s/report-2021.xlsx\n(removed with it at the end: "
             "with --step, open it before going on; the same command\non the tour's database "
             "writes one to keep).",
             d->dir);
    return rc;
}

static int step_report(demo *d)
{
    heading(d, N_("Reports (报表) and the year's targets"),
            "The bureau's figures by level (or plan, year, town, field, state), amounts in 万元.\n"
            "The 2021 targets are those of the bureau's plan: 200 applications and 3000 万元\n"
            "secured from plans of municipal level and above; the completion rate follows.");
    d->as = NULL;
    int rc = run(d, 0, "2022-06-30", "report", "summary", "--year", "2021", "--by", "level",
                 END_OF_ARGS);
    if (rc == 0)
        rc = step_report_workbook(d);
    if (rc == 0)
        rc = run(d, 0, NULL, "report", "target", "set", "--year", "2021", "--metric",
                 "applications", "--value", "200", END_OF_ARGS);
    if (rc == 0)
        rc = run(d, 0, NULL, "report", "target", "set", "--year", "2021", "--metric", "funding",
                 "--level", "municipal_and_above", "--value", "3000", END_OF_ARGS);
    if (rc == 0)
        rc = run(d, 0, NULL, "report", "target", "set", "--year", "2021", "--metric", "approvals",
                 "--level", "provincial_and_above", "--value", "4", END_OF_ARGS);
    if (rc == 0)
        rc = run(d, 0, NULL, "report", "targets", "--year", "2021", END_OF_ARGS);
    return rc;
}

static void closing(demo *d, stpm_db *db)
{
    wait_key(d);
    printf(_("\n%s== The end of the tour%s\n"), col(d, C_HEAD), col(d, C_OFF));
    if (d->conninfo)
        printf(_("Its database stays for you to look around:\n"
                 "  stpm --db \"%s\" project list\n"
                 "The next \"stpm demo\" drops it and starts again; \"stpm db stop\" stops the\n"
                 "embedded cluster.\n"),
               d->conninfo);
    else
        printf(_("Its data stays in %s.\n"), stpm_db_describe(db));
    printf(_("More: \"stpm --help\", man stpm, and the pages under docs/.\n"));
}

static int tour(demo *d)
{
    stpm_db *db = NULL;
    int rc = 0;
    printf(_("%sstpm — 科技项目全周期管理 (science & technology project lifecycle manager)%s\n\n"
             "A county S&T bureau (科技局) steers companies' projects through its plans:\n"
             "  储备 reserve → 申报 application → 廉政准入 integrity admission → 立项 approval\n"
             "  → 在研检查 in-progress checks → 验收 acceptance\n"
             "and auditors (审计/纪检) see, as of any date, what is closed and what is due but\n"
             "unclosed (应结未结). This tour runs the real commands on Rugao's (如皋) example "
             "data.\n\n"),
           col(d, C_HEAD), col(d, C_OFF));
    fflush(stdout);
    if (!d->ctx->db &&
        stpm_db_resolve(&(stpm_db_options)STPM_DB_OPTIONS_INIT) == STPM_DB_SOURCE_EMBEDDED) {
        if ((rc = prepare_embedded(d)) != 0)
            return rc;
        if ((rc = cli_connect(d->ctx, &db)) != 0)
            return rc;
    } else {
        if ((rc = cli_connect(d->ctx, &db)) != 0 || (rc = check_empty(d, db)) != 0)
            return rc;
    }
    printf(_("Connected as %s to PostgreSQL %s; the schema is migrated.\n"), stpm_db_role(db),
           stpm_db_server_version(db));
    if ((rc = enter_workdir(d)) != 0)
        return rc;
    printf(_("The tour's files are written to %s, its working directory, which is\n"
             "removed at the end.\n"),
           d->dir);
    if ((rc = step_workflows(d)) || (rc = step_plans(d)) || (rc = step_users(d)) ||
        (rc = step_survey(d)) || (rc = step_rank(d)) || (rc = step_promote(d, db)) ||
        (rc = step_apply(d)) || (rc = step_commitments(d)) || (rc = step_blacklist(d)) ||
        (rc = step_admit(d)) || (rc = step_publicize(d)) || (rc = step_tick(d)) ||
        (rc = step_start(d)) || (rc = step_check(d)) || (rc = step_accept(d)) ||
        (rc = step_audit(d)) || (rc = step_report(d)))
        return rc;
    closing(d, db);
    return 0;
}

int cli_cmd_demo(cli_ctx *ctx, int argc, char **argv)
{
    static const char usage[] = "stpm demo [--step]";
    cli_opt opts[] = {
        CLI_FLAG("step", 0, "on a terminal, wait for Enter before each step"),
        CLI_END,
    };
    cli_args args;
    demo d = {0};
    d.ctx = ctx;
    d.cwd_fd = -1;
    int rc = cli_parse(ctx, usage, opts, argc, argv, &args);
    if (rc != 0)
        goto out;
    if (args.help) {
        cli_print_help(stdout, usage, demo_summary, opts);
        goto out;
    }
    if (args.n_operands > 0) {
        rc = cli_usage_error("stpm demo takes no operands");
        goto out;
    }
    d.color = ctx->color;
    d.pause = cli_opt_get(opts, "step")->flag && isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
    bool today_set = ctx->today_set;
    stpm_date today = ctx->today;
    cli_format format = ctx->format;
    rc = tour(&d);
    ctx->today_set = today_set;
    ctx->today = today;
    ctx->format = format;
    leave_workdir(&d);
    picks_clear(&d);
    stpm_db_free(d.as_handle);
    free(d.as_name);
    free(d.as_db);
    if (ctx->db == d.conninfo) {
        cli_disconnect(ctx);
        ctx->db = NULL;
    }
    free(d.conninfo);
out:
    cli_args_free(&args);
    cli_opts_free(opts);
    return rc;
}

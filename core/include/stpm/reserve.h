/*
 * stpm — the reserve pool (储备库): listing candidates, ranking them (好中选优) by the
 * weights of a scoring file, and promoting one into a project under a plan.
 *
 * Scoring files (format: docs/scoring.md) name criteria, each with a weight, a survey
 * column as input and a rule that turns the input into a fraction 0..1. A candidate's
 * score is the sum of weight × fraction over the criteria, 0..100. All arithmetic is
 * exact decimal (stpm_decimal, four places): each fraction is rounded half away from
 * zero to four places, and so is each weighted contribution. The shipped file
 * (workflows/scoring.yaml) is built into the library.
 *
 * Entries are named by their id; people type a prefix of it (at least 6 hex digits, the
 * 8 that `reserve list` shows are usually enough) — see stpm_reserve_promote.
 */
#ifndef STPM_RESERVE_H
#define STPM_RESERVE_H

#include "stpm/common.h"
#include "stpm/date.h"
#include "stpm/db.h"
#include "stpm/decimal.h"
#include "stpm/error.h"
#include "stpm/rows.h"

/* ---- scoring ---- */

typedef struct stpm_scoring stpm_scoring;

/* Load and validate a scoring file. Every problem is collected as FILE:LINE:COL in err
 * (STPM_EINPUT) and nothing is returned; a missing file is STPM_ENOTFOUND. */
STPM_API int stpm_scoring_load_file(stpm_scoring **out, const char *path, stpm_error *err);
/* Load scoring text held in memory; name is the file name used in diagnostics. */
STPM_API int stpm_scoring_load_text(stpm_scoring **out, const char *name, const char *text,
                                    size_t len, stpm_error *err);
/* true when the YAML file at path is a scoring file (a mapping with a top-level `scoring:`
 * key and no `workflow:` key, as workflows/scoring.yaml), which lives beside the workflows
 * but is none; false for anything else, also a file that cannot be read or parsed (its
 * loader then says why). */
STPM_API bool stpm_scoring_file_is(const char *path);
/* The shipped scheme (workflows/scoring.yaml, built into the library). */
STPM_API int stpm_scoring_load_default(stpm_scoring **out, stpm_error *err);
/* Release a scheme. Accepts NULL. */
STPM_API void stpm_scoring_free(stpm_scoring *s);

/* The scheme's name, version and title. */
STPM_API const char *stpm_scoring_name(const stpm_scoring *s);
STPM_API int stpm_scoring_version(const stpm_scoring *s);
STPM_API const char *stpm_scoring_title(const stpm_scoring *s);
/* Its criteria, in file order: name (an identifier), label, weight. */
STPM_API size_t stpm_scoring_n_criteria(const stpm_scoring *s);
STPM_API const char *stpm_scoring_criterion_name(const stpm_scoring *s, size_t i);
STPM_API const char *stpm_scoring_criterion_label(const stpm_scoring *s, size_t i);
STPM_API stpm_decimal stpm_scoring_criterion_weight(const stpm_scoring *s, size_t i);

/* What a candidate said, as scoring reads it. NULL text or set == false: not given. */
typedef struct stpm_reserve_values {
    bool high_tech_set;
    bool high_tech;
    bool maturity_set;
    int maturity;
    bool rd_spend_set, revenue_set, planned_investment_set, requested_funding_set;
    stpm_decimal rd_spend, revenue, planned_investment, requested_funding;
    const char *partner;
    const char *target_plan;
    const char *field;
    const char *town;
} stpm_reserve_values;

/* One criterion's part of a score. */
typedef struct stpm_score_part {
    bool missing;          /* the input (or ratio_to column) was not given: 0 */
    stpm_decimal fraction; /* 0..1, four places */
    stpm_decimal points;   /* weight × fraction, four places */
} stpm_score_part;

/* Score v: *total (0..100) and, when parts is not NULL, one part per criterion (an array
 * of stpm_scoring_n_criteria elements). */
STPM_API void stpm_scoring_score(const stpm_scoring *s, const stpm_reserve_values *v,
                                 stpm_decimal *total, stpm_score_part *parts);

/* ---- the pool ---- */

/* A selection of candidates; NULL / 0 members do not restrict. */
typedef struct stpm_reserve_filter {
    int year;
    const char *town;  /* 所属板块 */
    const char *field; /* 技术领域 */
    const char *plan;  /* a plan code: candidates whose 拟申报计划 is that plan's name */
} stpm_reserve_filter;

#define STPM_RESERVE_FILTER_INIT                                                                   \
    {                                                                                              \
        0, NULL, NULL, NULL                                                                        \
    }

/* The candidates (entry: the first 8 hex digits of the id, id, year, uscc, org, town,
 * title, field, target_plan, leader, requested_funding, project: the code once promoted)
 * ordered by year, organisation and title. An unknown plan: STPM_ENOTFOUND. */
STPM_API int stpm_reserve_list(stpm_db *db, const stpm_reserve_filter *f, stpm_rows **out,
                               stpm_error *err);

/* One ranked candidate. */
typedef struct stpm_ranked {
    size_t rank; /* 1-based */
    char id[37];
    char *org_name, *uscc, *title, *target_plan, *project; /* project: code or NULL */
    stpm_reserve_values values;
    stpm_decimal score;
    stpm_score_part *parts; /* one per criterion */
} stpm_ranked;

typedef struct stpm_ranking {
    stpm_ranked *items;
    size_t n;
} stpm_ranking;

/* Score the candidates of f (year required) and order them: score descending, then
 * requested funding ascending (not given last), then USCC, title and id — deterministic.
 * top > 0 keeps the first top. Free with stpm_ranking_clear. */
STPM_API int stpm_reserve_rank(stpm_db *db, const stpm_reserve_filter *f, const stpm_scoring *s,
                               size_t top, stpm_ranking *out, stpm_error *err);
STPM_API void stpm_ranking_clear(stpm_ranking *r);

#define STPM_PROMOTE_OPTIONS_VERSION 1

typedef struct stpm_promote_options {
    unsigned version;   /* STPM_PROMOTE_OPTIONS_VERSION */
    const char *plan;   /* plan code, required */
    const char *leader; /* default: the leader the survey names */
    int year;           /* the project's year; 0: the entry's survey year */
    stpm_date today;
} stpm_promote_options;

#define STPM_PROMOTE_OPTIONS_INIT                                                                  \
    {                                                                                              \
        STPM_PROMOTE_OPTIONS_VERSION, NULL, NULL, 0, 0                                             \
    }

/*
 * Promote the candidate named by entry (a prefix of its id, at least 6 hex digits, dashes
 * allowed) into a new project under opts->plan, in one transaction: the project is made
 * by stpm_project_create with the candidate's title, organisation, leader, field and
 * requested funding (amount_requested), linked to the entry both ways, and its history
 * begins with the 'create' event naming the entry and the survey import it came from.
 * *code receives the project's code (malloc'd). No such entry: STPM_ENOTFOUND; a prefix
 * matching several: STPM_EUSAGE; already promoted: STPM_EREFUSED naming that project.
 */
STPM_API int stpm_reserve_promote(stpm_db *db, const char *entry, const stpm_promote_options *opts,
                                  char **code, stpm_error *err);

/* ---- many candidates at once: `reserve promote --where | --from` ---- */

/* The conditions of `reserve promote --where` (stpm_reserve_where_parse): space-separated
 * KEY=VALUE terms, as `project advance --where`. year (survey year), town, field,
 * target_plan (a plan code: the entries whose 拟申报计划 is that plan's name), org (USCC),
 * min_score (the score by the scoring weights, at least this), top (the best N of the
 * ranking, as `reserve rank --top N`); min_score and top need year. Entries promoted
 * already are never selected. */
typedef struct stpm_reserve_where {
    int year;
    char *town, *field, *target_plan, *org;
    bool has_min_score;
    stpm_decimal min_score;
    size_t top;
} stpm_reserve_where;

#define STPM_RESERVE_WHERE_INIT                                                                    \
    {                                                                                              \
        0, NULL, NULL, NULL, NULL, false, 0, 0                                                     \
    }

STPM_API int stpm_reserve_where_parse(const char *where, stpm_reserve_where *w, stpm_error *err);
STPM_API void stpm_reserve_where_clear(stpm_reserve_where *w);

/* One candidate's outcome. outcome is an stpm_outcome (stpm/project.h): ok, refused (the
 * entry is unknown, ambiguous, promoted already, names no leader ...), conflict, error. */
typedef struct stpm_promote_item {
    char *entry;   /* as given (--from) or the first 8 hex digits of the id (--where) */
    char id[37];   /* the entry's id, "" when it names none */
    char *org;     /* the organisation's name, NULL when unknown */
    char *title;   /* NULL when unknown */
    char *project; /* the project's code (the one it would get, in a dry run); NULL */
    int outcome;
    char *message; /* why not; NULL when ok */
} stpm_promote_item;

typedef struct stpm_promote_report {
    stpm_promote_item *items;
    size_t n, cap;
    size_t n_ok, n_refused, n_conflict, n_error;
    bool dry_run;
} stpm_promote_report;

#define STPM_PROMOTE_REPORT_INIT                                                                   \
    {                                                                                              \
        NULL, 0, 0, 0, 0, 0, 0, false                                                              \
    }

STPM_API void stpm_promote_report_clear(stpm_promote_report *r);

/*
 * Promote every candidate that w selects (s: the scoring weights for min_score and top;
 * may be NULL otherwise) — or, with stpm_reserve_promote_list, the entries named (id
 * prefixes as stpm_reserve_promote takes them) — under opts->plan, each in its own
 * subtransaction of a server call per batch (stpm.reserve_promote_many, migrations/088):
 * one refused entry does not undo the others, and each is what `reserve promote ENTRY`
 * would have made. dry_run: the same calls in a transaction that is rolled back, so each
 * outcome is the real one and nothing is written. Returns 0 once every entry has its
 * outcome in *report; a negative code only when the run itself failed (no such plan,
 * permission, the server lost).
 */
STPM_API int stpm_reserve_promote_where(stpm_db *db, const stpm_reserve_where *w,
                                        const stpm_scoring *s, const stpm_promote_options *opts,
                                        bool dry_run, stpm_promote_report *report, stpm_error *err);
STPM_API int stpm_reserve_promote_list(stpm_db *db, const char *const *entries, size_t n,
                                       const stpm_promote_options *opts, bool dry_run,
                                       stpm_promote_report *report, stpm_error *err);
/* The same for the entries of a file, one a line (blank lines and # comments skipped). */
STPM_API int stpm_reserve_promote_file(stpm_db *db, const char *path,
                                       const stpm_promote_options *opts, bool dry_run,
                                       stpm_promote_report *report, stpm_error *err);

#endif

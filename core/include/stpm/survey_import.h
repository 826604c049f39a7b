/*
 * stpm — importing the annual October survey (科技项目调研) into the reserve pool
 * (储备库, DESIGN §8).
 *
 * One import is one transaction. The validated rows of stpm_survey_reader (stpm/survey.h)
 * are streamed with COPY FROM STDIN into a temporary staging table while the file is
 * read, so memory stays flat whatever the file's size; when the reader has found any
 * error the transaction is rolled back and every error comes back as FILE:ROW:COLUMN
 * (STPM_EINPUT) — nothing is imported. Then, set-based:
 *
 *   - organisations (stpm.orgs) are upserted by USCC; name and town are updated when the
 *     survey says otherwise (the last row of an organisation in the file wins);
 *   - the organisation's figures of the survey year (stpm.org_figures: 研发投入, 营业收入,
 *     高新技术企业) are upserted from its last row that gives any of them;
 *   - candidates (stpm.reserve_entries) are keyed by (survey year, organisation,
 *     normalised title). Each row's digest (SHA-256 of its canonical values, see
 *     stpm_survey_row_digest) tells a new candidate from an updated or unchanged one;
 *     only new and changed candidates are written, and they point at this import;
 *   - one stpm.survey_imports row records the file name, the file's SHA-256 and the
 *     counts, and one event (chain 'survey:<year>', kind 'import') records the same in
 *     the history.
 *
 * Importing the same file again writes no candidate or organisation and reports
 * "0 new, 0 updated, N unchanged" (the run itself is still recorded). Candidates absent
 * from a later file are kept: an import never deletes. Imports of the same year queue
 * behind each other (a transaction-level advisory lock). A process killed half way
 * leaves nothing behind: the server rolls the open transaction back.
 */
#ifndef STPM_SURVEY_IMPORT_H
#define STPM_SURVEY_IMPORT_H

#include "stpm/common.h"
#include "stpm/date.h"
#include "stpm/db.h"
#include "stpm/error.h"
#include "stpm/survey.h"

/* Called now and then while the file is read: bytes read of total (0 when unknown) and
 * rows read so far; phase is "reading" while rows stream in, then "merging" once. */
typedef void (*stpm_survey_progress_fn)(void *arg, const char *phase, uint64_t done, uint64_t total,
                                        size_t rows);

#define STPM_SURVEY_IMPORT_OPTIONS_VERSION 1

typedef struct stpm_survey_import_options {
    unsigned version;                 /* STPM_SURVEY_IMPORT_OPTIONS_VERSION */
    stpm_survey_options read;         /* year (required), encoding, format, display name */
    bool dry_run;                     /* do everything, report the counts, then roll back */
    stpm_date today;                  /* business date of the event; 0 for the server's date */
    stpm_survey_progress_fn progress; /* or NULL */
    void *progress_arg;
} stpm_survey_import_options;

#define STPM_SURVEY_IMPORT_OPTIONS_INIT                                                            \
    {                                                                                              \
        STPM_SURVEY_IMPORT_OPTIONS_VERSION, STPM_SURVEY_OPTIONS_INIT, false, 0, NULL, NULL         \
    }

/* What an import did (or, with dry_run, would do). */
typedef struct stpm_survey_import_result {
    char import_id[37];   /* the stpm.survey_imports row; "" after a dry run */
    char file_digest[65]; /* SHA-256 of the file's bytes, hex */
    int year;
    size_t rows;            /* candidates in the file */
    size_t new_rows;        /* candidates not in the pool before */
    size_t updated;         /* candidates whose values changed */
    size_t unchanged;       /* candidates already in the pool as the file says */
    size_t orgs_new;        /* organisations added */
    size_t orgs_updated;    /* organisations whose name or town changed */
    size_t figures_changed; /* org_figures rows added or changed */
    stpm_encoding encoding; /* the encoding the file was read in */
    bool dry_run;
} stpm_survey_import_result;

/*
 * Import the survey file at path (not "-": a file; its SHA-256 is computed as it is read)
 * into the reserve pool of opts->read.year. On 0, *result (may be NULL) holds the counts.
 * Bad rows: STPM_EINPUT with every diagnostic in err and nothing written; no such file:
 * STPM_ENOTFOUND; a year out of 1990..2100: STPM_EUSAGE; the role may not import (an
 * auditor): STPM_EPERM.
 */
STPM_API int stpm_survey_import(stpm_db *db, const char *path,
                                const stpm_survey_import_options *opts,
                                stpm_survey_import_result *result, stpm_error *err);

/*
 * The digest that tells an edited candidate from an unchanged one: the SHA-256 (hex) of
 * "v1", the year, the USCC, the title and every other value the candidate stores (field,
 * target plan, leader, the four amounts with four decimals, high-tech, partner, maturity,
 * notes), separated by U+001F, a missing value written as U+001E. The organisation's
 * name and town are not part of it (they are the organisation's, not the candidate's).
 * Returns false only when OpenSSL fails.
 */
STPM_API bool stpm_survey_row_digest(const stpm_survey_row *row, char out[65]);

#endif

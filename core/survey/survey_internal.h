/* Internal: the survey reader's state, shared by the CSV (survey.c) and YAML (yaml.c)
 * front ends. Each front end fills the cells of one row; survey.c validates them. */
#ifndef STPM_SURVEY_INTERNAL_H
#define STPM_SURVEY_INTERNAL_H

#include <yaml.h>

#include "stpm/survey.h"
#include "survey/book.h"
#include "survey/csv.h"
#include "survey/decode.h"
#include "util/strutil.h"

/* The columns of the format, in the order of DESIGN §8. */
typedef enum {
    SV_ORG_NAME,
    SV_USCC,
    SV_TOWN,
    SV_TITLE,
    SV_FIELD,
    SV_TARGET_PLAN,
    SV_LEADER,
    SV_PLANNED_INVESTMENT,
    SV_REQUESTED_FUNDING,
    SV_RD_SPEND,
    SV_REVENUE,
    SV_HIGH_TECH,
    SV_PARTNER,
    SV_MATURITY,
    SV_NOTES,
    SV_NCOLS
} survey_col;

/* One part of the index of keys seen (see key_insert in survey.c). */
#define SURVEY_KEY_SHARD_BITS 8
#define SURVEY_KEY_SHARDS (1u << SURVEY_KEY_SHARD_BITS)
typedef struct survey_key_shard {
    uint64_t *hash; /* 0 = empty slot */
    uint32_t *row;
    size_t cap, count;
} survey_key_shard;

struct stpm_survey_reader {
    char *file; /* name in diagnostics */
    int year;
    stpm_survey_format format;
    size_t max_diags;
    stpm_decoder *dec;

    /* CSV */
    stpm_csv *csv;
    int *field_col; /* header field index -> survey_col or -1 */
    size_t n_header;
    bool *warned_field; /* a value under a header-less column was warned about */
    bool header_read;
    bool header_zh;          /* the header is in Chinese: name missing columns in Chinese */
    int col_field[SV_NCOLS]; /* the header field (0-based column) of each column, or -1 */

    /* workbook (.xlsx, .xls): its rows go through the CSV front end's checks */
    stpm_book *book;
    int book_fd;          /* the file, kept open to hash it (survey_reader_drain) */
    int diag_field;       /* >= 0: the column the next diagnostic is about */
    size_t skipped_title; /* rows above the header */
    void (*raw_cb)(void *arg, const char *buf, size_t n);
    void *raw_arg;

    /* YAML */
    yaml_parser_t yaml;
    bool yaml_open;
    int yaml_stage;          /* 0 before the list, 1 in the list, 2 after it */
    stpm_strbuf yaml_warned; /* unknown keys already warned about, NUL-separated */
    const char *yaml_chunk;  /* decoded bytes not yet given to libyaml */
    size_t yaml_left;
    int yaml_failed; /* the decoder's error code, when reading stopped */

    /* the current row */
    bool header_ok; /* every required column is there */
    bool stop;      /* no more rows: the end, or reading cannot go on */
    int cur_row, cur_line;
    survey_col order[SV_NCOLS]; /* the columns in the order of the file (header / keys) */
    size_t n_order;
    bool present[SV_NCOLS];
    stpm_strbuf raw[SV_NCOLS];   /* values as read */
    stpm_strbuf cname[SV_NCOLS]; /* the column name as in the file */
    int cell_row[SV_NCOLS];      /* where each value is (YAML: its line) */
    stpm_strbuf val[SV_NCOLS];   /* normalised values handed out */
    stpm_strbuf title_key;
    char uscc[19];
    stpm_survey_row row;
    size_t row_errors; /* errors in the current row */

    /* what was found */
    stpm_error errors;
    size_t n_errors;
    stpm_error warnings;
    size_t rows;

    /* keys seen: 64-bit hashes of (uscc, title key) and the rows they came from */
    survey_key_shard keys[SURVEY_KEY_SHARDS];
};

/* The column whose Chinese or English name (or an accepted variant) is name[0..len), or
 * -1. *zh tells whether the Chinese name matched. */
int survey_column_lookup(const char *name, size_t len, bool *zh);
/* The canonical Chinese and English names of a column. */
const char *survey_column_zh(survey_col c);
const char *survey_column_en(survey_col c);

/* Collect an error / warning located FILE:ROW:COLUMN. */
void survey_error(stpm_survey_reader *r, int row, const char *column, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void survey_warning(stpm_survey_reader *r, int row, const char *column, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Forget the current row's cells. */
void survey_clear_cells(stpm_survey_reader *r);

/* YAML front end: open on r->dec; read the next mapping into the cells (1), 0 at the end,
 * or a negative code when reading cannot go on (the error is collected and set in err). */
int survey_yaml_open(stpm_survey_reader *r, stpm_error *err);
int survey_yaml_next(stpm_survey_reader *r, stpm_error *err);
void survey_yaml_close(stpm_survey_reader *r);

/* stpm_survey_reader_open, with raw_cb (or NULL) called with every byte read from the
 * file, in order: the importer hashes the file in the same pass. After the reader's end,
 * survey_reader_drain reads what is left so that raw_cb has seen the whole file. */
int survey_reader_open_raw(stpm_survey_reader **out, const char *path,
                           const stpm_survey_options *opts,
                           void (*raw_cb)(void *arg, const char *buf, size_t n), void *raw_arg,
                           stpm_error *err);
int survey_reader_drain(stpm_survey_reader *r, stpm_error *err);

#endif

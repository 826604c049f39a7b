/*
 * stpm — reading the annual October survey (科技项目调研, DESIGN §8).
 *
 * A survey file is CSV as a spreadsheet exports it (UTF-8 with or without BOM, or
 * GB18030/GBK; CRLF, LF or CR; RFC 4180 quoting), YAML (a list of mappings with the same
 * keys), or an Excel workbook (.xlsx, or .xls of Excel 97-2003; found by content): its first
 * sheet or the one named, the header being the first row holding at least two of the
 * format's columns (title rows above it are skipped). One row per candidate project. The
 * reader streams: memory stays bounded by the longest record, plus 12 bytes a row for
 * finding duplicate keys (and a workbook's shared strings, spilled to a temporary file
 * beyond 16 MiB).
 *
 *     stpm_survey_options o = STPM_SURVEY_OPTIONS_INIT;
 *     o.year = 2020;
 *     stpm_survey_reader *r = NULL;
 *     if (stpm_survey_reader_open(&r, "survey.csv", &o, &err) < 0) ...
 *     const stpm_survey_row *row;
 *     while ((rc = stpm_survey_reader_next(r, &row, &err)) > 0)
 *         use(row);                       // only rows without errors come out
 *     if (rc == 0)
 *         rc = stpm_survey_reader_finish(r, &err);  // STPM_EINPUT with every error
 *     stpm_survey_reader_free(r);
 *
 * Every error of every row is collected (the reader goes on after a bad row), each
 * located as FILE:ROW:COLUMN — ROW as a spreadsheet shows it (the header is row 1; a
 * quoted value with line breaks still makes one row), COLUMN the header as written in the
 * file. In YAML files ROW is the line of the value (or of the mapping, for a missing key).
 * In a workbook each diagnostic also names its cell as SHEET!CELL (stpm_diag.cell, e.g.
 * "Sheet1!H7"; "Sheet1!7:7" for a whole row), shown as FILE:SHEET!CELL.
 * An importer must import nothing unless finish() returns 0.
 */
#ifndef STPM_SURVEY_H
#define STPM_SURVEY_H

#include "stpm/common.h"
#include "stpm/decimal.h"
#include "stpm/error.h"

/* The character encoding of an input file. */
typedef enum {
    STPM_ENCODING_AUTO = 0, /* BOM, else valid UTF-8 in the first 64 KiB, else GB18030 */
    STPM_ENCODING_UTF8,
    STPM_ENCODING_GB18030, /* also reads GBK and GB2312, its subsets */
} stpm_encoding;

/* Parse "auto", "utf-8" (or "utf8"), "gb18030" (or "gbk", "gb2312"), case-insensitive.
 * 0 on success, -1 otherwise. */
STPM_API int stpm_encoding_parse(const char *s, stpm_encoding *out);
/* "auto", "utf-8" or "gb18030". */
STPM_API const char *stpm_encoding_name(stpm_encoding enc);

typedef enum {
    STPM_SURVEY_FORMAT_AUTO = 0, /* by extension (.csv, .yaml, .yml), else by content */
    STPM_SURVEY_FORMAT_CSV,
    STPM_SURVEY_FORMAT_YAML,
    STPM_SURVEY_FORMAT_XLSX, /* an Excel workbook (Office Open XML), found by its content */
    STPM_SURVEY_FORMAT_XLS,  /* an Excel 97-2003 workbook, found by its content */
} stpm_survey_format;

typedef struct stpm_survey_options {
    int version;               /* STPM_SURVEY_OPTIONS_VERSION */
    int year;                  /* the survey year, part of each candidate's key */
    stpm_encoding encoding;    /* default AUTO */
    stpm_survey_format format; /* default AUTO */
    const char *display_name;  /* the file name in diagnostics; default the path */
    size_t max_diags;          /* errors kept in full (0 = 1000); the rest are only counted */
    /* version 2: */
    const char *sheet; /* a workbook's sheet to read; NULL = the first */
} stpm_survey_options;

/* Version 1 (without sheet) is still accepted. */
#define STPM_SURVEY_OPTIONS_VERSION 2
#define STPM_SURVEY_OPTIONS_INIT                                                                   \
    {                                                                                              \
        STPM_SURVEY_OPTIONS_VERSION, 0, STPM_ENCODING_AUTO, STPM_SURVEY_FORMAT_AUTO, NULL, 0, NULL \
    }

/* An amount in 万元; set is false when the cell was empty. */
typedef struct stpm_survey_amount {
    bool set;
    stpm_decimal value; /* never negative */
} stpm_survey_amount;

/* One validated candidate. Strings are UTF-8, trimmed, inner white space collapsed;
 * optional ones are NULL when not given. Valid until the next call on the reader. */
typedef struct stpm_survey_row {
    int row;                 /* spreadsheet row (CSV) or line of the mapping (YAML) */
    int line;                /* physical line where the row starts */
    int year;                /* the options' year */
    const char *org_name;    /* 企业名称, required */
    const char *uscc;        /* 统一社会信用代码, required, normalised (18 characters) */
    const char *town;        /* 所属板块, required */
    const char *title;       /* 项目名称, required */
    const char *title_key;   /* the normalised title: with year and uscc, the key */
    const char *field;       /* 技术领域 */
    const char *target_plan; /* 拟申报计划 */
    const char *leader;      /* 项目负责人, required */
    stpm_survey_amount planned_investment; /* 预计总投入（万元） */
    stpm_survey_amount requested_funding;  /* 申请资助（万元） */
    stpm_survey_amount rd_spend;           /* 研发投入（万元） */
    stpm_survey_amount revenue;            /* 营业收入（万元） */
    int high_tech;                         /* 是否高新技术企业: -1 not given, 0 no, 1 yes */
    const char *partner;                   /* 产学研合作单位 */
    int maturity;                          /* 技术成熟度 1..9, 0 when not given */
    const char *notes;                     /* 备注 */
} stpm_survey_row;

typedef struct stpm_survey_reader stpm_survey_reader;

/* Open a survey file ("-" reads standard input) and read its header. Fails with
 * STPM_ENOTFOUND when the file does not exist, STPM_EUSAGE for bad options, STPM_ERROR
 * when it cannot be opened; problems in the header (a missing required column) are
 * collected like row errors, not returned here. */
STPM_API int stpm_survey_reader_open(stpm_survey_reader **out, const char *path,
                                     const stpm_survey_options *opts, stpm_error *err);

/* The next row without errors in *out: returns 1; 0 at the end; a negative code when the
 * file cannot be read any further (I/O error, bad encoding, unterminated quote), with err
 * set — that problem is also among the collected errors. */
STPM_API int stpm_survey_reader_next(stpm_survey_reader *r, const stpm_survey_row **out,
                                     stpm_error *err);

/* After the last next(): 0 when the whole file was valid; else STPM_EINPUT with the
 * message "N errors in FILE" and every collected diagnostic (FILE:ROW:COLUMN) in err. */
STPM_API int stpm_survey_reader_finish(stpm_survey_reader *r, stpm_error *err);

/* Errors found so far (all of them, also those beyond max_diags). */
STPM_API size_t stpm_survey_reader_error_count(const stpm_survey_reader *r);
/* The errors kept so far, in the order found. */
STPM_API const stpm_diag *stpm_survey_reader_errors(const stpm_survey_reader *r, size_t *n);
/* Warnings: columns or keys that are not part of the format (ignored). */
STPM_API const stpm_diag *stpm_survey_reader_warnings(const stpm_survey_reader *r, size_t *n);

/* Data rows read so far (blank rows not counted), valid or not. */
STPM_API size_t stpm_survey_reader_rows(const stpm_survey_reader *r);
/* Bytes of the file read so far and its size (0 when unknown, e.g. a pipe). */
STPM_API void stpm_survey_reader_progress(const stpm_survey_reader *r, uint64_t *done,
                                          uint64_t *total);
/* The encoding in use (what AUTO chose) and the format. */
STPM_API stpm_encoding stpm_survey_reader_encoding(const stpm_survey_reader *r);
STPM_API stpm_survey_format stpm_survey_reader_format(const stpm_survey_reader *r);

/* The sheet being read when the file is a workbook, else NULL. */
STPM_API const char *stpm_survey_reader_sheet(const stpm_survey_reader *r);

/* Close the file and release everything. Accepts NULL. */
STPM_API void stpm_survey_reader_free(stpm_survey_reader *r);

/* The normalised form of a title, as used in the key: trimmed, inner white space
 * collapsed to one space, full-width ASCII forms made half-width, ASCII letters lower
 * case. Returns a new string (free()), NULL when memory runs out. */
STPM_API char *stpm_survey_title_key(const char *title);

#endif

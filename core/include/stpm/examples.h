/*
 * stpm — the example data built into the library: the six shipped workflow definitions
 * (the YAML files of workflows/, one per kind of plan) and the example October 2020 survey
 * (docs/examples/survey-2020.csv, and the same as the bureau's workbook survey-2020.xlsx),
 * as the guided tour (`stpm demo`) needs them whether it runs from the build tree or
 * installed. The texts are byte for byte the files' contents.
 */
#ifndef STPM_EXAMPLES_H
#define STPM_EXAMPLES_H

#include "stpm/common.h"

typedef enum {
    STPM_EXAMPLE_WORKFLOW, /* a workflow definition (YAML) */
    STPM_EXAMPLE_SURVEY,   /* a survey file (CSV or .xlsx) */
} stpm_example_kind;

typedef struct stpm_example {
    stpm_example_kind kind;
    const char *name; /* the file's base name, e.g. "county_rugao.yaml", "survey-2020.csv" */
    const char *text; /* its content (NUL-terminated too; binary for .xlsx) */
    size_t len;       /* its length in bytes */
} stpm_example;

/* How many examples there are: stpm_example_get(i) for each i below it gives one, the
 * workflows first in name order, then the survey. */
STPM_API size_t stpm_example_count(void);

/* Fill *out with the i-th example; false (and *out untouched) when i is out of range.
 * The strings are the library's, valid as long as it is loaded. */
STPM_API bool stpm_example_get(size_t i, stpm_example *out);

/* Fill *out with the example of that base name; false when there is none. */
STPM_API bool stpm_example_find(const char *name, stpm_example *out);

#endif

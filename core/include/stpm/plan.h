/*
 * stpm — science-and-technology plans (科技计划).
 *
 * A plan has a code (the middle part of its projects' human codes, e.g. PKRD in
 * 2021-PKRD-0042: an upper-case letter then 1-15 upper-case letters or digits), a name,
 * a level (national, provincial, municipal, county), whether it grants money (资金类,
 * funded), and the workflow its projects follow; new projects use the newest loaded
 * version of that workflow. Adding a plan writes an event on the chain "plan:<code>"
 * (kind "admin"). Administrators only.
 */
#ifndef STPM_PLAN_H
#define STPM_PLAN_H

#include "stpm/common.h"
#include "stpm/date.h"
#include "stpm/db.h"
#include "stpm/error.h"

typedef struct stpm_plan_spec {
    const char *code;
    const char *name;
    const char *level;    /* national | provincial | municipal | county */
    const char *workflow; /* the name of a loaded workflow */
    bool funded;
} stpm_plan_spec;

#define STPM_PLAN_SPEC_INIT                                                                        \
    {                                                                                              \
        NULL, NULL, NULL, NULL, false                                                              \
    }

/* A plan as listed or shown. Strings are malloc'd. */
typedef struct stpm_plan {
    char *id;
    char *code;
    char *name;
    char *level;
    char *workflow;
    bool funded;
    int workflow_version; /* the newest loaded version of the workflow; 0 when none */
    long projects;        /* projects under the plan, in any state */
    char *created_at;     /* timestamp text */
} stpm_plan;

/* true for the four levels. */
STPM_API bool stpm_plan_level_valid(const char *level);

/* true when code has the form of a plan code (see above). */
STPM_API bool stpm_plan_code_valid(const char *code);

/*
 * Add a plan. A malformed code, an empty name or an unknown level: STPM_EINPUT with a
 * diagnostic naming the field ("code", "name", "level"). The workflow is not loaded:
 * STPM_ENOTFOUND naming it. A plan with that code exists: STPM_ECONFLICT.
 */
STPM_API int stpm_plan_add(stpm_db *db, const stpm_plan_spec *spec, stpm_date today,
                           stpm_error *err);

/* All plans, by level (national first) then code. Free with stpm_plan_list_free. */
STPM_API int stpm_plan_list(stpm_db *db, stpm_plan **out, size_t *n, stpm_error *err);
STPM_API void stpm_plan_list_free(stpm_plan *plans, size_t n);

/* One plan by code; STPM_ENOTFOUND when unknown. Free with stpm_plan_free. */
STPM_API int stpm_plan_show(stpm_db *db, const char *code, stpm_plan **out, stpm_error *err);
STPM_API void stpm_plan_free(stpm_plan *plan);

#endif

/* One item's outcome in the bulk forms (project_bulk.c, attach_many.c, survey/reserve_bulk.c):
 * see project_internal.h. */
#include "stpm/project.h"

#include "project/project_internal.h"
#include "stpm/i18n.h"
#include "util/strutil.h"

char *proj_item_message(const char *message, const char *detail)
{
    if (!message)
        return stpm_strdup(_("unknown error"));
    return detail && *detail ? stpm_asprintf("%s. %s", message, detail) : stpm_strdup(message);
}

int proj_item_outcome(int code)
{
    switch (code) {
    case STPM_EREFUSED:
    case STPM_EINPUT:
    case STPM_ENOTFOUND:
    case STPM_EUSAGE:
        return STPM_OUTCOME_REFUSED;
    case STPM_ECONFLICT:
        return STPM_OUTCOME_CONFLICT;
    default:
        return STPM_OUTCOME_ERROR;
    }
}

void proj_outcome_tally(int outcome, size_t *n_ok, size_t *n_refused, size_t *n_conflict,
                        size_t *n_error)
{
    if (outcome == STPM_OUTCOME_OK)
        ++*n_ok;
    else if (outcome == STPM_OUTCOME_REFUSED)
        ++*n_refused;
    else if (outcome == STPM_OUTCOME_CONFLICT)
        ++*n_conflict;
    else
        ++*n_error;
}

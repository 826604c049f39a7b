/* libFuzzer harness for calendar files (stpm_calendar_load_text on the shipped
 * calendar): never a crash or a leak; on error the calendar is unchanged. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stpm/calendar.h"
#include "workflow/calendar_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static stpm_calendar *base;
    stpm_error err = STPM_ERROR_INIT;
    if (!base && stpm_calendar_new_default(&base, &err) < 0)
        abort();
    /* a private copy of the shipped calendar, cheaper than parsing it every run */
    stpm_calendar *cal = calloc(1, sizeof(*cal));
    if (!cal || !(cal->days = malloc((base->n + 1) * sizeof(*cal->days))))
        abort();
    memcpy(cal->days, base->days, base->n * sizeof(*cal->days));
    cal->n = base->n;
    cal->first_year = base->first_year;
    cal->last_year = base->last_year;
    size_t before = cal->n;
    int rc = stpm_calendar_load_text(cal, "fuzz.yaml", (const char *)data, size, &err);
    if (rc < 0 && cal->n != before)
        abort();
    if (rc == STPM_EINPUT && err.n_diags == 0)
        abort(); /* bad input always says where */
    stpm_date d = stpm_date_from_ymd(2021, 9, 28);
    (void)stpm_calendar_add_workdays(cal, d, 20);
    stpm_calendar_free(cal);
    stpm_error_clear(&err);
    return 0;
}

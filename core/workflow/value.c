/* Values of the expression language: release, copy, text form, type names. */
#include "stpm/expr.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "util/strutil.h"

void stpm_value_clear(stpm_value *v)
{
    if (!v)
        return;
    free(v->s);
    memset(v, 0, sizeof(*v));
    v->type = STPM_TYPE_NULL;
}

int stpm_value_copy(stpm_value *dst, const stpm_value *src)
{
    stpm_value tmp = *src;
    tmp.s = NULL;
    if (src->type == STPM_TYPE_STRING && !(tmp.s = stpm_strdup(src->s ? src->s : "")))
        return STPM_ERROR;
    *dst = tmp;
    return 0;
}

/* An amount without trailing zeros: 3057.2800 is "3057.28", 15.0000 is "15". */
static char *decimal_text(stpm_decimal d)
{
    char buf[32];
    int places = STPM_DECIMAL_PLACES;
    int64_t frac = d % STPM_DECIMAL_SCALE;
    if (frac < 0)
        frac = -frac;
    while (places > 0 && frac % 10 == 0) {
        frac /= 10;
        places--;
    }
    return stpm_strdup(stpm_decimal_format(d, places, buf));
}

char *stpm_value_to_string(const stpm_value *v)
{
    static const char *units[] = {"d", "wd", "mo", "y"};
    char buf[11];
    switch (v->type) {
    case STPM_TYPE_NULL:
        return stpm_strdup("");
    case STPM_TYPE_BOOL:
        return stpm_strdup(v->u.b ? "true" : "false");
    case STPM_TYPE_INT:
        return stpm_asprintf("%" PRId64, v->u.i);
    case STPM_TYPE_DECIMAL:
        return decimal_text(v->u.d);
    case STPM_TYPE_STRING:
        return stpm_strdup(v->s ? v->s : "");
    case STPM_TYPE_DATE:
        return stpm_strdup(stpm_date_format(v->u.date, buf));
    case STPM_TYPE_DURATION:
        if ((unsigned)v->u.dur.unit > STPM_DUR_YEARS)
            return NULL;
        return stpm_asprintf("%" PRId32 "%s", v->u.dur.n, units[v->u.dur.unit]);
    }
    return NULL;
}

const char *stpm_type_name(stpm_type t)
{
    switch (t) {
    case STPM_TYPE_NULL:
        return "null";
    case STPM_TYPE_BOOL:
        return "boolean";
    case STPM_TYPE_INT:
        return "integer";
    case STPM_TYPE_DECIMAL:
        return "amount";
    case STPM_TYPE_STRING:
        return "text";
    case STPM_TYPE_DATE:
        return "date";
    case STPM_TYPE_DURATION:
        return "duration";
    }
    return "unknown";
}

/* Exact decimals as scaled 64-bit integers: see stpm/decimal.h. */
#include "stpm/decimal.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

size_t stpm_decimal_scan(const char *s, stpm_decimal *out)
{
    const char *p = s;
    int64_t ip = 0;
    int nd = 0;
    while (*p >= '0' && *p <= '9') {
        if (ip > (INT64_MAX / STPM_DECIMAL_SCALE - 9) / 10)
            return 0;
        ip = ip * 10 + (*p - '0');
        p++;
        nd++;
    }
    if (nd == 0)
        return 0;
    int64_t frac = 0;
    int nf = 0;
    if (*p == '.' && p[1] >= '0' && p[1] <= '9') {
        p++;
        while (*p >= '0' && *p <= '9') {
            if (nf == STPM_DECIMAL_PLACES)
                return 0;
            frac = frac * 10 + (*p - '0');
            nf++;
            p++;
        }
    }
    for (int i = nf; i < STPM_DECIMAL_PLACES; i++)
        frac *= 10;
    if (out)
        *out = ip * STPM_DECIMAL_SCALE + frac;
    return (size_t)(p - s);
}

int stpm_decimal_parse(const char *s, stpm_decimal *out)
{
    bool neg = false;
    const char *p = s;
    if (*p == '-' || *p == '+') {
        neg = *p == '-';
        p++;
    }
    stpm_decimal v;
    size_t n = stpm_decimal_scan(p, &v);
    if (n == 0 || p[n] != '\0') {
        /* digits too many for 64 bits: still well formed, only too large */
        size_t d = strspn(p, "0123456789");
        if (d > STPM_DECIMAL_MAX_DIGITS && (p[d] == '\0' || p[d] == '.') &&
            (p[d] == '\0' || strspn(p + d + 1, "0123456789") == strlen(p + d + 1)))
            return -2;
        return -1;
    }
    if (v > STPM_DECIMAL_MAX)
        return -2;
    if (out)
        *out = neg ? -v : v;
    return 0;
}

char *stpm_decimal_format(stpm_decimal v, int places, char buf[static 32])
{
    if (places < 0)
        places = 0;
    if (places > STPM_DECIMAL_PLACES)
        places = STPM_DECIMAL_PLACES;
    bool neg = v < 0;
    uint64_t u = neg ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    uint64_t div = 1;
    for (int i = places; i < STPM_DECIMAL_PLACES; i++)
        div *= 10;
    u = (u + div / 2) / div; /* round half away from zero */
    uint64_t unit = 1;
    for (int i = 0; i < places; i++)
        unit *= 10;
    if (places == 0)
        snprintf(buf, 32, "%s%" PRIu64, neg && u ? "-" : "", u);
    else
        snprintf(buf, 32, "%s%" PRIu64 ".%0*" PRIu64, neg && u ? "-" : "", u / unit, places,
                 u % unit);
    return buf;
}

stpm_decimal stpm_decimal_from_int(int64_t v)
{
    return v * STPM_DECIMAL_SCALE;
}

int stpm_decimal_add(stpm_decimal a, stpm_decimal b, stpm_decimal *out)
{
    return __builtin_add_overflow(a, b, out) ? -1 : 0;
}

int stpm_decimal_sub(stpm_decimal a, stpm_decimal b, stpm_decimal *out)
{
    return __builtin_sub_overflow(a, b, out) ? -1 : 0;
}

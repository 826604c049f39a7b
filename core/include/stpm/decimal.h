/*
 * stpm — exact decimal amounts.
 *
 * Money is counted in 万元 (10,000 yuan) and must never pass through floating point.
 * An stpm_decimal holds the value times 10^4 (STPM_DECIMAL_SCALE) in a 64-bit integer:
 * four decimal places (down to one yuan when the unit is 万元), and room for values
 * up to about 9.2e14.
 */
#ifndef STPM_DECIMAL_H
#define STPM_DECIMAL_H

#include "stpm/common.h"

typedef int64_t stpm_decimal;

#define STPM_DECIMAL_PLACES 4
#define STPM_DECIMAL_SCALE 10000

/* The largest amount the database holds (numeric(18,4)): 14 digits before the point. */
#define STPM_DECIMAL_MAX_DIGITS 14
#define STPM_DECIMAL_MAX INT64_C(999999999999999999)

/* Parse an ASCII decimal: optional sign, digits, optional '.' and 1-4 digits.
 * The whole string must be used. 0 on success; -1 when malformed or with more than four
 * decimal places; -2 when well formed but beyond ±STPM_DECIMAL_MAX (10^14 and more, which
 * the database's numeric(18,4) cannot hold). */
STPM_API int stpm_decimal_parse(const char *s, stpm_decimal *out);
/* Parse a decimal at the start of s (no sign); returns bytes used, 0 if none or invalid. */
STPM_API size_t stpm_decimal_scan(const char *s, stpm_decimal *out);
/* Write the value with exactly `places` decimals (0..4), rounding half away from zero.
 * buf must hold at least 32 bytes. Returns buf. */
STPM_API char *stpm_decimal_format(stpm_decimal v, int places, char buf[static 32]);
/* An integer as a decimal. */
STPM_API stpm_decimal stpm_decimal_from_int(int64_t v);
/* a + b and a - b; 0 on success, -1 on overflow. */
STPM_API int stpm_decimal_add(stpm_decimal a, stpm_decimal b, stpm_decimal *out);
STPM_API int stpm_decimal_sub(stpm_decimal a, stpm_decimal b, stpm_decimal *out);

#endif

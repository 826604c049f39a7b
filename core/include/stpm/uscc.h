/*
 * stpm — the Unified Social Credit Code (统一社会信用代码, GB 32100-2015).
 *
 * 18 characters from the 31-symbol alphabet 0-9 A-H J-N P-R T U W-Y (no I O S V Z):
 *
 *   position 1      registration authority (登记管理部门): 1-9, A, N or Y
 *   position 2      kind of organisation (机构类别): 1-9 (企业 under authority 9 is 1,
 *                   个体工商户 2, 农民专业合作社 3)
 *   positions 3-8   administrative division code (行政区划码), six digits (如皋 320682)
 *   positions 9-17  organisation code (组织机构代码, GB 11714) with its own check
 *                   character at position 17
 *   position 18     check character: weights 3^(i-1) mod 31 for positions 1..17,
 *                   check = (31 - sum mod 31) mod 31, mapped back to the alphabet
 *
 * Input is normalised first: surrounding white space (also the ideographic space U+3000)
 * removed, full-width letters and digits (ＡＢＣ１２３) made half-width, lower case made
 * upper case.
 */
#ifndef STPM_USCC_H
#define STPM_USCC_H

#include "stpm/common.h"

#define STPM_USCC_LEN 18

/* Normalise s (see above) into out. 0 when the result is exactly 18 ASCII characters
 * (not yet validated), -1 otherwise (out then holds "" ). */
STPM_API int stpm_uscc_normalize(const char *s, char out[static STPM_USCC_LEN + 1]);

/* Validate a code. s is normalised first; when normalized is not NULL it receives the
 * normalised code (or "" when it is not 18 characters). Returns 0 when valid; -1 when not,
 * with the reason (lower case, e.g. "check character is 'X', expected '3'") in why
 * when why is not NULL. */
STPM_API int stpm_uscc_validate(const char *s, char *normalized, char *why, size_t whylen);

/* true when stpm_uscc_validate() accepts s. */
STPM_API bool stpm_uscc_valid(const char *s);

/* The check character (position 18) for the first 17 characters of a normalised code, or
 * '\0' when one of them is not in the alphabet. */
STPM_API char stpm_uscc_check_char(const char *first17);

/* The GB 11714 check character of an organisation code (position 17 of a USCC) for its
 * 8 body characters (positions 9-16), or '\0' when one is not a digit or letter. */
STPM_API char stpm_uscc_orgcode_check_char(const char *body8);

/* Complete a code from its first 16 characters (authority, kind, division, organisation
 * code body): appends both check characters. 0 on success, -1 when s16 is not 16
 * characters of the alphabet. */
STPM_API int stpm_uscc_complete(const char *s16, char out[static STPM_USCC_LEN + 1]);

#endif

/* stpm — UTF-8 as the library checks it: every text stpm stores is valid UTF-8. */
#ifndef STPM_TEXT_H
#define STPM_TEXT_H

#include "stpm/common.h"

/* Decode one character at s (len > 0 bytes available): its length 1..4 with *cp set, or 1
 * with *cp = 0xFFFD for a byte that does not start a valid, shortest-form sequence. */
STPM_API size_t stpm_utf8_decode(const char *s, size_t len, uint32_t *cp);

/* The offset of the first byte of s[0..len) that is not valid UTF-8, or len when all are. */
STPM_API size_t stpm_utf8_invalid_at(const char *s, size_t len);

#endif

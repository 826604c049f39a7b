/* Internal text helpers: UTF-8 decoding and the normalisation of values typed by people
 * (white space, full-width forms, ASCII case). */
#ifndef STPM_UTIL_TEXT_H
#define STPM_UTIL_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/strutil.h"

/* Decode one UTF-8 character at s (len bytes available). Returns its length (1..4) and
 * sets *cp; on an invalid or truncated sequence returns 1 with *cp = 0xFFFD. len > 0. */
size_t stpm_utf8_next(const char *s, size_t len, uint32_t *cp);

/* Length of the longest valid UTF-8 prefix of s[0..len). When the bytes after that prefix
 * are only the start of a sequence cut by the end of the buffer, *incomplete is set. */
size_t stpm_utf8_valid_prefix(const char *s, size_t len, bool *incomplete);

/* Append the UTF-8 encoding of cp. */
void stpm_utf8_put(stpm_strbuf *sb, uint32_t cp);

/* true for white space in typed values: ASCII space and controls \t\n\v\f\r, NBSP,
 * U+2000..U+200B, U+3000 (ideographic space) and U+FEFF. */
bool stpm_text_is_space(uint32_t cp);

/* true when s is NULL, empty or only white space (stpm_text_is_space): a reason of blanks
 * is no reason. Invalid UTF-8 is not blank. The server's stpm.is_blank agrees. */
bool stpm_text_is_blank(const char *s);

enum {
    STPM_TEXT_TRIM = 1 << 0,      /* drop white space at both ends */
    STPM_TEXT_COLLAPSE = 1 << 1,  /* every run of inner white space becomes one ' ' */
    STPM_TEXT_HALFWIDTH = 1 << 2, /* U+FF01..U+FF5E become ASCII, U+3000 a space */
    STPM_TEXT_LOWER = 1 << 3,     /* ASCII letters to lower case */
    STPM_TEXT_UPPER = 1 << 4,     /* ASCII letters to upper case */
    STPM_TEXT_NOSPACE = 1 << 5,   /* drop all white space */
};

/* Append s[0..len) to out, normalised by flags (STPM_TEXT_*). */
void stpm_text_normalize(stpm_strbuf *out, const char *s, size_t len, unsigned flags);

#endif

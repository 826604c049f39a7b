/* Internal text helpers: see util/text.h. */
#include "util/text.h"

#include "stpm/text.h"

#include <string.h>

size_t stpm_utf8_next(const char *s, size_t len, uint32_t *cp)
{
    const unsigned char *u = (const unsigned char *)s;
    uint32_t c = u[0];
    size_t n;
    uint32_t min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        c &= 0x1F;
        min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        c &= 0x0F;
        min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        c &= 0x07;
        min = 0x10000;
    } else {
        *cp = 0xFFFD;
        return 1;
    }
    if (len < n) {
        *cp = 0xFFFD;
        return 1;
    }
    for (size_t i = 1; i < n; i++) {
        if ((u[i] & 0xC0) != 0x80) {
            *cp = 0xFFFD;
            return 1;
        }
        c = (c << 6) | (u[i] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) {
        *cp = 0xFFFD;
        return 1;
    }
    *cp = c;
    return n;
}

/* Is s[0..len) the valid start of a longer sequence (a cut multi-byte character)? */
static bool utf8_cut(const unsigned char *u, size_t len)
{
    size_t n;
    if (u[0] >= 0xC2 && u[0] <= 0xDF)
        n = 2;
    else if (u[0] >= 0xE0 && u[0] <= 0xEF)
        n = 3;
    else if (u[0] >= 0xF0 && u[0] <= 0xF4)
        n = 4;
    else
        return false;
    if (len >= n)
        return false;
    for (size_t i = 1; i < len; i++)
        if ((u[i] & 0xC0) != 0x80)
            return false;
    /* the second byte's range for E0, ED, F0, F4 */
    if (len >= 2) {
        if (u[0] == 0xE0 && u[1] < 0xA0)
            return false;
        if (u[0] == 0xED && u[1] > 0x9F)
            return false;
        if (u[0] == 0xF0 && u[1] < 0x90)
            return false;
        if (u[0] == 0xF4 && u[1] > 0x8F)
            return false;
    }
    return true;
}

size_t stpm_utf8_valid_prefix(const char *s, size_t len, bool *incomplete)
{
    size_t i = 0;
    *incomplete = false;
    while (i < len) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        uint32_t cp;
        size_t n = stpm_utf8_next(s + i, len - i, &cp);
        if (cp == 0xFFFD && n == 1) {
            /* a genuine U+FFFD is 3 bytes, so n == 1 means invalid */
            if (utf8_cut((const unsigned char *)s + i, len - i))
                *incomplete = true;
            return i;
        }
        i += n;
    }
    return i;
}

void stpm_utf8_put(stpm_strbuf *sb, uint32_t cp)
{
    char b[4];
    size_t n;
    if (cp < 0x80) {
        b[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        b[0] = (char)(0xC0 | (cp >> 6));
        b[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        b[0] = (char)(0xE0 | (cp >> 12));
        b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        b[0] = (char)(0xF0 | (cp >> 18));
        b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        b[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    stpm_strbuf_putn(sb, b, n);
}

bool stpm_text_is_space(uint32_t cp)
{
    return cp == ' ' || (cp >= 0x09 && cp <= 0x0D) || cp == 0xA0 ||
           (cp >= 0x2000 && cp <= 0x200B) || cp == 0x3000 || cp == 0xFEFF;
}

bool stpm_text_is_blank(const char *s)
{
    size_t len = s ? strlen(s) : 0;
    for (size_t i = 0; i < len;) {
        uint32_t cp = 0;
        size_t n = stpm_utf8_next(s + i, len - i, &cp);
        if (n == 0 || !stpm_text_is_space(cp))
            return false;
        i += n;
    }
    return true;
}

void stpm_text_normalize(stpm_strbuf *out, const char *s, size_t len, unsigned flags)
{
    /* The result is never longer than the input (each character gives at most its own
     * bytes, a collapsed space at most the bytes of the spaces it stands for), so room is
     * made once and the bytes are written directly. */
    if (!stpm_strbuf_grow(out, len))
        return;
    char *o = out->buf + out->len;
    size_t i = 0;
    bool pending_space = false;
    bool any = false;
    while (i < len) {
        uint32_t cp;
        size_t n;
        const char *raw = s + i;
        if ((unsigned char)*raw < 0x80) {
            cp = (unsigned char)*raw;
            n = 1;
        } else {
            n = stpm_utf8_next(raw, len - i, &cp);
        }
        i += n;
        if (cp < 0x80 ? (cp == ' ' || (cp >= 0x09 && cp <= 0x0D)) : stpm_text_is_space(cp)) {
            if (flags & STPM_TEXT_NOSPACE)
                continue;
            if ((flags & STPM_TEXT_TRIM) && !any)
                continue;
            if (flags & (STPM_TEXT_COLLAPSE | STPM_TEXT_TRIM)) {
                if (flags & STPM_TEXT_COLLAPSE) {
                    pending_space = true;
                    continue;
                }
                /* trim only: keep inner spaces as they are, unless trailing */
                size_t j = i;
                bool only_space = true;
                while (j < len) {
                    uint32_t c2;
                    size_t m = stpm_utf8_next(s + j, len - j, &c2);
                    if (!stpm_text_is_space(c2)) {
                        only_space = false;
                        break;
                    }
                    j += m;
                }
                if (only_space)
                    break;
            }
            if ((flags & STPM_TEXT_HALFWIDTH) && cp == 0x3000) {
                *o++ = ' ';
            } else {
                memcpy(o, raw, n);
                o += n;
            }
            continue;
        }
        if (pending_space) {
            *o++ = ' ';
            pending_space = false;
        }
        any = true;
        if ((flags & STPM_TEXT_HALFWIDTH) && cp >= 0xFF01 && cp <= 0xFF5E)
            cp -= 0xFEE0;
        if (cp < 0x80) {
            char c = (char)cp;
            if ((flags & STPM_TEXT_LOWER) && c >= 'A' && c <= 'Z')
                c = (char)(c - 'A' + 'a');
            if ((flags & STPM_TEXT_UPPER) && c >= 'a' && c <= 'z')
                c = (char)(c - 'a' + 'A');
            *o++ = c;
        } else {
            /* unchanged: a valid sequence is its own encoding; invalid bytes stay as they
             * are */
            memcpy(o, raw, n);
            o += n;
        }
    }
    if (pending_space && !(flags & STPM_TEXT_TRIM))
        *o++ = ' ';
    out->len = (size_t)(o - out->buf);
    out->buf[out->len] = '\0';
}

size_t stpm_utf8_decode(const char *s, size_t len, uint32_t *cp)
{
    return stpm_utf8_next(s, len, cp);
}

size_t stpm_utf8_invalid_at(const char *s, size_t len)
{
    bool incomplete;
    return stpm_utf8_valid_prefix(s, len, &incomplete);
}

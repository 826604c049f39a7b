/* Internal string helpers. */
#include "util/strutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *stpm_strdup(const char *s)
{
    return s ? stpm_strndup(s, strlen(s)) : NULL;
}

char *stpm_strndup(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (!p)
        return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *stpm_vasprintf(const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return NULL;
    char *p = malloc((size_t)n + 1);
    if (!p)
        return NULL;
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    return p;
}

char *stpm_asprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *p = stpm_vasprintf(fmt, ap);
    va_end(ap);
    return p;
}

bool stpm_strbuf_grow(stpm_strbuf *sb, size_t extra)
{
    if (sb->oom)
        return false;
    if (sb->len + extra + 1 <= sb->cap)
        return true;
    size_t cap = sb->cap ? sb->cap : 64;
    while (cap < sb->len + extra + 1)
        cap *= 2;
    char *p = realloc(sb->buf, cap);
    if (!p) {
        sb->oom = true;
        return false;
    }
    sb->buf = p;
    sb->cap = cap;
    return true;
}

void stpm_strbuf_putn(stpm_strbuf *sb, const char *s, size_t n)
{
    if (!stpm_strbuf_grow(sb, n))
        return;
    memcpy(sb->buf + sb->len, s, n);
    sb->len += n;
    sb->buf[sb->len] = '\0';
}

void stpm_strbuf_puts(stpm_strbuf *sb, const char *s)
{
    stpm_strbuf_putn(sb, s, strlen(s));
}

void stpm_strbuf_putc_slow(stpm_strbuf *sb, char c)
{
    stpm_strbuf_putn(sb, &c, 1);
}

void stpm_strbuf_printf(stpm_strbuf *sb, const char *fmt, ...)
{
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n >= 0 && stpm_strbuf_grow(sb, (size_t)n)) {
        vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
        sb->len += (size_t)n;
    }
    va_end(ap);
}

void stpm_strbuf_reset(stpm_strbuf *sb)
{
    sb->len = 0;
    if (sb->buf)
        sb->buf[0] = '\0';
}

char *stpm_strbuf_detach(stpm_strbuf *sb)
{
    char *p = sb->buf;
    if (!p && !sb->oom)
        p = stpm_strdup("");
    if (sb->oom) {
        free(p);
        p = NULL;
    }
    sb->buf = NULL;
    sb->len = sb->cap = 0;
    sb->oom = false;
    return p;
}

void stpm_strbuf_free(stpm_strbuf *sb)
{
    free(sb->buf);
    sb->buf = NULL;
    sb->len = sb->cap = 0;
    sb->oom = false;
}

const char *stpm_strbuf_str(const stpm_strbuf *sb)
{
    return sb->buf ? sb->buf : "";
}

void stpm_strbuf_array_item(stpm_strbuf *sb, const char *v)
{
    stpm_strbuf_putc(sb, sb->len == 0 ? '{' : ',');
    stpm_strbuf_putc(sb, '"');
    for (const char *c = v; *c; c++) {
        if (*c == '"' || *c == '\\')
            stpm_strbuf_putc(sb, '\\');
        stpm_strbuf_putc(sb, *c);
    }
    stpm_strbuf_putc(sb, '"');
}

void stpm_strbuf_array_end(stpm_strbuf *sb)
{
    if (sb->len == 0)
        stpm_strbuf_putc(sb, '{');
    stpm_strbuf_putc(sb, '}');
}

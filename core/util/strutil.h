/* Internal string helpers: allocation that reports failure, and a growable buffer. */
#ifndef STPM_UTIL_STRUTIL_H
#define STPM_UTIL_STRUTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

/* Return a new string, or NULL when memory runs out. */
char *stpm_strdup(const char *s);
char *stpm_strndup(const char *s, size_t n);
char *stpm_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *stpm_vasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

/* A growable, always NUL-terminated buffer. Start with STPM_STRBUF_INIT; once an
 * allocation fails, `oom` stays true and further appends do nothing. */
typedef struct stpm_strbuf {
    char *buf;
    size_t len;
    size_t cap;
    bool oom;
} stpm_strbuf;

#define STPM_STRBUF_INIT                                                                           \
    {                                                                                              \
        NULL, 0, 0, false                                                                          \
    }

bool stpm_strbuf_grow(stpm_strbuf *sb, size_t extra);
void stpm_strbuf_putn(stpm_strbuf *sb, const char *s, size_t n);
void stpm_strbuf_puts(stpm_strbuf *sb, const char *s);
/* Append one byte: inline while the buffer has room (the hot path of the readers). */
void stpm_strbuf_putc_slow(stpm_strbuf *sb, char c);
static inline void stpm_strbuf_putc(stpm_strbuf *sb, char c)
{
    if (!sb->oom && sb->len + 2 <= sb->cap) {
        sb->buf[sb->len++] = c;
        sb->buf[sb->len] = '\0';
    } else {
        stpm_strbuf_putc_slow(sb, c);
    }
}
void stpm_strbuf_printf(stpm_strbuf *sb, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void stpm_strbuf_reset(stpm_strbuf *sb);

/* A PostgreSQL array literal, built in an empty buffer: each call appends one element
 * (quoted, backslashes and quotes escaped; the first opens the '{'), and
 * stpm_strbuf_array_end closes it ("{}" when no element came). */
void stpm_strbuf_array_item(stpm_strbuf *sb, const char *v);
void stpm_strbuf_array_end(stpm_strbuf *sb);
/* Hand the string over to the caller (never NULL unless out of memory); sb is reset. */
char *stpm_strbuf_detach(stpm_strbuf *sb);
void stpm_strbuf_free(stpm_strbuf *sb);
/* The contents, "" when empty. */
const char *stpm_strbuf_str(const stpm_strbuf *sb);

#endif

/* The error object: see stpm/error.h. Every format is looked up in the catalog (the
 * callers' literals are extracted by xgettext as the keywords of po/xgettext-args), so the
 * message comes in the user's language; msgfmt --check holds each translation to the same
 * conversions. */
#include "stpm/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stpm/i18n.h"
#include "util/strutil.h"

void stpm_error_clear(stpm_error *err)
{
    if (!err)
        return;
    free(err->message);
    free(err->detail);
    free(err->hint);
    for (size_t i = 0; i < err->n_diags; i++) {
        free(err->diags[i].file);
        free(err->diags[i].column);
        free(err->diags[i].message);
        free(err->diags[i].cell);
    }
    free(err->diags);
    memset(err, 0, sizeof(*err));
}

int stpm_error_set(stpm_error *err, int code, const char *fmt, ...)
{
    if (!err)
        return code;
    va_list ap;
    va_start(ap, fmt);
    char *msg = stpm_vasprintf(_(fmt), ap);
    va_end(ap);
    free(err->message);
    free(err->detail);
    free(err->hint);
    err->detail = NULL;
    err->hint = NULL;
    err->message = msg;
    err->code = code;
    err->sqlstate[0] = '\0';
    return code;
}

void stpm_error_detail(stpm_error *err, const char *fmt, ...)
{
    if (!err)
        return;
    va_list ap;
    va_start(ap, fmt);
    char *s = stpm_vasprintf(_(fmt), ap);
    va_end(ap);
    free(err->detail);
    err->detail = s;
}

void stpm_error_hint(stpm_error *err, const char *fmt, ...)
{
    if (!err)
        return;
    va_list ap;
    va_start(ap, fmt);
    char *s = stpm_vasprintf(_(fmt), ap);
    va_end(ap);
    free(err->hint);
    err->hint = s;
}

static stpm_diag *add_diag(stpm_error *err, const char *file, int line, int col, const char *column,
                           const char *cell, char *msg)
{
    if (err->n_diags == err->cap_diags) {
        size_t cap = err->cap_diags ? err->cap_diags * 2 : 8;
        stpm_diag *d = realloc(err->diags, cap * sizeof(*d));
        if (!d) {
            free(msg);
            return NULL; /* out of memory: the primary message still stands */
        }
        err->diags = d;
        err->cap_diags = cap;
    }
    stpm_diag *d = &err->diags[err->n_diags++];
    d->file = file ? stpm_strdup(file) : NULL;
    d->line = line;
    d->col = col;
    d->column = column ? stpm_strdup(column) : NULL;
    d->message = msg;
    d->cell = cell ? stpm_strdup(cell) : NULL;
    return d;
}

void stpm_error_add_diag(stpm_error *err, const char *file, int line, int col, const char *column,
                         const char *fmt, ...)
{
    if (!err)
        return;
    va_list ap;
    va_start(ap, fmt);
    char *msg = stpm_vasprintf(_(fmt), ap);
    va_end(ap);
    add_diag(err, file, line, col, column, NULL, msg);
}

void stpm_error_add_cell_diag(stpm_error *err, const char *file, const char *cell, int line,
                              const char *column, const char *fmt, ...)
{
    if (!err)
        return;
    va_list ap;
    va_start(ap, fmt);
    char *msg = stpm_vasprintf(_(fmt), ap);
    va_end(ap);
    add_diag(err, file, line, 0, column, cell, msg);
}

int stpm_error_exit_code(int code)
{
    if (code >= 0)
        return 0;
    if (code < STPM_EUNAVAIL)
        return 1;
    return -code;
}

const char *stpm_error_code_name(int code)
{
    switch (code) {
    case STPM_OK:
        return "ok";
    case STPM_EUSAGE:
        return "usage";
    case STPM_EREFUSED:
        return "refused";
    case STPM_ECONFLICT:
        return "conflict";
    case STPM_EINPUT:
        return "bad_input";
    case STPM_ENOTFOUND:
        return "not_found";
    case STPM_EPERM:
        return "permission_denied";
    case STPM_EUNAVAIL:
        return "unavailable";
    default:
        return "error";
    }
}

void stpm_error_move(stpm_error *dst, stpm_error *src)
{
    if (!dst || !src || dst == src)
        return;
    stpm_error_clear(dst);
    *dst = *src;
    memset(src, 0, sizeof(*src));
}

/* Reading a whole input file: see readfile.h. */
#include "util/readfile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int open_error(const char *path, const char *what, int e, stpm_error *err)
{
    int code = e == ENOENT ? STPM_ENOTFOUND : e == EACCES ? STPM_EPERM : STPM_ERROR;
    return stpm_error_set(err, code, "cannot open %s \"%s\": %s", what, path, strerror(e));
}

int stpm_read_file(const char *path, const char *what, size_t max, char **out, size_t *len,
                   stpm_error *err)
{
    int rc = 0;
    char *buf = NULL;
    size_t n = 0;
    FILE *f = fopen(path, "rb");
    *out = NULL;
    *len = 0;
    if (!f)
        return open_error(path, what, errno, err);
    struct stat st;
    if (fstat(fileno(f), &st) < 0) {
        rc = open_error(path, what, errno, err);
        goto out;
    }
    if (S_ISDIR(st.st_mode)) {
        rc = stpm_error_set(err, STPM_EINPUT, "cannot read %s \"%s\": it is a directory", what,
                            path);
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = stpm_error_set(err, STPM_EINPUT, "cannot read %s \"%s\": not a regular file", what,
                            path);
        goto out;
    }
    if ((unsigned long long)st.st_size > max) {
        rc = stpm_error_set(err, STPM_EINPUT, "%s \"%s\" is too large: %lld bytes", what, path,
                            (long long)st.st_size);
        stpm_error_detail(err, "The limit is %zu bytes.", max);
        goto out;
    }
    /* The size may change while we read: read up to one byte past the limit to see it. */
    size_t cap = (size_t)st.st_size + 1;
    buf = malloc(cap + 1);
    if (!buf) {
        rc = stpm_error_set(err, STPM_ERROR, "out of memory reading %s \"%s\"", what, path);
        goto out;
    }
    for (;;) {
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
        if (n > max) {
            rc = stpm_error_set(err, STPM_EINPUT, "%s \"%s\" is too large", what, path);
            stpm_error_detail(err, "The limit is %zu bytes.", max);
            goto out;
        }
        if (n == cap) {
            char *p = cap * 2 <= max + 1 ? realloc(buf, cap * 2 + 1) : realloc(buf, max + 2);
            if (!p) {
                rc = stpm_error_set(err, STPM_ERROR, "out of memory reading %s \"%s\"", what, path);
                goto out;
            }
            buf = p;
            cap = cap * 2 <= max + 1 ? cap * 2 : max + 1;
        }
    }
    if (ferror(f)) {
        rc = stpm_error_set(err, STPM_ERROR, "cannot read %s \"%s\": %s", what, path,
                            strerror(errno));
        goto out;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    buf = NULL;
out:
    free(buf);
    fclose(f);
    return rc;
}

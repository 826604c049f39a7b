/* Reading a whole input file: see readfile.h. */
#include "util/readfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int open_error(const char *path, const char *what, int e, stpm_error *err)
{
    int code = e == ENOENT ? STPM_ENOTFOUND : e == EACCES ? STPM_EPERM : STPM_ERROR;
    return stpm_error_set(err, code, "cannot open %s \"%s\": %s", what, path, strerror(e));
}

int stpm_open_input(const char *path, const char *what, int *fd, stpm_error *err)
{
    return stpm_open_regular(path, what, 0, fd, err);
}

int stpm_open_regular(const char *path, const char *what, int flags_more, int *fd, stpm_error *err)
{
    int rc = 0;
    *fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC | flags_more);
    if (*fd < 0)
        return open_error(path, what, errno, err);
    struct stat st;
    int flags;
    if (fstat(*fd, &st) < 0) {
        rc = open_error(path, what, errno, err);
        goto cleanup;
    }
    if (S_ISDIR(st.st_mode)) {
        rc = stpm_error_set(err, STPM_EINPUT, "cannot read %s \"%s\": it is a directory", what,
                            path);
        goto cleanup;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = stpm_error_set(err, STPM_EINPUT, "cannot read %s \"%s\": not a regular file (%s)",
                            what, path,
                            S_ISFIFO(st.st_mode)   ? _("a named pipe")
                            : S_ISCHR(st.st_mode)  ? _("a character device")
                            : S_ISBLK(st.st_mode)  ? _("a block device")
                            : S_ISSOCK(st.st_mode) ? "a socket"
                                                   : _("a special file"));
        stpm_error_hint(err, "Give the path of an ordinary file.");
        goto cleanup;
    }
    if ((flags = fcntl(*fd, F_GETFL)) < 0 || fcntl(*fd, F_SETFL, flags & ~O_NONBLOCK) < 0)
        rc = open_error(path, what, errno, err);
cleanup:
    if (rc < 0) {
        close(*fd);
        *fd = -1;
    }
    return rc;
}

int stpm_read_file(const char *path, const char *what, size_t max, char **out, size_t *len,
                   stpm_error *err)
{
    int rc = 0;
    char *buf = NULL;
    size_t n = 0;
    FILE *f = NULL;
    int fd = -1;
    *out = NULL;
    *len = 0;
    if ((rc = stpm_open_input(path, what, &fd, err)) < 0)
        return rc;
    if (!(f = fdopen(fd, "rb"))) {
        rc = open_error(path, what, errno, err);
        close(fd);
        return rc;
    }
    struct stat st;
    if (fstat(fileno(f), &st) < 0) {
        rc = open_error(path, what, errno, err);
        goto cleanup;
    }
    if ((unsigned long long)st.st_size > max) {
        rc = stpm_error_set(err, STPM_EINPUT, "%s \"%s\" is too large: %lld bytes", what, path,
                            (long long)st.st_size);
        stpm_error_detail(err, "The limit is %zu bytes.", max);
        goto cleanup;
    }
    /* The size may change while we read: read up to one byte past the limit to see it. */
    size_t cap = (size_t)st.st_size + 1;
    buf = malloc(cap + 1);
    if (!buf) {
        rc = stpm_error_set(err, STPM_ERROR, "out of memory reading %s \"%s\"", what, path);
        goto cleanup;
    }
    for (;;) {
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
        if (n > max) {
            rc = stpm_error_set(err, STPM_EINPUT, "%s \"%s\" is too large", what, path);
            stpm_error_detail(err, "The limit is %zu bytes.", max);
            goto cleanup;
        }
        if (n == cap) {
            char *p = cap * 2 <= max + 1 ? realloc(buf, cap * 2 + 1) : realloc(buf, max + 2);
            if (!p) {
                rc = stpm_error_set(err, STPM_ERROR, "out of memory reading %s \"%s\"", what, path);
                goto cleanup;
            }
            buf = p;
            cap = cap * 2 <= max + 1 ? cap * 2 : max + 1;
        }
    }
    if (ferror(f)) {
        rc = stpm_error_set(err, STPM_ERROR, "cannot read %s \"%s\": %s", what, path,
                            strerror(errno));
        goto cleanup;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    buf = NULL;
cleanup:
    free(buf);
    fclose(f);
    return rc;
}

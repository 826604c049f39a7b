/* Reading a whole (small) input file, with the messages every loader gives. */
#ifndef STPM_UTIL_READFILE_H
#define STPM_UTIL_READFILE_H

#include <stddef.h>

#include "stpm/error.h"

/*
 * Read the regular file at path into a new NUL-terminated buffer (*out, to free; *len
 * bytes, not counting the NUL). `what` names the kind of file in messages, e.g.
 * "workflow file". Failures: no such file → STPM_ENOTFOUND; a directory, another kind
 * of file or one larger than max bytes → STPM_EINPUT; no permission → STPM_EPERM; any
 * other read error → STPM_ERROR. Messages name the file and say why.
 */
int stpm_read_file(const char *path, const char *what, size_t max, char **out, size_t *len,
                   stpm_error *err);

/*
 * Open the regular file at path for reading: a new descriptor in *fd (blocking, close on
 * exec), or a negative code with a message naming `what` and the file. The file is opened
 * with O_NONBLOCK and checked with fstat before anything is read, so a FIFO without a
 * writer, a directory or a device is refused at once (STPM_EINPUT) and never waited for.
 * Other failures as stpm_read_file's.
 */
int stpm_open_input(const char *path, const char *what, int *fd, stpm_error *err);

/* stpm_open_input with more open(2) flags, e.g. O_NOFOLLOW to refuse a symbolic link
 * (ELOOP: STPM_ERROR, "cannot open ..."). err may be NULL when only success matters. */
int stpm_open_regular(const char *path, const char *what, int flags_more, int *fd, stpm_error *err);

#endif

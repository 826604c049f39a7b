/* Running one of PostgreSQL's tools (pg_dump, pg_ctl, initdb, ...) and keeping what it said. */
#ifndef STPM_UTIL_SPAWN_H
#define STPM_UTIL_SPAWN_H

/*
 * Run argv (argv[0] an absolute path) in a child process: standard input from /dev/null,
 * standard output and standard error both into *output (a new NUL-terminated string, to
 * free; may be NULL when not wanted), SIGPIPE at its default, LC_MESSAGES=C so that what
 * it says can be matched. When child_setup is given, the child calls it just before
 * exec (with ctx) to change what it runs as: it may _exit on failure and must not return
 * to the caller's code otherwise.
 *
 * Returns the tool's exit status; -1 when it could not be started or did not exit by
 * itself, and then *signo (may be NULL) holds the signal that ended it, if one did.
 */
int stpm_spawn_capture(char *const argv[], void (*child_setup)(void *ctx), void *ctx, char **output,
                       int *signo);

#endif

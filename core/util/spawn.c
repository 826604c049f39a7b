/* Running a tool and keeping its output: see util/spawn.h. */
#include "util/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/strutil.h"

int stpm_spawn_capture(char *const argv[], void (*child_setup)(void *ctx), void *ctx, char **output,
                       int *signo)
{
    if (output)
        *output = NULL;
    if (signo)
        *signo = 0;
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        return -1;
    fflush(NULL); /* the child must not write out the parent's buffered output again */
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0)
            dup2(devnull, 0);
        dup2(fds[1], 1);
        dup2(fds[1], 2);
        signal(SIGPIPE, SIG_DFL);
        if (child_setup)
            child_setup(ctx);
        /* their messages in English, which stpm reads (LC_ALL and LANGUAGE would win) */
        unsetenv("LC_ALL");
        unsetenv("LANGUAGE");
        setenv("LC_MESSAGES", "C", 1);
        execv(argv[0], argv);
        perror(argv[0]); /* lint-ok: forked child, exec failed */
        _exit(127);      /* lint-ok: forked child, exec failed */
    }
    close(fds[1]);
    /* Read until the tool closes its end: it can say more than a pipe holds. */
    stpm_strbuf sb = STPM_STRBUF_INIT;
    char buf[4096];
    for (;;) {
        ssize_t got = read(fds[0], buf, sizeof(buf));
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        stpm_strbuf_putn(&sb, buf, (size_t)got);
    }
    close(fds[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            status = -1;
            break;
        }
    }
    if (output)
        *output = stpm_strbuf_detach(&sb);
    stpm_strbuf_free(&sb);
    if (status != -1 && WIFSIGNALED(status) && signo)
        *signo = WTERMSIG(status);
    if (status == -1 || !WIFEXITED(status))
        return -1;
    return WEXITSTATUS(status);
}

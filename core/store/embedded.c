/* The embedded cluster: see stpm/embedded.h and docs/database.md. */
#include "stpm/embedded.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libpq-fe.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "store/digest.h"
#include "store/db_internal.h"
#include "util/readfile.h"
#include "util/spawn.h"
#include "util/strutil.h"

#define ROOT_CLUSTERS "/var/lib/stpm"

struct stpm_embedded {
    char *home;     /* absolute */
    char *cluster;  /* home/cluster, or its target under /var/lib/stpm as root */
    char *data;     /* cluster/data */
    char *sock;     /* cluster/run */
    char *log;      /* cluster/server.log */
    char *user;     /* the role to connect as */
    char *conninfo; /* for people */
    char *bindir;   /* found on demand */
    char *data_version;
    bool as_root;   /* we are root: run the server binaries as the service user */
    char *svc_name; /* the service user when as_root */
    uid_t svc_uid;
    gid_t svc_gid;
};

static int check_safe(const stpm_embedded *e, stpm_error *err);

/* ---- paths ---- */

static bool is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool is_exec(const char *dir, const char *name)
{
    char *p = stpm_asprintf("%s/%s", dir, name);
    bool ok = p && access(p, X_OK) == 0;
    free(p);
    return ok;
}

static bool has_server_binaries(const char *dir)
{
    return is_exec(dir, "initdb") && is_exec(dir, "pg_ctl") && is_exec(dir, "postgres");
}

/* Open a file of the home for reading: never through a symbolic link, a regular file only
 * (a FIFO put there would block). NULL when it cannot be opened so. */
static FILE *open_read(const char *path)
{
    int fd;
    if (stpm_open_regular(path, "file", O_NOFOLLOW, &fd, NULL) < 0)
        return NULL;
    FILE *f = fdopen(fd, "r");
    if (!f)
        close(fd);
    return f;
}

/* Read the first line of a small file; NULL when it cannot be read. */
static char *read_first_line(const char *path)
{
    FILE *f = open_read(path);
    if (!f)
        return NULL;
    char buf[256];
    char *out = NULL;
    if (fgets(buf, sizeof(buf), f)) {
        buf[strcspn(buf, "\r\n")] = '\0';
        out = stpm_strdup(buf);
    }
    fclose(f);
    return out;
}

/* An absolute version of path (relative paths are taken from the working directory),
 * without resolving symbolic links. */
static char *absolute(const char *path)
{
    if (path[0] == '/')
        return stpm_strdup(path);
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof(cwd)))
        return NULL;
    return stpm_asprintf("%s/%s", cwd, path);
}

static char *default_home(void)
{
    const char *xdg = getenv("XDG_DATA_HOME");
    if (xdg && xdg[0] == '/')
        return stpm_asprintf("%s/stpm", xdg);
    const char *home = getenv("HOME");
    if (!home || home[0] != '/') {
        struct passwd *pw = getpwuid(getuid());
        home = pw ? pw->pw_dir : NULL;
    }
    if (!home || !*home)
        return NULL;
    return stpm_asprintf("%s/.local/share/stpm", home);
}

/* Where the cluster of this home lives (see the header): for root, a directory under
 * /var/lib/stpm named by the digest of the home's real path; the link in the home, when
 * present, is authoritative. */
static char *cluster_dir_for(const stpm_embedded *e)
{
    char *link = stpm_asprintf("%s/cluster", e->home);
    if (!link)
        return NULL;
    if (!e->as_root)
        return link;
    struct stat st;
    if (lstat(link, &st) == 0) {
        char target[PATH_MAX];
        char *real = realpath(link, target) ? stpm_strdup(target) : NULL;
        if (real) {
            free(link);
            return real;
        }
    }
    free(link);
    char resolved[PATH_MAX];
    const char *key = realpath(e->home, resolved) ? resolved : e->home;
    char hex[STPM_SHA256_HEX_LEN];
    if (!stpm_sha256_hex(key, strlen(key), hex))
        return NULL;
    hex[16] = '\0';
    return stpm_asprintf("%s/%s", ROOT_CLUSTERS, hex);
}

static void free_paths(stpm_embedded *e)
{
    free(e->cluster);
    free(e->data);
    free(e->sock);
    free(e->log);
    free(e->conninfo);
    e->cluster = e->data = e->sock = e->log = e->conninfo = NULL;
}

/* Single-quote a conninfo value. */
static void put_conninfo_value(stpm_strbuf *sb, const char *v)
{
    stpm_strbuf_putc(sb, '\'');
    for (const char *p = v; *p; p++) {
        if (*p == '\'' || *p == '\\')
            stpm_strbuf_putc(sb, '\\');
        stpm_strbuf_putc(sb, *p);
    }
    stpm_strbuf_putc(sb, '\'');
}

/* host=SOCKET port=PORT dbname=DBNAME user=USER, values quoted. */
static char *make_conninfo(const stpm_embedded *e, const char *dbname)
{
    stpm_strbuf sb = STPM_STRBUF_INIT;
    stpm_strbuf_puts(&sb, "host=");
    put_conninfo_value(&sb, e->sock ? e->sock : "");
    stpm_strbuf_printf(&sb, " port=%d dbname=", STPM_EMBEDDED_PORT);
    put_conninfo_value(&sb, dbname);
    stpm_strbuf_puts(&sb, " user=");
    put_conninfo_value(&sb, e->user);
    return stpm_strbuf_detach(&sb);
}

static int resolve_paths(stpm_embedded *e, stpm_error *err)
{
    free_paths(e);
    e->cluster = cluster_dir_for(e);
    if (!e->cluster)
        return stpm_error_set(err, STPM_ERROR, "out of memory");
    e->data = stpm_asprintf("%s/data", e->cluster);
    e->sock = stpm_asprintf("%s/run", e->cluster);
    e->log = stpm_asprintf("%s/server.log", e->cluster);
    e->conninfo = make_conninfo(e, STPM_EMBEDDED_DBNAME);
    if (!e->data || !e->sock || !e->log || !e->conninfo)
        return stpm_error_set(err, STPM_ERROR, "out of memory");
    return 0;
}

int stpm_embedded_new(stpm_embedded **out, const char *home, stpm_error *err)
{
    *out = NULL;
    int rc = 0;
    stpm_embedded *e = calloc(1, sizeof(*e));
    if (!e)
        return stpm_error_set(err, STPM_ERROR, "out of memory");
    if (!home || !*home) {
        home = getenv("STPM_HOME");
        if (home && !*home)
            home = NULL;
    }
    e->home = home ? absolute(home) : default_home();
    if (!e->home) {
        rc = stpm_error_set(err, STPM_ERROR, "cannot tell where the embedded database lives");
        stpm_error_hint(err, "Set HOME or STPM_HOME, or give --home DIR.");
        goto cleanup;
    }
    while (strlen(e->home) > 1 && e->home[strlen(e->home) - 1] == '/')
        e->home[strlen(e->home) - 1] = '\0';
    struct passwd *pw = getpwuid(geteuid());
    e->user = stpm_strdup(pw ? pw->pw_name : getenv("USER"));
    if (!e->user) {
        rc = stpm_error_set(err, STPM_ERROR, "cannot tell the name of the current user");
        goto cleanup;
    }
    e->as_root = geteuid() == 0;
    if (e->as_root) {
        const char *svc = getenv("STPM_PG_USER");
        e->svc_name = stpm_strdup(svc && *svc ? svc : "postgres");
        if (!e->svc_name) {
            rc = stpm_error_set(err, STPM_ERROR, "out of memory");
            goto cleanup;
        }
    }
    if (e->as_root) { /* known now for the checks; its absence is reported when needed */
        struct passwd *spw = getpwnam(e->svc_name);
        e->svc_uid = spw && spw->pw_uid != 0 ? spw->pw_uid : (uid_t)-1;
        e->svc_gid = spw ? spw->pw_gid : (gid_t)-1;
    }
    rc = resolve_paths(e, err);
    if (rc == 0)
        rc = check_safe(e, err);
cleanup:
    if (rc < 0)
        stpm_embedded_free(e);
    else
        *out = e;
    return rc;
}

void stpm_embedded_free(stpm_embedded *e)
{
    if (!e)
        return;
    free_paths(e);
    free(e->home);
    free(e->user);
    free(e->bindir);
    free(e->data_version);
    free(e->svc_name);
    free(e);
}

const char *stpm_embedded_home(const stpm_embedded *e)
{
    return e->home;
}
const char *stpm_embedded_cluster_dir(const stpm_embedded *e)
{
    return e->cluster;
}
const char *stpm_embedded_data_dir(const stpm_embedded *e)
{
    return e->data;
}
const char *stpm_embedded_socket_dir(const stpm_embedded *e)
{
    return e->sock;
}
const char *stpm_embedded_log_file(const stpm_embedded *e)
{
    return e->log;
}
const char *stpm_embedded_user(const stpm_embedded *e)
{
    return e->user;
}
const char *stpm_embedded_conninfo(const stpm_embedded *e)
{
    return e->conninfo;
}

char *stpm_embedded_conninfo_for(const stpm_embedded *e, const char *dbname)
{
    return make_conninfo(e, dbname);
}

/* ---- the server binaries ---- */

static int version_cmp(const char *a, const char *b)
{
    long x = strtol(a, NULL, 10), y = strtol(b, NULL, 10);
    return x < y ? -1 : x > y;
}

static char *highest_versioned_bindir(void)
{
    DIR *d = opendir("/usr/lib/postgresql");
    if (!d)
        return NULL;
    char *best = NULL, *best_ver = NULL;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] < '0' || de->d_name[0] > '9')
            continue;
        char *dir = stpm_asprintf("/usr/lib/postgresql/%s/bin", de->d_name);
        if (dir && has_server_binaries(dir) &&
            (!best_ver || version_cmp(de->d_name, best_ver) > 0)) {
            free(best);
            free(best_ver);
            best = dir;
            best_ver = stpm_strdup(de->d_name);
            dir = NULL;
        }
        free(dir);
    }
    closedir(d);
    free(best_ver);
    return best;
}

static char *bindir_on_path(void)
{
    const char *path = getenv("PATH");
    if (!path)
        return NULL;
    for (const char *p = path; *p;) {
        size_t n = strcspn(p, ":");
        char *dir = stpm_strndup(p, n);
        if (dir && *dir == '/' && has_server_binaries(dir))
            return dir;
        free(dir);
        p += n;
        if (*p == ':')
            p++;
    }
    return NULL;
}

static void read_data_version(stpm_embedded *e)
{
    free(e->data_version);
    char *p = stpm_asprintf("%s/PG_VERSION", e->data);
    e->data_version = p ? read_first_line(p) : NULL;
    free(p);
}

static int find_bindir(stpm_embedded *e, stpm_error *err)
{
    if (e->bindir)
        return 0;
    const char *env = getenv("STPM_PG_BINDIR");
    if (env && *env) {
        if (has_server_binaries(env)) {
            e->bindir = stpm_strdup(env);
            return e->bindir ? 0 : stpm_error_set(err, STPM_ERROR, "out of memory");
        }
        stpm_error_set(err, STPM_EUNAVAIL, "the postgresql server binaries are not installed");
        stpm_error_detail(err, "initdb, pg_ctl and postgres were not found in STPM_PG_BINDIR (%s).",
                          env);
        stpm_error_hint(err, "Install the postgresql package (apt-get install postgresql), "
                             "or set STPM_PG_BINDIR to the directory that holds them, or give "
                             "--db CONNINFO to use another server.");
        return STPM_EUNAVAIL;
    }
    read_data_version(e);
    if (e->data_version) {
        char *dir = stpm_asprintf("/usr/lib/postgresql/%s/bin", e->data_version);
        if (dir && has_server_binaries(dir)) {
            e->bindir = dir;
            return 0;
        }
        free(dir);
    }
    e->bindir = highest_versioned_bindir();
    if (!e->bindir)
        e->bindir = bindir_on_path();
    if (e->bindir)
        return 0;
    stpm_error_set(err, STPM_EUNAVAIL, "the postgresql server binaries are not installed");
    stpm_error_detail(err, "initdb, pg_ctl and postgres were not found in "
                           "/usr/lib/postgresql/*/bin nor on PATH.");
    stpm_error_hint(err, "Install the postgresql package (apt-get install postgresql), or set "
                         "STPM_PG_BINDIR, or give --db CONNINFO to use another server.");
    return STPM_EUNAVAIL;
}

/* ---- running the server binaries ---- */

/* The last `lines` lines of text, for a detail. */
static char *tail_lines(const char *text, int lines)
{
    size_t n = strlen(text);
    while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == ' '))
        n--;
    size_t start = n;
    int seen = 0;
    while (start > 0) {
        if (text[start - 1] == '\n' && ++seen == lines)
            break;
        start--;
    }
    return stpm_strndup(text + start, n - start);
}

static char *tail_file(const char *path, int lines)
{
    FILE *f = open_read(path);
    if (!f)
        return NULL;
    stpm_strbuf sb = STPM_STRBUF_INIT;
    if (fseek(f, 0, SEEK_END) == 0) {
        long size = ftell(f);
        if (size > 8192)
            fseek(f, size - 8192, SEEK_SET);
        else
            fseek(f, 0, SEEK_SET);
    }
    char buf[4096];
    size_t got;
    while ((got = fread(buf, 1, sizeof(buf), f)) > 0)
        stpm_strbuf_putn(&sb, buf, got);
    fclose(f);
    char *t = tail_lines(stpm_strbuf_str(&sb), lines);
    stpm_strbuf_free(&sb);
    return t;
}

static void child_become_service_user(const stpm_embedded *e)
{
    if (!e->as_root)
        return;
    if (setgid(e->svc_gid) != 0 || initgroups(e->svc_name, e->svc_gid) != 0 ||
        setuid(e->svc_uid) != 0) {
        perror(_("stpm: cannot switch to the service user")); /* lint-ok: forked child */
        _exit(126); /* lint-ok: forked child, before exec */
    }
}

/* What the child of run_tool_marked does before exec. */
typedef struct {
    const stpm_embedded *e;
    const char *marker;
    pid_t parent;
} tool_child;

static void tool_child_setup(void *ctx)
{
    const tool_child *t = ctx;
    if (t->marker) { /* its own process group, named in the marker before it runs */
        setpgid(0, 0);
        int mfd = open(t->marker, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
        char line[32];
        int len = snprintf(line, sizeof(line), "%ld\n", (long)getpid());
        if (mfd < 0 || write(mfd, line, (size_t)len) != len)
            _exit(126); /* lint-ok: forked child, before exec */
        close(mfd);
    }
    child_become_service_user(t->e);
    /* dies with stpm (after the switch of user, which clears it), never orphaned */
    if (t->marker && (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != t->parent))
        _exit(126); /* lint-ok: forked child, before exec */
    if (chdir(is_dir(t->e->cluster) ? t->e->cluster : "/") != 0 && chdir("/") != 0)
        _exit(126); /* lint-ok: forked child, before exec */
    /* The tools must not follow the caller's own connection settings. */
    unsetenv("PGDATA");
    unsetenv("PGHOST");
    unsetenv("PGPORT");
    unsetenv("PGOPTIONS");
}

/*
 * Run argv (argv[0] an absolute path) as the service user (when root) with the cluster
 * directory as working directory; its output goes into *output (may be NULL). With a
 * marker, the tool runs in its own process group whose id it writes there first, and dies
 * with stpm. Returns the exit status, or -1 when it could not be run or was killed (then
 * *signo, may be NULL, says by which signal).
 */
static int run_tool_marked(const stpm_embedded *e, char *const argv[], char **output,
                           const char *marker, int *signo)
{
    tool_child t = {e, marker, getpid()};
    return stpm_spawn_capture(argv, tool_child_setup, &t, output, signo);
}

static int run_tool(const stpm_embedded *e, char *const argv[], char **output)
{
    return run_tool_marked(e, argv, output, NULL, NULL);
}

static int lookup_service_user(stpm_embedded *e, stpm_error *err)
{
    if (!e->as_root)
        return 0;
    struct passwd *pw = getpwnam(e->svc_name);
    if (!pw || pw->pw_uid == 0) {
        stpm_error_set(err, STPM_EUNAVAIL, "cannot run the embedded database as root");
        stpm_error_detail(err, "PostgreSQL refuses to run as root, and the service user \"%s\" %s.",
                          e->svc_name, pw ? _("is root itself") : _("does not exist"));
        stpm_error_hint(err, "Install the postgresql package (it creates the user postgres), "
                             "or set STPM_PG_USER to an unprivileged user.");
        return STPM_EUNAVAIL;
    }
    e->svc_uid = pw->pw_uid;
    e->svc_gid = pw->pw_gid;
    return 0;
}

/* ---- safety: who may own and change what (docs/database.md, "Safe in any directory") ----
 *
 * stpm trusts only itself and root, and, as root, the service user that runs the server
 * (it owns the cluster and could read it all anyway). Everything else is refused before it
 * is used, exit 1:
 *   - every directory above the home (as given and as resolved) and the home's symbolic
 *     links belong to root or to us, and a directory writable by group or others is sticky
 *     (the owner of an entry alone may replace it there);
 *   - the home belongs to us and is not writable by group or others;
 *   - HOME/cluster is a directory of ours (as root: a link of root's to a directory of the
 *     service user, whose directories above belong to root and are safe as above);
 *   - the data and socket directories belong to the server's user and are no links, the
 *     socket directory has mode 0700, the socket, its lock file and the server log belong
 *     to the server's user and are of their kind;
 *   - the files stpm opens in the home are opened with O_NOFOLLOW and checked by fstat.
 */

/* The user the server runs as (and who owns the cluster): us, or as root the service user
 * ((uid_t)-1 when it does not exist: nothing can belong to it). */
static uid_t server_uid(const stpm_embedded *e)
{
    return e->as_root ? e->svc_uid : geteuid();
}

static const char *server_user_name(const stpm_embedded *e)
{
    return e->as_root ? e->svc_name : e->user;
}

/* A user's name for a message, else "uid N". */
static void name_of(uid_t uid, char *buf, size_t n)
{
    struct passwd *pw = getpwuid(uid);
    if (pw)
        snprintf(buf, n, "%s", pw->pw_name);
    else
        snprintf(buf, n, "uid %lu", (unsigned long)uid);
}

static int unsafe(const stpm_embedded *e, stpm_error *err, const char *hint, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Refuse the home: "the embedded database in HOME is not safe to use: WHY", exit 1. */
static int unsafe(const stpm_embedded *e, stpm_error *err, const char *hint, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *why = stpm_vasprintf(_(fmt), ap);
    va_end(ap);
    stpm_error_set(err, STPM_ERROR, "the embedded database in %s is not safe to use: %s", e->home,
                   why ? why : _("out of memory"));
    stpm_error_detail(err,
                      "Another user who can change it could make stpm (running as %s) create "
                      "files where they choose, use their cluster, or hand them its connection.",
                      e->user);
    if (hint)
        stpm_error_hint(err, "%s", _(hint));
    free(why);
    return STPM_ERROR;
}

/* Whether the directory may hold our entries: its owner is root or us, and when group or
 * others may write it, it is sticky. */
static int check_parent(const stpm_embedded *e, const char *path, const char *below,
                        const struct stat *st, stpm_error *err)
{
    char who[64];
    if (st->st_uid != 0 && st->st_uid != geteuid()) {
        name_of(st->st_uid, who, sizeof(who));
        return unsafe(e, err,
                      N_("Use a home outside it (--home DIR or STPM_HOME), under directories "
                         "that belong to root or to you."),
                      "the directory %s above %s belongs to %s", path, below, who);
    }
    if ((st->st_mode & (S_IWGRP | S_IWOTH)) && !(st->st_mode & S_ISVTX))
        return unsafe(e, err,
                      N_("Use a home elsewhere (--home DIR or STPM_HOME), or make the directory "
                         "sticky (chmod +t) or not writable by others (chmod go-w)."),
                      "the directory %s above %s is writable by %s (mode %04o) and not sticky",
                      path, below, (st->st_mode & S_IWOTH) ? _("everyone") : _("its group"),
                      (unsigned)(st->st_mode & 07777));
    return 0;
}

/* Check every existing directory above path (not path itself), as written; symbolic links
 * met on the way must belong to root or to us. */
static int check_above(const stpm_embedded *e, const char *path, stpm_error *err)
{
    const char *last = strrchr(path, '/');
    if (!last || path[0] != '/')
        return 0;
    size_t upto = (size_t)(last - path);
    char *p = malloc(upto + 2);
    if (!p)
        return stpm_error_set(err, STPM_ERROR, "out of memory");
    int rc = 0;
    for (size_t i = 0; rc == 0 && i <= upto; i++) {
        if (i > 0 && path[i] != '/')
            continue;
        if (i == 0) {
            p[0] = '/';
            p[1] = '\0';
        } else {
            memcpy(p, path, i);
            p[i] = '\0';
        }
        struct stat st;
        if (lstat(p, &st) != 0)
            break; /* nothing further exists */
        if (S_ISLNK(st.st_mode)) {
            if (st.st_uid != 0 && st.st_uid != geteuid()) {
                char who[64];
                name_of(st.st_uid, who, sizeof(who));
                rc = unsafe(e, err, N_("Use a home whose path has no links of other users."),
                            "the symbolic link %s on its path belongs to %s", p, who);
            }
        } else {
            rc = check_parent(e, p, path, &st, err);
        }
    }
    free(p);
    return rc;
}

/* check_above for path as written and for its real path (the deepest existing part
 * resolved, the rest appended), so that a link on the way cannot lead around the checks. */
static int check_path_above(const stpm_embedded *e, const char *path, stpm_error *err)
{
    int rc = check_above(e, path, err);
    if (rc < 0)
        return rc;
    char *q = stpm_strdup(path);
    if (!q)
        return stpm_error_set(err, STPM_ERROR, "out of memory");
    char real[PATH_MAX];
    char *full = NULL;
    size_t k = strlen(q);
    for (;;) {
        if (realpath(q, real)) {
            /* path + k is the part that does not exist yet, from its '/' */
            full = stpm_asprintf("%s%s", strcmp(real, "/") == 0 ? "" : real, path + k);
            break;
        }
        char *slash = strrchr(q, '/');
        if (!slash || (slash == q && q[1] == '\0'))
            break;
        k = slash == q ? 0 : (size_t)(slash - q);
        slash[slash == q ? 1 : 0] = '\0';
    }
    free(q);
    if (full && strcmp(full, path) != 0)
        rc = check_above(e, full, err);
    free(full);
    return rc;
}

/* A directory that must belong to owner and not be writable by group or others (none of
 * group's or others' bits when private); it may be missing. */
static int check_own_dir(const stpm_embedded *e, const char *path, uid_t owner, bool private_dir,
                         const char *what, stpm_error *err)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return 0;
    char who[64], want[64];
    if (S_ISLNK(st.st_mode))
        return unsafe(e, err,
                      N_("Remove the link (once no server runs), and stpm makes the directory."),
                      "%s %s is a symbolic link", what, path);
    if (!S_ISDIR(st.st_mode))
        return unsafe(e, err, N_("Remove it (once no server runs), and stpm makes the directory."),
                      "%s %s is not a directory", what, path);
    if (st.st_uid != owner) {
        name_of(st.st_uid, who, sizeof(who));
        if (owner == (uid_t)-1)
            snprintf(want, sizeof(want), "%s", server_user_name(e));
        else
            name_of(owner, want, sizeof(want));
        return unsafe(e, err,
                      N_("Remove it if it is not yours (once no server runs): stpm makes it again; "
                         "or use another home."),
                      "%s %s belongs to %s, not %s", what, path, who, want);
    }
    mode_t bad = private_dir ? (mode_t)(S_IRWXG | S_IRWXO) : (mode_t)(S_IWGRP | S_IWOTH);
    if (st.st_mode & bad)
        return unsafe(e, err,
                      private_dir ? _("Stop the server, see that nothing of others is in it, then "
                                      "chmod 700 it (or remove it: stpm makes it again).")
                                  : _("See that nothing of others is in it, then chmod go-w it."),
                      "%s %s has mode %04o (%s)", what, path, (unsigned)(st.st_mode & 07777),
                      private_dir ? _("it must be 0700") : _("writable by others"));
    return 0;
}

/* A file of the server's (the socket, its lock, the log): of its kind, the server's, no link. */
static int check_server_file(const stpm_embedded *e, const char *path, mode_t kind,
                             const char *what, stpm_error *err)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return 0;
    if ((st.st_mode & S_IFMT) != kind || st.st_uid != server_uid(e)) {
        char who[64];
        name_of(st.st_uid, who, sizeof(who));
        return unsafe(e, err, N_("Stop the server and remove it: the server makes it again."),
                      "%s %s is %s of %s, not the %s of %s", what, path,
                      S_ISLNK(st.st_mode) ? _("a symbolic link") : _("a file"), who,
                      kind == S_IFSOCK ? "socket" : "file", server_user_name(e));
    }
    return 0;
}

static int check_safe(const stpm_embedded *e, stpm_error *err)
{
    int rc = 0;
    char *link = NULL, *lock = NULL, *sockfile = NULL, *socklock = NULL;
    char who[64];
    if ((rc = check_path_above(e, e->home, err)) < 0)
        goto cleanup;
    struct stat st;
    if (lstat(e->home, &st) == 0 && S_ISLNK(st.st_mode) && st.st_uid != 0 &&
        st.st_uid != geteuid()) {
        name_of(st.st_uid, who, sizeof(who));
        rc = unsafe(e, err, N_("Use a home of your own (--home DIR or STPM_HOME)."),
                    "the home is a symbolic link of %s", who);
        goto cleanup;
    }
    if (stat(e->home, &st) != 0)
        goto cleanup;
    if (st.st_uid != geteuid()) {
        name_of(st.st_uid, who, sizeof(who));
        rc = unsafe(e, err, N_("Use a home of your own (--home DIR or STPM_HOME)."),
                    "the home belongs to %s, not %s", who, e->user);
        goto cleanup;
    }
    if (st.st_mode & (S_IWGRP | S_IWOTH)) {
        rc = unsafe(e, err,
                    N_("See that nothing of others is in it, then chmod 700 it; or use another "
                       "home."),
                    "the home is writable by %s (mode %04o)",
                    (st.st_mode & S_IWOTH) ? _("everyone") : _("its group"),
                    (unsigned)(st.st_mode & 07777));
        goto cleanup;
    }
    link = stpm_asprintf("%s/cluster", e->home);
    lock = stpm_asprintf("%s/cluster.lock", e->home);
    sockfile = stpm_asprintf("%s/.s.PGSQL.%d", e->sock, STPM_EMBEDDED_PORT);
    socklock = stpm_asprintf("%s/.s.PGSQL.%d.lock", e->sock, STPM_EMBEDDED_PORT);
    if (!link || !lock || !sockfile || !socklock) {
        rc = stpm_error_set(err, STPM_ERROR, "out of memory");
        goto cleanup;
    }
    if (lstat(lock, &st) == 0 && (!S_ISREG(st.st_mode) || st.st_uid != geteuid())) {
        name_of(st.st_uid, who, sizeof(who));
        rc = unsafe(e, err,
                    N_("Remove it (no stpm command runs on this home meanwhile): stpm "
                       "makes it again."),
                    "the lock file %s is %s of %s", lock,
                    S_ISLNK(st.st_mode) ? _("a symbolic link") : _("not a regular file"), who);
        goto cleanup;
    }
    if (lstat(link, &st) == 0) {
        if (S_ISLNK(st.st_mode) && !e->as_root) {
            rc = unsafe(e, err, N_("Remove the link: stpm makes the cluster's directory there."),
                        "%s is a symbolic link (run as %s it is the cluster's directory)", link,
                        e->user);
            goto cleanup;
        }
        if (S_ISLNK(st.st_mode) && st.st_uid != 0) {
            name_of(st.st_uid, who, sizeof(who));
            rc = unsafe(e, err, N_("Remove the link: stpm makes it again."),
                        "the link %s belongs to %s, not root", link, who);
            goto cleanup;
        }
    }
    /* the cluster (the link's target as root): safe directories above it, then its own */
    if (strcmp(e->cluster, link) != 0 && (rc = check_path_above(e, e->cluster, err)) < 0)
        goto cleanup;
    if ((rc = check_own_dir(e, e->cluster, server_uid(e), false, _("the cluster directory"), err)) <
            0 ||
        (rc = check_own_dir(e, e->data, server_uid(e), false, _("the data directory"), err)) < 0 ||
        (rc = check_own_dir(e, e->sock, server_uid(e), true, _("the socket directory"), err)) < 0 ||
        (rc = check_server_file(e, sockfile, S_IFSOCK, _("the socket"), err)) < 0 ||
        (rc = check_server_file(e, socklock, S_IFREG, _("the socket's lock file"), err)) < 0 ||
        (rc = check_server_file(e, e->log, S_IFREG, _("the server log"), err)) < 0)
        goto cleanup;
cleanup:
    free(link);
    free(lock);
    free(sockfile);
    free(socklock);
    return rc;
}

/* mkdir that accepts an existing directory (not a link: check_safe judges it); as root,
 * hands the new one to the service user. Mode and owner are set on the directory opened
 * without following a link. A directory for the service user is made under a temporary
 * name and renamed into place once it is theirs, so that another stpm process checking
 * the home meanwhile (stpm_embedded_new does, without the lock) never sees it as root's. */
static int make_dir(const stpm_embedded *e, const char *path, mode_t mode, bool for_service,
                    stpm_error *err)
{
    struct stat st;
    bool handover = for_service && e->as_root;
    char *tmp = handover ? stpm_asprintf("%s.new-%ld", path, (long)getpid()) : NULL;
    const char *made = handover ? tmp : path;
    int rc = 0, fd = -1;
    if (handover && !tmp)
        return stpm_error_set(err, STPM_ERROR, "out of memory");
    if (handover && lstat(path, &st) == 0) {
        if (!S_ISDIR(st.st_mode))
            rc = stpm_error_set(err, STPM_ERROR, "cannot create directory %s: %s", path,
                                strerror(ENOTDIR));
        goto cleanup;
    }
    if (handover)
        rmdir(tmp); /* left by a killed process of ours with this pid */
    if (mkdir(made, mode) != 0) {
        if (!handover && errno == EEXIST && lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
            goto cleanup;
        int saved = errno == EEXIST ? ENOTDIR : errno;
        rc = stpm_error_set(err, STPM_ERROR, "cannot create directory %s: %s", path,
                            strerror(saved));
        goto cleanup;
    }
    fd = open(made, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 || fchmod(fd, mode) != 0 || (handover && fchown(fd, e->svc_uid, e->svc_gid) != 0)) {
        rc = stpm_error_set(err, STPM_ERROR, "cannot set the owner of %s: %s", path,
                            strerror(errno));
        if (handover)
            rmdir(tmp);
        goto cleanup;
    }
    if (handover && rename(tmp, path) != 0) {
        int saved = errno;
        rmdir(tmp);
        /* made meanwhile by another process: theirs stands */
        if (!((saved == EEXIST || saved == ENOTEMPTY || saved == EISDIR) && lstat(path, &st) == 0 &&
              S_ISDIR(st.st_mode)))
            rc = stpm_error_set(err, STPM_ERROR, "cannot create directory %s: %s", path,
                                strerror(saved == EEXIST || saved == ENOTEMPTY ? ENOTDIR : saved));
    }
cleanup:
    if (fd >= 0)
        close(fd);
    free(tmp);
    return rc;
}

static int make_dirs(const stpm_embedded *e, const char *path, stpm_error *err)
{
    char *p = stpm_strdup(path);
    if (!p)
        return stpm_error_set(err, STPM_ERROR, "out of memory");
    int rc = 0;
    for (char *s = p + 1; *s && rc == 0; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (!is_dir(p))
            rc = make_dir(e, p, 0755, false, err);
        *s = '/';
    }
    if (rc == 0)
        rc = make_dir(e, p, 0700, false, err);
    free(p);
    return rc;
}

/* An exclusive lock on the home, so that two stpm processes do not both create or start
 * the cluster. The descriptor is close-on-exec: a server we start must not inherit it. */
static int lock_home(const stpm_embedded *e, int *fd, stpm_error *err)
{
    char *path = stpm_asprintf("%s/cluster.lock", e->home);
    if (!path)
        return stpm_error_set(err, STPM_ERROR, "out of memory");
    /* never through a link; a file of someone else's (a hard link) is refused too */
    *fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);
    int saved = errno;
    struct stat st;
    if (*fd >= 0 && (fstat(*fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
                     st.st_nlink != 1)) {
        close(*fd);
        *fd = -1;
        int rc = unsafe(e, err,
                        N_("Remove it (no stpm command runs on this home meanwhile): stpm "
                           "makes it again."),
                        "the lock file %s is not a plain file of %s's", path, e->user);
        free(path);
        return rc;
    }
    if (*fd < 0 && saved == ELOOP) {
        int rc = unsafe(e, err,
                        N_("Remove it (no stpm command runs on this home meanwhile): stpm "
                           "makes it again."),
                        "the lock file %s is a symbolic link", path);
        free(path);
        return rc;
    }
    free(path);
    if (*fd < 0)
        return stpm_error_set(err, STPM_ERROR, "cannot lock the embedded database in %s: %s",
                              e->home, strerror(saved));
    while (flock(*fd, LOCK_EX) != 0) {
        if (errno != EINTR) {
            saved = errno;
            close(*fd);
            *fd = -1;
            return stpm_error_set(err, STPM_ERROR, "cannot lock the embedded database in %s: %s",
                                  e->home, strerror(saved));
        }
    }
    return 0;
}

static void unlock_home(int fd)
{
    if (fd >= 0)
        close(fd);
}

static bool initialized(const stpm_embedded *e)
{
    char *p = stpm_asprintf("%s/PG_VERSION", e->data);
    bool ok = p && access(p, F_OK) == 0;
    free(p);
    return ok;
}

static int check_socket_path(const stpm_embedded *e, stpm_error *err)
{
    struct sockaddr_un sa;
    size_t need = strlen(e->sock) + strlen("/.s.PGSQL.5432.lock") + 1;
    if (need > sizeof(sa.sun_path)) {
        stpm_error_set(err, STPM_EUSAGE, "the home directory's path is too long for a socket");
        stpm_error_detail(err,
                          "The socket directory %s leaves no room for the socket's name "
                          "(at most %zu bytes in all).",
                          e->sock, sizeof(sa.sun_path) - 1);
        stpm_error_hint(err, "Give a shorter --home or STPM_HOME.");
        return STPM_EUSAGE;
    }
    if (strchr(e->sock, '\'') || strchr(e->sock, '"') || strchr(e->sock, '\\')) {
        stpm_error_set(err, STPM_EUSAGE, "the home directory's path holds a quote or backslash");
        stpm_error_detail(err, "Path: %s", e->sock);
        stpm_error_hint(err, "Give another --home or STPM_HOME.");
        return STPM_EUSAGE;
    }
    return 0;
}

static int write_config(const stpm_embedded *e, const char *datadir, stpm_error *err)
{
    char *path = stpm_asprintf("%s/postgresql.conf", datadir);
    if (!path)
        return stpm_error_set(err, STPM_ERROR, "out of memory");
    /* made by initdb as the server's user: appended to only when it is that user's plain
     * file, never through a link */
    int rc = 0;
    FILE *f = NULL;
    int fd = open(path, O_WRONLY | O_APPEND | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != server_uid(e) ||
        !(f = fdopen(fd, "a"))) {
        int saved = fd < 0 ? errno : EPERM;
        if (fd >= 0)
            close(fd);
        rc = stpm_error_set(err, STPM_ERROR, "cannot write %s: %s", path, strerror(saved));
        goto cleanup;
    }
    fprintf(f,
            "\n# stpm: the embedded cluster listens on its private Unix socket only.\n"
            "listen_addresses = ''\n"
            "port = %d\n"
            "unix_socket_directories = '%s'\n"
            "unix_socket_permissions = 0700\n"
            "logging_collector = off\n",
            STPM_EMBEDDED_PORT, e->sock);
    if (fclose(f) != 0)
        rc = stpm_error_set(err, STPM_ERROR, "cannot write %s: %s", path, strerror(errno));
cleanup:
    free(path);
    return rc;
}

/* Remove a directory tree left by an interrupted initdb, as its owner. */
static void remove_tree(const stpm_embedded *e, const char *path)
{
    if (access(path, F_OK) != 0)
        return;
    char *argv[] = {(char *)"/bin/rm", (char *)"-rf", (char *)path, NULL};
    run_tool(e, argv, NULL);
}

/*
 * A killed `stpm db init` may leave its initdb (or initdb's bootstrap postgres) running:
 * initdb runs in its own process group, named in cluster/initdb.pid before it starts, and
 * dies with stpm (PR_SET_PDEATHSIG), but a child of it may live on for a moment. Count
 * the live members of that group (zombies are not alive) and whether one works in the
 * cluster directory, so that a reused pid is never taken for ours.
 */
static int initdb_group_alive(const char *cluster_real, long pgid, bool *ours)
{
    *ours = false;
    DIR *d = opendir("/proc");
    if (!d)
        return 0;
    int alive = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] < '1' || de->d_name[0] > '9')
            continue;
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
        char *line = read_first_line(path);
        const char *rp = line ? strrchr(line, ')') : NULL;
        char state = 0;
        long ppid = 0, pgrp = 0;
        if (rp && sscanf(rp + 1, " %c %ld %ld", &state, &ppid, &pgrp) == 3 && pgrp == pgid &&
            state != 'Z' && state != 'X') {
            alive++;
            char cwd[PATH_MAX];
            snprintf(path, sizeof(path), "/proc/%s/cwd", de->d_name);
            ssize_t n = readlink(path, cwd, sizeof(cwd) - 1);
            size_t len = strlen(cluster_real);
            if (n > 0) {
                cwd[n] = '\0';
                if (strncmp(cwd, cluster_real, len) == 0 && (cwd[len] == '\0' || cwd[len] == '/'))
                    *ours = true;
            }
        }
        free(line);
    }
    closedir(d);
    return alive;
}

/* End what a killed init left running (see initdb_group_alive), then forget the marker. */
static int end_orphaned_initdb(const stpm_embedded *e, const char *marker, stpm_error *err)
{
    char *line = read_first_line(marker);
    long pgid = line ? strtol(line, NULL, 10) : 0;
    free(line);
    char real[PATH_MAX];
    if (pgid > 1 && realpath(e->cluster, real)) {
        bool ours = false;
        for (int i = 0; i < 100 && initdb_group_alive(real, pgid, &ours) > 0 && ours; i++) {
            kill((pid_t)-pgid, SIGKILL);
            struct timespec ts = {0, 100 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
        if (initdb_group_alive(real, pgid, &ours) > 0 && ours) {
            stpm_error_set(err, STPM_EUNAVAIL,
                           "cannot create the embedded database in %s: an earlier initdb "
                           "still runs",
                           e->cluster);
            stpm_error_detail(err,
                              "Process group %ld, left by an interrupted \"stpm db init\", "
                              "did not end when killed.",
                              pgid);
            stpm_error_hint(err, "End it (kill -9 -- -%ld), then try again.", pgid);
            return STPM_EUNAVAIL;
        }
    }
    if (unlink(marker) != 0 && errno != ENOENT)
        return stpm_error_set(err, STPM_ERROR, "cannot remove %s: %s", marker, strerror(errno));
    return 0;
}

/* The cluster directory and its socket directory (as root: under /var/lib/stpm, linked
 * from the home), checked safe. */
static int make_cluster_dir(stpm_embedded *e, stpm_error *err)
{
    int rc = 0;
    char *link = NULL;
    if (e->as_root) {
        rc = make_dir(e, ROOT_CLUSTERS, 0755, false, err);
        if (rc == 0)
            rc = make_dir(e, e->cluster, 0700, true, err);
        if (rc < 0)
            goto cleanup;
        link = stpm_asprintf("%s/cluster", e->home);
        if (!link) {
            rc = stpm_error_set(err, STPM_ERROR, "out of memory");
            goto cleanup;
        }
        struct stat st;
        if (lstat(link, &st) != 0 && symlink(e->cluster, link) != 0) {
            rc = stpm_error_set(err, STPM_ERROR, "cannot create the link %s: %s", link,
                                strerror(errno));
            goto cleanup;
        }
    } else if ((rc = make_dir(e, e->cluster, 0700, false, err)) < 0) {
        goto cleanup;
    }
    if ((rc = make_dir(e, e->sock, 0700, true, err)) == 0)
        rc = check_safe(e, err);
cleanup:
    free(link);
    return rc;
}

static int init_locked(stpm_embedded *e, bool *created, stpm_error *err)
{
    int rc = 0;
    char *tmp = NULL, *out = NULL, *pwopt = NULL, *marker = NULL;
    if (initialized(e))
        goto cleanup;
    if ((rc = find_bindir(e, err)) < 0 || (rc = check_socket_path(e, err)) < 0 ||
        (rc = make_cluster_dir(e, err)) < 0)
        goto cleanup;
    tmp = stpm_asprintf("%s.initdb", e->data);
    marker = stpm_asprintf("%s/initdb.pid", e->cluster);
    char *initdb = stpm_asprintf("%s/initdb", e->bindir);
    pwopt = stpm_asprintf("--username=%s", e->user);
    if (!tmp || !marker || !initdb || !pwopt) {
        free(initdb);
        rc = stpm_error_set(err, STPM_ERROR, "out of memory");
        goto cleanup;
    }
    /* what an interrupted init left: its processes, then its half-made directory */
    if ((rc = end_orphaned_initdb(e, marker, err)) < 0) {
        free(initdb);
        goto cleanup;
    }
    remove_tree(e, tmp);
    const char *nosync = getenv("STPM_EMBEDDED_NOSYNC");
    char *argv[] = {initdb,
                    (char *)"-D",
                    tmp,
                    pwopt,
                    (char *)"--auth-local=trust",
                    (char *)"--auth-host=reject",
                    (char *)"--encoding=UTF8",
                    (char *)"--locale=C.UTF-8",
                    (char *)"--no-instructions",
                    (char *)(nosync && *nosync ? "--no-sync" : NULL),
                    NULL};
    int signo = 0;
    int st = run_tool_marked(e, argv, &out, marker, &signo);
    free(initdb);
    unlink(marker);
    if (st != 0) {
        char *t = tail_lines(out ? out : "", 8);
        rc = stpm_error_set(err, STPM_EUNAVAIL, "cannot create the embedded database in %s",
                            e->cluster);
        if (t && *t)
            stpm_error_detail(err, "initdb failed; the end of its output:\n%s", t);
        else if (signo)
            stpm_error_detail(err, "initdb was killed by signal %d (%s) before it said anything.",
                              signo, strsignal(signo));
        else if (st > 0)
            stpm_error_detail(err, "initdb exited with status %d without saying why.", st);
        else
            stpm_error_detail(err, "initdb (%s) could not be run.", argv[0]);
        free(t);
        remove_tree(e, tmp);
        goto cleanup;
    }
    if ((rc = write_config(e, tmp, err)) < 0)
        goto cleanup;
    if (rename(tmp, e->data) != 0) {
        rc = stpm_error_set(err, STPM_ERROR, "cannot move %s into place: %s", tmp, strerror(errno));
        goto cleanup;
    }
    read_data_version(e);
    if (created)
        *created = true;
cleanup:
    free(tmp);
    free(marker);
    free(out);
    free(pwopt);
    return rc;
}

/* Prepare for work that may create things: the home exists, paths re-resolved against
 * its real path, the service user known. */
static int prepare(stpm_embedded *e, bool create_home, stpm_error *err)
{
    int rc = lookup_service_user(e, err);
    if (rc < 0)
        return rc;
    if (!is_dir(e->home)) {
        if (!create_home)
            return stpm_error_set(err, STPM_ENOTFOUND,
                                  "the embedded database is not initialised in %s", e->home);
        if ((rc = make_dirs(e, e->home, err)) < 0)
            return rc;
    }
    if ((rc = resolve_paths(e, err)) < 0)
        return rc;
    return check_safe(e, err);
}

int stpm_embedded_init(stpm_embedded *e, bool *created, stpm_error *err)
{
    if (created)
        *created = false;
    int fd = -1;
    int rc = prepare(e, true, err);
    if (rc == 0)
        rc = lock_home(e, &fd, err);
    if (rc == 0)
        rc = init_locked(e, created, err);
    unlock_home(fd);
    return rc;
}

/* ---- running state ---- */

/* Whether pid is a live process: a zombie (a killed server not yet reaped by its parent,
 * which may be an init that never reaps) is not. */
static bool pid_alive(long pid)
{
    if (pid <= 0 || (kill((pid_t)pid, 0) != 0 && errno != EPERM))
        return false;
    char path[64];
    snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
    char *line = read_first_line(path);
    const char *close_paren = line ? strrchr(line, ')') : NULL;
    bool zombie =
        close_paren && (close_paren[1] == ' ') && (close_paren[2] == 'Z' || close_paren[2] == 'X');
    free(line);
    return !zombie;
}

/* Line n (1-based) of the data directory's postmaster.pid, or NULL. */
static char *pidfile_line(const stpm_embedded *e, int n)
{
    char *p = stpm_asprintf("%s/postmaster.pid", e->data);
    FILE *f = p ? open_read(p) : NULL;
    free(p);
    if (!f)
        return NULL;
    char buf[1024];
    char *out = NULL;
    for (int i = 1; fgets(buf, sizeof(buf), f); i++) {
        if (i == n) {
            buf[strcspn(buf, "\r\n")] = '\0';
            out = stpm_strdup(buf);
            break;
        }
    }
    fclose(f);
    return out;
}

/* The postmaster's pid when one runs for the data directory, else 0. */
static long running_pid(const stpm_embedded *e)
{
    char *line = pidfile_line(e, 1);
    long pid = line ? strtol(line, NULL, 10) : 0;
    free(line);
    return pid_alive(pid) ? pid : 0;
}

/* The socket's lock file names the postmaster too; a dead one's is removed, with the
 * socket it guarded. */
static void clear_stale_socket_lock(const stpm_embedded *e)
{
    char *lock = stpm_asprintf("%s/.s.PGSQL.%d.lock", e->sock, STPM_EMBEDDED_PORT);
    char *line = lock ? read_first_line(lock) : NULL;
    long pid = line ? strtol(line, NULL, 10) : 0;
    if (line && !pid_alive(pid)) {
        unlink(lock);
        lock[strlen(lock) - 5] = '\0'; /* the socket itself */
        unlink(lock);
    }
    free(line);
    free(lock);
}

/*
 * A server killed with SIGKILL leaves postmaster.pid behind. PostgreSQL ignores it when
 * its pid is gone, but not when the pid is a zombie nobody reaps; and its backends may
 * live on for a moment, attached to the old shared memory. Remove the file once its
 * postmaster is dead and no process is attached to the shared memory it names, waiting
 * a few seconds for the orphans to go. Returns false when something still holds it.
 */
static bool clear_stale_pidfile(const stpm_embedded *e)
{
    for (int i = 0; i < 50; i++) {
        char *line = pidfile_line(e, 1);
        if (!line) {
            clear_stale_socket_lock(e);
            return true;
        }
        long pid = strtol(line, NULL, 10);
        free(line);
        if (pid_alive(pid))
            return false;
        char *shm = pidfile_line(e, 7); /* "KEY SHMID" */
        long key = 0, shmid = -1;
        if (shm && sscanf(shm, "%ld %ld", &key, &shmid) != 2)
            shmid = -1;
        free(shm);
        struct shmid_ds ds;
        if (shmid < 0 || shmctl((int)shmid, IPC_STAT, &ds) != 0 || ds.shm_nattch == 0) {
            char *p = stpm_asprintf("%s/postmaster.pid", e->data);
            bool ok = p && (unlink(p) == 0 || errno == ENOENT);
            free(p);
            clear_stale_socket_lock(e);
            return ok;
        }
        struct timespec ts = {0, 200 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return false;
}

static bool server_answers(const stpm_embedded *e)
{
    return PQping(e->conninfo) == PQPING_OK;
}

/* Create the `stpm` database when it is missing. */
static int ensure_database(const stpm_embedded *e, stpm_error *err)
{
    const char *keys[] = {"host", "port", "dbname", "user", "application_name", NULL};
    char port[16];
    snprintf(port, sizeof(port), "%d", STPM_EMBEDDED_PORT);
    const char *vals[] = {e->sock, port, "postgres", e->user, "stpm", NULL};
    PGconn *c = PQconnectdbParams(keys, vals, 0);
    PGresult *r = NULL;
    int rc = 0;
    if (PQstatus(c) != CONNECTION_OK) {
        const char *m = PQerrorMessage(c);
        rc = stpm_error_set(err, STPM_EUNAVAIL, "cannot connect to the embedded database");
        stpm_error_detail(err, "%.*s", (int)strcspn(m, "\n"), m);
        goto cleanup;
    }
    const char *params[] = {STPM_EMBEDDED_DBNAME};
    r = PQexecParams(c, "SELECT 1 FROM pg_database WHERE datname = $1", 1, NULL, params, NULL, NULL,
                     0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        rc = stpm_pg_error(err, c, r, "cannot look up the stpm database");
        goto cleanup;
    }
    /* Created meanwhile (42P04; 23505 when both creations ran at once — also by the
     * backend of a killed command, which finishes its CREATE DATABASE alone), or template1
     * still in use by such a backend (55006: try again for a while). */
    for (int attempt = 0; PQntuples(r) == 0 && attempt < 20; attempt++) {
        PQclear(r);
        r = PQexec(c, "CREATE DATABASE " STPM_EMBEDDED_DBNAME);
        if (PQresultStatus(r) == PGRES_COMMAND_OK)
            break;
        const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        if (state && (strcmp(state, "42P04") == 0 || strcmp(state, "23505") == 0))
            break;
        if (!state || strcmp(state, "55006") != 0 || attempt == 19) {
            rc = stpm_pg_error(err, c, r, "cannot create the stpm database");
            break;
        }
        struct timespec ts = {0, 500 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
cleanup:
    PQclear(r);
    PQfinish(c);
    return rc;
}

static int start_locked(stpm_embedded *e, bool *started, stpm_error *err)
{
    int rc = 0;
    char *out = NULL, *pg_ctl = NULL, *opts = NULL;
    if (!initialized(e)) {
        rc = stpm_error_set(err, STPM_ENOTFOUND, "the embedded database is not initialised in %s",
                            e->home);
        stpm_error_hint(err, "Run \"stpm db init\".");
        goto out;
    }
    /* a server started by an interrupted command may still be starting (or recovering) */
    for (int i = 0; i < 600 && running_pid(e) > 0 && PQping(e->conninfo) == PQPING_REJECT; i++) {
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (running_pid(e) > 0 && server_answers(e))
        goto database;
    if ((rc = find_bindir(e, err)) < 0 || (rc = check_socket_path(e, err)) < 0 ||
        (rc = make_dir(e, e->sock, 0700, true, err)) < 0 || (rc = check_safe(e, err)) < 0)
        goto out;
    clear_stale_pidfile(e);
    pg_ctl = stpm_asprintf("%s/pg_ctl", e->bindir);
    opts = stpm_asprintf("-c listen_addresses='' -p %d -k '%s'", STPM_EMBEDDED_PORT, e->sock);
    if (!pg_ctl || !opts) {
        rc = stpm_error_set(err, STPM_ERROR, "out of memory");
        goto out;
    }
    char *argv[] = {pg_ctl,       (char *)"start", (char *)"-D", e->data,      (char *)"-l", e->log,
                    (char *)"-w", (char *)"-t",    (char *)"60", (char *)"-o", opts,         NULL};
    /* After a SIGKILL the old server's backends may hold its shared memory for a moment
     * after the postmaster died; the server then refuses to start, so try a few times. */
    int st = -1;
    for (int attempt = 0; attempt < 5; attempt++) {
        free(out);
        out = NULL;
        st = run_tool(e, argv, &out);
        if (st == 0 || (running_pid(e) > 0 && server_answers(e)))
            break;
        clear_stale_pidfile(e);
        struct timespec ts = {0, 400 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (st != 0 && !(running_pid(e) > 0 && server_answers(e))) {
        char *t = tail_file(e->log, 10);
        if (!t || !*t) {
            free(t);
            t = tail_lines(out ? out : "", 10);
        }
        rc = stpm_error_set(err, STPM_EUNAVAIL, "the embedded database server did not start");
        stpm_error_detail(err, "The end of %s:\n%s", e->log, t ? t : "");
        stpm_error_hint(err, "Read the server log; \"stpm db status\" shows where it lives.");
        free(t);
        goto out;
    }
    if (started)
        *started = true;
database:
    rc = ensure_database(e, err);
out:
    free(out);
    free(pg_ctl);
    free(opts);
    return rc;
}

int stpm_embedded_start(stpm_embedded *e, bool *started, stpm_error *err)
{
    if (started)
        *started = false;
    int fd = -1;
    int rc = prepare(e, false, err);
    if (rc == STPM_ENOTFOUND)
        stpm_error_hint(err, "Run \"stpm db init\".");
    if (rc == 0)
        rc = lock_home(e, &fd, err);
    if (rc == 0)
        rc = start_locked(e, started, err);
    unlock_home(fd);
    return rc;
}

int stpm_embedded_ensure(stpm_embedded *e, stpm_error *err)
{
    int fd = -1;
    int rc = prepare(e, true, err);
    if (rc == 0)
        rc = lock_home(e, &fd, err);
    if (rc == 0)
        rc = init_locked(e, NULL, err);
    if (rc == 0)
        rc = start_locked(e, NULL, err);
    unlock_home(fd);
    return rc;
}

int stpm_embedded_stop(stpm_embedded *e, bool *stopped, stpm_error *err)
{
    if (stopped)
        *stopped = false;
    int fd = -1;
    char *out = NULL, *pg_ctl = NULL;
    int rc = prepare(e, false, err);
    if (rc == STPM_ENOTFOUND) { /* nothing there: nothing runs */
        stpm_error_clear(err);
        return 0;
    }
    if (rc == 0)
        rc = lock_home(e, &fd, err);
    if (rc < 0 || !initialized(e) || running_pid(e) == 0)
        goto cleanup;
    if ((rc = find_bindir(e, err)) < 0)
        goto cleanup;
    pg_ctl = stpm_asprintf("%s/pg_ctl", e->bindir);
    if (!pg_ctl) {
        rc = stpm_error_set(err, STPM_ERROR, "out of memory");
        goto cleanup;
    }
    char *argv[] = {pg_ctl,         (char *)"stop", (char *)"-D", e->data,      (char *)"-m",
                    (char *)"fast", (char *)"-w",   (char *)"-t", (char *)"60", NULL};
    int st = run_tool(e, argv, &out);
    if (st != 0 && running_pid(e) > 0) {
        char *t = tail_lines(out ? out : "", 6);
        rc = stpm_error_set(err, STPM_ERROR, "cannot stop the embedded database server");
        stpm_error_detail(err, "%s", t ? t : "");
        free(t);
        goto cleanup;
    }
    if (stopped)
        *stopped = true;
cleanup:
    unlock_home(fd);
    free(out);
    free(pg_ctl);
    return rc;
}

int stpm_embedded_status(stpm_embedded *e, stpm_embedded_state *out, stpm_error *err)
{
    memset(out, 0, sizeof(*out));
    read_data_version(e);
    out->initialized = initialized(e);
    out->data_version = e->data_version;
    if (out->initialized) {
        out->pid = running_pid(e);
        out->running = out->pid > 0 && server_answers(e);
        if (!out->running)
            out->pid = 0;
    }
    stpm_error scratch = STPM_ERROR_INIT;
    if (find_bindir(e, &scratch) == 0)
        out->bindir = e->bindir;
    stpm_error_clear(&scratch);
    (void)err;
    return 0;
}

/* ---- the guided tour's database ---- */

/* The library never prints: "database ... does not exist, skipping" is dropped. */
static void drop_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

/* A name stpm_embedded_recreate_database may drop: a plain identifier, not one of the
 * cluster's own databases. */
static bool droppable_name(const char *n)
{
    size_t len = strlen(n);
    if (len == 0 || len > 63 || !((n[0] >= 'a' && n[0] <= 'z') || n[0] == '_'))
        return false;
    for (const char *p = n; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
            return false;
    return strcmp(n, STPM_EMBEDDED_DBNAME) != 0 && strcmp(n, "postgres") != 0 &&
           strncmp(n, "template", 8) != 0;
}

int stpm_embedded_recreate_database(stpm_embedded *e, const char *dbname, stpm_error *err)
{
    PGconn *c = NULL;
    PGresult *r = NULL;
    char *ident = NULL, *sql = NULL;
    int rc = 0;
    if (!dbname || !droppable_name(dbname)) {
        rc = stpm_error_set(err, STPM_EUSAGE, "cannot recreate database \"%s\"",
                            dbname ? dbname : "");
        stpm_error_detail(err,
                          "Only a plain lower-case name other than %s, postgres and the "
                          "templates may be dropped and created again.",
                          STPM_EMBEDDED_DBNAME);
        goto cleanup;
    }
    if ((rc = stpm_embedded_ensure(e, err)) < 0)
        goto cleanup;
    const char *keys[] = {"host", "port", "dbname", "user", "application_name", NULL};
    char port[16];
    snprintf(port, sizeof(port), "%d", STPM_EMBEDDED_PORT);
    const char *vals[] = {e->sock, port, "postgres", e->user, "stpm", NULL};
    c = PQconnectdbParams(keys, vals, 0);
    if (PQstatus(c) != CONNECTION_OK) {
        const char *m = PQerrorMessage(c);
        rc = stpm_error_set(err, STPM_EUNAVAIL, "cannot connect to the embedded database");
        stpm_error_detail(err, "%.*s", (int)strcspn(m, "\n"), m);
        goto cleanup;
    }
    PQsetNoticeProcessor(c, drop_notice, NULL);
    /* DDL takes no parameters: the name was checked above and is quoted as an identifier. */
    ident = PQescapeIdentifier(c, dbname, strlen(dbname));
    if (!ident) {
        rc = stpm_error_set(err, STPM_ERROR, "out of memory");
        goto cleanup;
    }
    sql = stpm_asprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", ident);
    if (!sql) {
        rc = stpm_error_set(err, STPM_ERROR, "out of memory");
        goto cleanup;
    }
    r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        rc = stpm_pg_error(err, c, r, "cannot drop the database");
        goto cleanup;
    }
    PQclear(r);
    r = NULL;
    free(sql);
    sql = stpm_asprintf("CREATE DATABASE %s", ident);
    if (!sql) {
        rc = stpm_error_set(err, STPM_ERROR, "out of memory");
        goto cleanup;
    }
    r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        rc = stpm_pg_error(err, c, r, "cannot create the database");
cleanup:
    PQclear(r);
    PQfreemem(ident);
    free(sql);
    PQfinish(c);
    return rc;
}

/* ---- the server's other tools, destroy ---- */

int stpm_embedded_tool(stpm_embedded *e, const char *name, char **path, stpm_error *err)
{
    *path = NULL;
    int rc = find_bindir(e, err);
    if (rc < 0)
        return rc;
    if (!is_exec(e->bindir, name)) {
        stpm_error_set(err, STPM_EUNAVAIL, "the postgresql tool %s is not installed", name);
        stpm_error_detail(err, "It is not in %s, where the server binaries are.", e->bindir);
        stpm_error_hint(err, "Install the postgresql package (apt-get install postgresql), or "
                             "set STPM_PG_BINDIR to the directory that holds it.");
        return STPM_EUNAVAIL;
    }
    *path = stpm_asprintf("%s/%s", e->bindir, name);
    return *path ? 0 : stpm_error_set(err, STPM_ERROR, "out of memory");
}

bool stpm_embedded_initialized(stpm_embedded *e)
{
    return initialized(e);
}

int stpm_embedded_destroy(stpm_embedded *e, bool *destroyed, stpm_error *err)
{
    if (destroyed)
        *destroyed = false;
    int fd = -1;
    char *link = NULL;
    bool stopped = false;
    int rc = prepare(e, false, err);
    if (rc == STPM_ENOTFOUND) { /* no home: nothing to destroy */
        stpm_error_clear(err);
        return 0;
    }
    if (rc < 0)
        return rc;
    if (!initialized(e) && !is_dir(e->cluster))
        return 0;
    if ((rc = stpm_embedded_stop(e, &stopped, err)) < 0)
        return rc;
    if ((rc = lock_home(e, &fd, err)) < 0)
        goto cleanup;
    if (running_pid(e) > 0) {
        rc = stpm_error_set(err, STPM_ERROR,
                            "cannot destroy the embedded database in %s: its "
                            "server still runs",
                            e->home);
        stpm_error_hint(err, "Stop it (\"stpm db stop\"), then try again.");
        goto cleanup;
    }
    remove_tree(e, e->cluster);
    /* as root the service user empties it; the directory itself is in root's /var/lib/stpm */
    if (is_dir(e->cluster) && rmdir(e->cluster) != 0 && errno != ENOENT) {
        rc = stpm_error_set(err, STPM_ERROR, "cannot remove %s: %s", e->cluster, strerror(errno));
        goto cleanup;
    }
    if (is_dir(e->cluster)) {
        rc = stpm_error_set(err, STPM_ERROR, "cannot remove %s", e->cluster);
        goto cleanup;
    }
    link = stpm_asprintf("%s/cluster", e->home);
    struct stat st;
    if (link && e->as_root && lstat(link, &st) == 0 && S_ISLNK(st.st_mode) && unlink(link) != 0) {
        rc =
            stpm_error_set(err, STPM_ERROR, "cannot remove the link %s: %s", link, strerror(errno));
        goto cleanup;
    }
    if (destroyed)
        *destroyed = true;
cleanup:
    unlock_home(fd);
    free(link);
    return rc;
}

/* ---- WAL archiving and point-in-time recovery (docs/database.md) ---- */

#define ARCHIVE_CONF "stpm_archive.conf"

/* A path that may go into a server setting and its shell command as it is. */
static int check_archive_path(const char *dir, stpm_error *err)
{
    if (strpbrk(dir, "'\"\\$`%\n\r")) {
        stpm_error_set(err, STPM_EUSAGE,
                       "the archive directory's path holds a character the "
                       "archive command cannot carry");
        stpm_error_detail(err, "Path: %s (no quote, backslash, $, `, %% or line break).", dir);
        return STPM_EUSAGE;
    }
    return 0;
}

/* Write (replace) a file of the server's in its data directory: created or truncated, never
 * through a link, then handed to the service user as root. */
static int write_server_file(const stpm_embedded *e, const char *path, const char *text,
                             stpm_error *err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    size_t len = strlen(text);
    if (fd < 0 || (e->as_root && fchown(fd, e->svc_uid, e->svc_gid) != 0) ||
        write(fd, text, len) != (ssize_t)len) {
        int saved = errno;
        if (fd >= 0)
            close(fd);
        return stpm_error_set(err, STPM_ERROR, "cannot write %s: %s", path, strerror(saved));
    }
    if (close(fd) != 0)
        return stpm_error_set(err, STPM_ERROR, "cannot write %s: %s", path, strerror(errno));
    return 0;
}

/* postgresql.conf of datadir includes stpm_archive.conf (added once). */
static int include_archive_conf(const stpm_embedded *e, const char *datadir, stpm_error *err)
{
    char *path = stpm_asprintf("%s/postgresql.conf", datadir);
    if (!path)
        return stpm_error_set(err, STPM_ERROR, "out of memory");
    int rc = 0;
    FILE *f = open_read(path);
    bool present = false;
    char line[1024];
    while (f && fgets(line, sizeof(line), f))
        if (strstr(line, "include_if_exists = '" ARCHIVE_CONF "'"))
            present = true;
    if (f)
        fclose(f);
    if (present)
        goto cleanup;
    int fd = open(path, O_WRONLY | O_APPEND | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    static const char text[] = "\n# stpm: WAL archiving and recovery settings (stpm db archive)\n"
                               "include_if_exists = '" ARCHIVE_CONF "'\n";
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != server_uid(e) ||
        write(fd, text, sizeof(text) - 1) != (ssize_t)(sizeof(text) - 1)) {
        int saved = fd < 0 ? errno : EPERM;
        rc = stpm_error_set(err, STPM_ERROR, "cannot write %s: %s", path, strerror(saved));
    }
    if (fd >= 0)
        close(fd);
cleanup:
    free(path);
    return rc;
}

/* The archive's directories: DIR (made for the service user when new), DIR/wal, DIR/base. */
static int make_archive_dirs(const stpm_embedded *e, const char *dir, stpm_error *err)
{
    char *p = stpm_strdup(dir);
    if (!p)
        return stpm_error_set(err, STPM_ERROR, "out of memory");
    int rc = 0;
    for (char *s = p + 1; *s && rc == 0; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (!is_dir(p))
            rc = make_dir(e, p, 0755, false, err);
        *s = '/';
    }
    free(p);
    if (rc == 0 && !is_dir(dir))
        rc = make_dir(e, dir, 0700, true, err);
    char *wal = stpm_asprintf("%s/wal", dir), *base = stpm_asprintf("%s/base", dir);
    if (rc == 0 && (!wal || !base))
        rc = stpm_error_set(err, STPM_ERROR, "out of memory");
    if (rc == 0)
        rc = make_dir(e, wal, 0700, true, err);
    if (rc == 0)
        rc = make_dir(e, base, 0700, true, err);
    free(wal);
    free(base);
    return rc;
}

/* The server's user (as root: the service user) can write DIR/wal and DIR/base. */
static int check_archive_reach(const stpm_embedded *e, const char *dir, stpm_error *err)
{
    char *wal = stpm_asprintf("%s/wal", dir), *base = stpm_asprintf("%s/base", dir);
    int rc = 0;
    char *argv[] = {
        (char *)"/usr/bin/test", (char *)"-w", wal, (char *)"-a", (char *)"-w", base, NULL};
    if (!wal || !base)
        rc = stpm_error_set(err, STPM_ERROR, "out of memory");
    else if (run_tool(e, argv, NULL) != 0) {
        rc = stpm_error_set(err, STPM_EPERM, "the server's user %s cannot write the archive %s",
                            server_user_name(e), dir);
        stpm_error_detail(err, "It needs to write %s and %s.", wal, base);
        stpm_error_hint(err, "Let it through the directories above (chmod o+x), or choose "
                             "another directory.");
    }
    free(wal);
    free(base);
    return rc;
}

/* A base backup of the running cluster into DIR/base/STAMP (UTC), as the server's user. */
static int take_base_backup(stpm_embedded *e, const char *dir, char **made, stpm_error *err)
{
    char stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
    char *tool = NULL, *out = NULL, *port = NULL;
    char *target = stpm_asprintf("%s/base/%s", dir, stamp);
    char *partial = stpm_asprintf("%s/base/%s.partial", dir, stamp);
    int rc = stpm_embedded_tool(e, "pg_basebackup", &tool, err);
    if (rc < 0)
        goto cleanup;
    port = stpm_asprintf("%d", STPM_EMBEDDED_PORT);
    if (!target || !partial || !port) {
        rc = stpm_error_set(err, STPM_ERROR, "out of memory");
        goto cleanup;
    }
    remove_tree(e, partial);
    char *argv[] = {tool,         (char *)"-D",     partial,      (char *)"-Fp",
                    (char *)"-X", (char *)"stream", (char *)"-c", (char *)"fast",
                    (char *)"-h", e->sock,          (char *)"-p", port,
                    (char *)"-U", e->user,          (char *)"-d", (char *)"dbname=postgres",
                    NULL};
    if (run_tool(e, argv, &out) != 0) {
        char *t = tail_lines(out ? out : "", 6);
        rc = stpm_error_set(err, STPM_ERROR, "cannot take a base backup into %s", target);
        stpm_error_detail(err, "pg_basebackup failed: %s", t ? t : "");
        free(t);
        remove_tree(e, partial);
        goto cleanup;
    }
    if (rename(partial, target) != 0) {
        rc = stpm_error_set(err, STPM_ERROR, "cannot move %s into place: %s", partial,
                            strerror(errno));
        goto cleanup;
    }
    *made = target;
    target = NULL;
cleanup:
    free(tool);
    free(out);
    free(port);
    free(target);
    free(partial);
    return rc;
}

int stpm_embedded_archive_on(stpm_embedded *e, const char *dir, char **base, stpm_error *err)
{
    *base = NULL;
    int fd = -1;
    char *abs = absolute(dir), *conf = NULL, *text = NULL;
    int rc = abs ? check_archive_path(abs, err) : stpm_error_set(err, STPM_ERROR, "out of memory");
    if (rc == 0)
        rc = prepare(e, false, err);
    if (rc == 0 && !initialized(e))
        rc = stpm_error_set(err, STPM_ENOTFOUND, "the embedded database is not initialised in %s",
                            e->home);
    if (rc == STPM_ENOTFOUND)
        stpm_error_hint(err, "Run \"stpm db init --archive %s\".", dir);
    if (rc < 0)
        goto cleanup;
    size_t n = strlen(e->cluster);
    if (strncmp(abs, e->cluster, n) == 0 && (abs[n] == '/' || abs[n] == '\0')) {
        rc = stpm_error_set(err, STPM_EUSAGE, "the archive cannot live inside the cluster");
        stpm_error_detail(err, "%s is inside %s; archive to another disk.", abs, e->cluster);
        goto cleanup;
    }
    if ((rc = make_archive_dirs(e, abs, err)) < 0 || (rc = check_archive_reach(e, abs, err)) < 0 ||
        (rc = lock_home(e, &fd, err)) < 0)
        goto cleanup;
    conf = stpm_asprintf("%s/" ARCHIVE_CONF, e->data);
    text =
        stpm_asprintf("# stpm db archive on %s: every WAL segment is copied to %s/wal,\n"
                      "# at the latest %d s after a change (archive_timeout).\n"
                      "wal_level = replica\n"
                      "archive_mode = on\n"
                      "archive_command = 'test ! -f \"%s/wal/%%f\" && cp \"%%p\" \"%s/wal/%%f\"'\n"
                      "archive_timeout = 60\n",
                      abs, abs, 60, abs, abs);
    if (!conf || !text) {
        rc = stpm_error_set(err, STPM_ERROR, "out of memory");
        goto cleanup;
    }
    if ((rc = write_server_file(e, conf, text, err)) < 0 ||
        (rc = include_archive_conf(e, e->data, err)) < 0)
        goto cleanup;
    unlock_home(fd);
    fd = -1;
    /* archive_mode takes a restart */
    if ((rc = stpm_embedded_stop(e, NULL, err)) < 0 || (rc = stpm_embedded_start(e, NULL, err)) < 0)
        goto cleanup;
    rc = take_base_backup(e, abs, base, err);
cleanup:
    unlock_home(fd);
    free(abs);
    free(conf);
    free(text);
    return rc;
}

static int cmp_desc(const void *a, const void *b)
{
    return -strcmp(*(char *const *)a, *(char *const *)b);
}

/* The base backups of an archive, newest first (names are UTC stamps). */
static int list_bases(const char *dir, char ***names, size_t *n, stpm_error *err)
{
    *names = NULL;
    *n = 0;
    char *base = stpm_asprintf("%s/base", dir);
    DIR *d = base ? opendir(base) : NULL;
    if (!d) {
        int rc =
            stpm_error_set(err, STPM_ENOTFOUND, "%s holds no archive made by stpm db archive", dir);
        stpm_error_detail(err, "There is no directory %s/base.", dir);
        free(base);
        return rc;
    }
    size_t cap = 0;
    struct dirent *de;
    int rc = 0;
    while ((de = readdir(d)) && rc == 0) {
        if (de->d_name[0] < '0' || de->d_name[0] > '9' || strchr(de->d_name, '.'))
            continue;
        if (*n == cap) {
            cap = cap ? 2 * cap : 8;
            char **grown = realloc(*names, cap * sizeof(char *));
            if (!grown) {
                rc = stpm_error_set(err, STPM_ERROR, "out of memory");
                break;
            }
            *names = grown;
        }
        (*names)[*n] = stpm_asprintf("%s/%s", base, de->d_name);
        if (!(*names)[(*n)++])
            rc = stpm_error_set(err, STPM_ERROR, "out of memory");
    }
    closedir(d);
    free(base);
    if (rc == 0 && *n == 0) {
        rc = stpm_error_set(err, STPM_ENOTFOUND, "the archive %s holds no base backup", dir);
        stpm_error_hint(err, "Run \"stpm db archive on %s\" on the cluster to archive.", dir);
    }
    if (rc == 0)
        qsort(*names, *n, sizeof(char *), cmp_desc);
    return rc;
}

/* Wait (up to ten minutes) until the recovering server has promoted itself, or died. */
static int wait_promoted(const stpm_embedded *e, stpm_error *err)
{
    for (int i = 0; i < 6000; i++) {
        if (running_pid(e) == 0)
            break;
        PGconn *c = PQconnectdb(e->conninfo);
        PGresult *r = PQstatus(c) == CONNECTION_OK ? PQexec(c, "SELECT pg_is_in_recovery()") : NULL;
        bool done = PQresultStatus(r) == PGRES_TUPLES_OK && strcmp(PQgetvalue(r, 0, 0), "f") == 0;
        PQclear(r);
        PQfinish(c);
        if (done)
            return 0;
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    char *t = tail_file(e->log, 6);
    int rc = stpm_error_set(err, STPM_ERROR, "the recovery did not reach its end");
    stpm_error_detail(err, "The end of %s:\n%s", e->log, t ? t : "");
    stpm_error_hint(err, "An --until later than the last archived change cannot be reached: "
                         "give an earlier time, or wait for the primary to archive (at most "
                         "archive_timeout, 60 s), then destroy this home and try again.");
    free(t);
    return rc;
}

/* One attempt: BASE copied into the data directory, told to recover to UNTIL, started.
 * *too_early when the target lies before the base backup's end (try an older base). */
static int recover_from(stpm_embedded *e, const char *dir, const char *base, const char *until,
                        bool *too_early, stpm_error *err)
{
    *too_early = false;
    char *tmp = stpm_asprintf("%s.restore", e->data), *conf = NULL, *text = NULL, *sig = NULL;
    char *out = NULL;
    int rc = 0;
    if (!tmp) {
        rc = stpm_error_set(err, STPM_ERROR, "out of memory");
        goto cleanup;
    }
    remove_tree(e, tmp);
    char *argv[] = {(char *)"/bin/cp", (char *)"-a", (char *)base, tmp, NULL};
    if (run_tool(e, argv, &out) != 0) {
        rc = stpm_error_set(err, STPM_ERROR, "cannot copy the base backup %s", base);
        stpm_error_detail(err, "%s", out ? out : "");
        goto cleanup;
    }
    conf = stpm_asprintf("%s/" ARCHIVE_CONF, tmp);
    sig = stpm_asprintf("%s/recovery.signal", tmp);
    text = stpm_asprintf("# stpm db restore --archive %s --until %s\n"
                         "archive_mode = off\n"
                         "restore_command = 'cp \"%s/wal/%%f\" \"%%p\"'\n"
                         "recovery_target_time = '%s'\n"
                         "recovery_target_action = 'promote'\n",
                         dir, until, dir, until);
    if (!conf || !sig || !text) {
        rc = stpm_error_set(err, STPM_ERROR, "out of memory");
        goto cleanup;
    }
    if ((rc = write_server_file(e, conf, text, err)) < 0 ||
        (rc = write_server_file(e, sig, "", err)) < 0 ||
        (rc = include_archive_conf(e, tmp, err)) < 0)
        goto cleanup;
    if (rename(tmp, e->data) != 0) {
        rc = stpm_error_set(err, STPM_ERROR, "cannot move %s into place: %s", tmp, strerror(errno));
        goto cleanup;
    }
    read_data_version(e);
    rc = start_locked(e, NULL, err);
    if (rc == 0)
        rc = wait_promoted(e, err);
    if (rc < 0) {
        char *t = tail_file(e->log, 20);
        *too_early = t && strstr(t, "before consistent recovery point");
        free(t);
    }
cleanup:
    free(tmp);
    free(conf);
    free(sig);
    free(text);
    free(out);
    return rc;
}

int stpm_embedded_restore_archive(stpm_embedded *e, const char *dir, const char *until,
                                  char **base_used, stpm_error *err)
{
    *base_used = NULL;
    int fd = -1;
    char **bases = NULL;
    size_t n = 0;
    char *abs = absolute(dir), *conf = NULL;
    int rc = abs ? check_archive_path(abs, err) : stpm_error_set(err, STPM_ERROR, "out of memory");
    if (rc == 0 && (!*until || strpbrk(until, "'\\\n\r")))
        rc = stpm_error_set(err, STPM_EUSAGE,
                            "invalid --until \"%s\": expected a timestamp such "
                            "as \"2026-12-01 10:30:00+08\"",
                            until);
    if (rc == 0)
        rc = list_bases(abs, &bases, &n, err);
    if (rc == 0)
        rc = prepare(e, true, err);
    if (rc == 0)
        rc = lock_home(e, &fd, err);
    if (rc < 0)
        goto cleanup;
    if (initialized(e)) {
        rc = stpm_error_set(err, STPM_ERROR,
                            "cannot restore into %s: it already holds a "
                            "database",
                            e->home);
        stpm_error_hint(err, "Restore into a new home (--home DIR), or destroy this one first "
                             "(\"stpm db destroy\").");
        goto cleanup;
    }
    if ((rc = find_bindir(e, err)) < 0 || (rc = check_socket_path(e, err)) < 0 ||
        (rc = make_cluster_dir(e, err)) < 0)
        goto cleanup;
    for (size_t i = 0; i < n; i++) {
        bool too_early = false;
        stpm_error attempt = STPM_ERROR_INIT;
        rc = recover_from(e, abs, bases[i], until, &too_early, &attempt);
        if (rc == 0) {
            *base_used = bases[i];
            bases[i] = NULL;
            break;
        }
        /* undo the attempt: stop what started, remove the copy */
        char *pg_ctl = stpm_asprintf("%s/pg_ctl", e->bindir);
        char *stop[] = {pg_ctl,       (char *)"stop",      (char *)"-D", e->data,
                        (char *)"-m", (char *)"immediate", (char *)"-w", NULL};
        if (pg_ctl && running_pid(e) > 0)
            run_tool(e, stop, NULL);
        free(pg_ctl);
        remove_tree(e, e->data);
        if (!too_early || i + 1 == n) {
            stpm_error_move(err, &attempt);
            if (too_early)
                stpm_error_hint(err,
                                "Every base backup of the archive ends after %s: the "
                                "archive cannot go back that far.",
                                until);
            break;
        }
        stpm_error_clear(&attempt);
    }
    if (rc < 0)
        goto cleanup;
    /* recovered and promoted: the recovery settings are done with */
    conf = stpm_asprintf("%s/" ARCHIVE_CONF, e->data);
    rc = conf ? write_server_file(e, conf,
                                  "# stpm: recovered from an archive; archiving is off until "
                                  "\"stpm db archive on DIR\".\narchive_mode = off\n",
                                  err)
              : stpm_error_set(err, STPM_ERROR, "out of memory");
cleanup:
    unlock_home(fd);
    for (size_t i = 0; i < n; i++)
        free(bases[i]);
    free(bases);
    free(abs);
    free(conf);
    return rc;
}

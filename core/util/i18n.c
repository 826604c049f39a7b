/* Messages in the user's language: see stpm/i18n.h. */
#include "stpm/i18n.h"

#include <libintl.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stpm_config.h"

#define DOMAIN "stpm"

static pthread_once_t bound = PTHREAD_ONCE_INIT;
static char localedir[PATH_MAX];

/* The program runs from the build tree when its executable lies under the build root:
 * then the catalog is the one msgfmt wrote there (po/LANG/LC_MESSAGES/stpm.mo). */
static bool built_here(void)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0)
        return false;
    exe[n] = '\0';
    size_t root = strlen(STPM_BUILD_ROOT);
    return strncmp(exe, STPM_BUILD_ROOT, root) == 0 && exe[root] == '/';
}

static void choose_dir(void)
{
    const char *env = getenv("STPM_LOCALEDIR");
    const char *dir = env && *env ? env : built_here() ? STPM_BUILD_LOCALEDIR : STPM_LOCALEDIR;
    size_t n = strlen(dir);
    if (n >= sizeof(localedir))
        dir = STPM_LOCALEDIR, n = strlen(dir);
    memcpy(localedir, dir, n + 1);
}

static void bind_catalog(void)
{
    choose_dir();
    bindtextdomain(DOMAIN, localedir);
    bind_textdomain_codeset(DOMAIN, "UTF-8");
}

const char *stpm_i18n_localedir(void)
{
    pthread_once(&bound, bind_catalog);
    return localedir;
}

const char *stpm_gettext(const char *msgid)
{
    pthread_once(&bound, bind_catalog);
    return dgettext(DOMAIN, msgid);
}

const char *stpm_ngettext(const char *singular, const char *plural, unsigned long n)
{
    pthread_once(&bound, bind_catalog);
    return dngettext(DOMAIN, singular, plural, n);
}

const char *stpm_pgettext(const char *context, const char *msgid)
{
    pthread_once(&bound, bind_catalog);
    /* gettext's msgctxt: the key is CONTEXT EOT MSGID; untranslated, msgid itself */
    char key[512];
    size_t c = strlen(context), m = strlen(msgid);
    if (c + 1 + m + 1 > sizeof(key))
        return msgid;
    memcpy(key, context, c);
    key[c] = '\004';
    memcpy(key + c + 1, msgid, m + 1);
    const char *t = dgettext(DOMAIN, key);
    return t == key ? msgid : t;
}

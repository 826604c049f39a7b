/*
 * stpm — messages in the user's language (GNU gettext, text domain "stpm").
 *
 * libstpm's messages (the error object's message, detail, hint and diagnostics) and the
 * stpm command's are looked up in the catalog of the language that LC_MESSAGES (or
 * LANGUAGE, as gettext decides) names, once the program has called setlocale; without a
 * catalog, or under the C locale, they stay English. The catalog is found in the build
 * tree when the running program was built there (so the tests and the demo use it
 * uninstalled), else under the installed locale directory; STPM_LOCALEDIR overrides both.
 * The catalog's strings come out in UTF-8, whatever the locale's character set.
 *
 * JSON and CSV keys, identifiers (states, transitions, levels, document kinds) and the
 * data are never translated.
 */
#ifndef STPM_I18N_H
#define STPM_I18N_H

#include "stpm/common.h"

#if defined(__GNUC__)
#define STPM_FORMAT_ARG(n) __attribute__((format_arg(n)))
#else
#define STPM_FORMAT_ARG(n)
#endif

/* msgid in the user's language (the catalog is bound on first use); msgid itself when it
 * has no translation. The result is static: never free it. */
STPM_API const char *stpm_gettext(const char *msgid) STPM_FORMAT_ARG(1);

/* The singular or plural form for n, as the language counts. */
STPM_API const char *stpm_ngettext(const char *singular, const char *plural, unsigned long n)
    STPM_FORMAT_ARG(1) STPM_FORMAT_ARG(2);

/* msgid looked up in a context (gettext's msgctxt), e.g. "column" for a table header. */
STPM_API const char *stpm_pgettext(const char *context, const char *msgid) STPM_FORMAT_ARG(2);

/* The directory the catalog is read from (see above). */
STPM_API const char *stpm_i18n_localedir(void);

/*
 * The marks of stpm's own sources (the build defines STPM_I18N_MACROS): _() translates
 * now, N_() marks a string that is translated later (tables of help texts, say), C_()
 * translates in a context, NC_() marks a string of a context for later (table headers:
 * the JSON and CSV keys stay the English msgid). xgettext reads the same marks (po/).
 */
#if defined(STPM_I18N_MACROS)
#define _(s) stpm_gettext(s)
#define N_(s) s
#define C_(c, s) stpm_pgettext(c, s)
#define NC_(c, s) s
#endif

#endif

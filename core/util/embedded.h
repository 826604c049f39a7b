/* Files built into the library (migrations, shipped data), made by scripts/embed.py. */
#ifndef STPM_UTIL_EMBEDDED_H
#define STPM_UTIL_EMBEDDED_H

#include <stddef.h>

typedef struct stpm_embedded_file {
    const char *name; /* base name, e.g. "001_schema.sql" */
    const char *text;
    size_t len;
    const char *sha256; /* the text's SHA-256 in hex, computed at build time; NULL if not */
} stpm_embedded_file;

/* The numbered SQL migrations, in order; terminated by a {NULL} entry. */
extern const stpm_embedded_file stpm_migrations[];
extern const size_t stpm_migrations_count;

/* The shipped working-day calendars (data/calendar/NAME.yaml); terminated by a {NULL} entry. */
extern const stpm_embedded_file stpm_calendars[];
extern const size_t stpm_calendars_count;

#endif

/* Internal: the checks every YAML input passes before it is loaded into a document. */
#ifndef STPM_UTIL_YAMLCHECK_H
#define STPM_UTIL_YAMLCHECK_H

#include <stddef.h>

#include "stpm/error.h"

/* The deepest nesting of mappings and sequences a YAML input may have: far more than any
 * workflow, calendar or scoring file needs, and few enough that a hostile file is refused
 * at once (libyaml's scanner slows down with the square of the depth). */
#define STPM_YAML_MAX_DEPTH 64

/*
 * Check text[0..len) of the YAML file `name` (a `what`, e.g. "workflow file"): it must be
 * valid UTF-8 without control characters (else "NAME:LINE:COL: invalid UTF-8 ...") and nest
 * mappings and sequences at most max_depth deep (else "NAME:LINE:COL: nesting deeper than N
 * levels"); both found without building the document, so a 100,000-deep file is refused at once. A
 * YAML syntax error is left to the loader to report. 0, or STPM_EINPUT with a located diagnostic
 * and the message "invalid WHAT NAME".
 */
int stpm_yaml_precheck(const char *name, const char *what, const char *text, size_t len,
                       int max_depth, stpm_error *err);

#endif

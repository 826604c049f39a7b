/* Internals of reserve scoring: the shipped scoring file built into the library. */
#ifndef STPM_SURVEY_SCORING_INTERNAL_H
#define STPM_SURVEY_SCORING_INTERNAL_H

#include "util/embedded.h"

/* workflows/scoring.yaml, embedded by scripts/embed.py; terminated by a {NULL} entry. */
extern const stpm_embedded_file stpm_scoring_files[];
extern const size_t stpm_scoring_files_count;

#endif

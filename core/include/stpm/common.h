/* stpm — common definitions shared by every public header. */
#ifndef STPM_COMMON_H
#define STPM_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#if defined(__GNUC__)
#define STPM_API __attribute__((visibility("default")))
#define STPM_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define STPM_API
#define STPM_PRINTF(f, a)
#endif

#endif

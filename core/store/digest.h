/* SHA-256 digests as lower-case hex (OpenSSL EVP). */
#ifndef STPM_STORE_DIGEST_H
#define STPM_STORE_DIGEST_H

#include <stdbool.h>
#include <stddef.h>

/* Hex digits of a SHA-256 digest plus the terminating NUL. */
#define STPM_SHA256_HEX_LEN 65

/* Write the SHA-256 of data[0..len) as 64 lower-case hex digits into out. Returns false
 * only when OpenSSL fails (out of memory). */
bool stpm_sha256_hex(const void *data, size_t len, char out[STPM_SHA256_HEX_LEN]);

#endif

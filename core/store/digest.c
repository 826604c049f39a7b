/* SHA-256 digests: see digest.h. */
#include "store/digest.h"

#include <openssl/evp.h>

bool stpm_sha256_hex(const void *data, size_t len, char out[STPM_SHA256_HEX_LEN])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    out[0] = '\0';
    if (!EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32)
        return false;
    for (unsigned int i = 0; i < mdlen; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 0xf];
    }
    out[2 * mdlen] = '\0';
    return true;
}

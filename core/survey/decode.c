/* Streaming UTF-8 / GB18030 decoding: see survey/decode.h. */
#include "survey/decode.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stpm/error.h"
#include "util/text.h"

stpm_decoder *stpm_decoder_new(int fd, bool own_fd, stpm_encoding enc)
{
    stpm_decoder *d = calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    d->fd = fd;
    d->own_fd = own_fd;
    d->enc = enc;
    d->cd = (iconv_t)-1;
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
        d->size = (uint64_t)st.st_size;
    return d;
}

void stpm_decoder_free(stpm_decoder *d)
{
    if (!d)
        return;
    if (d->cd != (iconv_t)-1)
        iconv_close(d->cd);
    if (d->own_fd && d->fd >= 0)
        close(d->fd);
    free(d);
}

stpm_encoding stpm_decoder_encoding(const stpm_decoder *d)
{
    return d->enc;
}

static int fail(stpm_decoder *d, int code, const char *fmt, ...) STPM_PRINTF(3, 4);

static int fail(stpm_decoder *d, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->message, sizeof(d->message), _(fmt), ap);
    va_end(ap);
    d->failed = code;
    return code;
}

/* Move the unread input to the front and read more; want = fill until at least this many
 * bytes are buffered (or EOF). 0 or a negative code. */
static int refill(stpm_decoder *d, size_t want)
{
    if (d->in_pos > 0) {
        memmove(d->in, d->in + d->in_pos, d->in_len - d->in_pos);
        d->in_len -= d->in_pos;
        d->in_pos = 0;
    }
    if (want > sizeof(d->in))
        want = sizeof(d->in);
    while (!d->in_eof && d->in_len < want) {
        ssize_t n = read(d->fd, d->in + d->in_len, sizeof(d->in) - d->in_len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return fail(d, STPM_ERROR, N_("could not read: %s"), strerror(errno));
        }
        if (n == 0)
            d->in_eof = true;
        else if (d->raw_cb)
            d->raw_cb(d->raw_arg, d->in + d->in_len, (size_t)n);
        d->in_len += (size_t)n;
        d->bytes_in += (uint64_t)n;
    }
    return 0;
}

int stpm_decoder_drain(stpm_decoder *d)
{
    char buf[STPM_DECODE_CHUNK];
    while (!d->in_eof) {
        ssize_t n = read(d->fd, buf, sizeof(buf));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return fail(d, STPM_ERROR, N_("could not read: %s"), strerror(errno));
        }
        if (n == 0)
            d->in_eof = true;
        else if (d->raw_cb)
            d->raw_cb(d->raw_arg, buf, (size_t)n);
        d->bytes_in += (uint64_t)n;
    }
    return 0;
}

static bool starts_with(const stpm_decoder *d, const char *bytes, size_t n)
{
    return d->in_len - d->in_pos >= n && memcmp(d->in + d->in_pos, bytes, n) == 0;
}

/* The first call: choose the encoding, drop the byte-order mark, open iconv. */
static int start(stpm_decoder *d)
{
    int rc = refill(d, STPM_DECODE_SNIFF);
    if (rc < 0)
        return rc;
    d->started = true;
    if (starts_with(d, "\xFF\xFE", 2) || starts_with(d, "\xFE\xFF", 2))
        return fail(d, STPM_EINPUT, N_("UTF-16 files are not supported"));
    bool utf8_bom = starts_with(d, "\xEF\xBB\xBF", 3);
    bool gb_bom = starts_with(d, "\x84\x31\x95\x33", 4);
    if (d->enc == STPM_ENCODING_AUTO) {
        if (utf8_bom) {
            d->enc = STPM_ENCODING_UTF8;
        } else if (gb_bom) {
            d->enc = STPM_ENCODING_GB18030;
        } else {
            bool incomplete;
            size_t n = d->in_len - d->in_pos;
            size_t ok = stpm_utf8_valid_prefix(d->in + d->in_pos, n, &incomplete);
            /* a character cut by the end of the sample is fine unless the file ends there */
            bool valid = ok == n || (incomplete && !d->in_eof);
            d->enc = valid ? STPM_ENCODING_UTF8 : STPM_ENCODING_GB18030;
        }
    }
    if (d->enc == STPM_ENCODING_UTF8) {
        if (utf8_bom) {
            d->in_pos += 3;
            d->bytes_done += 3;
        }
        return 0;
    }
    if (utf8_bom)
        return fail(d, STPM_EINPUT,
                    N_("the file starts with a UTF-8 byte order mark but GB18030 was asked for"));
    if (gb_bom) {
        d->in_pos += 4;
        d->bytes_done += 4;
    }
    d->cd = iconv_open("UTF-8", "GB18030");
    if (d->cd == (iconv_t)-1)
        return fail(d, STPM_ERROR, N_("cannot convert from GB18030: %s"), strerror(errno));
    return 0;
}

static int next_utf8(stpm_decoder *d)
{
    for (;;) {
        size_t n = d->in_len - d->in_pos;
        if (n == 0) {
            if (d->in_eof)
                return 0;
            int rc = refill(d, 1);
            if (rc < 0)
                return rc;
            continue;
        }
        bool incomplete;
        size_t ok = stpm_utf8_valid_prefix(d->in + d->in_pos, n, &incomplete);
        if (ok > 0) {
            d->data = d->in + d->in_pos;
            d->data_len = ok;
            d->in_pos += ok;
            d->bytes_done += ok;
            return 1;
        }
        if (incomplete && !d->in_eof) {
            int rc = refill(d, n + 1);
            if (rc < 0)
                return rc;
            continue;
        }
        return fail(d, STPM_EINPUT, N_("invalid UTF-8 byte sequence (byte 0x%02X at offset %llu)"),
                    (unsigned char)d->in[d->in_pos], (unsigned long long)d->bytes_done);
    }
}

static int next_gb18030(stpm_decoder *d)
{
    for (;;) {
        size_t n = d->in_len - d->in_pos;
        if (n == 0) {
            if (d->in_eof)
                return 0;
            int rc = refill(d, 1);
            if (rc < 0)
                return rc;
            continue;
        }
        char *in = d->in + d->in_pos;
        char *out = d->out;
        size_t inleft = n, outleft = sizeof(d->out);
        size_t r = iconv(d->cd, &in, &inleft, &out, &outleft);
        int e = errno;
        size_t used = n - inleft;
        size_t made = sizeof(d->out) - outleft;
        d->in_pos += used;
        d->bytes_done += used;
        if (made > 0) {
            d->data = d->out;
            d->data_len = made;
            /* a GB18030 byte-order mark decodes to U+FEFF: drop it at the very start */
            if (d->bytes_done == used && made >= 3 && memcmp(d->out, "\xEF\xBB\xBF", 3) == 0) {
                d->data += 3;
                d->data_len -= 3;
                if (d->data_len == 0)
                    continue;
            }
            return 1;
        }
        if (r != (size_t)-1)
            continue;
        if (e == EINVAL && !d->in_eof) {
            int rc = refill(d, (d->in_len - d->in_pos) + 1);
            if (rc < 0)
                return rc;
            continue;
        }
        if (e == EINVAL || e == EILSEQ)
            return fail(d, STPM_EINPUT,
                        N_("invalid GB18030 byte sequence (byte 0x%02X at offset %llu)"),
                        (unsigned char)d->in[d->in_pos], (unsigned long long)d->bytes_done);
        return fail(d, STPM_ERROR, N_("cannot convert from GB18030: %s"), strerror(e));
    }
}

int stpm_decoder_next(stpm_decoder *d)
{
    if (d->failed)
        return d->failed;
    if (d->pending) {
        d->pending = false;
        return 1;
    }
    d->data = NULL;
    d->data_len = 0;
    if (!d->started) {
        int rc = start(d);
        if (rc < 0)
            return rc;
    }
    return d->enc == STPM_ENCODING_UTF8 ? next_utf8(d) : next_gb18030(d);
}

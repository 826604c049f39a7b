/* Internal: a streaming byte source that turns a file in UTF-8 or GB18030/GBK into valid
 * UTF-8, with a fixed amount of memory. The byte-order mark is dropped. An invalid byte
 * sequence is reported only after every valid byte before it has been handed out, so the
 * reader above can name the line and row where the bad bytes are. */
#ifndef STPM_SURVEY_DECODE_H
#define STPM_SURVEY_DECODE_H

#include <iconv.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stpm/survey.h"

#define STPM_DECODE_CHUNK 65536
/* How much of the start of a file "auto" looks at to choose between UTF-8 and GB18030. */
#define STPM_DECODE_SNIFF STPM_DECODE_CHUNK

typedef struct stpm_decoder {
    int fd;
    bool own_fd;
    stpm_encoding enc; /* after detection: UTF8 or GB18030 */
    iconv_t cd;
    char in[STPM_DECODE_CHUNK];
    size_t in_pos, in_len; /* unread input is in[in_pos..in_len) */
    bool in_eof;
    char out[STPM_DECODE_CHUNK * 2 + 16];
    const char *data;    /* the current decoded chunk ... */
    size_t data_len;     /* ... and its length */
    bool started;        /* BOM handled */
    bool pending;        /* the next call hands out the current chunk again (after a peek) */
    uint64_t bytes_in;   /* bytes read from the file so far */
    uint64_t bytes_done; /* input bytes decoded and handed out */
    uint64_t size;       /* file size when known (a regular file), else 0 */
    int failed;          /* 0, or the STPM_E* code of the error below */
    /* Called with every byte read from the file, in order (or NULL): lets the importer
     * hash the file while it is read (see survey_reader_open_raw). */
    void (*raw_cb)(void *arg, const char *buf, size_t n);
    void *raw_arg;
    char message[160]; /* why decoding stopped */
} stpm_decoder;

/* Start decoding fd (closed by stpm_decoder_free when own_fd). enc AUTO looks at the
 * first STPM_DECODE_SNIFF bytes. Returns NULL when memory runs out; a failure to read or
 * an unsupported encoding is reported by the first stpm_decoder_next. */
stpm_decoder *stpm_decoder_new(int fd, bool own_fd, stpm_encoding enc);
void stpm_decoder_free(stpm_decoder *d);

/* Hand out the next chunk of UTF-8 in d->data / d->data_len (valid until the next call).
 * 1 when there is a chunk, 0 at the end of the file, a negative STPM_E* code when the input
 * cannot be read or decoded (d->message says why). */
int stpm_decoder_next(stpm_decoder *d);

/* Read what is left of the file (after the reader stopped at its end) so that raw_cb
 * sees every byte. 0 or a negative code. */
int stpm_decoder_drain(stpm_decoder *d);

/* The encoding in use: the one given, or the one "auto" chose (after the first next). */
stpm_encoding stpm_decoder_encoding(const stpm_decoder *d);

#endif

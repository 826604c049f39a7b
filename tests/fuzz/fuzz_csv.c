/* libFuzzer harness for the CSV reader under the survey import (survey/csv.c over the
 * decoder, survey/decode.c): arbitrary bytes as a file, in the encoding chosen by the
 * first byte (auto, UTF-8, GB18030). Never a crash, a hang or a leak; every record's
 * fields are valid UTF-8 of the length given, rows and lines count up, and a reader that
 * stops says where. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "survey/csv.h"
#include "survey/decode.h"
#include "util/text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* fuzz_memfile.c */
int fuzz_memfile(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const stpm_encoding encs[] = {STPM_ENCODING_AUTO, STPM_ENCODING_UTF8,
                                         STPM_ENCODING_GB18030};
    if (size < 1)
        return 0;
    stpm_encoding enc = encs[data[0] % 3];
    int fd = fuzz_memfile(data + 1, size - 1);
    stpm_decoder *dec = stpm_decoder_new(fd, true, enc);
    stpm_csv *csv = dec ? stpm_csv_new(dec, "fuzz.csv") : NULL;
    stpm_error err = STPM_ERROR_INIT;
    if (!csv)
        abort();
    stpm_csv_record *rec = NULL;
    int rc, last_row = 0, last_line = 0;
    while ((rc = stpm_csv_next(csv, &rec, &err)) == 1) {
        if (rec->row != last_row + 1 || rec->line < last_line || rec->end_line < rec->line)
            abort();
        last_row = rec->row;
        last_line = rec->end_line;
        if (rec->n_fields == 0 || rec->n_fields > STPM_CSV_MAX_FIELDS)
            abort();
        for (size_t i = 0; i < rec->n_fields; i++) {
            bool incomplete = false;
            if (rec->fields[i][rec->lens[i]] != '\0' ||
                stpm_utf8_valid_prefix(rec->fields[i], rec->lens[i], &incomplete) != rec->lens[i])
                abort();
        }
        if (rec->stray_field >= (int)rec->n_fields)
            abort();
    }
    if (rc < 0 && (err.n_diags == 0 || !err.message))
        abort(); /* a reader that stops says where */
    if (rc == 0 && err.code != 0)
        abort();
    if (stpm_csv_bytes_read(csv) > size)
        abort();
    stpm_csv_free(csv);
    stpm_decoder_free(dec);
    stpm_error_clear(&err);
    return 0;
}

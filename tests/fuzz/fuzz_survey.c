/* libFuzzer harness for the survey reader (stpm_survey_reader_*: the CSV or YAML reader
 * and the validation of every row on top): arbitrary bytes as a survey file, the format
 * and encoding chosen by the first byte. Never a crash, a hang or a leak; every row handed
 * out has its required fields; a file found bad lists at least one located error. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stpm/survey.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int fuzz_memfile(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const stpm_encoding encs[] = {STPM_ENCODING_AUTO, STPM_ENCODING_UTF8,
                                         STPM_ENCODING_GB18030};
    static const stpm_survey_format fmts[] = {STPM_SURVEY_FORMAT_AUTO, STPM_SURVEY_FORMAT_CSV,
                                              STPM_SURVEY_FORMAT_YAML};
    if (size < 1)
        return 0;
    int fd = fuzz_memfile(data + 1, size - 1);
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    stpm_survey_options opts = STPM_SURVEY_OPTIONS_INIT;
    opts.year = 2020;
    opts.encoding = encs[data[0] % 3];
    opts.format = fmts[(data[0] / 3) % 3];
    opts.display_name = "fuzz.csv";
    opts.max_diags = 50;
    stpm_survey_reader *r = NULL;
    stpm_error err = STPM_ERROR_INIT;
    int rc = stpm_survey_reader_open(&r, path, &opts, &err);
    close(fd);
    if (rc < 0) {
        if (!err.message)
            abort();
        goto out;
    }
    const stpm_survey_row *row = NULL;
    size_t good = 0;
    while ((rc = stpm_survey_reader_next(r, &row, &err)) == 1) {
        if (!row->org_name || !row->uscc || strlen(row->uscc) != 18 || !row->town || !row->title ||
            !row->title_key || !row->leader || row->year != 2020)
            abort();
        if (row->maturity < 0 || row->maturity > 9)
            abort();
        good++;
    }
    stpm_error_clear(&err);
    rc = stpm_survey_reader_finish(r, &err);
    if (rc < 0) {
        if (rc != STPM_EINPUT && rc != STPM_ERROR)
            abort();
        if (stpm_survey_reader_error_count(r) == 0 || err.n_diags == 0)
            abort(); /* bad input always says where */
    } else if (stpm_survey_reader_error_count(r) != 0) {
        abort();
    }
    if (good > stpm_survey_reader_rows(r))
        abort();
out:
    stpm_survey_reader_free(r);
    stpm_error_clear(&err);
    return 0;
}

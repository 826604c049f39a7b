/* The example data built into the library: see stpm/examples.h. */
#include "stpm/examples.h"

#include <string.h>

#include "util/embedded.h"

/* Made by scripts/embed.py from core/examples/meson.build's lists. */
extern const stpm_embedded_file stpm_example_workflow_files[];
extern const size_t stpm_example_workflow_files_count;
extern const stpm_embedded_file stpm_example_survey_files[];
extern const size_t stpm_example_survey_files_count;

size_t stpm_example_count(void)
{
    return stpm_example_workflow_files_count + stpm_example_survey_files_count;
}

bool stpm_example_get(size_t i, stpm_example *out)
{
    const stpm_embedded_file *f = NULL;
    stpm_example_kind kind = STPM_EXAMPLE_WORKFLOW;
    if (i < stpm_example_workflow_files_count) {
        f = &stpm_example_workflow_files[i];
    } else if (i - stpm_example_workflow_files_count < stpm_example_survey_files_count) {
        f = &stpm_example_survey_files[i - stpm_example_workflow_files_count];
        kind = STPM_EXAMPLE_SURVEY;
    }
    if (!f)
        return false;
    *out = (stpm_example){kind, f->name, f->text, f->len};
    return true;
}

bool stpm_example_find(const char *name, stpm_example *out)
{
    stpm_example ex;
    for (size_t i = 0; name && stpm_example_get(i, &ex); i++) {
        if (strcmp(ex.name, name) == 0) {
            *out = ex;
            return true;
        }
    }
    return false;
}

/* libFuzzer harness for the workflow loader: any bytes must load or fail cleanly with
 * located diagnostics — never crash, leak, hang or return a half-built workflow. A loaded
 * workflow is also drawn in both graph formats and its engine is asked about its first
 * state. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "stpm/engine.h"
#include "stpm/workflow.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    stpm_workflow *wf = NULL;
    stpm_error err = STPM_ERROR_INIT;
    int rc = stpm_workflow_load_text(&wf, "fuzz.yaml", (const char *)data, size, &err);
    if (rc < 0) {
        assert(wf == NULL);
        assert(rc != STPM_EINPUT || err.n_diags > 0);
        for (size_t i = 0; i < err.n_diags; i++)
            assert(err.diags[i].line >= 1 && err.diags[i].col >= 1);
    } else {
        assert(wf != NULL);
        char *text = NULL;
        if (stpm_workflow_graph(wf, STPM_GRAPH_DOT, &text, &err) == 0)
            free(text);
        text = NULL;
        if (stpm_workflow_graph(wf, STPM_GRAPH_MERMAID, &text, &err) == 0)
            free(text);
        stpm_engine_ctx ctx = STPM_ENGINE_CTX_INIT;
        ctx.state = stpm_workflow_initial(wf);
        ctx.roles = STPM_ROLE_OFFICER | STPM_ROLE_ADMIN | STPM_ROLE_EXPERT;
        ctx.today = 18993; /* 2022-01-01 */
        stpm_engine_options opts;
        if (stpm_engine_list(wf, &ctx, &opts, &err) == 0) {
            for (size_t i = 0; i < opts.n; i++) {
                stpm_engine_result res;
                stpm_error e2 = STPM_ERROR_INIT;
                if (opts.items[i].allowed &&
                    stpm_engine_apply(wf, &ctx, opts.items[i].transition->name, &res, &e2) == 0)
                    stpm_engine_result_clear(&res);
                stpm_error_clear(&e2);
            }
            stpm_engine_options_free(&opts);
        }
    }
    stpm_workflow_free(wf);
    stpm_error_clear(&err);
    return 0;
}

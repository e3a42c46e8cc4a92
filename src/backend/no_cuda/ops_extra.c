/* ops_extra.c (no_cuda): the user-model ops' CUDA path when libdlp was built without nvcc. */
#include "backend/cuda/ops_extra_cuda.h"
#include "core/status.h"

static dlp_status without_cuda(void)
{
    return dlp_fail(DLP_ERR_DEVICE, "cuda extra ops: this dlp was built without CUDA (nvcc was not found at build time)");
}

dlp_status cuda_extra_run_step(const plan_step *step, const float *const *inputs, const float *const *weights,
                               float *out, int n, void *stream)
{
    (void)step, (void)inputs, (void)weights, (void)out, (void)n, (void)stream;
    return without_cuda();
}

dlp_status cuda_extra_run_plan_step(const dlp_plan *plan, const plan_step *step, float *arena,
                                    const float *const *weights, int n, void *stream)
{
    (void)plan, (void)step, (void)arena, (void)weights, (void)n, (void)stream;
    return without_cuda();
}

dlp_status cuda_extra_round_trip(int device, const plan_step *step, const float *const *inputs, int n, float *out)
{
    (void)device, (void)step, (void)inputs, (void)n, (void)out;
    return without_cuda();
}

/* backend_cuda.c (no_cuda): the CUDA graph backend when libdlp was built without nvcc. */
#include "core/status.h"
#include "dlp/graph.h"

dlp_status dlp_backend_create_cuda(int device, const dlp_cuda_options *options, dlp_backend **backend)
{
    (void)device, (void)options;
    *backend = NULL;
    return dlp_fail(DLP_ERR_DEVICE, "cuda backend: this dlp was built without CUDA (nvcc was not found at build time)");
}

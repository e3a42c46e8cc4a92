/* pinned.c: page-locked host memory through the CUDA runtime (see pinned.h). */
#include "backend/pinned.h"

#include <cuda_runtime.h>
#include <stdlib.h>

void *dlp_pinned_alloc(size_t bytes, int device, bool *pinned)
{
    void *memory = NULL;
    /* Without the device set, a thread that never touched CUDA would open
     * (and keep) a context on device 0 for this. */
    if (bytes && cudaSetDevice(device) == cudaSuccess &&
        cudaHostAlloc(&memory, bytes, cudaHostAllocPortable) == cudaSuccess) {
        *pinned = true;
        return memory;
    }
    /* No device or no driver: cudaHostAlloc fails and leaves an error that a
     * later cudaGetLastError would report as its own. */
    (void)cudaGetLastError();
    *pinned = false;
    return malloc(bytes ? bytes : 1);
}

void dlp_pinned_free(void *memory, bool pinned)
{
    if (!memory) return;
    if (pinned)
        cudaFreeHost(memory);
    else
        free(memory);
}

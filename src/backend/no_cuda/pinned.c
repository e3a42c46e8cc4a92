/* pinned.c (no_cuda): without CUDA, host buffers are plain malloc. */
#include "backend/pinned.h"

#include <stdlib.h>

void *dlp_pinned_alloc(size_t bytes, int device, bool *pinned)
{
    (void)device;
    *pinned = false;
    return malloc(bytes ? bytes : 1);
}

void dlp_pinned_free(void *memory, bool pinned)
{
    (void)pinned;
    free(memory);
}

/* pinned.c: page-locked host memory through the CUDA runtime (see pinned.h).
 *
 * The featurizer's batch buffers are large (a batch of full-size images, a
 * few hundred MiB) and allocated inside a run, so how they are pinned shows
 * in its time. cudaHostAlloc pins 4 KiB pages: 86 ms for 180 MiB on the
 * H200 machine (bench/pinned_rate, bench/RESULTS.md). Here the memory is an
 * anonymous mapping asking for transparent huge pages (madvise), registered
 * with cudaHostRegister, which faults it in and pins it 2 MiB at a time. The
 * mapping's length sits in a header page before the memory handed out. */
#include "backend/pinned.h"

#include <cuda_runtime.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

enum { HEADER_BYTES = 4096, HUGE_PAGE_BYTES = 2 << 20 };

static void *map_and_register(size_t bytes)
{
    if (bytes > SIZE_MAX - HEADER_BYTES - HUGE_PAGE_BYTES) return NULL;
    size_t length = (bytes + HEADER_BYTES + HUGE_PAGE_BYTES - 1) & ~(size_t)(HUGE_PAGE_BYTES - 1);
    uint8_t *mapping = mmap(NULL, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mapping == MAP_FAILED) return NULL;
#ifdef MADV_HUGEPAGE
    (void)madvise(mapping, length, MADV_HUGEPAGE); /* a hint: without THP, 4 KiB pages */
#endif
    if (cudaHostRegister(mapping, length, cudaHostRegisterPortable) != cudaSuccess) {
        munmap(mapping, length);
        return NULL;
    }
    *(size_t *)mapping = length;
    return mapping + HEADER_BYTES;
}

void *dlp_pinned_alloc(size_t bytes, int device, bool *pinned)
{
    *pinned = false;
    if (device < 0 || bytes == 0) return malloc(bytes ? bytes : 1);
    /* Without the device set, a thread that never touched CUDA would open
     * (and keep) a context on device 0 for this. */
    void *memory = cudaSetDevice(device) == cudaSuccess ? map_and_register(bytes) : NULL;
    if (memory) {
        *pinned = true;
        return memory;
    }
    /* No device or no driver: the CUDA calls fail and leave an error that a
     * later cudaGetLastError would report as its own. */
    (void)cudaGetLastError();
    return malloc(bytes);
}

void dlp_pinned_free(void *memory, bool pinned)
{
    if (!memory) return;
    if (!pinned) {
        free(memory);
        return;
    }
    uint8_t *mapping = (uint8_t *)memory - HEADER_BYTES;
    size_t length = *(size_t *)mapping;
    cudaHostUnregister(mapping);
    munmap(mapping, length);
}

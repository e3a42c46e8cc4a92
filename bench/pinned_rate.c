/* pinned_rate.c: what the featurizer's packed batch buffers cost to set up,
 * per way of getting page-locked host memory (the decode stream allocates
 * one per ring buffer, a batch of full-size images, inside a run):
 *   malloc   malloc + first write (page faults), then a second write;
 *   hostalloc cudaHostAlloc (portable), then a write; cudaFreeHost;
 *   register mmap + madvise(MADV_HUGEPAGE) + first write + cudaHostRegister;
 *            cudaHostUnregister + munmap;
 *   dlp      dlp_pinned_alloc (what the featurizer uses: mmap + madvise + cudaHostRegister, which
 *            faults the pages in), a write, dlp_pinned_free.
 * Usage: pinned_rate [MIB] [--device N]. Prints one line per way, milliseconds
 * and GB/s, after the CUDA context is up (its creation is not counted). */
#include <cuda_runtime.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "backend/pinned.h"

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void report(const char *way, const char *step, double seconds, size_t bytes)
{
    printf("pinned_rate way=%s step=%s mib=%zu ms=%.2f gb_per_s=%.2f\n", way, step, bytes >> 20, seconds * 1e3,
           bytes / seconds / 1e9);
}

int main(int argc, char **argv)
{
    size_t mib = 180;
    int device = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0) {
            puts("usage: pinned_rate [MIB] [--device N]");
            return 0;
        }
        if (strcmp(argv[i], "--device") == 0 && i + 1 < argc)
            device = atoi(argv[++i]);
        else
            mib = (size_t)atol(argv[i]);
    }
    size_t bytes = mib << 20;
    if (cudaSetDevice(device) != cudaSuccess || cudaFree(0) != cudaSuccess) {
        fprintf(stderr, "pinned_rate: no usable cuda:%d: %s\n", device, cudaGetErrorString(cudaGetLastError()));
        return 1;
    }
    double t = now_seconds();
    unsigned char *heap = malloc(bytes);
    if (!heap) return 1;
    memset(heap, 1, bytes);
    report("malloc", "alloc+first_write", now_seconds() - t, bytes);
    t = now_seconds();
    memset(heap, 2, bytes);
    report("malloc", "second_write", now_seconds() - t, bytes);
    free(heap);

    void *host = NULL;
    t = now_seconds();
    if (cudaHostAlloc(&host, bytes, cudaHostAllocPortable) != cudaSuccess) return 1;
    report("hostalloc", "alloc", now_seconds() - t, bytes);
    t = now_seconds();
    memset(host, 3, bytes);
    report("hostalloc", "first_write", now_seconds() - t, bytes);
    t = now_seconds();
    cudaFreeHost(host);
    report("hostalloc", "free", now_seconds() - t, bytes);

    size_t huge = (bytes + (2u << 20) - 1) & ~(size_t)((2u << 20) - 1);
    t = now_seconds();
    void *mapped = mmap(NULL, huge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mapped == MAP_FAILED) return 1;
    madvise(mapped, huge, MADV_HUGEPAGE);
    memset(mapped, 4, huge);
    report("register", "mmap+first_write", now_seconds() - t, bytes);
    t = now_seconds();
    cudaError_t error = cudaHostRegister(mapped, huge, cudaHostRegisterPortable);
    report("register", error == cudaSuccess ? "register" : "register_failed", now_seconds() - t, bytes);
    t = now_seconds();
    if (error == cudaSuccess) cudaHostUnregister(mapped);
    munmap(mapped, huge);
    report("register", "unregister+munmap", now_seconds() - t, bytes);

    bool pinned = false;
    t = now_seconds();
    void *memory = dlp_pinned_alloc(bytes, device, &pinned);
    report("dlp", pinned ? "alloc" : "alloc_not_pinned", now_seconds() - t, bytes);
    t = now_seconds();
    memset(memory, 6, bytes);
    report("dlp", "first_write", now_seconds() - t, bytes);
    t = now_seconds();
    dlp_pinned_free(memory, pinned);
    report("dlp", "free", now_seconds() - t, bytes);
    return 0;
}

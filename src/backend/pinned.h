/* pinned.h: page-locked host memory for buffers the GPU reads, so a copy
 * from them is a real asynchronous DMA (pageable memory is staged by the
 * driver first). Without CUDA, or when the driver refuses, plain malloc:
 * callers work either way, only slower. */
#ifndef DLP_SRC_BACKEND_PINNED_H
#define DLP_SRC_BACKEND_PINNED_H

#include <stdbool.h>
#include <stddef.h>

/* NULL when out of memory. *pinned says which kind was returned, for
 * dlp_pinned_free. device: the GPU whose context allocates it (any thread
 * may call: it makes device that thread's current one; the memory is
 * portable, usable by every device); < 0: plain malloc, no CUDA call (a
 * buffer only the CPU reads). */
void *dlp_pinned_alloc(size_t bytes, int device, bool *pinned);
void dlp_pinned_free(void *memory, bool pinned);

#endif

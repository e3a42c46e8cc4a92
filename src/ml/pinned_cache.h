/* pinned_cache.h: host buffers that outlive one run of the decode stream
 * and the batch runner. A run allocates its ring of batch buffers and its
 * output buffers (page-locked on a GPU: backend/pinned.h) and frees them at
 * its end; a caller that runs again and again (dlp predict's micro-batches,
 * the chunks of featurize, evaluate and classify) would page-lock and unlock
 * the same memory each time, some ms per 100 MiB. A cache keeps the freed
 * blocks and hands one back to a request of the same device that it fits
 * without wasting more than its size again (request <= block <= 2 x
 * request). It keeps at most DLP_PINNED_CACHE_IDLE idle blocks (the one
 * unused longest goes first: after a batch of large images, say, their
 * buffers give way to the ones each run takes); blocks in use are never
 * touched. Thread-safe. */
#ifndef DLP_SRC_ML_PINNED_CACHE_H
#define DLP_SRC_ML_PINNED_CACHE_H

#include <stdbool.h>
#include <stddef.h>

#include "dlp/core.h"

enum { DLP_PINNED_CACHE_IDLE = 8 };

typedef struct dlp_pinned_cache dlp_pinned_cache;

dlp_status dlp_pinned_cache_create(dlp_pinned_cache **cache);
/* Frees every block it holds: all must have been given back. */
void dlp_pinned_cache_destroy(dlp_pinned_cache *cache);

/* dlp_pinned_alloc's contract (device < 0: not page-locked), from the cache
 * when it has a fitting block. cache NULL: dlp_pinned_alloc itself. */
void *dlp_pinned_cache_alloc(dlp_pinned_cache *cache, size_t bytes, int device, bool *pinned);
/* Gives memory (from dlp_pinned_cache_alloc on the same cache, or NULL) back;
 * cache NULL: dlp_pinned_free. */
void dlp_pinned_cache_free(dlp_pinned_cache *cache, void *memory, bool pinned);

/* Requests so far, and how many a cached block served. */
typedef struct dlp_pinned_cache_stats {
    size_t requests, reused, idle_blocks, idle_bytes;
} dlp_pinned_cache_stats;
dlp_pinned_cache_stats dlp_pinned_cache_get_stats(dlp_pinned_cache *cache);

#endif

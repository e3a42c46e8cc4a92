/* pinned_cache.c: see pinned_cache.h. Every block the cache allocated is
 * in one array, in use or idle; a few of them at most, so a linear search.
 * The array moves (realloc) and its entries move (trim), so nothing points
 * into it outside the mutex. */
#include "ml/pinned_cache.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "backend/pinned.h"
#include "core/status.h"

typedef struct block {
    void *memory;
    size_t bytes;
    int device;
    bool pinned, in_use;
    uint64_t last_used;  /* the cache's clock when it was last handed out or given back */
} block;

struct dlp_pinned_cache {
    pthread_mutex_t mutex;
    block *blocks;
    size_t count, capacity;
    size_t requests, reused;
    uint64_t clock;
};

dlp_status dlp_pinned_cache_create(dlp_pinned_cache **cache)
{
    *cache = calloc(1, sizeof **cache);
    if (!*cache) return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "out of memory");
    pthread_mutex_init(&(*cache)->mutex, NULL);
    return DLP_OK;
}

void dlp_pinned_cache_destroy(dlp_pinned_cache *cache)
{
    if (!cache) return;
    for (size_t i = 0; i < cache->count; i++) dlp_pinned_free(cache->blocks[i].memory, cache->blocks[i].pinned);
    free(cache->blocks);
    pthread_mutex_destroy(&cache->mutex);
    free(cache);
}

/* The smallest idle block of device that bytes fits without leaving more
 * than half of it unused; -1 when none (under the mutex). */
static long find_fit(const dlp_pinned_cache *cache, size_t bytes, int device)
{
    long best = -1;
    for (size_t i = 0; i < cache->count; i++) {
        const block *b = &cache->blocks[i];
        if (b->in_use || b->device != device || b->bytes < bytes || b->bytes / 2 > bytes) continue;
        if (best < 0 || b->bytes < cache->blocks[best].bytes) best = (long)i;
    }
    return best;
}

void *dlp_pinned_cache_alloc(dlp_pinned_cache *cache, size_t bytes, int device, bool *pinned)
{
    if (!cache) return dlp_pinned_alloc(bytes, device, pinned);
    if (bytes == 0) bytes = 1;
    pthread_mutex_lock(&cache->mutex);
    cache->requests++;
    long fit = find_fit(cache, bytes, device);
    if (fit >= 0) {
        block *b = &cache->blocks[fit];
        b->in_use = true;
        b->last_used = ++cache->clock;
        cache->reused++;
        *pinned = b->pinned;
        void *memory = b->memory;
        pthread_mutex_unlock(&cache->mutex);
        return memory;
    }
    pthread_mutex_unlock(&cache->mutex);
    void *memory = dlp_pinned_alloc(bytes, device, pinned);
    if (!memory) return NULL;
    pthread_mutex_lock(&cache->mutex);
    if (cache->count == cache->capacity) {
        size_t capacity = cache->capacity ? 2 * cache->capacity : 16;
        block *grown = realloc(cache->blocks, capacity * sizeof *grown);
        if (grown) cache->blocks = grown, cache->capacity = capacity;
    }
    /* Without room to note it the block is simply not cached: freed when given back. */
    if (cache->count < cache->capacity)
        cache->blocks[cache->count++] = (block){memory, bytes, device, *pinned, true, ++cache->clock};
    pthread_mutex_unlock(&cache->mutex);
    return memory;
}

/* Past DLP_PINNED_CACHE_IDLE idle blocks, takes the one unused longest out
 * of the array and returns true with it in *evicted, for the caller to free
 * once the mutex is released (unpinning takes time). Under the mutex; a
 * block is given back one at a time, so one eviction at most. */
static bool evict(dlp_pinned_cache *cache, block *evicted)
{
    size_t idle = 0;
    long oldest = -1;
    for (size_t i = 0; i < cache->count; i++) {
        if (cache->blocks[i].in_use) continue;
        idle++;
        if (oldest < 0 || cache->blocks[i].last_used < cache->blocks[oldest].last_used) oldest = (long)i;
    }
    if (idle <= DLP_PINNED_CACHE_IDLE) return false;
    *evicted = cache->blocks[oldest];
    cache->blocks[oldest] = cache->blocks[--cache->count];
    return true;
}

void dlp_pinned_cache_free(dlp_pinned_cache *cache, void *memory, bool pinned)
{
    if (!memory) return;
    if (!cache) {
        dlp_pinned_free(memory, pinned);
        return;
    }
    pthread_mutex_lock(&cache->mutex);
    bool found = false, evicted = false;
    block old;
    for (size_t i = 0; i < cache->count && !found; i++) {
        if (cache->blocks[i].memory != memory) continue;
        cache->blocks[i].in_use = false;
        cache->blocks[i].last_used = ++cache->clock;
        found = true;
    }
    if (found) evicted = evict(cache, &old);
    pthread_mutex_unlock(&cache->mutex);
    if (!found) dlp_pinned_free(memory, pinned); /* not noted (see dlp_pinned_cache_alloc) */
    if (evicted) dlp_pinned_free(old.memory, old.pinned);
}

dlp_pinned_cache_stats dlp_pinned_cache_get_stats(dlp_pinned_cache *cache)
{
    dlp_pinned_cache_stats stats = {0};
    if (!cache) return stats;
    pthread_mutex_lock(&cache->mutex);
    stats.requests = cache->requests;
    stats.reused = cache->reused;
    for (size_t i = 0; i < cache->count; i++) {
        if (cache->blocks[i].in_use) continue;
        stats.idle_blocks++;
        stats.idle_bytes += cache->blocks[i].bytes;
    }
    pthread_mutex_unlock(&cache->mutex);
    return stats;
}

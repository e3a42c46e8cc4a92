/* pinned_cache.c: see pinned_cache.h. Every block the cache allocated is
 * in one array, in use or idle; a few of them at most, so a linear search. */
#include "ml/pinned_cache.h"

#include <pthread.h>
#include <stdlib.h>

#include "backend/pinned.h"
#include "core/status.h"

typedef struct block {
    void *memory;
    size_t bytes;
    int device;
    bool pinned, in_use;
} block;

struct dlp_pinned_cache {
    pthread_mutex_t mutex;
    block *blocks;
    size_t count, capacity;
    size_t requests, reused;
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
        cache->reused++;
        *pinned = b->pinned;
        pthread_mutex_unlock(&cache->mutex);
        return b->memory;
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
    if (cache->count < cache->capacity) cache->blocks[cache->count++] = (block){memory, bytes, device, *pinned, true};
    pthread_mutex_unlock(&cache->mutex);
    return memory;
}

/* Frees the smallest idle blocks past DLP_PINNED_CACHE_IDLE (under the mutex). */
static void trim(dlp_pinned_cache *cache)
{
    for (;;) {
        size_t idle = 0;
        long smallest = -1;
        for (size_t i = 0; i < cache->count; i++) {
            if (cache->blocks[i].in_use) continue;
            idle++;
            if (smallest < 0 || cache->blocks[i].bytes < cache->blocks[smallest].bytes) smallest = (long)i;
        }
        if (idle <= DLP_PINNED_CACHE_IDLE) return;
        dlp_pinned_free(cache->blocks[smallest].memory, cache->blocks[smallest].pinned);
        cache->blocks[smallest] = cache->blocks[--cache->count];
    }
}

void dlp_pinned_cache_free(dlp_pinned_cache *cache, void *memory, bool pinned)
{
    if (!memory) return;
    if (!cache) {
        dlp_pinned_free(memory, pinned);
        return;
    }
    pthread_mutex_lock(&cache->mutex);
    bool found = false;
    for (size_t i = 0; i < cache->count && !found; i++) {
        if (cache->blocks[i].memory != memory) continue;
        cache->blocks[i].in_use = false;
        found = true;
    }
    if (found) trim(cache);
    pthread_mutex_unlock(&cache->mutex);
    if (!found) dlp_pinned_free(memory, pinned); /* not noted (see dlp_pinned_cache_alloc) */
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

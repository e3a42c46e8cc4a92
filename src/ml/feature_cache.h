/* feature_cache.h: the featurizer's feature cache: one small file per image,
 * DIR/ab/<sha256 of the file's bytes>.f32, holding its D floats, written to
 * a temporary name and renamed (a reader never sees half a file; runs in
 * parallel do not collide). Writes are queued to a background thread:
 * creating a file costs 20-40 us, and the thread that feeds the GPU thousands
 * of images a second cannot spare that. A cache that cannot be written only
 * costs time on the next run: write failures are ignored. */
#ifndef DLP_SRC_ML_FEATURE_CACHE_H
#define DLP_SRC_ML_FEATURE_CACHE_H

#include <stdbool.h>
#include <stddef.h>

#include "dlp/core.h"

typedef struct dlp_feature_cache dlp_feature_cache;

/* Creates dir (and its parents) if needed; DLP_ERR_IO naming it otherwise. */
dlp_status dlp_feature_cache_open(const char *dir, size_t dim, dlp_feature_cache **cache);
/* Flushes, stops the writer and frees; NULL is fine. */
void dlp_feature_cache_close(dlp_feature_cache *cache);

/* Fills features (dim floats) if the key's file is there and whole. Any thread. */
bool dlp_feature_cache_read(const dlp_feature_cache *cache, const char *key, float *features);

/* Queues a copy of features under key; waits only while the queue is full.
 * From one thread at a time. */
void dlp_feature_cache_write(dlp_feature_cache *cache, const char *key, const float *features);

/* Returns once every queued write has been done (or given up). */
void dlp_feature_cache_flush(dlp_feature_cache *cache);

#endif

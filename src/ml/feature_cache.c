/* feature_cache.c: see feature_cache.h. The queue is a ring of entries
 * (key + dim floats) bounded to about QUEUE_BYTES; the writer thread starts
 * with the first write. */
#include "ml/feature_cache.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/status.h"

enum { KEY_CHARS = 65, QUEUE_BYTES = 32 << 20, MIN_ENTRIES = 4, MAX_ENTRIES = 4096 };

struct dlp_feature_cache {
    char *dir;
    size_t dim;
    /* The write queue: entries [head, head + queued) of capacity, modulo. */
    char (*keys)[KEY_CHARS];
    float *features;            /* capacity x dim */
    size_t capacity, head, queued;
    bool stopping;
    bool writer_started;
    pthread_t writer;
    pthread_mutex_t mutex;
    pthread_cond_t changed;     /* an entry was queued or written, or stopping */
};

/* mkdir -p; an existing folder is fine. */
static dlp_status make_dirs(const char *path)
{
    char partial[4096];
    size_t length = strlen(path);
    if (length >= sizeof partial) return dlp_fail(DLP_ERR_IO, "%s: path too long", path);
    memcpy(partial, path, length + 1);
    for (size_t i = 1; i <= length; i++) {
        if (partial[i] != '/' && partial[i] != 0) continue;
        char saved = partial[i];
        partial[i] = 0;
        if (mkdir(partial, 0777) != 0 && errno != EEXIST)
            return dlp_fail(DLP_ERR_IO, "%s: cannot create folder: %s", partial, strerror(errno));
        partial[i] = saved;
    }
    return DLP_OK;
}

dlp_status dlp_feature_cache_open(const char *dir, size_t dim, dlp_feature_cache **out)
{
    *out = NULL;
    DLP_TRY(make_dirs(dir));
    dlp_feature_cache *cache = calloc(1, sizeof *cache);
    if (!cache || !(cache->dir = strdup(dir))) {
        free(cache);
        return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "feature cache: out of memory");
    }
    cache->dim = dim;
    size_t entries = QUEUE_BYTES / (dim * sizeof(float) + KEY_CHARS);
    cache->capacity = entries < MIN_ENTRIES ? MIN_ENTRIES : entries > MAX_ENTRIES ? MAX_ENTRIES : entries;
    pthread_mutex_init(&cache->mutex, NULL);
    pthread_cond_init(&cache->changed, NULL);
    *out = cache;
    return DLP_OK;
}

static void key_path(const dlp_feature_cache *cache, const char *key, char *path, size_t capacity)
{
    snprintf(path, capacity, "%s/%.2s/%s.f32", cache->dir, key, key);
}

bool dlp_feature_cache_read(const dlp_feature_cache *cache, const char *key, float *features)
{
    char path[4200];
    key_path(cache, key, path, sizeof path);
    FILE *file = fopen(path, "rb");
    if (!file) return false;
    size_t got = fread(features, sizeof(float), cache->dim, file);
    bool complete = got == cache->dim && fgetc(file) == EOF;
    fclose(file);
    return complete;
}

static void write_file(const dlp_feature_cache *cache, const char *key, const float *features)
{
    char path[4200], folder[4200], temporary[4300];
    key_path(cache, key, path, sizeof path);
    snprintf(folder, sizeof folder, "%s/%.2s", cache->dir, key);
    if (mkdir(folder, 0777) != 0 && errno != EEXIST) return;
    snprintf(temporary, sizeof temporary, "%s.%ld.tmp", path, (long)getpid());
    FILE *file = fopen(temporary, "wb");
    if (!file) return;
    bool ok = fwrite(features, sizeof(float), cache->dim, file) == cache->dim;
    ok = fclose(file) == 0 && ok;
    if (!ok || rename(temporary, path) != 0) unlink(temporary);
}

/* Writes the head entry outside the lock; the slot is not reused until it is done. */
static void *run_writer(void *context)
{
    dlp_feature_cache *cache = context;
    pthread_mutex_lock(&cache->mutex);
    for (;;) {
        while (!cache->stopping && cache->queued == 0) pthread_cond_wait(&cache->changed, &cache->mutex);
        if (cache->queued == 0) break;
        size_t entry = cache->head;
        pthread_mutex_unlock(&cache->mutex);
        write_file(cache, cache->keys[entry], cache->features + entry * cache->dim);
        pthread_mutex_lock(&cache->mutex);
        cache->head = (cache->head + 1) % cache->capacity;
        cache->queued--;
        pthread_cond_broadcast(&cache->changed);
    }
    pthread_mutex_unlock(&cache->mutex);
    return NULL;
}

/* The queue and the writer, on the first write; false if either cannot be had. */
static bool start_writer(dlp_feature_cache *cache)
{
    if (cache->writer_started) return true;
    if (!cache->keys) {
        cache->keys = calloc(cache->capacity, sizeof *cache->keys);
        cache->features = malloc(cache->capacity * cache->dim * sizeof(float));
        if (!cache->keys || !cache->features) {
            free(cache->keys);
            free(cache->features);
            cache->keys = NULL;
            cache->features = NULL;
            return false;
        }
    }
    cache->writer_started = pthread_create(&cache->writer, NULL, run_writer, cache) == 0;
    return cache->writer_started;
}

void dlp_feature_cache_write(dlp_feature_cache *cache, const char *key, const float *features)
{
    if (!start_writer(cache)) {
        write_file(cache, key, features);
        return;
    }
    pthread_mutex_lock(&cache->mutex);
    while (cache->queued == cache->capacity) pthread_cond_wait(&cache->changed, &cache->mutex);
    size_t entry = (cache->head + cache->queued) % cache->capacity;
    pthread_mutex_unlock(&cache->mutex);
    /* The writer never touches an entry before it is counted in queued. */
    snprintf(cache->keys[entry], KEY_CHARS, "%s", key);
    memcpy(cache->features + entry * cache->dim, features, cache->dim * sizeof(float));
    pthread_mutex_lock(&cache->mutex);
    cache->queued++;
    pthread_cond_broadcast(&cache->changed);
    pthread_mutex_unlock(&cache->mutex);
}

void dlp_feature_cache_flush(dlp_feature_cache *cache)
{
    if (!cache || !cache->writer_started) return;
    pthread_mutex_lock(&cache->mutex);
    while (cache->queued > 0) pthread_cond_wait(&cache->changed, &cache->mutex);
    pthread_mutex_unlock(&cache->mutex);
}

void dlp_feature_cache_close(dlp_feature_cache *cache)
{
    if (!cache) return;
    if (cache->writer_started) {
        pthread_mutex_lock(&cache->mutex);
        cache->stopping = true;
        pthread_cond_broadcast(&cache->changed);
        pthread_mutex_unlock(&cache->mutex);
        pthread_join(cache->writer, NULL); /* it writes what is queued first */
    }
    pthread_cond_destroy(&cache->changed);
    pthread_mutex_destroy(&cache->mutex);
    free(cache->keys);
    free(cache->features);
    free(cache->dir);
    free(cache);
}

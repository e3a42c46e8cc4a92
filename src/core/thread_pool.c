/* thread_pool.c: pthread workers that share one atomic index counter. */
#include "core/thread_pool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/status.h"

struct dlp_thread_pool {
    int thread_count; /* workers + the calling thread */
    pthread_t *workers;
    pthread_mutex_t mutex;
    pthread_cond_t work_ready;
    pthread_cond_t work_done;
    /* The current loop; generation counts loops so a worker runs each once. */
    unsigned long generation;
    size_t count;
    dlp_loop_body body;
    void *context;
    atomic_size_t next_index;
    int workers_busy;
    int shutting_down;
};

typedef struct {
    dlp_thread_pool *pool;
    int worker;
} worker_start;

static void run_indices(dlp_thread_pool *pool, int worker)
{
    for (;;) {
        size_t index = atomic_fetch_add(&pool->next_index, 1);
        if (index >= pool->count) return;
        pool->body(pool->context, index, worker);
    }
}

static void *worker_main(void *argument)
{
    worker_start start = *(worker_start *)argument;
    free(argument);
    dlp_thread_pool *pool = start.pool;
    unsigned long seen_generation = 0;
    pthread_mutex_lock(&pool->mutex);
    for (;;) {
        while (!pool->shutting_down && pool->generation == seen_generation)
            pthread_cond_wait(&pool->work_ready, &pool->mutex);
        if (pool->shutting_down) break;
        seen_generation = pool->generation;
        pthread_mutex_unlock(&pool->mutex);
        run_indices(pool, start.worker);
        pthread_mutex_lock(&pool->mutex);
        if (--pool->workers_busy == 0) pthread_cond_signal(&pool->work_done);
    }
    pthread_mutex_unlock(&pool->mutex);
    return NULL;
}

dlp_status dlp_thread_pool_create(int thread_count, dlp_thread_pool **out)
{
    *out = NULL;
    if (thread_count <= 0) {
        long online = sysconf(_SC_NPROCESSORS_ONLN);
        thread_count = online > 0 ? (int)online : 1;
    }
    if (thread_count > 1024) return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "thread pool: %d threads requested, at most 1024", thread_count);
    dlp_thread_pool *pool = calloc(1, sizeof *pool);
    if (!pool) return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "thread pool: out of memory");
    pool->thread_count = thread_count;
    pthread_mutex_init(&pool->mutex, NULL);
    pthread_cond_init(&pool->work_ready, NULL);
    pthread_cond_init(&pool->work_done, NULL);
    atomic_init(&pool->next_index, 0);
    int worker_count = thread_count - 1;
    if (worker_count > 0) {
        pool->workers = calloc((size_t)worker_count, sizeof *pool->workers);
        if (!pool->workers) {
            dlp_thread_pool_destroy(pool);
            return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "thread pool: out of memory");
        }
    }
    for (int w = 0; w < worker_count; w++) {
        worker_start *start = malloc(sizeof *start);
        if (start) {
            start->pool = pool;
            start->worker = w + 1;
        }
        if (!start || pthread_create(&pool->workers[w], NULL, worker_main, start) != 0) {
            free(start);
            pool->thread_count = w + 1; /* only the workers started so far are joined */
            dlp_thread_pool_destroy(pool);
            return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "thread pool: could not start worker %d of %d", w + 1, worker_count);
        }
    }
    *out = pool;
    return DLP_OK;
}

void dlp_thread_pool_destroy(dlp_thread_pool *pool)
{
    if (!pool) return;
    pthread_mutex_lock(&pool->mutex);
    pool->shutting_down = 1;
    pthread_cond_broadcast(&pool->work_ready);
    pthread_mutex_unlock(&pool->mutex);
    for (int w = 0; w < pool->thread_count - 1 && pool->workers; w++) pthread_join(pool->workers[w], NULL);
    pthread_cond_destroy(&pool->work_ready);
    pthread_cond_destroy(&pool->work_done);
    pthread_mutex_destroy(&pool->mutex);
    free(pool->workers);
    free(pool);
}

int dlp_thread_pool_size(const dlp_thread_pool *pool) { return pool->thread_count; }

void dlp_thread_pool_run(dlp_thread_pool *pool, size_t count, dlp_loop_body body, void *context)
{
    if (count == 0) return;
    if (pool->thread_count == 1 || count == 1) {
        for (size_t i = 0; i < count; i++) body(context, i, 0);
        return;
    }
    pthread_mutex_lock(&pool->mutex);
    pool->count = count;
    pool->body = body;
    pool->context = context;
    atomic_store(&pool->next_index, 0);
    pool->workers_busy = pool->thread_count - 1;
    pool->generation++;
    pthread_cond_broadcast(&pool->work_ready);
    pthread_mutex_unlock(&pool->mutex);

    run_indices(pool, 0);

    pthread_mutex_lock(&pool->mutex);
    while (pool->workers_busy > 0) pthread_cond_wait(&pool->work_done, &pool->mutex);
    pthread_mutex_unlock(&pool->mutex);
}

/* thread_pool.h: a fixed set of worker threads running parallel-for loops.
 * Used for CPU work that is not OpenMP-shaped (decoding files of uneven cost). */
#ifndef DLP_SRC_CORE_THREAD_POOL_H
#define DLP_SRC_CORE_THREAD_POOL_H

#include <stddef.h>

#include "dlp/core.h"

typedef struct dlp_thread_pool dlp_thread_pool;

/* Body of a loop: called once for each index in [0, count), from any worker;
 * worker is in [0, thread_count) so a body can use per-worker scratch space. */
typedef void (*dlp_loop_body)(void *context, size_t index, int worker);

/* thread_count <= 0 means the number of online CPUs. */
dlp_status dlp_thread_pool_create(int thread_count, dlp_thread_pool **pool);
void dlp_thread_pool_destroy(dlp_thread_pool *pool);
int dlp_thread_pool_size(const dlp_thread_pool *pool);

/* Runs body for every index, indices handed out one at a time in increasing
 * order (cheap rows do not wait for an expensive one), and returns when all
 * have finished. The calling thread works too. Not reentrant on one pool. */
void dlp_thread_pool_run(dlp_thread_pool *pool, size_t count, dlp_loop_body body, void *context);

#endif

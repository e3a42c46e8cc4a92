/* batch.c: dlp_image_load_batch: rows of a dataset read, decoded, resized and
 * normalized in parallel into one NHWC float batch. A failing row becomes an
 * error row with a zeroed slot; it never stops the batch. */
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "core/thread_pool.h"
#include "image/image_internal.h"

/* What each worker needs; per-row results are written to distinct slots, and
 * the dataset is only changed after the workers are done. */
typedef struct batch_job {
    const char **origins;     /* [n], NULL for rows that had already failed */
    dlp_status *statuses;     /* [n] */
    char **messages;          /* [n], malloc'ed copies of the failure messages */
    int out_h, out_w;
    dlp_resize method;
    dlp_normalize normalize;
    float *out;
} batch_job;

static char *copy_message(const char *text)
{
    size_t length = strlen(text);
    char *copy = malloc(length + 1);
    if (copy) memcpy(copy, text, length + 1);
    return copy;
}

static void load_one_row(void *context, size_t index, int worker)
{
    batch_job *job = context;
    size_t slot_values = (size_t)job->out_h * (size_t)job->out_w * 3;
    float *slot = job->out + index * slot_values;
    if (!job->origins[index]) {
        memset(slot, 0, slot_values * sizeof *slot);
        return;
    }
    dlp_image image;
    dlp_status status = dlp_image_read(job->origins[index], &image);
    if (status == DLP_OK) {
        status = dlp_image_resize_float(&image, job->out_h, job->out_w, job->method, job->normalize, slot);
        if (status != DLP_OK) dlp_fail_context(status, "%s", job->origins[index]);
        dlp_image_free(&image);
    }
    job->statuses[index] = status;
    if (status != DLP_OK) {
        memset(slot, 0, slot_values * sizeof *slot);
        /* dlp_last_error is per thread: copy it while still on this worker. */
        job->messages[index] = copy_message(dlp_last_error());
    }
}

static dlp_status check_batch_arguments(const dlp_dataset *dataset, size_t first, size_t n, int out_h, int out_w,
                                        dlp_resize method, dlp_normalize normalize, const float *out)
{
    if (!dataset || (!out && n)) return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "dlp_image_load_batch: NULL argument");
    size_t rows = dlp_dataset_size(dataset);
    if (first > rows || n > rows - first)
        return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "dlp_image_load_batch: rows [%zu, %zu+%zu) outside the dataset's %zu rows",
                        first, first, n, rows);
    if (out_h < 1 || out_w < 1 || out_h > DLP_IMAGE_MAX_SIDE || out_w > DLP_IMAGE_MAX_SIDE ||
        (int64_t)out_h * out_w > DLP_IMAGE_MAX_PIXELS)
        return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "dlp_image_load_batch: output %dx%d out of range", out_h, out_w);
    if ((unsigned)method > DLP_RESIZE_NEAREST || (unsigned)normalize > DLP_NORMALIZE_CAFFE)
        return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "dlp_image_load_batch: unknown resize %d or normalization %d",
                        (int)method, (int)normalize);
    return DLP_OK;
}

/* Records the new failures on the dataset (serially) and counts all failures. */
static dlp_status record_failures(dlp_dataset *dataset, size_t first, size_t n, const batch_job *job, size_t *failed)
{
    size_t count = 0;
    for (size_t i = 0; i < n; i++) {
        if (!job->origins[i]) {
            count++;
            continue;
        }
        if (job->statuses[i] == DLP_OK) continue;
        count++;
        const char *message = job->messages[i] ? job->messages[i] : job->origins[i];
        DLP_TRY(dlp_dataset_set_error(dataset, first + i, job->statuses[i], message));
    }
    if (failed) *failed = count;
    return DLP_OK;
}

static dlp_status run_batch(dlp_dataset *dataset, size_t first, size_t n, int threads, batch_job *job, size_t *failed)
{
    for (size_t i = 0; i < n; i++) {
        dlp_row row;
        DLP_TRY(dlp_dataset_row(dataset, first + i, &row));
        job->origins[i] = row.status == DLP_OK ? row.origin : NULL;
    }
    dlp_thread_pool *pool = NULL;
    if (threads <= 0 || (size_t)threads > n) threads = threads <= 0 ? 0 : (int)n;
    DLP_TRY(dlp_thread_pool_create(threads, &pool));
    dlp_thread_pool_run(pool, n, load_one_row, job);
    dlp_thread_pool_destroy(pool);
    return record_failures(dataset, first, n, job, failed);
}

dlp_status dlp_image_load_batch(dlp_dataset *dataset, size_t first, size_t n, int out_h, int out_w,
                                dlp_resize method, dlp_normalize normalize, int threads, float *out, size_t *failed)
{
    if (failed) *failed = 0;
    DLP_TRY(check_batch_arguments(dataset, first, n, out_h, out_w, method, normalize, out));
    if (n == 0) return DLP_OK;
    batch_job job = {.out_h = out_h, .out_w = out_w, .method = method, .normalize = normalize, .out = out};
    job.origins = calloc(n, sizeof *job.origins);
    job.statuses = calloc(n, sizeof *job.statuses);
    job.messages = calloc(n, sizeof *job.messages);
    dlp_status status = job.origins && job.statuses && job.messages
                            ? run_batch(dataset, first, n, threads, &job, failed)
                            : dlp_fail(DLP_ERR_OUT_OF_MEMORY, "dlp_image_load_batch: cannot allocate %zu rows", n);
    for (size_t i = 0; job.messages && i < n; i++) free(job.messages[i]);
    free(job.origins);
    free(job.statuses);
    free(job.messages);
    return status;
}

/* batch_runner.c: see batch_runner.h. */
#include "ml/batch_runner.h"

#include <stdlib.h>
#include <string.h>

#include "backend/pinned.h"
#include "core/env.h"
#include "core/status.h"
#include "graph/plan_images.h"

typedef struct row_failure {
    size_t row;
    dlp_status status;
    char *message;
} row_failure;

typedef struct run_state {
    const dlp_batch_runner *runner;
    dlp_decode_stream *stream;
    size_t first, count;
    row_failure *failures;      /* recorded on the dataset once the stream has stopped reading it */
    size_t failure_count, failure_capacity;
} run_state;

/* A batch whose network run was queued, and where its outputs land. */
typedef struct in_flight {
    dlp_decoded_batch *batch;
    int slot;                   /* its device staging slot, 0 or 1 */
    float *output;              /* batch_size x output_floats, pinned on a GPU */
    bool output_pinned;
    uint64_t ticket;
} in_flight;

static dlp_status launch_batch(const dlp_batch_runner *runner, in_flight *flight, dlp_decoded_batch *batch)
{
    flight->batch = batch;
    size_t m = batch->network_count;
    if (m == 0) return DLP_OK;
    if (!batch->input) { /* PACKED */
        DLP_TRY(dlp_plan_stage_images(runner->plan, flight->slot, batch->packed, &batch->layout));
        /* Images past the stream's packed budget came resized on the CPU. */
        dlp_plan_input_rows cpu_rows = {batch->cpu_count, batch->cpu_rows, batch->cpu_input};
        DLP_TRY(dlp_plan_run_staged_images(runner->plan, flight->slot, m, runner->resize, runner->normalize,
                                           &cpu_rows));
    } else {
        DLP_TRY(dlp_plan_run(runner->plan, batch->input, (int)m));
    }
    return dlp_plan_read_output_async(runner->plan, 0, flight->output, m * runner->output_floats, &flight->ticket);
}

static dlp_status note_failure(run_state *run, size_t row, dlp_status status, const char *message)
{
    if (run->failure_count == run->failure_capacity) {
        size_t capacity = run->failure_capacity ? 2 * run->failure_capacity : 64;
        row_failure *grown = realloc(run->failures, capacity * sizeof *grown);
        if (!grown) return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "out of memory for the failed rows");
        run->failures = grown;
        run->failure_capacity = capacity;
    }
    char *copy = strdup(message);
    if (!copy) return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "out of memory for the failed rows");
    run->failures[run->failure_count++] = (row_failure){row, status, copy};
    return DLP_OK;
}

/* Waits for a launched batch's outputs, hands them over, notes its
 * failures and gives its buffer back to the stream. */
static dlp_status land_batch(run_state *run, in_flight *flight)
{
    const dlp_batch_runner *runner = run->runner;
    dlp_decoded_batch *batch = flight->batch;
    if (batch->network_count) DLP_TRY(dlp_plan_wait_output(runner->plan, flight->ticket));
    DLP_TRY(runner->landed(runner->context, batch, flight->output));
    for (size_t slot = 0; slot < batch->count; slot++)
        if (batch->status[slot] != DLP_OK)
            DLP_TRY(note_failure(run, batch->first + slot, batch->status[slot], batch->message[slot]));
    size_t done = batch->first - run->first + batch->count;
    dlp_decode_stream_release(run->stream, batch);
    flight->batch = NULL;
    if (runner->progress) runner->progress(runner->progress_context, done, run->count);
    return DLP_OK;
}

static dlp_status run_batches(run_state *run, in_flight flights[2])
{
    bool overlap = run->runner->overlap;
    in_flight *previous = NULL;
    for (size_t k = 0;; k++) {
        dlp_decoded_batch *batch = NULL;
        DLP_TRY(dlp_decode_stream_next(run->stream, &batch));
        in_flight *current = batch ? &flights[k % 2] : NULL;
        if (current) DLP_TRY(launch_batch(run->runner, current, batch));
        if (previous) DLP_TRY(land_batch(run, previous));
        previous = current;
        if (previous && !overlap) {
            DLP_TRY(land_batch(run, previous));
            previous = NULL;
        }
        if (!batch) return DLP_OK;
    }
}

static dlp_status alloc_flights(const dlp_batch_runner *runner, dlp_pinned_cache *cache, size_t batch_size,
                                in_flight flights[2])
{
    size_t bytes = batch_size * runner->output_floats * sizeof(float);
    for (int i = 0; i < 2; i++) {
        flights[i].output = dlp_pinned_cache_alloc(cache, bytes, runner->cuda_device, &flights[i].output_pinned);
        if (!flights[i].output) return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "cannot allocate %zu bytes for outputs", bytes);
    }
    return DLP_OK;
}

static dlp_status record_failures(run_state *run, dlp_dataset *dataset)
{
    dlp_status status = DLP_OK;
    for (size_t i = 0; i < run->failure_count; i++) {
        const row_failure *failure = &run->failures[i];
        if (status == DLP_OK) status = dlp_dataset_set_error(dataset, failure->row, failure->status, failure->message);
        free(failure->message);
    }
    free(run->failures);
    return status;
}

void dlp_batch_runner_init(dlp_batch_runner *runner, dlp_decode_stream_options *stream, dlp_plan *plan,
                           int cuda_device, bool device_preprocess, size_t batch_size, int input_h, int input_w,
                           dlp_resize resize, dlp_normalize normalize)
{
    bool on_gpu = cuda_device >= 0;
    *runner = (dlp_batch_runner){.plan = plan, .output_floats = dlp_shape_elements(dlp_plan_output_shape(plan, 0)),
                                 .cuda_device = cuda_device, .overlap = on_gpu, .resize = resize,
                                 .normalize = normalize};
    *stream = (dlp_decode_stream_options){.batch_size = batch_size, .ring = on_gpu ? 3 : 1,
                                          .output = device_preprocess ? DLP_DECODE_PACKED : DLP_DECODE_RESIZED,
                                          .pinned_device = cuda_device, .out_h = input_h, .out_w = input_w,
                                          .resize = resize, .normalize = normalize,
                                          /* DLP_JPEG_SPLIT=0 turns it off (README "Environment"). */
                                          .jpeg_split = device_preprocess && dlp_env_switch("DLP_JPEG_SPLIT", true)};
}

dlp_status dlp_batch_runner_run(const dlp_batch_runner *runner, dlp_thread_pool *pool, dlp_dataset *dataset,
                                size_t first, size_t count, const dlp_decode_stream_options *stream)
{
    if (runner->overlap && stream->ring < 2)
        return dlp_fail(DLP_ERR_INVALID_ARGUMENT,
                        "batch runner: two batches in flight need a ring of 2 or more, not %d", stream->ring);
    run_state run = {.runner = runner, .first = first, .count = count};
    in_flight flights[2] = {{.slot = 0}, {.slot = 1}};
    dlp_status status = alloc_flights(runner, stream->buffer_cache, stream->batch_size, flights);
    if (status == DLP_OK) status = dlp_decode_stream_start(pool, dataset, first, count, stream, &run.stream);
    if (status == DLP_OK) status = run_batches(&run, flights);
    /* A failed run may leave a launch queued: let it finish before its output buffer goes. */
    for (int i = 0; i < 2; i++)
        if (flights[i].batch) dlp_plan_wait_output(runner->plan, flights[i].ticket);
    dlp_decode_stream_destroy(run.stream);
    dlp_status recorded = record_failures(&run, dataset);
    for (int i = 0; i < 2; i++)
        dlp_pinned_cache_free(stream->buffer_cache, flights[i].output, flights[i].output_pinned);
    return status != DLP_OK ? status : recorded;
}

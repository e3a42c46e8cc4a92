/* batch_runner.h: a zoo plan run over the batches of a decode stream
 * (ml/decode_stream.h), for the featurizer and the ImageNet predictor. On a
 * GPU two batches are in flight: batch k is staged, resized, run and its
 * download queued before batch k - 1's outputs are waited for (on events the
 * waiting thread sleeps on), so the GPU does not wait for the host's
 * bookkeeping; on the CPU, where the network takes every core, one batch at a
 * time. The rows' new failures are recorded on the dataset once the stream
 * has stopped reading it. */
#ifndef DLP_SRC_ML_BATCH_RUNNER_H
#define DLP_SRC_ML_BATCH_RUNNER_H

#include <stdbool.h>
#include <stddef.h>

#include "core/thread_pool.h"
#include "dlp/dataset.h"
#include "dlp/graph.h"
#include "ml/decode_stream.h"

typedef struct dlp_batch_runner {
    dlp_plan *plan;             /* its output 0 is what each batch gives */
    size_t output_floats;       /* per image */
    int cuda_device;            /* >= 0: outputs land in memory pinned for this GPU */
    /* Launch batch k before landing batch k - 1 (a GPU, whose runs and
     * downloads are asynchronous); needs a stream ring of 2 or more. Off:
     * one batch at a time (the CPU, where the network takes every core). */
    bool overlap;
    /* PACKED batches (stream.output): resized and normalized on the device
     * with these; RESIZED ones go in as they are. */
    dlp_resize resize;
    dlp_normalize normalize;
    /* Called on the calling thread for every batch, in order, once its
     * outputs are back: network_count rows of output_floats, in the order of
     * batch->network_slots. A failure stops the run. */
    dlp_status (*landed)(void *context, const dlp_decoded_batch *batch, const float *outputs);
    void *context;
    /* Optional: after each batch, rows done of total. */
    void (*progress)(void *context, size_t done, size_t total);
    void *progress_context;
} dlp_batch_runner;

/* The runner for plan (its output 0) on cuda_device (-1: the CPU) and the
 * stream that feeds it: on a GPU two batches in flight over a ring of 3 (one
 * more being decoded), pinned, PACKED when the device resizes
 * (device_preprocess); on the CPU one batch at a time over a ring of 1 (the
 * workers wait while the network takes the cores), RESIZED. Both zeroed
 * first; the caller adds landed, progress and the stream's hashing. */
void dlp_batch_runner_init(dlp_batch_runner *runner, dlp_decode_stream_options *stream, dlp_plan *plan,
                           int cuda_device, bool device_preprocess, size_t batch_size, int input_h, int input_w,
                           dlp_resize resize, dlp_normalize normalize);

/* Decodes rows [first, first + count) of dataset on pool with stream's
 * options and runs every batch through runner->plan; afterwards each row
 * that failed now carries its reason on the dataset. */
dlp_status dlp_batch_runner_run(const dlp_batch_runner *runner, dlp_thread_pool *pool, dlp_dataset *dataset,
                                size_t first, size_t count, const dlp_decode_stream_options *stream);

#endif

/* stream_rate.c: the CPU half of end-to-end featurization on a GPU, measured
 * on any machine: how many images per second the featurizer's decode stream
 * (src/ml/decode_stream.h, PACKED: what the GPU path uses) hands over when
 * its consumer is infinitely fast, against the decode ceiling measured in the
 * same run (one core's read + decode rate x threads, and the rate of plain
 * parallel decoding with as many threads) and against an emulation of the
 * previous featurize loop's CPU side (per batch: every thread reads, hashes
 * and decodes onto the heap, all wait at the batch's end, then the images
 * are copied into one packed buffer).
 *
 * Usage: stream_rate DIR|LIST [--threads N] [--batch B] [--ring R] [--rows N] [--seconds S] [--pinned DEVICE]
 * (--pinned: the packed buffers page-locked for cuda:DEVICE, as the featurizer has them on a GPU)
 * Prints one line: "stream_rate threads=... single_core=... ceiling=... parallel_decode=...
 * barrier=... stream=... stream_first_batch_ms=... stream_steady=... stream_hashed=... stream_hashed_steady=...
 * stream_of_ceiling=... stream_steady_of_ceiling=... split=... split_steady=... split_of_ceiling=..." (images/s;
 * "steady": after the first ring of batches, so without the buffers' allocation; with --pinned the device's
 * context is opened before any of it; split: the stream with jpeg_split, the JPEGs it covers handed over as
 * coefficient records for the GPU to finish). */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "backend/pinned.h"
#include "core/sha256.h"
#include "core/thread_pool.h"
#include "dlp/dlp.h"
#include "image/image_internal.h"
#include "image/pack.h"
#include "ml/decode_stream.h"

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

typedef struct bench {
    dlp_dataset *dataset;
    size_t rows;
    atomic_size_t failed;
    dlp_image *images; /* barrier: one batch's decoded images */
    size_t first;
    uint8_t *packed;
    dlp_image_pack_layout layout;
} bench;

static int read_and_decode(const bench *b, size_t row, bool hash, dlp_image *image)
{
    dlp_row info;
    uint8_t *bytes = NULL;
    size_t size = 0;
    char key[65];
    if (dlp_dataset_row(b->dataset, row, &info) != DLP_OK || dlp_image_read_file(info.origin, &bytes, &size) != DLP_OK)
        return 1;
    if (hash) dlp_sha256_hex(bytes, size, key);
    int failed = dlp_image_decode(bytes, size, image) != DLP_OK;
    free(bytes);
    return failed;
}

static double single_core_rate(bench *b, double seconds)
{
    size_t images = 0;
    double start = now_seconds();
    while (now_seconds() - start < seconds) {
        dlp_image image = {0};
        if (read_and_decode(b, images % b->rows, false, &image)) atomic_fetch_add(&b->failed, 1);
        dlp_image_free(&image);
        images++;
    }
    return images / (now_seconds() - start);
}

static void decode_one(void *context, size_t index, int worker)
{
    (void)worker;
    bench *b = context;
    dlp_image image = {0};
    if (read_and_decode(b, index, false, &image)) atomic_fetch_add(&b->failed, 1);
    dlp_image_free(&image);
}

static void barrier_decode(void *context, size_t index, int worker)
{
    (void)worker;
    bench *b = context;
    if (read_and_decode(b, b->first + index, true, &b->images[index])) atomic_fetch_add(&b->failed, 1);
}

static void barrier_pack(void *context, size_t index, int worker)
{
    (void)worker;
    bench *b = context;
    dlp_image *image = &b->images[index];
    memcpy(b->packed + b->layout.offsets[index], image->pixels, (size_t)image->width * image->height * 3);
    dlp_image_free(image);
}

static double barrier_rate(bench *b, dlp_thread_pool *pool, size_t batch)
{
    b->images = calloc(batch, sizeof *b->images);
    size_t capacity = 0;
    double start = now_seconds();
    for (b->first = 0; b->first < b->rows; b->first += batch) {
        size_t n = b->rows - b->first < batch ? b->rows - b->first : batch;
        dlp_thread_pool_run(pool, n, barrier_decode, b);
        if (dlp_image_pack_layout_create(b->images, n, &b->layout) != DLP_OK) break;
        if (b->layout.total_bytes > capacity) {
            free(b->packed);
            capacity = b->layout.total_bytes + b->layout.total_bytes / 4;
            b->packed = malloc(capacity);
        }
        dlp_thread_pool_run(pool, n, barrier_pack, b);
        dlp_image_pack_layout_free(&b->layout);
    }
    double rate = b->rows / (now_seconds() - start);
    free(b->images);
    free(b->packed);
    b->packed = NULL;
    return rate;
}

typedef struct stream_figures {
    double rate;            /* rows handed / the whole run (start included) */
    double first_batch_ms;  /* start -> the first batch handed (buffers allocated, pinned or not) */
    double steady;          /* rows / s after the first ring of batches */
} stream_figures;

static stream_figures stream_rate(bench *b, dlp_thread_pool *pool, size_t batch, int ring, bool hash,
                                  int pinned_device, bool split)
{
    stream_figures figures = {0};
    dlp_decode_stream_options options = {.batch_size = batch, .ring = ring, .output = DLP_DECODE_PACKED, .hash = hash,
                                         .pinned_device = pinned_device, .out_h = 299, .out_w = 299,
                                         .resize = DLP_RESIZE_AREA, .normalize = DLP_NORMALIZE_TF,
                                         .jpeg_split = split};
    dlp_decode_stream *stream = NULL;
    double start = now_seconds(), steady_start = 0;
    if (dlp_decode_stream_start(pool, b->dataset, 0, b->rows, &options, &stream) != DLP_OK) return figures;
    size_t handed = 0, batches = 0, steady_from = 0;
    for (;;) {
        dlp_decoded_batch *decoded = NULL;
        if (dlp_decode_stream_next(stream, &decoded) != DLP_OK || !decoded) break;
        if (batches == 0) figures.first_batch_ms = (now_seconds() - start) * 1e3;
        handed += decoded->count;
        if (++batches == (size_t)ring) {
            steady_start = now_seconds();
            steady_from = handed;
        }
        dlp_decode_stream_release(stream, decoded);
    }
    double end = now_seconds();
    figures.rate = handed / (end - start);
    if (steady_start > 0 && end > steady_start) figures.steady = (handed - steady_from) / (end - steady_start);
    dlp_decode_stream_destroy(stream);
    return figures;
}

static const char *option(int argc, char **argv, const char *name, const char *fallback)
{
    for (int i = 2; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0) return argv[i + 1];
    return fallback;
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0) {
        fprintf(stderr, "usage: stream_rate DIR|LIST [--threads N] [--batch B] [--ring R] [--rows N] [--seconds S] "
                        "[--pinned DEVICE]\n");
        return argc < 2 ? 2 : 0;
    }
    int threads = atoi(option(argc, argv, "--threads", "0"));
    size_t batch = (size_t)atol(option(argc, argv, "--batch", "256"));
    int ring = atoi(option(argc, argv, "--ring", "3"));
    size_t rows = (size_t)atol(option(argc, argv, "--rows", "0"));
    double seconds = atof(option(argc, argv, "--seconds", "3"));
    int pinned_device = atoi(option(argc, argv, "--pinned", "-1")); /* the featurizer's buffers on cuda:N */
    bench b = {0};
    struct stat info;
    dlp_status status = dlp_dataset_create(&b.dataset);
    if (status == DLP_OK)
        status = stat(argv[1], &info) == 0 && S_ISDIR(info.st_mode) ? dlp_dataset_scan_directory(b.dataset, argv[1])
                                                                    : dlp_dataset_read_list(b.dataset, argv[1]);
    size_t files = status == DLP_OK ? dlp_dataset_size(b.dataset) : 0;
    if (files == 0) {
        fprintf(stderr, "stream_rate: %s: %s\n", argv[1], status != DLP_OK ? dlp_last_error() : "no images");
        return 1;
    }
    /* The files again and again up to rows (after the first pass they come from the page cache). */
    for (size_t i = files; i < rows; i++) {
        dlp_row row;
        dlp_dataset_row(b.dataset, i % files, &row);
        char origin[4096];
        snprintf(origin, sizeof origin, "%s", row.origin);
        dlp_dataset_add(b.dataset, origin, row.label);
    }
    b.rows = dlp_dataset_size(b.dataset);
    atomic_init(&b.failed, 0);
    dlp_thread_pool *pool = NULL;
    if (dlp_thread_pool_create(threads, &pool) != DLP_OK) return 1;
    threads = dlp_thread_pool_size(pool);
    dlp_thread_pool_run(pool, files, decode_one, &b); /* warm the page cache */
    double single = single_core_rate(&b, seconds);
    double start = now_seconds();
    dlp_thread_pool_run(pool, b.rows, decode_one, &b);
    double parallel = b.rows / (now_seconds() - start);
    double barrier = barrier_rate(&b, pool, batch);
    if (pinned_device >= 0) { /* the device's context up first: its creation is not the stream's cost */
        bool pinned = false;
        void *probe = dlp_pinned_alloc(1, pinned_device, &pinned);
        dlp_pinned_free(probe, pinned);
    }
    stream_figures stream = stream_rate(&b, pool, batch, ring, false, pinned_device, false);
    stream_figures hashed = stream_rate(&b, pool, batch, ring, true, pinned_device, false);
    stream_figures split = stream_rate(&b, pool, batch, ring, false, pinned_device, true);
    printf("stream_rate threads=%d batch=%zu ring=%d rows=%zu single_core=%.1f ceiling=%.0f parallel_decode=%.0f "
           "barrier=%.0f stream=%.0f stream_first_batch_ms=%.1f stream_steady=%.0f stream_hashed=%.0f "
           "stream_hashed_steady=%.0f stream_of_ceiling=%.3f stream_steady_of_ceiling=%.3f split=%.0f split_steady=%.0f "
           "split_of_ceiling=%.3f failed=%zu sha256=%s\n",
           threads, batch, ring, b.rows, single, single * threads, parallel, barrier, stream.rate,
           stream.first_batch_ms, stream.steady, hashed.rate, hashed.steady, stream.rate / (single * threads),
           stream.steady / (single * threads), split.rate, split.steady, split.rate / (single * threads),
           atomic_load(&b.failed), dlp_sha256_path_name(dlp_sha256_path_in_use()));
    dlp_thread_pool_destroy(pool);
    dlp_dataset_destroy(b.dataset);
    return atomic_load(&b.failed) ? 1 : 0;
}

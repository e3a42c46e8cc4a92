/* featurize.c: a zoo network with its top peeled off, run over dataset rows.
 * Worker threads read each file, hash its bytes (with a feature cache), look
 * the hash up in the cache, and decode the misses, continuously, into a ring
 * of batches (ml/decode_stream.h); the network takes the batches in order
 * and their features go back to the rows and into the cache. On a GPU the
 * CPU threads only decode, straight into pinned memory: the device copies
 * each batch in on its copy stream, resizes and normalizes it there
 * (graph/plan_images.h), bit for bit as dlp_image_resize_float would, and two
 * batches are in flight. On the CPU, decoding and resizing, then the
 * network, each use every core in turn. */
#include "dlp/featurize.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/sha256.h"
#include "core/status.h"
#include "core/thread_pool.h"
#include "backend/pinned.h"
#include "dlp/device.h"
#include "dlp/weights.h"
#include "graph/backend_choice.h"
#include "graph/plan_images.h"
#include "image/image_internal.h"
#include "ml/decode_stream.h"
#include "ml/feature_cache.h"

enum { MAX_BATCH = 4096 };

struct dlp_featurizer {
    const dlp_model_info *model;
    dlp_pooling pooling;
    dlp_resize resize;
    dlp_normalize normalize;
    int batch_size;
    bool batch_from_memory;   /* no batch size given, on a GPU: fit it to the free memory */
    int cuda_device;          /* -1 on the CPU; on a GPU the next batch is prepared while the network runs */
    bool device_preprocess;   /* the backend resizes and normalizes decoded images */
    dlp_backend *backend;
    dlp_plan *plan;
    dlp_thread_pool *pool;
    size_t dim;
    char *weights_path;
    char weights_sha256[65];
    char config_key[65];      /* sha256 of model, weights digest and preprocessing */
    dlp_feature_cache *cache; /* in <cache>/features/<config_key>, or NULL */
    char device[DLP_BACKEND_DESCRIPTION_CAPACITY];
    const char *precision;    /* what the network computes in: "fp32", "tf32", "fp16", "bf16" */
};

void dlp_featurizer_options_init(dlp_featurizer_options *options)
{
    memset(options, 0, sizeof *options);
    options->pooling = DLP_POOLING_AVG;
    options->resize = DLP_RESIZE_AREA;
}

const char *dlp_feature_cache_default_dir(void)
{
    static __thread char path[4096];
    const char *explicit_dir = getenv("DLP_CACHE_DIR");
    if (explicit_dir && *explicit_dir) return explicit_dir;
    const char *xdg = getenv("XDG_CACHE_HOME");
    if (xdg && *xdg) {
        snprintf(path, sizeof path, "%s/dlp", xdg);
        return path;
    }
    const char *home = getenv("HOME");
    if (home && *home) {
        snprintf(path, sizeof path, "%s/.cache/dlp", home);
        return path;
    }
    return NULL;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* --device and --precision (graph/backend_choice.h); fp16/bf16 featurizers
 * use the timed algorithm search and fused conv+bias+activation. */
static dlp_status choose_backend(dlp_featurizer *featurizer, const dlp_featurizer_options *options)
{
    dlp_cuda_options cuda = {.precision = options->precision, .allow_tf32 = options->allow_tf32};
    if (options->precision != DLP_CUDA_FP32) cuda.search = DLP_CUDA_SEARCH_TIMED, cuda.fuse_bias_activation = true;
    dlp_backend_choice choice;
    DLP_TRY(dlp_backend_choose(options->device, options->threads, &cuda, &choice));
    featurizer->backend = choice.backend;
    featurizer->cuda_device = choice.cuda_device;
    featurizer->precision = choice.precision;
    memcpy(featurizer->device, choice.described, sizeof featurizer->device);
    return DLP_OK;
}

static dlp_status load_weights(dlp_featurizer *featurizer, const dlp_featurizer_options *options,
                               dlp_tensor_list **weights)
{
    char found[4096];
    const char *path = options->weights;
    if (!path) {
        if (!dlp_weights_find(featurizer->model->name, NULL, true, found, sizeof found) &&
            !dlp_weights_find(featurizer->model->name, NULL, false, found, sizeof found))
            return dlp_fail(DLP_ERR_MODEL,
                            "%s: no weights found (looked in $DLP_WEIGHTS_DIR, ~/.cache/dlp/weights, ./weights); "
                            "pass --weights FILE or run weights/fetch.sh",
                            featurizer->model->name);
        path = found;
    }
    featurizer->weights_path = strdup(path);
    if (!featurizer->weights_path) return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "out of memory");
    return dlp_weights_load_any(path, weights);
}

/* The default GPU batch (64), made smaller where the activations of that many
 * images would take more than half of the device's free memory: the memory
 * plan for one image (planned, not prepared: no upload, no algorithm search)
 * gives the arena bytes per image, an over-estimate as it includes what does
 * not grow with the batch. */
static dlp_status fit_batch_to_memory(dlp_featurizer *featurizer, const dlp_graph *graph, const char *const *outputs)
{
    size_t per_image = 0;
    DLP_TRY(dlp_plan_estimate_arena_bytes(graph, featurizer->backend, 1, outputs, 1, &per_image));
    dlp_device_info info;
    if (per_image == 0 || dlp_device_get_info(featurizer->cuda_device, &info) != DLP_OK) return DLP_OK;
    size_t fits = info.free_memory_bytes / 2 / per_image;
    if (fits < (size_t)featurizer->batch_size) featurizer->batch_size = fits > 0 ? (int)fits : 1;
    return DLP_OK;
}

static dlp_status plan_network(dlp_featurizer *featurizer, const dlp_tensor_list *weights)
{
    dlp_model_options model_options = {DLP_TOP_NONE, featurizer->pooling};
    dlp_graph *graph = NULL;
    DLP_TRY(dlp_zoo_build(featurizer->model->name, weights, &model_options, &graph));
    const char *outputs[] = {"features"};
    dlp_status status = featurizer->batch_from_memory ? fit_batch_to_memory(featurizer, graph, outputs) : DLP_OK;
    if (status == DLP_OK)
        status = dlp_plan_create(graph, featurizer->backend, featurizer->batch_size, outputs, 1, &featurizer->plan);
    dlp_graph_destroy(graph);
    if (status != DLP_OK) return status;
    featurizer->dim = dlp_shape_elements(dlp_plan_output_shape(featurizer->plan, 0));
    return DLP_OK;
}

static dlp_status open_cache(dlp_featurizer *featurizer, const dlp_featurizer_options *options)
{
    char text[512];
    snprintf(text, sizeof text, "dlp-features-v1|%s|%s|%s|%d|%d|%d", featurizer->model->name,
             featurizer->weights_sha256, dlp_pooling_name(featurizer->pooling), (int)featurizer->resize,
             (int)featurizer->normalize, featurizer->model->input_h);
    /* fp32 keys stay as they were (CPU and CUDA fp32 agree to 1e-5); the
     * other precisions differ by up to ~1e-2 and get their own entries. */
    if (strcmp(featurizer->precision, "fp32") != 0)
        snprintf(text + strlen(text), sizeof text - strlen(text), "|%s", featurizer->precision);
    dlp_sha256_hex(text, strlen(text), featurizer->config_key);
    const char *root = options->cache_dir ? options->cache_dir : dlp_feature_cache_default_dir();
    if (!root || !*root) return DLP_OK;
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/features/%.16s", root, featurizer->config_key);
    return dlp_feature_cache_open(dir, featurizer->dim, &featurizer->cache);
}

dlp_status dlp_featurizer_create(const dlp_featurizer_options *options, dlp_featurizer **out)
{
    *out = NULL;
    if (!options || !options->model) return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "featurizer: no model given");
    const dlp_model_info *model = dlp_weights_zoo_model(options->model);
    if (!model) return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "model '%s' is not in the zoo (see dlp models)", options->model);
    if (options->pooling == DLP_POOLING_NONE)
        return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "featurizer pooling: expected avg, max or flatten");
    dlp_featurizer *featurizer = calloc(1, sizeof *featurizer);
    if (!featurizer) return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "out of memory");
    featurizer->model = model;
    featurizer->pooling = options->pooling;
    featurizer->resize = options->resize;
    featurizer->normalize = model->preprocessing == DLP_PREPROCESS_CAFFE ? DLP_NORMALIZE_CAFFE : DLP_NORMALIZE_TF;
    dlp_tensor_list *weights = NULL;
    dlp_status status = choose_backend(featurizer, options);
    if (status == DLP_OK) {
        featurizer->batch_size = options->batch_size > 0 ? options->batch_size : featurizer->cuda_device >= 0 ? 64 : 16;
        featurizer->batch_from_memory = options->batch_size <= 0 && featurizer->cuda_device >= 0;
        if (featurizer->batch_size > MAX_BATCH)
            status = dlp_fail(DLP_ERR_INVALID_ARGUMENT, "batch size %d: expected 1..%d", featurizer->batch_size,
                              MAX_BATCH);
    }
    if (status == DLP_OK) {
        status = load_weights(featurizer, options, &weights);
    }
    if (status == DLP_OK) {
        dlp_weights_digest(weights, featurizer->weights_sha256);
        status = plan_network(featurizer, weights);
    }
    dlp_tensor_list_destroy(weights);
    if (status == DLP_OK)
        featurizer->device_preprocess = !options->cpu_preprocess && dlp_plan_takes_images(featurizer->plan);
    /* With the timed search (fp16/bf16 on a GPU), a short last batch would
     * time every convolution again at its size: it runs as a whole batch. */
    if (status == DLP_OK && featurizer->cuda_device >= 0 && options->precision != DLP_CUDA_FP32)
        dlp_plan_run_whole_batches(featurizer->plan, true);
    if (status == DLP_OK) status = dlp_thread_pool_create(options->threads, &featurizer->pool);
    if (status == DLP_OK) status = open_cache(featurizer, options);
    if (status != DLP_OK) {
        dlp_featurizer_destroy(featurizer);
        return status;
    }
    *out = featurizer;
    return DLP_OK;
}

void dlp_featurizer_destroy(dlp_featurizer *featurizer)
{
    if (!featurizer) return;
    dlp_plan_destroy(featurizer->plan);
    dlp_backend_destroy(featurizer->backend);
    dlp_thread_pool_destroy(featurizer->pool);
    free(featurizer->weights_path);
    dlp_feature_cache_close(featurizer->cache);
    free(featurizer);
}

size_t dlp_featurizer_dim(const dlp_featurizer *featurizer) { return featurizer->dim; }
const dlp_model_info *dlp_featurizer_model(const dlp_featurizer *featurizer) { return featurizer->model; }
const char *dlp_featurizer_weights_path(const dlp_featurizer *featurizer) { return featurizer->weights_path; }
const char *dlp_featurizer_weights_sha256(const dlp_featurizer *featurizer) { return featurizer->weights_sha256; }
const char *dlp_featurizer_device(const dlp_featurizer *featurizer) { return featurizer->device; }

/* ---- Running: the decode stream (ml/decode_stream.h) feeds batches; on a
 * GPU two are in flight: batch k is queued (copy, resize, network, download)
 * before batch k - 1's features are waited for, so the GPU never waits for
 * the CPU's bookkeeping, and the CPU threads decode further ahead. ---- */

typedef struct row_failure {
    size_t row;
    dlp_status status;
    char *message;
} row_failure;

typedef struct run_state {
    dlp_featurizer *featurizer;
    dlp_dataset *dataset;
    size_t first, count;
    float *features;          /* the caller's: row first at index 0 */
    dlp_featurize_stats stats;
    row_failure *failures;    /* recorded on the dataset once the stream has stopped reading it */
    size_t failure_count, failure_capacity;
    dlp_featurize_progress progress;
    void *progress_context;
} run_state;

/* A batch whose network run was queued, and where its features land. */
typedef struct in_flight {
    dlp_decoded_batch *batch;
    int slot;                 /* its device staging slot, 0 or 1 */
    float *output;            /* batch_size x dim, pinned on a GPU */
    bool output_pinned;
    uint64_t ticket;
} in_flight;

/* dlp_decode_stream_options.lookup: fills the row's features from the cache. */
static bool lookup_cached(void *context, const char *content_key, size_t row)
{
    run_state *run = context;
    dlp_featurizer *featurizer = run->featurizer;
    return dlp_feature_cache_read(featurizer->cache, content_key, run->features + (row - run->first) * featurizer->dim);
}

static dlp_status launch_batch(run_state *run, in_flight *flight, dlp_decoded_batch *batch)
{
    dlp_featurizer *featurizer = run->featurizer;
    flight->batch = batch;
    size_t m = batch->network_count;
    if (m == 0) return DLP_OK;
    if (featurizer->device_preprocess) {
        DLP_TRY(dlp_plan_stage_images(featurizer->plan, flight->slot, batch->packed, &batch->layout));
        DLP_TRY(dlp_plan_run_staged_images(featurizer->plan, flight->slot, m, featurizer->resize,
                                           featurizer->normalize));
    } else {
        DLP_TRY(dlp_plan_run(featurizer->plan, batch->input, (int)m));
    }
    return dlp_plan_read_output_async(featurizer->plan, 0, flight->output, m * featurizer->dim, &flight->ticket);
}

static dlp_status note_failure(run_state *run, size_t row, dlp_status status, const char *message)
{
    if (run->failure_count == run->failure_capacity) {
        size_t capacity = run->failure_capacity ? 2 * run->failure_capacity : 64;
        row_failure *grown = realloc(run->failures, capacity * sizeof *grown);
        if (!grown) return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "featurize: out of memory");
        run->failures = grown;
        run->failure_capacity = capacity;
    }
    char *copy = strdup(message);
    if (!copy) return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "featurize: out of memory");
    run->failures[run->failure_count++] = (row_failure){row, status, copy};
    return DLP_OK;
}

/* Waits for a launched batch's features, puts them in their rows and the
 * cache, notes its failures, and gives its buffer back to the stream. */
static dlp_status land_batch(run_state *run, dlp_decode_stream *stream, in_flight *flight)
{
    dlp_featurizer *featurizer = run->featurizer;
    dlp_decoded_batch *batch = flight->batch;
    size_t dim = featurizer->dim, m = batch->network_count;
    if (m) DLP_TRY(dlp_plan_wait_output(featurizer->plan, flight->ticket));
    float *rows = run->features + (batch->first - run->first) * dim;
    for (size_t i = 0; i < m; i++) {
        size_t slot = batch->network_slots[i];
        memcpy(rows + slot * dim, flight->output + i * dim, dim * sizeof(float));
        if (featurizer->cache)
            dlp_feature_cache_write(featurizer->cache, batch->content_key[slot], flight->output + i * dim);
    }
    run->stats.computed += m;
    for (size_t slot = 0; slot < batch->count; slot++) {
        if (batch->cache_hit[slot]) run->stats.cache_hits++;
        if (batch->status[slot] != DLP_OK)
            DLP_TRY(note_failure(run, batch->first + slot, batch->status[slot], batch->message[slot]));
    }
    size_t done = batch->first - run->first + batch->count;
    dlp_decode_stream_release(stream, batch);
    flight->batch = NULL;
    if (run->progress) run->progress(run->progress_context, done, run->count);
    return DLP_OK;
}

/* The batches, in order: on a GPU batch k is launched before batch k - 1
 * lands; on the CPU (where the network uses every core) one at a time. */
static dlp_status run_batches(run_state *run, dlp_decode_stream *stream, in_flight flights[2])
{
    bool overlap = run->featurizer->cuda_device >= 0;
    in_flight *previous = NULL;
    for (size_t k = 0;; k++) {
        dlp_decoded_batch *batch = NULL;
        DLP_TRY(dlp_decode_stream_next(stream, &batch));
        in_flight *current = batch ? &flights[k % 2] : NULL;
        if (current) DLP_TRY(launch_batch(run, current, batch));
        if (previous) DLP_TRY(land_batch(run, stream, previous));
        previous = current;
        if (previous && !overlap) {
            DLP_TRY(land_batch(run, stream, previous));
            previous = NULL;
        }
        if (!batch) return DLP_OK;
    }
}

/* After the stream: the new failures go on the dataset, and every failed
 * row (new or earlier) gets NaN features. */
static dlp_status record_failures(run_state *run)
{
    dlp_status status = DLP_OK;
    for (size_t i = 0; i < run->failure_count; i++) {
        const row_failure *failure = &run->failures[i];
        if (status == DLP_OK)
            status = dlp_dataset_set_error(run->dataset, failure->row, failure->status, failure->message);
        free(failure->message);
    }
    size_t dim = run->featurizer->dim;
    for (size_t i = 0; status == DLP_OK && i < run->count; i++) {
        dlp_row row;
        status = dlp_dataset_row(run->dataset, run->first + i, &row);
        if (status != DLP_OK || row.status == DLP_OK) continue;
        for (size_t j = 0; j < dim; j++) run->features[i * dim + j] = NAN;
        run->stats.failed++;
    }
    return status;
}

static dlp_decode_stream_options stream_options(const dlp_featurizer *featurizer, run_state *run)
{
    bool on_gpu = featurizer->cuda_device >= 0;
    dlp_decode_stream_options options = {
        .batch_size = (size_t)featurizer->batch_size,
        /* On a GPU: two batches in flight and one being decoded; on the CPU
         * the workers wait while the network runs on the same cores. */
        .ring = on_gpu ? 3 : 1,
        .output = featurizer->device_preprocess ? DLP_DECODE_PACKED : DLP_DECODE_RESIZED,
        .pinned_device = featurizer->cuda_device,
        .out_h = featurizer->model->input_h,
        .out_w = featurizer->model->input_w,
        .resize = featurizer->resize,
        .normalize = featurizer->normalize,
        .hash = featurizer->cache != NULL,
        .lookup = featurizer->cache ? lookup_cached : NULL,
        .lookup_context = run,
    };
    return options;
}

static dlp_status alloc_flights(const dlp_featurizer *featurizer, in_flight flights[2])
{
    size_t bytes = (size_t)featurizer->batch_size * featurizer->dim * sizeof(float);
    for (int i = 0; i < 2; i++) {
        flights[i] = (in_flight){.slot = i};
        int device = featurizer->cuda_device;
        flights[i].output = device >= 0 ? dlp_pinned_alloc(bytes, device, &flights[i].output_pinned) : malloc(bytes);
        if (!flights[i].output) return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "featurize: cannot allocate %zu bytes", bytes);
    }
    return DLP_OK;
}

dlp_status dlp_featurizer_run(dlp_featurizer *featurizer, dlp_dataset *dataset, size_t first, size_t count,
                              float *features, dlp_featurize_progress progress, void *progress_context,
                              dlp_featurize_stats *stats_out)
{
    if (!featurizer || !dataset || (!features && count))
        return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "featurize: null argument");
    if (first > dlp_dataset_size(dataset) || count > dlp_dataset_size(dataset) - first)
        return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "featurize: rows [%zu, %zu) outside the dataset's %zu rows", first,
                        first + count, dlp_dataset_size(dataset));
    double start = now_seconds();
    run_state run = {.featurizer = featurizer, .dataset = dataset, .first = first, .count = count,
                     .features = features, .stats = {.rows = count}, .progress = progress,
                     .progress_context = progress_context};
    in_flight flights[2] = {{0}, {0}};
    dlp_decode_stream *stream = NULL;
    dlp_decode_stream_options options = stream_options(featurizer, &run);
    dlp_status status = alloc_flights(featurizer, flights);
    if (status == DLP_OK) status = dlp_decode_stream_start(featurizer->pool, dataset, first, count, &options, &stream);
    if (status == DLP_OK) status = run_batches(&run, stream, flights);
    /* A failed call may leave a launch queued: let it finish before its output buffer goes. */
    for (int i = 0; i < 2; i++)
        if (flights[i].batch) dlp_plan_wait_output(featurizer->plan, flights[i].ticket);
    dlp_decode_stream_destroy(stream);
    dlp_feature_cache_flush(featurizer->cache); /* the next call (or process) finds them */
    dlp_status recorded = record_failures(&run);
    if (status == DLP_OK) status = recorded;
    for (int i = 0; i < 2; i++) dlp_pinned_free(flights[i].output, flights[i].output_pinned);
    free(run.failures);
    run.stats.seconds = now_seconds() - start;
    if (stats_out) *stats_out = run.stats;
    return status;
}

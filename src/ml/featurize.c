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
#include <sys/stat.h>
#include <time.h>

#include "backend/cpu/ops.h"
#include "core/env.h"
#include "core/sha256.h"
#include "core/status.h"
#include "core/thread_pool.h"
#include "dlp/device.h"
#include "dlp/weights.h"
#include "graph/backend_choice.h"
#include "graph/plan_images.h"
#include "image/image_internal.h"
#include "ml/batch_runner.h"
#include "ml/decode_stream.h"
#include "ml/feature_cache.h"
#include "ml/pinned_cache.h"

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
    size_t packed_budget_bytes; /* then: per batch (decode_stream.h; 0: its default) */
    dlp_backend *backend;
    dlp_plan *plan;
    dlp_thread_pool *pool;
    dlp_pinned_cache *buffers; /* the runs' batch and output buffers, kept from one run to the next */
    size_t dim;
    char *weights_path;
    char weights_sha256[65];
    char config_key[65];      /* sha256 of model, weights digest and preprocessing */
    dlp_feature_cache *cache; /* in <cache>/features/<config_key>, or NULL */
    /* avg or max pooling: the same configuration's flatten entries, where
     * a run has written some; a miss in cache is pooled from one of them
     * (lookup_cached). NULL otherwise. */
    dlp_feature_cache *flatten_cache;
    char device[DLP_BACKEND_DESCRIPTION_CAPACITY];
    const char *precision;    /* what the network computes in: "fp32", "tf32", "fp16", "bf16" */
};

void dlp_featurizer_options_init(dlp_featurizer_options *options)
{
    memset(options, 0, sizeof *options);
    options->pooling = DLP_POOLING_AVG;
    options->resize = DLP_RESIZE_AREA;
    options->cuda_graphs = true;
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

/* fp16/bf16 featurizers fuse conv+bias+activation. They time cuDNN's
 * algorithms only when CUDA graphs are off: replayed from a graph, cuDNN's
 * heuristic choice measured as fast as the timed one at batch 256, as fast
 * end to end at batches 64 and 256, and 2-9x faster at batches 1-32 (compute
 * only, where the timed choice also varied between runs); launched kernel by
 * kernel, the timed choice is faster at small batches (bench/RESULTS.md,
 * 2026-11-26 11:06 and 16:23 UTC). DLP_CUDA_GRAPHS in the environment
 * counts, as the backend obeys it; DLP_CUDA_SEARCH the backend applies
 * itself. */
static bool uses_timed_search(const dlp_featurizer_options *options)
{
    return options->precision != DLP_CUDA_FP32 && !dlp_env_switch("DLP_CUDA_GRAPHS", options->cuda_graphs);
}

/* --device and --precision (graph/backend_choice.h); fp16/bf16 featurizers
 * fuse conv+bias+activation, and without graphs use the timed search. */
static dlp_status choose_backend(dlp_featurizer *featurizer, const dlp_featurizer_options *options)
{
    dlp_cuda_options cuda = {.precision = options->precision, .allow_tf32 = options->allow_tf32,
                             .cuda_graphs = options->cuda_graphs};
    cuda.fuse_bias_activation = options->precision != DLP_CUDA_FP32;
    if (uses_timed_search(options)) cuda.search = DLP_CUDA_SEARCH_TIMED;
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

/* The cache's key of a configuration: model, weights, pooling, preprocessing. */
static void config_key(const dlp_featurizer *featurizer, dlp_pooling pooling, char key[65])
{
    char text[512];
    snprintf(text, sizeof text, "dlp-features-v1|%s|%s|%s|%d|%d|%d", featurizer->model->name,
             featurizer->weights_sha256, dlp_pooling_name(pooling), (int)featurizer->resize,
             (int)featurizer->normalize, featurizer->model->input_h);
    /* fp32 keys stay as they were (CPU and CUDA fp32 agree to 1e-5); the
     * other precisions differ by up to ~1e-2 and get their own entries. */
    if (strcmp(featurizer->precision, "fp32") != 0)
        snprintf(text + strlen(text), sizeof text - strlen(text), "|%s", featurizer->precision);
    dlp_sha256_hex(text, strlen(text), key);
}

static dlp_status open_cache(dlp_featurizer *featurizer, const dlp_featurizer_options *options)
{
    config_key(featurizer, featurizer->pooling, featurizer->config_key);
    const char *root = options->cache_dir ? options->cache_dir : dlp_feature_cache_default_dir();
    if (!root || !*root) return DLP_OK;
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/features/%.16s", root, featurizer->config_key);
    DLP_TRY(dlp_feature_cache_open(dir, featurizer->dim, &featurizer->cache));
    /* Flatten features are the whole feature map: an avg or max row is
     * pooled from one exactly as the network's last step would (the brief's
     * flatten run, then an avg one, decodes and runs nothing the second time).
     * Only a folder some run has written: a miss must not create it. */
    if (featurizer->pooling != DLP_POOLING_AVG && featurizer->pooling != DLP_POOLING_MAX) return DLP_OK;
    char flatten_key[65];
    struct stat info;
    config_key(featurizer, DLP_POOLING_FLATTEN, flatten_key);
    snprintf(dir, sizeof dir, "%s/features/%.16s", root, flatten_key);
    if (stat(dir, &info) != 0 || !S_ISDIR(info.st_mode)) return DLP_OK;
    dlp_shape map = featurizer->model->feature_shape;
    if (dlp_feature_cache_open(dir, dlp_shape_elements(map), &featurizer->flatten_cache) != DLP_OK)
        featurizer->flatten_cache = NULL; /* only a shortcut: without it every miss is computed */
    return DLP_OK;
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
    featurizer->packed_budget_bytes = options->packed_budget_bytes;
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
    /* fp16/bf16 on a GPU: a short last batch runs as a whole batch, reusing
     * the full batch's algorithms and CUDA graph instead of choosing (under
     * the timed search: timing) every convolution again at its size and
     * launching kernel by kernel. This is how fp16/bf16 ran in the 16:23
     * end-to-end measurements, with either search. */
    if (status == DLP_OK && featurizer->cuda_device >= 0 && options->precision != DLP_CUDA_FP32)
        dlp_plan_run_whole_batches(featurizer->plan, true);
    if (status == DLP_OK) status = dlp_thread_pool_create(options->threads, &featurizer->pool);
    if (status == DLP_OK) status = dlp_pinned_cache_create(&featurizer->buffers);
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
    dlp_pinned_cache_destroy(featurizer->buffers); /* page-locked through the backend's device: before it goes */
    dlp_plan_destroy(featurizer->plan);
    dlp_backend_destroy(featurizer->backend);
    dlp_thread_pool_destroy(featurizer->pool);
    free(featurizer->weights_path);
    dlp_feature_cache_close(featurizer->cache);
    dlp_feature_cache_close(featurizer->flatten_cache);
    free(featurizer);
}

size_t dlp_featurizer_dim(const dlp_featurizer *featurizer) { return featurizer->dim; }
int dlp_featurizer_batch_size(const dlp_featurizer *featurizer) { return featurizer->batch_size; }
const dlp_model_info *dlp_featurizer_model(const dlp_featurizer *featurizer) { return featurizer->model; }
const char *dlp_featurizer_weights_path(const dlp_featurizer *featurizer) { return featurizer->weights_path; }
const char *dlp_featurizer_weights_sha256(const dlp_featurizer *featurizer) { return featurizer->weights_sha256; }
const char *dlp_featurizer_device(const dlp_featurizer *featurizer) { return featurizer->device; }

/* ---- Running: the decode stream (ml/decode_stream.h) feeds batches to the
 * batch runner (ml/batch_runner.h): on a GPU two are in flight. ---- */

typedef struct run_state {
    dlp_featurizer *featurizer;
    double start;
    size_t first;
    float *features;          /* the caller's: row first at index 0 */
    dlp_featurize_stats stats;
} run_state;

/* dlp_decode_stream_options.lookup: fills the row's features from the cache. */
static bool lookup_cached(void *context, const char *content_key, size_t row)
{
    run_state *run = context;
    dlp_featurizer *featurizer = run->featurizer;
    float *features = run->features + (row - run->first) * featurizer->dim;
    if (dlp_feature_cache_read(featurizer->cache, content_key, features)) return true;
    if (!featurizer->flatten_cache) return false;
    dlp_shape shape = featurizer->model->feature_shape;
    float *map = malloc(dlp_shape_elements(shape) * sizeof(float));
    bool found = map && dlp_feature_cache_read(featurizer->flatten_cache, content_key, map);
    /* The CPU backend's own global pooling: the bytes a CPU run computes. */
    if (found)
        cpu_global_pool(featurizer->pooling == DLP_POOLING_MAX ? DLP_OP_GLOBAL_MAX_POOL : DLP_OP_GLOBAL_AVG_POOL, map, 1,
                        shape, features);
    free(map);
    return found;
}

/* dlp_batch_runner.landed: features to their rows and into the cache. */
static dlp_status land_features(void *context, const dlp_decoded_batch *batch, const float *outputs)
{
    run_state *run = context;
    dlp_featurizer *featurizer = run->featurizer;
    size_t dim = featurizer->dim;
    float *rows = run->features + (batch->first - run->first) * dim;
    for (size_t i = 0; i < batch->network_count; i++) {
        size_t slot = batch->network_slots[i];
        memcpy(rows + slot * dim, outputs + i * dim, dim * sizeof(float));
        if (featurizer->cache) dlp_feature_cache_write(featurizer->cache, batch->content_key[slot], outputs + i * dim);
    }
    if (run->stats.first_batch_rows == 0) {
        run->stats.first_batch_seconds = now_seconds() - run->start;
        run->stats.first_batch_rows = batch->count;
    }
    run->stats.computed += batch->network_count;
    run->stats.jpeg_split += batch->layout.jpeg_count;
    for (size_t slot = 0; slot < batch->count; slot++) run->stats.cache_hits += batch->cache_hit[slot];
    return DLP_OK;
}

/* Every failed row (new or earlier) gets NaN features. */
static dlp_status fill_failed(run_state *run, dlp_dataset *dataset, size_t count)
{
    size_t dim = run->featurizer->dim;
    for (size_t i = 0; i < count; i++) {
        dlp_row row;
        DLP_TRY(dlp_dataset_row(dataset, run->first + i, &row));
        if (row.status == DLP_OK) continue;
        for (size_t j = 0; j < dim; j++) run->features[i * dim + j] = NAN;
        run->stats.failed++;
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
    run_state run = {.featurizer = featurizer, .start = start, .first = first, .features = features, .stats = {.rows = count}};
    dlp_batch_runner runner;
    dlp_decode_stream_options stream;
    dlp_batch_runner_init(&runner, &stream, featurizer->plan, featurizer->cuda_device, featurizer->device_preprocess,
                          (size_t)featurizer->batch_size, featurizer->model->input_h, featurizer->model->input_w,
                          featurizer->resize, featurizer->normalize);
    runner.landed = land_features;
    runner.context = &run;
    runner.progress = progress;
    runner.progress_context = progress_context;
    stream.hash = featurizer->cache != NULL;
    stream.packed_budget_bytes = featurizer->packed_budget_bytes;
    stream.lookup = featurizer->cache ? lookup_cached : NULL;
    stream.buffer_cache = featurizer->buffers;
    stream.lookup_context = &run;
    dlp_status status = dlp_batch_runner_run(&runner, featurizer->pool, dataset, first, count, &stream);
    dlp_feature_cache_flush(featurizer->cache); /* the next call (or process) finds them */
    if (status == DLP_OK) status = fill_failed(&run, dataset, count);
    run.stats.seconds = now_seconds() - start;
    if (stats_out) *stats_out = run.stats;
    return status;
}

/* featurize.c: a zoo network with its top peeled off, run over dataset rows.
 * Per batch: worker threads read each file, hash its bytes, look the hash up
 * in the feature cache, and decode + resize + normalize the misses into the
 * batch input; the misses then go through the network together and their
 * features are written back to the cache. On a GPU the next batch is
 * prepared on the CPU while the network runs the current one, and the CPU
 * only decodes: the decoded images are packed into pinned memory and resized
 * and normalized on the device (graph/plan_images.h), bit for bit as
 * dlp_image_resize_float would. */
#include "dlp/featurize.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/sha256.h"
#include "core/status.h"
#include "core/thread_pool.h"
#include "backend/pinned.h"
#include "dlp/device.h"
#include "dlp/weights.h"
#include "graph/backend_choice.h"
#include "graph/plan_images.h"
#include "image/image_internal.h"
#include "image/pack.h"

enum { MESSAGE_CAPACITY = 512, MAX_BATCH = 4096 };

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
    char *cache_dir;          /* <cache>/features/<config_key>, or NULL */
    char device[DLP_BACKEND_DESCRIPTION_CAPACITY];
    const char *precision;    /* what the network computes in: "fp32", "tf32", "fp16", "bf16" */
};

/* One batch being prepared: per slot the row, its content hash, whether it
 * still needs the network, and the reason if it failed. */
typedef struct batch {
    size_t first, count;
    float *input;             /* batch_size images, network input layout (CPU preprocessing) */
    dlp_image *images;        /* device preprocessing: the decoded images, per slot, until packed */
    dlp_image *network_images;/* the same, of the slots that need the network, in order */
    dlp_image_pack_layout layout;
    uint8_t *packed;          /* the packed network images (pinned when possible) */
    size_t packed_capacity;
    bool packed_pinned;
    int slot;                 /* its device staging slot (graph/plan_images.h): 0 or 1 */
    dlp_status pack_status;   /* packing or staging failed: the whole call fails */
    char pack_message[MESSAGE_CAPACITY];
    int *needs_network;       /* 1: decoded into input; 0: cached or failed */
    dlp_status *status;
    char (*message)[MESSAGE_CAPACITY];
    char (*content_key)[65];
    int *cache_hit;
} batch;

typedef struct batch_job {
    dlp_featurizer *featurizer;
    dlp_dataset *dataset;
    batch *batch;
    float *features;          /* the caller's output, offset to the batch's first row */
} batch_job;

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
    size_t length = strlen(root) + 80;
    featurizer->cache_dir = malloc(length);
    if (!featurizer->cache_dir) return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "out of memory");
    snprintf(featurizer->cache_dir, length, "%s/features/%.16s", root, featurizer->config_key);
    return make_dirs(featurizer->cache_dir);
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
    free(featurizer->cache_dir);
    free(featurizer);
}

size_t dlp_featurizer_dim(const dlp_featurizer *featurizer) { return featurizer->dim; }
const dlp_model_info *dlp_featurizer_model(const dlp_featurizer *featurizer) { return featurizer->model; }
const char *dlp_featurizer_weights_path(const dlp_featurizer *featurizer) { return featurizer->weights_path; }
const char *dlp_featurizer_weights_sha256(const dlp_featurizer *featurizer) { return featurizer->weights_sha256; }
const char *dlp_featurizer_device(const dlp_featurizer *featurizer) { return featurizer->device; }

/* ---- The feature cache: one small file per image, named by the sha256 of
 * its bytes, holding D floats; written to a temporary name and renamed, so a
 * reader never sees half a file and concurrent runs do not collide. ---- */

static void cache_path(const dlp_featurizer *featurizer, const char *content_key, char *path, size_t capacity)
{
    snprintf(path, capacity, "%s/%.2s/%s.f32", featurizer->cache_dir, content_key, content_key);
}

static bool cache_read(const dlp_featurizer *featurizer, const char *content_key, float *features)
{
    char path[4200];
    cache_path(featurizer, content_key, path, sizeof path);
    FILE *file = fopen(path, "rb");
    if (!file) return false;
    size_t got = fread(features, sizeof(float), featurizer->dim, file);
    bool complete = got == featurizer->dim && fgetc(file) == EOF;
    fclose(file);
    return complete;
}

/* A cache that cannot be written only costs time next run: failures are ignored. */
static void cache_write(const dlp_featurizer *featurizer, const char *content_key, const float *features)
{
    char path[4200], folder[4200], temporary[4300];
    cache_path(featurizer, content_key, path, sizeof path);
    snprintf(folder, sizeof folder, "%s/%.2s", featurizer->cache_dir, content_key);
    if (mkdir(folder, 0777) != 0 && errno != EEXIST) return;
    snprintf(temporary, sizeof temporary, "%s.%ld.tmp", path, (long)getpid());
    FILE *file = fopen(temporary, "wb");
    if (!file) return;
    bool ok = fwrite(features, sizeof(float), featurizer->dim, file) == featurizer->dim;
    ok = fclose(file) == 0 && ok;
    if (!ok || rename(temporary, path) != 0) unlink(temporary);
}

/* ---- Preparing a batch ---- */

static void prepare_slot(void *context, size_t slot, int worker)
{
    (void)worker;
    batch_job *job = context;
    dlp_featurizer *featurizer = job->featurizer;
    batch *b = job->batch;
    dlp_row row;
    b->needs_network[slot] = 0;
    b->cache_hit[slot] = 0;
    b->status[slot] = dlp_dataset_row(job->dataset, b->first + slot, &row);
    if (b->status[slot] != DLP_OK || row.status != DLP_OK) {
        b->status[slot] = DLP_OK; /* already failed: the row keeps its first error */
        return;
    }
    uint8_t *bytes = NULL;
    size_t size = 0;
    dlp_status status = dlp_image_read_file(row.origin, &bytes, &size);
    if (status == DLP_OK) {
        dlp_sha256_hex(bytes, size, b->content_key[slot]);
        float *features = job->features + slot * featurizer->dim;
        if (featurizer->cache_dir && cache_read(featurizer, b->content_key[slot], features)) {
            b->cache_hit[slot] = 1;
            free(bytes);
            return;
        }
        dlp_image image = {0};
        status = dlp_image_decode(bytes, size, &image);
        free(bytes);
        if (status == DLP_OK && featurizer->device_preprocess) {
            b->images[slot] = image; /* resized on the device, after packing */
        } else if (status == DLP_OK) {
            size_t image_floats = (size_t)featurizer->model->input_h * featurizer->model->input_w * 3;
            status = dlp_image_resize_float(&image, featurizer->model->input_h, featurizer->model->input_w,
                                            featurizer->resize, featurizer->normalize,
                                            b->input + slot * image_floats);
            dlp_image_free(&image);
        } else {
            dlp_fail_context(status, "%s", row.origin);
        }
    }
    if (status == DLP_OK) {
        b->needs_network[slot] = 1;
    } else {
        b->status[slot] = status;
        snprintf(b->message[slot], MESSAGE_CAPACITY, "%s", dlp_last_error());
    }
}

/* Copies one network image to its place in the packed buffer and frees it. */
static void pack_slot(void *context, size_t index, int worker)
{
    (void)worker;
    batch *b = ((batch_job *)context)->batch;
    dlp_image *image = &b->network_images[index];
    memcpy(b->packed + b->layout.offsets[index], image->pixels, (size_t)image->width * image->height * 3);
    dlp_image_free(image);
}

static dlp_status ensure_packed_capacity(batch *b, size_t bytes)
{
    if (b->packed && b->packed_capacity >= bytes) return DLP_OK;
    dlp_pinned_free(b->packed, b->packed_pinned);
    size_t grown = bytes + bytes / 4; /* headroom: image sizes vary from batch to batch */
    b->packed = dlp_pinned_alloc(grown, &b->packed_pinned);
    b->packed_capacity = b->packed ? grown : 0;
    if (!b->packed) return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "featurize: cannot allocate %zu bytes for packed images", grown);
    return DLP_OK;
}

/* Lays the decoded images that need the network back to back (pinned
 * memory, so the copy to the device is a DMA), in parallel, and starts the
 * copy to the device while the network may still run the other batch. */
static void pack_batch(batch_job *job)
{
    batch *b = job->batch;
    size_t m = 0;
    for (size_t slot = 0; slot < b->count; slot++) {
        if (b->needs_network[slot]) b->network_images[m++] = b->images[slot];
        b->images[slot] = (dlp_image){0};
    }
    dlp_image_pack_layout_free(&b->layout);
    dlp_status status = dlp_image_pack_layout_create(b->network_images, m, &b->layout);
    if (status == DLP_OK) status = ensure_packed_capacity(b, b->layout.total_bytes);
    if (status == DLP_OK) {
        dlp_thread_pool_run(job->featurizer->pool, m, pack_slot, job);
        if (m) status = dlp_plan_stage_images(job->featurizer->plan, b->slot, b->packed, &b->layout);
        if (status != DLP_OK) snprintf(b->pack_message, sizeof b->pack_message, "%s", dlp_last_error());
    } else {
        for (size_t i = 0; i < m; i++) dlp_image_free(&b->network_images[i]);
        snprintf(b->pack_message, sizeof b->pack_message, "%s", dlp_last_error());
    }
    b->pack_status = status;
}

static void prepare_batch(batch_job *job)
{
    dlp_thread_pool_run(job->featurizer->pool, job->batch->count, prepare_slot, job);
    if (job->featurizer->device_preprocess) pack_batch(job);
}

/* Runs the network on the slots that need it (moved to the front of the
 * input), scatters features to their rows and fills the cache. */
static dlp_status run_network(batch_job *job, dlp_featurize_stats *stats)
{
    dlp_featurizer *featurizer = job->featurizer;
    batch *b = job->batch;
    size_t image_floats = (size_t)featurizer->model->input_h * featurizer->model->input_w * 3;
    size_t dim = featurizer->dim;
    size_t slots[MAX_BATCH];
    size_t m = 0;
    for (size_t slot = 0; slot < b->count; slot++) {
        if (!b->needs_network[slot]) continue;
        if (!featurizer->device_preprocess && m != slot)
            memcpy(b->input + m * image_floats, b->input + slot * image_floats, image_floats * sizeof(float));
        slots[m++] = slot;
    }
    if (featurizer->device_preprocess && b->pack_status != DLP_OK) return dlp_fail(b->pack_status, "%s", b->pack_message);
    stats->computed += m;
    if (m == 0) return DLP_OK;
    if (featurizer->device_preprocess)
        DLP_TRY(dlp_plan_run_staged_images(featurizer->plan, b->slot, m, featurizer->resize, featurizer->normalize));
    else
        DLP_TRY(dlp_plan_run(featurizer->plan, b->input, (int)m));
    float *computed = malloc(m * dim * sizeof(float));
    if (!computed) return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "featurize: out of memory");
    dlp_status status = dlp_plan_read_output(featurizer->plan, 0, computed, m * dim);
    for (size_t i = 0; status == DLP_OK && i < m; i++) {
        memcpy(job->features + slots[i] * dim, computed + i * dim, dim * sizeof(float));
        if (featurizer->cache_dir) cache_write(featurizer, b->content_key[slots[i]], computed + i * dim);
    }
    free(computed);
    return status;
}

/* Records the batch's new errors on the dataset and NaN-fills failed rows.
 * Runs while no other thread reads the dataset (rows' strings may move). */
static dlp_status record_rows(batch_job *job, dlp_featurize_stats *stats)
{
    batch *b = job->batch;
    size_t dim = job->featurizer->dim;
    for (size_t slot = 0; slot < b->count; slot++) {
        if (b->status[slot] != DLP_OK)
            DLP_TRY(dlp_dataset_set_error(job->dataset, b->first + slot, b->status[slot], b->message[slot]));
        dlp_row row;
        DLP_TRY(dlp_dataset_row(job->dataset, b->first + slot, &row));
        if (row.status != DLP_OK) {
            for (size_t j = 0; j < dim; j++) job->features[slot * dim + j] = NAN;
            stats->failed++;
        } else if (b->cache_hit[slot]) {
            stats->cache_hits++;
        }
    }
    return DLP_OK;
}

static void batch_free(batch *b)
{
    for (size_t slot = 0; b->images && slot < b->count; slot++) dlp_image_free(&b->images[slot]);
    free(b->images);
    free(b->network_images);
    dlp_image_pack_layout_free(&b->layout);
    dlp_pinned_free(b->packed, b->packed_pinned);
    free(b->input);
    free(b->needs_network);
    free(b->status);
    free(b->message);
    free(b->content_key);
    free(b->cache_hit);
}

static dlp_status batch_alloc(batch *b, const dlp_featurizer *featurizer)
{
    size_t n = (size_t)featurizer->batch_size;
    size_t image_floats = (size_t)featurizer->model->input_h * featurizer->model->input_w * 3;
    memset(b, 0, sizeof *b);
    bool on_device = featurizer->device_preprocess;
    b->input = on_device ? NULL : malloc(n * image_floats * sizeof(float));
    b->images = on_device ? calloc(n, sizeof *b->images) : NULL;
    b->network_images = on_device ? calloc(n, sizeof *b->network_images) : NULL;
    b->needs_network = calloc(n, sizeof *b->needs_network);
    b->status = calloc(n, sizeof *b->status);
    b->message = calloc(n, sizeof *b->message);
    b->content_key = calloc(n, sizeof *b->content_key);
    b->cache_hit = calloc(n, sizeof *b->cache_hit);
    bool buffers = on_device ? b->images && b->network_images : b->input != NULL;
    if (buffers && b->needs_network && b->status && b->message && b->content_key && b->cache_hit) return DLP_OK;
    batch_free(b);
    return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "featurize: cannot allocate a batch of %zu images", n);
}

static void *prepare_thread(void *context)
{
    prepare_batch(context);
    return NULL;
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
    dlp_featurize_stats stats = {.rows = count};
    double start = now_seconds();
    batch batches[2];
    dlp_status status = batch_alloc(&batches[0], featurizer);
    if (status != DLP_OK) return status;
    if ((status = batch_alloc(&batches[1], featurizer)) != DLP_OK) {
        batch_free(&batches[0]);
        return status;
    }
    batches[1].slot = 1;
    size_t batch_size = (size_t)featurizer->batch_size;
    batch_job jobs[2];
    size_t batch_count = (count + batch_size - 1) / batch_size;
    for (size_t k = 0; k < batch_count && k < 2; k++) {
        batches[k].first = first + k * batch_size;
        batches[k].count = count - k * batch_size < batch_size ? count - k * batch_size : batch_size;
        jobs[k] = (batch_job){featurizer, dataset, &batches[k], features + k * batch_size * featurizer->dim};
    }
    if (batch_count > 0) prepare_batch(&jobs[0]);
    for (size_t k = 0; k < batch_count && status == DLP_OK; k++) {
        batch_job *current = &jobs[k % 2], *next = &jobs[(k + 1) % 2];
        bool has_next = k + 1 < batch_count;
        if (has_next) {
            size_t next_first = (k + 1) * batch_size;
            next->batch->first = first + next_first;
            next->batch->count = count - next_first < batch_size ? count - next_first : batch_size;
            next->features = features + next_first * featurizer->dim;
        }
        pthread_t thread;
        bool threaded = has_next && featurizer->cuda_device >= 0 && pthread_create(&thread, NULL, prepare_thread, next) == 0;
        status = run_network(current, &stats);
        if (threaded) pthread_join(thread, NULL);
        if (status == DLP_OK) status = record_rows(current, &stats);
        if (!threaded && has_next && status == DLP_OK) prepare_batch(next);
        if (progress && status == DLP_OK) progress(progress_context, k * batch_size + current->batch->count, count);
    }
    batch_free(&batches[0]);
    batch_free(&batches[1]);
    stats.seconds = now_seconds() - start;
    if (stats_out) *stats_out = stats;
    return status;
}

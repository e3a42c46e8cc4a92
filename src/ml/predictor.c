/* predictor.c: a zoo model with its ImageNet top over dataset rows or
 * preprocessed tensors (sparkdl's DeepImagePredictor); the ranking and the
 * class list are in imagenet_classes.c. Dataset rows go through the
 * featurizer's machinery: the decode stream and the batch runner (on a GPU
 * the CPU threads only decode, the device resizes, two batches in flight). */
#include "dlp/predictor.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/status.h"
#include "core/thread_pool.h"
#include "dlp/device.h"
#include "dlp/weights.h"
#include "graph/backend_choice.h"
#include "graph/plan_images.h"
#include "ml/batch_runner.h"
#include "ml/pinned_cache.h"

struct dlp_predictor {
    const dlp_model_info *model;
    dlp_resize resize;
    int batch_size, threads;
    int cuda_device;          /* -1 on the CPU */
    dlp_thread_pool *pool;    /* decodes dataset rows */
    dlp_pinned_cache *buffers; /* the runs' batch and output buffers, kept from one run to the next */
    dlp_backend *backend;
    dlp_plan *plan;
    char *weights_path;
    char device[DLP_BACKEND_DESCRIPTION_CAPACITY];
};

void dlp_predictor_options_init(dlp_predictor_options *options)
{
    memset(options, 0, sizeof *options);
    options->resize = DLP_RESIZE_AREA;
}

/* --device as everywhere (graph/backend_choice.h); the predictor computes in fp32. */
static dlp_status choose_device(dlp_predictor *predictor, const char *device)
{
    dlp_backend_choice choice;
    DLP_TRY(dlp_backend_choose(device, predictor->threads, NULL, &choice));
    predictor->backend = choice.backend;
    predictor->cuda_device = choice.cuda_device;
    memcpy(predictor->device, choice.described, sizeof predictor->device);
    return DLP_OK;
}

/* Number of distinct layers ("<layer>/<slot>") in a weight list. */
static int weight_layer_count(const dlp_tensor_list *weights)
{
    int layers = 0;
    size_t count = dlp_tensor_list_count(weights);
    for (size_t i = 0; i < count; i++) {
        const char *name = dlp_tensor_list_at(weights, i)->name, *slash = strrchr(name, '/');
        size_t length = slash ? (size_t)(slash - name) : strlen(name);
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++) {
            const char *other = dlp_tensor_list_at(weights, j)->name, *other_slash = strrchr(other, '/');
            size_t other_length = other_slash ? (size_t)(other_slash - other) : strlen(other);
            seen = other_length == length && strncmp(name, other, length) == 0;
        }
        if (!seen) layers++;
    }
    return layers;
}

/* Weights without the ImageNet top (a "notop" file) would fail binding with
 * bare layer counts; name the top layers they lack instead. */
static dlp_status check_top_present(const dlp_predictor *predictor, const dlp_tensor_list *weights, const char *path)
{
    dlp_model_options options = {DLP_TOP_IMAGENET, DLP_POOLING_NONE};
    dlp_graph *graph = NULL;
    DLP_TRY(dlp_zoo_build(predictor->model->name, NULL, &options, &graph));
    int order[2048], needed = 0;
    dlp_status status = dlp_graph_keras_weight_order(graph, order, 2048, &needed);
    int have = weight_layer_count(weights);
    if (status == DLP_OK && have > needed)
        status = dlp_fail(DLP_ERR_MODEL,
                          "%s: %d weight layers where %s with its ImageNet top (last layer \"%s\", Dense 1000) has "
                          "%d: the weights carry another head (a fine-tuned model?); dlp apply runs such a model",
                          path, have, predictor->model->name, dlp_graph_node_name(graph, order[needed - 1]), needed);
    if (status == DLP_OK && have < needed && needed <= 2048) {
        char missing[512] = "";
        for (int i = have; i < needed; i++) {
            size_t used = strlen(missing);
            snprintf(missing + used, sizeof missing - used, "%s\"%s\"", i > have ? ", " : "",
                     dlp_graph_node_name(graph, order[i]));
        }
        status = dlp_fail(DLP_ERR_MODEL,
                          "%s: %s's ImageNet top is missing: no weights for layer %s (%d weight layers, the "
                          "model with its top has %d; featurizer \"notop\" weights cannot classify)",
                          path, predictor->model->name, missing, have, needed);
    }
    dlp_graph_destroy(graph);
    return status;
}

static dlp_status build_and_plan(dlp_predictor *predictor, const dlp_tensor_list *weights, const char *source)
{
    DLP_TRY(check_top_present(predictor, weights, source));
    dlp_graph *graph = NULL;
    dlp_model_options options = {DLP_TOP_IMAGENET, DLP_POOLING_NONE};
    DLP_TRY(dlp_zoo_build(predictor->model->name, weights, &options, &graph));
    const char *outputs[] = {"predictions"};
    dlp_status status = dlp_plan_create(graph, predictor->backend, predictor->batch_size, outputs, 1, &predictor->plan);
    dlp_graph_destroy(graph);
    return status;
}

static dlp_status load_and_plan(dlp_predictor *predictor, const char *weights_path)
{
    char found[4096];
    if (!weights_path) {
        if (!dlp_weights_find(predictor->model->name, NULL, false, found, sizeof found))
            return dlp_fail(DLP_ERR_MODEL,
                            "%s: no weights with the ImageNet top found (looked in $DLP_WEIGHTS_DIR, "
                            "~/.cache/dlp/weights, ./weights); pass --weights FILE or run weights/fetch.sh",
                            predictor->model->name);
        weights_path = found;
    }
    predictor->weights_path = strdup(weights_path);
    if (!predictor->weights_path) return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "out of memory");
    dlp_tensor_list *weights = NULL;
    DLP_TRY(dlp_weights_load_any(weights_path, &weights));
    dlp_status status = build_and_plan(predictor, weights, weights_path);
    dlp_tensor_list_destroy(weights);
    return status;
}

/* The part of creation both entry points share; weights NULL: load options->weights. */
static dlp_status create_predictor(const dlp_predictor_options *options, const dlp_tensor_list *weights,
                                   dlp_predictor **out)
{
    *out = NULL;
    if (!options || !options->model) return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "predictor: no model given");
    const dlp_model_info *model = dlp_zoo_find(options->model);
    if (!model)
        return dlp_fail(DLP_ERR_INVALID_ARGUMENT,
                        "model \"%s\": not in the zoo (InceptionV3, Xception, ResNet50, VGG16, VGG19)", options->model);
    dlp_predictor *predictor = calloc(1, sizeof *predictor);
    if (!predictor) return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "out of memory");
    predictor->model = model;
    predictor->resize = options->resize;
    predictor->batch_size = options->batch_size > 0 ? options->batch_size : 16;
    predictor->threads = options->threads;
    dlp_status status = choose_device(predictor, options->device);
    if (status == DLP_OK && weights) {
        predictor->weights_path = strdup(options->weights ? options->weights : "(weights in memory)");
        status = predictor->weights_path ? build_and_plan(predictor, weights, predictor->weights_path)
                                         : dlp_fail(DLP_ERR_OUT_OF_MEMORY, "out of memory");
    } else if (status == DLP_OK) {
        status = load_and_plan(predictor, options->weights);
    }
    if (status == DLP_OK) status = dlp_thread_pool_create(options->threads, &predictor->pool);
    if (status == DLP_OK) status = dlp_pinned_cache_create(&predictor->buffers);
    if (status != DLP_OK) {
        dlp_predictor_destroy(predictor);
        return status;
    }
    *out = predictor;
    return DLP_OK;
}

dlp_status dlp_predictor_create(const dlp_predictor_options *options, dlp_predictor **predictor)
{
    return create_predictor(options, NULL, predictor);
}

dlp_status dlp_predictor_create_with_weights(const dlp_predictor_options *options, const dlp_tensor_list *weights,
                                             dlp_predictor **predictor)
{
    if (!weights) return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "predictor: no weights given");
    return create_predictor(options, weights, predictor);
}

void dlp_predictor_destroy(dlp_predictor *predictor)
{
    if (!predictor) return;
    dlp_pinned_cache_destroy(predictor->buffers); /* page-locked through the backend's device: before it goes */
    dlp_plan_destroy(predictor->plan);
    dlp_backend_destroy(predictor->backend);
    dlp_thread_pool_destroy(predictor->pool);
    free(predictor->weights_path);
    free(predictor);
}

const dlp_model_info *dlp_predictor_model(const dlp_predictor *predictor) { return predictor->model; }
const char *dlp_predictor_weights_path(const dlp_predictor *predictor) { return predictor->weights_path; }
const char *dlp_predictor_device(const dlp_predictor *predictor) { return predictor->device; }

dlp_status dlp_predictor_run_tensors(dlp_predictor *predictor, const float *input, size_t n, float *probabilities)
{
    size_t pixels = (size_t)predictor->model->input_h * predictor->model->input_w * 3;
    for (size_t first = 0; first < n; first += (size_t)predictor->batch_size) {
        size_t count = n - first < (size_t)predictor->batch_size ? n - first : (size_t)predictor->batch_size;
        DLP_TRY(dlp_plan_run(predictor->plan, input + first * pixels, (int)count));
        DLP_TRY(dlp_plan_read_output(predictor->plan, 0, probabilities + first * DLP_IMAGENET_CLASSES,
                                     count * DLP_IMAGENET_CLASSES));
    }
    return DLP_OK;
}

typedef struct run_state {
    size_t first;
    float *probabilities;     /* the caller's: row first at index 0 */
} run_state;

/* dlp_batch_runner.landed: each computed row's 1000 probabilities to its place. */
static dlp_status land_probabilities(void *context, const dlp_decoded_batch *batch, const float *outputs)
{
    run_state *run = context;
    float *rows = run->probabilities + (batch->first - run->first) * DLP_IMAGENET_CLASSES;
    for (size_t i = 0; i < batch->network_count; i++)
        memcpy(rows + batch->network_slots[i] * DLP_IMAGENET_CLASSES, outputs + i * DLP_IMAGENET_CLASSES,
               DLP_IMAGENET_CLASSES * sizeof(float));
    return DLP_OK;
}

dlp_status dlp_predictor_run(dlp_predictor *predictor, dlp_dataset *dataset, size_t first, size_t count,
                             float *probabilities, size_t *failed)
{
    return dlp_predictor_run_progress(predictor, dataset, first, count, probabilities, failed, NULL, NULL);
}

dlp_status dlp_predictor_run_progress(dlp_predictor *predictor, dlp_dataset *dataset, size_t first, size_t count,
                                      float *probabilities, size_t *failed,
                                      void (*progress)(void *context, size_t done, size_t total),
                                      void *progress_context)
{
    if (failed) *failed = 0;
    if (first > dlp_dataset_size(dataset) || count > dlp_dataset_size(dataset) - first)
        return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "predictor: rows %zu..%zu of a dataset of %zu", first,
                        first + count, dlp_dataset_size(dataset));
    const dlp_model_info *model = predictor->model;
    dlp_normalize normalize = model->preprocessing == DLP_PREPROCESS_CAFFE ? DLP_NORMALIZE_CAFFE : DLP_NORMALIZE_TF;
    run_state run = {first, probabilities};
    dlp_batch_runner runner;
    dlp_decode_stream_options stream;
    dlp_batch_runner_init(&runner, &stream, predictor->plan, predictor->cuda_device,
                          dlp_plan_takes_images(predictor->plan), (size_t)predictor->batch_size, model->input_h,
                          model->input_w, predictor->resize, normalize);
    runner.landed = land_probabilities;
    runner.context = &run;
    runner.progress = progress;
    runner.progress_context = progress_context;
    stream.buffer_cache = predictor->buffers;
    DLP_TRY(dlp_batch_runner_run(&runner, predictor->pool, dataset, first, count, &stream));
    for (size_t i = 0; i < count; i++) {
        dlp_row row;
        DLP_TRY(dlp_dataset_row(dataset, first + i, &row));
        if (row.status == DLP_OK) continue;
        for (int c = 0; c < DLP_IMAGENET_CLASSES; c++) probabilities[i * DLP_IMAGENET_CLASSES + c] = NAN;
        if (failed) ++*failed;
    }
    return DLP_OK;
}

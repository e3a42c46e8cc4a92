/* test_zoo_synth.c: the five zoo models with dlp-synth-v1 weights on the three
 * fixture photos against tf-keras 2.18 (tests/fixtures/keras/<model>.json,
 * .bin from tests/oracle/keras_oracle.py), CPU backend, batch 3:
 *   preprocessing (the library's dlp_image_read + dlp_image_resize_float with
 *   the model's normalization): row 0 of Keras' preprocess_input, to 1e-6;
 *   pooled features (avg, max) and the logits: relative L2 <= 1e-4 per image;
 *   the logits are the backend's own (the plan's input of "predictions"
 *   through a Dense of the synthetic "predictions" weights, linear, on the
 *   same backend: the same GEMM the fused softmax follows), Keras' are its
 *   input of predictions times those weights in double (keras_oracle.py);
 *   the 1000-way softmax: relative L2 <= 1e-4, or what the logits' own
 *   difference allows when that is more: softmax moves each probability by
 *   a factor within exp(+-2 max_j |dz_j - c|) for logits moved by dz (any
 *   constant c), so relative L2 <= expm1(2 s) + 1e-6 with s half the spread
 *   of (our logit - log Keras' probability) over the classes (Keras' own
 *   float logits, up to its constant, from its probabilities), 1e-6 for the
 *   float softmax's rounding (VGG16 on a near-tied photo needs this on the
 *   GPU: its logits agree to 2.4e-6, its probabilities to 4.4e-4);
 *   flatten: Keras' 16-value slices (relative L2 <= 1e-4 over the 48) and its
 *   (sum, sum of squares);
 *   every stage checkpoint's (sum, sum of squares) per image, printed for
 *   bisecting: relative L2 1e-4 allows |d sum| <= 1e-4 sqrt(N sumsq) and
 *   |d sumsq| <= 2e-4 sumsq (+ rounding);
 *   the featurizer graph (pooling avg) bound from the same full-model weights
 *   gives the same features on one image, and the same floats, bit for bit,
 *   with the CPU backend's residual fusion off (DLP_CPU_RESIDUAL_FUSION=0;
 *   ResNet50's 16 block endings fused when on, none off); and so does the whole dlp_featurizer
 *   (image file to features) with the base's weights in a safetensors file.
 * This suite runs InceptionV3, Xception and ResNet50; test_zoo_synth_vgg.c
 * includes it for VGG16 and VGG19 (two suites keep each under a minute on 2
 * cores). DLP_ZOO_MODELS (comma-separated fixture names) overrides the list. */
#include <float.h>
#include <time.h>

#include "check.h"
#include "dlp/dlp.h"
#include "graph/plan_internal.h"
#include "weights/synth.h"
#include "zoo_fixture.h"

#ifndef ZOO_SYNTH_MODELS
#define ZOO_SYNTH_MODELS "inception_v3,xception,resnet50"
#define ZOO_SYNTH_SUITE "zoo_synth"
#endif

enum { IMAGES = 3, MAX_OUTPUTS = 64 };
static const char *const photos[IMAGES] = {"astronaut", "chelsea", "coffee"};

typedef struct fixture {
    json_t *index, *order;
    float *arrays;
    size_t array_floats;
} fixture;

static const float *fixture_array(const fixture *f, const char *name, size_t floats)
{
    json_t *entry = json_object_get(json_object_get(f->index, "arrays"), name);
    size_t offset = (size_t)json_integer_value(json_object_get(entry, "offset_bytes")) / sizeof(float);
    CHECK(entry && offset + floats <= f->array_floats);
    return entry && offset + floats <= f->array_floats ? f->arrays + offset : NULL;
}

static bool load_fixture(const char *fixtures, const char *model, fixture *f)
{
    char file[256], path[4096];
    snprintf(file, sizeof file, "%s.json", model);
    f->index = zoo_fixture_json(fixtures, file);
    snprintf(file, sizeof file, "weight_order_%s.json", model);
    f->order = zoo_fixture_json(fixtures, file);
    snprintf(path, sizeof path, "%s/keras/%s.bin", fixtures, model);
    FILE *bin = fopen(path, "rb");
    long size = -1;
    if (bin && fseek(bin, 0, SEEK_END) == 0) size = ftell(bin);
    if (bin && size > 0 && fseek(bin, 0, SEEK_SET) == 0) {
        f->array_floats = (size_t)size / sizeof(float);
        f->arrays = malloc((size_t)size);
        if (f->arrays && fread(f->arrays, sizeof(float), f->array_floats, bin) != f->array_floats) {
            free(f->arrays);
            f->arrays = NULL;
        }
    }
    if (bin) fclose(bin);
    return f->index && f->order && f->arrays;
}

static void free_fixture(fixture *f)
{
    json_decref(f->index);
    json_decref(f->order);
    free(f->arrays);
}

/* dlp-synth-v1 for Keras' weight list: the same tensors keras_oracle.py set,
 * of the weight-bearing layers k < layer_limit. */
static dlp_tensor_list *synthetic_weights(json_t *order, int layer_limit)
{
    json_t *rows = json_object_get(order, "weights");
    size_t count = 0;
    while (count < json_array_size(rows) &&
           json_integer_value(json_array_get(json_array_get(rows, count), 0)) < layer_limit)
        count++;
    dlp_synth_spec *specs = calloc(count ? count : 1, sizeof *specs);
    if (!specs) return NULL;
    for (size_t r = 0; r < count; r++) {
        json_t *row = json_array_get(rows, r), *shape = json_array_get(row, 3);
        specs[r].layer_index = (int)json_integer_value(json_array_get(row, 0));
        specs[r].layer_name = json_string_value(json_array_get(row, 1));
        specs[r].slot = json_string_value(json_array_get(row, 2));
        specs[r].ndim = (int)json_array_size(shape);
        for (int d = 0; d < specs[r].ndim && d < DLP_MAX_DIMS; d++)
            specs[r].shape[d] = json_integer_value(json_array_get(shape, (size_t)d));
    }
    dlp_tensor_list *list = NULL;
    CHECK_OK(dlp_synth_tensor_list(specs, count, &list));
    free(specs);
    return list;
}

/* The library's image path: dlp_image_read, then dlp_image_resize_float to
 * the model's side (the photos already have it) with the model's Keras
 * preprocess_input mode; the pixel sum of the decoded RGB8. */
static bool load_photo(const char *path, int side, bool caffe, float *out, long long *pixel_sum)
{
    dlp_image image = {0};
    dlp_status status = dlp_image_read(path, &image);
    bool ok = status == DLP_OK && image.width == side && image.height == side;
    *pixel_sum = 0;
    for (size_t k = 0; ok && k < (size_t)side * side * 3; k++) *pixel_sum += image.pixels[k];
    if (ok)
        ok = dlp_image_resize_float(&image, side, side, DLP_RESIZE_AREA, caffe ? DLP_NORMALIZE_CAFFE : DLP_NORMALIZE_TF,
                                    out) == DLP_OK;
    if (status == DLP_OK) dlp_image_free(&image);
    return ok;
}

/* Per image (sum, sum of squares) of a plan output against Keras' [[s, q], ...]. */
static void check_sums(const char *model, const char *layer, const float *values, size_t per_image, json_t *sums,
                       double *worst)
{
    for (int i = 0; i < IMAGES; i++) {
        double sum = 0, squares = 0;
        for (size_t k = 0; k < per_image; k++) {
            double v = values[(size_t)i * per_image + k];
            sum += v;
            squares += v * v;
        }
        json_t *want = json_array_get(sums, (size_t)i);
        double want_sum = json_number_value(json_array_get(want, 0));
        double want_squares = json_number_value(json_array_get(want, 1));
        double sum_scale = sqrt((double)per_image * want_squares) + 1e-30;
        double sum_error = fabs(sum - want_sum) / sum_scale, squares_error = fabs(squares - want_squares) / (want_squares + 1e-30);
        /* In units of the 1e-4 relative-L2 budget. */
        double score = fmax(sum_error / 1e-4, squares_error / 2e-4);
        if (i == 0 || score > 1)
            printf("  %s %-24s image %d: sum %.9g (Keras %.9g), sumsq %.9g (Keras %.9g), %.3g of tolerance\n", model,
                   layer, i, sum, want_sum, squares, want_squares, score);
        if (score > *worst) *worst = score;
        CHECK(score <= 1);
    }
}

/* Adds name to the plan's outputs unless present; returns its position. */
static int add_output(const char **outputs, int *count, const char *name)
{
    for (int i = 0; i < *count; i++)
        if (!strcmp(outputs[i], name)) return i;
    if (*count == MAX_OUTPUTS) return -1;
    outputs[*count] = name;
    return (*count)++;
}

static float *read_output(dlp_plan *plan, int output, size_t *per_image)
{
    *per_image = dlp_shape_elements(dlp_plan_output_shape(plan, output));
    float *values = malloc(*per_image * IMAGES * sizeof(float));
    if (values) CHECK_OK(dlp_plan_read_output(plan, output, values, *per_image * IMAGES));
    return values;
}

/* logits = (input of predictions) @ kernel + bias in double, the synthetic
 * weights of the last weight-bearing layer, as keras_oracle.py computed them. */
static void logits_from(const float *pre, size_t width, json_t *order, double *logits)
{
    json_t *rows = json_object_get(order, "weights");
    size_t n = json_array_size(rows);
    int k = (int)json_integer_value(json_array_get(json_array_get(rows, n - 1), 0));
    int64_t shape[2] = {(int64_t)width, 1000};
    float *kernel = malloc(width * 1000 * sizeof(float)), bias[1000];
    CHECK(kernel != NULL);
    if (!kernel) return;
    CHECK_OK(dlp_synth_fill(k, "kernel", shape, 2, kernel));
    CHECK_OK(dlp_synth_fill(k, "bias", &shape[1], 1, bias));
    for (int i = 0; i < IMAGES; i++)
        for (int j = 0; j < 1000; j++) {
            double z = bias[j];
            for (size_t c = 0; c < width; c++) z += (double)pre[(size_t)i * width + c] * kernel[c * 1000 + j];
            logits[i * 1000 + j] = z;
        }
    free(kernel);
}

/* The backend's own logits for pre [IMAGES, width]: a one-Dense graph with
 * the synthetic "predictions" weights, linear, on the same backend (the
 * model's "predictions" runs this GEMM, then bias and softmax). */
static float *plan_logits(dlp_backend *backend, const float *pre, size_t width, json_t *order)
{
    json_t *rows = json_object_get(order, "weights");
    int k = (int)json_integer_value(json_array_get(json_array_get(rows, json_array_size(rows) - 1), 0));
    dlp_graph *graph = NULL;
    dlp_plan *plan = NULL;
    int input = -1, dense = -1;
    float *logits = malloc(IMAGES * 1000 * sizeof(float)), *kernel = malloc(width * 1000 * sizeof(float));
    float bias[1000];
    int64_t shape[2] = {(int64_t)width, 1000};
    dlp_dense_params p = {1000, true, DLP_ACT_LINEAR};
    const char *outputs[1] = {"logits"};
    bool ok = logits && kernel && dlp_synth_fill(k, "kernel", shape, 2, kernel) == DLP_OK &&
              dlp_synth_fill(k, "bias", &shape[1], 1, bias) == DLP_OK;
    CHECK(ok);
    if (ok) {
        CHECK_OK(dlp_graph_create(&graph));
        CHECK_OK(dlp_graph_input(graph, "pre", (dlp_shape){1, 1, (int)width}, &input));
        CHECK_OK(dlp_graph_dense(graph, "logits", input, &p, &dense));
        check_set_weight(graph, dense, "kernel", 2, shape, kernel);
        check_set_weight(graph, dense, "bias", 1, &shape[1], bias);
        CHECK_OK(dlp_plan_create(graph, backend, IMAGES, outputs, 1, &plan));
    }
    ok = plan && dlp_plan_run(plan, pre, IMAGES) == DLP_OK &&
         dlp_plan_read_output(plan, 0, logits, IMAGES * 1000) == DLP_OK;
    CHECK(ok);
    dlp_plan_destroy(plan);
    dlp_graph_destroy(graph);
    free(kernel);
    if (!ok) free(logits);
    return ok ? logits : NULL;
}

/* Half the spread over the classes of (logit - log Keras' probability): how
 * far our logits are from Keras' own, up to softmax's free constant. */
static double logit_spread(const float *logits, const float *keras_probabilities)
{
    double low = INFINITY, high = -INFINITY;
    for (int j = 0; j < 1000; j++) {
        if (!(keras_probabilities[j] >= FLT_MIN)) continue; /* underflowed: no logit to recover */
        double d = (double)logits[j] - log((double)keras_probabilities[j]);
        low = fmin(low, d), high = fmax(high, d);
    }
    return high >= low ? (high - low) / 2 : INFINITY;
}

/* Decodes and preprocesses the three photos; checks them against Keras'. */
static bool load_inputs(const zoo_model_case *model, const fixture *f, const char *fixtures, const char *shared,
                        bool caffe, float *input)
{
    size_t pixels = (size_t)model->input * model->input * 3, row = (size_t)model->input * 3;
    json_t *pixel_sums = json_object_get(json_object_get(f->index, "input"), "pixel_sums");
    const float *first_rows = fixture_array(f, "input_preprocessed_first_row", IMAGES * row);
    bool ok = first_rows != NULL;
    for (int i = 0; i < IMAGES; i++) {
        char path[4096];
        if (model->input == 299)
            snprintf(path, sizeof path, "%s/oracle/inception_v3/%s_299.png", shared, photos[i]);
        else
            snprintf(path, sizeof path, "%s/images/%s_%d.png", fixtures, photos[i], model->input);
        long long pixel_sum = 0;
        bool loaded = load_photo(path, model->input, caffe, input + (size_t)i * pixels, &pixel_sum);
        if (!loaded) fprintf(stderr, "%s: cannot read a %dx%d RGB PNG\n", path, model->input, model->input);
        CHECK(loaded);
        CHECK(pixel_sum == json_integer_value(json_array_get(pixel_sums, (size_t)i)));
        double worst = 0;
        for (size_t k = 0; first_rows && k < row; k++)
            worst = fmax(worst, fabs(input[(size_t)i * pixels + k] - first_rows[(size_t)i * row + k]));
        CHECK(worst <= 1e-6);
        ok = ok && loaded;
    }
    return ok;
}

/* Relative L2 per image of a [IMAGES, width] output against Keras'. */
static void check_rows(const char *model, const char *what, const float *actual, const float *expected, size_t width)
{
    for (int i = 0; i < IMAGES && actual && expected; i++) {
        double error = check_relative_l2(actual + (size_t)i * width, expected + (size_t)i * width, width);
        printf("  %s %-13s image %d: relative L2 %.3g\n", model, what, i, error);
        CHECK(error <= 1e-4);
    }
}

static void check_flatten(const zoo_model_case *model, const fixture *f, const float *features, size_t per_image)
{
    json_t *featurizer = json_object_get(f->index, "featurizer");
    json_t *slices = json_object_get(featurizer, "flatten_slices");
    CHECK(per_image == model->flatten && json_array_size(slices) == 3);
    for (int i = 0; i < IMAGES; i++) {
        float actual[64], expected[64];
        size_t n = 0;
        for (size_t s = 0; s < json_array_size(slices); s++) {
            json_t *slice = json_array_get(slices, s);
            size_t offset = (size_t)json_integer_value(json_object_get(slice, "offset"));
            json_t *values = json_array_get(json_object_get(slice, "values"), (size_t)i);
            for (size_t k = 0; k < json_array_size(values) && n < 64 && offset + k < per_image; k++, n++) {
                actual[n] = features[(size_t)i * per_image + offset + k];
                expected[n] = (float)json_number_value(json_array_get(values, k));
            }
        }
        double error = check_relative_l2(actual, expected, n);
        printf("  %s flatten slices image %d: relative L2 %.3g over %zu values\n", model->name, i, error, n);
        CHECK(n == 48 && error <= 1e-4);
    }
    double worst = 0;
    check_sums(model->name, "flatten", features, per_image, json_object_get(featurizer, "flatten_sums"), &worst);
}

/* The probabilities against Keras': relative L2 <= 1e-4, or expm1(2 s) +
 * 1e-6 when more, s from logit_spread (see the header). */
static void check_probabilities(const char *model, const float *logits, const float *probabilities,
                                const float *expected)
{
    for (int i = 0; i < IMAGES && logits && probabilities && expected; i++) {
        size_t at = (size_t)i * 1000;
        double error = check_relative_l2(probabilities + at, expected + at, 1000);
        double spread = logit_spread(logits + at, expected + at), allowed = fmax(1e-4, expm1(2 * spread) + 1e-6);
        printf("  %s %-13s image %d: relative L2 %.3g (logits off Keras' by %.3g: tolerance %.3g)\n", model,
               "probabilities", i, error, spread, allowed);
        CHECK(error <= allowed);
    }
}

/* logits and softmax against Keras'; the top-1 class too. */
static void check_top(const zoo_model_case *model, const fixture *f, dlp_backend *backend, const float *pre,
                      size_t width, const float *probabilities)
{
    double *logits = malloc(IMAGES * 1000 * sizeof(double));
    float *own = plan_logits(backend, pre, width, f->order);
    if (!logits || !own) goto done;
    logits_from(pre, width, f->order, logits);
    const float *want_logits = fixture_array(f, "logits", IMAGES * 1000);
    check_rows(model->name, "logits", own, want_logits, 1000);
    check_probabilities(model->name, own, probabilities, fixture_array(f, "probabilities", IMAGES * 1000));
    json_t *top5 = json_object_get(f->index, "top5");
    for (int i = 0; i < IMAGES && want_logits; i++) {
        int best = 0;
        double largest = 0;
        for (int j = 0; j < 1000; j++) {
            if (logits[i * 1000 + j] > logits[i * 1000 + best]) best = j;
            largest = fmax(largest, fabs(want_logits[i * 1000 + j]));
        }
        int want = (int)json_integer_value(json_array_get(json_array_get(json_array_get(top5, (size_t)i), 0), 0));
        printf("  %s top-1 image %d: class %d (Keras %d), largest |logit| %.4g\n", model->name, i, best, want, largest);
        /* A near tie may swap: then Keras' top class must be within 1e-4 of ours. */
        CHECK(best == want || logits[i * 1000 + best] - logits[i * 1000 + want] <= 1e-4 * largest);
    }
done:
    free(logits);
    free(own);
}

/* The featurizer graph (pooling avg) bound from the full model's weights, on
 * the second photo alone, against Keras' avg. */
static void check_featurizer(const zoo_model_case *model, const fixture *f, const dlp_tensor_list *weights,
                             const float *input, dlp_backend *cpu)
{
    dlp_model_options options = {DLP_TOP_NONE, DLP_POOLING_AVG};
    dlp_graph *graph = NULL;
    dlp_plan *plan = NULL;
    CHECK_OK(dlp_zoo_build(model->name, weights, &options, &graph));
    const char *outputs[1] = {"features"};
    if (graph) CHECK_OK(dlp_plan_create(graph, cpu, 1, outputs, 1, &plan));
    dlp_graph_destroy(graph);
    if (!plan) return;
    float *features = malloc((size_t)model->pooled * sizeof(float));
    size_t pixels = (size_t)model->input * model->input * 3;
    CHECK_OK(dlp_plan_run(plan, input + pixels, 1));
    CHECK_OK(dlp_plan_read_output(plan, 0, features, (size_t)model->pooled));
    const float *want = fixture_array(f, "avg", IMAGES * (size_t)model->pooled);
    if (want && features) {
        double error = check_relative_l2(features, want + model->pooled, (size_t)model->pooled);
        printf("  %s featurizer alone (avg, image 1): relative L2 %.3g\n", model->name, error);
        CHECK(error <= 1e-4);
    }
    /* The same plan with the CPU backend's residual fusion off: the same floats (a claim about the CPU backend
     * only; the CUDA suite's backend leaves fp32 unfused, and its features are held to Keras' above). */
#ifdef ZOO_SYNTH_BACKEND_CUDA
    dlp_plan_destroy(plan);
    free(features);
    return;
#endif
    int fused = plan->residuals_fused;
    printf("  %s: %d residual block endings fused\n", model->name, fused);
    /* ResNet50's 16 block endings (conv -> add -> relu); Xception's middle flow's 8 (conv -> add). */
    CHECK(fused == (!strcmp(model->name, "ResNet50") ? 16 : !strcmp(model->name, "Xception") ? 8 : 0));
    dlp_backend *unfused = NULL;
    setenv("DLP_CPU_RESIDUAL_FUSION", "0", 1);
    CHECK_OK(dlp_backend_create_cpu(2, &unfused));
    unsetenv("DLP_CPU_RESIDUAL_FUSION");
    dlp_plan *apart = NULL;
    graph = NULL;
    if (unfused) CHECK_OK(dlp_zoo_build(model->name, weights, &options, &graph));
    if (graph) CHECK_OK(dlp_plan_create(graph, unfused, 1, outputs, 1, &apart));
    dlp_graph_destroy(graph);
    float *apart_features = malloc((size_t)model->pooled * sizeof(float));
    if (apart && features && apart_features) {
        CHECK(apart->residuals_fused == 0);
        CHECK_OK(dlp_plan_run(apart, input + pixels, 1));
        CHECK_OK(dlp_plan_read_output(apart, 0, apart_features, (size_t)model->pooled));
        CHECK(!memcmp(features, apart_features, (size_t)model->pooled * sizeof(float)));
    }
    free(apart_features);
    dlp_plan_destroy(apart);
    dlp_backend_destroy(unfused);
    free(features);
    dlp_plan_destroy(plan);
}

/* The whole featurizer (dlp_featurizer: weight file, image decoding, resize,
 * normalization, network) on the third photo, with the base's weights alone
 * written as a safetensors file (a "notop" file), against Keras' avg. */
static void check_pipeline(const zoo_model_case *model, const fixture *f, const char *image_dir)
{
    dlp_model_options options = {DLP_TOP_NONE, DLP_POOLING_AVG};
    dlp_graph *graph = NULL;
    int base_layers = 0;
    CHECK_OK(dlp_zoo_build(model->name, NULL, &options, &graph));
    if (graph) CHECK_OK(dlp_graph_keras_weight_order(graph, NULL, 0, &base_layers));
    dlp_graph_destroy(graph);
    dlp_tensor_list *notop = synthetic_weights(f->order, base_layers);
    char path[4096], image[4200];
    snprintf(path, sizeof path, "%s/%s_synth_notop.safetensors", check_env("DLP_TEST_TMP"), model->fixture);
    snprintf(image, sizeof image, "%s/%s_%d.png", image_dir, photos[2], model->input);
    if (notop) CHECK_OK(dlp_safetensors_write(path, notop));
    dlp_tensor_list_destroy(notop);
    dlp_featurizer_options featurizer_options;
    dlp_featurizer_options_init(&featurizer_options);
    featurizer_options.model = model->name;
    featurizer_options.weights = path;
    featurizer_options.device = "cpu";
    featurizer_options.cache_dir = "";
    dlp_featurizer *featurizer = NULL;
    dlp_dataset *dataset = NULL;
    CHECK_OK(dlp_featurizer_create(&featurizer_options, &featurizer));
    CHECK_OK(dlp_dataset_create(&dataset));
    if (dataset) CHECK_OK(dlp_dataset_add(dataset, image, -1));
    float *features = malloc((size_t)model->pooled * sizeof(float));
    const float *want = fixture_array(f, "avg", IMAGES * (size_t)model->pooled);
    if (featurizer && dataset && features && want) {
        CHECK(dlp_featurizer_dim(featurizer) == (size_t)model->pooled);
        CHECK(dlp_featurizer_batch_size(featurizer) == 16); /* the CPU's default */
        dlp_featurize_stats stats = {0};
        CHECK_OK(dlp_featurizer_run(featurizer, dataset, 0, 1, features, NULL, NULL, &stats));
        CHECK(stats.computed == 1 && stats.failed == 0);
        double error = check_relative_l2(features, want + 2 * (size_t)model->pooled, (size_t)model->pooled);
        printf("  %s dlp_featurizer (notop safetensors, %s): relative L2 %.3g\n", model->name, image, error);
        CHECK(error <= 1e-4);
    }
    free(features);
    dlp_dataset_destroy(dataset);
    dlp_featurizer_destroy(featurizer);
    remove(path);
}

static void check_run(const zoo_model_case *model, const fixture *f, const dlp_tensor_list *weights,
                      const float *input, dlp_backend *cpu)
{
    const dlp_model_info *info = dlp_zoo_find(model->name);
    dlp_model_options options = {DLP_TOP_IMAGENET, DLP_POOLING_AVG};
    dlp_graph *graph = NULL;
    CHECK_OK(dlp_zoo_build(model->name, weights, &options, &graph));
    if (!graph) return;
    /* Pooled features from the same run: global pools on the featurizer layer. */
    int feature_node = dlp_graph_find(graph, info->feature_layer), node;
    CHECK_OK(dlp_graph_unary(graph, "test_avg", DLP_OP_GLOBAL_AVG_POOL, feature_node, &node));
    CHECK_OK(dlp_graph_unary(graph, "test_max", DLP_OP_GLOBAL_MAX_POOL, feature_node, &node));
    const char *outputs[MAX_OUTPUTS];
    static char names[MAX_OUTPUTS][128];
    int count = 0, checkpoint_out[MAX_OUTPUTS];
    int feature_out = add_output(outputs, &count, info->feature_layer);
    int avg_out = add_output(outputs, &count, "test_avg"), max_out = add_output(outputs, &count, "test_max");
    json_t *checkpoints = json_object_get(f->index, "checkpoints");
    size_t checkpoint_count = json_array_size(checkpoints);
    CHECK(checkpoint_count >= 4 && checkpoint_count < MAX_OUTPUTS - 3);
    for (size_t c = 0; c < checkpoint_count && c < MAX_OUTPUTS - 3; c++) {
        const char *layer = json_string_value(json_object_get(json_array_get(checkpoints, c), "layer"));
        const char *name = zoo_graph_name(model->fixture, layer, names[c], sizeof names[c]);
        if (name != names[c]) snprintf(names[c], sizeof names[c], "%s", name);
        checkpoint_out[c] = add_output(outputs, &count, names[c]);
    }
    dlp_plan *plan = NULL;
    CHECK_OK(dlp_plan_create(graph, cpu, IMAGES, outputs, count, &plan));
    dlp_graph_destroy(graph);
    if (!plan) return;
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    CHECK_OK(dlp_plan_run(plan, input, IMAGES));
    clock_gettime(CLOCK_MONOTONIC, &end);
    printf("%s: %d steps, batch %d in %.2f s\n", model->name, dlp_plan_step_count(plan), IMAGES,
           (double)(end.tv_sec - start.tv_sec) + 1e-9 * (double)(end.tv_nsec - start.tv_nsec));
    size_t per_image;
    float *values = read_output(plan, avg_out, &per_image);
    check_rows(model->name, "avg", values, fixture_array(f, "avg", IMAGES * per_image), per_image);
    free(values);
    values = read_output(plan, max_out, &per_image);
    check_rows(model->name, "max", values, fixture_array(f, "max", IMAGES * per_image), per_image);
    free(values);
    values = read_output(plan, feature_out, &per_image);
    if (values) check_flatten(model, f, values, per_image);
    free(values);
    double worst = 0;
    for (size_t c = 0; c < checkpoint_count && c < MAX_OUTPUTS - 3; c++) {
        values = read_output(plan, checkpoint_out[c], &per_image);
        json_t *checkpoint = json_array_get(checkpoints, c);
        if (values) check_sums(model->name, names[c], values, per_image, json_object_get(checkpoint, "sums"), &worst);
        free(values);
    }
    printf("  %s checkpoints: worst %.3g of tolerance\n", model->name, worst);
    /* The oracle's last two checkpoints: the input of "predictions", then it. */
    if (checkpoint_count < 2 || checkpoint_count >= MAX_OUTPUTS - 3) {
        dlp_plan_destroy(plan);
        return;
    }
    float *pre = read_output(plan, checkpoint_out[checkpoint_count - 2], &per_image);
    size_t classes;
    float *probabilities = read_output(plan, checkpoint_out[checkpoint_count - 1], &classes);
    CHECK(classes == 1000);
    if (pre && probabilities && classes == 1000) check_top(model, f, cpu, pre, per_image, probabilities);
    free(pre);
    free(probabilities);
    dlp_plan_destroy(plan);
}

static void check_model(const zoo_model_case *model, const char *fixtures, const char *shared, dlp_backend *cpu)
{
    fixture f = {0};
    CHECK(load_fixture(fixtures, model->fixture, &f));
    dlp_tensor_list *weights = f.order ? synthetic_weights(f.order, INT32_MAX) : NULL;
    float *input = malloc((size_t)model->input * model->input * 3 * IMAGES * sizeof(float));
    const dlp_model_info *info = dlp_zoo_find(model->name);
    if (f.index && f.arrays && weights && input && info &&
        load_inputs(model, &f, fixtures, shared, info->preprocessing == DLP_PREPROCESS_CAFFE, input)) {
        check_run(model, &f, weights, input, cpu);
        check_featurizer(model, &f, weights, input, cpu);
    }
    dlp_tensor_list_destroy(weights);
    weights = NULL;
    if (f.index && f.order && f.arrays) {
        char image_dir[2048];
        if (model->input == 299)
            snprintf(image_dir, sizeof image_dir, "%s/oracle/inception_v3", shared);
        else
            snprintf(image_dir, sizeof image_dir, "%s/images", fixtures);
        check_pipeline(model, &f, image_dir);
    }
    dlp_tensor_list_destroy(weights);
    free(input);
    free_fixture(&f);
}

/* tests/gpu/test_zoo_half_cuda.c reuses the fixture helpers above with its own main. */
#ifndef ZOO_SYNTH_NO_MAIN
int main(void)
{
    const char *fixtures = check_env("DLP_FIXTURES"), *shared = check_env("DLP_SHARED_DIR");
    const char *only = getenv("DLP_ZOO_MODELS");
    if (!only || !*only) only = ZOO_SYNTH_MODELS;
    /* The fixtures' inputs are the oracle photos of ../shared. */
    char photo[4096];
    snprintf(photo, sizeof photo, "%s/oracle/inception_v3/astronaut_299.png", shared);
    FILE *probe = fopen(photo, "rb");
    if (!probe) {
        printf("skipped: %s not found\n", photo);
        return 77;
    }
    fclose(probe);
    dlp_backend *cpu = NULL;
#ifdef ZOO_SYNTH_BACKEND_CUDA
    /* tests/gpu/test_zoo_synth_cuda.c: the same checks on the CUDA backend. */
    check_skip_without_cuda();
    CHECK_OK(dlp_backend_create_cuda(0, NULL, &cpu));
#else
    CHECK_OK(dlp_backend_create_cpu(0, &cpu));
#endif
    for (int m = 0; m < ZOO_MODEL_CASES && cpu; m++)
        if (strstr(only, zoo_model_cases[m].fixture)) check_model(&zoo_model_cases[m], fixtures, shared, cpu);
    dlp_backend_destroy(cpu);
    return check_summary(ZOO_SYNTH_SUITE);
}
#endif

/* The real InceptionV3 (nsfwjs) on the CUDA backend: against the outputs
 * TensorFlow.js 4.22 computed (../shared/oracle/inception_v3, the same
 * tolerances as unit.inception_v3_real: pooled features rel-L2 <= 1e-4,
 * mixed5 sum <= 1e-4 relative, head probabilities rel-L2 <= 1e-4), and
 * against the CPU backend on the same photos (every output rel-L2 <= 1e-4). */
#include <jansson.h>
#include <spng.h>

#include "check.h"
#include "dlp/device.h"
#include "dlp/dlp.h"

enum { SIDE = 299, PIXELS = SIDE * SIDE * 3, IMAGES = 3, MIXED5 = 17 * 17 * 768 };

/* Decodes a 299x299 PNG to RGB8 and normalizes it as Keras' 'tf' mode. */
static int load_png(const char *path, float *out)
{
    FILE *file = fopen(path, "rb");
    if (!file) return 0;
    spng_ctx *ctx = spng_ctx_new(0);
    spng_set_png_file(ctx, file);
    struct spng_ihdr ihdr;
    size_t size = 0;
    int ok = spng_get_ihdr(ctx, &ihdr) == 0 && ihdr.width == SIDE && ihdr.height == SIDE &&
             spng_decoded_image_size(ctx, SPNG_FMT_RGB8, &size) == 0 && size == PIXELS;
    unsigned char *rgb = ok ? malloc(size) : NULL;
    ok = ok && rgb && spng_decode_image(ctx, rgb, size, SPNG_FMT_RGB8, 0) == 0;
    for (size_t i = 0; ok && i < PIXELS; i++) out[i] = (float)rgb[i] / 127.5f - 1.0f;
    free(rgb);
    spng_ctx_free(ctx);
    fclose(file);
    return ok;
}

static double relative_l2_double(const float *actual, const double *expected, size_t count)
{
    double diff = 0, norm = 0;
    for (size_t i = 0; i < count; i++) {
        diff += (actual[i] - expected[i]) * (actual[i] - expected[i]);
        norm += expected[i] * expected[i];
    }
    return sqrt(diff / norm);
}

static double relative_l2(const float *actual, const float *expected, size_t count)
{
    double diff = 0, norm = 0;
    for (size_t i = 0; i < count; i++) {
        double d = (double)actual[i] - expected[i];
        diff += d * d;
        norm += (double)expected[i] * expected[i];
    }
    return sqrt(diff / norm);
}

typedef struct outputs {
    float features[2048 * IMAGES];
    float mixed5[MIXED5 * IMAGES];
    float probs[5 * IMAGES];
} outputs;

static void run_model(dlp_graph *graph, dlp_backend *backend, const float *input, outputs *out)
{
    for (size_t i = 0; i < sizeof out->features / sizeof(float); i++) out->features[i] = NAN;
    for (size_t i = 0; i < sizeof out->mixed5 / sizeof(float); i++) out->mixed5[i] = NAN;
    for (size_t i = 0; i < sizeof out->probs / sizeof(float); i++) out->probs[i] = NAN;
    const char *names[3] = {"avg_pool", "mixed5", "dense_3"};
    dlp_plan *plan = NULL;
    CHECK_OK(dlp_plan_create(graph, backend, IMAGES, names, 3, &plan));
    if (!plan) return;
    CHECK_OK(dlp_plan_run(plan, input, IMAGES));
    CHECK_OK(dlp_plan_read_output(plan, 0, out->features, 2048 * IMAGES));
    CHECK_OK(dlp_plan_read_output(plan, 1, out->mixed5, (size_t)MIXED5 * IMAGES));
    CHECK_OK(dlp_plan_read_output(plan, 2, out->probs, 5 * IMAGES));
    dlp_plan_destroy(plan);
}

static void against_oracle(json_t *results, const outputs *gpu)
{
    for (int i = 0; i < IMAGES; i++) {
        json_t *result = json_array_get(results, (size_t)i);
        json_t *want = json_object_get(result, "features");
        CHECK(json_array_size(want) == 2048);
        double reference[2048];
        for (size_t k = 0; k < 2048; k++) reference[k] = json_number_value(json_array_get(want, k));
        double feature_error = relative_l2_double(gpu->features + (size_t)i * 2048, reference, 2048);
        double sum = 0;
        for (size_t k = 0; k < MIXED5; k++) sum += gpu->mixed5[(size_t)i * MIXED5 + k];
        double want_sum = json_number_value(json_object_get(result, "mixed5_sum"));
        double sum_error = fabs(sum - want_sum) / fabs(want_sum);
        json_t *want_probs = json_object_get(result, "probs");
        double prob_reference[5];
        for (size_t k = 0; k < 5; k++) prob_reference[k] = json_number_value(json_array_get(want_probs, k));
        double prob_error = relative_l2_double(gpu->probs + i * 5, prob_reference, 5);
        printf("cuda vs TF.js %s: features rel-L2 %.3g, mixed5 sum %.9g vs %.9g (rel %.3g), probs rel-L2 %.3g\n",
               json_string_value(json_object_get(result, "image")), feature_error, sum, want_sum, sum_error,
               prob_error);
        CHECK(feature_error <= 1e-4);
        CHECK(sum_error <= 1e-4);
        CHECK(prob_error <= 1e-4);
    }
}

int main(void)
{
    int devices = 0;
    if (dlp_device_count(&devices) != DLP_OK) {
        printf("skipped: %s\n", dlp_last_error());
        return 77;
    }
    const char *shared = check_env("DLP_SHARED_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/models/nsfwjs-inception_v3/model.json", shared);
    FILE *probe = fopen(path, "rb");
    if (!probe) {
        printf("skipped: %s not found\n", path);
        return 77;
    }
    fclose(probe);
    dlp_tensor_list *weights = NULL;
    CHECK_OK(dlp_tfjs_load(path, &weights));
    snprintf(path, sizeof path, "%s/oracle/inception_v3/expected.json", shared);
    json_t *expected = json_load_file(path, 0, NULL);
    CHECK(expected != NULL);
    json_t *results = json_object_get(expected, "results");
    CHECK(json_array_size(results) == IMAGES);
    if (!weights || json_array_size(results) != IMAGES) return check_summary("inception_v3_cuda");

    float *input = malloc(sizeof(float) * PIXELS * IMAGES);
    for (int i = 0; i < IMAGES; i++) {
        const char *image = json_string_value(json_object_get(json_array_get(results, (size_t)i), "image"));
        snprintf(path, sizeof path, "%s/oracle/inception_v3/%s", shared, image ? image : "?");
        CHECK(load_png(path, input + (size_t)i * PIXELS));
    }
    dlp_model_options options = {DLP_TOP_DENSE_STACK, DLP_POOLING_AVG};
    dlp_graph *graph = NULL;
    CHECK_OK(dlp_zoo_build("InceptionV3", weights, &options, &graph));
    dlp_backend *cpu = NULL, *gpu = NULL;
    CHECK_OK(dlp_backend_create_cpu(0, &cpu));
    CHECK_OK(dlp_backend_create_cuda(0, NULL, &gpu));
    outputs *on_gpu = malloc(sizeof *on_gpu), *on_cpu = malloc(sizeof *on_cpu);
    if (graph && cpu && gpu) {
        run_model(graph, gpu, input, on_gpu);
        against_oracle(results, on_gpu);
        run_model(graph, cpu, input, on_cpu);
        double f = relative_l2(on_gpu->features, on_cpu->features, 2048 * IMAGES);
        double m = relative_l2(on_gpu->mixed5, on_cpu->mixed5, (size_t)MIXED5 * IMAGES);
        double p = relative_l2(on_gpu->probs, on_cpu->probs, 5 * IMAGES);
        printf("cuda vs cpu: avg_pool rel-L2 %.3g, mixed5 rel-L2 %.3g, dense_3 rel-L2 %.3g\n", f, m, p);
        CHECK(f <= 1e-4);
        CHECK(m <= 1e-4);
        CHECK(p <= 1e-4);
    }
    free(on_gpu), free(on_cpu);
    dlp_graph_destroy(graph);
    dlp_backend_destroy(gpu);
    dlp_backend_destroy(cpu);
    json_decref(expected);
    free(input);
    dlp_tensor_list_destroy(weights);
    return check_summary("inception_v3_cuda");
}

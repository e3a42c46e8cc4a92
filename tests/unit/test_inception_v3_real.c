/* The real InceptionV3 (nsfwjs, TF.js layers, uint8-quantized) against the
 * outputs TensorFlow.js 4.22 computed (../shared/oracle/inception_v3):
 * flatten_1 features rel-L2 <= 1e-4, mixed5 sum <= 1e-4 relative, and the
 * nsfwjs head's probabilities. */
#include <jansson.h>
#include <spng.h>

#include "check.h"
#include "dlp/dlp.h"

enum { SIDE = 299, PIXELS = SIDE * SIDE * 3, IMAGES = 3 };

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

static double relative_l2(const float *actual, const double *expected, size_t count)
{
    double diff = 0, norm = 0;
    for (size_t i = 0; i < count; i++) {
        diff += (actual[i] - expected[i]) * (actual[i] - expected[i]);
        norm += expected[i] * expected[i];
    }
    return sqrt(diff / norm);
}

int main(void)
{
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
    if (!weights) return check_summary("inception_v3_real");

    snprintf(path, sizeof path, "%s/oracle/inception_v3/expected.json", shared);
    json_t *expected = json_load_file(path, 0, NULL);
    CHECK(expected != NULL);
    json_t *results = json_object_get(expected, "results");
    CHECK(json_array_size(results) == IMAGES);

    float *input = malloc(sizeof(float) * PIXELS * IMAGES);
    for (int i = 0; i < IMAGES; i++) {
        const char *image = json_string_value(json_object_get(json_array_get(results, (size_t)i), "image"));
        snprintf(path, sizeof path, "%s/oracle/inception_v3/%s", shared, image ? image : "?");
        CHECK(load_png(path, input + (size_t)i * PIXELS));
    }

    /* The full nsfwjs model: base + its own dense head; mixed5 and the pooled
     * features are taken from the same run. */
    dlp_model_options options = {DLP_TOP_DENSE_STACK, DLP_POOLING_AVG};
    dlp_graph *graph = NULL;
    CHECK_OK(dlp_zoo_build("InceptionV3", weights, &options, &graph));
    dlp_backend *cpu = NULL;
    CHECK_OK(dlp_backend_create_cpu(0, &cpu));
    dlp_plan *plan = NULL;
    if (graph) {
        /* Binding by Keras order must land each weight on the layer Keras 2.2.4 named the same. */
        int mismatched = 0;
        for (int n = 0; n < dlp_graph_node_count(graph); n++) {
            const char *source = dlp_graph_node_weight_source(graph, n);
            if (source && strcmp(source, dlp_graph_node_name(graph, n)) != 0) mismatched++;
        }
        CHECK(mismatched == 0);
        const char *outputs[3] = {"avg_pool", "mixed5", "dense_3"};
        CHECK_OK(dlp_plan_create(graph, cpu, IMAGES, outputs, 3, &plan));
    }
    if (plan) {
        printf("plan: %d steps, arena %.1f MiB (%.1f MiB without reuse)\n", dlp_plan_step_count(plan),
               dlp_plan_arena_bytes(plan) / 1048576.0, dlp_plan_unshared_bytes(plan) / 1048576.0);
        CHECK_OK(dlp_plan_run(plan, input, IMAGES));
        float *features = malloc(sizeof(float) * 2048 * IMAGES);
        float *mixed5 = malloc(sizeof(float) * 17 * 17 * 768 * IMAGES);
        float probs[5 * IMAGES];
        CHECK_OK(dlp_plan_read_output(plan, 0, features, 2048 * IMAGES));
        CHECK_OK(dlp_plan_read_output(plan, 1, mixed5, 17 * 17 * 768 * IMAGES));
        CHECK_OK(dlp_plan_read_output(plan, 2, probs, 5 * IMAGES));
        for (int i = 0; i < IMAGES; i++) {
            json_t *result = json_array_get(results, (size_t)i);
            json_t *want = json_object_get(result, "features");
            CHECK(json_array_size(want) == 2048);
            double reference[2048];
            for (size_t k = 0; k < 2048; k++) reference[k] = json_number_value(json_array_get(want, k));
            double feature_error = relative_l2(features + (size_t)i * 2048, reference, 2048);
            double sum = 0;
            for (size_t k = 0; k < 17 * 17 * 768; k++) sum += mixed5[(size_t)i * 17 * 17 * 768 + k];
            double want_sum = json_number_value(json_object_get(result, "mixed5_sum"));
            double sum_error = fabs(sum - want_sum) / fabs(want_sum);
            json_t *want_probs = json_object_get(result, "probs");
            double prob_reference[5];
            for (size_t k = 0; k < 5; k++) prob_reference[k] = json_number_value(json_array_get(want_probs, k));
            double prob_error = relative_l2(probs + i * 5, prob_reference, 5);
            printf("%s: features rel-L2 %.3g, mixed5 sum %.9g vs %.9g (rel %.3g), probs rel-L2 %.3g\n",
                   json_string_value(json_object_get(result, "image")), feature_error, sum, want_sum, sum_error,
                   prob_error);
            CHECK(feature_error <= 1e-4);
            CHECK(sum_error <= 1e-4);
            CHECK(prob_error <= 1e-4);
        }
        free(features);
        free(mixed5);
    }
    dlp_plan_destroy(plan);
    dlp_graph_destroy(graph);

    /* The featurizer alone (pooling avg) from the same full-model weights gives the same features. */
    options = (dlp_model_options){DLP_TOP_NONE, DLP_POOLING_AVG};
    graph = NULL;
    CHECK_OK(dlp_zoo_build("InceptionV3", weights, &options, &graph));
    if (graph) {
        const char *outputs[1] = {"features"};
        plan = NULL;
        CHECK_OK(dlp_plan_create(graph, cpu, 1, outputs, 1, &plan));
        CHECK(dlp_plan_output_shape(plan, 0).c == 2048);
        if (plan) {
            float features[2048];
            CHECK_OK(dlp_plan_run(plan, input + PIXELS, 1));
            CHECK_OK(dlp_plan_read_output(plan, 0, features, 2048));
            json_t *want = json_object_get(json_array_get(results, 1), "features");
            double reference[2048];
            for (size_t k = 0; k < 2048; k++) reference[k] = json_number_value(json_array_get(want, k));
            double error = relative_l2(features, reference, 2048);
            printf("featurizer alone (batch 1): rel-L2 %.3g\n", error);
            CHECK(error <= 1e-4);
        }
        dlp_plan_destroy(plan);
        dlp_graph_destroy(graph);
    }
    dlp_backend_destroy(cpu);
    json_decref(expected);
    free(input);
    dlp_tensor_list_destroy(weights);
    return check_summary("inception_v3_real");
}

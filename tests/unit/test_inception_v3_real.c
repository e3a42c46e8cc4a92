/* The real InceptionV3 (nsfwjs, TF.js layers, uint8-quantized) against the
 * outputs TensorFlow.js 4.22 computed (../shared/oracle/inception_v3):
 * flatten_1 features rel-L2 <= 1e-4, mixed5 sum <= 1e-4 relative, and the
 * nsfwjs head's probabilities. */
#include "check.h"
#include "dlp/dlp.h"
#include "oracle_photos.h"

enum { PIXELS = ORACLE_PIXELS, IMAGES = ORACLE_IMAGES };

int main(void)
{
    const char *shared = check_env("DLP_SHARED_DIR");
    dlp_tensor_list *weights = NULL;
    if (!oracle_load_nsfwjs(shared, &weights)) return 77;
    if (!weights) return check_summary("inception_v3_real");

    json_t *expected = oracle_load_expected(shared);
    json_t *results = json_object_get(expected, "results");
    float *input = malloc(sizeof(float) * PIXELS * IMAGES);
    oracle_load_photos(shared, results, input);

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
        oracle_check_outputs(results, "cpu vs TF.js", features, mixed5, probs);
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
            double reference[2048];
            oracle_read_array(json_object_get(json_array_get(results, 1), "features"), reference, 2048);
            double error = oracle_relative_l2(features, reference, 2048);
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

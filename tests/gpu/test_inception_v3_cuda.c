/* The real InceptionV3 (nsfwjs) on the CUDA backend: against the outputs
 * TensorFlow.js 4.22 computed (../shared/oracle/inception_v3, the same
 * tolerances as unit.inception_v3_real: pooled features rel-L2 <= 1e-4,
 * mixed5 sum <= 1e-4 relative, head probabilities rel-L2 <= 1e-4), and
 * against the CPU backend on the same photos (every output rel-L2 <= 1e-4). */
#include "check.h"
#include "dlp/device.h"
#include "dlp/dlp.h"
#include "oracle_photos.h"

enum { PIXELS = ORACLE_PIXELS, IMAGES = ORACLE_IMAGES, MIXED5 = ORACLE_MIXED5 };

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

int main(void)
{
    check_skip_without_cuda();
    const char *shared = check_env("DLP_SHARED_DIR");
    dlp_tensor_list *weights = NULL;
    if (!oracle_load_nsfwjs(shared, &weights)) return 77;
    json_t *expected = oracle_load_expected(shared);
    json_t *results = json_object_get(expected, "results");
    if (!weights || json_array_size(results) != IMAGES) return check_summary("inception_v3_cuda");
    float *input = malloc(sizeof(float) * PIXELS * IMAGES);
    oracle_load_photos(shared, results, input);
    dlp_model_options options = {DLP_TOP_DENSE_STACK, DLP_POOLING_AVG};
    dlp_graph *graph = NULL;
    CHECK_OK(dlp_zoo_build("InceptionV3", weights, &options, &graph));
    dlp_backend *cpu = NULL, *gpu = NULL;
    CHECK_OK(dlp_backend_create_cpu(0, &cpu));
    CHECK_OK(dlp_backend_create_cuda(0, NULL, &gpu));
    outputs *on_gpu = malloc(sizeof *on_gpu), *on_cpu = malloc(sizeof *on_cpu);
    if (graph && cpu && gpu) {
        run_model(graph, gpu, input, on_gpu);
        oracle_check_outputs(results, "cuda vs TF.js", on_gpu->features, on_gpu->mixed5, on_gpu->probs);
        run_model(graph, cpu, input, on_cpu);
        double f = check_relative_l2(on_gpu->features, on_cpu->features, 2048 * IMAGES);
        double m = check_relative_l2(on_gpu->mixed5, on_cpu->mixed5, (size_t)MIXED5 * IMAGES);
        double p = check_relative_l2(on_gpu->probs, on_cpu->probs, 5 * IMAGES);
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

/* test_zoo_half_cuda.c: the five zoo models (dlp-synth-v1 weights, the three
 * fixture photos, batch 3; test_zoo_synth.c's fixtures and helpers) on the
 * CUDA backend in fp16 and bf16 against the CPU backend in fp32: relative L2
 * per image of the featurizer layer's output (e.g. InceptionV3's mixed10,
 * 8x8x2048) and of its average pool (the featurizer's features) <= 2e-2, the
 * issue's bound for half precision; each precision with the heuristic
 * algorithms unfused, with timed algorithms and fused conv+bias+activation,
 * and as the featurizer runs it: heuristic, fused, CUDA graphs (the batch
 * run three times: launched, recorded, replayed; the replay is checked).
 * Also fp32 with timed algorithms and fusion against the CPU: <= 1e-4 (the
 * issue's fp32 bound; the default fp32 path is gpu.zoo_synth_cuda's). The
 * "-slices" modes plan concatenation inputs as slices of the output
 * (dlp_cuda_options.concat_slices: InceptionV3's producers write in place).
 * ResNet50's dlp-synth-v1 weights let the residual sums grow to |x| ~3.4e6 at
 * conv5 (measured on the CPU), beyond fp16's largest value 65504, where real
 * trained weights stay small; this suite halves every BatchNormalization gamma
 * of ResNet50, which keeps its activations under ~600 (the other models peak
 * at 22 (InceptionV3), 18 (Xception), ~1100 (VGG) with the weights as they
 * are). The comparison is GPU against CPU on the same weights either way.
 * Expected, from an emulation on the CPU backend (conv/dense kernels, the
 * input and every step's output rounded to the half type, random inputs in
 * each model's range, batch 2): feature layer / avg features relative L2,
 * fp16: InceptionV3 1.3e-3 / 5.9e-4, Xception 2.3e-4 / 2.1e-4, ResNet50
 * 1.0e-3 / 4.3e-4, VGG16 9.5e-4 / 5.6e-4, VGG19 1.0e-3 / 4.9e-4; bf16: 9.9e-3
 * / 4.8e-3, 1.8e-3 / 1.7e-3, 8.2e-3 / 3.2e-3, 7.2e-3 / 3.8e-3, 8.3e-3 /
 * 4.7e-3. The GPU rounds a little more often (an unfused conv's output before
 * its bias and activation), so bf16's feature layers may come near 1.5e-2.
 * DLP_ZOO_MODELS (fixture names) and DLP_ZOO_HALF_MODES (mode labels) pick a
 * subset. Skips without a device or without ../shared's photos. */
#define ZOO_SYNTH_NO_MAIN
#pragma GCC diagnostic ignored "-Wunused-function"
#include "core/env.h"
#include "dlp/device.h"
#include "graph/plan_internal.h"
#include "unit/test_zoo_synth.c"

typedef struct half_mode {
    const char *label;
    dlp_cuda_options options;
    double tolerance;
} half_mode;

static const half_mode half_modes[] = {
    {"fp16", {DLP_CUDA_FP16, false, 0, DLP_CUDA_SEARCH_HEURISTIC, false, false, false, false, false}, 2e-2},
    {"fp16-timed-fused", {DLP_CUDA_FP16, false, 0, DLP_CUDA_SEARCH_TIMED, true, false, false, false, false}, 2e-2},
    {"bf16", {DLP_CUDA_BF16, false, 0, DLP_CUDA_SEARCH_HEURISTIC, false, false, false, false, false}, 2e-2},
    {"bf16-timed-fused", {DLP_CUDA_BF16, false, 0, DLP_CUDA_SEARCH_TIMED, true, false, false, false, false}, 2e-2},
    /* The featurizer's fp16/bf16 default (src/ml/featurize.c). */
    {"fp16-fused-graphs", {DLP_CUDA_FP16, false, 0, DLP_CUDA_SEARCH_HEURISTIC, true, true, false, false, false}, 2e-2},
    {"bf16-fused-graphs", {DLP_CUDA_BF16, false, 0, DLP_CUDA_SEARCH_HEURISTIC, true, true, false, false, false}, 2e-2},
    {"fp32-timed-fused", {DLP_CUDA_FP32, false, 0, DLP_CUDA_SEARCH_TIMED, true, false, false, false, false}, 1e-4},
    /* Concatenation inputs written in place (dlp_cuda_options.concat_slices). */
    {"fp16-timed-fused-slices", {DLP_CUDA_FP16, false, 0, DLP_CUDA_SEARCH_TIMED, true, false, false, false, true}, 2e-2},
    {"fp32-timed-fused-slices", {DLP_CUDA_FP32, false, 0, DLP_CUDA_SEARCH_TIMED, true, false, false, false, true}, 1e-4},
};
enum { HALF_MODES = sizeof half_modes / sizeof half_modes[0] };

/* Whether label is one of the comma-separated entries of list. */
static bool listed(const char *list, const char *label)
{
    size_t length = strlen(label);
    for (const char *p = list; p && *p;) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n == length && strncmp(p, label, n) == 0) return true;
        p = end ? end + 1 : NULL;
    }
    return false;
}

/* The featurizer graph's two outputs for the batch: [0] the feature layer, [1] "features" (avg pool). */
static bool run_features(const zoo_model_case *model, const dlp_tensor_list *weights, const float *input,
                         dlp_backend *backend, bool graphs, float *outputs[2], size_t per_image[2])
{
    const dlp_model_info *info = dlp_zoo_find(model->name);
    dlp_model_options options = {DLP_TOP_NONE, DLP_POOLING_AVG};
    dlp_graph *graph = NULL;
    dlp_plan *plan = NULL;
    CHECK_OK(dlp_zoo_build(model->name, weights, &options, &graph));
    const char *names[2] = {info->feature_layer, "features"};
    if (graph) CHECK_OK(dlp_plan_create(graph, backend, IMAGES, names, 2, &plan));
    dlp_graph_destroy(graph);
    if (!plan) return false;
    /* With CUDA graphs: launched, recorded, then replayed (what is checked). */
    for (int run = 0; run < (graphs ? 3 : 1); run++) CHECK_OK(dlp_plan_run(plan, input, IMAGES));
    if (graphs && plan->graphs_abandoned) printf("  %s: graph capture abandoned: %s\n", model->name, plan->graph_failure);
    if (graphs) CHECK(plan->graph_replays >= 1 && plan->graphs_abandoned == 0);
    /* Slices cuDNN would not write strided (concat_slices): written packed, then copied. */
    if (plan->slices_copied) printf("  %s: %d slices written packed and copied\n", model->name, plan->slices_copied);
    if (plan->fusions_refused)
        printf("  %s: %d fused calls refused, run unfused\n", model->name, plan->fusions_refused);
    for (int o = 0; o < 2; o++) outputs[o] = read_output(plan, o, &per_image[o]);
    dlp_plan_destroy(plan);
    return outputs[0] && outputs[1];
}

static void check_mode(const zoo_model_case *model, const half_mode *mode, const dlp_tensor_list *weights,
                       const float *input, float *const want[2])
{
    dlp_backend *gpu = NULL;
    CHECK_OK(dlp_backend_create_cuda(0, &mode->options, &gpu));
    float *got[2] = {NULL, NULL};
    size_t per_image[2];
    bool graphs = dlp_env_switch("DLP_CUDA_GRAPHS", mode->options.cuda_graphs); /* the backend obeys it too */
    if (gpu && run_features(model, weights, input, gpu, graphs, got, per_image)) {
        const char *what[2] = {dlp_zoo_find(model->name)->feature_layer, "features (avg)"};
        for (int o = 0; o < 2; o++)
            for (int i = 0; i < IMAGES; i++) {
                size_t offset = (size_t)i * per_image[o];
                double error = check_relative_l2(got[o] + offset, want[o] + offset, per_image[o]);
                printf("  %s %s %-16s image %d: relative L2 %.3g (tolerance %.0e)\n", model->name, mode->label,
                       what[o], i, error, mode->tolerance);
                CHECK(error <= mode->tolerance);
            }
    }
    free(got[0]), free(got[1]);
    dlp_backend_destroy(gpu);
}

/* Multiplies every BatchNormalization gamma by scale (see the header). */
static void scale_gammas(const dlp_tensor_list *weights, float scale)
{
    size_t scaled = 0;
    for (size_t t = 0; t < dlp_tensor_list_count(weights); t++) {
        const dlp_named_tensor *tensor = dlp_tensor_list_at(weights, t);
        if (!strstr(tensor->name, "gamma") || tensor->dtype != DLP_DTYPE_F32) continue;
        for (size_t i = 0; i < tensor->element_count; i++) ((float *)tensor->data)[i] *= scale;
        scaled++;
    }
    CHECK(scaled > 0);
}

static void check_half_model(const zoo_model_case *model, const char *fixtures, const char *shared,
                             dlp_backend *cpu, const char *modes)
{
    fixture f = {0};
    CHECK(load_fixture(fixtures, model->fixture, &f));
    dlp_tensor_list *weights = f.order ? synthetic_weights(f.order, INT32_MAX) : NULL;
    if (weights && strcmp(model->fixture, "resnet50") == 0) scale_gammas(weights, 0.5f);
    float *input = malloc((size_t)model->input * model->input * 3 * IMAGES * sizeof(float));
    const dlp_model_info *info = dlp_zoo_find(model->name);
    float *want[2] = {NULL, NULL};
    size_t per_image[2];
    if (f.index && f.arrays && weights && input && info &&
        load_inputs(model, &f, fixtures, shared, info->preprocessing == DLP_PREPROCESS_CAFFE, input) &&
        run_features(model, weights, input, cpu, false, want, per_image)) {
        for (int m = 0; m < HALF_MODES; m++)
            if (listed(modes, half_modes[m].label)) check_mode(model, &half_modes[m], weights, input, want);
    }
    free(want[0]), free(want[1]);
    dlp_tensor_list_destroy(weights);
    free(input);
    free_fixture(&f);
}

int main(void)
{
    const char *fixtures = check_env("DLP_FIXTURES"), *shared = check_env("DLP_SHARED_DIR");
    const char *only = getenv("DLP_ZOO_MODELS"), *modes = getenv("DLP_ZOO_HALF_MODES");
    if (!only || !*only) only = "inception_v3,xception,resnet50,vgg16,vgg19";
    if (!modes || !*modes)
        modes = "fp16,fp16-timed-fused,bf16,bf16-timed-fused,fp16-fused-graphs,bf16-fused-graphs,fp32-timed-fused";
    check_skip_without_cuda();
    char photo[4096];
    snprintf(photo, sizeof photo, "%s/oracle/inception_v3/astronaut_299.png", shared);
    FILE *probe = fopen(photo, "rb");
    if (!probe) {
        printf("skipped: %s not found\n", photo);
        return 77;
    }
    fclose(probe);
    dlp_backend *cpu = NULL;
    CHECK_OK(dlp_backend_create_cpu(0, &cpu));
    for (int m = 0; m < ZOO_MODEL_CASES && cpu; m++)
        if (strstr(only, zoo_model_cases[m].fixture)) check_half_model(&zoo_model_cases[m], fixtures, shared, cpu, modes);
    dlp_backend_destroy(cpu);
    return check_summary("zoo_half_cuda");
}

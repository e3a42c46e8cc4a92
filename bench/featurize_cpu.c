/* featurize_cpu.c: images/s of a zoo featurizer (base + global average pool)
 * on dlp's CPU backend. Not a test: a benchmark whose output lines the script
 * bench/featurize_cpu.sh parses and sets beside PyTorch and Keras.
 *
 *   featurize_cpu --model InceptionV3 [--batch 1,16] [--threads 2]
 *                 [--warmup 2] [--runs 5] [--weights FILE] [--flops] [--profile N]
 *                 [--profile-runs R] [--dump PREFIX]
 *
 * Weights: dlp-synth-v1 (src/weights/synth.h) unless --weights names a file;
 * throughput does not depend on the values. The input is a fixed pseudo-random
 * image batch in [-1, 1). One line per batch size:
 *   dlp model=InceptionV3 batch=16 threads=2 runs=5 median_ms=... images_per_s=...
 * --flops prints the graph's multiply-add count instead:
 *   flops model=InceptionV3 gflop_per_image=...
 * --profile N then times one more batch step by step: "# profile" lines with
 * the time per op type and the N slowest steps (shapes, ms, GFLOP/s); with
 * --profile-runs R, R batches step by step, each step's best time (a shared
 * machine's noise mostly slows a step, seldom speeds it up). --dump PREFIX
 * writes the last timed batch's features (float32, batch x features) to
 * PREFIX.<model>.b<batch>.f32, to compare the floats of two builds or of an
 * ablation switch (cmp).                                                      */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "dlp/dlp.h"
#include "core/status.h"
#include "graph/graph_internal.h"
#include "graph/plan_internal.h"
#include "step_profile.h"
#include "weights/synth.h"

typedef struct options {
    const char *model, *weights, *batches;
    int threads, warmup, runs;
    int flops_only;
    int profile_top;  /* --profile N */
    int profile_runs; /* --profile-runs R, at least 1 */
    const char *dump; /* --dump PREFIX, or NULL */
} options;

static int fail(const char *what, dlp_status status)
{
    fprintf(stderr, "featurize_cpu: %s: %s: %s\n", what, dlp_status_name(status), dlp_last_error());
    return 1;
}

/* dlp-synth-v1 weights for every weight slot of the graph, in Keras order, so
 * that binding them by order lands each on the node it was made for. */
static dlp_status synth_weights(dlp_graph *graph, dlp_tensor_list **list)
{
    enum { MAX_LAYERS = 1024 };
    static int order[MAX_LAYERS];
    int count = 0;
    DLP_TRY(dlp_graph_keras_weight_order(graph, order, MAX_LAYERS, &count));
    if (count > MAX_LAYERS) return dlp_fail(DLP_ERR_INTERNAL, "more than %d weight layers", MAX_LAYERS);
    dlp_synth_spec *specs = calloc((size_t)count * GRAPH_MAX_SLOTS + 1, sizeof *specs);
    if (!specs) return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "synth specs");
    size_t used = 0;
    for (int k = 0; k < count; k++) {
        const graph_node *node = &graph->nodes[order[k]];
        for (int s = 0; s < node->weight_count; s++) {
            dlp_synth_spec *spec = &specs[used++];
            spec->layer_index = k;
            spec->layer_name = node->name;
            spec->slot = node->weights[s].slot;
            spec->ndim = node->weights[s].ndim;
            memcpy(spec->shape, node->weights[s].shape, sizeof node->weights[s].shape);
        }
    }
    dlp_status status = dlp_synth_tensor_list(specs, used, list);
    free(specs);
    return status;
}

/* Floating-point operations per image, a multiply-add counted as two, of the
 * convolutions and dense layers (batch norm is folded into the convolutions;
 * pooling, activations and concatenation are under 1% and left out). */
static double graph_flops_per_image(const dlp_graph *graph)
{
    double flops = 0;
    for (int i = 0; i < graph->count; i++) {
        const graph_node *node = &graph->nodes[i];
        double outputs = (double)node->shape.h * node->shape.w * node->shape.c;
        if (node->op == DLP_OP_CONV2D || node->op == DLP_OP_DEPTHWISE_CONV2D) {
            const graph_node *input = &graph->nodes[node->inputs[0]];
            double taps = (double)node->params.conv.kernel_h * node->params.conv.kernel_w;
            double per_output = node->op == DLP_OP_CONV2D ? taps * input->shape.c : taps;
            flops += 2.0 * outputs * per_output;
        } else if (node->op == DLP_OP_SEPARABLE_CONV2D) {
            /* depthwise over cin x mult channels at the output size, then the 1x1 pointwise to cout. */
            const graph_node *input = &graph->nodes[node->inputs[0]];
            double pixels = (double)node->shape.h * node->shape.w;
            double middle = (double)input->shape.c * node->weights[0].shape[3];
            double taps = (double)node->params.conv.kernel_h * node->params.conv.kernel_w;
            flops += 2.0 * pixels * middle * (taps + node->shape.c);
        } else if (node->op == DLP_OP_DENSE) {
            flops += 2.0 * outputs * graph->nodes[node->inputs[0]].shape.c;
        }
    }
    return flops;
}

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static bool is_conv(const plan_step *step)
{
    return step->op == DLP_OP_CONV2D || step->op == DLP_OP_DEPTHWISE_CONV2D;
}

/* Multiply-adds x 2 of one image of a convolution step (0 for other ops); a
 * depthwise conv's output channel reads one input channel. */
static double step_flops(const plan_step *step)
{
    if (!is_conv(step)) return 0;
    const dlp_conv2d_params *p = &step->params.conv;
    dlp_shape os = step->output_shape;
    double per_output = step->op == DLP_OP_CONV2D ? step->input_shapes[0].c : 1;
    return 2.0 * os.h * os.w * os.c * p->kernel_h * p->kernel_w * per_output;
}

/* One batch step by step (its input uploaded by the runs before): the time
 * per op type and the slowest steps. */
static void profile_steps(const options *o, const dlp_model_info *info, dlp_plan *plan, int batch)
{
    step_time *times = calloc((size_t)plan->step_count, sizeof *times);
    double total = 0;
    if (!times) return;
    for (int run = 0; run < o->profile_runs; run++)
        for (int s = 0; s < plan->step_count; s++) {
            double start = now_ms();
            if (plan->backend->run_step(plan->backend, plan, &plan->steps[s], batch) != DLP_OK) {
                printf("# profile model=%s error=\"%s\"\n", info->name, dlp_last_error());
                free(times);
                return;
            }
            double ms = now_ms() - start;
            if (run == 0 || ms < times[s].ms) times[s] = (step_time){s, ms};
        }
    for (int s = 0; s < plan->step_count; s++) total += times[s].ms;
    printf("# profile model=%s batch=%d threads=%d: %.2f ms in %d steps (each step's best of %d)\n", info->name,
           batch, o->threads, total, plan->step_count, o->profile_runs);
    print_op_times(plan, times);
    for (int k = 0; k < o->profile_top && k < plan->step_count; k++) {
        const plan_step *step = &plan->steps[times[k].step];
        double gflops = step_flops(step) * batch / (times[k].ms * 1e6);
        printf("# profile   %-24s %-10s %3dx%3dx%4d -> %3dx%3dx%4d kernel %dx%d %8.2f ms %6.1f GFLOP/s\n",
               step->name, dlp_op_name(step->op), step->input_shapes[0].h, step->input_shapes[0].w,
               step->input_shapes[0].c, step->output_shape.h, step->output_shape.w, step->output_shape.c,
               is_conv(step) ? step->params.conv.kernel_h : 0, is_conv(step) ? step->params.conv.kernel_w : 0,
               times[k].ms, gflops);
    }
    fflush(stdout);
    free(times);
}

/* --dump: the plan's features for the batch it last ran. */
static dlp_status dump_features(const options *o, const dlp_model_info *info, const dlp_plan *plan, int batch)
{
    size_t floats = (size_t)batch * dlp_shape_elements(dlp_plan_output_shape(plan, 0));
    float *features = malloc(floats * sizeof(float));
    if (!features) return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "features");
    dlp_status status = dlp_plan_read_output(plan, 0, features, floats);
    char path[4096];
    snprintf(path, sizeof path, "%s.%s.b%d.f32", o->dump, info->name, batch);
    FILE *file = status ? NULL : fopen(path, "wb");
    if (!status && (!file || fwrite(features, sizeof(float), floats, file) != floats))
        status = dlp_fail(DLP_ERR_IO, "cannot write %s", path);
    if (file && fclose(file) != 0 && !status) status = dlp_fail(DLP_ERR_IO, "cannot write %s", path);
    free(features);
    return status;
}

static int bench_batch(const options *o, const dlp_graph *graph, dlp_backend *cpu, const dlp_model_info *info,
                       int batch)
{
    dlp_plan *plan = NULL;
    const char *outputs[1] = {"features"};
    dlp_status status = dlp_plan_create(graph, cpu, batch, outputs, 1, &plan);
    if (status) return fail("plan", status);
    size_t per_image = (size_t)info->input_h * info->input_w * 3;
    float *input = malloc(per_image * batch * sizeof(float));
    double *times = calloc((size_t)o->runs, sizeof(double));
    if (!input || !times) {
        free(input), free(times), dlp_plan_destroy(plan);
        return fail("input", DLP_ERR_OUT_OF_MEMORY);
    }
    unsigned int state = 12345;
    for (size_t i = 0; i < per_image * batch; i++) {
        state = state * 1103515245u + 12345u;
        input[i] = (float)(state >> 8) / (float)(1u << 23) - 1.0f;
    }
    for (int r = 0; r < o->warmup + o->runs && !status; r++) {
        double start = now_ms();
        status = dlp_plan_run(plan, input, batch);
        if (r >= o->warmup) times[r - o->warmup] = now_ms() - start;
    }
    if (!status) {
        qsort(times, (size_t)o->runs, sizeof *times, compare_doubles);
        double median = o->runs % 2 ? times[o->runs / 2] : (times[o->runs / 2 - 1] + times[o->runs / 2]) / 2;
        printf("dlp model=%s batch=%d threads=%d runs=%d median_ms=%.2f best_ms=%.2f images_per_s=%.3f\n",
               info->name, batch, o->threads, o->runs, median, times[0], batch * 1000.0 / median);
        fflush(stdout);
        if (o->dump) status = dump_features(o, info, plan, batch);
        if (!status && o->profile_top > 0) profile_steps(o, info, plan, batch);
    }
    free(input), free(times);
    dlp_plan_destroy(plan);
    return status ? fail("run", status) : 0;
}

static int usage(void)
{
    fprintf(stderr, "usage: featurize_cpu [--model NAME] [--batch 1,16] [--threads N] [--warmup N] [--runs N]"
                    " [--weights FILE] [--flops] [--profile N] [--profile-runs R] [--dump PREFIX]\n");
    return 2;
}

static int parse_options(int argc, char **argv, options *o)
{
    *o = (options){"InceptionV3", NULL, "1,16", 2, 2, 5, 0, 0, 1, NULL};
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--flops")) {
            o->flops_only = 1;
            continue;
        }
        const char *value = i + 1 < argc ? argv[++i] : NULL;
        if (!value) return usage();
        if (!strcmp(argv[i - 1], "--model")) o->model = value;
        else if (!strcmp(argv[i - 1], "--weights")) o->weights = value;
        else if (!strcmp(argv[i - 1], "--batch")) o->batches = value;
        else if (!strcmp(argv[i - 1], "--threads")) o->threads = atoi(value);
        else if (!strcmp(argv[i - 1], "--warmup")) o->warmup = atoi(value);
        else if (!strcmp(argv[i - 1], "--runs")) o->runs = atoi(value);
        else if (!strcmp(argv[i - 1], "--profile")) o->profile_top = atoi(value);
        else if (!strcmp(argv[i - 1], "--profile-runs")) o->profile_runs = atoi(value);
        else if (!strcmp(argv[i - 1], "--dump")) o->dump = value;
        else return usage();
    }
    return o->runs < 1 || o->threads < 1 || o->warmup < 0 || o->profile_runs < 1 ? usage() : 0;
}

/* As the dlp CLI: OpenBLAS reads OPENBLAS_CORETYPE only when it loads, so
 * when it fell back to generic kernels on this CPU, run again with it set. */
static void reexec_with_blas_coretype(char **argv)
{
    const char *core = dlp_cpu_blas_coretype_hint();
    if (!core || setenv("OPENBLAS_CORETYPE", core, 1) != 0) return;
    execv("/proc/self/exe", argv);
    unsetenv("OPENBLAS_CORETYPE");
}

int main(int argc, char **argv)
{
    reexec_with_blas_coretype(argv);
    options o;
    int rc = parse_options(argc, argv, &o);
    if (rc) return rc;
    const dlp_model_info *info = dlp_zoo_find(o.model);
    if (!info) return fprintf(stderr, "featurize_cpu: unknown model %s\n", o.model), 2;
    dlp_model_options model_options = {DLP_TOP_NONE, DLP_POOLING_AVG};
    dlp_tensor_list *weights = NULL;
    dlp_graph *graph = NULL;
    dlp_status status = dlp_zoo_build(info->name, NULL, &model_options, &graph);
    if (status) return fail("build", status);
    if (o.flops_only) {
        printf("flops model=%s gflop_per_image=%.4f\n", info->name, graph_flops_per_image(graph) / 1e9);
        dlp_graph_destroy(graph);
        return 0;
    }
    status = o.weights ? dlp_weights_load_any(o.weights, &weights) : synth_weights(graph, &weights);
    dlp_graph_destroy(graph);
    graph = NULL;
    if (status) return fail("weights", status);
    status = dlp_zoo_build(info->name, weights, &model_options, &graph);
    dlp_tensor_list_destroy(weights);
    if (status) return fail("bind", status);
    dlp_backend *cpu = NULL;
    status = dlp_backend_create_cpu(o.threads, &cpu);
    if (status) return dlp_graph_destroy(graph), fail("backend", status);
    char *batches = strdup(o.batches);
    for (char *token = strtok(batches, ","); token && !rc; token = strtok(NULL, ","))
        rc = bench_batch(&o, graph, cpu, info, atoi(token));
    free(batches);
    dlp_backend_destroy(cpu);
    dlp_graph_destroy(graph);
    /* The process's peak resident set: weights, packed kernels, the largest batch's arena, the libraries. */
    struct rusage usage;
    if (!rc && getrusage(RUSAGE_SELF, &usage) == 0)
        printf("memory tool=dlp model=%s batches=%s peak_rss_mib=%.1f\n", info->name, o.batches,
               (double)usage.ru_maxrss / 1024.0);
    return rc;
}

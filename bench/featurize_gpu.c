/* featurize_gpu: compute-only featurizer throughput on the CUDA backend. For
 * each zoo model (synthetic dlp-synth-v1 weights, pooling avg), precision and
 * batch size: the input is uploaded once, then the plan's steps run back to
 * back on the device (no host transfers), synchronised at the end.
 * One line per config:
 *   model=InceptionV3 precision=fp32 batch=32 images_per_s=1234.5 ms_per_batch=25.93 iterations=40 search=heuristic fuse=off
 * Usage: featurize_gpu [--models A,B] [--batches 1,32,256] [--precisions fp32,tf32,fp16,bf16]
 *                      [--search heuristic,timed] [--fuse off,on] [--graphs off,on] [--seconds S]
 *                      [--profile N] [--pad-fold on,off] [--channel-pad on,off] [--workspace-mib M]
 *                      [--concat-slices off,on]
 * --search: cuDNN's heuristic ranking or every algorithm timed once per shape;
 * --fuse: conv+bias+relu/identity as one cuDNN call (1x1 convolutions via
 * cuDNN too) or not; --graphs: the steady-state run replayed from a CUDA
 * graph or launched kernel by kernel; each a list, every combination is run
 * (graphs=on is added to the line only when on). --profile N: after each
 * config, one more batch step by step, synchronised after each, then the N
 * slowest steps and the time per op kind (lines starting "# profile"; the
 * synchronisation adds a few microseconds per step, and absorbed steps of a
 * fused residual show ~0). --pad-fold off: every ZeroPadding2D runs as its
 * own step (keep_zero_pad_steps); --channel-pad off: half convolutions on 3
 * channels run unpadded (keep_conv_channels); both on by default, and each
 * named on the line only when off (an ablation). --workspace-mib: the cuDNN
 * workspace cap (default the backend's: 256 MiB, full fp32 a quarter of free
 * memory; named on the line when set):
 * whether bigger algorithms pay at large batches. --concat-slices on: the
 * producers of each concatenation's inputs write into its output
 * (dlp_cuda_options.concat_slices; off by default, named on the line when on). */
#include <cuda_runtime.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dlp/device.h"
#include "dlp/dlp.h"
#include "graph/graph_internal.h"
#include "graph/plan_internal.h"
#include "step_profile.h"
#include "weights/synth.h"

static double now_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

/* Fills every weight with dlp-synth-v1 values by Keras layer order. */
static dlp_status synth_weights(dlp_graph *graph)
{
    int count = 0, capacity = dlp_graph_node_count(graph);
    int *order = malloc(sizeof(int) * (size_t)(capacity + 1));
    if (!order) return DLP_ERR_OUT_OF_MEMORY;
    dlp_status status = dlp_graph_keras_weight_order(graph, order, capacity, &count);
    for (int k = 0; status == DLP_OK && k < count; k++) {
        graph_node *node = &graph->nodes[order[k]];
        for (int s = 0; status == DLP_OK && s < node->weight_count; s++) {
            graph_weight *w = &node->weights[s];
            status = dlp_synth_fill(k, w->slot, w->shape, w->ndim, w->data);
        }
    }
    free(order);
    return status;
}

static int in_list(const char *list, const char *name)
{
    if (!list) return 1;
    size_t length = strlen(name);
    for (const char *p = list; *p;) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n == length && strncasecmp(p, name, n) == 0) return 1;
        if (!end) break;
        p = end + 1;
    }
    return 0;
}

static int run_steps(dlp_plan *plan, int n)
{
    for (int s = 0; s < plan->step_count; s++)
        if (plan->backend->run_step(plan->backend, plan, &plan->steps[s], n) != DLP_OK) return 0;
    return 1;
}

typedef struct config {
    const char *precision, *search, *fuse, *graphs, *pad_fold, *channel_pad, *concat_slices;
    int batch;
} config;

/* " pad_fold=off channel_pad=off concat_slices=on", the switches away from their defaults. */
static const char *switches_off(const config *c)
{
    static char text[80];
    snprintf(text, sizeof text, "%s%s%s", strcmp(c->pad_fold, "off") == 0 ? " pad_fold=off" : "",
             strcmp(c->channel_pad, "off") == 0 ? " channel_pad=off" : "",
             strcmp(c->concat_slices, "on") == 0 ? " concat_slices=on" : "");
    return text;
}

static int profile_top = 0;
static int workspace_mib = 0; /* --workspace-mib; 0: the backend default */

/* One batch step by step with a device synchronisation after each. */
static void profile_steps(const dlp_model_info *info, const config *c, dlp_plan *plan)
{
    step_time *times = calloc((size_t)plan->step_count, sizeof *times);
    double total = 0;
    if (!times || cudaDeviceSynchronize() != cudaSuccess) {
        free(times);
        return;
    }
    for (int s = 0; s < plan->step_count; s++) {
        double start = now_seconds();
        if (plan->backend->run_step(plan->backend, plan, &plan->steps[s], c->batch) != DLP_OK ||
            cudaDeviceSynchronize() != cudaSuccess) {
            printf("# profile model=%s error=\"%s\"\n", info->name, dlp_last_error());
            free(times);
            return;
        }
        times[s] = (step_time){s, (now_seconds() - start) * 1e3};
        total += times[s].ms;
    }
    printf("# profile model=%s precision=%s batch=%d search=%s fuse=%s%s: %.3f ms in %d steps\n", info->name,
           c->precision, c->batch, c->search, c->fuse, switches_off(c), total, plan->step_count);
    print_op_times(plan, times);
    for (int k = 0; k < profile_top && k < plan->step_count; k++) {
        const plan_step *step = &plan->steps[times[k].step];
        char note[160] = "";
        if (plan->backend->describe_step) plan->backend->describe_step(plan->backend, plan, step, note, sizeof note);
        printf("# profile   %-28s %-16s %3dx%3dx%4d -> %3dx%3dx%4d %8.3f ms %s\n", step->name, dlp_op_name(step->op),
               step->input_shapes[0].h, step->input_shapes[0].w, step->input_shapes[0].c, step->output_shape.h,
               step->output_shape.w, step->output_shape.c, times[k].ms, note);
    }
    fflush(stdout);
    free(times);
}

static int bench_config(const dlp_model_info *info, dlp_graph *graph, const config *c, double seconds)
{
    const char *precision = c->precision;
    int batch = c->batch;
    dlp_cuda_options options = {DLP_CUDA_FP32, false, 0, DLP_CUDA_SEARCH_HEURISTIC, false, false, false, false, false};
    if (dlp_cuda_precision_from_name(precision, &options.precision, &options.allow_tf32) != DLP_OK) {
        printf("model=%s precision=%s batch=%d error=\"%s\"\n", info->name, precision, batch, dlp_last_error());
        return 0;
    }
    options.search = strcmp(c->search, "timed") == 0 ? DLP_CUDA_SEARCH_TIMED : DLP_CUDA_SEARCH_HEURISTIC;
    options.fuse_bias_activation = strcmp(c->fuse, "on") == 0;
    options.cuda_graphs = strcmp(c->graphs, "on") == 0;
    options.keep_zero_pad_steps = strcmp(c->pad_fold, "off") == 0;
    options.keep_conv_channels = strcmp(c->channel_pad, "off") == 0;
    options.concat_slices = strcmp(c->concat_slices, "on") == 0;
    options.workspace_cap_bytes = (size_t)workspace_mib << 20;
    dlp_backend *backend = NULL;
    dlp_plan *plan = NULL;
    const char *outputs[1] = {"features"};
    /* Device memory this configuration takes: free memory before the backend exists minus after the timed runs
     * (weights, arena, workspace, cuDNN/cuBLAS handles, graphs, and kernel modules loaded lazily on first use). */
    size_t free_before = 0, free_after = 0, device_total = 0;
    cudaMemGetInfo(&free_before, &device_total);
    if (dlp_backend_create_cuda(0, &options, &backend) != DLP_OK ||
        dlp_plan_create(graph, backend, batch, outputs, 1, &plan) != DLP_OK) {
        printf("model=%s precision=%s batch=%d error=\"%s\"\n", info->name, precision, batch, dlp_last_error());
        dlp_backend_destroy(backend);
        return 0;
    }
    size_t floats = (size_t)batch * dlp_shape_elements(plan->input_shape);
    float *input = malloc(floats * sizeof(float));
    for (size_t i = 0; i < floats; i++) input[i] = (float)((i * 2654435761u) % 2001) / 1000.0f - 1.0f;
    int ok = dlp_plan_run(plan, input, batch) == DLP_OK; /* upload + first run: algorithm choice */
    for (int w = 0; ok && w < 3; w++) ok = run_steps(plan, batch);
    ok = ok && cudaDeviceSynchronize() == cudaSuccess;
    int iterations = 0;
    double start = now_seconds(), elapsed = 0;
    while (ok && (elapsed < seconds || iterations < 3)) {
        ok = run_steps(plan, batch);
        iterations++;
        if (iterations % 4 == 0 || elapsed + 0.5 > seconds) ok = ok && cudaDeviceSynchronize() == cudaSuccess;
        elapsed = now_seconds() - start;
    }
    ok = ok && cudaDeviceSynchronize() == cudaSuccess;
    elapsed = now_seconds() - start;
    if (ok && cudaMemGetInfo(&free_after, &device_total) != cudaSuccess) free_after = free_before;
    if (ok)
        printf("model=%s precision=%s batch=%d images_per_s=%.1f ms_per_batch=%.3f iterations=%d search=%s fuse=%s%s%s",
               info->name, precision, batch, iterations * (double)batch / elapsed, elapsed * 1e3 / iterations,
               iterations, c->search, c->fuse, options.cuda_graphs ? " graphs=on" : "", switches_off(c));
    if (ok) printf(" device_mib=%.0f", free_before > free_after ? (double)(free_before - free_after) / 1048576.0 : 0.0);
    if (ok && workspace_mib) printf(" workspace_mib=%d", workspace_mib);
    /* concat_slices: convs cuDNN would not write into their slices (written packed, then copied). */
    if (ok && options.concat_slices) printf(" slices_copied=%d", plan->slices_copied);
    if (ok && options.fuse_bias_activation) printf(" fusions_refused=%d", plan->fusions_refused);
    if (ok && options.cuda_graphs)
        printf(" graph_replays=%d graphs_abandoned=%d%s%s%s", plan->graph_replays, plan->graphs_abandoned,
               plan->graphs_abandoned ? " graph_failure=\"" : "", plan->graph_failure,
               plan->graphs_abandoned ? "\"" : "");
    if (ok) printf("\n");
    else
        printf("model=%s precision=%s batch=%d error=\"%s\"\n", info->name, precision, batch, dlp_last_error());
    fflush(stdout);
    if (ok && profile_top > 0 && !options.cuda_graphs) profile_steps(info, c, plan);
    free(input);
    dlp_plan_destroy(plan);
    dlp_backend_destroy(backend);
    return ok;
}

int main(int argc, char **argv)
{
    const char *models = NULL, *batches = "1,32,256", *precisions = "fp32,tf32", *searches = "heuristic";
    const char *fuses = "off", *graph_modes = "off", *pad_folds = "on", *channel_pads = "on", *slicings = "off";
    double seconds = 2.0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--models") == 0) models = argv[i + 1];
        else if (strcmp(argv[i], "--batches") == 0) batches = argv[i + 1];
        else if (strcmp(argv[i], "--precisions") == 0) precisions = argv[i + 1];
        else if (strcmp(argv[i], "--seconds") == 0) seconds = atof(argv[i + 1]);
        else if (strcmp(argv[i], "--search") == 0) searches = argv[i + 1];
        else if (strcmp(argv[i], "--fuse") == 0) fuses = argv[i + 1];
        else if (strcmp(argv[i], "--graphs") == 0) graph_modes = argv[i + 1];
        else if (strcmp(argv[i], "--profile") == 0) profile_top = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--pad-fold") == 0) pad_folds = argv[i + 1];
        else if (strcmp(argv[i], "--channel-pad") == 0) channel_pads = argv[i + 1];
        else if (strcmp(argv[i], "--workspace-mib") == 0) workspace_mib = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--concat-slices") == 0) slicings = argv[i + 1];
        else {
            fprintf(stderr, "featurize_gpu: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    int devices = 0;
    if (dlp_device_count(&devices) != DLP_OK) {
        printf("skipped: %s\n", dlp_last_error());
        return 77;
    }
    dlp_device_info device;
    if (dlp_device_get_info(0, &device) == DLP_OK) printf("# device: %s\n", device.name);
    int failures = 0;
    for (int m = 0; m < dlp_zoo_count(); m++) {
        const dlp_model_info *info = dlp_zoo_at(m);
        if (!in_list(models, info->name)) continue;
        dlp_model_options options = {DLP_TOP_NONE, DLP_POOLING_AVG};
        dlp_graph *graph = NULL;
        if (dlp_zoo_build(info->name, NULL, &options, &graph) != DLP_OK || synth_weights(graph) != DLP_OK) {
            printf("model=%s error=\"%s\"\n", info->name, dlp_last_error());
            dlp_graph_destroy(graph);
            failures++;
            continue;
        }
        const char *precision_names[4] = {"fp32", "tf32", "fp16", "bf16"};
        const char *search_names[2] = {"heuristic", "timed"}, *fuse_names[2] = {"off", "on"};
        for (int p = 0; p < 4; p++)
        for (int s = 0; s < 2; s++)
        for (int f = 0; f < 2; f++)
        for (int g = 0; g < 2; g++)
        for (int z = 0; z < 2; z++)
        for (int k = 0; k < 2; k++)
        for (int x = 0; x < 2; x++) {
            if (!in_list(precisions, precision_names[p]) || !in_list(searches, search_names[s]) ||
                !in_list(fuses, fuse_names[f]) || !in_list(graph_modes, fuse_names[g]) ||
                !in_list(pad_folds, fuse_names[z]) || !in_list(channel_pads, fuse_names[k]) ||
                !in_list(slicings, fuse_names[x]))
                continue;
            for (const char *b = batches; b && *b;) {
                config c = {precision_names[p], search_names[s], fuse_names[f], fuse_names[g], fuse_names[z],
                            fuse_names[k], fuse_names[x], atoi(b)};
                if (c.batch > 0 && !bench_config(info, graph, &c, seconds)) failures++;
                b = strchr(b, ',');
                if (b) b++;
            }
        }
        dlp_graph_destroy(graph);
    }
    return failures ? 1 : 0;
}

/* backend_cpu.c: the CPU backend: one host arena per plan, weights kept in
 * Keras layout (an HWIO kernel already is the im2col GEMM's [K, cout]), and
 * each GEMM conv's kernel packed once more for gemm_packed.c where the CPU
 * runs it (a second copy of those weights), ops from ops.c. Threads are
 * applied to OpenBLAS and OpenMP at each run.
 * ResNet's block endings (conv -> add -> relu) run as one conv whose tiles
 * add the shortcut and apply the relu while in cache: the add and the relu
 * were 15% of ResNet50's time at batch 16, each a pass over memory.
 * Xception's (conv -> add, no relu) add the shortcut the same way. */
#include <cblas.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cpu/gemm_packed.h"
#include "backend/cpu/ops.h"
#include "backend/cpu/ops_extra.h"
#include "core/env.h"
#include "core/status.h"
#include "graph/device_layout.h"
#include "graph/plan_internal.h"

typedef struct cpu_context {
    int threads;
    bool fuse_residuals; /* DLP_CPU_RESIDUAL_FUSION, on unless "0" */
} cpu_context;

/* A conv that ends a residual block (device_residual_match, written
 * directly): it writes the add's output, adding the shortcut, or with
 * residual_relu the relu's after it; the add and that relu are skipped. */
typedef struct cpu_step {
    bool skip, residual_relu;
    int shortcut_value, residual_output; /* -1: not a residual conv */
    float *packed_kernel;                /* NULL: OpenBLAS' sgemm, or a direct conv */
} cpu_step;

typedef struct cpu_plan_state {
    float *arena;
    float *workspace;
    cpu_step *steps;
} cpu_plan_state;

static void find_residuals(dlp_plan *plan, cpu_step *steps)
{
    for (int s = 0; s + 1 < plan->step_count; s++) {
        int shortcut = -1, output = -1;
        bool direct = false, relu = false;
        if (steps[s].skip || !device_residual_match(plan, s, &shortcut, &output, &direct, &relu) || !direct) continue;
        steps[s].shortcut_value = shortcut, steps[s].residual_output = output, steps[s].residual_relu = relu;
        steps[s + 1].skip = true;
        if (relu) steps[s + 2].skip = true;
        plan->residuals_fused++;
    }
}

static size_t workspace_floats(const dlp_plan *plan, const cpu_step *steps, int threads)
{
    size_t workspace = 0;
    for (int s = 0; s < plan->step_count; s++) {
        const plan_step *step = &plan->steps[s];
        if (step->op != DLP_OP_CONV2D) continue;
        size_t need = cpu_conv2d_workspace_floats(&step->params.conv, step->input_shapes[0],
                                                  steps[s].shortcut_value >= 0, threads);
        if (need > workspace) workspace = need;
    }
    return workspace;
}

static void free_state(cpu_plan_state *state, int step_count)
{
    if (state->steps)
        for (int s = 0; s < step_count; s++) free(state->steps[s].packed_kernel);
    free(state->arena), free(state->workspace), free(state->steps), free(state);
}

/* Each conv that runs as a GEMM gets its kernel packed (gemm_packed.h). */
static dlp_status pack_kernels(const dlp_plan *plan, cpu_step *steps)
{
    if (!cpu_gemm_packed_enabled()) return DLP_OK;
    for (int s = 0; s < plan->step_count; s++) {
        const plan_step *step = &plan->steps[s];
        if (step->op != DLP_OP_CONV2D || steps[s].skip ||
            !cpu_conv2d_uses_gemm(&step->params.conv, step->input_shapes[0], step->output_shape,
                                  steps[s].shortcut_value >= 0))
            continue;
        int k = step->params.conv.kernel_h * step->params.conv.kernel_w * step->input_shapes[0].c;
        int n = step->params.conv.filters;
        size_t bytes = cpu_gemm_packed_floats(k, n) * sizeof(float);
        steps[s].packed_kernel = aligned_alloc(64, (bytes + 63) / 64 * 64);
        if (!steps[s].packed_kernel)
            return dlp_fail(DLP_ERR_OUT_OF_MEMORY,
                            "cpu backend: cannot allocate %zu bytes for layer \"%s\"'s packed kernel", bytes,
                            step->name);
        cpu_gemm_pack_b(step->weights[0], k, n, steps[s].packed_kernel);
    }
    return DLP_OK;
}

static dlp_status cpu_prepare(dlp_backend *backend, dlp_plan *plan)
{
    const cpu_context *context = backend->context;
    cpu_plan_state *state = calloc(1, sizeof *state);
    if (state) state->steps = calloc((size_t)plan->step_count + 1, sizeof *state->steps);
    if (!state || !state->steps) {
        free(state);
        return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "cpu backend: out of memory");
    }
    for (int s = 0; s < plan->step_count; s++) state->steps[s] = (cpu_step){false, false, -1, -1, NULL};
    if (context->fuse_residuals) find_residuals(plan, state->steps);
    dlp_status packed = pack_kernels(plan, state->steps);
    if (packed != DLP_OK) {
        free_state(state, plan->step_count);
        return packed;
    }
    size_t workspace = workspace_floats(plan, state->steps, context->threads);
    state->arena = aligned_alloc(64, (plan->arena_floats * sizeof(float) + 63) / 64 * 64 + 64);
    state->workspace = workspace ? aligned_alloc(64, (workspace * sizeof(float) + 63) / 64 * 64) : NULL;
    if (!state->arena || (workspace && !state->workspace)) {
        free_state(state, plan->step_count);
        return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "cpu backend: cannot allocate %zu bytes of activations",
                        plan->arena_floats * sizeof(float));
    }
    plan->backend_state = state;
    return DLP_OK;
}

static float *value_data(const dlp_plan *plan, int value)
{
    const cpu_plan_state *state = plan->backend_state;
    return state->arena + plan->values[value].offset_floats;
}

static dlp_status cpu_upload_input(dlp_backend *backend, dlp_plan *plan, const float *input, int n)
{
    cpu_context *context = backend->context;
    openblas_set_num_threads(context->threads);
    memcpy(value_data(plan, plan->input_value), input, (size_t)n * dlp_shape_elements(plan->input_shape) * sizeof(float));
    return DLP_OK;
}

static dlp_status cpu_run_step(dlp_backend *backend, dlp_plan *plan, const plan_step *step, int n)
{
    cpu_context *context = backend->context;
    cpu_plan_state *state = plan->backend_state;
    int threads = context->threads;
    const cpu_step *own = &state->steps[step - plan->steps];
    if (own->skip) return DLP_OK; /* an add (and relu) its conv did (find_residuals) */
    const float *in = value_data(plan, step->inputs[0]);
    float *out = value_data(plan, step->output);
    dlp_shape is = step->input_shapes[0], os = step->output_shape;
    size_t pixels = (size_t)n * os.h * os.w;
    size_t out_stride = plan_pixel_stride(plan, step->output, os.c); /* wider: a slice (cpu_writes_strided) */
    switch (step->op) {
    case DLP_OP_CONV2D: {
        const float *shortcut = NULL;
        dlp_conv2d_params params = step->params.conv;
        if (own->shortcut_value >= 0) {
            shortcut = value_data(plan, own->shortcut_value);
            out = value_data(plan, own->residual_output);
            out_stride = 0; /* device_residual_match takes no slices */
            if (own->residual_relu) params.activation = DLP_ACT_RELU;
        }
        cpu_conv2d(&params, in, n, is, step->weights[0], own->packed_kernel, step->weights[1], shortcut, out, os,
                   out_stride, state->workspace, threads);
        return DLP_OK;
    }
    case DLP_OP_DEPTHWISE_CONV2D:
        cpu_depthwise_conv2d(&step->params.conv, in, step->input_relu, n, is, step->weights[0], step->weights[1], out,
                             os, threads);
        return DLP_OK;
    case DLP_OP_DENSE:
        cpu_dense(&step->params.dense, in, pixels, is.c, step->weights[0], step->weights[1], out);
        return DLP_OK;
    case DLP_OP_BATCHNORM:
        cpu_channel_affine(in, pixels, os.c, step->weights[0], step->weights[1], out, threads);
        return DLP_OK;
    case DLP_OP_ACTIVATION:
        if (out != in) memcpy(out, in, pixels * os.c * sizeof(float));
        if (cpu_activation_is_extra(step->params.activation))
            cpu_activation_extra(step->params.activation, out, pixels * os.c, threads);
        else
            cpu_activation(step->params.activation, out, pixels, os.c, threads);
        return DLP_OK;
    case DLP_OP_MAX_POOL:
    case DLP_OP_AVG_POOL:
        cpu_pool(step->op, &step->params.pool, in, n, is, out, os, out_stride, threads);
        return DLP_OK;
    case DLP_OP_GLOBAL_AVG_POOL:
    case DLP_OP_GLOBAL_MAX_POOL: cpu_global_pool(step->op, in, n, is, out); return DLP_OK;
    case DLP_OP_ZERO_PAD: cpu_zero_pad(&step->params.pad, in, n, is, out, os, threads); return DLP_OK;
    case DLP_OP_CONCAT:
    case DLP_OP_ADD: {
        const float *inputs[64];
        int channels[64];
        if (step->input_count > 64)
            return dlp_fail(DLP_ERR_UNSUPPORTED, "%s of %d inputs (at most 64)", dlp_op_name(step->op),
                            step->input_count);
        for (int i = 0; i < step->input_count; i++) {
            bool in_place = step->op == DLP_OP_CONCAT && plan_concat_input_in_place(plan, step, i);
            inputs[i] = in_place ? NULL : value_data(plan, step->inputs[i]);
            channels[i] = step->input_shapes[i].c;
        }
        if (step->op == DLP_OP_CONCAT)
            cpu_concat(inputs, channels, step->input_count, pixels, out, out_stride, threads);
        else
            cpu_add(inputs, step->input_count, pixels * os.c, out, threads);
        return DLP_OK;
    }
    default:
        if (cpu_is_extra_op(step->op)) {
            const float *inputs[64];
            if (step->input_count > 64)
                return dlp_fail(DLP_ERR_UNSUPPORTED, "%s of %d inputs (at most 64)", dlp_op_name(step->op),
                                step->input_count);
            for (int i = 0; i < step->input_count; i++) inputs[i] = value_data(plan, step->inputs[i]);
            return cpu_run_extra_step(step, inputs, out, n, threads);
        }
        return dlp_fail(DLP_ERR_INTERNAL, "cpu backend: op %s has no step", dlp_op_name(step->op));
    }
}

/* dlp_backend.writes_strided: convolutions (but for the activations
 * applied to the whole output afterwards), poolings and concatenations. */
static bool cpu_writes_strided(const dlp_backend *backend, const plan_step *producer)
{
    (void)backend;
    switch (producer->op) {
    case DLP_OP_CONV2D: return cpu_conv2d_writes_strided(&producer->params.conv);
    case DLP_OP_MAX_POOL:
    case DLP_OP_AVG_POOL:
    case DLP_OP_CONCAT: return true;
    default: return false;
    }
}

static dlp_status cpu_download(dlp_backend *backend, const dlp_plan *plan, int value, float *dst, size_t floats)
{
    (void)backend;
    memcpy(dst, value_data(plan, value), floats * sizeof(float));
    return DLP_OK;
}

static void cpu_release(dlp_backend *backend, dlp_plan *plan)
{
    (void)backend;
    cpu_plan_state *state = plan->backend_state;
    if (!state) return;
    free_state(state, plan->step_count);
    plan->backend_state = NULL;
}

static void cpu_destroy(dlp_backend *backend)
{
    free(backend->context);
    free(backend);
}

dlp_status dlp_backend_create_cpu(int threads, dlp_backend **out)
{
    *out = NULL;
    dlp_backend *backend = calloc(1, sizeof *backend);
    cpu_context *context = calloc(1, sizeof *context);
    if (!backend || !context) {
        free(backend), free(context);
        return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "cpu backend: out of memory");
    }
    context->threads = threads > 0 ? threads : omp_get_num_procs();
    context->fuse_residuals = dlp_env_switch("DLP_CPU_RESIDUAL_FUSION", true);
    backend->name = "cpu";
    backend->context = context;
    backend->prepare = cpu_prepare;
    backend->upload_input = cpu_upload_input;
    backend->run_step = cpu_run_step;
    backend->writes_strided = cpu_writes_strided;
    backend->download = cpu_download;
    backend->release = cpu_release;
    backend->destroy = cpu_destroy;
    *out = backend;
    return DLP_OK;
}

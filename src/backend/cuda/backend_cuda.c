/* backend_cuda.c: the CUDA backend: one device arena per plan, weights
 * uploaded once at prepare, one stream per backend. Convolutions are cuDNN
 * (NHWC input, KRSC filter re-laid from Keras' HWIO at prepare); a 1x1
 * stride-1 convolution and Dense are one cuBLAS sgemm on the HWIO kernel as
 * it is (the same GEMM as the CPU backend); the rest are kernels/graph_ops.cu.
 * TensorFlow's 'same' padding with an odd total is padded explicitly into a
 * scratch buffer (cuDNN pads symmetrically only), then convolved unpadded.
 * CPU twin: src/backend/cpu/backend_cpu.c. */
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cuda/cuda_check.h"
#include "backend/cuda/graph_kernels.h"
#include "backend/cuda/ops_extra_cuda.h"
#include "backend/cuda/preprocess.h"
#include "core/status.h"
#include "dlp/device.h"
#include "graph/device_extra_layout.h"
#include "graph/device_layout.h"
#include "graph/plan_internal.h"

enum { DEFAULT_WORKSPACE_CAP = 256 << 20 };

typedef struct cuda_context {
    int device;
    dlp_cuda_options options;
    cudaStream_t stream;
    cudnnHandle_t cudnn;
    cublasHandle_t cublas;
    /* dlp_plan_stage_images: per slot the device copy of a packed batch,
     * copied on copy_stream; the compute stream waits for the slot's event. */
    dlp_cuda_image_stage images[2];
    cudaStream_t copy_stream;
    cudaEvent_t copied[2];
} cuda_context;

typedef enum conv_path { CONV_NONE = 0, CONV_GEMM, CONV_CUDNN } conv_path;

typedef struct cuda_step {
    float *weights[PLAN_MAX_WEIGHTS]; /* device copies; conv via cuDNN: [0] in KRSC */
    conv_path path;
    int pad_top, pad_bottom, pad_left, pad_right;
    bool explicit_pad;     /* asymmetric 'same': pad into the scratch buffer first */
    dlp_shape conv_input;  /* what cuDNN sees: the input, or the padded input */
    cudnnTensorDescriptor_t x_desc, y_desc;
    cudnnFilterDescriptor_t w_desc;
    cudnnConvolutionDescriptor_t conv_desc;
} cuda_step;

typedef struct cuda_plan_state {
    float *arena;
    float *scratch;          /* explicit padding, max over steps at max_batch */
    void *workspace;
    size_t workspace_bytes;
    cuda_step *steps;        /* one per plan step */
    device_conv_cache algorithms;
} cuda_plan_state;

static cuda_context *context_of(dlp_backend *backend) { return backend->context; }

static float *value_data(const dlp_plan *plan, int value)
{
    const cuda_plan_state *state = plan->backend_state;
    return state->arena + plan->values[value].offset_floats;
}

static dlp_status device_alloc(void **pointer, size_t bytes, const char *what)
{
    *pointer = NULL;
    if (bytes == 0) return DLP_OK;
    cudaError_t error = cudaMalloc(pointer, bytes);
    if (error != cudaSuccess) {
        *pointer = NULL;
        return dlp_fail(DLP_ERR_DEVICE, "cuda backend: cannot allocate %zu bytes of device memory for %s: %s", bytes,
                        what, cudaGetErrorString(error));
    }
    return DLP_OK;
}

static dlp_status upload(cuda_context *context, float **device, const float *host, size_t floats, const char *what)
{
    DLP_TRY(device_alloc((void **)device, floats * sizeof(float), what));
    if (floats) CUDA_TRY(cudaMemcpyAsync(*device, host, floats * sizeof(float), cudaMemcpyHostToDevice, context->stream));
    CUDA_TRY(cudaStreamSynchronize(context->stream));
    return DLP_OK;
}

static bool is_pointwise(const dlp_conv2d_params *p)
{
    return p->kernel_h == 1 && p->kernel_w == 1 && p->stride_h == 1 && p->stride_w == 1;
}

static int math_mode(const cuda_context *context) { return context->options.allow_tf32 ? 1 : 0; }

/* Full-fp32 algorithms only unless TF32 is allowed: FFT and Winograd trade
 * accuracy for speed, beyond what the 1e-5 agreement with the CPU allows. */
static bool algorithm_preferred(const cuda_context *context, cudnnConvolutionFwdAlgo_t algorithm)
{
    if (context->options.allow_tf32) return true;
    return algorithm == CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM ||
           algorithm == CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM ||
           algorithm == CUDNN_CONVOLUTION_FWD_ALGO_GEMM || algorithm == CUDNN_CONVOLUTION_FWD_ALGO_DIRECT;
}

static dlp_status set_conv_tensors(const cuda_step *cs, int n, dlp_shape output)
{
    CUDNN_TRY(cudnnSetTensor4dDescriptor(cs->x_desc, CUDNN_TENSOR_NHWC, CUDNN_DATA_FLOAT, n, cs->conv_input.c,
                                         cs->conv_input.h, cs->conv_input.w));
    CUDNN_TRY(cudnnSetTensor4dDescriptor(cs->y_desc, CUDNN_TENSOR_NHWC, CUDNN_DATA_FLOAT, n, output.c, output.h,
                                         output.w));
    return DLP_OK;
}

/* The algorithm for this step at batch n: cached per shape, else the first of
 * cuDNN's heuristic ranking that is supported, fits the cap and is preferred
 * (full-fp32 GEMM family unless TF32 is allowed); failing that, the first
 * supported one that fits. */
static dlp_status choose_algorithm(cuda_context *context, cuda_plan_state *state, const plan_step *step,
                                   const cuda_step *cs, int n, size_t cap, device_conv_choice *choice)
{
    const dlp_conv2d_params *p = &step->params.conv;
    int pad_h = cs->explicit_pad ? 0 : cs->pad_top, pad_w = cs->explicit_pad ? 0 : cs->pad_left;
    device_conv_key key = device_conv_key_make(n, cs->conv_input, p->filters, p->kernel_h, p->kernel_w, pad_h, pad_w,
                                               p->stride_h, p->stride_w, math_mode(context));
    if (device_conv_cache_find(&state->algorithms, &key, choice)) return DLP_OK;
    DLP_TRY(set_conv_tensors(cs, n, step->output_shape));
    cudnnConvolutionFwdAlgoPerf_t results[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    int returned = 0;
    CUDNN_TRY(cudnnGetConvolutionForwardAlgorithm_v7(context->cudnn, cs->x_desc, cs->w_desc, cs->conv_desc,
                                                     cs->y_desc, CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &returned,
                                                     results));
    for (int pass = 0; pass < 2; pass++)
    for (int i = 0; i < returned; i++) {
        if (results[i].status != CUDNN_STATUS_SUCCESS) continue;
        if (pass == 0 && !algorithm_preferred(context, results[i].algo)) continue;
        /* Without TF32 every algorithm runs in FMA math, whatever the ranking
         * suggests (cuDNN's default math may use TF32 tensor cores). */
        cudnnMathType_t math = context->options.allow_tf32 ? results[i].mathType : CUDNN_FMA_MATH;
        CUDNN_TRY(cudnnSetConvolutionMathType(cs->conv_desc, math));
        size_t bytes = 0;
        if (cudnnGetConvolutionForwardWorkspaceSize(context->cudnn, cs->x_desc, cs->w_desc, cs->conv_desc, cs->y_desc,
                                                    results[i].algo, &bytes) != CUDNN_STATUS_SUCCESS)
            continue;
        if (bytes > cap) continue;
        choice->algorithm = (int)results[i].algo;
        choice->math_type = (int)math;
        choice->workspace_bytes = bytes;
        return device_conv_cache_put(&state->algorithms, &key, choice);
    }
    return dlp_fail(DLP_ERR_DEVICE,
                    "cuda backend: conv \"%s\" (batch %d, %dx%dx%d, kernel %dx%d, stride %dx%d, %d filters): cuDNN "
                    "offers no %salgorithm within %zu bytes of workspace (%d candidates)",
                    step->name, n, cs->conv_input.h, cs->conv_input.w, cs->conv_input.c, p->kernel_h, p->kernel_w,
                    p->stride_h, p->stride_w, p->filters, context->options.allow_tf32 ? "" : "FMA-math ", cap,
                    returned);
}

static dlp_status prepare_cudnn_conv(cuda_context *context, const plan_step *step, cuda_step *cs)
{
    const dlp_conv2d_params *p = &step->params.conv;
    dlp_shape is = step->input_shapes[0];
    device_padding_split(is.h, p->kernel_h, p->stride_h, p->padding, &cs->pad_top, &cs->pad_bottom);
    device_padding_split(is.w, p->kernel_w, p->stride_w, p->padding, &cs->pad_left, &cs->pad_right);
    cs->explicit_pad = cs->pad_top != cs->pad_bottom || cs->pad_left != cs->pad_right;
    cs->conv_input = is;
    if (cs->explicit_pad) {
        cs->conv_input.h += cs->pad_top + cs->pad_bottom;
        cs->conv_input.w += cs->pad_left + cs->pad_right;
    }
    CUDNN_TRY(cudnnCreateTensorDescriptor(&cs->x_desc));
    CUDNN_TRY(cudnnCreateTensorDescriptor(&cs->y_desc));
    CUDNN_TRY(cudnnCreateFilterDescriptor(&cs->w_desc));
    CUDNN_TRY(cudnnCreateConvolutionDescriptor(&cs->conv_desc));
    CUDNN_TRY(cudnnSetFilter4dDescriptor(cs->w_desc, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NHWC, p->filters, is.c,
                                         p->kernel_h, p->kernel_w));
    int pad_h = cs->explicit_pad ? 0 : cs->pad_top, pad_w = cs->explicit_pad ? 0 : cs->pad_left;
    CUDNN_TRY(cudnnSetConvolution2dDescriptor(cs->conv_desc, pad_h, pad_w, p->stride_h, p->stride_w, 1, 1,
                                              CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
    CUDNN_TRY(cudnnSetConvolutionMathType(cs->conv_desc,
                                          context->options.allow_tf32 ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH));
    DLP_TRY(set_conv_tensors(cs, 1, step->output_shape));
    int n = 0, c = 0, h = 0, w = 0;
    CUDNN_TRY(cudnnGetConvolution2dForwardOutputDim(cs->conv_desc, cs->x_desc, cs->w_desc, &n, &c, &h, &w));
    if (c != step->output_shape.c || h != step->output_shape.h || w != step->output_shape.w)
        return dlp_fail(DLP_ERR_INTERNAL, "cuda backend: conv \"%s\": cuDNN computes %dx%dx%d, the plan %dx%dx%d",
                        step->name, h, w, c, step->output_shape.h, step->output_shape.w, step->output_shape.c);
    /* Re-lay the Keras HWIO kernel as cuDNN's NHWC filter (KRSC). */
    float *ohwi = malloc(step->weight_counts[0] * sizeof(float));
    if (!ohwi) return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "cuda backend: out of memory");
    device_hwio_to_ohwi(step->weights[0], p->kernel_h, p->kernel_w, is.c, p->filters, ohwi);
    dlp_status status = upload(context, &cs->weights[0], ohwi, step->weight_counts[0], "a conv kernel");
    free(ohwi);
    return status;
}

static dlp_status prepare_step(cuda_context *context, const plan_step *step, cuda_step *cs)
{
    bool conv = step->op == DLP_OP_CONV2D;
    if (conv && !is_pointwise(&step->params.conv)) {
        cs->path = CONV_CUDNN;
        DLP_TRY(prepare_cudnn_conv(context, step, cs));
    } else {
        if (conv) cs->path = CONV_GEMM;
        if (step->weights[0])
            DLP_TRY(upload(context, &cs->weights[0], step->weights[0], step->weight_counts[0], "weights"));
    }
    if (step->weights[1]) DLP_TRY(upload(context, &cs->weights[1], step->weights[1], step->weight_counts[1], "weights"));
    return DLP_OK;
}

static void release_step(cuda_step *cs)
{
    for (int i = 0; i < PLAN_MAX_WEIGHTS; i++) cudaFree(cs->weights[i]);
    if (cs->x_desc) cudnnDestroyTensorDescriptor(cs->x_desc);
    if (cs->y_desc) cudnnDestroyTensorDescriptor(cs->y_desc);
    if (cs->w_desc) cudnnDestroyFilterDescriptor(cs->w_desc);
    if (cs->conv_desc) cudnnDestroyConvolutionDescriptor(cs->conv_desc);
    memset(cs, 0, sizeof *cs);
}

static void cuda_release(dlp_backend *backend, dlp_plan *plan)
{
    cuda_plan_state *state = plan->backend_state;
    if (!state) return;
    cudaSetDevice(context_of(backend)->device);
    cudaStreamSynchronize(context_of(backend)->stream);
    if (state->steps)
        for (int s = 0; s < plan->step_count; s++) release_step(&state->steps[s]);
    free(state->steps);
    cudaFree(state->arena);
    cudaFree(state->scratch);
    cudaFree(state->workspace);
    device_conv_cache_clear(&state->algorithms);
    free(state);
    plan->backend_state = NULL;
}

/* Scratch for explicit padding and cuDNN workspace, sized at max_batch; the
 * algorithms chosen here are cached for the runs at max_batch. */
static dlp_status size_buffers(cuda_context *context, dlp_plan *plan, cuda_plan_state *state)
{
    size_t scratch_floats = 0, workspace = 0;
    size_t cap = context->options.workspace_cap_bytes;
    for (int s = 0; s < plan->step_count; s++) {
        const cuda_step *cs = &state->steps[s];
        if (cs->path != CONV_CUDNN) continue;
        if (cs->explicit_pad) {
            size_t floats = (size_t)plan->max_batch * dlp_shape_elements(cs->conv_input);
            if (floats > scratch_floats) scratch_floats = floats;
        }
        device_conv_choice choice;
        DLP_TRY(choose_algorithm(context, state, &plan->steps[s], cs, plan->max_batch, cap, &choice));
        if (choice.workspace_bytes > workspace) workspace = choice.workspace_bytes;
    }
    DLP_TRY(device_alloc((void **)&state->scratch, scratch_floats * sizeof(float), "convolution padding"));
    if (scratch_floats)
        CUDA_TRY(cudaMemsetAsync(state->scratch, 0xFF, scratch_floats * sizeof(float), context->stream));
    DLP_TRY(device_alloc(&state->workspace, workspace, "the cuDNN workspace"));
    state->workspace_bytes = workspace;
    return DLP_OK;
}

static dlp_status prepare_all(cuda_context *context, dlp_plan *plan, cuda_plan_state *state)
{
    CUDA_TRY(cudaSetDevice(context->device));
    DLP_TRY(device_alloc((void **)&state->arena, plan->arena_floats * sizeof(float), "the activation arena"));
    /* All-ones bytes are NaN floats: a kernel that leaves part of its output
     * unwritten shows up in the results instead of reading stale zeros. */
    if (plan->arena_floats)
        CUDA_TRY(cudaMemsetAsync(state->arena, 0xFF, plan->arena_floats * sizeof(float), context->stream));
    for (int s = 0; s < plan->step_count; s++) {
        dlp_status status = prepare_step(context, &plan->steps[s], &state->steps[s]);
        if (status != DLP_OK) return dlp_fail_context(status, "layer \"%s\"", plan->steps[s].name);
    }
    return size_buffers(context, plan, state);
}

static dlp_status cuda_prepare(dlp_backend *backend, dlp_plan *plan)
{
    cuda_plan_state *state = calloc(1, sizeof *state);
    if (state) state->steps = calloc((size_t)plan->step_count + 1, sizeof *state->steps);
    if (!state || !state->steps) {
        free(state);
        return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "cuda backend: out of memory");
    }
    plan->backend_state = state;
    dlp_status status = prepare_all(context_of(backend), plan, state);
    if (status != DLP_OK) cuda_release(backend, plan);
    return status;
}

static dlp_status cuda_upload_input(dlp_backend *backend, dlp_plan *plan, const float *input, int n)
{
    cuda_context *context = context_of(backend);
    CUDA_TRY(cudaSetDevice(context->device));
    size_t bytes = (size_t)n * dlp_shape_elements(plan->input_shape) * sizeof(float);
    CUDA_TRY(cudaMemcpyAsync(value_data(plan, plan->input_value), input, bytes, cudaMemcpyHostToDevice,
                             context->stream));
    return DLP_OK;
}

/* Runs on the featurizer's preparing thread while the compute stream works
 * on the other slot's batch. */
static dlp_status cuda_stage_images(dlp_backend *backend, int slot, const uint8_t *packed,
                                    const dlp_image_pack_layout *layout)
{
    cuda_context *context = context_of(backend);
    CUDA_TRY(cudaSetDevice(context->device));
    DLP_TRY(dlp_cuda_image_stage_copy(&context->images[slot], packed, layout, context->copy_stream));
    CUDA_TRY(cudaEventRecord(context->copied[slot], context->copy_stream));
    return DLP_OK;
}

/* The staged images are resized and normalized on the device straight into
 * the input value: the CPU only decodes. */
static dlp_status cuda_upload_staged_images(dlp_backend *backend, dlp_plan *plan, int slot, size_t count,
                                            dlp_resize method, dlp_normalize normalize)
{
    cuda_context *context = context_of(backend);
    const dlp_cuda_image_stage *stage = &context->images[slot];
    if (stage->count != count)
        return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "cuda backend: image slot %d holds %zu images, %zu asked for", slot,
                        stage->count, count);
    CUDA_TRY(cudaSetDevice(context->device));
    CUDA_TRY(cudaStreamWaitEvent(context->stream, context->copied[slot], 0));
    return dlp_cuda_image_stage_launch(stage, plan->input_shape.h, plan->input_shape.w, method, normalize,
                                       value_data(plan, plan->input_value), context->stream);
}

static dlp_status apply_activation(cuda_context *context, float *data, size_t rows, int channels, const float *bias,
                                   dlp_activation activation)
{
    if (activation == DLP_ACT_SOFTMAX) {
        if (bias) CUDA_TRY(dlp_cuda_bias_activation(data, data, rows, channels, bias, DLP_ACT_LINEAR, context->stream));
        CUDA_TRY(dlp_cuda_softmax(data, data, rows, channels, context->stream));
    } else if (bias || activation != DLP_ACT_LINEAR) {
        CUDA_TRY(dlp_cuda_bias_activation(data, data, rows, channels, bias, (int)activation, context->stream));
    }
    return DLP_OK;
}

/* Row-major out[rows, units] = in[rows, k] x kernel[k, units]: cuBLAS is
 * column-major, so it computes out^T = kernel^T x in^T with the same buffers. */
static dlp_status gemm(cuda_context *context, const float *in, size_t rows, int k, const float *kernel, int units,
                       float *out)
{
    if (rows > 2147483647u) return dlp_fail(DLP_ERR_LIMIT, "cuda backend: a GEMM of %zu rows", rows);
    const float one = 1.0f, zero = 0.0f;
    CUBLAS_TRY(cublasSgemm(context->cublas, CUBLAS_OP_N, CUBLAS_OP_N, units, (int)rows, k, &one, kernel, units, in, k,
                           &zero, out, units));
    return DLP_OK;
}

static dlp_status run_cudnn_conv(cuda_context *context, cuda_plan_state *state, const plan_step *step,
                                 const cuda_step *cs, const float *in, float *out, int n)
{
    dlp_shape is = step->input_shapes[0];
    if (cs->explicit_pad) {
        CUDA_TRY(dlp_cuda_zero_pad(in, n, is.h, is.w, is.c, state->scratch, cs->conv_input.h, cs->conv_input.w,
                                   cs->pad_top, cs->pad_left, context->stream));
        in = state->scratch;
    }
    device_conv_choice choice;
    DLP_TRY(choose_algorithm(context, state, step, cs, n, context->options.workspace_cap_bytes, &choice));
    if (choice.workspace_bytes > state->workspace_bytes) {
        /* A smaller batch chose an algorithm with more workspace than any at max_batch. */
        CUDA_TRY(cudaStreamSynchronize(context->stream));
        cudaFree(state->workspace);
        state->workspace_bytes = 0;
        DLP_TRY(device_alloc(&state->workspace, choice.workspace_bytes, "the cuDNN workspace"));
        state->workspace_bytes = choice.workspace_bytes;
    }
    DLP_TRY(set_conv_tensors(cs, n, step->output_shape));
    CUDNN_TRY(cudnnSetConvolutionMathType(cs->conv_desc, (cudnnMathType_t)choice.math_type));
    const float one = 1.0f, zero = 0.0f;
    CUDNN_TRY(cudnnConvolutionForward(context->cudnn, &one, cs->x_desc, in, cs->w_desc, cs->weights[0],
                                      cs->conv_desc, (cudnnConvolutionFwdAlgo_t)choice.algorithm, state->workspace,
                                      choice.workspace_bytes, &zero, cs->y_desc, out));
    return DLP_OK;
}

static dlp_status run_conv(cuda_context *context, cuda_plan_state *state, const plan_step *step, const cuda_step *cs,
                           const float *in, float *out, int n)
{
    const dlp_conv2d_params *p = &step->params.conv;
    dlp_shape is = step->input_shapes[0], os = step->output_shape;
    size_t rows = (size_t)n * os.h * os.w;
    if (cs->path == CONV_GEMM)
        DLP_TRY(gemm(context, in, (size_t)n * is.h * is.w, is.c, cs->weights[0], p->filters, out));
    else
        DLP_TRY(run_cudnn_conv(context, state, step, cs, in, out, n));
    return apply_activation(context, out, rows, os.c, cs->weights[1], p->activation);
}

static dlp_cuda_window window_of(int n, dlp_shape is, dlp_shape os, int kernel_h, int kernel_w, int stride_h,
                                 int stride_w, dlp_padding padding)
{
    dlp_cuda_window g = {n, is.h, is.w, is.c, os.h, os.w, os.c, kernel_h, kernel_w, stride_h, stride_w, 0, 0};
    g.pad_top = dlp_conv_pad_before(is.h, kernel_h, stride_h, padding);
    g.pad_left = dlp_conv_pad_before(is.w, kernel_w, stride_w, padding);
    return g;
}

static dlp_status run_multi_input(cuda_context *context, const dlp_plan *plan, const plan_step *step, float *out,
                                  size_t pixels)
{
    if (step->input_count > DLP_CUDA_MAX_INPUTS)
        return dlp_fail(DLP_ERR_UNSUPPORTED, "cuda backend: %s of %d inputs (at most %d)", dlp_op_name(step->op),
                        step->input_count, DLP_CUDA_MAX_INPUTS);
    const float *inputs[DLP_CUDA_MAX_INPUTS];
    for (int i = 0; i < step->input_count; i++) inputs[i] = value_data(plan, step->inputs[i]);
    if (step->op == DLP_OP_ADD) {
        CUDA_TRY(dlp_cuda_add(inputs, step->input_count, pixels * step->output_shape.c, out, context->stream));
        return DLP_OK;
    }
    int offset = 0;
    for (int i = 0; i < step->input_count; i++) {
        CUDA_TRY(dlp_cuda_concat_slice(inputs[i], pixels, step->input_shapes[i].c, out, step->output_shape.c, offset,
                                       context->stream));
        offset += step->input_shapes[i].c;
    }
    return DLP_OK;
}

static dlp_status cuda_run_step(dlp_backend *backend, dlp_plan *plan, const plan_step *step, int n)
{
    cuda_context *context = context_of(backend);
    cuda_plan_state *state = plan->backend_state;
    const cuda_step *cs = &state->steps[step - plan->steps];
    const float *in = value_data(plan, step->inputs[0]);
    float *out = value_data(plan, step->output);
    dlp_shape is = step->input_shapes[0], os = step->output_shape;
    size_t pixels = (size_t)n * os.h * os.w;
    cudaStream_t stream = context->stream;
    /* The ops added for users' Keras models: src/backend/cuda/ops_extra_cuda.c (fp32 kernels). */
    if (device_extra_step_handled(step)) {
        if (context->options.precision != DLP_CUDA_FP32)
            return dlp_fail(DLP_ERR_UNSUPPORTED, "cuda backend: %s runs in fp32 only", dlp_op_name(step->op));
        return cuda_extra_run_plan_step(plan, step, state->arena, (const float *const *)cs->weights, n, stream);
    }
    switch (step->op) {
    case DLP_OP_CONV2D: return run_conv(context, state, step, cs, in, out, n);
    case DLP_OP_DEPTHWISE_CONV2D: {
        const dlp_conv2d_params *p = &step->params.conv;
        dlp_cuda_window g = window_of(n, is, os, p->kernel_h, p->kernel_w, p->stride_h, p->stride_w, p->padding);
        CUDA_TRY(dlp_cuda_depthwise_conv2d(&g, in, cs->weights[0], cs->weights[1], out, stream));
        return apply_activation(context, out, pixels, os.c, NULL, p->activation);
    }
    case DLP_OP_DENSE:
        DLP_TRY(gemm(context, in, pixels, is.c, cs->weights[0], step->params.dense.units, out));
        return apply_activation(context, out, pixels, os.c, cs->weights[1], step->params.dense.activation);
    case DLP_OP_BATCHNORM:
        CUDA_TRY(dlp_cuda_channel_affine(in, out, pixels, os.c, cs->weights[0], cs->weights[1], stream));
        return DLP_OK;
    case DLP_OP_ACTIVATION:
        if (step->params.activation == DLP_ACT_SOFTMAX)
            CUDA_TRY(dlp_cuda_softmax(in, out, pixels, os.c, stream));
        else
            CUDA_TRY(dlp_cuda_bias_activation(in, out, pixels, os.c, NULL, (int)step->params.activation, stream));
        return DLP_OK;
    case DLP_OP_MAX_POOL:
    case DLP_OP_AVG_POOL: {
        const dlp_pool_params *p = &step->params.pool;
        dlp_cuda_window g = window_of(n, is, os, p->pool_h, p->pool_w, p->stride_h, p->stride_w, p->padding);
        CUDA_TRY(dlp_cuda_pool(&g, step->op == DLP_OP_MAX_POOL, in, out, stream));
        return DLP_OK;
    }
    case DLP_OP_GLOBAL_AVG_POOL:
    case DLP_OP_GLOBAL_MAX_POOL:
        CUDA_TRY(dlp_cuda_global_pool(step->op == DLP_OP_GLOBAL_MAX_POOL, in, n, (size_t)is.h * is.w, is.c, out,
                                      stream));
        return DLP_OK;
    case DLP_OP_ZERO_PAD:
        CUDA_TRY(dlp_cuda_zero_pad(in, n, is.h, is.w, is.c, out, os.h, os.w, step->params.pad.top,
                                   step->params.pad.left, stream));
        return DLP_OK;
    case DLP_OP_CONCAT:
    case DLP_OP_ADD: return run_multi_input(context, plan, step, out, pixels);
    case DLP_OP_FLATTEN:
    case DLP_OP_IDENTITY:
        if (out != in)
            CUDA_TRY(cudaMemcpyAsync(out, in, pixels * os.c * sizeof(float), cudaMemcpyDeviceToDevice, stream));
        return DLP_OK;
    default:
        return dlp_fail(DLP_ERR_UNSUPPORTED, "cuda backend: op %s is not implemented on CUDA (run it on the cpu backend)",
                        dlp_op_name(step->op));
    }
}

static dlp_status cuda_download(dlp_backend *backend, const dlp_plan *plan, int value, float *dst, size_t floats)
{
    cuda_context *context = context_of(backend);
    CUDA_TRY(cudaSetDevice(context->device));
    CUDA_TRY(cudaMemcpyAsync(dst, value_data(plan, value), floats * sizeof(float), cudaMemcpyDeviceToHost,
                             context->stream));
    CUDA_TRY(cudaStreamSynchronize(context->stream));
    return DLP_OK;
}

static void cuda_destroy(dlp_backend *backend)
{
    if (!backend) return;
    cuda_context *context = backend->context;
    if (context) {
        /* Only a device that was opened: cudaSetDevice on a bad index would
         * leave an error pending for the next caller. */
        if (context->stream) cudaSetDevice(context->device);
        for (int slot = 0; slot < 2; slot++) {
            dlp_cuda_image_stage_free(&context->images[slot]);
            if (context->copied[slot]) cudaEventDestroy(context->copied[slot]);
        }
        if (context->copy_stream) cudaStreamDestroy(context->copy_stream);
        if (context->cublas) cublasDestroy(context->cublas);
        if (context->cudnn) cudnnDestroy(context->cudnn);
        if (context->stream) cudaStreamDestroy(context->stream);
        free(context);
    }
    free(backend);
}

static dlp_status open_device(cuda_context *context)
{
    int count = 0;
    DLP_TRY(dlp_device_count(&count));
    if (context->device < 0 || context->device >= count)
        return dlp_fail(DLP_ERR_DEVICE, "cuda backend: cuda:%d does not exist (%d device(s))", context->device, count);
    CUDA_TRY(cudaSetDevice(context->device));
    CUDA_TRY(cudaStreamCreateWithFlags(&context->stream, cudaStreamNonBlocking));
    CUDA_TRY(cudaStreamCreateWithFlags(&context->copy_stream, cudaStreamNonBlocking));
    for (int slot = 0; slot < 2; slot++)
        CUDA_TRY(cudaEventCreateWithFlags(&context->copied[slot], cudaEventDisableTiming));
    CUDNN_TRY(cudnnCreate(&context->cudnn));
    CUDNN_TRY(cudnnSetStream(context->cudnn, context->stream));
    CUBLAS_TRY(cublasCreate(&context->cublas));
    CUBLAS_TRY(cublasSetStream(context->cublas, context->stream));
    /* Without TF32: cuBLAS' pedantic mode keeps sgemm in full fp32. */
    CUBLAS_TRY(cublasSetMathMode(context->cublas,
                                 context->options.allow_tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_PEDANTIC_MATH));
    return DLP_OK;
}

dlp_status dlp_backend_create_cuda(int device, const dlp_cuda_options *options, dlp_backend **out)
{
    *out = NULL;
    dlp_cuda_options defaults = {DLP_CUDA_FP32, false, 0};
    if (!options) options = &defaults;
    if (options->precision != DLP_CUDA_FP32)
        return dlp_fail(DLP_ERR_UNSUPPORTED, "cuda backend: precision %s is not implemented yet (fp32 only)",
                        options->precision == DLP_CUDA_FP16 ? "fp16" : options->precision == DLP_CUDA_BF16 ? "bf16" : "?");
    dlp_backend *backend = calloc(1, sizeof *backend);
    cuda_context *context = calloc(1, sizeof *context);
    if (!backend || !context) {
        free(backend), free(context);
        return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "cuda backend: out of memory");
    }
    context->device = device;
    context->options = *options;
    if (!context->options.workspace_cap_bytes) context->options.workspace_cap_bytes = DEFAULT_WORKSPACE_CAP;
    backend->name = "cuda";
    backend->context = context;
    backend->prepare = cuda_prepare;
    backend->upload_input = cuda_upload_input;
    backend->stage_images = cuda_stage_images;
    backend->upload_staged_images = cuda_upload_staged_images;
    backend->run_step = cuda_run_step;
    backend->download = cuda_download;
    backend->release = cuda_release;
    backend->destroy = cuda_destroy;
    dlp_status status = open_device(context);
    if (status != DLP_OK) {
        cuda_destroy(backend);
        return dlp_fail_context(status, "cuda:%d", device);
    }
    *out = backend;
    return DLP_OK;
}

/* backend_cuda.c: the CUDA backend: one device arena per plan, weights
 * uploaded once at prepare, one stream per backend. Convolutions are cuDNN
 * (NHWC input, KRSC filter re-laid from Keras' HWIO at prepare); a 1x1
 * stride-1 convolution and Dense are one cuBLAS GEMM on the HWIO kernel as
 * it is (the same GEMM as the CPU backend); the rest are kernels/graph_ops.cu.
 * TensorFlow's 'same' padding with an odd total is padded explicitly into a
 * scratch buffer (cuDNN pads symmetrically only), then convolved unpadded.
 * A ZeroPadding2D folds into the 'valid' conv (symmetric) or pooling that
 * alone reads it (plan_step.input_pad, device_zero_pad_folds). fp16/bf16
 * convolutions on a channel count that is not a multiple of 8 read their
 * input zero-padded to one in the scratch buffer (tensor-core kernels).
 * fp16/bf16 plans store activations and conv/dense weights in the half type
 * (arena offsets counted in elements, so the arena is half the bytes), with
 * fp32 accumulation everywhere; the host side stays float: the input is
 * uploaded as float and converted on the device, outputs converted back.
 * CPU twin: src/backend/cpu/backend_cpu.c. */
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cuda/cuda_check.h"
#include "backend/cuda/graph_kernels.h"
#include "backend/cuda/ops_extra_cuda.h"
#include "backend/cuda/preprocess.h"
#include "core/env.h"
#include "core/status.h"
#include "dlp/device.h"
#include "graph/device_extra_layout.h"
#include "graph/device_layout.h"
#include "graph/plan_internal.h"

#include <stdint.h>

enum { MAX_GRAPHS = 16, CUBLAS_WORKSPACE = 32 << 20, DOWNLOAD_EVENTS = 4 };

typedef struct cuda_context {
    int device;
    dlp_cuda_options options;
    /* DLP_CUDA_PACKED_SLICES (dlp_env_switch), for the tests: every conv
     * into a slice takes the path of one cuDNN refuses to write strided
     * (write_packed). */
    bool packed_slices;
    /* DLP_CUDA_FP32_TRANSFORMS (dlp_env_switch, off): full fp32 may take
     * cuDNN's FFT and Winograd algorithms too (algorithm_preferred), to
     * measure what excluding them costs in speed and gains in accuracy. */
    bool fp32_transforms;
    /* DLP_CUDA_UNROLLED_3X3 (dlp_env_switch, on): 3x3 depthwise convs and
     * poolings on vectors of channels take the unrolled kernels
     * (graph_kernels.h); off: the general ones, for comparing. */
    bool unrolled_3x3;
    dlp_cuda_storage storage;    /* how activations are stored */
    size_t element_bytes;        /* 4 (fp32) or 2 (fp16, bf16) */
    cudnnDataType_t cudnn_type;  /* the storage as cuDNN names it */
    cudaDataType_t blas_type;    /* the storage as cuBLAS names it */
    cudaStream_t stream;
    cudnnHandle_t cudnn;
    cublasHandle_t cublas;
    void *cublas_workspace; /* with cuda_graphs: cuBLAS must not allocate while captured */
    /* dlp_plan_stage_images: per slot the device copy of a packed batch,
     * copied on copy_stream; the compute stream waits for the slot's copied
     * event, the next copy into the slot for its consumed event (recorded
     * once the preprocess kernel has read it). */
    dlp_cuda_image_stage images[2];
    cudaStream_t copy_stream;
    cudaEvent_t copied[2], consumed[2];
    /* dlp_plan_read_output_async: download k is complete when
     * downloaded[k % DOWNLOAD_EVENTS] is (a later download re-recording the
     * event only makes the wait longer: the stream is in order). Blocking
     * sync: the waiting thread sleeps instead of spinning on a core the
     * decoding threads need. */
    cudaEvent_t downloaded[DOWNLOAD_EVENTS];
    uint64_t downloads;
} cuda_context;

typedef enum conv_path { CONV_NONE = 0, CONV_GEMM, CONV_CUDNN } conv_path;

typedef struct cuda_step {
    /* Device copies. conv/dense: [0] the kernel in the storage type (via
     * cuDNN: KRSC), [1] the bias in float (dlp's kernels read it); the other
     * ops' small weights are float. */
    void *weights[PLAN_MAX_WEIGHTS];
    conv_path path;
    /* Fused conv+bias+activation: cuDNN wants the bias in y's type. bias
     * points at weights[1] in fp32, at its own half copy otherwise. fused
     * turns false when cuDNN refuses the fused call; planned_fused (and
     * planned_residual) keep what was planned, for the algorithm cache key. */
    bool fused, planned_fused, planned_residual;
    const void *bias;
    void *bias_half;
    cudnnTensorDescriptor_t bias_desc;
    cudnnActivationDescriptor_t activation_desc;
    /* Residual fusion (device_residual_match, direct only): this conv
     * computes conv + bias + shortcut into the add's output, or with
     * residual_relu relu(conv + bias + shortcut) into the relu's output;
     * the absorbed add (and relu) steps are skipped while it holds. */
    bool residual, residual_relu;
    int shortcut_value, residual_output, absorbed;
    bool skip;
    int pad_top, pad_bottom, pad_left, pad_right;
    bool explicit_pad;     /* asymmetric 'same': pad into the scratch buffer first */
    bool staged;           /* explicit_pad or padded channels: cuDNN reads the scratch buffer */
    dlp_shape conv_input;  /* what cuDNN sees: the input, or the padded input (space, channels) */
    /* Elements from one output pixel to the next: the output channels, or
     * more when the output is a slice of a concatenation's buffer
     * (dlp_cuda_options.concat_slices; cuda_writes_strided). */
    int out_stride;
    /* Non-zero when the output is a slice (pixels this many elements apart)
     * that cuDNN would not write strided: the conv then writes packed into
     * cuda_plan_state.packed_output (out_stride = its channels) and the
     * result is copied into the slice (write_packed). */
    int slice_stride;
    cudnnTensorDescriptor_t x_desc, y_desc;
    cudnnFilterDescriptor_t w_desc;
    cudnnConvolutionDescriptor_t conv_desc;
    /* What the last run used (cuda_describe_step); ran_fused: bias and
     * activation were applied by cuDNN too. */
    device_conv_choice last_choice;
    bool chosen, ran_fused;
} cuda_step;

typedef struct cuda_plan_state {
    void *arena;
    void *scratch;           /* explicit padding, max over steps at max_batch */
    /* fp16/bf16: the float input before conversion, and outputs converted
     * back to float before the copy to the host (max over outputs). */
    float *input_staging, *output_staging;
    size_t output_staging_floats;
    void *workspace;
    size_t workspace_bytes;
    size_t workspace_cap;    /* device_workspace_cap, fixed when the plan is sized */
    void *packed_output;     /* cuda_step.slice_stride: the largest such output at max_batch */
    size_t packed_output_bytes;
    cuda_step *steps;        /* one per plan step */
    device_conv_cache algorithms;
    /* cuda_graphs: per batch size, how many runs were seen and the captured
     * graph (NULL: none yet, or capture failed: then captured stays -1). */
    struct {
        int batch, runs, captured;
        cudaGraphExec_t exec;
    } graphs[MAX_GRAPHS];
    int graph_count;
    bool replaying, capturing; /* the current run: its graph was launched at step 0 / is being recorded */
} cuda_plan_state;

static cuda_context *context_of(dlp_backend *backend) { return backend->context; }

/* The plan counts offsets in elements (named floats): fp16/bf16 scale them
 * by 2 bytes instead of 4, which keeps every buffer's 64-byte alignment at 32. */
static void *value_data(const dlp_plan *plan, int value)
{
    const cuda_plan_state *state = plan->backend_state;
    const cuda_context *context = plan->backend->context;
    return (char *)state->arena + plan->values[value].offset_floats * context->element_bytes;
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

static dlp_status upload_bytes(cuda_context *context, void **device, const void *host, size_t bytes, const char *what)
{
    DLP_TRY(device_alloc(device, bytes, what));
    if (bytes) CUDA_TRY(cudaMemcpyAsync(*device, host, bytes, cudaMemcpyHostToDevice, context->stream));
    CUDA_TRY(cudaStreamSynchronize(context->stream));
    return DLP_OK;
}

static dlp_status upload(cuda_context *context, void **device, const float *host, size_t floats, const char *what)
{
    return upload_bytes(context, device, host, floats * sizeof(float), what);
}

/* Weights that cuDNN or cuBLAS read with the activations: converted once,
 * here on the host (round to nearest even), to the storage type. */
static dlp_status upload_stored(cuda_context *context, void **device, const float *host, size_t floats,
                                const char *what)
{
    if (context->storage == DLP_CUDA_STORAGE_F32) return upload(context, device, host, floats, what);
    uint16_t *half = malloc((floats ? floats : 1) * sizeof *half);
    if (!half) return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "cuda backend: out of memory converting %s", what);
    if (context->storage == DLP_CUDA_STORAGE_F16) device_float_to_half(host, half, floats);
    else device_float_to_bfloat16(host, half, floats);
    dlp_status status = upload_bytes(context, device, half, floats * sizeof *half, what);
    free(half);
    return status;
}

static bool is_pointwise(const dlp_conv2d_params *p)
{
    return p->kernel_h == 1 && p->kernel_w == 1 && p->stride_h == 1 && p->stride_w == 1;
}

static bool full_fp32(const cuda_context *context)
{
    return context->storage == DLP_CUDA_STORAGE_F32 && !context->options.allow_tf32;
}

static int math_mode(const cuda_context *context) { return context->options.allow_tf32 ? 1 : 0; }

/* The math type a convolution starts with: FMA for full fp32, tensor cores
 * for fp16/bf16, cuDNN's default (TF32 allowed) otherwise. */
static cudnnMathType_t base_math(const cuda_context *context)
{
    if (full_fp32(context)) return CUDNN_FMA_MATH;
    return context->storage == DLP_CUDA_STORAGE_F32 ? CUDNN_DEFAULT_MATH : CUDNN_TENSOR_OP_MATH;
}

/* Full-fp32 algorithms only unless TF32 is allowed: FFT and Winograd trade
 * accuracy for speed, beyond what the 1e-5 agreement with the CPU allows.
 * fp16/bf16 take any (their own rounding dominates), and so does full fp32
 * under DLP_CUDA_FP32_TRANSFORMS=1. */
static bool algorithm_preferred(const cuda_context *context, cudnnConvolutionFwdAlgo_t algorithm)
{
    if (!full_fp32(context) || context->fp32_transforms) return true;
    return algorithm == CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM ||
           algorithm == CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM ||
           algorithm == CUDNN_CONVOLUTION_FWD_ALGO_GEMM || algorithm == CUDNN_CONVOLUTION_FWD_ALGO_DIRECT;
}

/* y: NHWC, packed or (a slice of a concatenation's buffer) with pixels
 * out_stride elements apart. */
static dlp_status set_conv_tensors(const cuda_context *context, const cuda_step *cs, int n, dlp_shape output)
{
    CUDNN_TRY(cudnnSetTensor4dDescriptor(cs->x_desc, CUDNN_TENSOR_NHWC, context->cudnn_type, n, cs->conv_input.c,
                                         cs->conv_input.h, cs->conv_input.w));
    if (cs->out_stride == output.c) {
        CUDNN_TRY(cudnnSetTensor4dDescriptor(cs->y_desc, CUDNN_TENSOR_NHWC, context->cudnn_type, n, output.c, output.h,
                                             output.w));
        return DLP_OK;
    }
    int w_stride = cs->out_stride, h_stride = output.w * w_stride, n_stride = output.h * h_stride;
    CUDNN_TRY(cudnnSetTensor4dDescriptorEx(cs->y_desc, context->cudnn_type, n, output.c, output.h, output.w, n_stride,
                                           1, h_stride, w_stride));
    return DLP_OK;
}

/* cuDNN runs conv+bias+activation fused with the identity activation only
 * with IMPLICIT_PRECOMP_GEMM (cudnnConvolutionBiasActivationForward's docs):
 * a linear conv, alone or ending a residual block without a relu. */
static bool needs_precomp(const plan_step *step, const cuda_step *cs)
{
    return cs->fused && !(cs->residual && cs->residual_relu) && step->params.conv.activation == DLP_ACT_LINEAR;
}

/* needs_precomp as planned. The cache key and the algorithm preference use
 * it, so that a fused call cuDNN refuses at one batch size does not make
 * the next run at another miss the cache (that run may be a graph capture,
 * where an algorithm search fails the capture); the choice made for the
 * fused call serves the unfused one as well. */
static bool planned_precomp(const plan_step *step, const cuda_step *cs)
{
    return cs->planned_fused && !(cs->planned_residual && cs->residual_relu) &&
           step->params.conv.activation == DLP_ACT_LINEAR;
}

/* The first candidate (in cuDNN's order: ranked, or fastest first) that
 * succeeded, is preferred on the first pass (any on the second), is
 * IMPLICIT_PRECOMP_GEMM when precomp_only, and fits the cap; -1 if none. */
static int pick_candidate(cuda_context *context, const cuda_step *cs, const cudnnConvolutionFwdAlgoPerf_t *results,
                          int returned, bool precomp_only, size_t cap, device_conv_choice *choice)
{
    for (int pass = 0; pass < 2; pass++)
    for (int i = 0; i < returned; i++) {
        if (results[i].status != CUDNN_STATUS_SUCCESS) continue;
        if (pass == 0 && !algorithm_preferred(context, results[i].algo)) continue;
        if (precomp_only && results[i].algo != CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM) continue;
        /* Without TF32 every algorithm runs in FMA math, whatever the ranking
         * suggests (cuDNN's default math may use TF32 tensor cores). */
        cudnnMathType_t math = full_fp32(context) ? CUDNN_FMA_MATH : results[i].mathType;
        if (cudnnSetConvolutionMathType(cs->conv_desc, math) != CUDNN_STATUS_SUCCESS) continue;
        size_t bytes = 0;
        if (cudnnGetConvolutionForwardWorkspaceSize(context->cudnn, cs->x_desc, cs->w_desc, cs->conv_desc, cs->y_desc,
                                                    results[i].algo, &bytes) != CUDNN_STATUS_SUCCESS)
            continue;
        if (bytes > cap) continue;
        choice->algorithm = (int)results[i].algo;
        choice->math_type = (int)math;
        choice->workspace_bytes = bytes;
        return i;
    }
    return -1;
}

/* cuDNN 9 numbers its statuses by category: 2xxx bad parameter, 3xxx not
 * supported (shape, data type, layout, ...). */
#if CUDNN_MAJOR < 9
#error "the CUDA backend needs cuDNN 9 (its status categories, the legacy API as cuDNN 9 has it)"
#endif
static bool cudnn_refused(cudnnStatus_t status)
{
    int category = (int)status / 1000;
    return category == 2 || category == 3;
}

static bool writes_slice(const plan_step *step, const cuda_step *cs) { return cs->out_stride != step->output_shape.c; }

/* Like choose_algorithm; *found false when cuDNN offers none, or (a strided
 * output) refuses to rank them. */
static dlp_status find_algorithm(cuda_context *context, cuda_plan_state *state, const plan_step *step,
                                 const cuda_step *cs, int n, size_t cap, device_conv_choice *choice, bool *found)
{
    const dlp_conv2d_params *p = &step->params.conv;
    int pad_h = cs->explicit_pad ? 0 : cs->pad_top, pad_w = cs->explicit_pad ? 0 : cs->pad_left;
    bool timed = context->options.search == DLP_CUDA_SEARCH_TIMED, precomp = planned_precomp(step, cs);
    device_conv_key key = device_conv_key_make(n, cs->conv_input, p->filters, p->kernel_h, p->kernel_w, pad_h, pad_w,
                                               p->stride_h, p->stride_w, math_mode(context));
    key = device_conv_key_with(key, (int)context->storage,
                               (timed ? 1 : 0) + (precomp ? 2 : 0) + (cs->planned_residual ? 4 : 0));
    key.out_stride = cs->out_stride;
    *found = true;
    if (device_conv_cache_find(&state->algorithms, &key, choice)) return DLP_OK;
    DLP_TRY(set_conv_tensors(context, cs, n, step->output_shape));
    cudnnConvolutionFwdAlgoPerf_t results[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    int returned = 0;
    cudnnStatus_t status;
    if (timed) {
        CUDNN_TRY(cudnnSetConvolutionMathType(cs->conv_desc, base_math(context)));
        status = cudnnFindConvolutionForwardAlgorithm(context->cudnn, cs->x_desc, cs->w_desc, cs->conv_desc,
                                                      cs->y_desc, CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &returned,
                                                      results);
    } else {
        status = cudnnGetConvolutionForwardAlgorithm_v7(context->cudnn, cs->x_desc, cs->w_desc, cs->conv_desc,
                                                        cs->y_desc, CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &returned,
                                                        results);
    }
    /* A slice: any failure means trying packed (where a real failure shows again). */
    if (writes_slice(step, cs) && (context->packed_slices || status != CUDNN_STATUS_SUCCESS)) returned = 0;
    else CUDNN_TRY(status);
    if ((precomp && pick_candidate(context, cs, results, returned, true, cap, choice) >= 0) ||
        pick_candidate(context, cs, results, returned, false, cap, choice) >= 0)
        return device_conv_cache_put(&state->algorithms, &key, choice);
    *found = false;
    return DLP_OK;
}

/* Drops every captured graph: each batch size is launched step by step
 * again, then captured anew. */
static void forget_graphs(cuda_plan_state *state)
{
    for (int g = 0; g < state->graph_count; g++) {
        if (state->graphs[g].exec) cudaGraphExecDestroy(state->graphs[g].exec);
        state->graphs[g].exec = NULL;
        state->graphs[g].captured = state->graphs[g].runs = 0;
    }
}

/* Grows one of the plan's device buffers to bytes. Graphs captured so far
 * hold the old address (kernel arguments are captured by value), so they
 * are dropped. Never while recording a graph (which cannot synchronize or
 * free): the error abandons the capture, and the step-by-step rerun grows it. */
static dlp_status grow_buffer(cuda_context *context, cuda_plan_state *state, void **buffer, size_t *size,
                              size_t bytes, const char *what)
{
    if (bytes <= *size) return DLP_OK;
    if (state->capturing)
        return dlp_fail(DLP_ERR_DEVICE, "cuda backend: %s must grow while a graph is recorded", what);
    CUDA_TRY(cudaStreamSynchronize(context->stream));
    cudaFree(*buffer);
    *buffer = NULL;
    *size = 0;
    DLP_TRY(device_alloc(buffer, bytes, what));
    *size = bytes;
    forget_graphs(state);
    return DLP_OK;
}

/* A slice cuDNN will not write strided: from now on the conv writes packed
 * into packed_output (grown to this output at max_batch) and run_conv
 * copies it into the slice. */
static dlp_status write_packed(cuda_context *context, dlp_plan *plan, cuda_plan_state *state,
                               const plan_step *step, cuda_step *cs)
{
    size_t bytes = (size_t)plan->max_batch * dlp_shape_elements(step->output_shape) * context->element_bytes;
    DLP_TRY(grow_buffer(context, state, &state->packed_output, &state->packed_output_bytes, bytes,
                        "a convolution output outside its slice"));
    cs->slice_stride = cs->out_stride;
    cs->out_stride = step->output_shape.c;
    plan->slices_copied++;
    return DLP_OK;
}

/* The algorithm for this step at batch n: cached per shape, else chosen from
 * cuDNN's heuristic ranking or, with DLP_CUDA_SEARCH_TIMED, from every
 * algorithm run and timed once (cudnnFindConvolutionForwardAlgorithm
 * allocates its own buffers); see pick_candidate. A fused identity
 * convolution asks for IMPLICIT_PRECOMP_GEMM first (else it runs unfused).
 * A slice with no algorithm is written packed instead (write_packed). */
static dlp_status choose_algorithm(cuda_context *context, dlp_plan *plan, const plan_step *step, cuda_step *cs,
                                   int n, size_t cap, device_conv_choice *choice)
{
    cuda_plan_state *state = plan->backend_state;
    bool found = false;
    DLP_TRY(find_algorithm(context, state, step, cs, n, cap, choice, &found));
    if (!found && writes_slice(step, cs)) {
        DLP_TRY(write_packed(context, plan, state, step, cs));
        DLP_TRY(find_algorithm(context, state, step, cs, n, cap, choice, &found));
    }
    if (found) return DLP_OK;
    const dlp_conv2d_params *p = &step->params.conv;
    return dlp_fail(DLP_ERR_DEVICE,
                    "cuda backend: conv \"%s\" (batch %d, %dx%dx%d, kernel %dx%d, stride %dx%d, %d filters): cuDNN "
                    "offers no %salgorithm within %zu bytes of workspace",
                    step->name, n, cs->conv_input.h, cs->conv_input.w, cs->conv_input.c, p->kernel_h, p->kernel_w,
                    p->stride_h, p->stride_w, p->filters, full_fp32(context) ? "FMA-math " : "", cap);
}

static dlp_status prepare_cudnn_conv(cuda_context *context, const plan_step *step, cuda_step *cs)
{
    const dlp_conv2d_params *p = &step->params.conv;
    dlp_shape is = step->input_shapes[0];
    device_conv_pads(is, p, &step->input_pad, &cs->pad_top, &cs->pad_bottom, &cs->pad_left, &cs->pad_right);
    cs->explicit_pad = cs->pad_top != cs->pad_bottom || cs->pad_left != cs->pad_right;
    cs->conv_input = is;
    cs->conv_input.c = device_conv_channels(is.c, context->storage != DLP_CUDA_STORAGE_F32,
                                            !context->options.keep_conv_channels);
    if (cs->explicit_pad) {
        cs->conv_input.h += cs->pad_top + cs->pad_bottom;
        cs->conv_input.w += cs->pad_left + cs->pad_right;
    }
    cs->staged = cs->explicit_pad || cs->conv_input.c != is.c;
    CUDNN_TRY(cudnnCreateTensorDescriptor(&cs->x_desc));
    CUDNN_TRY(cudnnCreateTensorDescriptor(&cs->y_desc));
    CUDNN_TRY(cudnnCreateFilterDescriptor(&cs->w_desc));
    CUDNN_TRY(cudnnCreateConvolutionDescriptor(&cs->conv_desc));
    CUDNN_TRY(cudnnSetFilter4dDescriptor(cs->w_desc, context->cudnn_type, CUDNN_TENSOR_NHWC, p->filters,
                                         cs->conv_input.c, p->kernel_h, p->kernel_w));
    int pad_h = cs->explicit_pad ? 0 : cs->pad_top, pad_w = cs->explicit_pad ? 0 : cs->pad_left;
    CUDNN_TRY(cudnnSetConvolution2dDescriptor(cs->conv_desc, pad_h, pad_w, p->stride_h, p->stride_w, 1, 1,
                                              CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
    CUDNN_TRY(cudnnSetConvolutionMathType(cs->conv_desc, base_math(context)));
    DLP_TRY(set_conv_tensors(context, cs, 1, step->output_shape));
    int n = 0, c = 0, h = 0, w = 0;
    CUDNN_TRY(cudnnGetConvolution2dForwardOutputDim(cs->conv_desc, cs->x_desc, cs->w_desc, &n, &c, &h, &w));
    if (c != step->output_shape.c || h != step->output_shape.h || w != step->output_shape.w)
        return dlp_fail(DLP_ERR_INTERNAL, "cuda backend: conv \"%s\": cuDNN computes %dx%dx%d, the plan %dx%dx%d",
                        step->name, h, w, c, step->output_shape.h, step->output_shape.w, step->output_shape.c);
    /* Re-lay the Keras HWIO kernel as cuDNN's NHWC filter (KRSC), on the padded channels. */
    size_t count = (size_t)p->filters * p->kernel_h * p->kernel_w * cs->conv_input.c;
    float *ohwi = malloc(count * sizeof(float));
    if (!ohwi) return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "cuda backend: out of memory");
    device_hwio_to_ohwi_padded(step->weights[0], p->kernel_h, p->kernel_w, is.c, cs->conv_input.c, p->filters, ohwi);
    dlp_status status = upload_stored(context, &cs->weights[0], ohwi, count, "a conv kernel");
    free(ohwi);
    return status;
}

/* Fusing needs a bias (cuDNN's call adds one) and relu or no activation (the
 * only modes cudnnConvolutionBiasActivationForward takes). */
static dlp_status prepare_fused(cuda_context *context, const plan_step *step, cuda_step *cs)
{
    const dlp_conv2d_params *p = &step->params.conv;
    if (!context->options.fuse_bias_activation || !step->weights[1]) return DLP_OK;
    if (p->activation != DLP_ACT_RELU && p->activation != DLP_ACT_LINEAR) return DLP_OK;
    cs->bias = cs->weights[1];
    if (context->storage != DLP_CUDA_STORAGE_F32) {
        DLP_TRY(upload_stored(context, &cs->bias_half, step->weights[1], step->weight_counts[1], "a conv bias"));
        cs->bias = cs->bias_half;
    }
    CUDNN_TRY(cudnnCreateTensorDescriptor(&cs->bias_desc));
    CUDNN_TRY(cudnnSetTensor4dDescriptor(cs->bias_desc, CUDNN_TENSOR_NHWC, context->cudnn_type, 1, p->filters, 1, 1));
    CUDNN_TRY(cudnnCreateActivationDescriptor(&cs->activation_desc));
    cudnnActivationMode_t mode = p->activation == DLP_ACT_RELU ? CUDNN_ACTIVATION_RELU : CUDNN_ACTIVATION_IDENTITY;
    CUDNN_TRY(cudnnSetActivationDescriptor(cs->activation_desc, mode, CUDNN_NOT_PROPAGATE_NAN, 0.0));
    cs->fused = cs->planned_fused = true;
    return DLP_OK;
}

/* Whether a half plan can run this step: dlp's kernels have fp16/bf16
 * versions for the zoo's ops only; the ops added for users' Keras models run
 * in fp32 plans. */
static bool half_supported(const plan_step *step)
{
    switch (step->op) {
    case DLP_OP_CONV2D:
    case DLP_OP_DEPTHWISE_CONV2D:
    case DLP_OP_DENSE:
    case DLP_OP_BATCHNORM:
    case DLP_OP_MAX_POOL:
    case DLP_OP_AVG_POOL:
    case DLP_OP_GLOBAL_AVG_POOL:
    case DLP_OP_GLOBAL_MAX_POOL:
    case DLP_OP_CONCAT:
    case DLP_OP_ADD:
    case DLP_OP_ZERO_PAD:
    case DLP_OP_FLATTEN:
    case DLP_OP_IDENTITY: return true;
    case DLP_OP_ACTIVATION: return step->params.activation <= DLP_ACT_SOFTMAX;
    default: return false;
    }
}

static dlp_status prepare_step(cuda_context *context, const plan_step *step, cuda_step *cs)
{
    if (context->storage != DLP_CUDA_STORAGE_F32 && !half_supported(step))
        return dlp_fail(DLP_ERR_UNSUPPORTED, "cuda backend: %s%s%s has no %s kernel (run this model with precision "
                        "fp32 or on the cpu backend)", dlp_op_name(step->op),
                        step->op == DLP_OP_ACTIVATION ? " " : "",
                        step->op == DLP_OP_ACTIVATION ? dlp_activation_name(step->params.activation) : "",
                        context->storage == DLP_CUDA_STORAGE_F16 ? "fp16" : "bf16");
    bool conv = step->op == DLP_OP_CONV2D;
    bool padded = step->input_pad.top || step->input_pad.bottom || step->input_pad.left || step->input_pad.right;
    /* Fusing sends 1x1 convolutions through cuDNN too, for its epilogue; a
     * folded ZeroPadding2D needs cuDNN's padding. */
    if (conv && (!is_pointwise(&step->params.conv) || context->options.fuse_bias_activation || padded)) {
        cs->path = CONV_CUDNN;
        DLP_TRY(prepare_cudnn_conv(context, step, cs));
    } else if (conv || step->op == DLP_OP_DENSE) {
        if (conv) cs->path = CONV_GEMM;
        DLP_TRY(upload_stored(context, &cs->weights[0], step->weights[0], step->weight_counts[0], "weights"));
    } else if (step->weights[0]) {
        DLP_TRY(upload(context, &cs->weights[0], step->weights[0], step->weight_counts[0], "weights"));
    }
    if (step->weights[1]) DLP_TRY(upload(context, &cs->weights[1], step->weights[1], step->weight_counts[1], "weights"));
    if (cs->path == CONV_CUDNN) DLP_TRY(prepare_fused(context, step, cs));
    return DLP_OK;
}

static void release_step(cuda_step *cs)
{
    for (int i = 0; i < PLAN_MAX_WEIGHTS; i++) cudaFree(cs->weights[i]);
    cudaFree(cs->bias_half);
    if (cs->bias_desc) cudnnDestroyTensorDescriptor(cs->bias_desc);
    if (cs->activation_desc) cudnnDestroyActivationDescriptor(cs->activation_desc);
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
    cudaFree(state->packed_output);
    cudaFree(state->input_staging);
    cudaFree(state->output_staging);
    for (int g = 0; g < state->graph_count; g++)
        if (state->graphs[g].exec) cudaGraphExecDestroy(state->graphs[g].exec);
    device_conv_cache_clear(&state->algorithms);
    free(state);
    plan->backend_state = NULL;
}

/* Scratch for explicit padding and cuDNN workspace, sized at max_batch; the
 * algorithms chosen here are cached for the runs at max_batch. The workspace
 * cap is fixed here, after the arena took its memory. */
static dlp_status size_buffers(cuda_context *context, dlp_plan *plan, cuda_plan_state *state)
{
    size_t scratch_elements = 0, workspace = 0, bytes = context->element_bytes;
    size_t free_bytes = 0, total_bytes = 0;
    if (!context->options.workspace_cap_bytes && full_fp32(context))
        CUDA_TRY(cudaMemGetInfo(&free_bytes, &total_bytes));
    size_t cap = state->workspace_cap = device_workspace_cap(context->options.workspace_cap_bytes,
                                                             full_fp32(context), free_bytes);
    for (int s = 0; s < plan->step_count; s++) {
        cuda_step *cs = &state->steps[s];
        if (cs->path != CONV_CUDNN) continue;
        if (cs->staged) {
            size_t elements = (size_t)plan->max_batch * dlp_shape_elements(cs->conv_input);
            if (elements > scratch_elements) scratch_elements = elements;
        }
        device_conv_choice choice;
        DLP_TRY(choose_algorithm(context, plan, &plan->steps[s], cs, plan->max_batch, cap, &choice));
        if (choice.workspace_bytes > workspace) workspace = choice.workspace_bytes;
    }
    DLP_TRY(device_alloc(&state->scratch, scratch_elements * bytes, "convolution padding"));
    if (scratch_elements) CUDA_TRY(cudaMemsetAsync(state->scratch, 0xFF, scratch_elements * bytes, context->stream));
    DLP_TRY(device_alloc(&state->workspace, workspace, "the cuDNN workspace"));
    state->workspace_bytes = workspace;
    return DLP_OK;
}

/* fp16/bf16: float buffers for the input before conversion and for the
 * largest output after it. */
static dlp_status alloc_staging(cuda_context *context, dlp_plan *plan, cuda_plan_state *state)
{
    if (context->storage == DLP_CUDA_STORAGE_F32) return DLP_OK;
    size_t input = (size_t)plan->max_batch * dlp_shape_elements(plan->input_shape), output = 0;
    for (int o = 0; o < plan->output_count; o++) {
        size_t floats = (size_t)plan->max_batch * plan->values[plan->output_values[o]].floats_per_image;
        if (floats > output) output = floats;
    }
    DLP_TRY(device_alloc((void **)&state->input_staging, input * sizeof(float), "the float input"));
    DLP_TRY(device_alloc((void **)&state->output_staging, output * sizeof(float), "the float outputs"));
    state->output_staging_floats = output;
    return DLP_OK;
}

/* Marks residual block endings whose conv is fused (so has a bias and an
 * activation descriptor) as one residual call, when it can write the
 * output directly (the planner keeps that output clear of the conv's input:
 * plan_lifetimes): ResNet's conv -> add -> relu (the descriptor turns relu)
 * and Xception's conv -> add (identity: IMPLICIT_PRECOMP_GEMM, which that
 * linear conv's fused call takes anyway). */
static dlp_status find_residuals(dlp_plan *plan, cuda_plan_state *state)
{
    for (int s = 0; s + 1 < plan->step_count; s++) {
        cuda_step *cs = &state->steps[s];
        int shortcut = -1, output = -1;
        bool direct = false, relu = false;
        if (!cs->fused || cs->skip || !device_residual_match(plan, s, &shortcut, &output, &direct, &relu) || !direct)
            continue;
        if (relu)
            CUDNN_TRY(cudnnSetActivationDescriptor(cs->activation_desc, CUDNN_ACTIVATION_RELU,
                                                   CUDNN_NOT_PROPAGATE_NAN, 0.0));
        cs->residual = cs->planned_residual = true;
        cs->residual_relu = relu;
        cs->shortcut_value = shortcut, cs->residual_output = output, cs->absorbed = s + 1;
        state->steps[s + 1].skip = true;
        if (relu) state->steps[s + 2].skip = true;
        plan->residuals_fused++;
    }
    return DLP_OK;
}

/* A residual conv that runs unfused from now on (cuDNN refused the fused
 * call, or offered no IMPLICIT_PRECOMP_GEMM for an identity one): it writes
 * its own output again, and its absorbed steps run again. */
static void unabsorb(dlp_plan *plan, cuda_plan_state *state, cuda_step *cs)
{
    if (!cs->residual) return;
    plan->residuals_unfused++;
    state->steps[cs->absorbed].skip = false;
    if (cs->residual_relu) state->steps[cs->absorbed + 1].skip = false;
    cs->residual = false;
}

static dlp_status prepare_all(cuda_context *context, dlp_plan *plan, cuda_plan_state *state)
{
    CUDA_TRY(cudaSetDevice(context->device));
    size_t arena_bytes = plan->arena_floats * context->element_bytes;
    DLP_TRY(device_alloc(&state->arena, arena_bytes, "the activation arena"));
    /* All-ones bytes are NaN (float, half and bfloat16 alike): a kernel that
     * leaves part of its output unwritten shows up in the results instead of
     * reading stale zeros. */
    if (arena_bytes) CUDA_TRY(cudaMemsetAsync(state->arena, 0xFF, arena_bytes, context->stream));
    DLP_TRY(alloc_staging(context, plan, state));
    for (int s = 0; s < plan->step_count; s++) {
        const plan_step *step = &plan->steps[s];
        state->steps[s].out_stride = (int)plan_pixel_stride(plan, step->output, step->output_shape.c);
        dlp_status status = prepare_step(context, &plan->steps[s], &state->steps[s]);
        if (status != DLP_OK) return dlp_fail_context(status, "layer \"%s\"", plan->steps[s].name);
    }
    if (context->options.fuse_bias_activation) DLP_TRY(find_residuals(plan, state));
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
    cuda_plan_state *state = plan->backend_state;
    CUDA_TRY(cudaSetDevice(context->device));
    size_t floats = (size_t)n * dlp_shape_elements(plan->input_shape);
    void *device_input = value_data(plan, plan->input_value);
    if (context->storage == DLP_CUDA_STORAGE_F32) {
        CUDA_TRY(cudaMemcpyAsync(device_input, input, floats * sizeof(float), cudaMemcpyHostToDevice,
                                 context->stream));
        return DLP_OK;
    }
    CUDA_TRY(cudaMemcpyAsync(state->input_staging, input, floats * sizeof(float), cudaMemcpyHostToDevice,
                             context->stream));
    CUDA_TRY(dlp_cuda_convert(DLP_CUDA_STORAGE_F32, state->input_staging, context->storage, device_input, floats,
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
    CUDA_TRY(cudaStreamWaitEvent(context->copy_stream, context->consumed[slot], 0));
    DLP_TRY(dlp_cuda_image_stage_copy(&context->images[slot], packed, layout, context->copy_stream));
    CUDA_TRY(cudaEventRecord(context->copied[slot], context->copy_stream));
    return DLP_OK;
}

/* The rows the caller resized itself over the kernel's (float) input, on
 * the compute stream after the kernel, so they land after its writes. */
static dlp_status copy_input_rows(cuda_context *context, float *input, size_t row_floats,
                                  const dlp_plan_input_rows *rows)
{
    for (size_t k = 0; rows && k < rows->count; k++)
        CUDA_TRY(cudaMemcpyAsync(input + rows->index[k] * row_floats, rows->floats + k * row_floats,
                                 row_floats * sizeof(float), cudaMemcpyHostToDevice, context->stream));
    return DLP_OK;
}

/* The staged images are resized and normalized on the device straight into
 * the input value: the CPU only decodes. */
static dlp_status cuda_upload_staged_images(dlp_backend *backend, dlp_plan *plan, int slot, size_t count,
                                            dlp_resize method, dlp_normalize normalize,
                                            const dlp_plan_input_rows *rows)
{
    cuda_context *context = context_of(backend);
    const dlp_cuda_image_stage *stage = &context->images[slot];
    if (stage->count != count)
        return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "cuda backend: image slot %d holds %zu images, %zu asked for", slot,
                        stage->count, count);
    CUDA_TRY(cudaSetDevice(context->device));
    CUDA_TRY(cudaStreamWaitEvent(context->stream, context->copied[slot], 0));
    if (context->storage == DLP_CUDA_STORAGE_F32) {
        DLP_TRY(dlp_cuda_image_stage_launch(stage, plan->input_shape.h, plan->input_shape.w, method, normalize,
                                            value_data(plan, plan->input_value), context->stream));
        DLP_TRY(copy_input_rows(context, value_data(plan, plan->input_value), dlp_shape_elements(plan->input_shape),
                                rows));
    } else {
        /* fp16/bf16: the kernel writes floats into the staging input, converted into the arena. */
        cuda_plan_state *state = plan->backend_state;
        DLP_TRY(dlp_cuda_image_stage_launch(stage, plan->input_shape.h, plan->input_shape.w, method, normalize,
                                            state->input_staging, context->stream));
        DLP_TRY(copy_input_rows(context, state->input_staging, dlp_shape_elements(plan->input_shape), rows));
        CUDA_TRY(dlp_cuda_convert(DLP_CUDA_STORAGE_F32, state->input_staging, context->storage,
                                  value_data(plan, plan->input_value), count * dlp_shape_elements(plan->input_shape),
                                  context->stream));
    }
    CUDA_TRY(cudaEventRecord(context->consumed[slot], context->stream));
    return DLP_OK;
}

/* stride: elements from one row to the next (channels, or wider for a
 * slice of a concatenation's buffer: never with softmax, see cuda_writes_strided). */
static dlp_status apply_activation(cuda_context *context, void *data, size_t rows, int channels, size_t stride,
                                   const float *bias, dlp_activation activation)
{
    dlp_cuda_storage storage = context->storage;
    if (activation == DLP_ACT_SOFTMAX) {
        if (stride != (size_t)channels)
            return dlp_fail(DLP_ERR_INTERNAL, "cuda backend: softmax into a slice of a concatenation");
        if (bias)
            CUDA_TRY(dlp_cuda_bias_activation_typed(storage, data, data, rows, channels, bias, DLP_ACT_LINEAR,
                                                    context->stream));
        CUDA_TRY(dlp_cuda_softmax_typed(storage, data, data, rows, channels, context->stream));
    } else if (bias || activation != DLP_ACT_LINEAR) {
        /* The packed launcher when stride == channels. */
        CUDA_TRY(dlp_cuda_bias_activation_strided_typed(storage, data, rows, channels, stride, bias, (int)activation,
                                                        context->stream));
    }
    return DLP_OK;
}

/* Row-major out[rows, units] = in[rows, k] x kernel[k, units], out's rows
 * ldc elements apart: cuBLAS is column-major, so it computes
 * out^T = kernel^T x in^T with the same buffers.
 * fp32: sgemm; fp16/bf16: GemmEx with fp32 accumulation (CUBLAS_COMPUTE_32F). */
static dlp_status gemm(cuda_context *context, const void *in, size_t rows, int k, const void *kernel, int units,
                       void *out, int ldc)
{
    if (rows > 2147483647u) return dlp_fail(DLP_ERR_LIMIT, "cuda backend: a GEMM of %zu rows", rows);
    const float one = 1.0f, zero = 0.0f;
    if (context->storage == DLP_CUDA_STORAGE_F32) {
        CUBLAS_TRY(cublasSgemm(context->cublas, CUBLAS_OP_N, CUBLAS_OP_N, units, (int)rows, k, &one, kernel, units,
                               in, k, &zero, out, ldc));
        return DLP_OK;
    }
    cudaDataType_t type = context->blas_type;
    CUBLAS_TRY(cublasGemmEx(context->cublas, CUBLAS_OP_N, CUBLAS_OP_N, units, (int)rows, k, &one, kernel, type, units,
                            in, type, k, &zero, out, type, ldc, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
    return DLP_OK;
}

/* cudnnConvolutionBiasActivationForward: y = act(conv(x) + alpha2*z + bias).
 * Plain: z aliases y with alpha2 = 0 (never read). Residual: z is the
 * shortcut, alpha2 = 1, y the add's or relu's output. false in *done when
 * cuDNN refuses this configuration; the step then runs unfused from now on
 * (unabsorb). */
static dlp_status run_fused(cuda_context *context, dlp_plan *plan, cuda_step *cs,
                            const device_conv_choice *choice, const void *in, void *out, const void *shortcut,
                            void *residual_out, bool *done)
{
    cuda_plan_state *state = plan->backend_state;
    const float one = 1.0f, zero = 0.0f;
    const void *z = cs->residual ? shortcut : out;
    void *y = cs->residual ? residual_out : out;
    cudnnStatus_t status = cudnnConvolutionBiasActivationForward(
        context->cudnn, &one, cs->x_desc, in, cs->w_desc, cs->weights[0], cs->conv_desc,
        (cudnnConvolutionFwdAlgo_t)choice->algorithm, state->workspace, choice->workspace_bytes,
        cs->residual ? &one : &zero, cs->y_desc, z, cs->bias_desc, cs->bias, cs->activation_desc, cs->y_desc, y);
    *done = status == CUDNN_STATUS_SUCCESS;
    if (cudnn_refused(status)) {
        plan->fusions_refused++;
        cs->fused = false;
        unabsorb(plan, state, cs);
        return DLP_OK;
    }
    CUDNN_TRY(status);
    return DLP_OK;
}

/* One try of run_cudnn_conv on its (staged) input; *refused when cuDNN
 * refuses the unfused call for a strided output. */
static dlp_status convolve(cuda_context *context, dlp_plan *plan, const plan_step *step, cuda_step *cs,
                           const void *in, void *out, int n, bool *fused, bool *refused)
{
    cuda_plan_state *state = plan->backend_state;
    device_conv_choice choice;
    *refused = false;
    DLP_TRY(choose_algorithm(context, plan, step, cs, n, state->workspace_cap, &choice));
    cs->last_choice = choice, cs->chosen = true, cs->ran_fused = false;
    if (cs->slice_stride) out = state->packed_output;
    /* A smaller batch may choose an algorithm with more workspace than any at max_batch. */
    DLP_TRY(grow_buffer(context, state, &state->workspace, &state->workspace_bytes, choice.workspace_bytes,
                        "the cuDNN workspace"));
    DLP_TRY(set_conv_tensors(context, cs, n, step->output_shape));
    CUDNN_TRY(cudnnSetConvolutionMathType(cs->conv_desc, (cudnnMathType_t)choice.math_type));
    bool fusable = !needs_precomp(step, cs) || choice.algorithm == CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM;
    if (cs->fused && !fusable) unabsorb(plan, state, cs); /* a residual must run fused, or not at all */
    if (cs->fused && fusable) {
        const void *shortcut = cs->residual ? value_data(plan, cs->shortcut_value) : NULL;
        void *residual_out = cs->residual ? value_data(plan, cs->residual_output) : NULL;
        DLP_TRY(run_fused(context, plan, cs, &choice, in, out, shortcut, residual_out, fused));
        cs->ran_fused = *fused;
        if (*fused) return DLP_OK;
    }
    const float one = 1.0f, zero = 0.0f;
    cudnnStatus_t status = cudnnConvolutionForward(context->cudnn, &one, cs->x_desc, in, cs->w_desc, cs->weights[0],
                                                   cs->conv_desc, (cudnnConvolutionFwdAlgo_t)choice.algorithm,
                                                   state->workspace, choice.workspace_bytes, &zero, cs->y_desc, out);
    *refused = cudnn_refused(status) && writes_slice(step, cs);
    if (!*refused) CUDNN_TRY(status);
    return DLP_OK;
}

/* *fused: whether bias and activation were applied too. The output goes to
 * out, or with cs->slice_stride (set here when cuDNN refuses to write the
 * slice strided) to packed_output, for run_conv to copy. */
static dlp_status run_cudnn_conv(cuda_context *context, dlp_plan *plan, const plan_step *step, cuda_step *cs,
                                 const void *in, void *out, int n, bool *fused)
{
    cuda_plan_state *state = plan->backend_state;
    dlp_shape is = step->input_shapes[0];
    *fused = false;
    if (cs->staged) {
        int top = cs->explicit_pad ? cs->pad_top : 0, left = cs->explicit_pad ? cs->pad_left : 0;
        CUDA_TRY(dlp_cuda_pad_typed(context->storage, in, n, is.h, is.w, is.c, state->scratch, cs->conv_input.h,
                                    cs->conv_input.w, cs->conv_input.c, top, left, context->stream));
        in = state->scratch;
    }
    bool refused = false;
    DLP_TRY(convolve(context, plan, step, cs, in, out, n, fused, &refused));
    if (!refused) return DLP_OK;
    DLP_TRY(write_packed(context, plan, state, step, cs));
    DLP_TRY(convolve(context, plan, step, cs, in, out, n, fused, &refused));
    return refused ? dlp_fail(DLP_ERR_INTERNAL, "cuda backend: conv \"%s\": cuDNN refused a packed output",
                              step->name)
                   : DLP_OK;
}

static dlp_status run_conv(cuda_context *context, dlp_plan *plan, const plan_step *step, cuda_step *cs,
                           const void *in, void *out, int n)
{
    const dlp_conv2d_params *p = &step->params.conv;
    dlp_shape is = step->input_shapes[0], os = step->output_shape;
    size_t rows = (size_t)n * os.h * os.w;
    bool fused = false;
    if (cs->path == CONV_GEMM)
        DLP_TRY(gemm(context, in, (size_t)n * is.h * is.w, is.c, cs->weights[0], p->filters, out, cs->out_stride));
    else
        DLP_TRY(run_cudnn_conv(context, plan, step, cs, in, out, n, &fused));
    if (cs->slice_stride) {
        /* Written packed (write_packed): finish there, then copy into the slice. */
        const cuda_plan_state *state = plan->backend_state;
        if (!fused)
            DLP_TRY(apply_activation(context, state->packed_output, rows, os.c, (size_t)os.c, cs->weights[1],
                                     p->activation));
        CUDA_TRY(dlp_cuda_concat_slice_typed(context->storage, state->packed_output, rows, os.c, out,
                                             cs->slice_stride, 0, context->stream));
        return DLP_OK;
    }
    if (fused) return DLP_OK;
    return apply_activation(context, out, rows, os.c, (size_t)cs->out_stride, cs->weights[1], p->activation);
}

static dlp_cuda_window window_of(int n, dlp_shape is, dlp_shape os, int kernel_h, int kernel_w, int stride_h,
                                 int stride_w, dlp_padding padding)
{
    dlp_cuda_window g = {n, is.h, is.w, is.c, os.h, os.w, os.c, kernel_h, kernel_w, stride_h, stride_w, 0, 0, 0, 0, 0};
    g.pad_top = dlp_conv_pad_before(is.h, kernel_h, stride_h, padding);
    g.pad_left = dlp_conv_pad_before(is.w, kernel_w, stride_w, padding);
    return g;
}

/* A pooling's window; with a folded ZeroPadding2D (then 'valid') the
 * padding is the pad's and the padded taps are zeros. */
static dlp_cuda_window pool_window_of(int n, const plan_step *step)
{
    const dlp_pool_params *p = &step->params.pool;
    const dlp_zero_pad_params *pad = &step->input_pad;
    dlp_cuda_window g = window_of(n, step->input_shapes[0], step->output_shape, p->pool_h, p->pool_w, p->stride_h,
                                  p->stride_w, p->padding);
    if (pad->top || pad->bottom || pad->left || pad->right) {
        g.pad_top = pad->top, g.pad_left = pad->left;
        g.zero_taps = 1;
    }
    return g;
}

static dlp_status run_multi_input(cuda_context *context, const dlp_plan *plan, const plan_step *step, void *out,
                                  size_t pixels)
{
    dlp_cuda_storage storage = context->storage;
    if (step->input_count > DLP_CUDA_MAX_INPUTS)
        return dlp_fail(DLP_ERR_UNSUPPORTED, "cuda backend: %s of %d inputs (at most %d)", dlp_op_name(step->op),
                        step->input_count, DLP_CUDA_MAX_INPUTS);
    const void *inputs[DLP_CUDA_MAX_INPUTS];
    for (int i = 0; i < step->input_count; i++) inputs[i] = value_data(plan, step->inputs[i]);
    if (step->op == DLP_OP_ADD) {
        CUDA_TRY(dlp_cuda_add_typed(storage, inputs, step->input_count, pixels * step->output_shape.c, out,
                                    context->stream));
        return DLP_OK;
    }
    /* Inputs planned as slices of the output are there already; the
     * output itself may be a slice of an outer concatenation's buffer. */
    int offset = 0, stride = (int)plan_pixel_stride(plan, step->output, step->output_shape.c);
    for (int i = 0; i < step->input_count; i++) {
        if (!plan_concat_input_in_place(plan, step, i))
            CUDA_TRY(dlp_cuda_concat_slice_typed(storage, inputs[i], pixels, step->input_shapes[i].c, out, stride,
                                                 offset, context->stream));
        offset += step->input_shapes[i].c;
    }
    return DLP_OK;
}

static dlp_status run_step_now(dlp_backend *backend, dlp_plan *plan, const plan_step *step, int n)
{
    cuda_context *context = context_of(backend);
    cuda_plan_state *state = plan->backend_state;
    cuda_step *cs = &state->steps[step - plan->steps];
    const void *in = value_data(plan, step->inputs[0]);
    void *out = value_data(plan, step->output);
    dlp_shape is = step->input_shapes[0], os = step->output_shape;
    size_t pixels = (size_t)n * os.h * os.w;
    cudaStream_t stream = context->stream;
    dlp_cuda_storage storage = context->storage;
    if (cs->skip) return DLP_OK; /* absorbed by a residual conv */
    /* The ops added for users' Keras models: src/backend/cuda/ops_extra_cuda.c (fp32 kernels). */
    if (device_extra_step_handled(step)) {
        if (context->options.precision != DLP_CUDA_FP32)
            return dlp_fail(DLP_ERR_UNSUPPORTED, "cuda backend: %s runs in fp32 only", dlp_op_name(step->op));
        return cuda_extra_run_plan_step(plan, step, state->arena, (const float *const *)cs->weights, n, stream);
    }
    switch (step->op) {
    case DLP_OP_CONV2D: return run_conv(context, plan, step, cs, in, out, n);
    case DLP_OP_DEPTHWISE_CONV2D: {
        const dlp_conv2d_params *p = &step->params.conv;
        dlp_cuda_window g = window_of(n, is, os, p->kernel_h, p->kernel_w, p->stride_h, p->stride_w, p->padding);
        g.input_relu = step->input_relu;
        CUDA_TRY(dlp_cuda_depthwise_conv2d_typed(storage, &g, in, cs->weights[0], cs->weights[1], out,
                                                 context->unrolled_3x3, stream));
        return apply_activation(context, out, pixels, os.c, (size_t)os.c, NULL, p->activation);
    }
    case DLP_OP_DENSE:
        DLP_TRY(gemm(context, in, pixels, is.c, cs->weights[0], step->params.dense.units, out, os.c));
        return apply_activation(context, out, pixels, os.c, (size_t)os.c, cs->weights[1],
                                step->params.dense.activation);
    case DLP_OP_BATCHNORM:
        CUDA_TRY(dlp_cuda_channel_affine_typed(storage, in, out, pixels, os.c, cs->weights[0], cs->weights[1], stream));
        return DLP_OK;
    case DLP_OP_ACTIVATION:
        if (step->params.activation == DLP_ACT_SOFTMAX)
            CUDA_TRY(dlp_cuda_softmax_typed(storage, in, out, pixels, os.c, stream));
        else
            CUDA_TRY(dlp_cuda_bias_activation_typed(storage, in, out, pixels, os.c, NULL, (int)step->params.activation,
                                                    stream));
        return DLP_OK;
    case DLP_OP_MAX_POOL:
    case DLP_OP_AVG_POOL: {
        dlp_cuda_window g = pool_window_of(n, step);
        g.out_stride = cs->out_stride;
        CUDA_TRY(dlp_cuda_pool_typed(storage, &g, step->op == DLP_OP_MAX_POOL, in, out, context->unrolled_3x3,
                                     stream));
        return DLP_OK;
    }
    case DLP_OP_GLOBAL_AVG_POOL:
    case DLP_OP_GLOBAL_MAX_POOL:
        CUDA_TRY(dlp_cuda_global_pool_typed(storage, step->op == DLP_OP_GLOBAL_MAX_POOL, in, n, (size_t)is.h * is.w,
                                            is.c, out, stream));
        return DLP_OK;
    case DLP_OP_ZERO_PAD:
        CUDA_TRY(dlp_cuda_zero_pad_typed(storage, in, n, is.h, is.w, is.c, out, os.h, os.w, step->params.pad.top,
                                         step->params.pad.left, stream));
        return DLP_OK;
    case DLP_OP_CONCAT:
    case DLP_OP_ADD: return run_multi_input(context, plan, step, out, pixels);
    case DLP_OP_FLATTEN:
    case DLP_OP_IDENTITY:
        if (out != in)
            CUDA_TRY(cudaMemcpyAsync(out, in, pixels * os.c * context->element_bytes, cudaMemcpyDeviceToDevice,
                                     stream));
        return DLP_OK;
    default:
        return dlp_fail(DLP_ERR_UNSUPPORTED, "cuda backend: op %s is not implemented on CUDA (run it on the cpu backend)",
                        dlp_op_name(step->op));
    }
}

/* The graph slot of batch size n (added on first sight); NULL when full. */
static int graph_slot(cuda_plan_state *state, int n)
{
    for (int g = 0; g < state->graph_count; g++)
        if (state->graphs[g].batch == n) return g;
    if (state->graph_count == MAX_GRAPHS) return -1;
    int g = state->graph_count++;
    memset(&state->graphs[g], 0, sizeof state->graphs[g]);
    state->graphs[g].batch = n;
    return g;
}

/* Ends a capture that failed at step last (or could not be instantiated or
 * launched): nothing was executed while recording, so steps 0..last run
 * again, launched one by one; this batch size is not captured again. */
static dlp_status abandon_capture(dlp_backend *backend, dlp_plan *plan, int slot, int last, int n)
{
    cuda_context *context = context_of(backend);
    cuda_plan_state *state = plan->backend_state;
    snprintf(plan->graph_failure, sizeof plan->graph_failure, "batch %d, layer \"%s\": %s", n,
             plan->steps[last].name, dlp_last_error());
    plan->graphs_abandoned++;
    cudaGraph_t graph = NULL;
    cudaStreamEndCapture(context->stream, &graph);
    if (graph) cudaGraphDestroy(graph);
    (void)cudaGetLastError();
    state->capturing = false;
    state->graphs[slot].captured = -1;
    for (int s = 0; s <= last; s++) {
        dlp_status status = run_step_now(backend, plan, &plan->steps[s], n);
        if (status != DLP_OK) return dlp_fail_context(status, "layer \"%s\"", plan->steps[s].name);
    }
    return DLP_OK;
}

/* At the last step of a recorded run: instantiate the graph, then launch it
 * (recording executed nothing). Any failure: the caller abandons the capture. */
static dlp_status finish_capture(cuda_context *context, cuda_plan_state *state, int slot)
{
    cudaGraph_t graph = NULL;
    state->capturing = false;
    CUDA_TRY(cudaStreamEndCapture(context->stream, &graph));
    cudaError_t error = cudaGraphInstantiate(&state->graphs[slot].exec, graph, 0);
    cudaGraphDestroy(graph);
    CUDA_TRY(error);
    error = cudaGraphLaunch(state->graphs[slot].exec, context->stream);
    if (error != cudaSuccess) {
        cudaGraphExecDestroy(state->graphs[slot].exec);
        state->graphs[slot].exec = NULL;
    }
    CUDA_TRY(error);
    state->graphs[slot].captured = 1;
    return DLP_OK;
}

/* With cuda_graphs: the first run at a batch size launches step by step
 * (choosing and caching algorithms, sizing the workspace), the second is
 * recorded into a graph, later ones replay it at step 0 and skip the rest.
 * The input upload happens before step 0, outside the graph, into the same
 * arena address every time. */
static dlp_status cuda_run_step(dlp_backend *backend, dlp_plan *plan, const plan_step *step, int n)
{
    cuda_context *context = context_of(backend);
    cuda_plan_state *state = plan->backend_state;
    if (!context->options.cuda_graphs) return run_step_now(backend, plan, step, n);
    int index = (int)(step - plan->steps), last = plan->step_count - 1;
    int slot = graph_slot(state, n);
    if (slot < 0) return run_step_now(backend, plan, step, n);
    if (index == 0) {
        state->replaying = state->capturing = false;
        if (state->graphs[slot].captured == 1) {
            CUDA_TRY(cudaSetDevice(context->device));
            CUDA_TRY(cudaGraphLaunch(state->graphs[slot].exec, context->stream));
            state->replaying = true;
            plan->graph_replays++;
        } else if (state->graphs[slot].captured == 0 && state->graphs[slot].runs++ >= 1) {
            CUDA_TRY(cudaSetDevice(context->device));
            CUDA_TRY(cudaStreamBeginCapture(context->stream, cudaStreamCaptureModeThreadLocal));
            state->capturing = true;
        }
    }
    if (state->replaying) {
        if (index == last) state->replaying = false;
        return DLP_OK;
    }
    dlp_status status = run_step_now(backend, plan, step, n);
    if (!state->capturing) return status;
    if (status != DLP_OK) return abandon_capture(backend, plan, slot, index, n);
    if (index == last && finish_capture(context, state, slot) != DLP_OK)
        return abandon_capture(backend, plan, slot, last, n);
    return DLP_OK;
}

/* Queues the copy of value (converted to float) to dst behind the work queued so far. */
static dlp_status queue_download(dlp_backend *backend, const dlp_plan *plan, int value, float *dst, size_t floats)
{
    cuda_context *context = context_of(backend);
    const cuda_plan_state *state = plan->backend_state;
    CUDA_TRY(cudaSetDevice(context->device));
    const void *source = value_data(plan, value);
    if (context->storage != DLP_CUDA_STORAGE_F32) {
        if (floats > state->output_staging_floats)
            return dlp_fail(DLP_ERR_INTERNAL, "cuda backend: download of %zu floats, staging holds %zu", floats,
                            state->output_staging_floats);
        CUDA_TRY(dlp_cuda_convert(context->storage, source, DLP_CUDA_STORAGE_F32, state->output_staging, floats,
                                  context->stream));
        source = state->output_staging;
    }
    CUDA_TRY(cudaMemcpyAsync(dst, source, floats * sizeof(float), cudaMemcpyDeviceToHost, context->stream));
    return DLP_OK;
}

static dlp_status cuda_download(dlp_backend *backend, const dlp_plan *plan, int value, float *dst, size_t floats)
{
    DLP_TRY(queue_download(backend, plan, value, dst, floats));
    CUDA_TRY(cudaStreamSynchronize(context_of(backend)->stream));
    return DLP_OK;
}

static dlp_status cuda_download_async(dlp_backend *backend, const dlp_plan *plan, int value, float *dst,
                                      size_t floats, uint64_t *ticket)
{
    cuda_context *context = context_of(backend);
    DLP_TRY(queue_download(backend, plan, value, dst, floats));
    *ticket = context->downloads++;
    CUDA_TRY(cudaEventRecord(context->downloaded[*ticket % DOWNLOAD_EVENTS], context->stream));
    return DLP_OK;
}

static dlp_status cuda_wait_download(dlp_backend *backend, uint64_t ticket)
{
    cuda_context *context = context_of(backend);
    CUDA_TRY(cudaSetDevice(context->device));
    CUDA_TRY(cudaEventSynchronize(context->downloaded[ticket % DOWNLOAD_EVENTS]));
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
            if (context->consumed[slot]) cudaEventDestroy(context->consumed[slot]);
        }
        for (int i = 0; i < DOWNLOAD_EVENTS; i++)
            if (context->downloaded[i]) cudaEventDestroy(context->downloaded[i]);
        if (context->copy_stream) cudaStreamDestroy(context->copy_stream);
        if (context->cublas) cublasDestroy(context->cublas);
        cudaFree(context->cublas_workspace);
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
    for (int slot = 0; slot < 2; slot++) {
        CUDA_TRY(cudaEventCreateWithFlags(&context->copied[slot], cudaEventDisableTiming));
        CUDA_TRY(cudaEventCreateWithFlags(&context->consumed[slot], cudaEventDisableTiming));
    }
    for (int i = 0; i < DOWNLOAD_EVENTS; i++)
        CUDA_TRY(cudaEventCreateWithFlags(&context->downloaded[i], cudaEventDisableTiming | cudaEventBlockingSync));
    CUDNN_TRY(cudnnCreate(&context->cudnn));
    CUDNN_TRY(cudnnSetStream(context->cudnn, context->stream));
    CUBLAS_TRY(cublasCreate(&context->cublas));
    CUBLAS_TRY(cublasSetStream(context->cublas, context->stream));
    if (context->options.cuda_graphs) {
        DLP_TRY(device_alloc(&context->cublas_workspace, CUBLAS_WORKSPACE, "the cuBLAS workspace"));
        CUBLAS_TRY(cublasSetWorkspace(context->cublas, context->cublas_workspace, CUBLAS_WORKSPACE));
    }
    /* Without TF32: cuBLAS' pedantic mode keeps sgemm in full fp32; fp16/bf16
     * GemmEx take the default (tensor cores, fp32 accumulation). */
    cublasMath_t math = context->options.allow_tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_PEDANTIC_MATH;
    if (context->storage != DLP_CUDA_STORAGE_F32) math = CUBLAS_DEFAULT_MATH;
    CUBLAS_TRY(cublasSetMathMode(context->cublas, math));
    return DLP_OK;
}

static void set_storage(cuda_context *context)
{
    switch (context->options.precision) {
    case DLP_CUDA_FP16:
        context->storage = DLP_CUDA_STORAGE_F16, context->cudnn_type = CUDNN_DATA_HALF, context->blas_type = CUDA_R_16F;
        break;
    case DLP_CUDA_BF16:
        context->storage = DLP_CUDA_STORAGE_BF16, context->cudnn_type = CUDNN_DATA_BFLOAT16;
        context->blas_type = CUDA_R_16BF;
        break;
    default:
        context->storage = DLP_CUDA_STORAGE_F32, context->cudnn_type = CUDNN_DATA_FLOAT, context->blas_type = CUDA_R_32F;
    }
    context->element_bytes = context->storage == DLP_CUDA_STORAGE_F32 ? sizeof(float) : sizeof(uint16_t);
    /* fp16/bf16 always use tensor cores; allow_tf32 means nothing there. */
    if (context->storage != DLP_CUDA_STORAGE_F32) context->options.allow_tf32 = false;
}

/* dlp_backend.folds_zero_pad: device_zero_pad_folds unless switched off. */
static bool cuda_folds_zero_pad(const dlp_backend *backend, const plan_step *consumer, const dlp_zero_pad_params *pad)
{
    const cuda_context *context = backend->context;
    return !context->options.keep_zero_pad_steps && device_zero_pad_folds(consumer, pad);
}

/* dlp_backend.writes_strided: device_writes_strided, with concat_slices. */
static bool cuda_writes_strided(const dlp_backend *backend, const plan_step *producer)
{
    const cuda_context *context = backend->context;
    return context->options.concat_slices &&
           device_writes_strided(producer, context->storage != DLP_CUDA_STORAGE_F32);
}

/* dlp_backend.describe_step: a cuDNN convolution's last algorithm, e.g.
 * "algo=IMPLICIT_PRECOMP_GEMM math=FMA workspace=1.5MiB fused residual"
 * (residual: it added the shortcut of a block ending, find_residuals). */
static void cuda_describe_step(const dlp_backend *backend, const dlp_plan *plan, const plan_step *step, char *text,
                               size_t capacity)
{
    static const char *const algorithms[] = {"IMPLICIT_GEMM", "IMPLICIT_PRECOMP_GEMM", "GEMM", "DIRECT", "FFT",
                                             "FFT_TILING", "WINOGRAD", "WINOGRAD_NONFUSED"};
    static const char *const maths[] = {"DEFAULT", "TENSOR_OP", "TENSOR_OP_ALLOW_CONVERSION", "FMA"};
    (void)backend;
    const cuda_plan_state *state = plan->backend_state;
    const cuda_step *cs = state ? &state->steps[step - plan->steps] : NULL;
    if (capacity) text[0] = '\0';
    if (!cs || cs->path != CONV_CUDNN || !cs->chosen) return;
    int algorithm = cs->last_choice.algorithm, math = cs->last_choice.math_type;
    bool named_algorithm = algorithm >= 0 && algorithm < (int)(sizeof algorithms / sizeof *algorithms);
    bool named_math = math >= 0 && math < (int)(sizeof maths / sizeof *maths);
    snprintf(text, capacity, "algo=%s math=%s workspace=%.1fMiB%s%s", named_algorithm ? algorithms[algorithm] : "?",
             named_math ? maths[math] : "?", (double)cs->last_choice.workspace_bytes / (1 << 20),
             cs->ran_fused ? " fused" : "", cs->ran_fused && cs->residual ? " residual" : "");
}

/* DLP_CUDA_SEARCH=heuristic|timed overrides the algorithm search (for
 * ablations of a program that does not expose it: the featurizer); unset
 * or empty keeps *search. */
static dlp_status search_from_environment(dlp_cuda_algorithm_search *search)
{
    const char *value = getenv("DLP_CUDA_SEARCH");
    if (!value || !*value) return DLP_OK;
    if (strcmp(value, "heuristic") == 0) *search = DLP_CUDA_SEARCH_HEURISTIC;
    else if (strcmp(value, "timed") == 0) *search = DLP_CUDA_SEARCH_TIMED;
    else
        return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "cuda backend: DLP_CUDA_SEARCH is \"%s\": expected heuristic or timed",
                        value);
    return DLP_OK;
}

/* DLP_CUDA_WORKSPACE_MIB=N (1 to 1048576) overrides the cuDNN workspace cap
 * (for ablations, or to bound fp32's share of free memory); unset or empty
 * keeps *cap (0: device_workspace_cap's default, per plan). */
static dlp_status workspace_from_environment(size_t *cap)
{
    const char *value = getenv("DLP_CUDA_WORKSPACE_MIB");
    if (!value || !*value) return DLP_OK;
    char *end = NULL;
    errno = 0;
    long mib = strtol(value, &end, 10);
    if (errno || end == value || *end || mib < 1 || mib > (1L << 20))
        return dlp_fail(DLP_ERR_INVALID_ARGUMENT,
                        "cuda backend: DLP_CUDA_WORKSPACE_MIB is \"%s\": expected a whole number of MiB from 1 to "
                        "1048576", value);
    *cap = (size_t)mib << 20;
    return DLP_OK;
}

dlp_status dlp_backend_create_cuda(int device, const dlp_cuda_options *options, dlp_backend **out)
{
    *out = NULL;
    dlp_cuda_options defaults = {DLP_CUDA_FP32, false, 0, DLP_CUDA_SEARCH_HEURISTIC, false, false, false, false, false};
    if (!options) options = &defaults;
    if (options->precision != DLP_CUDA_FP32 && options->precision != DLP_CUDA_FP16 &&
        options->precision != DLP_CUDA_BF16)
        return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "cuda backend: precision %d: expected fp32, fp16 or bf16",
                        (int)options->precision);
    if (options->search != DLP_CUDA_SEARCH_HEURISTIC && options->search != DLP_CUDA_SEARCH_TIMED)
        return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "cuda backend: algorithm search %d: expected heuristic or timed",
                        (int)options->search);
    dlp_cuda_algorithm_search search = options->search;
    DLP_TRY(search_from_environment(&search));
    size_t workspace_cap = options->workspace_cap_bytes;
    DLP_TRY(workspace_from_environment(&workspace_cap));
    dlp_backend *backend = calloc(1, sizeof *backend);
    cuda_context *context = calloc(1, sizeof *context);
    if (!backend || !context) {
        free(backend), free(context);
        return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "cuda backend: out of memory");
    }
    context->device = device;
    context->options = *options;
    context->options.search = search;
    context->options.workspace_cap_bytes = workspace_cap;
    /* The environment overrides graphs, slices, the search and the workspace cap (README:
     * "Environment"), and forces the slice fallback for the tests. */
    context->options.cuda_graphs = dlp_env_switch("DLP_CUDA_GRAPHS", context->options.cuda_graphs);
    context->options.concat_slices = dlp_env_switch("DLP_CUDA_CONCAT_SLICES", context->options.concat_slices);
    context->packed_slices = dlp_env_switch("DLP_CUDA_PACKED_SLICES", false);
    context->fp32_transforms = dlp_env_switch("DLP_CUDA_FP32_TRANSFORMS", false);
    context->unrolled_3x3 = dlp_env_switch("DLP_CUDA_UNROLLED_3X3", true);
    set_storage(context);
    backend->name = "cuda";
    backend->context = context;
    backend->activation_bytes = context->element_bytes;
    backend->prepare = cuda_prepare;
    backend->upload_input = cuda_upload_input;
    backend->stage_images = cuda_stage_images;
    backend->upload_staged_images = cuda_upload_staged_images;
    backend->run_step = cuda_run_step;
    backend->folds_zero_pad = cuda_folds_zero_pad;
    backend->writes_strided = cuda_writes_strided;
    backend->describe_step = cuda_describe_step;
    backend->slice_alignment = (int)(16 / context->element_bytes);
    backend->download = cuda_download;
    backend->download_async = cuda_download_async;
    backend->wait_download = cuda_wait_download;
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

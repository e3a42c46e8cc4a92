/* dlp/graph.h: network graphs (build, then plan, then run), the backends that
 * run them, and the model zoo that builds graphs from Keras weights.
 * A graph holds one node per Keras layer (NHWC, float32, per-image shapes);
 * a plan compiles it for one backend and batch size (batch norm folded,
 * activations fused, one activation arena) and runs it. */
#ifndef DLP_GRAPH_H
#define DLP_GRAPH_H

#include <stdbool.h>

#include "dlp/core.h"
#include "dlp/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Op parameters: plain structs, read as-is by every backend. ---- */

typedef enum dlp_op {
    DLP_OP_INPUT = 0,
    DLP_OP_CONV2D,           /* weights: kernel [kh,kw,cin,cout] (HWIO), bias [cout] if use_bias */
    DLP_OP_DEPTHWISE_CONV2D, /* weights: depthwise_kernel [kh,kw,cin,mult], bias [cin*mult] if use_bias */
    DLP_OP_DENSE,            /* weights: kernel [in,out], bias [out]; applied to the last axis */
    DLP_OP_BATCHNORM,        /* weights: gamma (if scale), beta (if center), moving_mean, moving_variance */
    DLP_OP_ACTIVATION,
    DLP_OP_MAX_POOL,
    DLP_OP_AVG_POOL,         /* 'same' divides by the number of valid inputs (TensorFlow) */
    DLP_OP_GLOBAL_AVG_POOL,  /* output 1x1xC */
    DLP_OP_GLOBAL_MAX_POOL,
    DLP_OP_CONCAT,           /* along channels */
    DLP_OP_ADD,
    DLP_OP_ZERO_PAD,
    DLP_OP_FLATTEN,          /* NHWC row-major: output 1x1x(H*W*C), no data movement */
    DLP_OP_IDENTITY,         /* Dropout and friends at inference */
    DLP_OP_SEPARABLE_CONV2D, /* weights: depthwise_kernel [kh,kw,cin,mult], pointwise_kernel [1,1,cin*mult,cout],
                                bias [cout] if use_bias; planned as a depthwise step then a 1x1 conv step */
    /* Added for user Keras models (src/models/keras_config.c; CPU: src/backend/cpu/ops_extra.c). */
    DLP_OP_RELU,             /* Keras ReLU/LeakyReLU with max_value, negative_slope, threshold */
    DLP_OP_RESHAPE,          /* same elements, new per-image shape: no data movement */
    DLP_OP_PERMUTE,          /* per-image transpose of (h, w, c) */
    DLP_OP_CROP,             /* Cropping2D: rows/columns dropped from each side */
    DLP_OP_SUBTRACT,         /* elementwise, 2 inputs of one shape */
    DLP_OP_MULTIPLY,         /* elementwise, inputs of one shape */
    DLP_OP_AVERAGE,
    DLP_OP_MAXIMUM,
    DLP_OP_CONCAT_AXIS,      /* concatenation along h (axis 0) or w (axis 1); channels use DLP_OP_CONCAT */
    DLP_OP_CHANNEL_AFFINE,   /* weights: scale [c], shift [c]: y = x*scale + shift (Rescaling, Normalization) */
    DLP_OP_COUNT
} dlp_op;

typedef enum dlp_activation {
    DLP_ACT_LINEAR = 0,
    DLP_ACT_RELU,
    DLP_ACT_RELU6,
    DLP_ACT_SIGMOID,
    DLP_ACT_TANH,
    DLP_ACT_SOFTMAX, /* over the channel (last) axis */
    /* Added for user Keras models; not fused into conv/dense (separate steps). */
    DLP_ACT_ELU,          /* alpha 1 */
    DLP_ACT_SELU,         /* Klambauer et al. constants, as tf.nn.selu */
    DLP_ACT_SWISH,        /* x*sigmoid(x): Keras "swish" and "silu" */
    DLP_ACT_GELU,         /* exact: x/2*(1+erf(x/sqrt 2)), Keras "gelu" */
    DLP_ACT_GELU_TANH,    /* gelu(approximate=True), TF.js "gelu_new" */
    DLP_ACT_HARD_SIGMOID, /* tf-keras 2.18: clip(0.2x+0.5, 0, 1) */
    DLP_ACT_SOFTPLUS,     /* log(1+exp(x)) */
    DLP_ACT_HARD_SIGMOID_RELU6, /* Keras 3's hard_sigmoid: relu6(x+3)/6 */
    DLP_ACT_COUNT
} dlp_activation;

typedef enum dlp_padding { DLP_PAD_VALID = 0, DLP_PAD_SAME } dlp_padding;

/* 'same' follows TensorFlow: output ceil(in/stride), total padding
 * max((out-1)*stride + k - in, 0), the extra pixel at the bottom/right. */
typedef struct dlp_conv2d_params {
    int kernel_h, kernel_w;
    int stride_h, stride_w;
    dlp_padding padding;
    int filters;    /* conv2d: cout; depthwise: depth multiplier */
    bool use_bias;
    dlp_activation activation;
} dlp_conv2d_params;

typedef struct dlp_dense_params {
    int units;
    bool use_bias;
    dlp_activation activation;
} dlp_dense_params;

typedef struct dlp_batchnorm_params {
    float epsilon;
    bool scale;  /* has gamma */
    bool center; /* has beta */
} dlp_batchnorm_params;

typedef struct dlp_pool_params {
    int pool_h, pool_w;
    int stride_h, stride_w;
    dlp_padding padding;
} dlp_pool_params;

typedef struct dlp_zero_pad_params {
    int top, bottom, left, right;
} dlp_zero_pad_params;

/* Keras' ReLU layer (backend.relu): x > threshold passes (x >= 0 when
 * threshold is 0), clipped to [0, max_value] when has_max_value; below the
 * threshold negative_slope*(x - threshold). LeakyReLU(alpha) is
 * {negative_slope = alpha}. */
typedef struct dlp_relu_params {
    float negative_slope;
    float threshold;
    bool has_max_value;
    float max_value;
} dlp_relu_params;

/* Output axis i (0 h, 1 w, 2 c) takes input axis axes[i]. */
typedef struct dlp_permute_params {
    int axes[3];
} dlp_permute_params;

/* Output extent of a conv/pool along one axis; 0 when the window does not fit. */
int dlp_conv_output_size(int input, int kernel, int stride, dlp_padding padding);
/* Padding before (top/left) TensorFlow applies along one axis for 'same'. */
int dlp_conv_pad_before(int input, int kernel, int stride, dlp_padding padding);

const char *dlp_op_name(dlp_op op);
const char *dlp_activation_name(dlp_activation activation);
/* Keras' spelling ("relu", "softmax", "linear", ...); DLP_ERR_UNSUPPORTED otherwise. */
dlp_status dlp_activation_from_name(const char *name, dlp_activation *activation);

/* ---- Graphs ---- */

typedef struct dlp_graph dlp_graph;

/* Per-image shape: NHWC without N. Dense and flatten outputs are 1x1xC. */
typedef struct dlp_shape {
    int h, w, c;
} dlp_shape;

dlp_status dlp_graph_create(dlp_graph **graph);
void dlp_graph_destroy(dlp_graph *graph);

/* Node builders. Each infers the output shape and fails (naming the layer and
 * the shapes) when the inputs do not fit; the new node's id goes to *node.
 * Names are Keras layer names and must be unique. Weight-bearing nodes start
 * with zero weights: fill them with dlp_graph_set_weight or bind them with
 * dlp_graph_bind_weights_by_order. Limit: a node's per-image output and each
 * weight hold at most 2^31 - 1 elements; a larger one (however its dims
 * multiply) is refused with DLP_ERR_LIMIT before anything is allocated. */
dlp_status dlp_graph_input(dlp_graph *graph, const char *name, dlp_shape shape, int *node);
dlp_status dlp_graph_conv2d(dlp_graph *graph, const char *name, int input, const dlp_conv2d_params *params,
                            int *node);
dlp_status dlp_graph_depthwise_conv2d(dlp_graph *graph, const char *name, int input,
                                      const dlp_conv2d_params *params, int *node);
/* Keras SeparableConv2D: params->filters is the pointwise output channels,
 * the stride and padding apply to the depthwise part (as tf.nn.separable_conv2d). */
dlp_status dlp_graph_separable_conv2d(dlp_graph *graph, const char *name, int input, const dlp_conv2d_params *params,
                                      int depth_multiplier, int *node);
dlp_status dlp_graph_dense(dlp_graph *graph, const char *name, int input, const dlp_dense_params *params, int *node);
dlp_status dlp_graph_batchnorm(dlp_graph *graph, const char *name, int input, const dlp_batchnorm_params *params,
                               int *node);
dlp_status dlp_graph_activation(dlp_graph *graph, const char *name, int input, dlp_activation activation, int *node);
dlp_status dlp_graph_pool(dlp_graph *graph, const char *name, dlp_op op, int input, const dlp_pool_params *params,
                          int *node); /* op: DLP_OP_MAX_POOL or DLP_OP_AVG_POOL */
/* op: DLP_OP_GLOBAL_AVG_POOL, DLP_OP_GLOBAL_MAX_POOL, DLP_OP_FLATTEN or DLP_OP_IDENTITY */
dlp_status dlp_graph_unary(dlp_graph *graph, const char *name, dlp_op op, int input, int *node);
dlp_status dlp_graph_concat(dlp_graph *graph, const char *name, const int *inputs, int input_count, int *node);
dlp_status dlp_graph_add(dlp_graph *graph, const char *name, const int *inputs, int input_count, int *node);
dlp_status dlp_graph_zero_pad(dlp_graph *graph, const char *name, int input, const dlp_zero_pad_params *params,
                              int *node);
/* Added for user Keras models (src/graph/graph_extra.c). */
dlp_status dlp_graph_relu(dlp_graph *graph, const char *name, int input, const dlp_relu_params *params, int *node);
/* shape must hold as many elements as the input. */
dlp_status dlp_graph_reshape(dlp_graph *graph, const char *name, int input, dlp_shape shape, int *node);
dlp_status dlp_graph_permute(dlp_graph *graph, const char *name, int input, const dlp_permute_params *params,
                             int *node);
/* Cropping2D: the amounts removed from each side. */
dlp_status dlp_graph_crop(dlp_graph *graph, const char *name, int input, const dlp_zero_pad_params *params, int *node);
/* op: DLP_OP_ADD, DLP_OP_SUBTRACT (exactly 2 inputs), DLP_OP_MULTIPLY, DLP_OP_AVERAGE or DLP_OP_MAXIMUM;
 * the inputs must have one shape. */
dlp_status dlp_graph_elementwise(dlp_graph *graph, const char *name, dlp_op op, const int *inputs, int input_count,
                                 int *node);
/* axis 0 (h), 1 (w) or 2 (c, the same as dlp_graph_concat); the other axes must agree. */
dlp_status dlp_graph_concat_axis(dlp_graph *graph, const char *name, const int *inputs, int input_count, int axis,
                                 int *node);
/* y = x*scale[c] + shift[c], weights "scale" and "shift" [c] (start 1 and 0). */
dlp_status dlp_graph_channel_affine(dlp_graph *graph, const char *name, int input, int *node);

int dlp_graph_node_count(const dlp_graph *graph);
/* -1 when absent. */
int dlp_graph_find(const dlp_graph *graph, const char *name);
const char *dlp_graph_node_name(const dlp_graph *graph, int node);
dlp_op dlp_graph_node_op(const dlp_graph *graph, int node);
dlp_shape dlp_graph_node_shape(const dlp_graph *graph, int node);
/* The weight layer bound to this node by dlp_graph_bind_weights_by_order (its
 * name in the weight file, e.g. "conv2d_7"), or NULL. */
const char *dlp_graph_node_weight_source(const dlp_graph *graph, int node);
/* Elements per image of a node's output. */
size_t dlp_shape_elements(dlp_shape shape);

/* Weight slots: "kernel", "bias", "depthwise_kernel", "gamma", "beta",
 * "moving_mean", "moving_variance". Fails naming the node, the slot, the
 * expected and found shapes when they differ. */
dlp_status dlp_graph_set_weight(dlp_graph *graph, int node, const char *slot, const dlp_named_tensor *tensor);

/* Keras' model.layers order of the weight-bearing nodes (what Keras loads
 * legacy weight files by): layers sorted by decreasing depth from the outputs,
 * ties broken by discovery order of a depth-first walk from the outputs
 * (tf-keras functional.py _map_graph_network). *order receives up to capacity
 * node ids; *count the number of weight-bearing nodes. */
dlp_status dlp_graph_keras_weight_order(const dlp_graph *graph, int *order, int capacity, int *count);

/* Binds a weight list to the graph by order of weight-bearing layers, as Keras
 * loads legacy weight files: tensors are grouped by layer (the name before the
 * last '/'); groups are ordered by the list's "model_config" metadata when
 * present (Keras' layer order; TF.js manifests are sorted by name), else kept
 * in list order. Slots within a group are matched by name suffix. Every shape
 * is checked; a mismatch names the layer, the slot, expected and found.
 * allow_trailing: weight groups beyond the graph's (a model's head when
 * building its featurizer) are ignored instead of refused. */
dlp_status dlp_graph_bind_weights_by_order(dlp_graph *graph, const dlp_tensor_list *weights, bool allow_trailing,
                                           int *groups_used);

/* ---- Backends and plans ---- */

typedef struct dlp_backend dlp_backend;

/* The CPU backend: fp32 NHWC, im2col + OpenBLAS sgemm, OpenMP. threads <= 0:
 * all cores. The thread count is applied to OpenBLAS and OpenMP at each run. */
dlp_status dlp_backend_create_cpu(int threads, dlp_backend **backend);
/* OpenBLAS chooses its kernels when it loads; on a CPU model newer than the
 * OpenBLAS build it falls back to generic SSE3 ones, about 10x slower. When
 * that happened (and OPENBLAS_CORETYPE is unset), returns the
 * OPENBLAS_CORETYPE value that selects this CPU's kernels ("SkylakeX",
 * "Haswell"), else NULL. It takes effect only in a new process: set it in the
 * environment and re-execute (the dlp CLI does). */
const char *dlp_cpu_blas_coretype_hint(void);
void dlp_backend_destroy(dlp_backend *backend);

/* The CUDA backend: NHWC on one device, cuDNN convolutions, cuBLAS GEMMs,
 * dlp's own kernels for the rest (kernels/graph_ops.cu). */
typedef enum dlp_cuda_precision {
    DLP_CUDA_FP32 = 0,
    /* Activations and conv/dense weights stored as IEEE half (fp16) or
     * bfloat16 on the device, fp32 accumulation and fp32 math in dlp's own
     * kernels; the host side stays float (input converted on the device,
     * outputs converted back). ~1e-3 relative (fp16), ~1e-2 (bf16). */
    DLP_CUDA_FP16,
    DLP_CUDA_BF16
} dlp_cuda_precision;

/* How a convolution's cuDNN algorithm is chosen, once per shape and batch
 * size (then cached for the plan). */
typedef enum dlp_cuda_algorithm_search {
    DLP_CUDA_SEARCH_HEURISTIC = 0, /* cuDNN's heuristic ranking, nothing run: plans fast */
    DLP_CUDA_SEARCH_TIMED          /* every candidate run and timed (cudnnFindConvolutionForwardAlgorithm) */
} dlp_cuda_algorithm_search;

typedef struct dlp_cuda_options {
    dlp_cuda_precision precision;
    /* false (the default): full fp32 FMA math (cuDNN CUDNN_FMA_MATH, cuBLAS
     * pedantic) and only the GEMM-family convolution algorithms (no FFT or
     * Winograd). true: TF32 tensor cores and any algorithm, faster, ~1e-3.
     * Only read with DLP_CUDA_FP32 (fp16/bf16 use tensor cores anyway). */
    bool allow_tf32;
    /* Most bytes of convolution workspace per plan; 0: 256 MiB, and for
     * fp32 without TF32 a quarter of the device memory free once the plan's
     * activations are allocated where that is more (README "Environment":
     * DLP_CUDA_WORKSPACE_MIB). */
    size_t workspace_cap_bytes;
    dlp_cuda_algorithm_search search;
    /* true: a convolution with bias and relu or no activation is one cuDNN
     * call (cudnnConvolutionBiasActivationForward), and 1x1 convolutions go
     * through cuDNN too so that they fuse; false (the default): convolution,
     * then dlp's bias+activation kernel (1x1: a cuBLAS GEMM). */
    bool fuse_bias_activation;
    /* true: the second run of a plan at a batch size is captured into a CUDA
     * graph, later runs at that size replay it (one launch instead of one per
     * kernel: pays at small batches). A step that cannot be captured leaves
     * that batch size uncaptured. false (the default): kernels launched one by one.
     * DLP_CUDA_GRAPHS=1 / =0 in the environment overrides it. */
    bool cuda_graphs;
    /* Switches for ablations; false (the default) keeps each speed-up on.
     * keep_zero_pad_steps: every ZeroPadding2D runs as a step of its own
     * instead of folding into the 'valid' Conv2D (symmetric padding: cuDNN's
     * own) or pooling (padded taps count as zeros) that alone reads it.
     * keep_conv_channels: fp16/bf16 convolutions whose input channels are not
     * a multiple of 8 (ResNet50's conv1: 3) run as they are instead of on
     * zero-padded channels (tensor-core kernels). */
    bool keep_zero_pad_steps;
    bool keep_conv_channels;
    /* true: a concatenation's inputs are planned as slices of its output and
     * their producers (convolutions, poolings, inner concatenations) write
     * there, so the concatenation copies nothing (InceptionV3: 50 inputs).
     * false (the default until it has run on a GPU): each input is copied.
     * DLP_CUDA_CONCAT_SLICES=1 / =0 in the environment overrides it. */
    bool concat_slices;
} dlp_cuda_options;

/* "fp32", "tf32" (fp32 with allow_tf32), "fp16", "bf16": the CLI's
 * --precision; DLP_ERR_INVALID_ARGUMENT naming the text otherwise. */
dlp_status dlp_cuda_precision_from_name(const char *name, dlp_cuda_precision *precision, bool *allow_tf32);
/* The inverse ("tf32" for fp32 with allow_tf32). */
const char *dlp_cuda_precision_name(dlp_cuda_precision precision, bool allow_tf32);

/* options may be NULL (fp32, no TF32, the default workspace cap, heuristic, unfused). Fails
 * with DLP_ERR_DEVICE naming the cause (built without CUDA, no driver, no
 * such device, cuDNN or cuBLAS initialisation). Planning an fp16/bf16 plan
 * with an op that has no half-precision kernel fails with
 * DLP_ERR_UNSUPPORTED naming the op and layer. */
dlp_status dlp_backend_create_cuda(int device, const dlp_cuda_options *options, dlp_backend **backend);
const char *dlp_backend_name(const dlp_backend *backend);

typedef struct dlp_plan dlp_plan;

/* Compiles the part of the graph the outputs need for a batch of up to
 * max_batch images: folds batch norm into the preceding conv/dense when that
 * is its only consumer, fuses activations, plans one activation arena from
 * tensor lifetimes, uploads weights. The graph may be destroyed afterwards. */
dlp_status dlp_plan_create(const dlp_graph *graph, dlp_backend *backend, int max_batch, const char *const *outputs,
                           int output_count, dlp_plan **plan);
void dlp_plan_destroy(dlp_plan *plan);
/* input: n images, NHWC float32 of the graph's (single) input shape. */
dlp_status dlp_plan_run(dlp_plan *plan, const float *input, int n);
/* Whether every later run computes max_batch images whatever n it is given
 * (the images past n are computed from stale input and ignored; no op mixes
 * images). For a stream of full batches ending in a short one on a GPU: the
 * short batch then reuses the algorithms searched and the CUDA graph captured
 * for max_batch instead of searching (fp16/bf16: timing every convolution)
 * and capturing again. Off by default. */
void dlp_plan_run_whole_batches(dlp_plan *plan, bool whole);
dlp_shape dlp_plan_output_shape(const dlp_plan *plan, int output);
/* Copies the last run's output (n images, NHWC) to dst of capacity_floats. */
dlp_status dlp_plan_read_output(const dlp_plan *plan, int output, float *dst, size_t capacity_floats);
/* Bytes of the activation arena, and what it would take without reuse. */
size_t dlp_plan_arena_bytes(const dlp_plan *plan);
/* The arena bytes dlp_plan_create would give the plan, without creating it:
 * the steps and memory plan only, nothing allocated on or uploaded to the
 * backend (for choosing a batch size that fits). */
dlp_status dlp_plan_estimate_arena_bytes(const dlp_graph *graph, dlp_backend *backend, int max_batch,
                                         const char *const *outputs, int output_count, size_t *bytes);
size_t dlp_plan_unshared_bytes(const dlp_plan *plan);
/* Steps after folding and fusing (informational). */
int dlp_plan_step_count(const dlp_plan *plan);

/* ---- The model zoo ---- */

typedef enum dlp_pooling {
    DLP_POOLING_NONE = 0, /* the featurizer layer's 4-D output */
    DLP_POOLING_AVG,      /* global average: the default featurizer */
    DLP_POOLING_MAX,
    DLP_POOLING_FLATTEN   /* NHWC row-major, sparkdl's dims */
} dlp_pooling;

typedef enum dlp_top {
    DLP_TOP_NONE = 0,    /* featurizer: base + pooling */
    DLP_TOP_IMAGENET,    /* Keras' own head: 1000-way dense + softmax */
    DLP_TOP_DENSE_STACK  /* the weights' own head: global average pool, flatten, then one Dense per remaining
                            weight group (activations from the list's model_config, else relu and a final
                            softmax), as in nsfwjs */
} dlp_top;

typedef struct dlp_model_options {
    dlp_top top;
    dlp_pooling pooling; /* used when top == DLP_TOP_NONE */
} dlp_model_options;

typedef enum dlp_preprocessing {
    DLP_PREPROCESS_TF = 0, /* x/127.5 - 1, RGB */
    DLP_PREPROCESS_CAFFE   /* RGB->BGR, minus the ImageNet mean */
} dlp_preprocessing;

typedef struct dlp_model_info {
    const char *name;           /* "InceptionV3" */
    int input_h, input_w;
    dlp_preprocessing preprocessing;
    const char *feature_layer;  /* "mixed10" */
    dlp_shape feature_shape;    /* 8x8x2048 */
} dlp_model_info;

int dlp_zoo_count(void);
const dlp_model_info *dlp_zoo_at(int index);
/* Case-insensitive; NULL when unknown. */
const dlp_model_info *dlp_zoo_find(const char *name);
/* "none", "avg", "max", "flatten" (the CLI's --pooling and pipeline.json's spelling). */
const char *dlp_pooling_name(dlp_pooling pooling);
/* The inverse; DLP_ERR_INVALID_ARGUMENT naming the text otherwise. */
dlp_status dlp_pooling_from_name(const char *name, dlp_pooling *pooling);
/* Builds a zoo model and binds the weights (by order, shapes checked; weights
 * may be NULL for an unbound graph). The graph's last node is the model
 * output: "features" for a featurizer, "predictions" for the ImageNet top, the
 * weight file's last Dense layer name for DLP_TOP_DENSE_STACK ("dense_3");
 * the pooled base is "avg_pool" with either top (VGG's ImageNet top has none:
 * "flatten", "fc1", "fc2"). Layers carry Keras' names for dlp_plan_create
 * outputs: InceptionV3 Keras 2.2.4's auto names ("conv2d_7", "mixed5"), the
 * others tf-keras 2.18's ("conv5_block3_out", "block14_sepconv2_act", "add_3"). */
dlp_status dlp_zoo_build(const char *name, const dlp_tensor_list *weights, const dlp_model_options *options,
                         dlp_graph **graph);

/* ---- Weight importers (src/weights) ---- */

/* A TensorFlow.js layers model: model.json + its binary shards (found beside
 * it). Tensors are float32 (uint8/uint16 quantized weights dequantized as
 * q*scale + min), named and ordered as in the manifest; metadata
 * "model_config" holds the Keras config JSON, "format" the model format. */
dlp_status dlp_tfjs_load(const char *model_json_path, dlp_tensor_list **list);

#ifdef __cplusplus
}
#endif
#endif

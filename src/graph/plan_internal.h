/* plan_internal.h: a compiled graph (steps over planned activation buffers)
 * and the backend interface that prepares and runs it. The CPU backend lives
 * in src/backend/cpu, the CUDA one (later) in src/backend/cuda. */
#ifndef DLP_SRC_GRAPH_PLAN_INTERNAL_H
#define DLP_SRC_GRAPH_PLAN_INTERNAL_H

#include "dlp/graph.h"
#include "graph/plan_images.h"
#include "image/pack.h"

enum { PLAN_MAX_WEIGHTS = 2 };

typedef struct plan_step {
    dlp_op op;
    const char *name;     /* the graph node's name (owned by the plan) */
    union {
        dlp_conv2d_params conv;
        dlp_dense_params dense;
        dlp_pool_params pool;
        dlp_zero_pad_params pad;
        dlp_activation activation;
        dlp_relu_params relu;
        dlp_permute_params permute;
        int axis; /* DLP_OP_CONCAT_AXIS */
    } params;
    int *inputs;          /* value ids */
    dlp_shape *input_shapes;
    int input_count;
    int output;           /* value id */
    dlp_shape output_shape;
    /* Host weights after folding: conv/depthwise/dense: [0] kernel (Keras
     * layout), [1] bias or NULL; channel affine: [0] scale, [1] shift; batchnorm: [0] scale, [1] shift per channel. */
    float *weights[PLAN_MAX_WEIGHTS];
    size_t weight_counts[PLAN_MAX_WEIGHTS];
    void *backend_data;
    /* A ZeroPadding2D folded into this step (see dlp_backend.folds_zero_pad):
     * inputs[0] is then the pad's input and input_shapes[0] its shape, padded
     * by these amounts before the op (a conv pads by them, a pooling counts
     * the padded taps as zeros). All zero otherwise. */
    dlp_zero_pad_params input_pad;
    /* A depthwise conv only: a standalone ReLU step folded into it (see
     * take_foldable_relu in plan.c): inputs[0] is then the ReLU's input, and
     * the step reads each element through the ReLU (x > 0 ? x : 0, as the
     * activation step computes it). */
    bool input_relu;
} plan_step;

typedef struct plan_value {
    size_t floats_per_image;
    size_t offset_floats; /* in the arena, for max_batch images */
    int first_step, last_step;
    /* A value that only a concatenation reads may be planned as a slice of
     * that concatenation's output, so that its producer writes there and the
     * concatenation copies nothing (dlp_backend.writes_strided). parent: that
     * output's value (-1: none); channel_offset: the slice's first channel in
     * it. Such a value has no memory of its own: offset_floats points at its
     * first channel in the outermost parent's buffer, and pixel_stride is the
     * elements from one pixel to the next there (that buffer's channels).
     * pixel_stride is 0 for a value with a buffer of its own (packed NHWC). */
    int parent, channel_offset, pixel_stride;
} plan_value;

struct dlp_plan {
    dlp_backend *backend;
    int max_batch, last_batch;
    bool whole_batches; /* dlp_plan_run_whole_batches: every run computes max_batch images */
    plan_step *steps;
    int step_count;
    plan_value *values;
    int value_count;
    int input_value;
    dlp_shape input_shape;
    int *output_values;
    dlp_shape *output_shapes;
    int output_count;
    size_t arena_floats, unshared_floats;
    /* Slices the backend could not write in place after all (cuDNN refused
     * the strided output of that convolution): it writes them packed and
     * copies them into their slices. 0 on the CPU backend. */
    int slices_copied;
    /* Convolutions whose fused conv+bias+activation call the backend
     * refused (cuDNN), run unfused since. 0 on the CPU backend. */
    int fusions_refused;
    /* ResNet block endings (conv -> add -> relu, device_residual_match) the
     * backend runs as one conv adding the shortcut, at prepare. */
    int residuals_fused;
    /* Of those, endings run unfused after all, from some run on (cuDNN refused the call, or offered a linear
     * ending no IMPLICIT_PRECOMP_GEMM): residuals_fused - residuals_unfused run as one call. */
    int residuals_unfused;
    /* With CUDA graphs: runs replayed from a captured graph, captures
     * abandoned (that batch size then runs step by step) and why the last
     * one was. 0 and "" on the CPU backend or without graphs. */
    int graph_replays, graphs_abandoned;
    char graph_failure[160];
    void *backend_state;
};

struct dlp_backend {
    const char *name;
    void *context;
    /* Bytes per activation element in the arena (the plan counts elements,
     * named floats); 0 means sizeof(float). fp16/bf16 CUDA plans: 2. */
    size_t activation_bytes;
    /* Allocates the arena and uploads/re-lays weights (plan->backend_state). */
    dlp_status (*prepare)(dlp_backend *backend, dlp_plan *plan);
    dlp_status (*upload_input)(dlp_backend *backend, dlp_plan *plan, const float *input, int n);
    /* Optional (NULL where the backend has none; graph/plan_images.h): starts
     * copying a packed batch of decoded images into staging slot 0 or 1 (may
     * run on another thread while a plan runs), and resizes + normalizes the
     * batch of a slot into the input, then writes rows (checked; NULL:
     * none) over theirs. */
    dlp_status (*stage_images)(dlp_backend *backend, int slot, const uint8_t *packed,
                               const dlp_image_pack_layout *layout);
    dlp_status (*upload_staged_images)(dlp_backend *backend, dlp_plan *plan, int slot, size_t count,
                                       dlp_resize method, dlp_normalize normalize, const dlp_plan_input_rows *rows);
    dlp_status (*run_step)(dlp_backend *backend, dlp_plan *plan, const plan_step *step, int n);
    /* Optional (NULL: never): whether the backend runs producer (a planned
     * step, with its params and shapes) writing its output into a slice of a
     * wider buffer: pixels plan_pixel_stride elements apart, its channels at
     * the start of each. The planner then lays a concatenation's inputs out
     * as slices of its output where their producers allow it. */
    bool (*writes_strided)(const dlp_backend *backend, const plan_step *producer);
    /* With writes_strided: slices start at a multiple of this many channels
     * in a buffer whose channels are a multiple of it too (0 or 1: any), so
     * that every pixel's slice is as aligned as the buffer (the CUDA
     * backend: 16 bytes, for its vector kernels and cuDNN's). */
    int slice_alignment;
    /* Optional (NULL: never): whether the backend runs consumer (op and
     * params set, nothing else) on the unpadded input of the ZeroPadding2D
     * pad that only it reads, with consumer.input_pad = pad's params. The
     * planner then drops the pad's step and its buffer. */
    bool (*folds_zero_pad)(const dlp_backend *backend, const plan_step *consumer, const dlp_zero_pad_params *pad);
    /* Optional (NULL: nothing to say): a short note on how the backend ran
     * step last (the CUDA backend: a cuDNN convolution's algorithm, math
     * type, workspace and fusion), for profiles; "" when it has none. */
    void (*describe_step)(const dlp_backend *backend, const dlp_plan *plan, const plan_step *step, char *text,
                          size_t capacity);
    dlp_status (*download)(dlp_backend *backend, const dlp_plan *plan, int value, float *dst, size_t floats);
    /* Optional (NULL: downloads complete at once): queues the download
     * behind the work queued so far, and waits for the one of a ticket. */
    dlp_status (*download_async)(dlp_backend *backend, const dlp_plan *plan, int value, float *dst, size_t floats,
                                 uint64_t *ticket);
    dlp_status (*wait_download)(dlp_backend *backend, uint64_t ticket);
    void (*release)(dlp_backend *backend, dlp_plan *plan);
    void (*destroy)(dlp_backend *backend);
};

/* The elements from one pixel of value to the next: channels, the value's
 * own last dimension, unless it is a slice of a concatenation's output. */
static inline size_t plan_pixel_stride(const struct dlp_plan *plan, int value, int channels)
{
    int stride = plan->values[value].pixel_stride;
    return stride > 0 ? (size_t)stride : (size_t)channels;
}

/* Whether input k of a concatenation step is already in its slice of the
 * output (planned there; then the step copies nothing for it). */
static inline bool plan_concat_input_in_place(const struct dlp_plan *plan, const plan_step *step, int k)
{
    return plan->values[step->inputs[k]].parent == step->output;
}

#endif

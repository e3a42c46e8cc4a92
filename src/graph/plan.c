/* plan.c: compiles a graph for a backend and a batch size: keeps what the
 * outputs need, folds batch norm into the preceding conv/dense, fuses
 * activations (and a ReLU into the depthwise conv reading it), aliases
 * flatten/dropout, lays concatenation inputs out as slices of the output
 * where the backend writes them there, and plans one activation arena from
 * tensor lifetimes (greedy by size, first fit). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "graph/device_layout.h"
#include "graph/graph_internal.h"
#include "graph/plan_images.h"
#include "graph/plan_internal.h"

const char *dlp_backend_name(const dlp_backend *backend) { return backend ? backend->name : "none"; }

void dlp_backend_destroy(dlp_backend *backend)
{
    if (backend) backend->destroy(backend);
}

typedef struct compiler {
    const dlp_graph *graph;
    dlp_plan *plan;
    int *node_value;  /* graph node -> value id */
    int *node_step;   /* graph node -> step that produced its value, -1 */
    int *consumers;   /* needed consumers per node */
    bool *is_output;
    const dlp_backend *backend;
} compiler;

static dlp_status new_value(compiler *cc, size_t floats_per_image, int *id)
{
    dlp_plan *plan = cc->plan;
    plan->values[plan->value_count] = (plan_value){floats_per_image, 0, -1, -1, -1, 0, 0};
    *id = plan->value_count++;
    return DLP_OK;
}

static float *copy_floats(const float *src, size_t count)
{
    float *dst = malloc((count ? count : 1) * sizeof(float));
    if (dst && count) memcpy(dst, src, count * sizeof(float));
    return dst;
}

static dlp_status add_step(compiler *cc, int node_id, plan_step **out)
{
    const graph_node *node = &cc->graph->nodes[node_id];
    dlp_plan *plan = cc->plan;
    plan_step *step = &plan->steps[plan->step_count];
    memset(step, 0, sizeof *step);
    step->op = node->op;
    step->name = node->name;
    step->inputs = malloc((size_t)node->input_count * sizeof(int));
    step->input_shapes = malloc((size_t)node->input_count * sizeof(dlp_shape));
    if (!step->inputs || !step->input_shapes) {
        free(step->inputs), free(step->input_shapes);
        return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "plan: out of memory");
    }
    step->input_count = node->input_count;
    for (int i = 0; i < node->input_count; i++) {
        step->inputs[i] = cc->node_value[node->inputs[i]];
        step->input_shapes[i] = cc->graph->nodes[node->inputs[i]].shape;
    }
    step->output_shape = node->shape;
    memcpy(&step->params, &node->params, sizeof step->params);
    plan->step_count++;
    int value;
    DLP_TRY(new_value(cc, dlp_shape_elements(node->shape), &value));
    step->output = value;
    cc->node_value[node_id] = value;
    cc->node_step[node_id] = plan->step_count - 1;
    *out = step;
    return DLP_OK;
}

static dlp_activation *fusable_activation(plan_step *step)
{
    switch (step->op) {
    case DLP_OP_CONV2D:
    case DLP_OP_DEPTHWISE_CONV2D: return &step->params.conv.activation;
    case DLP_OP_DENSE: return &step->params.dense.activation;
    default: return NULL;
    }
}

/* The step that produced the input of node_id, when that input can be
 * rewritten in place: produced by the step itself (not an alias), used by
 * this node only, and not an output of the plan. */
static plan_step *private_producer(compiler *cc, int node_id)
{
    const graph_node *node = &cc->graph->nodes[node_id];
    if (node->input_count != 1) return NULL;
    int input = node->inputs[0];
    int step = cc->node_step[input];
    if (step < 0 || cc->consumers[input] != 1 || cc->is_output[input]) return NULL;
    return &cc->plan->steps[step];
}

/* W' = W·γ/√(σ²+ε) per output channel, b' = (b-μ)·γ/√(σ²+ε)+β (DESIGN §3). */
static bool fold_batchnorm(compiler *cc, int node_id)
{
    const graph_node *bn = &cc->graph->nodes[node_id];
    plan_step *producer = private_producer(cc, node_id);
    if (!producer) return false;
    dlp_activation *act = fusable_activation(producer);
    if (!act || *act != DLP_ACT_LINEAR) return false;
    int channels = bn->shape.c;
    if (!producer->weights[1]) {
        producer->weights[1] = calloc((size_t)channels, sizeof(float));
        if (!producer->weights[1]) return false;
        producer->weight_counts[1] = (size_t)channels;
    }
    graph_node *mutable_bn = (graph_node *)bn;
    const graph_weight *gamma = graph_node_weight(mutable_bn, "gamma"), *beta = graph_node_weight(mutable_bn, "beta");
    const graph_weight *mean = graph_node_weight(mutable_bn, "moving_mean");
    const graph_weight *var = graph_node_weight(mutable_bn, "moving_variance");
    float *kernel = producer->weights[0], *bias = producer->weights[1];
    size_t rows = producer->weight_counts[0] / (size_t)channels;
    for (int c = 0; c < channels; c++) {
        double scale = (gamma ? gamma->data[c] : 1.0) / sqrt((double)var->data[c] + bn->params.bn.epsilon);
        for (size_t r = 0; r < rows; r++) kernel[r * channels + c] = (float)(kernel[r * channels + c] * scale);
        bias[c] = (float)((bias[c] - mean->data[c]) * scale + (beta ? beta->data[c] : 0.0));
    }
    cc->node_value[node_id] = producer->output;
    cc->node_step[node_id] = (int)(producer - cc->plan->steps);
    return true;
}

/* Drops the last step planned and its value (they were added last, and
 * nothing refers to them any more). */
static void drop_last_step(dlp_plan *plan)
{
    plan_step *step = &plan->steps[plan->step_count - 1];
    free(step->inputs);
    free(step->input_shapes);
    memset(step, 0, sizeof *step);
    plan->step_count--;
    plan->value_count--;
}

/* The standalone ReLU step (an Activation('relu') not fused into its
 * producer) that only node_id, a depthwise or separable conv, reads, when it
 * is the last step planned so far: that step and its value are dropped, and
 * the ReLU's input returned, for the depthwise step to read through a ReLU of
 * its own (plan_step.input_relu; both backends' depthwise kernels take it).
 * Xception's blocks start so: ReLU, then SeparableConv2D, the ReLU's input
 * also feeding the residual. One pass over the tensor less per block. */
static bool take_foldable_relu(compiler *cc, int node_id, int *input)
{
    dlp_plan *plan = cc->plan;
    plan_step *producer = private_producer(cc, node_id);
    if (!producer || producer->op != DLP_OP_ACTIVATION || producer->params.activation != DLP_ACT_RELU ||
        producer != &plan->steps[plan->step_count - 1] || producer->output != plan->value_count - 1)
        return false;
    *input = producer->inputs[0];
    drop_last_step(plan);
    return true;
}

/* A SeparableConv2D node becomes two steps the backends already run: the
 * depthwise conv (stride, padding, no bias) into a value of its own, then a
 * 1x1 conv carrying the node's bias and activation, which stands for the node
 * (so a following batch norm folds into it and an activation fuses). */
static dlp_status lower_separable(compiler *cc, int node_id)
{
    const graph_node *node = &cc->graph->nodes[node_id];
    const dlp_conv2d_params *p = &node->params.conv;
    const graph_weight *depthwise_kernel = &node->weights[0], *pointwise_kernel = &node->weights[1];
    const graph_weight *bias = node->weight_count > 2 ? &node->weights[2] : NULL;
    dlp_shape middle = {node->shape.h, node->shape.w, cc->graph->nodes[node->inputs[0]].shape.c * node->depth_multiplier};
    plan_step *depthwise = NULL, *pointwise = NULL;
    int relu_input = -1;
    bool relu = take_foldable_relu(cc, node_id, &relu_input);
    DLP_TRY(add_step(cc, node_id, &depthwise));
    if (relu) depthwise->inputs[0] = relu_input, depthwise->input_relu = true;
    depthwise->op = DLP_OP_DEPTHWISE_CONV2D;
    depthwise->params.conv = (dlp_conv2d_params){p->kernel_h, p->kernel_w, p->stride_h, p->stride_w, p->padding,
                                                 node->depth_multiplier, false, DLP_ACT_LINEAR};
    depthwise->output_shape = middle;
    cc->plan->values[depthwise->output].floats_per_image = dlp_shape_elements(middle);
    depthwise->weights[0] = copy_floats(depthwise_kernel->data, depthwise_kernel->count);
    depthwise->weight_counts[0] = depthwise_kernel->count;
    DLP_TRY(add_step(cc, node_id, &pointwise));
    pointwise->op = DLP_OP_CONV2D;
    pointwise->params.conv = (dlp_conv2d_params){1, 1, 1, 1, DLP_PAD_VALID, p->filters, p->use_bias, p->activation};
    pointwise->inputs[0] = depthwise->output;
    pointwise->input_shapes[0] = middle;
    pointwise->weights[0] = copy_floats(pointwise_kernel->data, pointwise_kernel->count);
    pointwise->weight_counts[0] = pointwise_kernel->count;
    if (bias) {
        pointwise->weights[1] = copy_floats(bias->data, bias->count);
        pointwise->weight_counts[1] = bias->count;
    }
    if (!depthwise->weights[0] || !pointwise->weights[0] || (bias && !pointwise->weights[1]))
        return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "plan: out of memory");
    return DLP_OK;
}

/* The ZeroPadding2D step that only node_id reads, when it is the last step
 * planned so far and the backend runs node_id on the pad's input instead
 * (dlp_backend.folds_zero_pad): that step and its value are dropped (they
 * were added last), and the pad's input, its shape and the padding returned. */
static bool take_foldable_pad(compiler *cc, int node_id, int *input, dlp_shape *input_shape, dlp_zero_pad_params *pad)
{
    dlp_plan *plan = cc->plan;
    const graph_node *node = &cc->graph->nodes[node_id];
    if (!cc->backend->folds_zero_pad) return false;
    plan_step *producer = private_producer(cc, node_id);
    if (!producer || producer->op != DLP_OP_ZERO_PAD || producer != &plan->steps[plan->step_count - 1] ||
        producer->output != plan->value_count - 1)
        return false;
    plan_step consumer;
    memset(&consumer, 0, sizeof consumer);
    consumer.op = node->op;
    memcpy(&consumer.params, &node->params, sizeof consumer.params);
    if (!cc->backend->folds_zero_pad(cc->backend, &consumer, &producer->params.pad)) return false;
    *input = producer->inputs[0];
    *input_shape = producer->input_shapes[0];
    *pad = producer->params.pad;
    drop_last_step(plan);
    return true;
}

static dlp_status compile_node(compiler *cc, int node_id)
{
    const graph_node *node = &cc->graph->nodes[node_id];
    plan_step *step = NULL;
    switch (node->op) {
    case DLP_OP_INPUT: {
        int value;
        DLP_TRY(new_value(cc, dlp_shape_elements(node->shape), &value));
        cc->node_value[node_id] = value;
        if (cc->plan->input_value >= 0)
            return dlp_fail(DLP_ERR_UNSUPPORTED, "plan: the graph has more than one input (\"%s\")", node->name);
        cc->plan->input_value = value;
        cc->plan->input_shape = node->shape;
        return DLP_OK;
    }
    case DLP_OP_FLATTEN:
    case DLP_OP_IDENTITY:
    case DLP_OP_RESHAPE:
        /* NHWC row-major flatten and reshape, and inference-time dropout, move no data. */
        cc->node_value[node_id] = cc->node_value[node->inputs[0]];
        cc->node_step[node_id] = -1;
        return DLP_OK;
    case DLP_OP_BATCHNORM:
        if (fold_batchnorm(cc, node_id)) return DLP_OK;
        break;
    case DLP_OP_SEPARABLE_CONV2D: return lower_separable(cc, node_id);
    case DLP_OP_ACTIVATION: {
        plan_step *producer = private_producer(cc, node_id);
        dlp_activation *act = producer ? fusable_activation(producer) : NULL;
        /* Activations added after softmax run as their own step: the fused conv/dense kernels do not know them. */
        if (act && *act == DLP_ACT_LINEAR && node->params.activation <= DLP_ACT_SOFTMAX) {
            *act = node->params.activation;
            cc->node_value[node_id] = producer->output;
            cc->node_step[node_id] = (int)(producer - cc->plan->steps);
            return DLP_OK;
        }
        break;
    }
    default: break;
    }
    int pad_input = -1;
    dlp_shape pad_input_shape = {0, 0, 0};
    dlp_zero_pad_params pad = {0, 0, 0, 0};
    bool folded = (node->op == DLP_OP_CONV2D || node->op == DLP_OP_MAX_POOL || node->op == DLP_OP_AVG_POOL) &&
                  take_foldable_pad(cc, node_id, &pad_input, &pad_input_shape, &pad);
    int relu_input = -1;
    bool relu = node->op == DLP_OP_DEPTHWISE_CONV2D && take_foldable_relu(cc, node_id, &relu_input);
    DLP_TRY(add_step(cc, node_id, &step));
    if (folded) {
        step->inputs[0] = pad_input;
        step->input_shapes[0] = pad_input_shape;
        step->input_pad = pad;
    }
    if (relu) step->inputs[0] = relu_input, step->input_relu = true;
    graph_node *mutable_node = (graph_node *)node;
    if (node->op == DLP_OP_CONV2D || node->op == DLP_OP_DEPTHWISE_CONV2D || node->op == DLP_OP_DENSE ||
        node->op == DLP_OP_CHANNEL_AFFINE) {
        for (int s = 0; s < node->weight_count && s < PLAN_MAX_WEIGHTS; s++) {
            step->weights[s] = copy_floats(node->weights[s].data, node->weights[s].count);
            step->weight_counts[s] = node->weights[s].count;
            if (!step->weights[s]) return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "plan: out of memory");
        }
    } else if (node->op == DLP_OP_BATCHNORM) {
        int channels = node->shape.c;
        step->weights[0] = malloc((size_t)channels * sizeof(float));
        step->weights[1] = malloc((size_t)channels * sizeof(float));
        if (!step->weights[0] || !step->weights[1]) return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "plan: out of memory");
        step->weight_counts[0] = step->weight_counts[1] = (size_t)channels;
        const graph_weight *gamma = graph_node_weight(mutable_node, "gamma");
        const graph_weight *beta = graph_node_weight(mutable_node, "beta");
        const graph_weight *mean = graph_node_weight(mutable_node, "moving_mean");
        const graph_weight *var = graph_node_weight(mutable_node, "moving_variance");
        for (int c = 0; c < channels; c++) {
            double scale = (gamma ? gamma->data[c] : 1.0) / sqrt((double)var->data[c] + node->params.bn.epsilon);
            step->weights[0][c] = (float)scale;
            step->weights[1][c] = (float)((beta ? beta->data[c] : 0.0) - mean->data[c] * scale);
        }
    }
    return DLP_OK;
}

/* Per value: the step that writes it (-1: the input) and how many step
 * inputs read it; plan outputs count as one more reader. */
static dlp_status count_uses(const dlp_plan *plan, int **producer, int **readers)
{
    int count = plan->value_count;
    *producer = malloc((size_t)(count ? count : 1) * sizeof(int));
    *readers = calloc((size_t)(count ? count : 1), sizeof(int));
    if (!*producer || !*readers) {
        free(*producer), free(*readers);
        return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "plan: out of memory");
    }
    for (int v = 0; v < count; v++) (*producer)[v] = -1;
    for (int s = 0; s < plan->step_count; s++) {
        const plan_step *step = &plan->steps[s];
        (*producer)[step->output] = s;
        for (int k = 0; k < step->input_count; k++) (*readers)[step->inputs[k]]++;
    }
    for (int o = 0; o < plan->output_count; o++) (*readers)[plan->output_values[o]]++;
    return DLP_OK;
}

/* Whether input k of concat step s can be planned as its slice of the
 * output: a value of its own that only this step reads, written with the
 * concatenation's pixels (not through a Reshape) by a step the backend runs
 * with a pixel stride (dlp_backend.writes_strided). */
static bool fits_in_slice(const dlp_plan *plan, const dlp_backend *backend, const int *producer, const int *readers,
                          int s, int k)
{
    const plan_step *step = &plan->steps[s];
    int value = step->inputs[k], writer = producer[value];
    if (writer < 0 || writer >= s || readers[value] != 1 || plan->values[value].parent >= 0) return false;
    /* The writer's own pixels must be the concatenation's (not a Reshape of them). */
    dlp_shape in = step->input_shapes[k], out = step->output_shape, written = plan->steps[writer].output_shape;
    if (in.h != out.h || in.w != out.w || written.h != in.h || written.w != in.w || written.c != in.c) return false;
    return backend->writes_strided(backend, &plan->steps[writer]);
}

static void unslice(plan_value *value)
{
    value->parent = -1, value->channel_offset = value->pixel_stride = 0, value->offset_floats = 0;
}

/* Keeps the backend's alignment (dlp_backend.slice_alignment): each slice
 * starts at a multiple of it in its outermost buffer, whose channels are a
 * multiple of it. Where a slice is out of it, the outermost of it and its
 * enclosing slices that is out is copied instead (then the slices inside it
 * have it as their outermost buffer): repeated until none is out. */
static dlp_status align_slices(dlp_plan *plan, const dlp_backend *backend, const int *producer)
{
    int alignment = backend->slice_alignment > 1 ? backend->slice_alignment : 1;
    if (alignment == 1) return DLP_OK;
    int *chain = malloc((size_t)(plan->value_count ? plan->value_count : 1) * sizeof(int));
    if (!chain) return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "plan: out of memory");
    for (bool moved = true; moved;) {
        moved = false;
        for (int v = 0; v < plan->value_count; v++) {
            if (plan->values[v].parent < 0) continue;
            int depth = 0, root = v;
            for (; plan->values[root].parent >= 0; root = plan->values[root].parent) chain[depth++] = root;
            bool wide_ok = plan->steps[producer[root]].output_shape.c % alignment == 0;
            /* From the outermost slice inwards: the first whose start is out. */
            int channels = 0;
            for (int k = depth - 1; k >= 0; k--) {
                channels += plan->values[chain[k]].channel_offset;
                if (!wide_ok || channels % alignment != 0) {
                    unslice(&plan->values[chain[k]]);
                    moved = true;
                    break;
                }
            }
        }
    }
    free(chain);
    return DLP_OK;
}

/* Each slice's place in its outermost buffer, whose channels are the
 * output channels of the concatenation that writes it. */
static void place_slices(dlp_plan *plan, const int *producer)
{
    for (int v = 0; v < plan->value_count; v++) {
        plan_value *value = &plan->values[v];
        if (value->parent < 0) continue;
        int root = v, channels = 0;
        for (; plan->values[root].parent >= 0; root = plan->values[root].parent)
            channels += plan->values[root].channel_offset;
        value->pixel_stride = plan->steps[producer[root]].output_shape.c;
        value->offset_floats = (size_t)channels; /* until the root is placed */
    }
}

/* Concatenation inputs planned as slices of the output, so that their
 * producers write there: InceptionV3's mixed blocks then copy nothing. A
 * concatenation whose output is itself a slice of another (InceptionV3's
 * mixed9_0 inside mixed9) writes the remaining inputs into that. */
static dlp_status plan_concat_slices(dlp_plan *plan, const dlp_backend *backend)
{
    if (!backend->writes_strided) return DLP_OK;
    int *producer = NULL, *readers = NULL;
    DLP_TRY(count_uses(plan, &producer, &readers));
    for (int s = 0; s < plan->step_count; s++) {
        const plan_step *step = &plan->steps[s];
        if (step->op != DLP_OP_CONCAT) continue;
        int offset = 0;
        for (int k = 0; k < step->input_count; k++) {
            if (fits_in_slice(plan, backend, producer, readers, s, k)) {
                plan_value *slice = &plan->values[step->inputs[k]];
                slice->parent = step->output;
                slice->channel_offset = offset;
            }
            offset += step->input_shapes[k].c;
        }
    }
    dlp_status status = align_slices(plan, backend, producer);
    if (status == DLP_OK) place_slices(plan, producer);
    free(producer);
    free(readers);
    return status;
}

static int root_of(const dlp_plan *plan, int value)
{
    while (plan->values[value].parent >= 0) value = plan->values[value].parent;
    return value;
}

/* Lifetimes in step indices; the input is alive from the start, outputs to
 * the end; a buffer holding slices is alive while any of them is; a
 * residual block's output from its conv on (device_residual_pattern: the
 * backends let that conv write it, adding the shortcut, where it shares no
 * memory with the conv's input). */
static void plan_lifetimes(dlp_plan *plan)
{
    plan->values[plan->input_value].first_step = 0;
    for (int s = 0; s < plan->step_count; s++) {
        plan_step *step = &plan->steps[s];
        plan_value *out = &plan->values[step->output];
        if (out->first_step < 0) out->first_step = s;
        if (out->last_step < s) out->last_step = s;
        for (int k = 0; k < step->input_count; k++)
            if (plan->values[step->inputs[k]].last_step < s) plan->values[step->inputs[k]].last_step = s;
    }
    for (int o = 0; o < plan->output_count; o++) {
        plan_value *out = &plan->values[plan->output_values[o]];
        out->last_step = plan->step_count;
        if (out->first_step < 0) out->first_step = 0;
    }
    for (int v = 0; v < plan->value_count; v++) {
        const plan_value *slice = &plan->values[v];
        if (slice->parent < 0) continue;
        plan_value *root = &plan->values[root_of(plan, v)];
        if (slice->first_step >= 0 && slice->first_step < root->first_step) root->first_step = slice->first_step;
        if (slice->last_step > root->last_step) root->last_step = slice->last_step;
    }
    for (int s = 0; s + 1 < plan->step_count; s++) {
        int shortcut = -1, output = -1;
        bool relu = false;
        if (device_residual_pattern(plan, s, &shortcut, &output, &relu) && plan->values[output].first_step > s)
            plan->values[output].first_step = s;
    }
}

typedef struct placement {
    int value;
    size_t size;
} placement;

static int compare_placement(const void *a, const void *b)
{
    const placement *x = a, *y = b;
    if (x->size != y->size) return x->size > y->size ? -1 : 1;
    return x->value - y->value;
}

/* Greedy by size (as TFLite's arena planner): largest tensors first, each at
 * the lowest offset that does not overlap a placed tensor alive at the same time. */
static dlp_status plan_memory(dlp_plan *plan)
{
    int count = plan->value_count;
    placement *order = malloc((size_t)(count ? count : 1) * sizeof *order);
    int *placed = malloc((size_t)(count ? count : 1) * sizeof(int));
    size_t *sizes = malloc((size_t)(count ? count : 1) * sizeof(size_t));
    if (!order || !placed || !sizes) {
        free(order), free(placed), free(sizes);
        return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "plan: out of memory");
    }
    size_t align = 16; /* floats: 64-byte alignment for every buffer */
    for (int v = 0; v < count; v++) {
        /* A slice takes no memory of its own (plan_concat_slices). */
        size_t size = plan->values[v].parent >= 0 ? 0 : plan->values[v].floats_per_image * (size_t)plan->max_batch;
        order[v] = (placement){v, (size + align - 1) / align * align};
        sizes[v] = order[v].size;
        /* Every offset is at most the sum of all sizes: bound that sum, and nothing below overflows. */
        if (order[v].size > SIZE_MAX / 16 - plan->unshared_floats) {
            free(order), free(placed), free(sizes);
            return dlp_fail(DLP_ERR_LIMIT, "plan: %d images of these activations need more than %zu bytes",
                            plan->max_batch, SIZE_MAX / 16 * sizeof(float));
        }
        plan->unshared_floats += order[v].size;
    }
    qsort(order, (size_t)count, sizeof *order, compare_placement);
    int placed_count = 0;
    size_t arena = 0;
    for (int i = 0; i < count; i++) {
        plan_value *value = &plan->values[order[i].value];
        if (value->parent >= 0) continue;
        size_t offset = 0;
        bool moved = true;
        while (moved) {
            moved = false;
            for (int k = 0; k < placed_count; k++) {
                const plan_value *other = &plan->values[placed[k]];
                size_t other_size = sizes[placed[k]];
                bool alive_together = value->first_step <= other->last_step && other->first_step <= value->last_step;
                bool overlap = offset < other->offset_floats + other_size && other->offset_floats < offset + order[i].size;
                if (alive_together && overlap) {
                    offset = other->offset_floats + other_size;
                    moved = true;
                }
            }
        }
        value->offset_floats = offset;
        placed[placed_count++] = order[i].value;
        if (offset + order[i].size > arena) arena = offset + order[i].size;
    }
    plan->arena_floats = arena;
    for (int v = 0; v < count; v++)
        if (plan->values[v].parent >= 0) plan->values[v].offset_floats += plan->values[root_of(plan, v)].offset_floats;
    free(order);
    free(placed);
    free(sizes);
    return DLP_OK;
}

void dlp_plan_destroy(dlp_plan *plan)
{
    if (!plan) return;
    if (plan->backend && plan->backend->release) plan->backend->release(plan->backend, plan);
    for (int s = 0; s < plan->step_count; s++) {
        free(plan->steps[s].inputs);
        free(plan->steps[s].input_shapes);
        free((char *)plan->steps[s].name);
        for (int w = 0; w < PLAN_MAX_WEIGHTS; w++) free(plan->steps[s].weights[w]);
    }
    free(plan->steps);
    free(plan->values);
    free(plan->output_values);
    free(plan->output_shapes);
    free(plan);
}

static dlp_status compile(compiler *cc, const char *const *outputs, int output_count)
{
    const dlp_graph *graph = cc->graph;
    dlp_plan *plan = cc->plan;
    int n = graph->count;
    bool *needed = calloc((size_t)n, sizeof(bool));
    if (!needed) return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "plan: out of memory");
    for (int o = 0; o < output_count; o++) {
        int id = dlp_graph_find(graph, outputs[o]);
        if (id < 0) {
            free(needed);
            return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "plan: output layer \"%s\" is not in the graph", outputs[o]);
        }
        needed[id] = true;
        cc->is_output[id] = true;
        plan->output_shapes[o] = graph->nodes[id].shape;
    }
    for (int i = n - 1; i >= 0; i--)
        if (needed[i])
            for (int k = 0; k < graph->nodes[i].input_count; k++) {
                needed[graph->nodes[i].inputs[k]] = true;
                cc->consumers[graph->nodes[i].inputs[k]]++;
            }
    dlp_status status = DLP_OK;
    for (int i = 0; i < n && status == DLP_OK; i++)
        if (needed[i]) status = compile_node(cc, i);
    for (int s = 0; s < plan->step_count && status == DLP_OK; s++) {
        /* Step names outlive the graph. */
        plan->steps[s].name = strdup(plan->steps[s].name);
        if (!plan->steps[s].name) status = dlp_fail(DLP_ERR_OUT_OF_MEMORY, "plan: out of memory");
    }
    free(needed);
    if (status != DLP_OK) return status;
    if (plan->input_value < 0) return dlp_fail(DLP_ERR_MODEL, "plan: the outputs do not depend on an input");
    for (int o = 0; o < output_count; o++) plan->output_values[o] = cc->node_value[dlp_graph_find(graph, outputs[o])];
    DLP_TRY(plan_concat_slices(plan, cc->backend));
    plan_lifetimes(plan);
    return plan_memory(plan);
}

/* The steps and the memory plan, before the backend prepares anything. */
static dlp_status plan_compile(const dlp_graph *graph, dlp_backend *backend, int max_batch, const char *const *outputs,
                               int output_count, dlp_plan **out)
{
    *out = NULL;
    if (!graph || !backend || max_batch <= 0 || output_count <= 0 || !outputs)
        return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "plan: needs a graph, a backend, max_batch > 0 (got %d) and outputs",
                        max_batch);
    int n = graph->count;
    /* A separable conv plans as two steps with two values. */
    size_t steps = (size_t)n + 1;
    for (int i = 0; i < n; i++) steps += graph->nodes[i].op == DLP_OP_SEPARABLE_CONV2D;
    dlp_plan *plan = calloc(1, sizeof *plan);
    compiler cc = {graph, plan, NULL, NULL, NULL, NULL, backend};
    if (plan) {
        plan->steps = calloc(steps, sizeof *plan->steps);
        plan->values = calloc(steps, sizeof *plan->values);
        plan->output_values = calloc((size_t)output_count, sizeof(int));
        plan->output_shapes = calloc((size_t)output_count, sizeof(dlp_shape));
    }
    cc.node_value = malloc(((size_t)n + 1) * sizeof(int));
    cc.node_step = malloc(((size_t)n + 1) * sizeof(int));
    cc.consumers = calloc((size_t)n + 1, sizeof(int));
    cc.is_output = calloc((size_t)n + 1, sizeof(bool));
    dlp_status status = DLP_OK;
    if (!plan || !plan->steps || !plan->values || !plan->output_values || !plan->output_shapes || !cc.node_value ||
        !cc.node_step || !cc.consumers || !cc.is_output)
        status = dlp_fail(DLP_ERR_OUT_OF_MEMORY, "plan: out of memory");
    if (status == DLP_OK) {
        for (int i = 0; i < n; i++) cc.node_value[i] = cc.node_step[i] = -1;
        plan->max_batch = max_batch;
        plan->input_value = -1;
        plan->output_count = output_count;
        status = compile(&cc, outputs, output_count);
    }
    free(cc.node_value), free(cc.node_step), free(cc.consumers), free(cc.is_output);
    if (status != DLP_OK) {
        dlp_plan_destroy(plan);
        return status;
    }
    *out = plan;
    return DLP_OK;
}

dlp_status dlp_plan_create(const dlp_graph *graph, dlp_backend *backend, int max_batch, const char *const *outputs,
                           int output_count, dlp_plan **out)
{
    dlp_plan *plan = NULL;
    DLP_TRY(plan_compile(graph, backend, max_batch, outputs, output_count, &plan));
    plan->backend = backend;
    dlp_status status = backend->prepare(backend, plan);
    if (status != DLP_OK) {
        plan->backend = NULL;
        dlp_plan_destroy(plan);
        return status;
    }
    *out = plan;
    return DLP_OK;
}

dlp_status dlp_plan_estimate_arena_bytes(const dlp_graph *graph, dlp_backend *backend, int max_batch,
                                         const char *const *outputs, int output_count, size_t *bytes)
{
    *bytes = 0;
    dlp_plan *plan = NULL;
    DLP_TRY(plan_compile(graph, backend, max_batch, outputs, output_count, &plan));
    size_t element = backend->activation_bytes ? backend->activation_bytes : sizeof(float);
    *bytes = plan->arena_floats * element;
    dlp_plan_destroy(plan); /* never prepared: no backend state to release */
    return DLP_OK;
}

/* n images are wanted; with whole_batches the steps compute max_batch, the
 * images past n being whatever the input held (no op mixes images). */
static dlp_status run_steps(dlp_plan *plan, int n)
{
    int computed = plan->whole_batches ? plan->max_batch : n;
    for (int s = 0; s < plan->step_count; s++) {
        dlp_status status = plan->backend->run_step(plan->backend, plan, &plan->steps[s], computed);
        if (status != DLP_OK) return dlp_fail_context(status, "layer \"%s\"", plan->steps[s].name);
    }
    plan->last_batch = n;
    return DLP_OK;
}

dlp_status dlp_plan_run(dlp_plan *plan, const float *input, int n)
{
    if (n <= 0 || n > plan->max_batch)
        return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "plan run: batch of %d, the plan takes 1..%d", n, plan->max_batch);
    DLP_TRY(plan->backend->upload_input(plan->backend, plan, input, n));
    return run_steps(plan, n);
}

void dlp_plan_run_whole_batches(dlp_plan *plan, bool whole) { plan->whole_batches = whole; }

bool dlp_plan_takes_images(const dlp_plan *plan)
{
    return plan->backend->stage_images && plan->backend->upload_staged_images && plan->input_shape.c == 3;
}

static dlp_status check_images(const dlp_plan *plan, int slot, size_t count)
{
    if (!dlp_plan_takes_images(plan))
        return dlp_fail(DLP_ERR_UNSUPPORTED, "plan run: the %s backend does not take images for a %dx%dx%d input",
                        plan->backend->name, plan->input_shape.h, plan->input_shape.w, plan->input_shape.c);
    if (slot < 0 || slot >= DLP_PLAN_IMAGE_SLOTS)
        return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "plan run: image slot %d, expected 0..%d", slot,
                        DLP_PLAN_IMAGE_SLOTS - 1);
    if (count == 0 || count > (size_t)plan->max_batch)
        return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "plan run: batch of %zu images, the plan takes 1..%d", count,
                        plan->max_batch);
    return DLP_OK;
}

dlp_status dlp_plan_stage_images(dlp_plan *plan, int slot, const uint8_t *packed, const dlp_image_pack_layout *layout)
{
    DLP_TRY(check_images(plan, slot, layout->count));
    return plan->backend->stage_images(plan->backend, slot, packed, layout);
}

static dlp_status check_input_rows(const dlp_plan_input_rows *rows, size_t count)
{
    if (rows->count && (!rows->index || !rows->floats))
        return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "plan run: %zu input rows without their indices or floats",
                        rows->count);
    for (size_t k = 0; k < rows->count; k++)
        if (rows->index[k] >= count)
            return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "plan run: input row %zu is row %zu of a batch of %zu images", k,
                            rows->index[k], count);
    return DLP_OK;
}

dlp_status dlp_plan_run_staged_images(dlp_plan *plan, int slot, size_t count, dlp_resize method,
                                      dlp_normalize normalize, const dlp_plan_input_rows *rows)
{
    DLP_TRY(check_images(plan, slot, count));
    if (rows && rows->count == 0) rows = NULL;
    if (rows) DLP_TRY(check_input_rows(rows, count));
    DLP_TRY(plan->backend->upload_staged_images(plan->backend, plan, slot, count, method, normalize, rows));
    return run_steps(plan, (int)count);
}

dlp_shape dlp_plan_output_shape(const dlp_plan *plan, int output)
{
    dlp_shape none = {0, 0, 0};
    return output >= 0 && output < plan->output_count ? plan->output_shapes[output] : none;
}

static dlp_status output_floats(const dlp_plan *plan, int output, size_t capacity_floats, size_t *floats)
{
    if (output < 0 || output >= plan->output_count)
        return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "plan: output %d of %d", output, plan->output_count);
    *floats = dlp_shape_elements(plan->output_shapes[output]) * (size_t)plan->last_batch;
    if (capacity_floats < *floats)
        return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "plan: output %d needs %zu floats, the buffer holds %zu", output,
                        *floats, capacity_floats);
    return DLP_OK;
}

dlp_status dlp_plan_read_output(const dlp_plan *plan, int output, float *dst, size_t capacity_floats)
{
    size_t floats = 0;
    DLP_TRY(output_floats(plan, output, capacity_floats, &floats));
    return plan->backend->download(plan->backend, plan, plan->output_values[output], dst, floats);
}

dlp_status dlp_plan_read_output_async(const dlp_plan *plan, int output, float *dst, size_t capacity_floats,
                                      uint64_t *ticket)
{
    *ticket = 0;
    size_t floats = 0;
    DLP_TRY(output_floats(plan, output, capacity_floats, &floats));
    if (!plan->backend->download_async)
        return plan->backend->download(plan->backend, plan, plan->output_values[output], dst, floats);
    return plan->backend->download_async(plan->backend, plan, plan->output_values[output], dst, floats, ticket);
}

dlp_status dlp_plan_wait_output(const dlp_plan *plan, uint64_t ticket)
{
    return plan->backend->wait_download ? plan->backend->wait_download(plan->backend, ticket) : DLP_OK;
}

static size_t activation_bytes(const dlp_plan *plan)
{
    return plan->backend && plan->backend->activation_bytes ? plan->backend->activation_bytes : sizeof(float);
}

size_t dlp_plan_arena_bytes(const dlp_plan *plan) { return plan->arena_floats * activation_bytes(plan); }
size_t dlp_plan_unshared_bytes(const dlp_plan *plan) { return plan->unshared_floats * activation_bytes(plan); }
int dlp_plan_step_count(const dlp_plan *plan) { return plan->step_count; }

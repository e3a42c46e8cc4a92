/* graph.c: the graph IR: nodes (one per Keras layer), shape inference as
 * nodes are added, weight slots. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/status.h"
#include "graph/graph_internal.h"

static const char *const op_names[DLP_OP_COUNT] = {
    "Input", "Conv2D", "DepthwiseConv2D", "Dense", "BatchNormalization", "Activation", "MaxPooling2D",
    "AveragePooling2D", "GlobalAveragePooling2D", "GlobalMaxPooling2D", "Concatenate", "Add", "ZeroPadding2D",
    "Flatten", "Identity", "SeparableConv2D",
    [DLP_OP_RELU] = "ReLU", [DLP_OP_RESHAPE] = "Reshape", [DLP_OP_PERMUTE] = "Permute", [DLP_OP_CROP] = "Cropping2D",
    [DLP_OP_SUBTRACT] = "Subtract", [DLP_OP_MULTIPLY] = "Multiply", [DLP_OP_AVERAGE] = "Average",
    [DLP_OP_MAXIMUM] = "Maximum", [DLP_OP_CONCAT_AXIS] = "ConcatenateAxis", [DLP_OP_CHANNEL_AFFINE] = "ChannelAffine"};

static const char *const activation_names[DLP_ACT_COUNT] = {
    "linear", "relu", "relu6", "sigmoid", "tanh", "softmax",
    [DLP_ACT_ELU] = "elu", [DLP_ACT_SELU] = "selu", [DLP_ACT_SWISH] = "swish", [DLP_ACT_GELU] = "gelu",
    [DLP_ACT_GELU_TANH] = "gelu_new", [DLP_ACT_HARD_SIGMOID] = "hard_sigmoid", [DLP_ACT_SOFTPLUS] = "softplus",
    [DLP_ACT_HARD_SIGMOID_RELU6] = "hard_sigmoid_relu6"};

const char *dlp_op_name(dlp_op op) { return (unsigned)op < DLP_OP_COUNT ? op_names[op] : "?"; }

const char *dlp_activation_name(dlp_activation activation)
{
    return (unsigned)activation < DLP_ACT_COUNT ? activation_names[activation] : "?";
}

dlp_status dlp_activation_from_name(const char *name, dlp_activation *activation)
{
    /* Keras 2.4+ names swish "silu" too. */
    if (name && strcmp(name, "silu") == 0) {
        *activation = DLP_ACT_SWISH;
        return DLP_OK;
    }
    for (int i = 0; i < DLP_ACT_COUNT; i++)
        if (name && strcmp(name, activation_names[i]) == 0) {
            *activation = (dlp_activation)i;
            return DLP_OK;
        }
    return dlp_fail(DLP_ERR_UNSUPPORTED, "activation \"%s\": expected one of linear, relu, relu6, sigmoid, tanh, softmax, elu, "
                    "selu, swish, silu, gelu, gelu_new, hard_sigmoid, softplus",
                    name ? name : "(null)");
}

int dlp_conv_output_size(int input, int kernel, int stride, dlp_padding padding)
{
    if (input <= 0 || kernel <= 0 || stride <= 0) return 0;
    if (padding == DLP_PAD_SAME) return (int)(((int64_t)input + stride - 1) / stride);
    return input < kernel ? 0 : (input - kernel) / stride + 1;
}

int dlp_conv_pad_before(int input, int kernel, int stride, dlp_padding padding)
{
    if (padding != DLP_PAD_SAME) return 0;
    int out = dlp_conv_output_size(input, kernel, stride, padding);
    int64_t total = (int64_t)(out - 1) * stride + kernel - input;
    return total > 0 ? (int)(total / 2) : 0;
}

size_t dlp_shape_elements(dlp_shape shape) { return (size_t)shape.h * (size_t)shape.w * (size_t)shape.c; }

dlp_status graph_check_shape(const char *name, int64_t h, int64_t w, int64_t c)
{
    if (h <= 0 || w <= 0 || c <= 0)
        return dlp_fail(DLP_ERR_MODEL, "layer \"%s\": output %lldx%lldx%lld, expected positive dims", name,
                        (long long)h, (long long)w, (long long)c);
    /* Each dim is at most 2^31 - 1, so the product of two fits in int64 before the check. */
    if (h > DLP_GRAPH_MAX_ELEMENTS || w > DLP_GRAPH_MAX_ELEMENTS || c > DLP_GRAPH_MAX_ELEMENTS ||
        h * w > DLP_GRAPH_MAX_ELEMENTS || h * w * c > DLP_GRAPH_MAX_ELEMENTS)
        return dlp_fail(DLP_ERR_LIMIT, "layer \"%s\": output %lldx%lldx%lld is more than %d elements per image", name,
                        (long long)h, (long long)w, (long long)c, DLP_GRAPH_MAX_ELEMENTS);
    return DLP_OK;
}

dlp_status dlp_graph_create(dlp_graph **graph)
{
    *graph = calloc(1, sizeof **graph);
    return *graph ? DLP_OK : dlp_fail(DLP_ERR_OUT_OF_MEMORY, "graph: out of memory");
}

void dlp_graph_destroy(dlp_graph *graph)
{
    if (!graph) return;
    for (int i = 0; i < graph->count; i++) {
        graph_node *node = &graph->nodes[i];
        free(node->name);
        free(node->inputs);
        free(node->weight_source);
        for (int s = 0; s < node->weight_count; s++) free(node->weights[s].data);
    }
    free(graph->nodes);
    free(graph);
}

int dlp_graph_node_count(const dlp_graph *graph) { return graph->count; }

int dlp_graph_find(const dlp_graph *graph, const char *name)
{
    for (int i = 0; i < graph->count; i++)
        if (strcmp(graph->nodes[i].name, name) == 0) return i;
    return -1;
}

const char *dlp_graph_node_name(const dlp_graph *graph, int node)
{
    return node >= 0 && node < graph->count ? graph->nodes[node].name : NULL;
}

dlp_op dlp_graph_node_op(const dlp_graph *graph, int node)
{
    return node >= 0 && node < graph->count ? graph->nodes[node].op : DLP_OP_COUNT;
}

dlp_shape dlp_graph_node_shape(const dlp_graph *graph, int node)
{
    dlp_shape none = {0, 0, 0};
    return node >= 0 && node < graph->count ? graph->nodes[node].shape : none;
}

const char *dlp_graph_node_weight_source(const dlp_graph *graph, int node)
{
    return node >= 0 && node < graph->count ? graph->nodes[node].weight_source : NULL;
}

graph_weight *graph_node_weight(graph_node *node, const char *slot)
{
    for (int s = 0; s < node->weight_count; s++)
        if (strcmp(node->weights[s].slot, slot) == 0) return &node->weights[s];
    return NULL;
}

/* Appends a node with the given inputs (checked to exist); shape filled by the caller. */
static dlp_status add_node(dlp_graph *graph, const char *name, dlp_op op, const int *inputs, int input_count,
                           graph_node **out, int *id)
{
    if (!name || !*name) return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "%s layer: empty name", dlp_op_name(op));
    if (dlp_graph_find(graph, name) >= 0)
        return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "layer \"%s\": name already used in the graph", name);
    for (int i = 0; i < input_count; i++)
        if (inputs[i] < 0 || inputs[i] >= graph->count)
            return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "layer \"%s\": input %d is node %d, the graph has %d nodes",
                            name, i, inputs[i], graph->count);
    if (graph->count == graph->capacity) {
        int capacity = graph->capacity ? graph->capacity * 2 : 64;
        graph_node *nodes = realloc(graph->nodes, (size_t)capacity * sizeof *nodes);
        if (!nodes) return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "layer \"%s\": out of memory", name);
        graph->nodes = nodes;
        graph->capacity = capacity;
    }
    graph_node *node = &graph->nodes[graph->count];
    memset(node, 0, sizeof *node);
    node->name = strdup(name);
    node->inputs = input_count ? malloc((size_t)input_count * sizeof(int)) : NULL;
    if (!node->name || (input_count && !node->inputs)) {
        free(node->name);
        free(node->inputs);
        return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "layer \"%s\": out of memory", name);
    }
    if (input_count) memcpy(node->inputs, inputs, (size_t)input_count * sizeof(int));
    node->input_count = input_count;
    node->op = op;
    *out = node;
    if (id) *id = graph->count;
    graph->count++;
    return DLP_OK;
}

static void format_shape(char *text, size_t size, int ndim, const int64_t *shape)
{
    size_t used = 0;
    used += (size_t)snprintf(text, size, "[");
    for (int d = 0; d < ndim && used < size; d++)
        used += (size_t)snprintf(text + used, size - used, d ? ", %lld" : "%lld", (long long)shape[d]);
    if (used < size) snprintf(text + used, size - used, "]");
}

static dlp_status add_weight(graph_node *node, const char *slot, int ndim, const int64_t *shape)
{
    graph_weight *w = &node->weights[node->weight_count];
    int64_t count = 1;
    for (int d = 0; d < ndim; d++) {
        /* count <= 2^31 - 1 and shape[d] <= 2^31 - 1 here, so the product fits in int64. */
        if (shape[d] <= 0 || shape[d] > DLP_GRAPH_MAX_ELEMENTS || count * shape[d] > DLP_GRAPH_MAX_ELEMENTS) {
            char text[96];
            format_shape(text, sizeof text, ndim, shape);
            return dlp_fail(shape[d] <= 0 ? DLP_ERR_MODEL : DLP_ERR_LIMIT,
                            "layer \"%s\": weight %s of shape %s, expected positive dims and at most %d elements",
                            node->name, slot, text, DLP_GRAPH_MAX_ELEMENTS);
        }
        count *= shape[d];
    }
    w->slot = slot;
    w->ndim = ndim;
    w->count = (size_t)count;
    for (int d = 0; d < ndim; d++) w->shape[d] = shape[d];
    w->data = calloc(w->count ? w->count : 1, sizeof(float));
    if (!w->data) return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "layer \"%s\": out of memory for %s", node->name, slot);
    node->weight_count++;
    return DLP_OK;
}

/* A node was appended but a later step failed: drop it again. */
static dlp_status drop_last(dlp_graph *graph, dlp_status status)
{
    graph_node *node = &graph->nodes[--graph->count];
    free(node->name);
    free(node->inputs);
    for (int s = 0; s < node->weight_count; s++) free(node->weights[s].data);
    return status;
}

static dlp_shape input_shape(const dlp_graph *graph, int input)
{
    return dlp_graph_node_shape(graph, input);
}

dlp_status dlp_graph_input(dlp_graph *graph, const char *name, dlp_shape shape, int *node)
{
    if (shape.h <= 0 || shape.w <= 0 || shape.c <= 0)
        return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "input \"%s\": shape %dx%dx%d, expected positive dims", name,
                        shape.h, shape.w, shape.c);
    DLP_TRY(graph_check_shape(name, shape.h, shape.w, shape.c));
    graph_node *n = NULL;
    DLP_TRY(add_node(graph, name, DLP_OP_INPUT, NULL, 0, &n, node));
    n->shape = shape;
    return DLP_OK;
}

static dlp_status check_window(const char *name, dlp_shape in, int kh, int kw, int sh, int sw, dlp_padding padding,
                               int *oh, int *ow)
{
    if (kh <= 0 || kw <= 0 || sh <= 0 || sw <= 0)
        return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "layer \"%s\": window %dx%d stride %dx%d, expected positive", name,
                        kh, kw, sh, sw);
    *oh = dlp_conv_output_size(in.h, kh, sh, padding);
    *ow = dlp_conv_output_size(in.w, kw, sw, padding);
    if (*oh <= 0 || *ow <= 0)
        return dlp_fail(DLP_ERR_MODEL, "layer \"%s\": window %dx%d ('%s') does not fit input %dx%dx%d", name, kh, kw,
                        padding == DLP_PAD_SAME ? "same" : "valid", in.h, in.w, in.c);
    return DLP_OK;
}

static dlp_status conv_like(dlp_graph *graph, const char *name, dlp_op op, int input, const dlp_conv2d_params *p,
                            int *node)
{
    dlp_shape in = input_shape(graph, input);
    if (input < 0 || input >= graph->count)
        return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "layer \"%s\": input node %d does not exist", name, input);
    if (p->filters <= 0) return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "layer \"%s\": %d filters", name, p->filters);
    int oh, ow;
    DLP_TRY(check_window(name, in, p->kernel_h, p->kernel_w, p->stride_h, p->stride_w, p->padding, &oh, &ow));
    int64_t channels = op == DLP_OP_CONV2D ? p->filters : (int64_t)in.c * p->filters;
    DLP_TRY(graph_check_shape(name, oh, ow, channels));
    graph_node *n = NULL;
    DLP_TRY(add_node(graph, name, op, &input, 1, &n, node));
    n->params.conv = *p;
    int cout = (int)channels;
    n->shape = (dlp_shape){oh, ow, cout};
    int64_t kshape[4] = {p->kernel_h, p->kernel_w, in.c, p->filters};
    dlp_status status = add_weight(n, op == DLP_OP_CONV2D ? "kernel" : "depthwise_kernel", 4, kshape);
    int64_t bshape[1] = {cout};
    if (status == DLP_OK && p->use_bias) status = add_weight(n, "bias", 1, bshape);
    return status == DLP_OK ? DLP_OK : drop_last(graph, status);
}

dlp_status dlp_graph_conv2d(dlp_graph *graph, const char *name, int input, const dlp_conv2d_params *params,
                            int *node)
{
    return conv_like(graph, name, DLP_OP_CONV2D, input, params, node);
}

dlp_status dlp_graph_depthwise_conv2d(dlp_graph *graph, const char *name, int input,
                                      const dlp_conv2d_params *params, int *node)
{
    return conv_like(graph, name, DLP_OP_DEPTHWISE_CONV2D, input, params, node);
}

dlp_status dlp_graph_separable_conv2d(dlp_graph *graph, const char *name, int input, const dlp_conv2d_params *params,
                                      int depth_multiplier, int *node)
{
    if (input < 0 || input >= graph->count)
        return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "layer \"%s\": input node %d does not exist", name, input);
    if (params->filters <= 0 || depth_multiplier <= 0)
        return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "layer \"%s\": %d filters, depth multiplier %d", name,
                        params->filters, depth_multiplier);
    dlp_shape in = input_shape(graph, input);
    int oh, ow;
    DLP_TRY(check_window(name, in, params->kernel_h, params->kernel_w, params->stride_h, params->stride_w,
                         params->padding, &oh, &ow));
    /* The depthwise half's output is a tensor of its own (in.c x depth_multiplier channels). */
    DLP_TRY(graph_check_shape(name, oh, ow, (int64_t)in.c * depth_multiplier));
    DLP_TRY(graph_check_shape(name, oh, ow, params->filters));
    graph_node *n = NULL;
    DLP_TRY(add_node(graph, name, DLP_OP_SEPARABLE_CONV2D, &input, 1, &n, node));
    n->params.conv = *params;
    n->depth_multiplier = depth_multiplier;
    n->shape = (dlp_shape){oh, ow, params->filters};
    /* Keras' weight order: depthwise_kernel, pointwise_kernel, bias. */
    int64_t depthwise[4] = {params->kernel_h, params->kernel_w, in.c, depth_multiplier};
    int64_t pointwise[4] = {1, 1, (int64_t)in.c * depth_multiplier, params->filters};
    int64_t bias[1] = {params->filters};
    dlp_status status = add_weight(n, "depthwise_kernel", 4, depthwise);
    if (status == DLP_OK) status = add_weight(n, "pointwise_kernel", 4, pointwise);
    if (status == DLP_OK && params->use_bias) status = add_weight(n, "bias", 1, bias);
    return status == DLP_OK ? DLP_OK : drop_last(graph, status);
}

dlp_status dlp_graph_dense(dlp_graph *graph, const char *name, int input, const dlp_dense_params *params, int *node)
{
    if (input < 0 || input >= graph->count)
        return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "layer \"%s\": input node %d does not exist", name, input);
    if (params->units <= 0) return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "layer \"%s\": %d units", name, params->units);
    dlp_shape in = input_shape(graph, input);
    DLP_TRY(graph_check_shape(name, in.h, in.w, params->units));
    graph_node *n = NULL;
    DLP_TRY(add_node(graph, name, DLP_OP_DENSE, &input, 1, &n, node));
    n->params.dense = *params;
    n->shape = (dlp_shape){in.h, in.w, params->units};
    int64_t kshape[2] = {in.c, params->units}, bshape[1] = {params->units};
    dlp_status status = add_weight(n, "kernel", 2, kshape);
    if (status == DLP_OK && params->use_bias) status = add_weight(n, "bias", 1, bshape);
    return status == DLP_OK ? DLP_OK : drop_last(graph, status);
}

dlp_status dlp_graph_batchnorm(dlp_graph *graph, const char *name, int input, const dlp_batchnorm_params *params,
                               int *node)
{
    if (input < 0 || input >= graph->count)
        return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "layer \"%s\": input node %d does not exist", name, input);
    if (!(params->epsilon >= 0))
        return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "layer \"%s\": epsilon %g", name, (double)params->epsilon);
    dlp_shape in = input_shape(graph, input);
    graph_node *n = NULL;
    DLP_TRY(add_node(graph, name, DLP_OP_BATCHNORM, &input, 1, &n, node));
    n->params.bn = *params;
    n->shape = in;
    int64_t shape[1] = {in.c};
    /* Keras' weight order: gamma, beta, moving_mean, moving_variance. */
    dlp_status status = DLP_OK;
    if (params->scale) status = add_weight(n, "gamma", 1, shape);
    if (status == DLP_OK && params->center) status = add_weight(n, "beta", 1, shape);
    if (status == DLP_OK) status = add_weight(n, "moving_mean", 1, shape);
    if (status == DLP_OK) status = add_weight(n, "moving_variance", 1, shape);
    if (status != DLP_OK) return drop_last(graph, status);
    graph_weight *gamma = graph_node_weight(n, "gamma"), *var = graph_node_weight(n, "moving_variance");
    for (int c = 0; c < in.c; c++) {
        if (gamma) gamma->data[c] = 1.0f;
        var->data[c] = 1.0f;
    }
    return DLP_OK;
}

dlp_status dlp_graph_activation(dlp_graph *graph, const char *name, int input, dlp_activation activation, int *node)
{
    if (input < 0 || input >= graph->count)
        return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "layer \"%s\": input node %d does not exist", name, input);
    if ((unsigned)activation >= DLP_ACT_COUNT)
        return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "layer \"%s\": activation %d", name, (int)activation);
    graph_node *n = NULL;
    DLP_TRY(add_node(graph, name, DLP_OP_ACTIVATION, &input, 1, &n, node));
    n->params.activation = activation;
    n->shape = input_shape(graph, input);
    return DLP_OK;
}

dlp_status dlp_graph_pool(dlp_graph *graph, const char *name, dlp_op op, int input, const dlp_pool_params *params,
                          int *node)
{
    if (op != DLP_OP_MAX_POOL && op != DLP_OP_AVG_POOL)
        return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "layer \"%s\": %s is not a windowed pool", name, dlp_op_name(op));
    if (input < 0 || input >= graph->count)
        return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "layer \"%s\": input node %d does not exist", name, input);
    dlp_shape in = input_shape(graph, input);
    int oh, ow;
    DLP_TRY(check_window(name, in, params->pool_h, params->pool_w, params->stride_h, params->stride_w,
                         params->padding, &oh, &ow));
    graph_node *n = NULL;
    DLP_TRY(add_node(graph, name, op, &input, 1, &n, node));
    n->params.pool = *params;
    n->shape = (dlp_shape){oh, ow, in.c};
    return DLP_OK;
}

dlp_status dlp_graph_unary(dlp_graph *graph, const char *name, dlp_op op, int input, int *node)
{
    if (op != DLP_OP_GLOBAL_AVG_POOL && op != DLP_OP_GLOBAL_MAX_POOL && op != DLP_OP_FLATTEN && op != DLP_OP_IDENTITY)
        return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "layer \"%s\": %s is not a parameterless op", name,
                        dlp_op_name(op));
    if (input < 0 || input >= graph->count)
        return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "layer \"%s\": input node %d does not exist", name, input);
    dlp_shape in = input_shape(graph, input);
    graph_node *n = NULL;
    DLP_TRY(add_node(graph, name, op, &input, 1, &n, node));
    if (op == DLP_OP_FLATTEN) {
        size_t elements = dlp_shape_elements(in);
        if (elements > (size_t)INT32_MAX) return drop_last(graph, dlp_fail(DLP_ERR_LIMIT, "layer \"%s\": %zu elements", name, elements));
        n->shape = (dlp_shape){1, 1, (int)elements};
    } else if (op == DLP_OP_IDENTITY) {
        n->shape = in;
    } else {
        n->shape = (dlp_shape){1, 1, in.c};
    }
    return DLP_OK;
}

dlp_status dlp_graph_concat(dlp_graph *graph, const char *name, const int *inputs, int input_count, int *node)
{
    if (input_count < 1) return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "layer \"%s\": concat of %d inputs", name, input_count);
    int64_t channels = 0;
    for (int i = 0; i < input_count; i++) {
        if (inputs[i] < 0 || inputs[i] >= graph->count)
            return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "layer \"%s\": input node %d does not exist", name, inputs[i]);
        dlp_shape a = input_shape(graph, inputs[0]), b = input_shape(graph, inputs[i]);
        if (a.h != b.h || a.w != b.w)
            return dlp_fail(DLP_ERR_MODEL,
                            "layer \"%s\": concatenating \"%s\" (%dx%dx%d) with \"%s\" (%dx%dx%d): spatial dims differ",
                            name, graph->nodes[inputs[0]].name, a.h, a.w, a.c, graph->nodes[inputs[i]].name, b.h, b.w,
                            b.c);
        channels += b.c;
        DLP_TRY(graph_check_shape(name, a.h, a.w, channels));
    }
    graph_node *n = NULL;
    DLP_TRY(add_node(graph, name, DLP_OP_CONCAT, inputs, input_count, &n, node));
    dlp_shape a = input_shape(graph, inputs[0]);
    n->shape = (dlp_shape){a.h, a.w, (int)channels};
    return DLP_OK;
}

dlp_status dlp_graph_add(dlp_graph *graph, const char *name, const int *inputs, int input_count, int *node)
{
    if (input_count < 1) return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "layer \"%s\": add of %d inputs", name, input_count);
    for (int i = 0; i < input_count; i++) {
        if (inputs[i] < 0 || inputs[i] >= graph->count)
            return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "layer \"%s\": input node %d does not exist", name, inputs[i]);
        dlp_shape a = input_shape(graph, inputs[0]), b = input_shape(graph, inputs[i]);
        if (a.h != b.h || a.w != b.w || a.c != b.c)
            return dlp_fail(DLP_ERR_MODEL, "layer \"%s\": adding \"%s\" (%dx%dx%d) and \"%s\" (%dx%dx%d): shapes differ",
                            name, graph->nodes[inputs[0]].name, a.h, a.w, a.c, graph->nodes[inputs[i]].name, b.h, b.w,
                            b.c);
    }
    graph_node *n = NULL;
    DLP_TRY(add_node(graph, name, DLP_OP_ADD, inputs, input_count, &n, node));
    n->shape = input_shape(graph, inputs[0]);
    return DLP_OK;
}

dlp_status dlp_graph_zero_pad(dlp_graph *graph, const char *name, int input, const dlp_zero_pad_params *params,
                              int *node)
{
    if (input < 0 || input >= graph->count)
        return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "layer \"%s\": input node %d does not exist", name, input);
    if (params->top < 0 || params->bottom < 0 || params->left < 0 || params->right < 0)
        return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "layer \"%s\": negative padding", name);
    dlp_shape in = input_shape(graph, input);
    int64_t h = (int64_t)in.h + params->top + params->bottom, w = (int64_t)in.w + params->left + params->right;
    DLP_TRY(graph_check_shape(name, h, w, in.c));
    graph_node *n = NULL;
    DLP_TRY(add_node(graph, name, DLP_OP_ZERO_PAD, &input, 1, &n, node));
    n->params.pad = *params;
    n->shape = (dlp_shape){(int)h, (int)w, in.c};
    return DLP_OK;
}

dlp_status dlp_graph_set_weight(dlp_graph *graph, int node, const char *slot, const dlp_named_tensor *tensor)
{
    if (node < 0 || node >= graph->count)
        return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "set weight: node %d does not exist", node);
    graph_node *n = &graph->nodes[node];
    graph_weight *w = graph_node_weight(n, slot);
    if (!w) return dlp_fail(DLP_ERR_MODEL, "layer \"%s\" (%s) has no weight \"%s\"", n->name, dlp_op_name(n->op), slot);
    bool same = tensor->ndim == w->ndim;
    for (int d = 0; same && d < w->ndim; d++) same = tensor->shape[d] == w->shape[d];
    if (!same) {
        char expected[96], found[96];
        format_shape(expected, sizeof expected, w->ndim, w->shape);
        format_shape(found, sizeof found, tensor->ndim, tensor->shape);
        return dlp_fail(DLP_ERR_MODEL, "layer \"%s\" weight %s (from \"%s\"): expected shape %s, found %s", n->name,
                        slot, tensor->name, expected, found);
    }
    if (tensor->dtype != DLP_DTYPE_F32)
        return dlp_fail(DLP_ERR_UNSUPPORTED, "layer \"%s\" weight %s (from \"%s\"): dtype %s, expected F32", n->name,
                        slot, tensor->name, dlp_dtype_name(tensor->dtype));
    if (tensor->element_count != w->count || !tensor->data)
        return dlp_fail(DLP_ERR_MODEL, "layer \"%s\" weight %s: %zu elements, expected %zu", n->name, slot,
                        tensor->element_count, w->count);
    memcpy(w->data, tensor->data, w->count * sizeof(float));
    return DLP_OK;
}

dlp_status graph_add_node(dlp_graph *graph, const char *name, dlp_op op, const int *inputs, int input_count,
                          graph_node **node, int *id)
{
    return add_node(graph, name, op, inputs, input_count, node, id);
}

dlp_status graph_add_weight(graph_node *node, const char *slot, int ndim, const int64_t *shape)
{
    return add_weight(node, slot, ndim, shape);
}

dlp_status graph_drop_last(dlp_graph *graph, dlp_status status) { return drop_last(graph, status); }

/* graph_extra.c: node builders added for users' own Keras models (ReLU with
 * arguments, Reshape, Permute, Cropping2D, the merge layers, concatenation on
 * any axis, per-channel affine maps), with their shape inference. */
#include <stdlib.h>

#include "core/status.h"
#include "graph/graph_internal.h"

static dlp_status check_input(const dlp_graph *graph, const char *name, int input)
{
    if (input < 0 || input >= graph->count)
        return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "layer \"%s\": input node %d does not exist", name, input);
    return DLP_OK;
}

static int shape_axis(dlp_shape shape, int axis) { return axis == 0 ? shape.h : axis == 1 ? shape.w : shape.c; }

dlp_status dlp_graph_relu(dlp_graph *graph, const char *name, int input, const dlp_relu_params *params, int *node)
{
    DLP_TRY(check_input(graph, name, input));
    if (params->has_max_value && !(params->max_value >= 0))
        return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "layer \"%s\": max_value %g, expected >= 0", name,
                        (double)params->max_value);
    graph_node *n = NULL;
    DLP_TRY(graph_add_node(graph, name, DLP_OP_RELU, &input, 1, &n, node));
    n->params.relu = *params;
    n->shape = graph->nodes[input].shape;
    return DLP_OK;
}

dlp_status dlp_graph_reshape(dlp_graph *graph, const char *name, int input, dlp_shape shape, int *node)
{
    DLP_TRY(check_input(graph, name, input));
    dlp_shape in = graph->nodes[input].shape;
    if (shape.h > 0 && shape.w > 0 && shape.c > 0) DLP_TRY(graph_check_shape(name, shape.h, shape.w, shape.c));
    if (shape.h <= 0 || shape.w <= 0 || shape.c <= 0 || dlp_shape_elements(shape) != dlp_shape_elements(in))
        return dlp_fail(DLP_ERR_MODEL, "layer \"%s\": cannot reshape %dx%dx%d (%zu elements) to %dx%dx%d", name, in.h,
                        in.w, in.c, dlp_shape_elements(in), shape.h, shape.w, shape.c);
    graph_node *n = NULL;
    DLP_TRY(graph_add_node(graph, name, DLP_OP_RESHAPE, &input, 1, &n, node));
    n->shape = shape;
    return DLP_OK;
}

dlp_status dlp_graph_permute(dlp_graph *graph, const char *name, int input, const dlp_permute_params *params,
                             int *node)
{
    DLP_TRY(check_input(graph, name, input));
    int seen = 0;
    for (int i = 0; i < 3; i++)
        if (params->axes[i] >= 0 && params->axes[i] < 3) seen |= 1 << params->axes[i];
    if (seen != 7)
        return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "layer \"%s\": axes (%d, %d, %d) are not a permutation of (0, 1, 2)",
                        name, params->axes[0], params->axes[1], params->axes[2]);
    dlp_shape in = graph->nodes[input].shape;
    graph_node *n = NULL;
    DLP_TRY(graph_add_node(graph, name, DLP_OP_PERMUTE, &input, 1, &n, node));
    n->params.permute = *params;
    n->shape = (dlp_shape){shape_axis(in, params->axes[0]), shape_axis(in, params->axes[1]),
                           shape_axis(in, params->axes[2])};
    return DLP_OK;
}

dlp_status dlp_graph_crop(dlp_graph *graph, const char *name, int input, const dlp_zero_pad_params *params, int *node)
{
    DLP_TRY(check_input(graph, name, input));
    dlp_shape in = graph->nodes[input].shape;
    int64_t h = (int64_t)in.h - params->top - params->bottom, w = (int64_t)in.w - params->left - params->right;
    if (params->top < 0 || params->bottom < 0 || params->left < 0 || params->right < 0 || h <= 0 || w <= 0)
        return dlp_fail(DLP_ERR_MODEL, "layer \"%s\": cropping (%d, %d) rows and (%d, %d) columns from %dx%dx%d", name,
                        params->top, params->bottom, params->left, params->right, in.h, in.w, in.c);
    graph_node *n = NULL;
    DLP_TRY(graph_add_node(graph, name, DLP_OP_CROP, &input, 1, &n, node));
    n->params.pad = *params;
    n->shape = (dlp_shape){(int)h, (int)w, in.c};
    return DLP_OK;
}

dlp_status dlp_graph_elementwise(dlp_graph *graph, const char *name, dlp_op op, const int *inputs, int input_count,
                                 int *node)
{
    if (op == DLP_OP_ADD) return dlp_graph_add(graph, name, inputs, input_count, node);
    if (op != DLP_OP_SUBTRACT && op != DLP_OP_MULTIPLY && op != DLP_OP_AVERAGE && op != DLP_OP_MAXIMUM)
        return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "layer \"%s\": %s is not an elementwise merge", name,
                        dlp_op_name(op));
    if (input_count < 1 || (op == DLP_OP_SUBTRACT && input_count != 2))
        return dlp_fail(DLP_ERR_MODEL, "layer \"%s\": %s of %d inputs%s", name, dlp_op_name(op), input_count,
                        op == DLP_OP_SUBTRACT ? ", expected exactly 2" : "");
    for (int i = 0; i < input_count; i++) {
        DLP_TRY(check_input(graph, name, inputs[i]));
        dlp_shape a = graph->nodes[inputs[0]].shape, b = graph->nodes[inputs[i]].shape;
        if (a.h != b.h || a.w != b.w || a.c != b.c)
            return dlp_fail(DLP_ERR_MODEL, "layer \"%s\" (%s): \"%s\" is %dx%dx%d but \"%s\" is %dx%dx%d", name,
                            dlp_op_name(op), graph->nodes[inputs[0]].name, a.h, a.w, a.c, graph->nodes[inputs[i]].name,
                            b.h, b.w, b.c);
    }
    graph_node *n = NULL;
    DLP_TRY(graph_add_node(graph, name, op, inputs, input_count, &n, node));
    n->shape = graph->nodes[inputs[0]].shape;
    return DLP_OK;
}

dlp_status dlp_graph_concat_axis(dlp_graph *graph, const char *name, const int *inputs, int input_count, int axis,
                                 int *node)
{
    if (axis == 2) return dlp_graph_concat(graph, name, inputs, input_count, node);
    if (axis != 0 && axis != 1)
        return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "layer \"%s\": concatenation axis %d, expected 0, 1 or 2", name, axis);
    if (input_count < 1)
        return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "layer \"%s\": concat of %d inputs", name, input_count);
    int64_t total = 0;
    for (int i = 0; i < input_count; i++) {
        DLP_TRY(check_input(graph, name, inputs[i]));
        dlp_shape a = graph->nodes[inputs[0]].shape, b = graph->nodes[inputs[i]].shape;
        bool fits = a.c == b.c && (axis == 0 ? a.w == b.w : a.h == b.h);
        if (!fits)
            return dlp_fail(DLP_ERR_MODEL,
                            "layer \"%s\": concatenating \"%s\" (%dx%dx%d) with \"%s\" (%dx%dx%d) along %s: other dims "
                            "differ",
                            name, graph->nodes[inputs[0]].name, a.h, a.w, a.c, graph->nodes[inputs[i]].name, b.h, b.w,
                            b.c, axis == 0 ? "rows" : "columns");
        total += shape_axis(b, axis);
        DLP_TRY(graph_check_shape(name, axis == 0 ? total : a.h, axis == 1 ? total : a.w, a.c));
    }
    graph_node *n = NULL;
    DLP_TRY(graph_add_node(graph, name, DLP_OP_CONCAT_AXIS, inputs, input_count, &n, node));
    n->params.axis = axis;
    n->shape = graph->nodes[inputs[0]].shape;
    if (axis == 0)
        n->shape.h = (int)total;
    else
        n->shape.w = (int)total;
    return DLP_OK;
}

dlp_status dlp_graph_channel_affine(dlp_graph *graph, const char *name, int input, int *node)
{
    DLP_TRY(check_input(graph, name, input));
    graph_node *n = NULL;
    DLP_TRY(graph_add_node(graph, name, DLP_OP_CHANNEL_AFFINE, &input, 1, &n, node));
    n->shape = graph->nodes[input].shape;
    int64_t shape[1] = {n->shape.c};
    dlp_status status = graph_add_weight(n, "scale", 1, shape);
    if (status == DLP_OK) status = graph_add_weight(n, "shift", 1, shape);
    if (status != DLP_OK) return graph_drop_last(graph, status);
    graph_weight *scale = graph_node_weight(n, "scale");
    for (int c = 0; c < n->shape.c; c++) scale->data[c] = 1.0f;
    return DLP_OK;
}

/* keras_config.c: a graph from a Keras model_config (users' own models):
 * Sequential and Functional configs of Keras 2.2.x (also as TF.js layers
 * models), tf-keras 2.x and Keras 3, one builder per layer class. Every layer
 * and option is checked in a first pass, so an unsupported one is refused
 * before anything is built; weights are then bound by layer name. */
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/status.h"
#include "dlp/weights.h"
#include "graph/graph_internal.h"
#include "models/keras_config.h"

enum { MAX_LAYER_INPUTS = 64 };

typedef struct layer_entry {
    const char *name;        /* the graph node's: "backbone/conv" inside a nested model "backbone" */
    const char *keras_name;  /* the name inbound_nodes use, within its own model ("conv") */
    const char *weight_name; /* its weights' prefix: the top-level layer holding them, then its own name */
    char *owned;             /* name and weight_name when allocated (nested models) */
    json_t *json;            /* the layer's entry: class_name, config (a nested model's own model_config) */
    const char *class_name;
    json_t *config;
    json_t *inbound; /* inbound_nodes (Functional), NULL in a Sequential */
    bool built;
    keras_tensor output;
} layer_entry;

typedef struct builder {
    dlp_graph *graph; /* NULL in the checking pass */
    const dlp_tensor_list *weights;
    dlp_keras_model_options options;
    bool keras3; /* the config is Keras 3's: "hard_sigmoid" means relu6(x+3)/6 there */
    layer_entry *layers;
    int count;
    char node_name[320];
    /* Inside a nested model: its node-name and weight-name prefixes, and the
     * outer tensor its input stands for (no graph input is made). */
    const char *scope, *weight_scope;
    const keras_tensor *bound_input;
} builder;

/* ---- Messages ---- */

static dlp_status layer_fail(dlp_status status, const layer_entry *l, const char *fmt, ...) DLP_PRINTF(3, 4);

static dlp_status layer_fail(dlp_status status, const layer_entry *l, const char *fmt, ...)
{
    char detail[512];
    va_list args;
    va_start(args, fmt);
    vsnprintf(detail, sizeof detail, fmt, args);
    va_end(args);
    return dlp_fail(status, "layer \"%s\" (%s): %s", l->name, l->class_name, detail);
}

#define REFUSE(l, ...) layer_fail(DLP_ERR_UNSUPPORTED, l, __VA_ARGS__)
#define MALFORMED(l, ...) layer_fail(DLP_ERR_MODEL, l, __VA_ARGS__)

/* ---- Reading config values ---- */

static json_t *option(const layer_entry *l, const char *key)
{
    json_t *value = json_object_get(l->config, key);
    return json_is_null(value) ? NULL : value;
}

static bool integer_of(json_t *value, int *out)
{
    if (json_is_integer(value)) {
        json_int_t v = json_integer_value(value);
        if (v < -1000000000 || v > 1000000000) return false;
        *out = (int)v;
        return true;
    }
    if (json_is_real(value) && json_real_value(value) == floor(json_real_value(value)) &&
        fabs(json_real_value(value)) < 1e9) {
        *out = (int)json_real_value(value);
        return true;
    }
    return false;
}

/* An int or a list of `count` ints (Keras accepts both for sizes and strides). */
static dlp_status get_ints(const layer_entry *l, const char *key, int fallback, int count, int *out)
{
    json_t *value = option(l, key);
    if (!value) {
        if (fallback < 0) return MALFORMED(l, "no \"%s\"", key);
        for (int i = 0; i < count; i++) out[i] = fallback;
        return DLP_OK;
    }
    if (integer_of(value, &out[0])) {
        for (int i = 1; i < count; i++) out[i] = out[0];
        return DLP_OK;
    }
    if (!json_is_array(value) || json_array_size(value) != (size_t)count)
        return MALFORMED(l, "\"%s\" is not an integer or a list of %d integers", key, count);
    for (int i = 0; i < count; i++)
        if (!integer_of(json_array_get(value, (size_t)i), &out[i]))
            return MALFORMED(l, "\"%s\"[%d] is not an integer", key, i);
    return DLP_OK;
}

static double get_number(const layer_entry *l, const char *key, double fallback)
{
    json_t *value = option(l, key);
    return json_is_number(value) ? json_number_value(value) : fallback;
}

static bool get_bool(const layer_entry *l, const char *key, bool fallback)
{
    json_t *value = option(l, key);
    return json_is_boolean(value) ? json_is_true(value) : fallback;
}

static dlp_status check_data_format(const layer_entry *l)
{
    json_t *value = option(l, "data_format");
    if (value && (!json_is_string(value) || strcmp(json_string_value(value), "channels_last") != 0))
        return REFUSE(l, "data_format \"%s\" is not supported (only channels_last)",
                      json_is_string(value) ? json_string_value(value) : "?");
    return DLP_OK;
}

static dlp_status check_dilation_and_groups(const layer_entry *l)
{
    int dilation[2];
    DLP_TRY(get_ints(l, "dilation_rate", 1, 2, dilation));
    if (dilation[0] != 1 || dilation[1] != 1)
        return REFUSE(l, "dilation_rate (%d, %d) is not supported (only 1)", dilation[0], dilation[1]);
    int groups[1];
    DLP_TRY(get_ints(l, "groups", 1, 1, groups));
    if (groups[0] != 1) return REFUSE(l, "groups %d is not supported (only 1)", groups[0]);
    return DLP_OK;
}

static dlp_status get_padding(const layer_entry *l, dlp_padding *padding)
{
    json_t *value = option(l, "padding");
    const char *text = json_is_string(value) ? json_string_value(value) : value ? "?" : "valid";
    if (strcmp(text, "valid") == 0)
        *padding = DLP_PAD_VALID;
    else if (strcmp(text, "same") == 0)
        *padding = DLP_PAD_SAME;
    else
        return REFUSE(l, "padding \"%s\" is not supported (valid or same)", text);
    return DLP_OK;
}

/* "relu", or Keras 3's {"class_name": "function", "config": "relu", ...}. */
static dlp_status get_activation(const builder *b, const layer_entry *l, const char *key, dlp_activation *activation)
{
    json_t *value = option(l, key);
    const char *name = "linear";
    if (json_is_string(value)) {
        name = json_string_value(value);
    } else if (json_is_object(value)) {
        json_t *inner = json_object_get(value, "config");
        name = json_is_string(inner) ? json_string_value(inner)
                                     : json_string_value(json_object_get(value, "class_name"));
        if (!name) name = "?";
    } else if (value) {
        return MALFORMED(l, "\"%s\" is not an activation name", key);
    }
    if (dlp_activation_from_name(name, activation) != DLP_OK)
        return REFUSE(l, "activation \"%s\" is not supported", name);
    if (*activation == DLP_ACT_HARD_SIGMOID && b->keras3) *activation = DLP_ACT_HARD_SIGMOID_RELU6;
    return DLP_OK;
}

/* ---- Shapes ---- */

static dlp_shape shape_of(const keras_tensor *t)
{
    if (t->rank == 1) return (dlp_shape){1, 1, t->dims[0]};
    if (t->rank == 2) return (dlp_shape){1, t->dims[0], t->dims[1]};
    return (dlp_shape){t->dims[0], t->dims[1], t->dims[2]};
}

static void format_dims(const keras_tensor *t, char *text, size_t size)
{
    if (t->rank == 1) snprintf(text, size, "(%d)", t->dims[0]);
    if (t->rank == 2) snprintf(text, size, "(%d, %d)", t->dims[0], t->dims[1]);
    if (t->rank == 3) snprintf(text, size, "(%d, %d, %d)", t->dims[0], t->dims[1], t->dims[2]);
}

static dlp_status need_rank(const layer_entry *l, const keras_tensor *in, int rank)
{
    if (in->rank == rank) return DLP_OK;
    char dims[64];
    format_dims(in, dims, sizeof dims);
    return REFUSE(l, "input shape %s: expected %d dims besides the batch", dims, rank);
}

/* The output of a node with Keras dims; checks the graph agrees. */
static dlp_status set_output(builder *b, const layer_entry *l, int node, int rank, const int *dims, keras_tensor *out)
{
    out->node = node;
    out->rank = rank;
    for (int i = 0; i < 3; i++) out->dims[i] = i < rank ? dims[i] : 0;
    dlp_shape want = shape_of(out), have = dlp_graph_node_shape(b->graph, node);
    if (want.h != have.h || want.w != have.w || want.c != have.c)
        return dlp_fail(DLP_ERR_INTERNAL, "layer \"%s\" (%s): graph shape %dx%dx%d, Keras shape %dx%dx%d", l->name,
                        l->class_name, have.h, have.w, have.c, want.h, want.w, want.c);
    return DLP_OK;
}

static dlp_status same_output(builder *b, const layer_entry *l, int node, const keras_tensor *in, keras_tensor *out)
{
    return set_output(b, l, node, in->rank, in->dims, out);
}

static dlp_status spatial_output(builder *b, const layer_entry *l, int node, keras_tensor *out)
{
    dlp_shape s = dlp_graph_node_shape(b->graph, node);
    int dims[3] = {s.h, s.w, s.c};
    return set_output(b, l, node, 3, dims, out);
}

/* ---- Weights, by layer name ---- */

static const dlp_named_tensor *find_weight(const builder *b, const char *layer, const char *slot)
{
    size_t layer_length = strlen(layer), slot_length = strlen(slot);
    for (size_t i = 0; i < dlp_tensor_list_count(b->weights); i++) {
        const dlp_named_tensor *t = dlp_tensor_list_at(b->weights, i);
        if (strncmp(t->name, layer, layer_length) != 0 || t->name[layer_length] != '/') continue;
        const char *tail = strrchr(t->name, '/') + 1;
        if (strncmp(tail, slot, slot_length) == 0 && (tail[slot_length] == '\0' || tail[slot_length] == ':'))
            return t;
    }
    return NULL;
}

static dlp_status bind_weight(builder *b, const layer_entry *l, int node, const char *graph_slot,
                              const char *keras_slot)
{
    if (!b->weights) return DLP_OK;
    const dlp_named_tensor *t = find_weight(b, l->weight_name, keras_slot);
    /* Keras 3 names DepthwiseConv2D's kernel "kernel" (Keras 2: "depthwise_kernel"). */
    if (!t && strcmp(l->class_name, "DepthwiseConv2D") == 0) t = find_weight(b, l->weight_name, "kernel");
    if (!t) return MALFORMED(l, "weight \"%s/%s\" is not in the weight file", l->weight_name, keras_slot);
    dlp_status status = dlp_graph_set_weight(b->graph, node, graph_slot, t);
    return status == DLP_OK ? DLP_OK : dlp_fail_context(status, "layer \"%s\" (%s)", l->name, l->class_name);
}

/* Weight values as doubles (a Normalization's mean and variance), count must match or be 1 (broadcast). */
static dlp_status weight_values(builder *b, const layer_entry *l, const char *slot, int channels, double *out)
{
    const dlp_named_tensor *t = find_weight(b, l->weight_name, slot);
    if (!t) return MALFORMED(l, "weight \"%s/%s\" is not in the weight file", l->weight_name, slot);
    if (t->dtype != DLP_DTYPE_F32 || (t->element_count != (size_t)channels && t->element_count != 1))
        return MALFORMED(l, "weight \"%s\": %zu %s values, expected %d float32", t->name, t->element_count,
                         dlp_dtype_name(t->dtype), channels);
    const float *data = t->data;
    for (int c = 0; c < channels; c++) out[c] = data[t->element_count == 1 ? 0 : c];
    return DLP_OK;
}

/* ---- Layer builders: each reads (and checks) its options, returns in the
 * checking pass (b->graph NULL), then builds from in[0..in_count-1]. ---- */

typedef dlp_status (*layer_builder)(builder *b, const layer_entry *l, const keras_tensor *in, int in_count,
                                    keras_tensor *out);

/* Keras fuses any activation into Conv2D/Dense; the graph fuses the first six
 * only, so the others follow as a node "<layer>/<activation>". */
static dlp_status add_activation_after(builder *b, const layer_entry *l, keras_tensor *out, dlp_activation activation)
{
    if (activation == DLP_ACT_LINEAR) return DLP_OK;
    snprintf(b->node_name, sizeof b->node_name, "%s/%s", l->name, dlp_activation_name(activation));
    int node;
    DLP_TRY(dlp_graph_activation(b->graph, b->node_name, out->node, activation, &node));
    out->node = node;
    return DLP_OK;
}

static dlp_status split_activation(dlp_activation activation, dlp_activation *fused, dlp_activation *after)
{
    bool extra = activation > DLP_ACT_SOFTMAX;
    *fused = extra ? DLP_ACT_LINEAR : activation;
    *after = extra ? activation : DLP_ACT_LINEAR;
    return DLP_OK;
}

static dlp_status window_options(const builder *b, const layer_entry *l, dlp_conv2d_params *p,
                                 dlp_activation *after)
{
    int kernel[2], strides[2];
    dlp_activation activation;
    DLP_TRY(check_data_format(l));
    DLP_TRY(check_dilation_and_groups(l));
    DLP_TRY(get_ints(l, "kernel_size", -1, 2, kernel));
    DLP_TRY(get_ints(l, "strides", 1, 2, strides));
    DLP_TRY(get_padding(l, &p->padding));
    DLP_TRY(get_activation(b, l, "activation", &activation));
    split_activation(activation, &p->activation, after);
    p->kernel_h = kernel[0], p->kernel_w = kernel[1];
    p->stride_h = strides[0], p->stride_w = strides[1];
    p->use_bias = get_bool(l, "use_bias", true);
    if (kernel[0] <= 0 || kernel[1] <= 0 || strides[0] <= 0 || strides[1] <= 0)
        return MALFORMED(l, "kernel_size (%d, %d), strides (%d, %d): expected positive", kernel[0], kernel[1],
                         strides[0], strides[1]);
    return DLP_OK;
}

static dlp_status build_conv2d(builder *b, const layer_entry *l, const keras_tensor *in, int in_count,
                               keras_tensor *out)
{
    dlp_conv2d_params p = {0};
    dlp_activation after;
    DLP_TRY(window_options(b, l, &p, &after));
    int filters[1];
    DLP_TRY(get_ints(l, "filters", -1, 1, filters));
    p.filters = filters[0];
    if (!b->graph) return DLP_OK;
    DLP_TRY(need_rank(l, in, 3));
    int node;
    DLP_TRY(dlp_graph_conv2d(b->graph, l->name, in->node, &p, &node));
    DLP_TRY(bind_weight(b, l, node, "kernel", "kernel"));
    if (p.use_bias) DLP_TRY(bind_weight(b, l, node, "bias", "bias"));
    DLP_TRY(spatial_output(b, l, node, out));
    return add_activation_after(b, l, out, after);
}

static dlp_status build_depthwise(builder *b, const layer_entry *l, const keras_tensor *in, int in_count,
                                  keras_tensor *out)
{
    dlp_conv2d_params p = {0};
    dlp_activation after;
    DLP_TRY(window_options(b, l, &p, &after));
    int multiplier[1];
    DLP_TRY(get_ints(l, "depth_multiplier", 1, 1, multiplier));
    p.filters = multiplier[0];
    if (!b->graph) return DLP_OK;
    DLP_TRY(need_rank(l, in, 3));
    int node;
    DLP_TRY(dlp_graph_depthwise_conv2d(b->graph, l->name, in->node, &p, &node));
    DLP_TRY(bind_weight(b, l, node, "depthwise_kernel", "depthwise_kernel"));
    if (p.use_bias) DLP_TRY(bind_weight(b, l, node, "bias", "bias"));
    DLP_TRY(spatial_output(b, l, node, out));
    return add_activation_after(b, l, out, after);
}

/* SeparableConv2D = a depthwise node "<layer>/depthwise" (the strides, no
 * bias) then a 1x1 conv node "<layer>" (pointwise_kernel, bias, activation),
 * as tf.nn.separable_conv2d computes it. */
static dlp_status build_separable(builder *b, const layer_entry *l, const keras_tensor *in, int in_count,
                                  keras_tensor *out)
{
    dlp_conv2d_params depthwise = {0};
    dlp_activation after;
    DLP_TRY(window_options(b, l, &depthwise, &after));
    int multiplier[1], filters[1];
    DLP_TRY(get_ints(l, "depth_multiplier", 1, 1, multiplier));
    DLP_TRY(get_ints(l, "filters", -1, 1, filters));
    dlp_conv2d_params pointwise = {1, 1, 1, 1, DLP_PAD_VALID, filters[0], depthwise.use_bias, depthwise.activation};
    depthwise.filters = multiplier[0];
    depthwise.use_bias = false;
    depthwise.activation = DLP_ACT_LINEAR;
    if (!b->graph) return DLP_OK;
    DLP_TRY(need_rank(l, in, 3));
    int first, node;
    snprintf(b->node_name, sizeof b->node_name, "%s/depthwise", l->name);
    DLP_TRY(dlp_graph_depthwise_conv2d(b->graph, b->node_name, in->node, &depthwise, &first));
    DLP_TRY(bind_weight(b, l, first, "depthwise_kernel", "depthwise_kernel"));
    DLP_TRY(dlp_graph_conv2d(b->graph, l->name, first, &pointwise, &node));
    DLP_TRY(bind_weight(b, l, node, "kernel", "pointwise_kernel"));
    if (pointwise.use_bias) DLP_TRY(bind_weight(b, l, node, "bias", "bias"));
    DLP_TRY(spatial_output(b, l, node, out));
    return add_activation_after(b, l, out, after);
}

static dlp_status build_dense(builder *b, const layer_entry *l, const keras_tensor *in, int in_count,
                              keras_tensor *out)
{
    int units[1];
    dlp_activation activation, after;
    DLP_TRY(get_ints(l, "units", -1, 1, units));
    DLP_TRY(get_activation(b, l, "activation", &activation));
    dlp_dense_params p = {units[0], get_bool(l, "use_bias", true), DLP_ACT_LINEAR};
    split_activation(activation, &p.activation, &after);
    if (!b->graph) return DLP_OK;
    int node;
    DLP_TRY(dlp_graph_dense(b->graph, l->name, in->node, &p, &node));
    DLP_TRY(bind_weight(b, l, node, "kernel", "kernel"));
    if (p.use_bias) DLP_TRY(bind_weight(b, l, node, "bias", "bias"));
    int dims[3] = {in->dims[0], in->dims[1], in->dims[2]};
    dims[in->rank - 1] = units[0];
    DLP_TRY(set_output(b, l, node, in->rank, dims, out));
    return add_activation_after(b, l, out, after);
}

/* The axis option as one Keras axis (batch = 0; negative from the end of a
 * rank+1 tensor); refuses anything but the last axis. */
static dlp_status last_axis_only(const layer_entry *l, const char *key, int fallback, const keras_tensor *in)
{
    json_t *value = option(l, key);
    int axis = fallback;
    if (json_is_array(value)) {
        if (json_array_size(value) != 1 || !integer_of(json_array_get(value, 0), &axis))
            return REFUSE(l, "%s %s is not supported (only the last axis)", key, "with several axes");
    } else if (value && !integer_of(value, &axis)) {
        return MALFORMED(l, "\"%s\" is not an integer", key);
    }
    if (!in) return DLP_OK;
    int normalized = axis < 0 ? axis + in->rank + 1 : axis;
    if (normalized != in->rank)
        return REFUSE(l, "%s %d is not supported (only the last axis, %d, of a %d-d input)", key, axis, in->rank,
                      in->rank + 1);
    return DLP_OK;
}

static dlp_status build_batchnorm(builder *b, const layer_entry *l, const keras_tensor *in, int in_count,
                                  keras_tensor *out)
{
    dlp_batchnorm_params p = {(float)get_number(l, "epsilon", 1e-3), get_bool(l, "scale", true),
                              get_bool(l, "center", true)};
    DLP_TRY(last_axis_only(l, "axis", -1, NULL));
    if (!b->graph) return DLP_OK;
    DLP_TRY(last_axis_only(l, "axis", -1, in));
    int node;
    DLP_TRY(dlp_graph_batchnorm(b->graph, l->name, in->node, &p, &node));
    if (p.scale) DLP_TRY(bind_weight(b, l, node, "gamma", "gamma"));
    if (p.center) DLP_TRY(bind_weight(b, l, node, "beta", "beta"));
    DLP_TRY(bind_weight(b, l, node, "moving_mean", "moving_mean"));
    DLP_TRY(bind_weight(b, l, node, "moving_variance", "moving_variance"));
    return same_output(b, l, node, in, out);
}

static dlp_status activation_node(builder *b, const layer_entry *l, const keras_tensor *in, dlp_activation activation,
                                  keras_tensor *out)
{
    int node;
    DLP_TRY(dlp_graph_activation(b->graph, l->name, in->node, activation, &node));
    return same_output(b, l, node, in, out);
}

static dlp_status build_activation(builder *b, const layer_entry *l, const keras_tensor *in, int in_count,
                                   keras_tensor *out)
{
    dlp_activation activation;
    DLP_TRY(get_activation(b, l, "activation", &activation));
    if (!b->graph) return DLP_OK;
    return activation_node(b, l, in, activation, out);
}

static dlp_status build_softmax(builder *b, const layer_entry *l, const keras_tensor *in, int in_count,
                                keras_tensor *out)
{
    DLP_TRY(last_axis_only(l, "axis", -1, NULL));
    if (!b->graph) return DLP_OK;
    DLP_TRY(last_axis_only(l, "axis", -1, in));
    return activation_node(b, l, in, DLP_ACT_SOFTMAX, out);
}

static dlp_status relu_node(builder *b, const layer_entry *l, const keras_tensor *in, const dlp_relu_params *p,
                            keras_tensor *out)
{
    /* The plain cases stay activations, which the plan fuses into the conv/dense before them. */
    if (p->negative_slope == 0 && p->threshold == 0 && (!p->has_max_value || p->max_value == 6.0f))
        return activation_node(b, l, in, p->has_max_value ? DLP_ACT_RELU6 : DLP_ACT_RELU, out);
    int node;
    DLP_TRY(dlp_graph_relu(b->graph, l->name, in->node, p, &node));
    return same_output(b, l, node, in, out);
}

static dlp_status build_relu(builder *b, const layer_entry *l, const keras_tensor *in, int in_count,
                             keras_tensor *out)
{
    json_t *max_value = option(l, "max_value");
    if (max_value && !json_is_number(max_value)) return MALFORMED(l, "\"max_value\" is not a number");
    dlp_relu_params p = {(float)get_number(l, "negative_slope", 0.0), (float)get_number(l, "threshold", 0.0),
                         max_value != NULL, max_value ? (float)json_number_value(max_value) : 0.0f};
    if (p.has_max_value && p.max_value < 0) return MALFORMED(l, "max_value %g, expected >= 0", (double)p.max_value);
    if (!b->graph) return DLP_OK;
    return relu_node(b, l, in, &p, out);
}

static dlp_status build_leaky_relu(builder *b, const layer_entry *l, const keras_tensor *in, int in_count,
                                   keras_tensor *out)
{
    /* tf-keras calls the slope alpha (default 0.3), Keras 3 negative_slope. */
    double slope = get_number(l, "alpha", get_number(l, "negative_slope", 0.3));
    dlp_relu_params p = {(float)slope, 0.0f, false, 0.0f};
    if (!b->graph) return DLP_OK;
    return relu_node(b, l, in, &p, out);
}

static dlp_status build_pool(builder *b, const layer_entry *l, const keras_tensor *in, dlp_op op, keras_tensor *out)
{
    dlp_pool_params p;
    int pool[2], strides[2];
    DLP_TRY(check_data_format(l));
    DLP_TRY(get_ints(l, "pool_size", 2, 2, pool));
    /* strides None means the pool size. */
    DLP_TRY(get_ints(l, "strides", 0, 2, strides));
    DLP_TRY(get_padding(l, &p.padding));
    p.pool_h = pool[0], p.pool_w = pool[1];
    p.stride_h = strides[0] > 0 ? strides[0] : pool[0];
    p.stride_w = strides[1] > 0 ? strides[1] : pool[1];
    if (!b->graph) return DLP_OK;
    DLP_TRY(need_rank(l, in, 3));
    int node;
    DLP_TRY(dlp_graph_pool(b->graph, l->name, op, in->node, &p, &node));
    return spatial_output(b, l, node, out);
}

static dlp_status build_max_pool(builder *b, const layer_entry *l, const keras_tensor *in, int in_count,
                                 keras_tensor *out)
{
    return build_pool(b, l, in, DLP_OP_MAX_POOL, out);
}

static dlp_status build_avg_pool(builder *b, const layer_entry *l, const keras_tensor *in, int in_count,
                                 keras_tensor *out)
{
    return build_pool(b, l, in, DLP_OP_AVG_POOL, out);
}

/* Global pooling over everything but the channels: 2D over (h, w) of a 3-d
 * input, 1D over the steps of a 2-d one; keepdims keeps the rank. */
static dlp_status build_global_pool(builder *b, const layer_entry *l, const keras_tensor *in, dlp_op op, int rank,
                                    keras_tensor *out)
{
    DLP_TRY(check_data_format(l));
    bool keepdims = get_bool(l, "keepdims", false);
    if (!b->graph) return DLP_OK;
    DLP_TRY(need_rank(l, in, rank));
    int node;
    DLP_TRY(dlp_graph_unary(b->graph, l->name, op, in->node, &node));
    int channels = in->dims[rank - 1];
    int kept[3] = {1, 1, 1};
    kept[rank - 1] = channels;
    return keepdims ? set_output(b, l, node, rank, kept, out) : set_output(b, l, node, 1, &channels, out);
}

static dlp_status build_global_avg_2d(builder *b, const layer_entry *l, const keras_tensor *in, int in_count,
                                      keras_tensor *out)
{
    return build_global_pool(b, l, in, DLP_OP_GLOBAL_AVG_POOL, 3, out);
}

static dlp_status build_global_max_2d(builder *b, const layer_entry *l, const keras_tensor *in, int in_count,
                                      keras_tensor *out)
{
    return build_global_pool(b, l, in, DLP_OP_GLOBAL_MAX_POOL, 3, out);
}

static dlp_status build_global_avg_1d(builder *b, const layer_entry *l, const keras_tensor *in, int in_count,
                                      keras_tensor *out)
{
    return build_global_pool(b, l, in, DLP_OP_GLOBAL_AVG_POOL, 2, out);
}

static dlp_status build_global_max_1d(builder *b, const layer_entry *l, const keras_tensor *in, int in_count,
                                      keras_tensor *out)
{
    return build_global_pool(b, l, in, DLP_OP_GLOBAL_MAX_POOL, 2, out);
}

static dlp_status build_flatten(builder *b, const layer_entry *l, const keras_tensor *in, int in_count,
                                keras_tensor *out)
{
    DLP_TRY(check_data_format(l));
    if (!b->graph) return DLP_OK;
    int node;
    DLP_TRY(dlp_graph_unary(b->graph, l->name, DLP_OP_FLATTEN, in->node, &node));
    int elements = (int)dlp_shape_elements(shape_of(in));
    return set_output(b, l, node, 1, &elements, out);
}

static dlp_status build_identity(builder *b, const layer_entry *l, const keras_tensor *in, int in_count,
                                 keras_tensor *out)
{
    if (!b->graph) return DLP_OK;
    int node;
    DLP_TRY(dlp_graph_unary(b->graph, l->name, DLP_OP_IDENTITY, in->node, &node));
    return same_output(b, l, node, in, out);
}

static dlp_status build_reshape(builder *b, const layer_entry *l, const keras_tensor *in, int in_count,
                                keras_tensor *out)
{
    json_t *target = option(l, "target_shape");
    int rank = (int)json_array_size(target), dims[3] = {0, 0, 0}, unknown = -1;
    if (!json_is_array(target) || rank < 1) return MALFORMED(l, "no \"target_shape\" list");
    if (rank > 3) return REFUSE(l, "target_shape of %d dims is not supported (at most 3 besides the batch)", rank);
    for (int i = 0; i < rank; i++) {
        if (!integer_of(json_array_get(target, (size_t)i), &dims[i]) || dims[i] == 0 || dims[i] < -1)
            return MALFORMED(l, "target_shape[%d] is not a positive integer or -1", i);
        if (dims[i] == -1) {
            if (unknown >= 0) return MALFORMED(l, "target_shape has more than one -1");
            unknown = i;
        }
    }
    if (!b->graph) return DLP_OK;
    size_t elements = dlp_shape_elements(shape_of(in)), known = 1;
    for (int i = 0; i < rank; i++)
        if (i != unknown) known *= (size_t)dims[i];
    if (unknown >= 0 && elements % known == 0) dims[unknown] = (int)(elements / known);
    keras_tensor want = {0, rank, {dims[0], dims[1], dims[2]}};
    if (unknown >= 0 && elements % known != 0)
        return MALFORMED(l, "cannot reshape %zu elements to a multiple of %zu", elements, known);
    int node;
    DLP_TRY(dlp_graph_reshape(b->graph, l->name, in->node, shape_of(&want), &node));
    return set_output(b, l, node, rank, dims, out);
}

static dlp_status build_permute(builder *b, const layer_entry *l, const keras_tensor *in, int in_count,
                                keras_tensor *out)
{
    json_t *dims_option = option(l, "dims");
    int rank = (int)json_array_size(dims_option), dims[3];
    if (!json_is_array(dims_option) || rank < 1 || rank > 3) return MALFORMED(l, "\"dims\" is not a list of 1 to 3 axes");
    for (int i = 0; i < rank; i++)
        if (!integer_of(json_array_get(dims_option, (size_t)i), &dims[i]) || dims[i] < 1 || dims[i] > rank)
            return MALFORMED(l, "dims[%d] is not an axis in 1..%d", i, rank);
    if (!b->graph) return DLP_OK;
    DLP_TRY(need_rank(l, in, rank));
    /* Keras' axes (1-based, without the batch) right-aligned onto (h, w, c). */
    int offset = 3 - rank;
    dlp_permute_params p = {{0, 1, 2}};
    int out_dims[3];
    for (int i = 0; i < rank; i++) {
        p.axes[offset + i] = offset + dims[i] - 1;
        out_dims[i] = in->dims[dims[i] - 1];
    }
    int node;
    DLP_TRY(dlp_graph_permute(b->graph, l->name, in->node, &p, &node));
    return set_output(b, l, node, rank, out_dims, out);
}

/* ZeroPadding2D's padding / Cropping2D's cropping: n, (rows, cols) or ((top, bottom), (left, right)). */
static dlp_status get_sides(const layer_entry *l, const char *key, dlp_zero_pad_params *p)
{
    json_t *value = option(l, key);
    int single;
    if (integer_of(value, &single)) {
        *p = (dlp_zero_pad_params){single, single, single, single};
    } else if (json_is_array(value) && json_array_size(value) == 2) {
        int sides[2][2];
        for (int axis = 0; axis < 2; axis++) {
            json_t *item = json_array_get(value, (size_t)axis);
            if (integer_of(item, &sides[axis][0])) {
                sides[axis][1] = sides[axis][0];
            } else if (!json_is_array(item) || json_array_size(item) != 2 ||
                       !integer_of(json_array_get(item, 0), &sides[axis][0]) ||
                       !integer_of(json_array_get(item, 1), &sides[axis][1])) {
                return MALFORMED(l, "\"%s\"[%d] is not an integer or a pair", key, axis);
            }
        }
        *p = (dlp_zero_pad_params){sides[0][0], sides[0][1], sides[1][0], sides[1][1]};
    } else {
        return MALFORMED(l, "\"%s\" is not an integer or two pairs", key);
    }
    if (p->top < 0 || p->bottom < 0 || p->left < 0 || p->right < 0) return MALFORMED(l, "negative \"%s\"", key);
    return DLP_OK;
}

static dlp_status build_zero_pad(builder *b, const layer_entry *l, const keras_tensor *in, int in_count,
                                 keras_tensor *out)
{
    dlp_zero_pad_params p;
    DLP_TRY(check_data_format(l));
    DLP_TRY(get_sides(l, "padding", &p));
    if (!b->graph) return DLP_OK;
    DLP_TRY(need_rank(l, in, 3));
    int node;
    DLP_TRY(dlp_graph_zero_pad(b->graph, l->name, in->node, &p, &node));
    return spatial_output(b, l, node, out);
}

static dlp_status build_crop(builder *b, const layer_entry *l, const keras_tensor *in, int in_count,
                             keras_tensor *out)
{
    dlp_zero_pad_params p;
    DLP_TRY(check_data_format(l));
    DLP_TRY(get_sides(l, "cropping", &p));
    if (!b->graph) return DLP_OK;
    DLP_TRY(need_rank(l, in, 3));
    int node;
    DLP_TRY(dlp_graph_crop(b->graph, l->name, in->node, &p, &node));
    return spatial_output(b, l, node, out);
}

static dlp_status same_shapes(const layer_entry *l, const keras_tensor *in, int in_count)
{
    for (int i = 1; i < in_count; i++) {
        bool same = in[i].rank == in[0].rank;
        for (int d = 0; same && d < in[0].rank; d++) same = in[i].dims[d] == in[0].dims[d];
        if (!same) {
            char a[64], c[64];
            format_dims(&in[0], a, sizeof a);
            format_dims(&in[i], c, sizeof c);
            return REFUSE(l, "input 0 has shape %s, input %d %s: only equal shapes are supported (no broadcasting)", a,
                          i, c);
        }
    }
    return DLP_OK;
}

static dlp_status build_merge(builder *b, const layer_entry *l, const keras_tensor *in, int in_count, dlp_op op,
                              keras_tensor *out)
{
    if (!b->graph) return DLP_OK;
    if (op == DLP_OP_SUBTRACT && in_count != 2) return MALFORMED(l, "%d inputs, expected 2", in_count);
    DLP_TRY(same_shapes(l, in, in_count));
    int nodes[MAX_LAYER_INPUTS], node;
    for (int i = 0; i < in_count; i++) nodes[i] = in[i].node;
    DLP_TRY(dlp_graph_elementwise(b->graph, l->name, op, nodes, in_count, &node));
    return same_output(b, l, node, in, out);
}

static dlp_status build_add(builder *b, const layer_entry *l, const keras_tensor *in, int n, keras_tensor *out)
{
    return build_merge(b, l, in, n, DLP_OP_ADD, out);
}

static dlp_status build_subtract(builder *b, const layer_entry *l, const keras_tensor *in, int n, keras_tensor *out)
{
    return build_merge(b, l, in, n, DLP_OP_SUBTRACT, out);
}

static dlp_status build_multiply(builder *b, const layer_entry *l, const keras_tensor *in, int n, keras_tensor *out)
{
    return build_merge(b, l, in, n, DLP_OP_MULTIPLY, out);
}

static dlp_status build_average(builder *b, const layer_entry *l, const keras_tensor *in, int n, keras_tensor *out)
{
    return build_merge(b, l, in, n, DLP_OP_AVERAGE, out);
}

static dlp_status build_maximum(builder *b, const layer_entry *l, const keras_tensor *in, int n, keras_tensor *out)
{
    return build_merge(b, l, in, n, DLP_OP_MAXIMUM, out);
}

static dlp_status build_concatenate(builder *b, const layer_entry *l, const keras_tensor *in, int in_count,
                                    keras_tensor *out)
{
    int axis = -1;
    json_t *value = option(l, "axis");
    if (value && !integer_of(value, &axis)) return MALFORMED(l, "\"axis\" is not an integer");
    if (axis == 0) return REFUSE(l, "axis 0 (the batch) is not supported");
    if (!b->graph) return DLP_OK;
    int rank = in[0].rank, normalized = axis < 0 ? axis + rank + 1 : axis;
    if (normalized < 1 || normalized > rank)
        return REFUSE(l, "axis %d is not supported for %d-d inputs (the batch, or outside)", axis, rank + 1);
    int dims[3] = {in[0].dims[0], in[0].dims[1], in[0].dims[2]}, nodes[MAX_LAYER_INPUTS];
    dims[normalized - 1] = 0;
    for (int i = 0; i < in_count; i++) {
        if (in[i].rank != rank) return MALFORMED(l, "input %d has %d dims, input 0 %d", i, in[i].rank, rank);
        dims[normalized - 1] += in[i].dims[normalized - 1];
        nodes[i] = in[i].node;
    }
    int node;
    DLP_TRY(dlp_graph_concat_axis(b->graph, l->name, nodes, in_count, 3 - rank + normalized - 1, &node));
    return set_output(b, l, node, rank, dims, out);
}

/* A number or a list (one per channel) from the config; count 0 when absent. */
static dlp_status config_values(const layer_entry *l, const char *key, int channels, double *out, int *count)
{
    json_t *value = option(l, key);
    *count = 0;
    if (!value) return DLP_OK;
    if (json_is_number(value)) {
        for (int c = 0; c < channels; c++) out[c] = json_number_value(value);
    } else if (json_is_array(value) && (json_array_size(value) == (size_t)channels || json_array_size(value) == 1)) {
        for (int c = 0; c < channels; c++) {
            json_t *item = json_array_get(value, json_array_size(value) == 1 ? 0 : (size_t)c);
            if (!json_is_number(item)) return MALFORMED(l, "\"%s\"[%d] is not a number", key, c);
            out[c] = json_number_value(item);
        }
    } else {
        return REFUSE(l, "\"%s\" must be a number or %d numbers (one per channel)", key, channels);
    }
    *count = channels;
    return DLP_OK;
}

static dlp_status affine_node(builder *b, const layer_entry *l, const keras_tensor *in, const double *scale,
                              const double *shift, keras_tensor *out)
{
    int node;
    DLP_TRY(dlp_graph_channel_affine(b->graph, l->name, in->node, &node));
    graph_node *n = &b->graph->nodes[node];
    float *scales = graph_node_weight(n, "scale")->data, *shifts = graph_node_weight(n, "shift")->data;
    for (int c = 0; c < n->shape.c; c++) {
        scales[c] = (float)scale[c];
        shifts[c] = (float)shift[c];
    }
    return same_output(b, l, node, in, out);
}

static dlp_status build_rescaling(builder *b, const layer_entry *l, const keras_tensor *in, int in_count,
                                  keras_tensor *out)
{
    json_t *scale = option(l, "scale"), *offset = option(l, "offset");
    if ((scale && !json_is_number(scale) && !json_is_array(scale)) ||
        (offset && !json_is_number(offset) && !json_is_array(offset)))
        return MALFORMED(l, "\"scale\" and \"offset\" must be numbers or lists");
    if (!b->graph) return DLP_OK;
    int channels = in->dims[in->rank - 1], count;
    double *values = calloc((size_t)channels * 2, sizeof(double));
    if (!values) return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "layer \"%s\": out of memory", l->name);
    for (int c = 0; c < channels; c++) values[c] = 1.0;
    dlp_status status = config_values(l, "scale", channels, values, &count);
    if (status == DLP_OK) status = config_values(l, "offset", channels, values + channels, &count);
    if (status == DLP_OK) status = affine_node(b, l, in, values, values + channels, out);
    free(values);
    return status;
}

/* tf-keras 2.18: (x - mean) / max(sqrt(variance), 1e-7), or with invert
 * mean + x * max(sqrt(variance), 1e-7); mean and variance from the config
 * when given there, else the adapted weights. */
static dlp_status build_normalization(builder *b, const layer_entry *l, const keras_tensor *in, int in_count,
                                      keras_tensor *out)
{
    DLP_TRY(last_axis_only(l, "axis", -1, NULL));
    bool invert = get_bool(l, "invert", false);
    if (!b->graph) return DLP_OK;
    DLP_TRY(last_axis_only(l, "axis", -1, in));
    int channels = in->dims[in->rank - 1], mean_count, variance_count;
    double *values = calloc((size_t)channels * 2, sizeof(double));
    if (!values) return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "layer \"%s\": out of memory", l->name);
    double *mean = values, *variance = values + channels;
    for (int c = 0; c < channels; c++) variance[c] = 1.0;
    dlp_status status = config_values(l, "mean", channels, mean, &mean_count);
    if (status == DLP_OK) status = config_values(l, "variance", channels, variance, &variance_count);
    if (status == DLP_OK && mean_count == 0 && b->weights) status = weight_values(b, l, "mean", channels, mean);
    if (status == DLP_OK && variance_count == 0 && b->weights)
        status = weight_values(b, l, "variance", channels, variance);
    for (int c = 0; status == DLP_OK && c < channels; c++) {
        double deviation = fmax(sqrt(variance[c]), 1e-7);
        double scale = invert ? deviation : 1.0 / deviation, shift = invert ? mean[c] : -mean[c] / deviation;
        mean[c] = scale; /* reuse the buffers: mean -> scale, variance -> shift */
        variance[c] = shift;
    }
    if (status == DLP_OK) status = affine_node(b, l, in, mean, variance, out);
    free(values);
    return status;
}

static dlp_status build_nested(builder *b, const layer_entry *l, const keras_tensor *in, int in_count,
                               keras_tensor *out);

static const struct {
    const char *class_name;
    layer_builder build;
    int min_inputs, max_inputs;
} layer_table[] = {
    {"Conv2D", build_conv2d, 1, 1},
    {"Convolution2D", build_conv2d, 1, 1},
    {"DepthwiseConv2D", build_depthwise, 1, 1},
    {"SeparableConv2D", build_separable, 1, 1},
    {"SeparableConvolution2D", build_separable, 1, 1},
    {"Dense", build_dense, 1, 1},
    {"BatchNormalization", build_batchnorm, 1, 1},
    {"Activation", build_activation, 1, 1},
    {"Softmax", build_softmax, 1, 1},
    {"ReLU", build_relu, 1, 1},
    {"LeakyReLU", build_leaky_relu, 1, 1},
    {"MaxPooling2D", build_max_pool, 1, 1},
    {"MaxPool2D", build_max_pool, 1, 1},
    {"AveragePooling2D", build_avg_pool, 1, 1},
    {"AvgPool2D", build_avg_pool, 1, 1},
    {"GlobalAveragePooling2D", build_global_avg_2d, 1, 1},
    {"GlobalAvgPool2D", build_global_avg_2d, 1, 1},
    {"GlobalMaxPooling2D", build_global_max_2d, 1, 1},
    {"GlobalMaxPool2D", build_global_max_2d, 1, 1},
    {"GlobalAveragePooling1D", build_global_avg_1d, 1, 1},
    {"GlobalMaxPooling1D", build_global_max_1d, 1, 1},
    {"Flatten", build_flatten, 1, 1},
    {"Reshape", build_reshape, 1, 1},
    {"Permute", build_permute, 1, 1},
    {"Dropout", build_identity, 1, 1},
    {"SpatialDropout1D", build_identity, 1, 1},
    {"SpatialDropout2D", build_identity, 1, 1},
    {"GaussianNoise", build_identity, 1, 1},
    {"GaussianDropout", build_identity, 1, 1},
    {"AlphaDropout", build_identity, 1, 1},
    {"ActivityRegularization", build_identity, 1, 1},
    {"ZeroPadding2D", build_zero_pad, 1, 1},
    {"Cropping2D", build_crop, 1, 1},
    {"Add", build_add, 1, MAX_LAYER_INPUTS},
    {"Subtract", build_subtract, 2, 2},
    {"Multiply", build_multiply, 1, MAX_LAYER_INPUTS},
    {"Average", build_average, 1, MAX_LAYER_INPUTS},
    {"Maximum", build_maximum, 1, MAX_LAYER_INPUTS},
    {"Concatenate", build_concatenate, 1, MAX_LAYER_INPUTS},
    {"Rescaling", build_rescaling, 1, 1},
    {"Normalization", build_normalization, 1, 1},
    /* A model used as a layer: built in place, its layers named "<model>/<layer>". */
    {"Functional", build_nested, 1, 1},
    {"Model", build_nested, 1, 1},
    {"Sequential", build_nested, 1, 1},
};
enum { LAYER_CLASSES = sizeof layer_table / sizeof layer_table[0] };

static int find_class(const char *class_name)
{
    for (int i = 0; i < LAYER_CLASSES; i++)
        if (strcmp(layer_table[i].class_name, class_name) == 0) return i;
    return -1;
}

/* ---- The model's structure ---- */

static bool is_input_layer(const layer_entry *l) { return strcmp(l->class_name, "InputLayer") == 0; }

static int find_layer(const builder *b, const char *name)
{
    for (int i = 0; i < b->count; i++)
        if (strcmp(b->layers[i].keras_name, name) == 0) return i;
    return -1;
}

static bool is_nested_model(const layer_entry *l)
{
    return !strcmp(l->class_name, "Functional") || !strcmp(l->class_name, "Model") ||
           !strcmp(l->class_name, "Sequential");
}

/* A reference to a layer's output: [name, node_index, tensor_index(, kwargs)]. */
static dlp_status resolve_reference(const builder *b, const layer_entry *l, json_t *history, int *layer)
{
    const char *name = json_string_value(json_array_get(history, 0));
    int node_index = 0, tensor_index = 0;
    if (!name || !integer_of(json_array_get(history, 1), &node_index) ||
        !integer_of(json_array_get(history, 2), &tensor_index))
        return MALFORMED(l, "an inbound node is not [layer, node, tensor]");
    *layer = find_layer(b, name);
    if (*layer < 0) return MALFORMED(l, "input layer \"%s\" is not in the model", name);
    /* A nested model's node 0 is its own construction when it has an Input:
     * its one call from the outer model is then node 1. */
    int first_call = is_nested_model(&b->layers[*layer]) ? 1 : 0;
    if (node_index != 0 && node_index != first_call)
        return REFUSE(l, "takes call %d of layer \"%s\": shared layers (called more than once) are not supported",
                      node_index, name);
    if (tensor_index != 0)
        return REFUSE(l, "takes output %d of layer \"%s\": layers with several outputs are not supported",
                      tensor_index, name);
    return DLP_OK;
}

/* Keras 3 nests its references as {"class_name": "__keras_tensor__",
 * "config": {"keras_history": [...]}} anywhere in a call's args. */
static dlp_status collect_keras3_references(const builder *b, const layer_entry *l, json_t *value, int *layers,
                                            int *count)
{
    if (json_is_object(value)) {
        const char *class_name = json_string_value(json_object_get(value, "class_name"));
        if (class_name && strcmp(class_name, "__keras_tensor__") == 0) {
            if (*count == MAX_LAYER_INPUTS) return REFUSE(l, "more than %d inputs", MAX_LAYER_INPUTS);
            json_t *history = json_object_get(json_object_get(value, "config"), "keras_history");
            return resolve_reference(b, l, history, &layers[(*count)++]);
        }
        const char *key;
        json_t *item;
        json_object_foreach(value, key, item) DLP_TRY(collect_keras3_references(b, l, item, layers, count));
    } else if (json_is_array(value)) {
        for (size_t i = 0; i < json_array_size(value); i++)
            DLP_TRY(collect_keras3_references(b, l, json_array_get(value, i), layers, count));
    }
    return DLP_OK;
}

/* The layers whose outputs a Functional layer takes, in order. */
static dlp_status inbound_layers(const builder *b, const layer_entry *l, int *layers, int *count)
{
    *count = 0;
    size_t calls = json_array_size(l->inbound);
    if (calls == 0) return DLP_OK;
    if (calls > 1)
        return REFUSE(l, "called %zu times: shared layers (called more than once) are not supported", calls);
    json_t *call = json_array_get(l->inbound, 0);
    if (json_is_object(call)) {
        DLP_TRY(collect_keras3_references(b, l, json_object_get(call, "args"), layers, count));
        return collect_keras3_references(b, l, json_object_get(call, "kwargs"), layers, count);
    }
    if (!json_is_array(call)) return MALFORMED(l, "inbound_nodes[0] is not a list");
    if (json_array_size(call) > MAX_LAYER_INPUTS) return REFUSE(l, "more than %d inputs", MAX_LAYER_INPUTS);
    for (size_t i = 0; i < json_array_size(call); i++)
        DLP_TRY(resolve_reference(b, l, json_array_get(call, i), &layers[(*count)++]));
    return DLP_OK;
}

/* Checks a layer's class and options (the first pass: nothing is built). */
static dlp_status check_layer(builder *b, const layer_entry *l)
{
    if (is_input_layer(l)) return DLP_OK;
    int index = find_class(l->class_name);
    if (index < 0) return REFUSE(l, "layer class \"%s\" is not supported", l->class_name);
    if (l->inbound) {
        int layers[MAX_LAYER_INPUTS], count;
        DLP_TRY(inbound_layers(b, l, layers, &count));
        if (count < layer_table[index].min_inputs || count > layer_table[index].max_inputs)
            return MALFORMED(l, "%d inputs, expected %d to %d", count, layer_table[index].min_inputs,
                             layer_table[index].max_inputs);
    }
    dlp_graph *graph = b->graph;
    b->graph = NULL;
    dlp_status status = layer_table[index].build(b, l, NULL, 0, NULL);
    b->graph = graph;
    return status;
}

/* Inside a nested model the input is the outer tensor: the inner
 * InputLayer's shape, where it gives one, must agree with it. */
static dlp_status bound_input_tensor(const builder *b, const layer_entry *l, json_t *shape, keras_tensor *out)
{
    const keras_tensor *outer = b->bound_input;
    if (json_is_array(shape)) {
        int rank = (int)json_array_size(shape) - 1, dim = 0;
        bool agrees = rank == outer->rank;
        for (int i = 0; agrees && i < rank; i++) {
            json_t *value = json_array_get(shape, (size_t)i + 1);
            agrees = json_is_null(value) || (integer_of(value, &dim) && dim == outer->dims[i]);
        }
        if (!agrees) {
            char have[64];
            format_dims(outer, have, sizeof have);
            return MALFORMED(l, "the nested model's input does not take the outer tensor %s", have);
        }
    }
    if (out) *out = *outer;
    return DLP_OK;
}

/* The input shape ("batch_input_shape" in Keras 2, "batch_shape" in Keras 3), None h/w from the options. */
static dlp_status input_tensor(builder *b, const layer_entry *l, keras_tensor *out)
{
    json_t *shape = option(l, "batch_input_shape");
    if (!shape) shape = option(l, "batch_shape");
    if (b->bound_input) return b->graph ? bound_input_tensor(b, l, shape, out) : DLP_OK;
    int rank = (int)json_array_size(shape) - 1;
    if (!json_is_array(shape) || rank < 1) return MALFORMED(l, "no batch_input_shape");
    if (rank > 3) return REFUSE(l, "inputs of %d dims besides the batch are not supported (1 to 3)", rank);
    int dims[3] = {0, 0, 0};
    for (int i = 0; i < rank; i++) {
        json_t *dim = json_array_get(shape, (size_t)i + 1);
        bool open_image_size = json_is_null(dim) && rank == 3 && i < 2;
        if (open_image_size) {
            dims[i] = i == 0 ? b->options.input_h : b->options.input_w;
            if (dims[i] <= 0)
                return REFUSE(l, "the input's height and width are open (None): give the image size in the options");
        } else if (!integer_of(dim, &dims[i]) || dims[i] <= 0) {
            return REFUSE(l, "input dim %d is %s: only fixed positive sizes are supported", i + 1,
                          json_is_null(dim) ? "None" : "not a positive integer");
        }
    }
    if (!b->graph) return DLP_OK;
    keras_tensor want = {0, rank, {dims[0], dims[1], dims[2]}};
    int node;
    DLP_TRY(dlp_graph_input(b->graph, l->name, shape_of(&want), &node));
    return set_output(b, l, node, rank, dims, out);
}

static dlp_status build_one(builder *b, layer_entry *l, const int *inputs, int input_count)
{
    if (is_input_layer(l)) return input_tensor(b, l, &l->output);
    keras_tensor in[MAX_LAYER_INPUTS];
    for (int i = 0; i < input_count; i++) in[i] = b->layers[inputs[i]].output;
    int index = find_class(l->class_name);
    return layer_table[index].build(b, l, in, input_count, &l->output);
}

/* Layers are listed in a topological order in practice; repeated passes
 * accept any order. */
static dlp_status build_functional(builder *b)
{
    int built = 0;
    bool progress = true;
    while (built < b->count && progress) {
        progress = false;
        for (int i = 0; i < b->count; i++) {
            layer_entry *l = &b->layers[i];
            if (l->built) continue;
            int inputs[MAX_LAYER_INPUTS], count;
            DLP_TRY(inbound_layers(b, l, inputs, &count));
            bool ready = true;
            for (int k = 0; k < count; k++) ready = ready && b->layers[inputs[k]].built;
            if (!ready) continue;
            if (count == 0 && !is_input_layer(l)) return MALFORMED(l, "no inputs");
            DLP_TRY(build_one(b, l, inputs, count));
            l->built = true;
            built++;
            progress = true;
        }
    }
    for (int i = 0; i < b->count; i++)
        if (!b->layers[i].built) return MALFORMED(&b->layers[i], "its inputs form a cycle");
    return DLP_OK;
}

/* A Sequential chain; without an InputLayer the first layer's
 * batch_input_shape makes one, named "<first layer>_input" as Keras does. */
static dlp_status build_sequential(builder *b, keras_tensor *input)
{
    int start = 0;
    keras_tensor current;
    if (b->count == 0) return dlp_fail(DLP_ERR_MODEL, "model_config: a Sequential model without layers");
    if (is_input_layer(&b->layers[0])) {
        DLP_TRY(input_tensor(b, &b->layers[0], &current));
        b->layers[0].output = current;
        start = 1;
    } else {
        layer_entry made = b->layers[0];
        char name[300];
        snprintf(name, sizeof name, "%s_input", b->layers[0].name);
        made.name = name;
        made.class_name = "InputLayer";
        DLP_TRY(input_tensor(b, &made, &current));
    }
    *input = current;
    for (int i = start; i < b->count; i++) {
        layer_entry *l = &b->layers[i];
        if (is_input_layer(l)) return REFUSE(l, "an InputLayer inside a Sequential model");
        int index = find_class(l->class_name);
        DLP_TRY(layer_table[index].build(b, l, &current, 1, &l->output));
        current = l->output;
        l->built = true;
    }
    return DLP_OK;
}

/* [[name, 0, 0], ...] or Keras 3's single [name, 0, 0]. */
static json_t *reference_list(json_t *value)
{
    if (json_is_array(value) && json_is_string(json_array_get(value, 0))) {
        json_t *wrapped = json_array();
        json_array_append(wrapped, value);
        return wrapped;
    }
    return json_incref(value);
}

static dlp_status add_output(dlp_keras_model *model, const layer_entry *l)
{
    keras_output *outputs = realloc(model->outputs, (size_t)(model->output_count + 1) * sizeof *outputs);
    if (!outputs) return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "model_config: out of memory");
    model->outputs = outputs;
    outputs[model->output_count].layer = strdup(l->name);
    outputs[model->output_count].tensor = l->output;
    if (!outputs[model->output_count].layer) return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "model_config: out of memory");
    model->output_count++;
    return DLP_OK;
}

static dlp_status functional_ends(builder *b, json_t *config, dlp_keras_model *model)
{
    json_t *inputs = reference_list(json_object_get(config, "input_layers"));
    json_t *outputs = reference_list(json_object_get(config, "output_layers"));
    dlp_status status = DLP_OK;
    if (json_array_size(inputs) != 1)
        status = dlp_fail(DLP_ERR_UNSUPPORTED, "model_config: %zu inputs, only models with one input are supported",
                          json_array_size(inputs));
    if (status == DLP_OK && json_array_size(outputs) == 0)
        status = dlp_fail(DLP_ERR_MODEL, "model_config: no output_layers");
    for (size_t i = 0; status == DLP_OK && i < json_array_size(inputs) + json_array_size(outputs); i++) {
        bool is_input = i < json_array_size(inputs);
        json_t *reference = is_input ? json_array_get(inputs, i) : json_array_get(outputs, i - json_array_size(inputs));
        const char *name = json_string_value(json_array_get(reference, 0));
        int layer = name ? find_layer(b, name) : -1;
        if (layer < 0) {
            status = dlp_fail(DLP_ERR_MODEL, "model_config: %s layer \"%s\" is not in the model",
                              is_input ? "input" : "output", name ? name : "?");
        } else if (is_input) {
            if (!is_input_layer(&b->layers[layer]))
                status = dlp_fail(DLP_ERR_MODEL, "model_config: input layer \"%s\" is a %s", name,
                                  b->layers[layer].class_name);
            model->input = b->layers[layer].output;
        } else {
            status = add_output(model, &b->layers[layer]);
        }
    }
    json_decref(inputs);
    json_decref(outputs);
    return status;
}

/* A nested model's layer: node "<scope>/<name>", weights "<weight scope>/<name>". */
static dlp_status scope_names(const builder *b, layer_entry *l)
{
    size_t node_length = strlen(b->scope) + strlen(l->name) + 2;
    size_t weight_length = strlen(b->weight_scope) + strlen(l->name) + 2;
    l->owned = malloc(node_length + weight_length);
    if (!l->owned) return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "model_config: out of memory");
    snprintf(l->owned, node_length, "%s/%s", b->scope, l->keras_name);
    snprintf(l->owned + node_length, weight_length, "%s/%s", b->weight_scope, l->keras_name);
    l->name = l->owned;
    l->weight_name = l->owned + node_length;
    return DLP_OK;
}

static void free_layers(builder *b)
{
    for (int i = 0; i < b->count && b->layers; i++) free(b->layers[i].owned);
    free(b->layers);
    b->layers = NULL;
}

/* The layer list of a config: Functional/Model config.layers, Sequential
 * config.layers or (Keras 2.2.x) the config itself. */
static dlp_status read_layers(json_t *root, builder *b, bool *sequential, json_t **config_out)
{
    const char *class_name = json_string_value(json_object_get(root, "class_name"));
    json_t *config = json_object_get(root, "config");
    if (!class_name || !config) return dlp_fail(DLP_ERR_MODEL, "model_config: no \"class_name\" and \"config\"");
    *sequential = strcmp(class_name, "Sequential") == 0;
    if (!*sequential && strcmp(class_name, "Functional") != 0 && strcmp(class_name, "Model") != 0)
        return dlp_fail(DLP_ERR_UNSUPPORTED, "model_config: model class \"%s\" is not supported (Sequential, Functional "
                        "or Model)", class_name);
    json_t *layers = json_is_array(config) ? config : json_object_get(config, "layers");
    if (!json_is_array(layers)) return dlp_fail(DLP_ERR_MODEL, "model_config: no layer list");
    *config_out = config;
    b->count = (int)json_array_size(layers);
    b->layers = calloc((size_t)(b->count ? b->count : 1), sizeof *b->layers);
    if (!b->layers) return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "model_config: out of memory");
    for (int i = 0; i < b->count; i++) {
        json_t *layer = json_array_get(layers, (size_t)i);
        layer_entry *l = &b->layers[i];
        l->config = json_object_get(layer, "config");
        l->class_name = json_string_value(json_object_get(layer, "class_name"));
        l->name = json_string_value(json_object_get(layer, "name"));
        if (!l->name) l->name = json_string_value(json_object_get(l->config, "name"));
        l->inbound = *sequential ? NULL : json_object_get(layer, "inbound_nodes");
        l->json = layer;
        if (!l->class_name || !l->name || !json_is_object(l->config))
            return dlp_fail(DLP_ERR_MODEL, "model_config: layer %d has no class_name, name or config", i);
        l->keras_name = l->weight_name = l->name;
        if (b->scope) DLP_TRY(scope_names(b, l));
        if (!*sequential && !json_is_array(l->inbound))
            return dlp_fail(DLP_ERR_MODEL, "model_config: layer \"%s\" has no inbound_nodes list", l->name);
    }
    return DLP_OK;
}

/* Keras 3 writes calls as {"args": ...} objects, input shapes as
 * "batch_shape" and dtypes as DTypePolicy objects; Keras 2 never does. */
static bool looks_like_keras3(const layer_entry *l)
{
    return json_is_object(json_array_get(l->inbound, 0)) || json_object_get(l->config, "batch_shape") ||
           json_is_object(json_object_get(l->config, "dtype"));
}

/* The one output of a nested Functional model (build_nested checked there is one). */
static dlp_status nested_output(const builder *inner, const layer_entry *l, json_t *config, keras_tensor *out)
{
    json_t *outputs = reference_list(json_object_get(config, "output_layers"));
    const char *name = json_string_value(json_array_get(json_array_get(outputs, 0), 0));
    int layer = name ? find_layer(inner, name) : -1;
    dlp_status status = DLP_OK;
    if (layer < 0)
        status = MALFORMED(l, "output layer \"%s\" is not in the nested model", name ? name : "?");
    else
        *out = inner->layers[layer].output;
    json_decref(outputs);
    return status;
}

/* A Functional or Sequential model used as a layer: its layers are checked
 * (b->graph NULL) or built in place, on the outer tensor in[0] instead of an
 * input of their own; nodes are named "<model>/<layer>" and weights found as
 * the .h5 stores them, under the top-level layer ("<model>/<layer>/kernel",
 * however deep the nesting). */
static dlp_status build_nested(builder *b, const layer_entry *l, const keras_tensor *in, int in_count,
                               keras_tensor *out)
{
    (void)in_count;
    keras_tensor unknown = {0, 0, {0, 0, 0}};
    builder inner = {0};
    inner.graph = b->graph;
    inner.weights = b->weights;
    inner.options = b->options;
    inner.keras3 = b->keras3;
    inner.scope = l->name;
    inner.weight_scope = b->weight_scope ? b->weight_scope : l->keras_name;
    inner.bound_input = in ? in : &unknown;
    bool sequential = false;
    json_t *config = NULL;
    dlp_status status = read_layers(l->json, &inner, &sequential, &config);
    for (int i = 0; status == DLP_OK && i < inner.count; i++) status = check_layer(&inner, &inner.layers[i]);
    int inputs = 0;
    for (int i = 0; status == DLP_OK && !sequential && i < inner.count; i++) inputs += is_input_layer(&inner.layers[i]);
    if (status == DLP_OK && !sequential && inputs != 1)
        status = REFUSE(l, "a nested model with %d InputLayers: only one input is supported", inputs);
    json_t *outputs = sequential ? NULL : reference_list(json_object_get(config, "output_layers"));
    if (status == DLP_OK && !sequential && json_array_size(outputs) != 1)
        status = REFUSE(l, "a nested model with %zu outputs: only one is supported", json_array_size(outputs));
    json_decref(outputs);
    if (status == DLP_OK && b->graph && sequential) {
        keras_tensor input;
        status = build_sequential(&inner, &input);
        if (status == DLP_OK) *out = inner.layers[inner.count - 1].output;
    } else if (status == DLP_OK && b->graph) {
        status = build_functional(&inner);
        if (status == DLP_OK) status = nested_output(&inner, l, config, out);
    }
    free_layers(&inner);
    return status;
}

void dlp_keras_model_destroy(dlp_keras_model *model)
{
    if (!model) return;
    for (int i = 0; i < model->output_count; i++) free(model->outputs[i].layer);
    free(model->outputs);
    dlp_graph_destroy(model->graph);
    free(model->name);
    free(model);
}

static dlp_status build_model(json_t *root, const dlp_tensor_list *weights, const dlp_keras_model_options *options,
                              bool check_only, dlp_keras_model *model)
{
    builder b = {0};
    b.weights = weights;
    if (options) b.options = *options;
    bool sequential = false;
    json_t *config = NULL;
    dlp_status status = read_layers(root, &b, &sequential, &config);
    const char *name = json_is_object(config) ? json_string_value(json_object_get(config, "name")) : NULL;
    model->name = strdup(name ? name : "");
    if (status == DLP_OK && !model->name) status = dlp_fail(DLP_ERR_OUT_OF_MEMORY, "model_config: out of memory");
    const char *version = weights ? dlp_tensor_list_get_metadata(weights, "keras_version") : NULL;
    b.keras3 = version ? version[0] >= '3' && version[1] == '.' : false;
    for (int i = 0; status == DLP_OK && i < b.count; i++) b.keras3 = b.keras3 || looks_like_keras3(&b.layers[i]);
    /* First pass: every layer and option, before anything is built. */
    for (int i = 0; status == DLP_OK && i < b.count; i++) status = check_layer(&b, &b.layers[i]);
    if (status == DLP_OK && !sequential) {
        int inputs = 0;
        for (int i = 0; i < b.count; i++) inputs += is_input_layer(&b.layers[i]);
        if (inputs != 1)
            status = dlp_fail(DLP_ERR_UNSUPPORTED, "model_config: %d InputLayers, only models with one input are "
                              "supported", inputs);
        for (int i = 0; status == DLP_OK && i < b.count; i++)
            if (is_input_layer(&b.layers[i])) status = input_tensor(&b, &b.layers[i], NULL);
    } else if (status == DLP_OK && b.count > 0) {
        /* A Sequential's input: its InputLayer, or the first layer's batch_input_shape. */
        status = input_tensor(&b, &b.layers[0], NULL);
    }
    if (check_only) {
        free_layers(&b);
        return status;
    }
    if (status == DLP_OK) status = dlp_graph_create(&model->graph);
    b.graph = model->graph;
    if (status == DLP_OK && sequential) {
        status = build_sequential(&b, &model->input);
        if (status == DLP_OK) status = add_output(model, &b.layers[b.count - 1]);
    } else if (status == DLP_OK) {
        status = build_functional(&b);
        if (status == DLP_OK) status = functional_ends(&b, config, model);
    }
    free_layers(&b);
    return status;
}

static dlp_status model_from(const char *model_config, const dlp_tensor_list *weights,
                             const dlp_keras_model_options *options, bool check_only, dlp_keras_model **out)
{
    *out = NULL;
    if (!model_config) return dlp_fail(DLP_ERR_MODEL, "no model_config: not a whole Keras model (weights only?)");
    json_error_t error;
    json_t *root = json_loads(model_config, 0, &error);
    if (!root) return dlp_fail(DLP_ERR_FORMAT, "model_config: line %d: %s", error.line, error.text);
    dlp_keras_model *model = calloc(1, sizeof *model);
    dlp_status status = model ? build_model(root, weights, options, check_only, model)
                              : dlp_fail(DLP_ERR_OUT_OF_MEMORY, "model_config: out of memory");
    json_decref(root);
    if (status != DLP_OK || check_only) {
        dlp_keras_model_destroy(model);
        return status;
    }
    *out = model;
    return DLP_OK;
}

dlp_status dlp_keras_model_from_config(const char *model_config, const dlp_keras_model_options *options,
                                       dlp_keras_model **model)
{
    return model_from(model_config, NULL, options, false, model);
}

dlp_status dlp_keras_model_from_weights(const dlp_tensor_list *weights, const char *model_config,
                                        const dlp_keras_model_options *options, dlp_keras_model **model)
{
    *model = NULL;
    if (!weights) return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "keras model: no weights");
    const char *config = model_config ? model_config : dlp_tensor_list_get_metadata(weights, "model_config");
    return model_from(config, weights, options, false, model);
}

/* The model_config of a TF.js model.json (or its folder) or a Keras .h5
 * without reading the weights; NULL for other files (checked after loading). */
static dlp_status peek_model_config(const char *path, char **config)
{
    *config = NULL;
    char json_path[4096];
    struct stat info;
    bool folder = stat(path, &info) == 0 && S_ISDIR(info.st_mode);
    snprintf(json_path, sizeof json_path, folder ? "%s/model.json" : "%s", path);
    unsigned char head[8] = {0};
    FILE *file = fopen(json_path, "rb");
    if (!file) return DLP_OK;
    size_t got = fread(head, 1, sizeof head, file);
    fclose(file);
    static const unsigned char hdf5_signature[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
    if (got == 8 && memcmp(head, hdf5_signature, 8) == 0) return dlp_keras_h5_read_model_config(json_path, config);
    size_t first = 0;
    while (first < got && (head[first] == ' ' || head[first] == '\n' || head[first] == '\r' || head[first] == '\t'))
        first++;
    if (first == got || head[first] != '{') return DLP_OK;
    json_t *root = json_load_file(json_path, 0, NULL);
    json_t *topology = json_object_get(root, "modelTopology");
    json_t *model_config = json_object_get(topology, "model_config");
    if (!model_config && json_object_get(topology, "class_name")) model_config = topology;
    if (model_config) *config = json_dumps(model_config, JSON_COMPACT);
    json_decref(root);
    return DLP_OK;
}

dlp_status dlp_keras_model_load(const char *path, const dlp_keras_model_options *options, dlp_keras_model **model)
{
    *model = NULL;
    /* Layers and options are checked before the weights are read. */
    char *config = NULL;
    dlp_status peeked = peek_model_config(path, &config);
    if (peeked == DLP_OK && config) {
        dlp_status checked = model_from(config, NULL, options, true, model);
        free(config);
        if (checked != DLP_OK) return dlp_fail_context(checked, "%s", path);
    }
    dlp_tensor_list *weights = NULL;
    DLP_TRY(dlp_weights_load_any(path, &weights));
    dlp_status status = dlp_keras_model_from_weights(weights, NULL, options, model);
    dlp_tensor_list_destroy(weights);
    return status == DLP_OK ? DLP_OK : dlp_fail_context(status, "%s", path);
}

const char *dlp_keras_model_name(const dlp_keras_model *model) { return model->name; }
const dlp_graph *dlp_keras_model_graph(const dlp_keras_model *model) { return model->graph; }

const char *dlp_keras_model_input_name(const dlp_keras_model *model)
{
    return dlp_graph_node_name(model->graph, model->input.node);
}

dlp_shape dlp_keras_model_input_shape(const dlp_keras_model *model) { return shape_of(&model->input); }

static int copy_dims(const keras_tensor *t, int dims[3])
{
    for (int i = 0; i < 3; i++) dims[i] = t->dims[i];
    return t->rank;
}

int dlp_keras_model_input_dims(const dlp_keras_model *model, int dims[3]) { return copy_dims(&model->input, dims); }

int dlp_keras_model_output_count(const dlp_keras_model *model) { return model->output_count; }

const char *dlp_keras_model_output_name(const dlp_keras_model *model, int output)
{
    if (output < 0 || output >= model->output_count) return NULL;
    return dlp_graph_node_name(model->graph, model->outputs[output].tensor.node);
}

const char *dlp_keras_model_output_layer(const dlp_keras_model *model, int output)
{
    return output >= 0 && output < model->output_count ? model->outputs[output].layer : NULL;
}

dlp_shape dlp_keras_model_output_shape(const dlp_keras_model *model, int output)
{
    dlp_shape none = {0, 0, 0};
    return output >= 0 && output < model->output_count ? shape_of(&model->outputs[output].tensor) : none;
}

int dlp_keras_model_output_dims(const dlp_keras_model *model, int output, int dims[3])
{
    if (output < 0 || output >= model->output_count) return 0;
    return copy_dims(&model->outputs[output].tensor, dims);
}

dlp_status dlp_keras_model_plan(const dlp_keras_model *model, dlp_backend *backend, int max_batch, dlp_plan **plan)
{
    const char **names = malloc((size_t)(model->output_count ? model->output_count : 1) * sizeof *names);
    if (!names) return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "keras model: out of memory");
    for (int i = 0; i < model->output_count; i++) names[i] = dlp_keras_model_output_name(model, i);
    dlp_status status = dlp_plan_create(model->graph, backend, max_batch, names, model->output_count, plan);
    free(names);
    return status;
}

dlp_status dlp_keras_model_apply(const dlp_keras_model *model, dlp_backend *backend, const float *input, size_t rows,
                                 int batch_size, int output, float *out, size_t out_floats)
{
    if (output < 0 || output >= model->output_count)
        return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "keras model: output %d of %d", output, model->output_count);
    size_t in_floats = dlp_shape_elements(dlp_keras_model_input_shape(model));
    size_t per_row = dlp_shape_elements(dlp_keras_model_output_shape(model, output));
    if (rows && (out_floats / rows < per_row))
        return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "keras model: %zu rows of output \"%s\" need %zu floats, the "
                        "buffer holds %zu", rows, model->outputs[output].layer, rows * per_row, out_floats);
    if (batch_size <= 0) batch_size = 32;
    if ((size_t)batch_size > rows) batch_size = rows ? (int)rows : 1;
    const char *name = dlp_keras_model_output_name(model, output);
    dlp_plan *plan = NULL;
    DLP_TRY(dlp_plan_create(model->graph, backend, batch_size, &name, 1, &plan));
    dlp_status status = DLP_OK;
    for (size_t first = 0; first < rows && status == DLP_OK; first += (size_t)batch_size) {
        int n = rows - first < (size_t)batch_size ? (int)(rows - first) : batch_size;
        status = dlp_plan_run(plan, input + first * in_floats, n);
        if (status == DLP_OK) status = dlp_plan_read_output(plan, 0, out + first * per_row, (size_t)n * per_row);
        if (status != DLP_OK) dlp_fail_context(status, "rows %zu..%zu", first, first + (size_t)n - 1);
    }
    dlp_plan_destroy(plan);
    return status;
}

/* zoo.c: the registry of zoo models and what they share: the heads (pooling
 * for a featurizer, Keras' ImageNet top, a weight file's own dense head) and
 * binding the weights by Keras order with every shape checked. To add a model:
 * write its build_base in src/models/<model>.c (see zoo.h) and list it here. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/status.h"
#include "graph/graph_internal.h"
#include "models/zoo.h"

static const zoo_entry *const zoo_entries[] = {&zoo_inception_v3, &zoo_xception, &zoo_resnet50, &zoo_vgg16,
                                                &zoo_vgg19};
enum { ZOO_COUNT = sizeof zoo_entries / sizeof zoo_entries[0] };

int dlp_zoo_count(void) { return ZOO_COUNT; }

static const char *const pooling_names[] = {"none", "avg", "max", "flatten"};

const char *dlp_pooling_name(dlp_pooling pooling)
{
    return (unsigned)pooling < sizeof pooling_names / sizeof *pooling_names ? pooling_names[pooling] : "unknown";
}

dlp_status dlp_pooling_from_name(const char *name, dlp_pooling *pooling)
{
    for (size_t i = 0; name && i < sizeof pooling_names / sizeof *pooling_names; i++)
        if (strcmp(name, pooling_names[i]) == 0) {
            *pooling = (dlp_pooling)i;
            return DLP_OK;
        }
    return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "pooling '%s': expected none, avg, max or flatten", name ? name : "");
}

const dlp_model_info *dlp_zoo_at(int index)
{
    return index >= 0 && index < ZOO_COUNT ? &zoo_entries[index]->info : NULL;
}

static const zoo_entry *find_entry(const char *name)
{
    for (int i = 0; i < ZOO_COUNT; i++)
        if (name && strcasecmp(zoo_entries[i]->info.name, name) == 0) return zoo_entries[i];
    return NULL;
}

const dlp_model_info *dlp_zoo_find(const char *name)
{
    const zoo_entry *entry = find_entry(name);
    return entry ? &entry->info : NULL;
}

const char *zoo_next_name(zoo_builder *b, const char *prefix, int *counter)
{
    /* Keras 2.2.4 numbers each layer class from 1 in creation order. */
    snprintf(b->name, sizeof b->name, "%s_%d", prefix, ++*counter);
    return b->name;
}

const char *zoo_next_auto_name(zoo_builder *b, const char *prefix, int *counter)
{
    /* tf-keras 2.x: the first of a class is unnumbered. */
    if ((*counter)++ == 0)
        snprintf(b->name, sizeof b->name, "%s", prefix);
    else
        snprintf(b->name, sizeof b->name, "%s_%d", prefix, *counter - 1);
    return b->name;
}

static dlp_status imagenet_top(zoo_builder *b, int features, int *output)
{
    int x;
    dlp_dense_params dense = {1000, true, DLP_ACT_SOFTMAX};
    DLP_TRY(dlp_graph_unary(b->graph, "avg_pool", DLP_OP_GLOBAL_AVG_POOL, features, &x));
    return dlp_graph_dense(b->graph, "predictions", x, &dense, output);
}

static dlp_status featurizer_head(zoo_builder *b, dlp_pooling pooling, int features, int *output)
{
    switch (pooling) {
    case DLP_POOLING_AVG: return dlp_graph_unary(b->graph, "features", DLP_OP_GLOBAL_AVG_POOL, features, output);
    case DLP_POOLING_MAX: return dlp_graph_unary(b->graph, "features", DLP_OP_GLOBAL_MAX_POOL, features, output);
    case DLP_POOLING_FLATTEN: return dlp_graph_unary(b->graph, "features", DLP_OP_FLATTEN, features, output);
    case DLP_POOLING_NONE: return dlp_graph_unary(b->graph, "features", DLP_OP_IDENTITY, features, output);
    }
    return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "pooling %d: expected avg, max, flatten or none", (int)pooling);
}

/* The activation the weight file's model_config gives a layer, or fallback. */
static dlp_activation config_activation(const dlp_tensor_list *weights, const char *layer, dlp_activation fallback)
{
    const char *text = dlp_tensor_list_get_metadata(weights, "model_config");
    if (!text) return fallback;
    json_t *root = json_loads(text, 0, NULL);
    json_t *config = json_object_get(root, "config");
    json_t *layers = json_is_array(config) ? config : json_object_get(config, "layers");
    dlp_activation result = fallback;
    size_t index;
    json_t *entry;
    json_array_foreach(layers, index, entry) {
        json_t *layer_config = json_object_get(entry, "config");
        const char *name = json_string_value(json_object_get(layer_config, "name"));
        if (name && strcmp(name, layer) == 0) {
            dlp_activation found;
            const char *activation = json_string_value(json_object_get(layer_config, "activation"));
            if (activation && dlp_activation_from_name(activation, &found) == DLP_OK) result = found;
        }
    }
    json_decref(root);
    return result;
}

/* nsfwjs-style heads: global average pool, then one Dense per weight layer
 * left after the base (Dropout is the identity at inference). */
static dlp_status dense_stack_top(zoo_builder *b, const dlp_tensor_list *weights, int features, int *output)
{
    int base_layers = 0;
    DLP_TRY(dlp_graph_keras_weight_order(b->graph, NULL, 0, &base_layers));
    char **layers = NULL;
    int count = 0;
    DLP_TRY(graph_weight_groups_after(weights, base_layers, &layers, &count));
    dlp_status status = DLP_OK;
    if (count == 0)
        status = dlp_fail(DLP_ERR_MODEL, "dense head: the weights have no layers after the %d of the base", base_layers);
    int x = -1;
    if (status == DLP_OK) status = dlp_graph_unary(b->graph, "avg_pool", DLP_OP_GLOBAL_AVG_POOL, features, &x);
    for (int i = 0; i < count && status == DLP_OK; i++) {
        char kernel_name[256];
        snprintf(kernel_name, sizeof kernel_name, "%s/kernel", layers[i]);
        const dlp_named_tensor *kernel = dlp_tensor_list_find(weights, kernel_name);
        if (!kernel || kernel->ndim != 2) {
            status = dlp_fail(DLP_ERR_MODEL, "dense head: layer \"%s\" has no 2-D \"%s\"", layers[i], kernel_name);
            break;
        }
        bool last = i == count - 1;
        char bias_name[256];
        snprintf(bias_name, sizeof bias_name, "%s/bias", layers[i]);
        dlp_dense_params dense = {(int)kernel->shape[1], dlp_tensor_list_find(weights, bias_name) != NULL,
                                  config_activation(weights, layers[i], last ? DLP_ACT_SOFTMAX : DLP_ACT_RELU)};
        status = dlp_graph_dense(b->graph, layers[i], x, &dense, &x);
    }
    for (int i = 0; i < count; i++) free(layers[i]);
    free(layers);
    if (status == DLP_OK) *output = x;
    return status;
}

dlp_status dlp_zoo_build(const char *name, const dlp_tensor_list *weights, const dlp_model_options *options,
                         dlp_graph **out)
{
    *out = NULL;
    const zoo_entry *entry = find_entry(name);
    if (!entry) return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "model \"%s\": not in the zoo", name ? name : "(null)");
    dlp_model_options defaults = {DLP_TOP_NONE, DLP_POOLING_AVG};
    if (!options) options = &defaults;
    zoo_builder b;
    memset(&b, 0, sizeof b);
    DLP_TRY(dlp_graph_create(&b.graph));
    int features = -1, output = -1;
    dlp_status status = entry->build_base(&b, &features);
    if (status == DLP_OK) {
        switch (options->top) {
        case DLP_TOP_NONE: status = featurizer_head(&b, options->pooling, features, &output); break;
        case DLP_TOP_IMAGENET:
            status = entry->build_imagenet_top ? entry->build_imagenet_top(&b, features, &output)
                                               : imagenet_top(&b, features, &output);
            break;
        case DLP_TOP_DENSE_STACK:
            status = weights ? dense_stack_top(&b, weights, features, &output)
                             : dlp_fail(DLP_ERR_INVALID_ARGUMENT, "dense head: needs the weights");
            break;
        default: status = dlp_fail(DLP_ERR_INVALID_ARGUMENT, "model option top = %d", (int)options->top);
        }
    }
    /* A featurizer may come from a full model's weights: its head is ignored. */
    if (status == DLP_OK && weights)
        status = dlp_graph_bind_weights_by_order(b.graph, weights, options->top == DLP_TOP_NONE, NULL);
    if (status != DLP_OK) {
        dlp_fail_context(status, "%s", entry->info.name);
        dlp_graph_destroy(b.graph);
        return status;
    }
    *out = b.graph;
    return DLP_OK;
}

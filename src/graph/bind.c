/* bind.c: Keras' layer order and binding weight lists to a graph by order of
 * weight-bearing layers, as Keras loads legacy weight files (names differ
 * between Keras versions; order and shapes do not). */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "graph/graph_internal.h"

typedef struct order_state {
    const dlp_graph *graph;
    int *discovery; /* per node: discovery index, -1 when not reached */
    int next;
} order_state;

/* Pre-order depth-first walk from an output, inputs in order (tf-keras
 * functional.py _build_map_helper), giving each layer its traversal index.
 * Recursion depth is bounded by the longest chain (a few hundred layers). */
static void discover(order_state *state, int node)
{
    if (state->discovery[node] >= 0) return;
    state->discovery[node] = state->next++;
    const graph_node *n = &state->graph->nodes[node];
    for (int i = 0; i < n->input_count; i++) discover(state, n->inputs[i]);
}

typedef struct ranked {
    int node, depth, discovery;
} ranked;

static int compare_ranked(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if (x->depth != y->depth) return x->depth > y->depth ? -1 : 1;
    return (x->discovery > y->discovery) - (x->discovery < y->discovery);
}

dlp_status dlp_graph_keras_weight_order(const dlp_graph *graph, int *order, int capacity, int *count)
{
    int n = graph->count;
    *count = 0;
    if (n == 0) return DLP_OK;
    int *consumers = calloc((size_t)n, sizeof(int));
    int *depth = calloc((size_t)n, sizeof(int));
    int *discovery = malloc((size_t)n * sizeof(int));
    ranked *ranks = malloc((size_t)n * sizeof(ranked));
    if (!consumers || !depth || !discovery || !ranks) {
        free(consumers), free(depth), free(discovery), free(ranks);
        return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "layer order: out of memory");
    }
    for (int i = 0; i < n; i++) {
        discovery[i] = -1;
        for (int k = 0; k < graph->nodes[i].input_count; k++) consumers[graph->nodes[i].inputs[k]]++;
    }
    /* Outputs are the sinks, in creation order; depth = longest path to an
     * output (nodes are created after their inputs, so reverse creation order
     * is a topological order from the outputs). */
    order_state state = {graph, discovery, 0};
    for (int i = 0; i < n; i++)
        if (consumers[i] == 0) discover(&state, i);
    for (int i = n - 1; i >= 0; i--)
        for (int k = 0; k < graph->nodes[i].input_count; k++) {
            int parent = graph->nodes[i].inputs[k];
            if (depth[parent] < depth[i] + 1) depth[parent] = depth[i] + 1;
        }
    int ranked_count = 0;
    for (int i = 0; i < n; i++)
        if (graph->nodes[i].weight_count > 0) ranks[ranked_count++] = (ranked){i, depth[i], discovery[i]};
    qsort(ranks, (size_t)ranked_count, sizeof *ranks, compare_ranked);
    for (int i = 0; i < ranked_count && i < capacity; i++) order[i] = ranks[i].node;
    *count = ranked_count;
    free(consumers), free(depth), free(discovery), free(ranks);
    return DLP_OK;
}

typedef struct weight_group {
    char *layer;       /* the name before the last '/' */
    size_t first;      /* index in the list of its first tensor */
    size_t members[8];
    int count;
    long config_index; /* position in model_config's layers, or -1 */
} weight_group;

static int compare_groups(const void *a, const void *b)
{
    const weight_group *x = a, *y = b;
    if (x->config_index != y->config_index) return x->config_index < y->config_index ? -1 : 1;
    return (x->first > y->first) - (x->first < y->first);
}

/* The layer name a weight belongs to: "conv2d_1/kernel" -> "conv2d_1",
 * "block1/conv/kernel:0" -> "block1/conv". */
static char *layer_of(const char *name)
{
    const char *slash = strrchr(name, '/');
    size_t length = slash ? (size_t)(slash - name) : strlen(name);
    char *layer = malloc(length + 1);
    if (layer) {
        memcpy(layer, name, length);
        layer[length] = '\0';
    }
    return layer;
}

/* The slot a weight fills: the text after the last '/', without ":0". */
static int slot_matches(const char *name, const char *slot)
{
    const char *slash = strrchr(name, '/');
    const char *tail = slash ? slash + 1 : name;
    size_t length = strlen(slot);
    return strncmp(tail, slot, length) == 0 && (tail[length] == '\0' || tail[length] == ':');
}

/* Position of each group's layer in the Keras model_config's layer list. */
static void apply_model_config(weight_group *groups, int group_count, const char *config_text)
{
    json_error_t error;
    json_t *root = json_loads(config_text, 0, &error);
    if (!root) return;
    json_t *config = json_object_get(root, "config");
    json_t *layers = json_is_array(config) ? config : json_object_get(config, "layers");
    if (json_is_array(layers)) {
        size_t index;
        json_t *layer;
        json_array_foreach(layers, index, layer) {
            json_t *name = json_object_get(layer, "name");
            if (!json_is_string(name)) name = json_object_get(json_object_get(layer, "config"), "name");
            if (!json_is_string(name)) continue;
            for (int g = 0; g < group_count; g++)
                if (groups[g].config_index < 0 && strcmp(groups[g].layer, json_string_value(name)) == 0)
                    groups[g].config_index = (long)index;
        }
    }
    json_decref(root);
}

static void free_groups(weight_group *groups, int count)
{
    for (int g = 0; g < count; g++) free(groups[g].layer);
    free(groups);
}

static dlp_status group_weights(const dlp_tensor_list *weights, weight_group **out, int *out_count)
{
    size_t total = dlp_tensor_list_count(weights);
    weight_group *groups = calloc(total ? total : 1, sizeof *groups);
    if (!groups) return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "weights: out of memory");
    int count = 0;
    for (size_t i = 0; i < total; i++) {
        const dlp_named_tensor *t = dlp_tensor_list_at(weights, i);
        char *layer = layer_of(t->name);
        if (!layer) {
            free_groups(groups, count);
            return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "weights: out of memory");
        }
        int g = 0;
        while (g < count && strcmp(groups[g].layer, layer) != 0) g++;
        if (g == count) {
            groups[count++] = (weight_group){layer, i, {0}, 0, -1};
        } else {
            free(layer);
        }
        if (groups[g].count == 8) {
            /* The message names the layer: format it before the names are freed. */
            dlp_status status = dlp_fail(DLP_ERR_MODEL, "weights: layer \"%s\" has more than 8 weights",
                                         groups[g].layer);
            free_groups(groups, count);
            return status;
        }
        groups[g].members[groups[g].count++] = i;
    }
    const char *config = dlp_tensor_list_get_metadata(weights, "model_config");
    if (config) {
        apply_model_config(groups, count, config);
        /* Layers the config does not list keep their list order, after the listed ones. */
        for (int g = 0; g < count; g++)
            if (groups[g].config_index < 0) groups[g].config_index = (long)total + 1000000L;
        qsort(groups, (size_t)count, sizeof *groups, compare_groups);
    }
    *out = groups;
    *out_count = count;
    return DLP_OK;
}

/* Appends "; name [d0, d1, ...]" to text (for messages). */
static void append_weight(char *text, size_t size, const char *name, int ndim, const int64_t *shape)
{
    size_t used = strlen(text);
    used += (size_t)snprintf(text + used, used < size ? size - used : 0, "; %s [", name);
    for (int d = 0; d < ndim && used < size; d++)
        used += (size_t)snprintf(text + used, size - used, d ? ", %lld" : "%lld", (long long)shape[d]);
    if (used < size) snprintf(text + used, size - used, "]");
}

static dlp_status weight_count_mismatch(const graph_node *node, const dlp_tensor_list *weights,
                                        const weight_group *group)
{
    char expected[256] = "", found[256] = "";
    for (int s = 0; s < node->weight_count; s++)
        append_weight(expected, sizeof expected, node->weights[s].slot, node->weights[s].ndim, node->weights[s].shape);
    for (int m = 0; m < group->count; m++) {
        const dlp_named_tensor *t = dlp_tensor_list_at(weights, group->members[m]);
        append_weight(found, sizeof found, t->name, t->ndim, t->shape);
    }
    return dlp_fail(DLP_ERR_MODEL, "layer \"%s\" (%s) expects %d weights (%s), weight layer \"%s\" has %d (%s)",
                    node->name, dlp_op_name(node->op), node->weight_count, expected + 2, group->layer, group->count,
                    group->count ? found + 2 : "none");
}

static dlp_status bind_group(dlp_graph *graph, int node_id, const dlp_tensor_list *weights, const weight_group *group)
{
    graph_node *node = &graph->nodes[node_id];
    if (group->count != node->weight_count) return weight_count_mismatch(node, weights, group);
    bool by_name = true;
    for (int s = 0; s < node->weight_count && by_name; s++) {
        int found = 0;
        for (int m = 0; m < group->count; m++)
            found += slot_matches(dlp_tensor_list_at(weights, group->members[m])->name, node->weights[s].slot);
        by_name = found == 1;
    }
    for (int s = 0; s < node->weight_count; s++) {
        const dlp_named_tensor *t = NULL;
        if (by_name) {
            for (int m = 0; m < group->count; m++)
                if (slot_matches(dlp_tensor_list_at(weights, group->members[m])->name, node->weights[s].slot))
                    t = dlp_tensor_list_at(weights, group->members[m]);
        } else {
            t = dlp_tensor_list_at(weights, group->members[s]);
        }
        DLP_TRY(dlp_graph_set_weight(graph, node_id, node->weights[s].slot, t));
    }
    free(node->weight_source);
    node->weight_source = strdup(group->layer);
    return node->weight_source ? DLP_OK : dlp_fail(DLP_ERR_OUT_OF_MEMORY, "weights: out of memory");
}

dlp_status dlp_graph_bind_weights_by_order(dlp_graph *graph, const dlp_tensor_list *weights, bool allow_trailing,
                                           int *groups_used)
{
    int *order = malloc((size_t)(graph->count ? graph->count : 1) * sizeof(int));
    if (!order) return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "weights: out of memory");
    int layer_count = 0, group_count = 0;
    weight_group *groups = NULL;
    dlp_status status = dlp_graph_keras_weight_order(graph, order, graph->count, &layer_count);
    if (status == DLP_OK) status = group_weights(weights, &groups, &group_count);
    if (status == DLP_OK && (group_count < layer_count || (!allow_trailing && group_count != layer_count)))
        status = dlp_fail(DLP_ERR_MODEL, "the model has %d weight-bearing layers, the weights have %d layers",
                          layer_count, group_count);
    for (int i = 0; status == DLP_OK && i < layer_count; i++) {
        status = bind_group(graph, order[i], weights, &groups[i]);
        if (status != DLP_OK)
            dlp_fail_context(status, "weight-bearing layer %d of %d", i + 1, layer_count);
    }
    if (status == DLP_OK && groups_used) *groups_used = layer_count;
    free(order);
    if (groups) free_groups(groups, group_count);
    return status;
}

dlp_status graph_weight_groups_after(const dlp_tensor_list *weights, int skip, char ***layers, int *count)
{
    weight_group *groups = NULL;
    int group_count = 0;
    DLP_TRY(group_weights(weights, &groups, &group_count));
    int left = group_count > skip ? group_count - skip : 0;
    char **names = calloc((size_t)(left ? left : 1), sizeof(char *));
    if (!names) {
        free_groups(groups, group_count);
        return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "weights: out of memory");
    }
    for (int i = 0; i < left; i++) {
        names[i] = groups[skip + i].layer;
        groups[skip + i].layer = NULL;
    }
    free_groups(groups, group_count);
    *layers = names;
    *count = left;
    return DLP_OK;
}

/* graph_internal.h: the graph's node records, shared by the graph, the
 * planner, the weight binder and the model builders. */
#ifndef DLP_SRC_GRAPH_GRAPH_INTERNAL_H
#define DLP_SRC_GRAPH_GRAPH_INTERNAL_H

#include "dlp/graph.h"

enum { GRAPH_MAX_SLOTS = 4 };

typedef struct graph_weight {
    const char *slot;   /* "kernel", "bias", ... (static string) */
    int ndim;
    int64_t shape[4];
    size_t count;
    float *data;        /* owned, zero until set */
} graph_weight;

typedef struct graph_node {
    char *name;
    dlp_op op;
    int *inputs;
    int input_count;
    dlp_shape shape;
    union {
        dlp_conv2d_params conv;
        dlp_dense_params dense;
        dlp_batchnorm_params bn;
        dlp_pool_params pool;
        dlp_zero_pad_params pad;
        dlp_activation activation;
    } params;
    int depth_multiplier; /* separable conv */
    graph_weight weights[GRAPH_MAX_SLOTS];
    int weight_count;
    char *weight_source;
} graph_node;

struct dlp_graph {
    graph_node *nodes;
    int count, capacity;
};

/* The weight slot of a node, or NULL. */
graph_weight *graph_node_weight(graph_node *node, const char *slot);

/* The weight layers (names) left after the first `skip` in bind order, for
 * builders of a weight file's own head; free each name and the array. */
dlp_status graph_weight_groups_after(const dlp_tensor_list *weights, int skip, char ***layers, int *count);

#endif

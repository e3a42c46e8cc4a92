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
        dlp_relu_params relu;
        dlp_permute_params permute;
        int axis; /* DLP_OP_CONCAT_AXIS */
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

/* graph.c's node helpers, for builders in other files (graph_extra.c):
 * append a node (shape set by the caller), add a zero weight slot, drop the
 * node just appended (returning status). */
dlp_status graph_add_node(dlp_graph *graph, const char *name, dlp_op op, const int *inputs, int input_count,
                          graph_node **node, int *id);
dlp_status graph_add_weight(graph_node *node, const char *slot, int ndim, const int64_t *shape);
/* The most elements dlp builds in one per-image tensor or one weight: 2^31 - 1, so that the backends' int
 * arithmetic on dims and per-image counts cannot overflow. */
#define DLP_GRAPH_MAX_ELEMENTS INT32_MAX
/* DLP_OK when h x w x c are positive and hold at most DLP_GRAPH_MAX_ELEMENTS; else DLP_ERR_MODEL (a dim not
 * positive) or DLP_ERR_LIMIT, naming the layer. */
dlp_status graph_check_shape(const char *name, int64_t h, int64_t w, int64_t c);
dlp_status graph_drop_last(dlp_graph *graph, dlp_status status);

/* The weight slot of a node, or NULL. */
graph_weight *graph_node_weight(graph_node *node, const char *slot);

/* The weight layers (names) left after the first `skip` in bind order, for
 * builders of a weight file's own head; free each name and the array. */
dlp_status graph_weight_groups_after(const dlp_tensor_list *weights, int skip, char ***layers, int *count);

#endif

/* keras_config.h: what keras_config.c keeps per model: the graph built from
 * a Keras model_config and the Keras shapes of its input and outputs. */
#ifndef DLP_SRC_MODELS_KERAS_CONFIG_H
#define DLP_SRC_MODELS_KERAS_CONFIG_H

#include "dlp/keras_model.h"

/* A Keras tensor: the graph node holding it and Keras' shape without the
 * batch axis (rank 1..3); the node's NHWC per-image shape right-aligns the
 * dims ([D] is 1x1xD, [T, D] is 1xTxD). */
typedef struct keras_tensor {
    int node;
    int rank;
    int dims[3];
} keras_tensor;

typedef struct keras_output {
    char *layer; /* the Keras layer */
    keras_tensor tensor;
} keras_output;

struct dlp_keras_model {
    char *name;
    dlp_graph *graph;
    keras_tensor input;
    keras_output *outputs;
    int output_count;
};

#endif

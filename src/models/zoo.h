/* zoo.h: how a zoo model joins the registry. A builder adds the network's
 * base (input through the featurizer layer) to an empty graph with the helpers
 * below, layer names as Keras names them (InceptionV3: Keras 2.2.4's auto
 * numbers, "conv2d_1", as the nsfwjs weights carry; the others: tf-keras
 * 2.18's explicit names, and its auto names "conv2d", "add_1" where the
 * application gives none), and
 * returns the featurizer node; zoo.c adds the head (pooling, ImageNet top or
 * the weight file's own dense head) and binds the weights by Keras order. */
#ifndef DLP_SRC_MODELS_ZOO_H
#define DLP_SRC_MODELS_ZOO_H

#include "dlp/graph.h"

/* Per-class counters for Keras-style auto names ("conv2d_7"). */
typedef struct zoo_names {
    int conv2d, depthwise, separable, batchnorm, activation, max_pool, avg_pool, concat, add, zero_pad, dense;
} zoo_names;

typedef struct zoo_builder {
    dlp_graph *graph;
    zoo_names names;
    char name[64];
} zoo_builder;

/* "prefix_N" with the counter incremented, in b->name. */
const char *zoo_next_name(zoo_builder *b, const char *prefix, int *counter);
/* tf-keras 2.x auto names: "prefix" first, then "prefix_1", "prefix_2", ... */
const char *zoo_next_auto_name(zoo_builder *b, const char *prefix, int *counter);

typedef struct zoo_entry {
    dlp_model_info info;
    /* Builds input .. featurizer layer; *features receives its node. */
    dlp_status (*build_base)(zoo_builder *b, int *features);
    /* Optional: Keras' ImageNet top from the featurizer node (default: global
     * average pool "avg_pool" + Dense(1000, softmax) "predictions"). */
    dlp_status (*build_imagenet_top)(zoo_builder *b, int features, int *output);
} zoo_entry;

extern const zoo_entry zoo_inception_v3;
extern const zoo_entry zoo_xception;
extern const zoo_entry zoo_resnet50;
extern const zoo_entry zoo_vgg16;
extern const zoo_entry zoo_vgg19;

#endif

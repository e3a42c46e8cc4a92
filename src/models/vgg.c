/* vgg.c: VGG16 and VGG19 as tf-keras 2.18 builds them (applications/vgg16.py,
 * vgg19.py): blocks of 3x3 'same' ReLU convs with biases, each closed by a
 * 2x2/2 max pool (block1_conv1 .. block5_pool); the ImageNet top is Flatten,
 * fc1 and fc2 (4096, ReLU) and predictions (1000, softmax). */
#include <stdio.h>

#include "core/status.h"
#include "models/zoo.h"

static dlp_status build_vgg(zoo_builder *b, const int *convs_per_block, int *features)
{
    static const int filters[5] = {64, 128, 256, 512, 512};
    int x;
    DLP_TRY(dlp_graph_input(b->graph, "input_1", (dlp_shape){224, 224, 3}, &x));
    for (int block = 0; block < 5; block++) {
        char name[32];
        dlp_conv2d_params conv = {3, 3, 1, 1, DLP_PAD_SAME, filters[block], true, DLP_ACT_RELU};
        for (int i = 1; i <= convs_per_block[block]; i++) {
            snprintf(name, sizeof name, "block%d_conv%d", block + 1, i);
            DLP_TRY(dlp_graph_conv2d(b->graph, name, x, &conv, &x));
        }
        dlp_pool_params pool = {2, 2, 2, 2, DLP_PAD_VALID};
        snprintf(name, sizeof name, "block%d_pool", block + 1);
        DLP_TRY(dlp_graph_pool(b->graph, name, DLP_OP_MAX_POOL, x, &pool, &x));
    }
    *features = x;
    return DLP_OK;
}

static dlp_status build_vgg16(zoo_builder *b, int *features)
{
    static const int convs[5] = {2, 2, 3, 3, 3};
    return build_vgg(b, convs, features);
}

static dlp_status build_vgg19(zoo_builder *b, int *features)
{
    static const int convs[5] = {2, 2, 4, 4, 4};
    return build_vgg(b, convs, features);
}

/* Keras' VGG top flattens (NHWC row-major, 25088) instead of pooling. */
static dlp_status vgg_top(zoo_builder *b, int features, int *output)
{
    int x;
    dlp_dense_params fc = {4096, true, DLP_ACT_RELU}, predictions = {1000, true, DLP_ACT_SOFTMAX};
    DLP_TRY(dlp_graph_unary(b->graph, "flatten", DLP_OP_FLATTEN, features, &x));
    DLP_TRY(dlp_graph_dense(b->graph, "fc1", x, &fc, &x));
    DLP_TRY(dlp_graph_dense(b->graph, "fc2", x, &fc, &x));
    return dlp_graph_dense(b->graph, "predictions", x, &predictions, output);
}

const zoo_entry zoo_vgg16 = {
    {"VGG16", 224, 224, DLP_PREPROCESS_CAFFE, "block5_pool", {7, 7, 512}},
    build_vgg16,
    vgg_top,
};

const zoo_entry zoo_vgg19 = {
    {"VGG19", 224, 224, DLP_PREPROCESS_CAFFE, "block5_pool", {7, 7, 512}},
    build_vgg19,
    vgg_top,
};

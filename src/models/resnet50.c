/* resnet50.c: ResNet50 as tf-keras 2.18 builds it (applications/resnet.py,
 * ResNet50 = stack_fn of stack1/block1, the "Keras v1" layout with layer
 * names conv1_pad .. conv5_block3_out): convs with biases, batch norm epsilon
 * 1.001e-5, the stride on the first 1x1 conv of a stage's first block, zero
 * padding 3 before the 7x7/2 conv and 1 before the 3x3/2 max pool. */
#include <stdio.h>

#include "core/status.h"
#include "models/zoo.h"

static const dlp_batchnorm_params resnet_bn = {1.001e-5f, true, true};

/* "<block>_<suffix>" in a caller's buffer. */
static const char *layer_name(char *buffer, size_t size, const char *block, const char *suffix)
{
    snprintf(buffer, size, "%s_%s", block, suffix);
    return buffer;
}

/* Conv2D (bias) + BatchNormalization, named <block>_<index>_conv/_bn. */
static dlp_status conv_bn(zoo_builder *b, int x, const char *block, int index, int filters, int kernel, int stride,
                          dlp_padding padding, int *out)
{
    char name[64], suffix[16];
    dlp_conv2d_params conv = {kernel, kernel, stride, stride, padding, filters, true, DLP_ACT_LINEAR};
    snprintf(suffix, sizeof suffix, "%d_conv", index);
    DLP_TRY(dlp_graph_conv2d(b->graph, layer_name(name, sizeof name, block, suffix), x, &conv, &x));
    snprintf(suffix, sizeof suffix, "%d_bn", index);
    return dlp_graph_batchnorm(b->graph, layer_name(name, sizeof name, block, suffix), x, &resnet_bn, out);
}

static dlp_status relu(zoo_builder *b, int x, const char *block, const char *suffix, int *out)
{
    char name[64];
    return dlp_graph_activation(b->graph, layer_name(name, sizeof name, block, suffix), x, DLP_ACT_RELU, out);
}

/* resnet.py block1: bottleneck 1x1 (stride) - 3x3 - 1x1 (4*filters), with a
 * 1x1 projection shortcut (made first, as Keras does) when conv_shortcut. */
static dlp_status bottleneck(zoo_builder *b, int x, int filters, int stride, bool conv_shortcut, const char *block,
                             int *out)
{
    int shortcut = x;
    if (conv_shortcut) DLP_TRY(conv_bn(b, x, block, 0, 4 * filters, 1, stride, DLP_PAD_VALID, &shortcut));
    DLP_TRY(conv_bn(b, x, block, 1, filters, 1, stride, DLP_PAD_VALID, &x));
    DLP_TRY(relu(b, x, block, "1_relu", &x));
    DLP_TRY(conv_bn(b, x, block, 2, filters, 3, 1, DLP_PAD_SAME, &x));
    DLP_TRY(relu(b, x, block, "2_relu", &x));
    DLP_TRY(conv_bn(b, x, block, 3, 4 * filters, 1, 1, DLP_PAD_VALID, &x));
    char name[64];
    int sum[2] = {shortcut, x};
    DLP_TRY(dlp_graph_add(b->graph, layer_name(name, sizeof name, block, "add"), sum, 2, &x));
    return relu(b, x, block, "out", out);
}

/* resnet.py stack1: `blocks` bottlenecks named <stage>_block1.., the first
 * with the projection shortcut and stride. */
static dlp_status stack(zoo_builder *b, int x, int filters, int blocks, int stride, const char *stage, int *out)
{
    for (int i = 1; i <= blocks; i++) {
        char block[32];
        snprintf(block, sizeof block, "%s_block%d", stage, i);
        DLP_TRY(bottleneck(b, x, filters, i == 1 ? stride : 1, i == 1, block, &x));
    }
    *out = x;
    return DLP_OK;
}

static dlp_status build_base(zoo_builder *b, int *features)
{
    int x;
    dlp_zero_pad_params pad3 = {3, 3, 3, 3}, pad1 = {1, 1, 1, 1};
    dlp_conv2d_params conv1 = {7, 7, 2, 2, DLP_PAD_VALID, 64, true, DLP_ACT_LINEAR};
    dlp_pool_params pool1 = {3, 3, 2, 2, DLP_PAD_VALID};
    DLP_TRY(dlp_graph_input(b->graph, "input_1", (dlp_shape){224, 224, 3}, &x));
    DLP_TRY(dlp_graph_zero_pad(b->graph, "conv1_pad", x, &pad3, &x));
    DLP_TRY(dlp_graph_conv2d(b->graph, "conv1_conv", x, &conv1, &x));
    DLP_TRY(dlp_graph_batchnorm(b->graph, "conv1_bn", x, &resnet_bn, &x));
    DLP_TRY(dlp_graph_activation(b->graph, "conv1_relu", x, DLP_ACT_RELU, &x));
    DLP_TRY(dlp_graph_zero_pad(b->graph, "pool1_pad", x, &pad1, &x));
    DLP_TRY(dlp_graph_pool(b->graph, "pool1_pool", DLP_OP_MAX_POOL, x, &pool1, &x));
    DLP_TRY(stack(b, x, 64, 3, 1, "conv2", &x));
    DLP_TRY(stack(b, x, 128, 4, 2, "conv3", &x));
    DLP_TRY(stack(b, x, 256, 6, 2, "conv4", &x));
    DLP_TRY(stack(b, x, 512, 3, 2, "conv5", &x));
    *features = x;
    return DLP_OK;
}

const zoo_entry zoo_resnet50 = {
    {"ResNet50", 224, 224, DLP_PREPROCESS_CAFFE, "conv5_block3_out", {7, 7, 2048}},
    build_base,
    NULL,
};

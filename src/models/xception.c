/* xception.c: Xception as tf-keras 2.18 builds it (applications/xception.py):
 * the entry flow (block1..block4, each later block with a strided 1x1
 * Conv2D + BatchNormalization residual), the middle flow (block5..block12,
 * identity residuals), the exit flow (block13, block14). SeparableConv2D is
 * depthwise 3x3 then pointwise 1x1 without bias; batch norm epsilon 1e-3.
 * The residual convs, their batch norms and the adds have no explicit names
 * in xception.py: they get tf-keras 2.18's auto names (conv2d, conv2d_1, ...,
 * batch_normalization_3, add .. add_11). */
#include <stdio.h>

#include "core/status.h"
#include "models/zoo.h"

static const dlp_batchnorm_params xception_bn = {1e-3f, true, true};

static dlp_status relu(zoo_builder *b, int x, const char *name, int *out)
{
    return dlp_graph_activation(b->graph, name, x, DLP_ACT_RELU, out);
}

/* SeparableConv2D(filters, 3x3, 'same', no bias) named <prefix>_sepconv<i>
 * and its batch norm <prefix>_sepconv<i>_bn. */
static dlp_status sepconv_bn(zoo_builder *b, int x, const char *prefix, int index, int filters, int *out)
{
    char name[64];
    dlp_conv2d_params conv = {3, 3, 1, 1, DLP_PAD_SAME, filters, false, DLP_ACT_LINEAR};
    snprintf(name, sizeof name, "%s_sepconv%d", prefix, index);
    DLP_TRY(dlp_graph_separable_conv2d(b->graph, name, x, &conv, 1, &x));
    snprintf(name, sizeof name, "%s_sepconv%d_bn", prefix, index);
    return dlp_graph_batchnorm(b->graph, name, x, &xception_bn, out);
}

/* ReLU named <prefix>_sepconv<i>_act, then sepconv_bn. */
static dlp_status act_sepconv_bn(zoo_builder *b, int x, const char *prefix, int index, int filters, int *out)
{
    char name[64];
    snprintf(name, sizeof name, "%s_sepconv%d_act", prefix, index);
    DLP_TRY(relu(b, x, name, &x));
    return sepconv_bn(b, x, prefix, index, filters, out);
}

static dlp_status add(zoo_builder *b, int x, int residual, int *out)
{
    int inputs[2] = {x, residual};
    return dlp_graph_add(b->graph, zoo_next_auto_name(b, "add", &b->names.add), inputs, 2, out);
}

/* The strided 1x1 Conv2D + BatchNormalization residual of blocks 2, 3, 4, 13. */
static dlp_status residual_conv(zoo_builder *b, int x, int filters, int *out)
{
    dlp_conv2d_params conv = {1, 1, 2, 2, DLP_PAD_SAME, filters, false, DLP_ACT_LINEAR};
    DLP_TRY(dlp_graph_conv2d(b->graph, zoo_next_auto_name(b, "conv2d", &b->names.conv2d), x, &conv, &x));
    return dlp_graph_batchnorm(b->graph, zoo_next_auto_name(b, "batch_normalization", &b->names.batchnorm), x,
                               &xception_bn, out);
}

/* Blocks 2, 3, 4, 13: two separable convs (widths first, second), a 3x3/2
 * 'same' max pool, plus the residual. Block 2 starts without a ReLU. */
static dlp_status downsampling_block(zoo_builder *b, int x, int block, int first, int second, int *out)
{
    char prefix[16], name[32];
    snprintf(prefix, sizeof prefix, "block%d", block);
    int residual;
    DLP_TRY(residual_conv(b, x, second, &residual));
    if (block == 2)
        DLP_TRY(sepconv_bn(b, x, prefix, 1, first, &x));
    else
        DLP_TRY(act_sepconv_bn(b, x, prefix, 1, first, &x));
    DLP_TRY(act_sepconv_bn(b, x, prefix, 2, second, &x));
    dlp_pool_params pool = {3, 3, 2, 2, DLP_PAD_SAME};
    snprintf(name, sizeof name, "%s_pool", prefix);
    DLP_TRY(dlp_graph_pool(b->graph, name, DLP_OP_MAX_POOL, x, &pool, &x));
    return add(b, x, residual, out);
}

/* Blocks 5..12: three ReLU + separable conv (728) with an identity residual. */
static dlp_status middle_block(zoo_builder *b, int x, int block, int *out)
{
    char prefix[16];
    snprintf(prefix, sizeof prefix, "block%d", block);
    int residual = x;
    for (int i = 1; i <= 3; i++) DLP_TRY(act_sepconv_bn(b, x, prefix, i, 728, &x));
    return add(b, x, residual, out);
}

static dlp_status build_base(zoo_builder *b, int *features)
{
    int x;
    dlp_conv2d_params conv1 = {3, 3, 2, 2, DLP_PAD_VALID, 32, false, DLP_ACT_LINEAR};
    dlp_conv2d_params conv2 = {3, 3, 1, 1, DLP_PAD_VALID, 64, false, DLP_ACT_LINEAR};
    DLP_TRY(dlp_graph_input(b->graph, "input_1", (dlp_shape){299, 299, 3}, &x));
    DLP_TRY(dlp_graph_conv2d(b->graph, "block1_conv1", x, &conv1, &x));
    DLP_TRY(dlp_graph_batchnorm(b->graph, "block1_conv1_bn", x, &xception_bn, &x));
    DLP_TRY(relu(b, x, "block1_conv1_act", &x));
    DLP_TRY(dlp_graph_conv2d(b->graph, "block1_conv2", x, &conv2, &x));
    DLP_TRY(dlp_graph_batchnorm(b->graph, "block1_conv2_bn", x, &xception_bn, &x));
    DLP_TRY(relu(b, x, "block1_conv2_act", &x));
    DLP_TRY(downsampling_block(b, x, 2, 128, 128, &x));
    DLP_TRY(downsampling_block(b, x, 3, 256, 256, &x));
    DLP_TRY(downsampling_block(b, x, 4, 728, 728, &x));
    for (int block = 5; block <= 12; block++) DLP_TRY(middle_block(b, x, block, &x));
    DLP_TRY(downsampling_block(b, x, 13, 728, 1024, &x));
    DLP_TRY(sepconv_bn(b, x, "block14", 1, 1536, &x));
    DLP_TRY(relu(b, x, "block14_sepconv1_act", &x));
    DLP_TRY(sepconv_bn(b, x, "block14", 2, 2048, &x));
    DLP_TRY(relu(b, x, "block14_sepconv2_act", &x));
    *features = x;
    return DLP_OK;
}

const zoo_entry zoo_xception = {
    {"Xception", 299, 299, DLP_PREPROCESS_TF, "block14_sepconv2_act", {10, 10, 2048}},
    build_base,
    NULL,
};

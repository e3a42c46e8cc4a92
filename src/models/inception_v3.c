/* inception_v3.c: InceptionV3 as Keras builds it (keras/applications/
 * inception_v3.py): conv2d_bn = Conv2D (no bias) + BatchNormalization
 * (scale=False, epsilon 1e-3) + ReLU, the stem, and blocks mixed0..mixed10
 * with their 3x3 'same' average pools (TensorFlow: divide by valid inputs). */
#include <stdio.h>

#include "core/status.h"
#include "models/zoo.h"

static dlp_status conv2d_bn(zoo_builder *b, int x, int filters, int rows, int cols, int stride, dlp_padding padding,
                            int *out)
{
    dlp_conv2d_params conv = {rows, cols, stride, stride, padding, filters, false, DLP_ACT_LINEAR};
    dlp_batchnorm_params bn = {1e-3f, false, true};
    DLP_TRY(dlp_graph_conv2d(b->graph, zoo_next_name(b, "conv2d", &b->names.conv2d), x, &conv, &x));
    DLP_TRY(dlp_graph_batchnorm(b->graph, zoo_next_name(b, "batch_normalization", &b->names.batchnorm), x, &bn, &x));
    return dlp_graph_activation(b->graph, zoo_next_name(b, "activation", &b->names.activation), x, DLP_ACT_RELU, out);
}

static dlp_status conv_same(zoo_builder *b, int x, int filters, int rows, int cols, int *out)
{
    return conv2d_bn(b, x, filters, rows, cols, 1, DLP_PAD_SAME, out);
}

static dlp_status pool(zoo_builder *b, dlp_op op, int x, int stride, dlp_padding padding, int *out)
{
    dlp_pool_params params = {3, 3, stride, stride, padding};
    const char *name = op == DLP_OP_MAX_POOL ? zoo_next_name(b, "max_pooling2d", &b->names.max_pool)
                                             : zoo_next_name(b, "average_pooling2d", &b->names.avg_pool);
    return dlp_graph_pool(b->graph, name, op, x, &params, out);
}

static dlp_status concat(zoo_builder *b, const char *name, const int *inputs, int count, int *out)
{
    if (!name) name = zoo_next_name(b, "concatenate", &b->names.concat);
    return dlp_graph_concat(b->graph, name, inputs, count, out);
}

/* mixed0..mixed2: 35x35; pool_filters 32 for mixed0, 64 after. */
static dlp_status inception_a(zoo_builder *b, int x, int pool_filters, const char *name, int *out)
{
    int branch1x1, branch5x5, branch3x3dbl, branch_pool;
    DLP_TRY(conv_same(b, x, 64, 1, 1, &branch1x1));
    DLP_TRY(conv_same(b, x, 48, 1, 1, &branch5x5));
    DLP_TRY(conv_same(b, branch5x5, 64, 5, 5, &branch5x5));
    DLP_TRY(conv_same(b, x, 64, 1, 1, &branch3x3dbl));
    DLP_TRY(conv_same(b, branch3x3dbl, 96, 3, 3, &branch3x3dbl));
    DLP_TRY(conv_same(b, branch3x3dbl, 96, 3, 3, &branch3x3dbl));
    DLP_TRY(pool(b, DLP_OP_AVG_POOL, x, 1, DLP_PAD_SAME, &branch_pool));
    DLP_TRY(conv_same(b, branch_pool, pool_filters, 1, 1, &branch_pool));
    int branches[4] = {branch1x1, branch5x5, branch3x3dbl, branch_pool};
    return concat(b, name, branches, 4, out);
}

/* mixed3: 35x35 -> 17x17. */
static dlp_status reduction_a(zoo_builder *b, int x, int *out)
{
    int branch3x3, branch3x3dbl, branch_pool;
    DLP_TRY(conv2d_bn(b, x, 384, 3, 3, 2, DLP_PAD_VALID, &branch3x3));
    DLP_TRY(conv_same(b, x, 64, 1, 1, &branch3x3dbl));
    DLP_TRY(conv_same(b, branch3x3dbl, 96, 3, 3, &branch3x3dbl));
    DLP_TRY(conv2d_bn(b, branch3x3dbl, 96, 3, 3, 2, DLP_PAD_VALID, &branch3x3dbl));
    DLP_TRY(pool(b, DLP_OP_MAX_POOL, x, 2, DLP_PAD_VALID, &branch_pool));
    int branches[3] = {branch3x3, branch3x3dbl, branch_pool};
    return concat(b, "mixed3", branches, 3, out);
}

/* mixed4..mixed7: 17x17 with factorized 7x7 convs of width c. */
static dlp_status inception_b(zoo_builder *b, int x, int c, const char *name, int *out)
{
    int branch1x1, branch7x7, branch7x7dbl, branch_pool;
    DLP_TRY(conv_same(b, x, 192, 1, 1, &branch1x1));
    DLP_TRY(conv_same(b, x, c, 1, 1, &branch7x7));
    DLP_TRY(conv_same(b, branch7x7, c, 1, 7, &branch7x7));
    DLP_TRY(conv_same(b, branch7x7, 192, 7, 1, &branch7x7));
    DLP_TRY(conv_same(b, x, c, 1, 1, &branch7x7dbl));
    DLP_TRY(conv_same(b, branch7x7dbl, c, 7, 1, &branch7x7dbl));
    DLP_TRY(conv_same(b, branch7x7dbl, c, 1, 7, &branch7x7dbl));
    DLP_TRY(conv_same(b, branch7x7dbl, c, 7, 1, &branch7x7dbl));
    DLP_TRY(conv_same(b, branch7x7dbl, 192, 1, 7, &branch7x7dbl));
    DLP_TRY(pool(b, DLP_OP_AVG_POOL, x, 1, DLP_PAD_SAME, &branch_pool));
    DLP_TRY(conv_same(b, branch_pool, 192, 1, 1, &branch_pool));
    int branches[4] = {branch1x1, branch7x7, branch7x7dbl, branch_pool};
    return concat(b, name, branches, 4, out);
}

/* mixed8: 17x17 -> 8x8. */
static dlp_status reduction_b(zoo_builder *b, int x, int *out)
{
    int branch3x3, branch7x7x3, branch_pool;
    DLP_TRY(conv_same(b, x, 192, 1, 1, &branch3x3));
    DLP_TRY(conv2d_bn(b, branch3x3, 320, 3, 3, 2, DLP_PAD_VALID, &branch3x3));
    DLP_TRY(conv_same(b, x, 192, 1, 1, &branch7x7x3));
    DLP_TRY(conv_same(b, branch7x7x3, 192, 1, 7, &branch7x7x3));
    DLP_TRY(conv_same(b, branch7x7x3, 192, 7, 1, &branch7x7x3));
    DLP_TRY(conv2d_bn(b, branch7x7x3, 192, 3, 3, 2, DLP_PAD_VALID, &branch7x7x3));
    DLP_TRY(pool(b, DLP_OP_MAX_POOL, x, 2, DLP_PAD_VALID, &branch_pool));
    int branches[3] = {branch3x3, branch7x7x3, branch_pool};
    return concat(b, "mixed8", branches, 3, out);
}

/* mixed9, mixed10: 8x8 with split 1x3/3x1 branches. */
static dlp_status inception_c(zoo_builder *b, int x, int index, int *out)
{
    char split_name[32], name[32];
    snprintf(split_name, sizeof split_name, "mixed9_%d", index);
    snprintf(name, sizeof name, "mixed%d", 9 + index);
    int branch1x1, branch3x3, branch3x3_1, branch3x3_2, branch3x3dbl, dbl_1, dbl_2, branch_pool;
    DLP_TRY(conv_same(b, x, 320, 1, 1, &branch1x1));
    DLP_TRY(conv_same(b, x, 384, 1, 1, &branch3x3));
    DLP_TRY(conv_same(b, branch3x3, 384, 1, 3, &branch3x3_1));
    DLP_TRY(conv_same(b, branch3x3, 384, 3, 1, &branch3x3_2));
    int pair[2] = {branch3x3_1, branch3x3_2};
    DLP_TRY(concat(b, split_name, pair, 2, &branch3x3));
    DLP_TRY(conv_same(b, x, 448, 1, 1, &branch3x3dbl));
    DLP_TRY(conv_same(b, branch3x3dbl, 384, 3, 3, &branch3x3dbl));
    DLP_TRY(conv_same(b, branch3x3dbl, 384, 1, 3, &dbl_1));
    DLP_TRY(conv_same(b, branch3x3dbl, 384, 3, 1, &dbl_2));
    int dbl_pair[2] = {dbl_1, dbl_2};
    DLP_TRY(concat(b, NULL, dbl_pair, 2, &branch3x3dbl));
    DLP_TRY(pool(b, DLP_OP_AVG_POOL, x, 1, DLP_PAD_SAME, &branch_pool));
    DLP_TRY(conv_same(b, branch_pool, 192, 1, 1, &branch_pool));
    int branches[4] = {branch1x1, branch3x3, branch3x3dbl, branch_pool};
    return concat(b, name, branches, 4, out);
}

static dlp_status build_base(zoo_builder *b, int *features)
{
    int x;
    DLP_TRY(dlp_graph_input(b->graph, "input_1", (dlp_shape){299, 299, 3}, &x));
    DLP_TRY(conv2d_bn(b, x, 32, 3, 3, 2, DLP_PAD_VALID, &x));
    DLP_TRY(conv2d_bn(b, x, 32, 3, 3, 1, DLP_PAD_VALID, &x));
    DLP_TRY(conv_same(b, x, 64, 3, 3, &x));
    DLP_TRY(pool(b, DLP_OP_MAX_POOL, x, 2, DLP_PAD_VALID, &x));
    DLP_TRY(conv2d_bn(b, x, 80, 1, 1, 1, DLP_PAD_VALID, &x));
    DLP_TRY(conv2d_bn(b, x, 192, 3, 3, 1, DLP_PAD_VALID, &x));
    DLP_TRY(pool(b, DLP_OP_MAX_POOL, x, 2, DLP_PAD_VALID, &x));
    DLP_TRY(inception_a(b, x, 32, "mixed0", &x));
    DLP_TRY(inception_a(b, x, 64, "mixed1", &x));
    DLP_TRY(inception_a(b, x, 64, "mixed2", &x));
    DLP_TRY(reduction_a(b, x, &x));
    DLP_TRY(inception_b(b, x, 128, "mixed4", &x));
    DLP_TRY(inception_b(b, x, 160, "mixed5", &x));
    DLP_TRY(inception_b(b, x, 160, "mixed6", &x));
    DLP_TRY(inception_b(b, x, 192, "mixed7", &x));
    DLP_TRY(reduction_b(b, x, &x));
    DLP_TRY(inception_c(b, x, 0, &x));
    DLP_TRY(inception_c(b, x, 1, &x));
    *features = x;
    return DLP_OK;
}

const zoo_entry zoo_inception_v3 = {
    {"InceptionV3", 299, 299, DLP_PREPROCESS_TF, "mixed10", {8, 8, 2048}},
    build_base,
    NULL,
};

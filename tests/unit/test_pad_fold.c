/* The CUDA backend's stem planning, host side (no GPU needed):
 *  - which ZeroPadding2D folds into the op that alone reads it
 *    (device_zero_pad_folds): a 'valid' Conv2D with symmetric padding, a
 *    'valid' max/avg pooling with any padding, nothing else;
 *  - the folded conv's padding per side (device_conv_pads) against Keras'
 *    output size of the padded input (dlp_conv_output_size), ResNet50's
 *    conv1 (224 + 3 + 3, 7x7 stride 2 -> 112) among them;
 *  - the channel count a half convolution is given (device_conv_channels:
 *    multiples of 8 in fp16/bf16 when on) and the filter re-laid onto it
 *    (device_hwio_to_ohwi_padded) against a naive loop: the extra input
 *    channels have zero weights, the rest equal the unpadded re-layout;
 *  - the planner's fold on CPU plans with a backend that folds (the CPU
 *    backend's hook set to device_zero_pad_folds; these plans are inspected,
 *    never run): the pad's step and value are gone, the consumer reads the
 *    pad's input with its padding; asymmetric padding before a conv, a pad
 *    read twice or one that is an output stay steps; the plain CPU backend
 *    (no hook) keeps every pad (its results are unchanged);
 *  - the zoo's ResNet50 (weights unset, planned only): its two pads fold,
 *    conv1_conv reads the 224x224x3 input with padding 3, pool1_pool the
 *    112x112x64 conv output with padding 1, no ZeroPadding2D step is left
 *    and the plan has two steps fewer than on the plain CPU backend. */
#include <math.h>

#include "check.h"
#include "dlp/dlp.h"
#include "graph/device_layout.h"
#include "graph/plan_internal.h"

static plan_step consumer_of(dlp_op op, dlp_padding padding)
{
    plan_step step;
    memset(&step, 0, sizeof step);
    step.op = op;
    if (op == DLP_OP_CONV2D || op == DLP_OP_DEPTHWISE_CONV2D)
        step.params.conv = (dlp_conv2d_params){7, 7, 2, 2, padding, 64, true, DLP_ACT_RELU};
    else if (op == DLP_OP_MAX_POOL || op == DLP_OP_AVG_POOL)
        step.params.pool = (dlp_pool_params){3, 3, 2, 2, padding};
    return step;
}

static void check_fold_decisions(void)
{
    const dlp_zero_pad_params symmetric = {3, 3, 3, 3}, uneven_axes = {1, 1, 2, 2}, asymmetric = {0, 1, 0, 1};
    const dlp_zero_pad_params negative = {-1, -1, 0, 0};
    plan_step conv_valid = consumer_of(DLP_OP_CONV2D, DLP_PAD_VALID), conv_same = consumer_of(DLP_OP_CONV2D, DLP_PAD_SAME);
    CHECK(device_zero_pad_folds(&conv_valid, &symmetric));
    CHECK(device_zero_pad_folds(&conv_valid, &uneven_axes)); /* each axis symmetric: cuDNN pads 1 and 2 */
    CHECK(!device_zero_pad_folds(&conv_valid, &asymmetric));
    CHECK(!device_zero_pad_folds(&conv_same, &symmetric));
    CHECK(!device_zero_pad_folds(&conv_valid, &negative));
    for (int op = 0; op < 2; op++) {
        plan_step pool = consumer_of(op ? DLP_OP_AVG_POOL : DLP_OP_MAX_POOL, DLP_PAD_VALID);
        plan_step pool_same = consumer_of(op ? DLP_OP_AVG_POOL : DLP_OP_MAX_POOL, DLP_PAD_SAME);
        CHECK(device_zero_pad_folds(&pool, &symmetric));
        CHECK(device_zero_pad_folds(&pool, &asymmetric));
        CHECK(!device_zero_pad_folds(&pool_same, &symmetric));
    }
    plan_step depthwise = consumer_of(DLP_OP_DEPTHWISE_CONV2D, DLP_PAD_VALID), dense = consumer_of(DLP_OP_DENSE, 0);
    CHECK(!device_zero_pad_folds(&depthwise, &symmetric));
    CHECK(!device_zero_pad_folds(&dense, &symmetric));
}

/* The pads on each side of a conv over in_h x in_w after a folded pad, and
 * that they give Keras' output size of the explicitly padded input. */
static void check_pads(int in_h, int in_w, int kernel, int stride, dlp_padding padding, const dlp_zero_pad_params *pad,
                       int top, int bottom, int left, int right)
{
    dlp_conv2d_params conv = {kernel, kernel, stride, stride, padding, 8, true, DLP_ACT_LINEAR};
    int t = -1, b = -1, l = -1, r = -1;
    device_conv_pads((dlp_shape){in_h, in_w, 3}, &conv, pad, &t, &b, &l, &r);
    if (t != top || b != bottom || l != left || r != right)
        fprintf(stderr, "conv pads %dx%d k%d s%d: %d/%d/%d/%d, expected %d/%d/%d/%d\n", in_h, in_w, kernel, stride, t,
                b, l, r, top, bottom, left, right);
    CHECK(t == top && b == bottom && l == left && r == right);
    int padded_h = in_h + (pad ? pad->top + pad->bottom : 0), padded_w = in_w + (pad ? pad->left + pad->right : 0);
    CHECK((in_h + t + b - kernel) / stride + 1 == dlp_conv_output_size(padded_h, kernel, stride, padding));
    CHECK((in_w + l + r - kernel) / stride + 1 == dlp_conv_output_size(padded_w, kernel, stride, padding));
}

static void check_channels(void)
{
    CHECK(device_conv_channels(3, true, true) == 8);
    CHECK(device_conv_channels(5, true, true) == 8);
    CHECK(device_conv_channels(8, true, true) == 8);
    CHECK(device_conv_channels(9, true, true) == 16);
    CHECK(device_conv_channels(64, true, true) == 64);
    CHECK(device_conv_channels(3, false, true) == 3); /* fp32: as it is */
    CHECK(device_conv_channels(3, true, false) == 3); /* switched off */
    const int kh = 3, kw = 2, cin = 3, padded = 8, cout = 5;
    size_t count = (size_t)kh * kw * cin * cout;
    float *hwio = malloc(count * sizeof(float)), *plain = malloc(count * sizeof(float));
    float *wide = malloc((size_t)kh * kw * padded * cout * sizeof(float));
    for (size_t i = 0; i < count; i++) hwio[i] = (float)i * 0.25f - 2.0f;
    device_hwio_to_ohwi(hwio, kh, kw, cin, cout, plain);
    for (size_t i = 0; i < (size_t)kh * kw * padded * cout; i++) wide[i] = NAN;
    device_hwio_to_ohwi_padded(hwio, kh, kw, cin, padded, cout, wide);
    int wrong = 0;
    for (int o = 0; o < cout; o++)
        for (int y = 0; y < kh; y++)
            for (int x = 0; x < kw; x++)
                for (int i = 0; i < padded; i++) {
                    float got = wide[(((size_t)o * kh + y) * kw + x) * padded + i];
                    float want = i < cin ? hwio[(((size_t)y * kw + x) * cin + i) * cout + o] : 0.0f;
                    wrong += got != want;
                    if (i < cin) wrong += got != plain[(((size_t)o * kh + y) * kw + x) * cin + i];
                }
    CHECK(wrong == 0);
    free(hwio), free(plain), free(wide);
}

static bool folding_hook(const dlp_backend *backend, const plan_step *consumer, const dlp_zero_pad_params *pad)
{
    (void)backend;
    return device_zero_pad_folds(consumer, pad);
}

static void random_weights(dlp_graph *graph, int node, const char *slot, int ndim, const int64_t *shape)
{
    size_t count = 1;
    for (int d = 0; d < ndim; d++) count *= (size_t)shape[d];
    float *data = malloc(count * sizeof(float));
    for (size_t i = 0; i < count; i++) data[i] = (float)(i % 7) * 0.1f - 0.3f;
    check_set_weight(graph, node, slot, ndim, shape, data);
    free(data);
}

/* ResNet's stem in small: input -> pad conv_pad -> conv 7x7 s2 valid ->
 * pad pool_pad -> max pool 3x3 s2 valid ("op"); extra: another consumer of
 * pool_pad (an avg pool), which then is an output too. */
static dlp_graph *stem_graph(dlp_zero_pad_params conv_pad, bool pool_pad_read_twice)
{
    dlp_graph *graph = NULL;
    int input = -1, pad1 = -1, conv = -1, pad2 = -1, pool = -1, other = -1;
    CHECK_OK(dlp_graph_create(&graph));
    CHECK_OK(dlp_graph_input(graph, "input_1", (dlp_shape){21, 19, 3}, &input));
    CHECK_OK(dlp_graph_zero_pad(graph, "conv_pad", input, &conv_pad, &pad1));
    dlp_conv2d_params p = {7, 7, 2, 2, DLP_PAD_VALID, 8, true, DLP_ACT_RELU};
    CHECK_OK(dlp_graph_conv2d(graph, "conv", pad1, &p, &conv));
    random_weights(graph, conv, "kernel", 4, (int64_t[]){7, 7, 3, 8});
    random_weights(graph, conv, "bias", 1, (int64_t[]){8});
    dlp_zero_pad_params one = {1, 1, 1, 1};
    CHECK_OK(dlp_graph_zero_pad(graph, "pool_pad", conv, &one, &pad2));
    dlp_pool_params q = {3, 3, 2, 2, DLP_PAD_VALID};
    CHECK_OK(dlp_graph_pool(graph, "op", DLP_OP_MAX_POOL, pad2, &q, &pool));
    if (pool_pad_read_twice) CHECK_OK(dlp_graph_pool(graph, "other", DLP_OP_AVG_POOL, pad2, &q, &other));
    return graph;
}

static dlp_plan *stem_plan(dlp_backend *backend, dlp_zero_pad_params conv_pad, bool twice, const char *const *outputs,
                           int output_count)
{
    dlp_graph *graph = stem_graph(conv_pad, twice);
    dlp_plan *plan = NULL;
    if (graph) CHECK_OK(dlp_plan_create(graph, backend, 4, outputs, output_count, &plan));
    dlp_graph_destroy(graph);
    return plan;
}

static bool pad_is(const dlp_zero_pad_params *p, int top, int bottom, int left, int right)
{
    return p->top == top && p->bottom == bottom && p->left == left && p->right == right;
}

static void check_plans(void)
{
    dlp_backend *plain = NULL, *folding = NULL;
    CHECK_OK(dlp_backend_create_cpu(1, &plain));
    CHECK_OK(dlp_backend_create_cpu(1, &folding));
    if (!plain || !folding) return;
    folding->folds_zero_pad = folding_hook;
    const char *one[1] = {"op"}, *two[2] = {"op", "other"}, *pad_out[2] = {"op", "pool_pad"};
    const dlp_zero_pad_params three = {3, 3, 3, 3}, uneven = {2, 3, 2, 3};

    dlp_plan *plan = stem_plan(plain, three, false, one, 1);
    if (plan) { /* the CPU backend keeps its steps */
        CHECK(plan->step_count == 4 && plan->steps[0].op == DLP_OP_ZERO_PAD && plan->steps[2].op == DLP_OP_ZERO_PAD);
        for (int s = 0; s < plan->step_count; s++) CHECK(pad_is(&plan->steps[s].input_pad, 0, 0, 0, 0));
        dlp_plan_destroy(plan);
    }
    plan = stem_plan(folding, three, false, one, 1);
    if (plan) {
        CHECK(plan->step_count == 2 && plan->value_count == 3);
        const plan_step *conv = &plan->steps[0], *pool = &plan->steps[1];
        CHECK(conv->op == DLP_OP_CONV2D && strcmp(conv->name, "conv") == 0);
        CHECK(conv->inputs[0] == plan->input_value && pad_is(&conv->input_pad, 3, 3, 3, 3));
        CHECK(conv->input_shapes[0].h == 21 && conv->input_shapes[0].w == 19 && conv->input_shapes[0].c == 3);
        CHECK(conv->output_shape.h == 11 && conv->output_shape.w == 10); /* (21+6-7)/2+1, (19+6-7)/2+1 */
        CHECK(conv->weights[0] && conv->weight_counts[0] == 7 * 7 * 3 * 8);
        CHECK(pool->op == DLP_OP_MAX_POOL && pool->inputs[0] == conv->output && pad_is(&pool->input_pad, 1, 1, 1, 1));
        CHECK(pool->input_shapes[0].h == 11 && pool->input_shapes[0].w == 10 && pool->output_shape.h == 6);
        CHECK(plan->output_values[0] == pool->output);
        /* The conv's input stays alive through the conv (the arena does not reuse it before). */
        CHECK(plan->values[plan->input_value].last_step >= 0);
        CHECK(plan->values[conv->output].last_step >= 1);
        dlp_plan_destroy(plan);
    }
    plan = stem_plan(folding, uneven, false, one, 1);
    if (plan) { /* asymmetric before the conv: a step; the pool's still folds */
        CHECK(plan->step_count == 3 && plan->steps[0].op == DLP_OP_ZERO_PAD && plan->steps[1].op == DLP_OP_CONV2D);
        CHECK(pad_is(&plan->steps[1].input_pad, 0, 0, 0, 0) && plan->steps[1].inputs[0] == plan->steps[0].output);
        CHECK(plan->steps[2].op == DLP_OP_MAX_POOL && pad_is(&plan->steps[2].input_pad, 1, 1, 1, 1));
        dlp_plan_destroy(plan);
    }
    plan = stem_plan(folding, three, true, two, 2);
    if (plan) { /* pool_pad read by two pools: kept */
        CHECK(plan->step_count == 4 && plan->steps[1].op == DLP_OP_ZERO_PAD);
        CHECK(pad_is(&plan->steps[2].input_pad, 0, 0, 0, 0) && pad_is(&plan->steps[3].input_pad, 0, 0, 0, 0));
        dlp_plan_destroy(plan);
    }
    plan = stem_plan(folding, three, false, pad_out, 2);
    if (plan) { /* pool_pad is an output: kept */
        CHECK(plan->step_count == 3 && plan->steps[1].op == DLP_OP_ZERO_PAD);
        CHECK(pad_is(&plan->steps[2].input_pad, 0, 0, 0, 0));
        dlp_plan_destroy(plan);
    }
    dlp_backend_destroy(plain);
    dlp_backend_destroy(folding);
}

static int count_op(const dlp_plan *plan, dlp_op op)
{
    int count = 0;
    for (int s = 0; s < plan->step_count; s++) count += plan->steps[s].op == op;
    return count;
}

static const plan_step *step_named(const dlp_plan *plan, const char *name)
{
    for (int s = 0; s < plan->step_count; s++)
        if (strcmp(plan->steps[s].name, name) == 0) return &plan->steps[s];
    return NULL;
}

static dlp_plan *resnet50_plan(dlp_backend *backend)
{
    dlp_model_options options = {DLP_TOP_NONE, DLP_POOLING_AVG};
    dlp_graph *graph = NULL;
    dlp_plan *plan = NULL;
    const char *outputs[1] = {"features"};
    CHECK_OK(dlp_zoo_build("ResNet50", NULL, &options, &graph));
    if (graph) CHECK_OK(dlp_plan_create(graph, backend, 1, outputs, 1, &plan));
    dlp_graph_destroy(graph);
    return plan;
}

static void check_resnet50(void)
{
    dlp_backend *plain = NULL, *folding = NULL;
    CHECK_OK(dlp_backend_create_cpu(1, &plain));
    CHECK_OK(dlp_backend_create_cpu(1, &folding));
    if (!plain || !folding) return;
    folding->folds_zero_pad = folding_hook;
    dlp_plan *before = resnet50_plan(plain), *after = resnet50_plan(folding);
    if (before && after) {
        printf("ResNet50: %d steps, %d with the pads folded\n", before->step_count, after->step_count);
        CHECK(count_op(before, DLP_OP_ZERO_PAD) == 2 && count_op(after, DLP_OP_ZERO_PAD) == 0);
        CHECK(after->step_count == before->step_count - 2);
        const plan_step *conv1 = step_named(after, "conv1_conv"), *pool1 = step_named(after, "pool1_pool");
        CHECK(conv1 && conv1->inputs[0] == after->input_value && pad_is(&conv1->input_pad, 3, 3, 3, 3));
        CHECK(conv1 && conv1->input_shapes[0].h == 224 && conv1->input_shapes[0].c == 3 && conv1->output_shape.h == 112);
        CHECK(pool1 && conv1 && pool1->inputs[0] == conv1->output && pad_is(&pool1->input_pad, 1, 1, 1, 1));
        CHECK(pool1 && pool1->input_shapes[0].h == 112 && pool1->input_shapes[0].c == 64 && pool1->output_shape.h == 56);
    }
    dlp_plan_destroy(before), dlp_plan_destroy(after);
    dlp_backend_destroy(plain), dlp_backend_destroy(folding);
}

int main(void)
{
    check_fold_decisions();
    const dlp_zero_pad_params resnet = {3, 3, 3, 3}, axes = {1, 1, 2, 2};
    check_pads(224, 224, 7, 2, DLP_PAD_VALID, &resnet, 3, 3, 3, 3); /* ResNet50's conv1: 112 out */
    check_pads(21, 19, 7, 2, DLP_PAD_VALID, &resnet, 3, 3, 3, 3);
    check_pads(9, 8, 3, 1, DLP_PAD_VALID, &axes, 1, 1, 2, 2);
    check_pads(8, 8, 3, 2, DLP_PAD_SAME, NULL, 0, 1, 0, 1);           /* 'same' alone: TF's split */
    check_pads(8, 8, 3, 2, DLP_PAD_SAME, &axes, 1, 2, 2, 3);          /* 'same' of 10x12: 0/1 each, plus the pad */
    check_channels();
    check_plans();
    check_resnet50();
    return check_summary("pad_fold");
}

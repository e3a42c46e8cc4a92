/* test_separable_conv.c: the SeparableConv2D graph node. One node carries
 * Keras' three weights (depthwise_kernel, pointwise_kernel, bias) so it binds
 * as one layer; the plan lowers it to a depthwise step and a 1x1 conv step,
 * folding a following batch norm and fusing a ReLU into the second. Checked
 * against the same network written as separate DepthwiseConv2D and Conv2D
 * nodes (which Keras defines SeparableConv2D to be), and end to end against
 * tf-keras by test_zoo_synth's Xception. A ReLU step that only the
 * separable (or depthwise) conv reads folds into its depthwise step, with
 * the same bytes as when it runs as its own step. */
#include "check.h"
#include "dlp/dlp.h"
#include "weights/synth.h"

enum { H = 7, W = 6, CIN = 3, MULT = 2, COUT = 5, BATCH = 2 };

static void fill(dlp_graph *graph, int node, const char *slot, int k, int ndim, const int64_t *shape)
{
    size_t count = 1;
    for (int d = 0; d < ndim; d++) count *= (size_t)shape[d];
    float *data = malloc(count * sizeof(float));
    CHECK_OK(dlp_synth_fill(k, slot, shape, ndim, data));
    check_set_weight(graph, node, slot, ndim, shape, data);
    free(data);
}

/* input [-> ReLU "act"] -> separable (3x3, stride 2, 'same', bias) -> BN ->
 * ReLU, either as one node or as depthwise + 1x1 conv nodes with the same
 * weights. */
static dlp_graph *build(bool separable, bool leading_relu)
{
    dlp_graph *graph = NULL;
    int x, bn_node;
    CHECK_OK(dlp_graph_create(&graph));
    CHECK_OK(dlp_graph_input(graph, "input", (dlp_shape){H, W, CIN}, &x));
    if (leading_relu) CHECK_OK(dlp_graph_activation(graph, "act", x, DLP_ACT_RELU, &x));
    dlp_conv2d_params params = {3, 3, 2, 2, DLP_PAD_SAME, COUT, true, DLP_ACT_LINEAR};
    int64_t depthwise[4] = {3, 3, CIN, MULT}, pointwise[4] = {1, 1, CIN * MULT, COUT}, bias[1] = {COUT};
    if (separable) {
        CHECK_OK(dlp_graph_separable_conv2d(graph, "sep", x, &params, MULT, &x));
        fill(graph, x, "depthwise_kernel", 0, 4, depthwise);
        fill(graph, x, "pointwise_kernel", 0, 4, pointwise);
        fill(graph, x, "bias", 0, 1, bias);
    } else {
        dlp_conv2d_params dw = {3, 3, 2, 2, DLP_PAD_SAME, MULT, false, DLP_ACT_LINEAR};
        dlp_conv2d_params pw = {1, 1, 1, 1, DLP_PAD_VALID, COUT, true, DLP_ACT_LINEAR};
        CHECK_OK(dlp_graph_depthwise_conv2d(graph, "dw", x, &dw, &x));
        fill(graph, x, "depthwise_kernel", 0, 4, depthwise);
        CHECK_OK(dlp_graph_conv2d(graph, "pw", x, &pw, &x));
        /* dlp_graph_set_weight matches slot names: the 1x1 conv's is "kernel". */
        int64_t kernel[4] = {1, 1, CIN * MULT, COUT};
        size_t count = CIN * MULT * COUT;
        float *data = malloc(count * sizeof(float));
        CHECK_OK(dlp_synth_fill(0, "pointwise_kernel", kernel, 4, data));
        dlp_named_tensor tensor = {.name = "kernel", .dtype = DLP_DTYPE_F32, .ndim = 4, .shape = {1, 1, CIN * MULT, COUT},
                                   .element_count = count, .data = data};
        CHECK_OK(dlp_graph_set_weight(graph, x, "kernel", &tensor));
        free(data);
        fill(graph, x, "bias", 0, 1, bias);
    }
    dlp_batchnorm_params bn = {1e-3f, true, true};
    CHECK_OK(dlp_graph_batchnorm(graph, "bn", x, &bn, &bn_node));
    int64_t channels[1] = {COUT};
    const char *slots[4] = {"gamma", "beta", "moving_mean", "moving_variance"};
    for (int s = 0; s < 4; s++) fill(graph, bn_node, slots[s], 1, 1, channels);
    CHECK_OK(dlp_graph_activation(graph, "relu", bn_node, DLP_ACT_RELU, &x));
    return graph;
}

/* Output "relu"; keep_act: "act" is an output too (so it stays a step). */
static float *run(dlp_graph *graph, dlp_backend *cpu, const float *input, bool keep_act, int *steps)
{
    const char *outputs[2] = {"relu", "act"};
    dlp_plan *plan = NULL;
    CHECK_OK(dlp_plan_create(graph, cpu, BATCH, outputs, keep_act ? 2 : 1, &plan));
    if (!plan) return NULL;
    dlp_shape shape = dlp_plan_output_shape(plan, 0);
    CHECK(shape.h == 4 && shape.w == 3 && shape.c == COUT);
    size_t floats = dlp_shape_elements(shape) * BATCH;
    float *out = malloc(floats * sizeof(float));
    CHECK_OK(dlp_plan_run(plan, input, BATCH));
    CHECK_OK(dlp_plan_read_output(plan, 0, out, floats));
    *steps = dlp_plan_step_count(plan);
    dlp_plan_destroy(plan);
    return out;
}

int main(void)
{
    dlp_backend *cpu = NULL;
    CHECK_OK(dlp_backend_create_cpu(1, &cpu));
    dlp_graph *separable = build(true, false), *reference = build(false, false);
    int node = dlp_graph_find(separable, "sep");
    CHECK(dlp_graph_node_op(separable, node) == DLP_OP_SEPARABLE_CONV2D);
    CHECK(!strcmp(dlp_op_name(DLP_OP_SEPARABLE_CONV2D), "SeparableConv2D"));
    dlp_shape shape = dlp_graph_node_shape(separable, node);
    CHECK(shape.h == 4 && shape.w == 3 && shape.c == COUT);
    int order[4], count = 0;
    CHECK_OK(dlp_graph_keras_weight_order(separable, order, 4, &count));
    CHECK(count == 2 && order[0] == node); /* one weight-bearing layer, then the batch norm */

    float input[BATCH * H * W * CIN];
    int64_t input_shape[1] = {BATCH * H * W * CIN};
    CHECK_OK(dlp_synth_fill(7, "bias", input_shape, 1, input));
    int separable_steps = 0, reference_steps = 0;
    float *a = run(separable, cpu, input, false, &separable_steps);
    float *b = run(reference, cpu, input, false, &reference_steps);
    CHECK(separable_steps == 2 && reference_steps == 2); /* BN folded, ReLU fused */
    double worst = 0, scale = 0;
    for (int i = 0; a && b && i < BATCH * 4 * 3 * COUT; i++) {
        worst = fmax(worst, fabs(a[i] - b[i]));
        scale = fmax(scale, fabs(b[i]));
    }
    printf("separable vs depthwise + 1x1: largest difference %.3g (largest value %.3g)\n", worst, scale);
    CHECK(a && b && scale > 0 && worst <= 1e-6 * scale);
    free(a), free(b);

    /* A leading ReLU folds into the depthwise step (2 steps, not 3), of
     * either form, and gives the bytes it gives as a step of its own (kept
     * as a plan output, it does not fold). */
    int negatives = 0;
    for (int i = 0; i < BATCH * H * W * CIN; i++) negatives += input[i] < 0;
    CHECK(negatives > 0);
    for (int form = 0; form < 2; form++) {
        dlp_graph *graph = build(form == 0, true);
        int folded_steps = 0, kept_steps = 0;
        float *folded = run(graph, cpu, input, false, &folded_steps), *kept = run(graph, cpu, input, true, &kept_steps);
        CHECK(folded_steps == 2 && kept_steps == 3);
        CHECK(folded && kept && !memcmp(folded, kept, (size_t)BATCH * 4 * 3 * COUT * sizeof(float)));
        free(folded), free(kept);
        dlp_graph_destroy(graph);
    }

    /* A wrong weight shape names the layer, slot and shapes. */
    float zeros[3 * 3 * 4 * MULT] = {0};
    dlp_named_tensor wrong = {.name = "sep/depthwise_kernel", .dtype = DLP_DTYPE_F32, .ndim = 4,
                              .shape = {3, 3, 4, MULT}, .element_count = 3 * 3 * 4 * MULT, .data = zeros};
    CHECK_FAILS(dlp_graph_set_weight(separable, node, "depthwise_kernel", &wrong), DLP_ERR_MODEL,
                "expected shape [3, 3, 3, 2], found [3, 3, 4, 2]");
    dlp_conv2d_params params = {3, 3, 1, 1, DLP_PAD_SAME, COUT, false, DLP_ACT_LINEAR};
    int bad;
    CHECK_FAILS(dlp_graph_separable_conv2d(separable, "sep2", 0, &params, 0, &bad), DLP_ERR_INVALID_ARGUMENT,
                "depth multiplier 0");
    params.kernel_h = 9;
    params.padding = DLP_PAD_VALID;
    CHECK_FAILS(dlp_graph_separable_conv2d(separable, "sep3", 0, &params, 1, &bad), DLP_ERR_MODEL, "does not fit");
    CHECK(dlp_graph_find(separable, "sep3") < 0);
    dlp_graph_destroy(separable);
    dlp_graph_destroy(reference);
    dlp_backend_destroy(cpu);
    return check_summary("separable_conv");
}

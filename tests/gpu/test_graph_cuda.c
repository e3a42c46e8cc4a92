/* The CUDA graph backend op by op against the CPU backend (itself checked
 * against naive loops and TensorFlow in unit.ops_cpu / unit.graph): each case
 * is a one-op graph (plus what feeds it) on fresh random inputs, run at
 * batch 1, 37, 5 and 1 again (the plan's max is 37; 5 exercises a second
 * algorithm choice); the host buffer is NaN-filled before each read and the device
 * arena starts NaN-filled, so unwritten outputs fail. Relative L2 per case:
 *   fp32 (heuristic algorithms, unfused, as the defaults): <= 1e-5;
 *   fp32 with timed algorithms and fused conv+bias+activation: <= 1e-4 (other
 *     algorithms sum in another order; the fp32 model tolerance);
 *   fp32 and fp16 with CUDA graphs: each batch size run 3 times (launched,
 *     recorded into a graph, replayed) on fresh inputs, same bounds;
 *   fp16: <= 1e-2 and bf16: <= 2e-2, both modes. Why: inputs, weights and
 *     every stored activation are rounded to the half type (unit roundoff
 *     u = 2^-11 for fp16, 2^-8 for bf16) while sums are fp32, so each output
 *     carries a few roundings of relative size ~u/sqrt(3) each, ~2u in all
 *     (1e-3 fp16, 8e-3 bf16); the bounds leave 10x (fp16) and 2.5x (bf16,
 *     the whole-model bound) for outputs that amplify their inputs'
 *     error (softmax of logits ~2-5, sums with partial cancellation).
 * The residual cases are ResNet's block ending (conv -> add -> relu) and
 * Xception's (conv -> add), one fused cuDNN call in the fused modes. The relu -> depthwise cases plan as
 * one depthwise step reading through the ReLU (checked), on both backends. The stem cases: a ZeroPadding2D
 * before a 'valid' conv (folded into cuDNN's padding when symmetric, a step
 * of its own otherwise) or pooling (folded: the padded taps are zeros; inputs
 * shifted negative, where a -inf padding would give other maxima), convs on
 * 3 and 5 input channels (half: padded to 8 channels), channel counts that
 * are and are not multiples of the kernels' vector width (8 half, 4 float),
 * odd sizes, and ResNet50's stem in small; mode fp16-plain-stem (heuristic,
 * fused) runs the half path with both stem switches off (keep_zero_pad_steps,
 * keep_conv_channels), as the ablation does. The "-slices" modes
 * (concat_slices) plan concatenation inputs as slices of the output: the
 * concat and mixed-block cases (a nested concatenation, 1x1/3x3/1x3/3x1
 * convs, max and avg pools, a softmax branch and the input that stay
 * copies) then check strided cuDNN outputs, GEMMs with ldc and the strided
 * pool and bias kernels against the CPU (whose slices unit.concat_slices
 * checks bit for bit against copying); the "-packed-slices" modes take the
 * fallback for convs cuDNN will not write strided (DLP_CUDA_PACKED_SLICES:
 * written packed, then copied into the slice). DLP_GRAPH_CUDA_MODES and
 * DLP_GRAPH_CUDA_CASES (parts of case labels) pick a subset. Also the
 * backend's clean failures: no device, a half plan with an op that has no
 * half kernel, and the half arena's size (half the fp32 bytes). */
#include <math.h>

#include "check.h"
#include "dlp/device.h"
#include "dlp/dlp.h"
#include "graph/plan_internal.h"

enum { MAX_BATCH = 37 };

typedef enum case_kind { K_CONV, K_DEPTHWISE, K_DENSE, K_BATCHNORM, K_ACTIVATION, K_POOL, K_GLOBAL, K_CONCAT, K_ADD,
                         K_ZERO_PAD, K_RESIDUAL, K_RESIDUAL_ADD, K_PAD_CONV, K_PAD_POOL, K_STEM, K_MIXED,
                         K_RELU_DEPTHWISE } case_kind;

typedef struct op_case {
    const char *label;
    case_kind kind;
    dlp_shape input;
    dlp_conv2d_params conv;   /* K_CONV, K_DEPTHWISE, K_RELU_DEPTHWISE */
    dlp_pool_params pool;     /* K_POOL */
    dlp_op op;                /* K_POOL, K_GLOBAL */
    dlp_activation activation;/* K_ACTIVATION, K_DENSE */
    int units;                /* K_DENSE */
    dlp_zero_pad_params pad;  /* K_ZERO_PAD, K_PAD_CONV, K_PAD_POOL */
    float offset;             /* added to the random inputs (uniform in [-1, 1)) */
} op_case;

static unsigned rng_state = 12345u;

static float uniform(void)
{
    rng_state = rng_state * 1664525u + 1013904223u;
    return (float)(rng_state >> 8) / (float)(1u << 24) * 2.0f - 1.0f;
}

static void set_random(dlp_graph *graph, int node, const char *slot, int ndim, const int64_t *shape, float offset)
{
    size_t count = 1;
    for (int d = 0; d < ndim; d++) count *= (size_t)shape[d];
    float *data = malloc(count * sizeof(float));
    for (size_t i = 0; i < count; i++) data[i] = uniform() + offset;
    check_set_weight(graph, node, slot, ndim, shape, data);
    free(data);
}

static void conv_weights(dlp_graph *graph, int node, const dlp_conv2d_params *p, int cin, int depthwise)
{
    int64_t kernel[4] = {p->kernel_h, p->kernel_w, cin, p->filters};
    set_random(graph, node, depthwise ? "depthwise_kernel" : "kernel", 4, kernel, 0.0f);
    int64_t bias[1] = {depthwise ? (int64_t)cin * p->filters : p->filters};
    if (p->use_bias) set_random(graph, node, "bias", 1, bias, 0.0f);
}

static int pointwise(dlp_graph *graph, const char *name, int input, int cin, int filters, dlp_activation act)
{
    dlp_conv2d_params p = {1, 1, 1, 1, DLP_PAD_SAME, filters, true, act};
    int node = -1;
    CHECK_OK(dlp_graph_conv2d(graph, name, input, &p, &node));
    conv_weights(graph, node, &p, cin, 0);
    return node;
}

static int conv_node(dlp_graph *graph, const char *name, int input, int cin, int kh, int kw, int filters,
                     dlp_activation act)
{
    dlp_conv2d_params p = {kh, kw, 1, 1, DLP_PAD_SAME, filters, true, act};
    int node = -1;
    CHECK_OK(dlp_graph_conv2d(graph, name, input, &p, &node));
    conv_weights(graph, node, &p, cin, 0);
    return node;
}

/* An Inception block in small (units u): op = concat(1x1 u relu, inner =
 * concat(1x3 u linear, 3x1 u relu) of a 3x3 u relu, max pool, avg pool ->
 * 1x1 u relu, 1x1 8 softmax, the input). With concat_slices and channels
 * that keep 16-byte alignment (u and the input's a multiple of 8) every
 * input but the softmax conv and the input is written in place, inner into
 * op's buffer; otherwise (u 5, 3 input channels) everything is copied. */
static int mixed_block(dlp_graph *graph, int input, int cin, int u)
{
    dlp_pool_params p = {3, 3, 1, 1, DLP_PAD_SAME};
    int a = pointwise(graph, "branch_a", input, cin, u, DLP_ACT_RELU);
    int b = conv_node(graph, "branch_b", input, cin, 3, 3, u, DLP_ACT_RELU);
    int b1 = conv_node(graph, "branch_b1", b, u, 1, 3, u, DLP_ACT_LINEAR);
    int b2 = conv_node(graph, "branch_b2", b, u, 3, 1, u, DLP_ACT_RELU);
    int inner = -1, max_pool = -1, avg_pool = -1, node = -1;
    CHECK_OK(dlp_graph_concat(graph, "inner", (int[]){b1, b2}, 2, &inner));
    CHECK_OK(dlp_graph_pool(graph, "branch_max", DLP_OP_MAX_POOL, input, &p, &max_pool));
    CHECK_OK(dlp_graph_pool(graph, "branch_avg", DLP_OP_AVG_POOL, input, &p, &avg_pool));
    int d = pointwise(graph, "branch_d", avg_pool, cin, u, DLP_ACT_RELU);
    int e = pointwise(graph, "branch_e", input, cin, 8, DLP_ACT_SOFTMAX);
    CHECK_OK(dlp_graph_concat(graph, "op", (int[]){a, inner, max_pool, d, e, input}, 6, &node));
    return node;
}

/* The graph of one case; its last node is named "op". */
static dlp_graph *build_case(const op_case *c)
{
    dlp_graph *graph = NULL;
    CHECK_OK(dlp_graph_create(&graph));
    int input = -1, node = -1, cin = c->input.c;
    CHECK_OK(dlp_graph_input(graph, "input_1", c->input, &input));
    switch (c->kind) {
    case K_CONV:
        CHECK_OK(dlp_graph_conv2d(graph, "op", input, &c->conv, &node));
        conv_weights(graph, node, &c->conv, cin, 0);
        break;
    case K_DEPTHWISE:
        CHECK_OK(dlp_graph_depthwise_conv2d(graph, "op", input, &c->conv, &node));
        conv_weights(graph, node, &c->conv, cin, 1);
        break;
    case K_RELU_DEPTHWISE: {
        /* The ReLU folds into the depthwise step (Xception's ReLU -> SeparableConv2D). */
        int relu = -1;
        CHECK_OK(dlp_graph_activation(graph, "relu", input, DLP_ACT_RELU, &relu));
        CHECK_OK(dlp_graph_depthwise_conv2d(graph, "op", relu, &c->conv, &node));
        conv_weights(graph, node, &c->conv, cin, 1);
        break;
    }
    case K_DENSE: {
        int flat = -1;
        CHECK_OK(dlp_graph_unary(graph, "flatten", DLP_OP_FLATTEN, input, &flat));
        dlp_dense_params p = {c->units, true, c->activation};
        CHECK_OK(dlp_graph_dense(graph, "op", flat, &p, &node));
        size_t features = dlp_shape_elements(c->input);
        set_random(graph, node, "kernel", 2, (int64_t[]){(int64_t)features, c->units}, 0.0f);
        set_random(graph, node, "bias", 1, (int64_t[]){c->units}, 0.0f);
        break;
    }
    case K_BATCHNORM: {
        /* Directly on the input: nothing to fold into, the unfolded step runs. */
        dlp_batchnorm_params p = {1e-3f, true, true};
        CHECK_OK(dlp_graph_batchnorm(graph, "op", input, &p, &node));
        int64_t shape[1] = {cin};
        set_random(graph, node, "gamma", 1, shape, 1.0f);
        set_random(graph, node, "beta", 1, shape, 0.0f);
        set_random(graph, node, "moving_mean", 1, shape, 0.0f);
        set_random(graph, node, "moving_variance", 1, shape, 1.5f);
        break;
    }
    case K_ACTIVATION: CHECK_OK(dlp_graph_activation(graph, "op", input, c->activation, &node)); break;
    case K_POOL: CHECK_OK(dlp_graph_pool(graph, "op", c->op, input, &c->pool, &node)); break;
    case K_GLOBAL: CHECK_OK(dlp_graph_unary(graph, "op", c->op, input, &node)); break;
    case K_CONCAT: {
        /* units: the branches' widths units and 2 x units (offsets multiples of it), else 5 and 1. */
        int a = pointwise(graph, "branch_a", input, cin, c->units ? c->units : 5, DLP_ACT_RELU);
        int b = pointwise(graph, "branch_b", input, cin, c->units ? 2 * c->units : 1, DLP_ACT_LINEAR);
        dlp_pool_params p = {3, 3, 1, 1, DLP_PAD_SAME};
        int pool = -1;
        CHECK_OK(dlp_graph_pool(graph, "branch_pool", DLP_OP_MAX_POOL, input, &p, &pool));
        CHECK_OK(dlp_graph_concat(graph, "op", (int[]){a, pool, b, input}, 4, &node));
        break;
    }
    case K_ADD: {
        int a = pointwise(graph, "branch_a", input, cin, cin, DLP_ACT_RELU);
        int b = -1;
        CHECK_OK(dlp_graph_activation(graph, "branch_b", input, DLP_ACT_TANH, &b));
        CHECK_OK(dlp_graph_add(graph, "op", (int[]){a, input, b}, 3, &node));
        break;
    }
    case K_ZERO_PAD: CHECK_OK(dlp_graph_zero_pad(graph, "op", input, &c->pad, &node)); break;
    case K_PAD_CONV: {
        int padded = -1;
        CHECK_OK(dlp_graph_zero_pad(graph, "pad", input, &c->pad, &padded));
        CHECK_OK(dlp_graph_conv2d(graph, "op", padded, &c->conv, &node));
        conv_weights(graph, node, &c->conv, cin, 0);
        break;
    }
    case K_PAD_POOL: {
        int padded = -1;
        CHECK_OK(dlp_graph_zero_pad(graph, "pad", input, &c->pad, &padded));
        CHECK_OK(dlp_graph_pool(graph, "op", c->op, padded, &c->pool, &node));
        break;
    }
    case K_STEM: {
        /* ResNet50's: pad 3, conv 7x7 s2 valid + relu, pad 1, max pool 3x3 s2 valid. */
        int pad1 = -1, conv = -1, pad2 = -1;
        dlp_zero_pad_params three = {3, 3, 3, 3}, one = {1, 1, 1, 1};
        CHECK_OK(dlp_graph_zero_pad(graph, "conv1_pad", input, &three, &pad1));
        CHECK_OK(dlp_graph_conv2d(graph, "conv1_conv", pad1, &c->conv, &conv));
        conv_weights(graph, conv, &c->conv, cin, 0);
        CHECK_OK(dlp_graph_zero_pad(graph, "pool1_pad", conv, &one, &pad2));
        CHECK_OK(dlp_graph_pool(graph, "op", DLP_OP_MAX_POOL, pad2, &c->pool, &node));
        break;
    }
    case K_MIXED: node = mixed_block(graph, input, cin, c->units); break;
    case K_RESIDUAL:
    case K_RESIDUAL_ADD: {
        /* ResNet's block ending: relu(conv(x) + shortcut), or Xception's:
         * conv(x) + shortcut; units > 0: the conv reads a pointwise relu of
         * the input to that many channels (a bottleneck), else the input
         * itself. */
        int x = c->units ? pointwise(graph, "reduce", input, cin, c->units, DLP_ACT_RELU) : input, branch = -1, add = -1;
        CHECK_OK(dlp_graph_conv2d(graph, "branch", x, &c->conv, &branch));
        conv_weights(graph, branch, &c->conv, c->units ? c->units : cin, 0);
        CHECK_OK(dlp_graph_add(graph, c->kind == K_RESIDUAL ? "add" : "op", (int[]){branch, input}, 2, &add));
        if (c->kind == K_RESIDUAL) CHECK_OK(dlp_graph_activation(graph, "op", add, DLP_ACT_RELU, &node));
        else node = add;
        break;
    }
    }
    return graph;
}

static double relative_l2(const float *actual, const float *expected, size_t count)
{
    double diff = 0, norm = 0;
    for (size_t i = 0; i < count; i++) {
        double d = (double)actual[i] - expected[i];
        diff += d * d;
        norm += (double)expected[i] * expected[i];
    }
    if (norm == 0) return diff == 0 ? 0 : INFINITY;
    return sqrt(diff / norm); /* NaN anywhere makes this NaN: the check fails */
}

static double worst_error;

static int repeats = 1; /* runs per batch size: 3 with CUDA graphs (launched, recorded, replayed) */
static bool fused_mode; /* the mode fuses conv+bias+activation (and residual endings) */
static bool packed_slices; /* the mode sets DLP_CUDA_PACKED_SLICES */

static void run_case(const op_case *c, dlp_backend *cpu, dlp_backend *gpu, double tolerance)
{
    dlp_graph *graph = build_case(c);
    dlp_plan *plan_cpu = NULL, *plan_gpu = NULL;
    const char *outputs[1] = {"op"};
    CHECK_OK(dlp_plan_create(graph, cpu, MAX_BATCH, outputs, 1, &plan_cpu));
    CHECK_OK(dlp_plan_create(graph, gpu, MAX_BATCH, outputs, 1, &plan_gpu));
    dlp_graph_destroy(graph);
    if (!plan_cpu || !plan_gpu) {
        fprintf(stderr, "case %s: no plan\n", c->label);
        dlp_plan_destroy(plan_cpu), dlp_plan_destroy(plan_gpu);
        return;
    }
    size_t in_floats = dlp_shape_elements(c->input), out_floats = dlp_shape_elements(dlp_plan_output_shape(plan_cpu, 0));
    float *input = malloc(in_floats * MAX_BATCH * sizeof(float));
    float *want = malloc(out_floats * MAX_BATCH * sizeof(float)), *got = malloc(out_floats * MAX_BATCH * sizeof(float));
    /* 1 again at the end: with graphs, batch 1's graph replays after batch 5
     * chose its algorithms (which may have grown a buffer the graph uses). */
    const int batches[4] = {1, MAX_BATCH, 5, 1};
    for (int t = 0; t < 4 * repeats; t++) {
        int n = batches[t / repeats];
        size_t count = out_floats * (size_t)n;
        for (size_t i = 0; i < in_floats * (size_t)n; i++) input[i] = uniform() + c->offset;
        for (size_t i = 0; i < count; i++) want[i] = got[i] = NAN;
        CHECK_OK(dlp_plan_run(plan_cpu, input, n));
        CHECK_OK(dlp_plan_read_output(plan_cpu, 0, want, count));
        CHECK_OK(dlp_plan_run(plan_gpu, input, n));
        CHECK_OK(dlp_plan_read_output(plan_gpu, 0, got, count));
        double error = relative_l2(got, want, count);
        printf("%-44s batch %2d: rel-L2 %.3g\n", c->label, n, error);
        CHECK(error <= tolerance);
        if (!(error <= worst_error)) worst_error = error;
    }
    /* Convs cuDNN would not write into their slices (or all, with
     * DLP_CUDA_PACKED_SLICES): written packed, then copied. The aligned
     * mixed block has two cuDNN convs in slices (1x3, 3x1) whatever the mode. */
    if (plan_gpu->slices_copied)
        printf("%-44s %d slices written packed and copied\n", c->label, plan_gpu->slices_copied);
    if (plan_gpu->fusions_refused)
        printf("%-44s %d fused calls refused, run unfused\n", c->label, plan_gpu->fusions_refused);
    if (packed_slices && c->kind == K_MIXED && c->units % 8 == 0) CHECK(plan_gpu->slices_copied >= 2);
    if (c->kind == K_RELU_DEPTHWISE) CHECK(dlp_plan_step_count(plan_gpu) == 1 && plan_gpu->steps[0].input_relu);
    /* Fused modes run every residual ending as one cuDNN call (the planner keeps its output clear of the conv's input),
     * and still do after the runs above: no fallback to conv + add (+ relu) for want of an algorithm or a refusal. */
    if (c->kind == K_RESIDUAL || c->kind == K_RESIDUAL_ADD) {
        printf("%-44s %d residual endings fused, %d of them unfused since\n", c->label, plan_gpu->residuals_fused,
               plan_gpu->residuals_unfused);
        CHECK(plan_gpu->residuals_fused == (fused_mode ? 1 : 0));
        CHECK(plan_gpu->residuals_unfused == 0);
    }
    free(input), free(want), free(got);
    dlp_plan_destroy(plan_cpu), dlp_plan_destroy(plan_gpu);
}

#define CONV(kh, kw, sh, sw, pad, f, bias, act) .conv = {kh, kw, sh, sw, pad, f, bias, act}
#define POOL(ph, pw, sh, sw, pad) .pool = {ph, pw, sh, sw, pad}

static const op_case cases[] = {
    {"conv 3x3 s1 same relu 9x7x3->8", K_CONV, {9, 7, 3}, CONV(3, 3, 1, 1, DLP_PAD_SAME, 8, true, DLP_ACT_RELU)},
    {"conv 3x3 s2 same (odd pad) 8x8x4->6", K_CONV, {8, 8, 4}, CONV(3, 3, 2, 2, DLP_PAD_SAME, 6, true, DLP_ACT_LINEAR)},
    {"conv 3x3 s2 same (odd pad) 11x13x5->7", K_CONV, {11, 13, 5}, CONV(3, 3, 2, 2, DLP_PAD_SAME, 7, false, DLP_ACT_RELU)},
    {"conv 3x3 s2 valid 35x35x3->32", K_CONV, {35, 35, 3}, CONV(3, 3, 2, 2, DLP_PAD_VALID, 32, false, DLP_ACT_RELU)},
    {"conv 5x5 s1 valid 12x10x6->9", K_CONV, {12, 10, 6}, CONV(5, 5, 1, 1, DLP_PAD_VALID, 9, true, DLP_ACT_TANH)},
    {"conv 1x7 s1 same 17x17x16->12", K_CONV, {17, 17, 16}, CONV(1, 7, 1, 1, DLP_PAD_SAME, 12, true, DLP_ACT_RELU)},
    {"conv 7x1 s1 same 17x17x12->16", K_CONV, {17, 17, 12}, CONV(7, 1, 1, 1, DLP_PAD_SAME, 16, true, DLP_ACT_RELU)},
    {"conv 2x2 s1 same (even kernel) 6x5x3->4", K_CONV, {6, 5, 3}, CONV(2, 2, 1, 1, DLP_PAD_SAME, 4, true, DLP_ACT_SIGMOID)},
    {"conv 7x7 s2 same (pad 2/3) 23x24x3->8", K_CONV, {23, 24, 3}, CONV(7, 7, 2, 2, DLP_PAD_SAME, 8, true, DLP_ACT_RELU6)},
    {"conv 1x1 s1 (gemm) 13x11x24->10", K_CONV, {13, 11, 24}, CONV(1, 1, 1, 1, DLP_PAD_VALID, 10, true, DLP_ACT_RELU)},
    {"conv 1x1 s2 (cudnn) 9x9x8->5", K_CONV, {9, 9, 8}, CONV(1, 1, 2, 2, DLP_PAD_SAME, 5, true, DLP_ACT_LINEAR)},
    {"conv 3x3 s1 same softmax 5x5x4->6", K_CONV, {5, 5, 4}, CONV(3, 3, 1, 1, DLP_PAD_SAME, 6, true, DLP_ACT_SOFTMAX)},
    {"conv 3x3 s1 valid 8x8x64->96", K_CONV, {8, 8, 64}, CONV(3, 3, 1, 1, DLP_PAD_VALID, 96, false, DLP_ACT_RELU)},
    {"depthwise 3x3 s1 same 9x7x5 x1", K_DEPTHWISE, {9, 7, 5}, CONV(3, 3, 1, 1, DLP_PAD_SAME, 1, true, DLP_ACT_RELU)},
    {"depthwise 3x3 s2 same 10x11x4 x2", K_DEPTHWISE, {10, 11, 4}, CONV(3, 3, 2, 2, DLP_PAD_SAME, 2, true, DLP_ACT_LINEAR)},
    {"depthwise 5x5 s2 valid 13x13x3 x3", K_DEPTHWISE, {13, 13, 3}, CONV(5, 5, 2, 2, DLP_PAD_VALID, 3, false, DLP_ACT_RELU6)},
    /* Multiplier 1 on a multiple of 8 channels: the vector kernels, 3x3 (Xception's separable convs) and any size. */
    {"depthwise 3x3 s1 same 9x7x16 x1", K_DEPTHWISE, {9, 7, 16}, CONV(3, 3, 1, 1, DLP_PAD_SAME, 1, true, DLP_ACT_RELU)},
    {"depthwise 3x3 s2 same 11x10x24 x1", K_DEPTHWISE, {11, 10, 24}, CONV(3, 3, 2, 2, DLP_PAD_SAME, 1, false, DLP_ACT_LINEAR)},
    {"depthwise 3x3 s1 valid 6x5x8 x1", K_DEPTHWISE, {6, 5, 8}, CONV(3, 3, 1, 1, DLP_PAD_VALID, 1, true, DLP_ACT_LINEAR)},
    {"depthwise 5x5 s2 same 13x11x8 x1", K_DEPTHWISE, {13, 11, 8}, CONV(5, 5, 2, 2, DLP_PAD_SAME, 1, true, DLP_ACT_RELU)},
    {"depthwise 3x1 s1 same 7x9x16 x1", K_DEPTHWISE, {7, 9, 16}, CONV(3, 1, 1, 1, DLP_PAD_SAME, 1, false, DLP_ACT_LINEAR)},
    /* A ReLU folded in (inputs in [-1, 1): half of them negative), scalar and vector kernels. */
    {"relu -> depthwise 3x3 s1 same 9x7x5 x2", K_RELU_DEPTHWISE, {9, 7, 5},
     CONV(3, 3, 1, 1, DLP_PAD_SAME, 2, true, DLP_ACT_LINEAR)},
    {"relu -> depthwise 3x3 s1 same 19x17x16 x1", K_RELU_DEPTHWISE, {19, 17, 16},
     CONV(3, 3, 1, 1, DLP_PAD_SAME, 1, false, DLP_ACT_LINEAR)},
    {"dense 3x2x7->5 softmax", K_DENSE, {3, 2, 7}, .units = 5, .activation = DLP_ACT_SOFTMAX},
    {"dense 1x1x300->129 relu", K_DENSE, {1, 1, 300}, .units = 129, .activation = DLP_ACT_RELU},
    {"batchnorm (unfolded) 7x9x6", K_BATCHNORM, {7, 9, 6}, .units = 0},
    {"activation relu 5x6x7", K_ACTIVATION, {5, 6, 7}, .activation = DLP_ACT_RELU},
    {"activation relu6 5x6x7", K_ACTIVATION, {5, 6, 7}, .activation = DLP_ACT_RELU6},
    {"activation sigmoid 5x6x7", K_ACTIVATION, {5, 6, 7}, .activation = DLP_ACT_SIGMOID},
    {"activation tanh 5x6x7", K_ACTIVATION, {5, 6, 7}, .activation = DLP_ACT_TANH},
    {"activation softmax 3x4x1000", K_ACTIVATION, {3, 4, 1000}, .activation = DLP_ACT_SOFTMAX},
    {"max pool 3x3 s2 valid 15x15x5", K_POOL, {15, 15, 5}, POOL(3, 3, 2, 2, DLP_PAD_VALID), .op = DLP_OP_MAX_POOL},
    {"max pool 3x3 s1 same 8x7x3", K_POOL, {8, 7, 3}, POOL(3, 3, 1, 1, DLP_PAD_SAME), .op = DLP_OP_MAX_POOL},
    {"max pool 2x2 s2 same 9x11x4", K_POOL, {9, 11, 4}, POOL(2, 2, 2, 2, DLP_PAD_SAME), .op = DLP_OP_MAX_POOL},
    {"avg pool 3x3 s1 same 8x7x3", K_POOL, {8, 7, 3}, POOL(3, 3, 1, 1, DLP_PAD_SAME), .op = DLP_OP_AVG_POOL},
    {"avg pool 3x3 s2 same 9x10x6", K_POOL, {9, 10, 6}, POOL(3, 3, 2, 2, DLP_PAD_SAME), .op = DLP_OP_AVG_POOL},
    {"avg pool 2x2 s2 valid 9x9x2", K_POOL, {9, 9, 2}, POOL(2, 2, 2, 2, DLP_PAD_VALID), .op = DLP_OP_AVG_POOL},
    {"global avg pool 7x5x9", K_GLOBAL, {7, 5, 9}, .op = DLP_OP_GLOBAL_AVG_POOL},
    {"global max pool 7x5x9", K_GLOBAL, {7, 5, 9}, .op = DLP_OP_GLOBAL_MAX_POOL},
    {"concat (conv, pool, conv, input) 6x5x3", K_CONCAT, {6, 5, 3}, .units = 0},
    {"add (conv, input, tanh) 5x7x4", K_ADD, {5, 7, 4}, .units = 0},
    {"zero pad 1/2/0/3 5x4x3", K_ZERO_PAD, {5, 4, 3}, .pad = {1, 2, 0, 3}},
    /* Fused in the fused modes (checked); the last two without the relu (Xception's). */
    {"residual relu(conv3x3(x)+x) 9x7x8", K_RESIDUAL, {9, 7, 8}, CONV(3, 3, 1, 1, DLP_PAD_SAME, 8, true, DLP_ACT_LINEAR)},
    {"residual relu(conv3x3(1x1 to 4)+x) 6x5x16", K_RESIDUAL, {6, 5, 16},
     CONV(3, 3, 1, 1, DLP_PAD_SAME, 16, true, DLP_ACT_LINEAR), .units = 4},
    {"residual relu(conv1x1(1x1 to 16)+x) 6x5x16", K_RESIDUAL, {6, 5, 16},
     CONV(1, 1, 1, 1, DLP_PAD_VALID, 16, true, DLP_ACT_LINEAR), .units = 16},
    {"residual conv3x3(x)+x 9x7x8", K_RESIDUAL_ADD, {9, 7, 8}, CONV(3, 3, 1, 1, DLP_PAD_SAME, 8, true, DLP_ACT_LINEAR)},
    {"residual conv1x1(1x1 to 16)+x 6x5x16", K_RESIDUAL_ADD, {6, 5, 16},
     CONV(1, 1, 1, 1, DLP_PAD_VALID, 16, true, DLP_ACT_LINEAR), .units = 16},
    /* Stem: pads folded or not, channels padded in half, vector or scalar kernels. */
    {"pad 3 + conv 7x7 s2 valid 23x20x3->16", K_PAD_CONV, {23, 20, 3},
     CONV(7, 7, 2, 2, DLP_PAD_VALID, 16, true, DLP_ACT_RELU), .pad = {3, 3, 3, 3}},
    {"pad 1/1/2/2 + conv 3x3 s2 valid 11x13x5->8", K_PAD_CONV, {11, 13, 5},
     CONV(3, 3, 2, 2, DLP_PAD_VALID, 8, true, DLP_ACT_LINEAR), .pad = {1, 1, 2, 2}},
    {"pad 1 + conv 3x3 s1 valid 9x7x16->8", K_PAD_CONV, {9, 7, 16},
     CONV(3, 3, 1, 1, DLP_PAD_VALID, 8, false, DLP_ACT_RELU), .pad = {1, 1, 1, 1}},
    {"pad 1 + conv 1x1 s1 valid 6x5x3->8", K_PAD_CONV, {6, 5, 3},
     CONV(1, 1, 1, 1, DLP_PAD_VALID, 8, true, DLP_ACT_RELU), .pad = {1, 1, 1, 1}},
    {"pad 0/1/0/1 (asym) + conv 3x3 s2 valid 9x8x5->8", K_PAD_CONV, {9, 8, 5},
     CONV(3, 3, 2, 2, DLP_PAD_VALID, 8, true, DLP_ACT_RELU), .pad = {0, 1, 0, 1}},
    {"pad 2/1/1/0 (asym) + conv 3x3 s1 valid 7x6x8->4", K_PAD_CONV, {7, 6, 8},
     CONV(3, 3, 1, 1, DLP_PAD_VALID, 4, true, DLP_ACT_LINEAR), .pad = {2, 1, 1, 0}},
    {"pad 1 + conv 3x3 s1 same (no fold) 7x6x3->4", K_PAD_CONV, {7, 6, 3},
     CONV(3, 3, 1, 1, DLP_PAD_SAME, 4, true, DLP_ACT_RELU), .pad = {1, 1, 1, 1}},
    {"conv 5x5 s1 same 9x9x5->8", K_CONV, {9, 9, 5}, CONV(5, 5, 1, 1, DLP_PAD_SAME, 8, true, DLP_ACT_RELU)},
    {"conv 1x1 s1 9x7x3->16", K_CONV, {9, 7, 3}, CONV(1, 1, 1, 1, DLP_PAD_VALID, 16, true, DLP_ACT_LINEAR)},
    {"pad 1 + max pool 3x3 s2 valid 15x14x64 (negative)", K_PAD_POOL, {15, 14, 64}, POOL(3, 3, 2, 2, DLP_PAD_VALID),
     .op = DLP_OP_MAX_POOL, .pad = {1, 1, 1, 1}, .offset = -1.5f},
    {"pad 1 + max pool 3x3 s2 valid 13x11x5 (negative)", K_PAD_POOL, {13, 11, 5}, POOL(3, 3, 2, 2, DLP_PAD_VALID),
     .op = DLP_OP_MAX_POOL, .pad = {1, 1, 1, 1}, .offset = -1.5f},
    {"pad 1 + max pool 3x3 s2 valid 12x9x16", K_PAD_POOL, {12, 9, 16}, POOL(3, 3, 2, 2, DLP_PAD_VALID),
     .op = DLP_OP_MAX_POOL, .pad = {1, 1, 1, 1}, .offset = -0.5f},
    {"pad 0/1/0/1 + max pool 2x2 s2 valid 9x9x12 (negative)", K_PAD_POOL, {9, 9, 12}, POOL(2, 2, 2, 2, DLP_PAD_VALID),
     .op = DLP_OP_MAX_POOL, .pad = {0, 1, 0, 1}, .offset = -1.5f},
    {"pad 1/2/2/1 + avg pool 3x3 s2 valid 10x9x8", K_PAD_POOL, {10, 9, 8}, POOL(3, 3, 2, 2, DLP_PAD_VALID),
     .op = DLP_OP_AVG_POOL, .pad = {1, 2, 2, 1}, .offset = 0.5f},
    {"pad 2 + avg pool 3x3 s1 valid 7x7x6 (negative)", K_PAD_POOL, {7, 7, 6}, POOL(3, 3, 1, 1, DLP_PAD_VALID),
     .op = DLP_OP_AVG_POOL, .pad = {2, 2, 2, 2}, .offset = -1.5f},
    {"pad 1 + max pool 3x3 s2 same (no fold) 9x8x8 (negative)", K_PAD_POOL, {9, 8, 8}, POOL(3, 3, 2, 2, DLP_PAD_SAME),
     .op = DLP_OP_MAX_POOL, .pad = {1, 1, 1, 1}, .offset = -1.5f},
    {"max pool 3x3 s2 valid 15x15x16", K_POOL, {15, 15, 16}, POOL(3, 3, 2, 2, DLP_PAD_VALID), .op = DLP_OP_MAX_POOL},
    {"max pool 3x3 s2 same 9x11x8 (negative)", K_POOL, {9, 11, 8}, POOL(3, 3, 2, 2, DLP_PAD_SAME),
     .op = DLP_OP_MAX_POOL, .offset = -1.5f},
    {"avg pool 3x3 s1 same 8x7x8", K_POOL, {8, 7, 8}, POOL(3, 3, 1, 1, DLP_PAD_SAME), .op = DLP_OP_AVG_POOL},
    {"pad 4 + max pool 2x2 s2 valid 5x5x8 (windows all padding)", K_PAD_POOL, {5, 5, 8},
     POOL(2, 2, 2, 2, DLP_PAD_VALID), .op = DLP_OP_MAX_POOL, .pad = {4, 4, 4, 4}, .offset = -1.5f},
    {"pad 4/3/4/3 + avg pool 2x2 s2 valid 5x6x3 (windows all padding)", K_PAD_POOL, {5, 6, 3},
     POOL(2, 2, 2, 2, DLP_PAD_VALID), .op = DLP_OP_AVG_POOL, .pad = {4, 3, 4, 3}, .offset = -1.5f},
    /* The elementwise kernels' vector forms (channels multiples of 8). */
    {"batchnorm (unfolded) 7x9x16", K_BATCHNORM, {7, 9, 16}, .units = 0},
    {"activation sigmoid 5x6x8", K_ACTIVATION, {5, 6, 8}, .activation = DLP_ACT_SIGMOID},
    {"activation relu6 3x5x12", K_ACTIVATION, {3, 5, 12}, .activation = DLP_ACT_RELU6},
    {"add (conv, input, tanh) 5x7x16", K_ADD, {5, 7, 16}, .units = 0},
    {"concat (conv 8, pool, conv 16, input) 6x5x8", K_CONCAT, {6, 5, 8}, .units = 8},
    {"concat (conv 4, pool, conv 8, input) 5x3x4", K_CONCAT, {5, 3, 4}, .units = 4},
    {"mixed block (nested concat, pools, softmax branch) 7x6x8 units 16", K_MIXED, {7, 6, 8}, .units = 16},
    {"mixed block (nested concat, pools, softmax branch) 5x3x3 units 5", K_MIXED, {5, 3, 3}, .units = 5},
    {"zero pad 1/2/0/3 5x4x16", K_ZERO_PAD, {5, 4, 16}, .pad = {1, 2, 0, 3}},
    {"zero pad 2/1/1/0 7x6x8", K_ZERO_PAD, {7, 6, 8}, .pad = {2, 1, 1, 0}},
    {"zero pad 1/1/1/1 3x3x12", K_ZERO_PAD, {3, 3, 12}, .pad = {1, 1, 1, 1}},
    {"stem: pad 3, conv 7x7 s2, pad 1, max pool 31x29x3->8", K_STEM, {31, 29, 3},
     CONV(7, 7, 2, 2, DLP_PAD_VALID, 8, true, DLP_ACT_RELU), POOL(3, 3, 2, 2, DLP_PAD_VALID)},
    {"stem: pad 3, conv 7x7 s2 linear, pad 1, max pool 30x30x3->16", K_STEM, {30, 30, 3},
     CONV(7, 7, 2, 2, DLP_PAD_VALID, 16, true, DLP_ACT_LINEAR), POOL(3, 3, 2, 2, DLP_PAD_VALID)},
};

typedef struct mode {
    const char *label;
    dlp_cuda_options options;
    double tolerance;
} mode;

static const mode modes[] = {
    {"fp32", {DLP_CUDA_FP32, false, 0, DLP_CUDA_SEARCH_HEURISTIC, false, false, false, false, false}, 1e-5},
    {"fp32-timed-fused", {DLP_CUDA_FP32, false, 0, DLP_CUDA_SEARCH_TIMED, true, false, false, false, false}, 1e-4},
    {"fp16", {DLP_CUDA_FP16, false, 0, DLP_CUDA_SEARCH_HEURISTIC, false, false, false, false, false}, 1e-2},
    {"fp16-timed-fused", {DLP_CUDA_FP16, false, 0, DLP_CUDA_SEARCH_TIMED, true, false, false, false, false}, 1e-2},
    {"bf16", {DLP_CUDA_BF16, false, 0, DLP_CUDA_SEARCH_HEURISTIC, false, false, false, false, false}, 2e-2},
    {"bf16-timed-fused", {DLP_CUDA_BF16, false, 0, DLP_CUDA_SEARCH_TIMED, true, false, false, false, false}, 2e-2},
    {"fp32-graphs", {DLP_CUDA_FP32, false, 0, DLP_CUDA_SEARCH_HEURISTIC, false, true, false, false, false}, 1e-5},
    {"fp16-timed-fused-graphs", {DLP_CUDA_FP16, false, 0, DLP_CUDA_SEARCH_TIMED, true, true, false, false, false}, 1e-2},
    /* The featurizer's fp16/bf16 default: heuristic algorithms, fused, graphs. */
    {"fp16-fused-graphs", {DLP_CUDA_FP16, false, 0, DLP_CUDA_SEARCH_HEURISTIC, true, true, false, false, false}, 1e-2},
    {"bf16-fused-graphs", {DLP_CUDA_BF16, false, 0, DLP_CUDA_SEARCH_HEURISTIC, true, true, false, false, false}, 2e-2},
    /* Concatenation inputs written in place by their producers (strided cuDNN
     * outputs, GEMM ldc, strided pool/bias kernels); the CPU twin too. */
    {"fp32-slices", {DLP_CUDA_FP32, false, 0, DLP_CUDA_SEARCH_HEURISTIC, false, false, false, false, true}, 1e-5},
    {"fp32-timed-fused-slices", {DLP_CUDA_FP32, false, 0, DLP_CUDA_SEARCH_TIMED, true, false, false, false, true}, 1e-4},
    {"fp16-timed-fused-slices", {DLP_CUDA_FP16, false, 0, DLP_CUDA_SEARCH_TIMED, true, false, false, false, true}, 1e-2},
    {"bf16-slices", {DLP_CUDA_BF16, false, 0, DLP_CUDA_SEARCH_HEURISTIC, false, false, false, false, true}, 2e-2},
    {"fp16-timed-fused-graphs-slices", {DLP_CUDA_FP16, false, 0, DLP_CUDA_SEARCH_TIMED, true, true, false, false, true},
     1e-2},
    /* The fallback for a slice cuDNN will not write strided: packed, then copied. */
    {"fp32-packed-slices", {DLP_CUDA_FP32, false, 0, DLP_CUDA_SEARCH_HEURISTIC, false, false, false, false, true},
     1e-5},
    {"fp16-timed-fused-graphs-packed-slices",
     {DLP_CUDA_FP16, false, 0, DLP_CUDA_SEARCH_TIMED, true, true, false, false, true}, 1e-2},
    {"fp16-plain-stem", {DLP_CUDA_FP16, false, 0, DLP_CUDA_SEARCH_HEURISTIC, true, false, true, true, false}, 1e-2},
};

/* Whether label is one of the comma-separated entries of list. */
static bool listed(const char *list, const char *label)
{
    size_t length = strlen(label);
    for (const char *p = list; p && *p;) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n == length && strncmp(p, label, n) == 0) return true;
        p = end ? end + 1 : NULL;
    }
    return false;
}

/* Whether any comma-separated entry of list occurs in label (an empty list: all). */
static bool mentioned(const char *list, const char *label)
{
    if (!list || !*list) return true;
    char entry[64];
    for (const char *p = list; p && *p;) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n > 0 && n < sizeof entry) {
            memcpy(entry, p, n);
            entry[n] = '\0';
            if (strstr(label, entry)) return true;
        }
        p = end ? end + 1 : NULL;
    }
    return false;
}

static void run_mode(const mode *m, dlp_backend *cpu)
{
    dlp_backend *gpu = NULL;
    packed_slices = strstr(m->label, "packed-slices") != NULL; /* the fallback's modes */
    if (packed_slices) setenv("DLP_CUDA_PACKED_SLICES", "1", 1);
    CHECK_OK(dlp_backend_create_cuda(0, &m->options, &gpu));
    unsetenv("DLP_CUDA_PACKED_SLICES");
    if (!gpu) return;
    CHECK(strcmp(dlp_backend_name(gpu), "cuda") == 0);
    printf("== %s\n", m->label);
    worst_error = 0;
    repeats = m->options.cuda_graphs ? 3 : 1;
    fused_mode = m->options.fuse_bias_activation;
    /* DLP_GRAPH_CUDA_CASES: comma-separated parts of case labels ("pad,stem,pool"). */
    const char *only = getenv("DLP_GRAPH_CUDA_CASES");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (mentioned(only, cases[i].label)) run_case(&cases[i], cpu, gpu, m->tolerance);
    repeats = 1;
    printf("%s: worst rel-L2 over all cases: %.3g (tolerance %.0e)\n", m->label, worst_error, m->tolerance);
    dlp_backend_destroy(gpu);
}

/* A half plan refuses an op without a half kernel, naming it; its arena is
 * half the fp32 plan's bytes. */
static void check_half_plans(void)
{
    dlp_cuda_options options = {DLP_CUDA_FP16, false, 0, DLP_CUDA_SEARCH_HEURISTIC, false, false, false, false, false};
    dlp_backend *half = NULL, *full = NULL;
    CHECK_OK(dlp_backend_create_cuda(0, &options, &half));
    CHECK_OK(dlp_backend_create_cuda(0, NULL, &full));
    dlp_graph *graph = NULL;
    int input = -1, node = -1;
    CHECK_OK(dlp_graph_create(&graph));
    CHECK_OK(dlp_graph_input(graph, "input_1", (dlp_shape){6, 5, 3}, &input));
    dlp_relu_params leaky = {0.2f, 0.0f, false, 0.0f};
    CHECK_OK(dlp_graph_relu(graph, "leaky", input, &leaky, &node));
    dlp_plan *plan = NULL;
    const char *outputs[1] = {"leaky"};
    if (half && graph) {
        CHECK_FAILS(dlp_plan_create(graph, half, 4, outputs, 1, &plan), DLP_ERR_UNSUPPORTED, "leaky");
        CHECK(strstr(dlp_last_error(), dlp_op_name(DLP_OP_RELU)) != NULL);
        CHECK(strstr(dlp_last_error(), "fp16") != NULL);
        printf("half plan with a user-model op: %s\n", dlp_last_error());
    }
    dlp_graph_destroy(graph);
    graph = build_case(&cases[0]);
    dlp_plan *plan_half = NULL, *plan_full = NULL;
    outputs[0] = "op";
    if (half) CHECK_OK(dlp_plan_create(graph, half, MAX_BATCH, outputs, 1, &plan_half));
    if (full) CHECK_OK(dlp_plan_create(graph, full, MAX_BATCH, outputs, 1, &plan_full));
    if (plan_half && plan_full) {
        printf("arena bytes: fp32 %zu, fp16 %zu\n", dlp_plan_arena_bytes(plan_full), dlp_plan_arena_bytes(plan_half));
        CHECK(dlp_plan_arena_bytes(plan_half) * 2 == dlp_plan_arena_bytes(plan_full));
    }
    dlp_plan_destroy(plan_half), dlp_plan_destroy(plan_full);
    dlp_graph_destroy(graph);
    dlp_backend_destroy(half), dlp_backend_destroy(full);
}

int main(void)
{
    check_skip_without_cuda();
    dlp_backend *cpu = NULL;
    CHECK_OK(dlp_backend_create_cpu(0, &cpu));
    if (!cpu) return check_summary("graph_cuda");
    /* DLP_GRAPH_CUDA_MODES: a comma-separated subset of the mode labels. */
    const char *only = getenv("DLP_GRAPH_CUDA_MODES");
    for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++)
        if (!only || listed(only, modes[m].label)) run_mode(&modes[m], cpu);
    check_half_plans();

    /* Clean failures: no such device. */
    dlp_backend *bad = NULL;
    int devices = 0;
    CHECK_OK(dlp_device_count(&devices));
    CHECK_FAILS(dlp_backend_create_cuda(devices + 3, NULL, &bad), DLP_ERR_DEVICE, "does not exist");
    CHECK(bad == NULL);
    /* A tiny workspace cap still plans (an algorithm needing no workspace exists) or fails naming the cap. */
    dlp_cuda_options tiny = {DLP_CUDA_FP32, false, 1, DLP_CUDA_SEARCH_HEURISTIC, false, false, false, false, false};
    dlp_backend *capped = NULL;
    CHECK_OK(dlp_backend_create_cuda(0, &tiny, &capped));
    if (capped) {
        run_case(&cases[1], cpu, capped, 1e-5);
        dlp_backend_destroy(capped);
    }
    tiny.precision = DLP_CUDA_FP16, tiny.search = DLP_CUDA_SEARCH_TIMED, tiny.fuse_bias_activation = true;
    CHECK_OK(dlp_backend_create_cuda(0, &tiny, &capped));
    if (capped) {
        run_case(&cases[1], cpu, capped, 1e-2);
        dlp_backend_destroy(capped);
    }
    dlp_backend_destroy(cpu);
    return check_summary("graph_cuda");
}

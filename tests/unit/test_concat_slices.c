/* Concatenation inputs planned as slices of the output (plan.c,
 * plan_concat_slices), on the CPU backend:
 *  - a small mixed block (9x7 input, batch 3): a 1x1 conv, a nested
 *    concatenation of two convs, a max pooling and an avg pool -> conv are
 *    planned as slices; a softmax conv (softmax needs whole rows), a conv
 *    read twice, a conv that is a plan output and the graph input are
 *    copied. Each slice's parent, channel offset, pixel stride and place in
 *    the arena are checked, and every output equals, bit for bit, the same
 *    plan on a backend that writes no slices (its hook unset: every input
 *    copied), at the full batch and at 2 of 3 images; the arena is no
 *    larger. Two sizes: 43 channels at odd offsets, 64 at multiples of 8;
 *  - a Reshape of a conv's output (other pixels than the concatenation's) is
 *    copied, a pooling beside it is a slice; the same floats;
 *  - the CUDA backend's decisions (device_writes_strided) op by op, and
 *    planned and run on the CPU backend with its hook and alignment set to
 *    the device's (4 channels fp32, 8 half: 16 bytes): the 64-channel block
 *    slices as on the CPU; the 43-channel one slices nothing (no slice or
 *    buffer width keeps the alignment); a 50-channel one whose inner
 *    concatenation (16 channels) is aligned keeps only b2 as a slice of
 *    inner (the outermost misaligned slice is the one copied); the same
 *    floats in every case;
 *  - the zoo's InceptionV3 (weights unset, planned only), CPU and both
 *    device decisions: every input of every concatenation is a slice (so its
 *    concatenations copy nothing), and the activations it writes shrink (the
 *    arena's peak is in the stem).
 * The numbers of the real InceptionV3 against TensorFlow.js are
 * unit.inception_v3_real's (the CPU backend writes slices by default). */
#include <math.h>

#include "check.h"
#include "dlp/dlp.h"
#include "graph/device_layout.h"
#include "graph/plan_internal.h"

static bool device_fp32_hook(const dlp_backend *backend, const plan_step *producer)
{
    (void)backend;
    return device_writes_strided(producer, false);
}

static bool device_half_hook(const dlp_backend *backend, const plan_step *producer)
{
    (void)backend;
    return device_writes_strided(producer, true);
}

static void set_weights(dlp_graph *graph, int node, const char *slot, int ndim, const int64_t *shape, unsigned seed)
{
    size_t count = 1;
    for (int d = 0; d < ndim; d++) count *= (size_t)shape[d];
    float *data = malloc(count * sizeof(float));
    for (size_t i = 0; i < count; i++) data[i] = (float)((i * 7 + seed * 13) % 17) * 0.05f - 0.4f;
    check_set_weight(graph, node, slot, ndim, shape, data);
    free(data);
}

static int conv(dlp_graph *graph, const char *name, int input, int in_channels, int kh, int kw, int filters,
                dlp_activation activation)
{
    dlp_conv2d_params p = {kh, kw, 1, 1, DLP_PAD_SAME, filters, true, activation};
    int node = -1;
    CHECK_OK(dlp_graph_conv2d(graph, name, input, &p, &node));
    set_weights(graph, node, "kernel", 4, (int64_t[]){kh, kw, in_channels, filters}, (unsigned)node);
    set_weights(graph, node, "bias", 1, (int64_t[]){filters}, (unsigned)node + 1);
    return node;
}

static int pool(dlp_graph *graph, const char *name, dlp_op op, int input)
{
    dlp_pool_params p = {3, 3, 1, 1, DLP_PAD_SAME};
    int node = -1;
    CHECK_OK(dlp_graph_pool(graph, name, op, input, &p, &node));
    return node;
}

/* Channel counts of the mixed block: the input's and each conv's. */
typedef struct widths {
    int input, a, b1, b2, d, e, f;
} widths;

/* 43 channels, every offset odd or even at random (the CPU slices any). */
static const widths uneven = {6, 8, 5, 4, 7, 3, 4};
/* 64 channels, every offset a multiple of 8 (a device's 16-byte alignment). */
static const widths aligned = {8, 8, 8, 8, 8, 8, 8};

/* 50 channels, but inner's 16 (b2 at 8): with 8-channel alignment only inner keeps a slice. */
static const widths inner_aligned = {6, 8, 8, 8, 7, 3, 4};

static int total_channels(const widths *w) { return w->a + w->b1 + w->b2 + w->input + w->d + w->e + w->f + w->input; }

/* outer = concat(a, inner = concat(b1, b2), c, d, e, f, input); f is also
 * read by gap_f; b1, gap_f and outer are the plan's outputs. */
static dlp_graph *mixed_block(const widths *w)
{
    dlp_graph *graph = NULL;
    int input = -1, inner = -1, outer = -1, gap = -1;
    CHECK_OK(dlp_graph_create(&graph));
    CHECK_OK(dlp_graph_input(graph, "input", (dlp_shape){9, 7, w->input}, &input));
    int a = conv(graph, "a", input, w->input, 1, 1, w->a, DLP_ACT_RELU);
    int b = conv(graph, "b", input, w->input, 3, 3, 6, DLP_ACT_RELU);
    int b1 = conv(graph, "b1", b, 6, 1, 3, w->b1, DLP_ACT_LINEAR);
    int b2 = conv(graph, "b2", b, 6, 3, 1, w->b2, DLP_ACT_RELU);
    CHECK_OK(dlp_graph_concat(graph, "inner", (int[]){b1, b2}, 2, &inner));
    int c = pool(graph, "c", DLP_OP_MAX_POOL, input);
    int d = conv(graph, "d", pool(graph, "d_pool", DLP_OP_AVG_POOL, input), w->input, 1, 1, w->d, DLP_ACT_RELU);
    int e = conv(graph, "e", input, w->input, 1, 1, w->e, DLP_ACT_SOFTMAX);
    int f = conv(graph, "f", input, w->input, 1, 1, w->f, DLP_ACT_TANH);
    CHECK_OK(dlp_graph_unary(graph, "gap_f", DLP_OP_GLOBAL_AVG_POOL, f, &gap));
    CHECK_OK(dlp_graph_concat(graph, "outer", (int[]){a, inner, c, d, e, f, input}, 7, &outer));
    return graph;
}

static const plan_step *step_named(const dlp_plan *plan, const char *name)
{
    for (int s = 0; s < plan->step_count; s++)
        if (!strcmp(plan->steps[s].name, name)) return &plan->steps[s];
    return NULL;
}

static int value_of(const dlp_plan *plan, const char *name)
{
    const plan_step *step = step_named(plan, name);
    CHECK(step != NULL);
    return step ? step->output : 0;
}

static int slice_count(const dlp_plan *plan)
{
    int count = 0;
    for (int v = 0; v < plan->value_count; v++) count += plan->values[v].parent >= 0;
    return count;
}

/* name's value is a slice of parent's at channel offset, total_offset
 * channels into outer's buffer of stride channels. */
static void check_slice(const dlp_plan *plan, const char *name, const char *parent, int offset, int total_offset,
                        int stride)
{
    const plan_value *value = &plan->values[value_of(plan, name)];
    const plan_value *root = &plan->values[value_of(plan, "outer")];
    CHECK(value->parent == value_of(plan, parent));
    CHECK(value->channel_offset == offset);
    CHECK(value->pixel_stride == stride);
    CHECK(value->offset_floats == root->offset_floats + (size_t)total_offset);
}

/* a, inner, b2 (in inner), c and d are slices; b1 (an output), e (softmax),
 * f (read twice), outer and the input are not. */
static void check_layout(const dlp_plan *plan, const widths *w)
{
    int stride = total_channels(w), c_at = w->a + w->b1 + w->b2;
    CHECK(slice_count(plan) == 5);
    check_slice(plan, "a", "outer", 0, 0, stride);
    check_slice(plan, "inner", "outer", w->a, w->a, stride);
    check_slice(plan, "b2", "inner", w->b1, w->a + w->b1, stride);
    check_slice(plan, "c", "outer", c_at, c_at, stride);
    check_slice(plan, "d", "outer", c_at + w->input, c_at + w->input, stride);
    const char *copied[] = {"b1", "e", "f", "outer"};
    for (int i = 0; i < 4; i++) CHECK(plan->values[value_of(plan, copied[i])].parent < 0);
    CHECK(plan->values[plan->input_value].parent < 0);
    /* The buffer is alive from its first slice's producer ("a", step 0) on. */
    CHECK(plan->values[value_of(plan, "outer")].first_step == 0);
}

/* Only b2, in inner: the outer buffer is out of alignment, so inner is
 * copied into it and is b2's outermost buffer instead. */
static void check_inner_only(const dlp_plan *plan, const widths *w)
{
    const plan_value *b2 = &plan->values[value_of(plan, "b2")], *inner = &plan->values[value_of(plan, "inner")];
    CHECK(slice_count(plan) == 1);
    CHECK(b2->parent == value_of(plan, "inner") && b2->channel_offset == w->b1);
    CHECK(b2->pixel_stride == w->b1 + w->b2 && b2->offset_floats == inner->offset_floats + (size_t)w->b1);
    CHECK(inner->parent < 0);
}

static void check_nothing_sliced(const dlp_plan *plan, const widths *w)
{
    (void)w;
    CHECK(slice_count(plan) == 0);
}

typedef bool (*strided_hook)(const dlp_backend *, const plan_step *);

/* A graph planned twice on the CPU backend at batch 3: slicing (hook and
 * alignment; hook NULL: the CPU's own) and copying every input (no hook). */
typedef struct plan_pair {
    dlp_backend *slicing, *copying;
    dlp_plan *sliced, *copied;
} plan_pair;

static bool plan_pair_create(plan_pair *pair, const dlp_graph *graph, const char *const *names, int count,
                             strided_hook hook, int alignment)
{
    memset(pair, 0, sizeof *pair);
    CHECK_OK(dlp_backend_create_cpu(2, &pair->slicing));
    CHECK_OK(dlp_backend_create_cpu(2, &pair->copying));
    if (!graph || !pair->slicing || !pair->copying) return false;
    if (hook) pair->slicing->writes_strided = hook;
    pair->slicing->slice_alignment = alignment;
    pair->copying->writes_strided = NULL;
    CHECK_OK(dlp_plan_create(graph, pair->slicing, 3, names, count, &pair->sliced));
    CHECK_OK(dlp_plan_create(graph, pair->copying, 3, names, count, &pair->copied));
    if (pair->copied) CHECK(slice_count(pair->copied) == 0);
    return pair->sliced && pair->copied;
}

static void plan_pair_destroy(plan_pair *pair)
{
    dlp_plan_destroy(pair->sliced);
    dlp_plan_destroy(pair->copied);
    dlp_backend_destroy(pair->slicing);
    dlp_backend_destroy(pair->copying);
}

/* Every output of both plans, bit for bit the same, at 3 and at 2 of 3
 * images (inputs of input_floats per image); the arena no larger. */
static void check_same_outputs(const char *label, const plan_pair *pair, size_t input_floats)
{
    CHECK(dlp_plan_arena_bytes(pair->sliced) <= dlp_plan_arena_bytes(pair->copied));
    float *input = malloc(3 * input_floats * sizeof(float));
    for (size_t i = 0; i < 3 * input_floats; i++) input[i] = sinf((float)i * 0.37f);
    for (int n = 3; n >= 2; n--) {
        CHECK_OK(dlp_plan_run(pair->sliced, input, n));
        CHECK_OK(dlp_plan_run(pair->copied, input, n));
        for (int o = 0; o < pair->sliced->output_count; o++) {
            size_t floats = (size_t)n * dlp_shape_elements(dlp_plan_output_shape(pair->sliced, o));
            float *got = malloc(floats * sizeof(float)), *want = malloc(floats * sizeof(float));
            CHECK_OK(dlp_plan_read_output(pair->sliced, o, got, floats));
            CHECK_OK(dlp_plan_read_output(pair->copied, o, want, floats));
            bool same = !memcmp(got, want, floats * sizeof(float));
            if (!same) fprintf(stderr, "%s, batch %d, output %d: rel-L2 %g\n", label, n, o,
                               check_relative_l2(got, want, floats));
            CHECK(same);
            free(got), free(want);
        }
    }
    free(input);
}

/* The mixed block with hook and alignment: its layout (check) and outputs. */
static void check_mixed_block(const char *label, const widths *w, strided_hook hook, int alignment,
                              void (*layout)(const dlp_plan *, const widths *))
{
    dlp_graph *graph = mixed_block(w);
    const char *names[3] = {"outer", "gap_f", "b1"};
    plan_pair pair;
    if (plan_pair_create(&pair, graph, names, 3, hook, alignment)) {
        layout(pair.sliced, w);
        printf("mixed block (%s, %d channels): %d slices, arena %zu bytes, %zu copying\n", label, total_channels(w),
               slice_count(pair.sliced), dlp_plan_arena_bytes(pair.sliced), dlp_plan_arena_bytes(pair.copied));
        check_same_outputs(label, &pair, 9 * 7 * (size_t)w->input);
    }
    plan_pair_destroy(&pair);
    dlp_graph_destroy(graph);
}

/* A concatenation of a Reshape of a conv (2x2x8 as 4x4x2: the conv's pixels
 * are not the concatenation's, so it is copied) and a pooling of a Reshape
 * of the input (4x4x2, a slice at channel 2 of 4). */
static void check_reshaped_input(void)
{
    dlp_graph *graph = NULL;
    int input = -1, conv_r = -1, input_r = -1, outer = -1;
    CHECK_OK(dlp_graph_create(&graph));
    CHECK_OK(dlp_graph_input(graph, "input", (dlp_shape){2, 2, 8}, &input));
    int c = conv(graph, "conv", input, 8, 1, 1, 8, DLP_ACT_RELU);
    CHECK_OK(dlp_graph_reshape(graph, "conv_r", c, (dlp_shape){4, 4, 2}, &conv_r));
    CHECK_OK(dlp_graph_reshape(graph, "input_r", input, (dlp_shape){4, 4, 2}, &input_r));
    int p = pool(graph, "p", DLP_OP_MAX_POOL, input_r);
    CHECK_OK(dlp_graph_concat(graph, "outer", (int[]){conv_r, p}, 2, &outer));
    const char *names[1] = {"outer"};
    plan_pair pair;
    if (plan_pair_create(&pair, graph, names, 1, NULL, 0)) {
        const dlp_plan *plan = pair.sliced;
        CHECK(slice_count(plan) == 1);
        CHECK(plan->values[value_of(plan, "conv")].parent < 0);
        CHECK(plan->values[value_of(plan, "p")].parent == value_of(plan, "outer"));
        CHECK(plan->values[value_of(plan, "p")].channel_offset == 2);
        check_same_outputs("reshaped input", &pair, 2 * 2 * 8);
    }
    plan_pair_destroy(&pair);
    dlp_graph_destroy(graph);
}

/* device_writes_strided's decisions, op by op. */
static void check_device_decisions(void)
{
    plan_step step;
    memset(&step, 0, sizeof step);
    step.op = DLP_OP_CONV2D;
    step.params.conv = (dlp_conv2d_params){3, 3, 1, 1, DLP_PAD_SAME, 16, true, DLP_ACT_RELU};
    CHECK(device_writes_strided(&step, false) && device_writes_strided(&step, true));
    step.params.conv.filters = 12; /* not whole 16-byte vectors in half */
    CHECK(device_writes_strided(&step, false) && !device_writes_strided(&step, true));
    step.params.conv.filters = 16, step.params.conv.activation = DLP_ACT_SOFTMAX;
    CHECK(!device_writes_strided(&step, false) && !device_writes_strided(&step, true));
    step.params.conv.activation = DLP_ACT_TANH;
    CHECK(device_writes_strided(&step, false));
    const dlp_op yes[] = {DLP_OP_MAX_POOL, DLP_OP_AVG_POOL, DLP_OP_CONCAT};
    const dlp_op no[] = {DLP_OP_DEPTHWISE_CONV2D, DLP_OP_DENSE, DLP_OP_ADD, DLP_OP_ACTIVATION, DLP_OP_BATCHNORM,
                         DLP_OP_ZERO_PAD, DLP_OP_GLOBAL_AVG_POOL, DLP_OP_RELU, DLP_OP_CONCAT_AXIS};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        memset(&step, 0, sizeof step);
        step.op = yes[i];
        CHECK(device_writes_strided(&step, false) && device_writes_strided(&step, true));
    }
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
        memset(&step, 0, sizeof step);
        step.op = no[i];
        CHECK(!device_writes_strided(&step, false) && !device_writes_strided(&step, true));
    }
}

static void check_inception_v3(const char *label, strided_hook hook, int alignment)
{
    dlp_model_options options = {DLP_TOP_NONE, DLP_POOLING_AVG};
    dlp_graph *graph = NULL;
    dlp_backend *slicing = NULL, *copying = NULL;
    CHECK_OK(dlp_zoo_build("InceptionV3", NULL, &options, &graph));
    CHECK_OK(dlp_backend_create_cpu(1, &slicing));
    CHECK_OK(dlp_backend_create_cpu(1, &copying));
    if (!graph || !slicing || !copying) return;
    if (hook) slicing->writes_strided = hook;
    slicing->slice_alignment = alignment;
    copying->writes_strided = NULL;
    const char *outputs[1] = {"features"};
    dlp_plan *sliced = NULL, *copied = NULL;
    CHECK_OK(dlp_plan_create(graph, slicing, 1, outputs, 1, &sliced));
    CHECK_OK(dlp_plan_create(graph, copying, 1, outputs, 1, &copied));
    if (sliced && copied) {
        int concats = 0, inputs = 0, in_place = 0;
        for (int s = 0; s < sliced->step_count; s++) {
            const plan_step *step = &sliced->steps[s];
            if (step->op != DLP_OP_CONCAT) continue;
            concats++;
            for (int k = 0; k < step->input_count; k++) inputs++, in_place += plan_concat_input_in_place(sliced, step, k);
        }
        printf("InceptionV3 (%s): %d concatenations, %d of %d inputs in place; arena %.2f MiB (%.2f MiB copying), "
               "%.2f MiB of activations without reuse (%.2f MiB copying)\n", label, concats, in_place, inputs,
               dlp_plan_arena_bytes(sliced) / 1048576.0, dlp_plan_arena_bytes(copied) / 1048576.0,
               dlp_plan_unshared_bytes(sliced) / 1048576.0, dlp_plan_unshared_bytes(copied) / 1048576.0);
        CHECK(concats == 15); /* mixed0..mixed10, mixed9_0, mixed9_1 and the two unnamed ones in mixed9/10 */
        CHECK(in_place == inputs);
        /* The peak is in the stem (147x147x64 at batch 1), so the arena stays; the tensors written shrink. */
        CHECK(dlp_plan_arena_bytes(sliced) <= dlp_plan_arena_bytes(copied));
        CHECK(dlp_plan_unshared_bytes(sliced) < dlp_plan_unshared_bytes(copied));
    }
    dlp_plan_destroy(sliced);
    dlp_plan_destroy(copied);
    dlp_backend_destroy(slicing);
    dlp_backend_destroy(copying);
    dlp_graph_destroy(graph);
}

int main(void)
{
    check_mixed_block("cpu", &uneven, NULL, 0, check_layout);
    check_mixed_block("cpu", &aligned, NULL, 0, check_layout);
    check_reshaped_input();
    check_device_decisions();
    /* The CUDA backend's alignment: 4 channels in fp32, 8 in fp16/bf16. */
    check_mixed_block("device fp32", &aligned, device_fp32_hook, 4, check_layout);
    check_mixed_block("device half", &aligned, device_half_hook, 8, check_layout);
    check_mixed_block("device half", &uneven, device_half_hook, 8, check_nothing_sliced);
    check_mixed_block("device fp32", &uneven, device_fp32_hook, 4, check_nothing_sliced);
    check_mixed_block("device half", &inner_aligned, device_half_hook, 8, check_inner_only);
    check_inception_v3("cpu", NULL, 0);
    check_inception_v3("device fp32", device_fp32_hook, 4);
    check_inception_v3("device half", device_half_hook, 8);
    return check_summary("unit.concat_slices");
}

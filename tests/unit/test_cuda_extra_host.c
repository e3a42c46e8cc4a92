/* The CUDA path of the user-model ops, host side, on any machine (no GPU
 * needed; the kernels themselves are gpu.keras_model_cuda):
 *  - the steps the CUDA backend sends to ops_extra_cuda.c are exactly those
 *    the CPU backend runs as extra ops (cpu_is_extra_op, and the activations
 *    cpu_activation_is_extra names), and in a CUDA build its dispatch has a
 *    launch for each of them (an empty batch launches nothing and succeeds;
 *    an op without a case fails);
 *  - the geometry the launches get, applied on the host with the loops the
 *    kernels run, equals the CPU twins' naive references: concatenation along
 *    h and w as concat slices, permute strides, Cropping2D as the zero pad
 *    kernel with negated offsets;
 *  - a block too large for the kernels' int widths is refused, and the round
 *    trip without a usable GPU fails cleanly with DLP_ERR_DEVICE. */
#include <limits.h>

#include "backend/cpu/ops_extra.h"
#include "backend/cuda/ops_extra_cuda.h"
#include "check.h"
#include "dlp/device.h"
#include "dlp/dlp.h"
#include "graph/device_extra_layout.h"

static unsigned rng_state = 777u;

static float uniform(void)
{
    rng_state = rng_state * 1664525u + 1013904223u;
    return (float)(rng_state >> 8) / (float)(1u << 24) * 2.0f - 1.0f;
}

static float *random_floats(size_t count)
{
    float *data = malloc((count ? count : 1) * sizeof(float));
    for (size_t i = 0; i < count; i++) data[i] = uniform();
    return data;
}

static void check_handled_matches_cpu(int built_with_cuda)
{
    for (int op = 0; op < DLP_OP_COUNT; op++) {
        plan_step step = {.op = (dlp_op)op, .name = "step"};
        step.params.activation = DLP_ACT_LINEAR;
        bool cpu_extra = op != DLP_OP_ACTIVATION && cpu_is_extra_op((dlp_op)op);
        CHECK(device_extra_step_handled(&step) == cpu_extra);
        if (device_extra_step_handled(&step) != cpu_extra) fprintf(stderr, "op %s\n", dlp_op_name((dlp_op)op));
    }
    for (int activation = 0; activation < DLP_ACT_COUNT; activation++) {
        plan_step step = {.op = DLP_OP_ACTIVATION, .name = "step"};
        step.params.activation = (dlp_activation)activation;
        CHECK(device_extra_step_handled(&step) == cpu_activation_is_extra((dlp_activation)activation));
    }
    if (!built_with_cuda) return;
    /* Every handled step has a case in the dispatch: with no images nothing
     * is launched (no device needed) and the step succeeds. */
    dlp_shape shape = {3, 4, 5};
    dlp_shape shapes[2] = {shape, shape};
    int values[2] = {0, 1};
    for (int op = 0; op <= DLP_OP_COUNT; op++) {
        plan_step step = {.op = op < DLP_OP_COUNT ? (dlp_op)op : DLP_OP_ACTIVATION, .name = "step"};
        step.params.activation = op < DLP_OP_COUNT ? DLP_ACT_LINEAR : DLP_ACT_GELU;
        if (!device_extra_step_handled(&step)) continue;
        step.inputs = values;
        step.input_shapes = shapes;
        step.input_count = step.op == DLP_OP_SUBTRACT || step.op == DLP_OP_CONCAT_AXIS ? 2 : 1;
        step.output_shape = step.op == DLP_OP_CONCAT_AXIS ? (dlp_shape){6, 4, 5} : shape;
        if (step.op == DLP_OP_PERMUTE) step.params.permute = (dlp_permute_params){{0, 1, 2}};
        const float *inputs[2] = {NULL, NULL}, *weights[2] = {NULL, NULL};
        dlp_status status = cuda_extra_run_step(&step, inputs, weights, NULL, 0, NULL);
        CHECK(status == DLP_OK);
        if (status != DLP_OK) fprintf(stderr, "%s: %s\n", dlp_op_name(step.op), dlp_last_error());
    }
    /* And an op that is not theirs is refused by name. */
    plan_step conv = {.op = DLP_OP_CONV2D, .name = "conv"};
    CHECK_FAILS(cuda_extra_run_step(&conv, NULL, NULL, NULL, 0, NULL), DLP_ERR_INTERNAL, "Conv2D \"conv\"");
}

/* The concat slice kernel's loop: element i of a `rows` x `width` input goes
 * to out[(i / width) * out_width + offset + i % width]. */
static void apply_slice(const device_slice *s, const float *in, float *out)
{
    for (size_t i = 0; i < s->rows * (size_t)s->width; i++)
        out[(i / s->width) * s->out_width + s->offset + i % s->width] = in[i];
}

static void check_concat(int axis, const dlp_shape *shapes, int count, int n)
{
    dlp_shape out_shape = shapes[0];
    for (int i = 1; i < count; i++) {
        if (axis == 0) out_shape.h += shapes[i].h;
        else out_shape.w += shapes[i].w;
    }
    const float *inputs[4];
    for (int i = 0; i < count; i++) inputs[i] = random_floats((size_t)n * dlp_shape_elements(shapes[i]));
    size_t total = (size_t)n * dlp_shape_elements(out_shape);
    float *want = malloc(total * sizeof(float)), *got = malloc(total * sizeof(float));
    for (size_t e = 0; e < total; e++) got[e] = NAN;
    cpu_concat_axis_naive(axis, inputs, shapes, count, n, want, out_shape);
    device_slice slices[4];
    CHECK_OK(device_concat_axis_slices(axis, shapes, count, n, out_shape, slices));
    for (int i = 0; i < count; i++) apply_slice(&slices[i], inputs[i], got);
    CHECK(memcmp(want, got, total * sizeof(float)) == 0);
    for (int i = 0; i < count; i++) free((void *)inputs[i]);
    free(want), free(got);
}

static void check_permute(dlp_shape in, int n)
{
    static const int permutations[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
    size_t image = dlp_shape_elements(in), total = (size_t)n * image;
    float *x = random_floats(total), *want = malloc(total * sizeof(float)), *got = malloc(total * sizeof(float));
    for (int p = 0; p < 6; p++) {
        dlp_permute_params params = {{permutations[p][0], permutations[p][1], permutations[p][2]}};
        int dims[3] = {in.h, in.w, in.c};
        dlp_shape out = {dims[params.axes[0]], dims[params.axes[1]], dims[params.axes[2]]};
        size_t strides[3];
        device_permute_strides(&params, in, strides);
        /* The permute kernel's loop. */
        for (size_t i = 0; i < total; i++) {
            size_t k = i % out.c, pixel = i / out.c;
            size_t col = pixel % out.w, row = pixel / out.w % out.h, b = pixel / ((size_t)out.w * out.h);
            got[i] = x[b * image + row * strides[0] + col * strides[1] + k * strides[2]];
        }
        cpu_permute_naive(&params, x, n, in, want);
        CHECK(memcmp(want, got, total * sizeof(float)) == 0);
    }
    free(x), free(want), free(got);
}

/* Cropping2D through the zero pad kernel's loop with offsets -top, -left. */
static void check_crop(dlp_shape in, dlp_zero_pad_params crop, int n)
{
    dlp_shape out = {in.h - crop.top - crop.bottom, in.w - crop.left - crop.right, in.c};
    size_t total = (size_t)n * dlp_shape_elements(out);
    float *x = random_floats((size_t)n * dlp_shape_elements(in));
    float *want = malloc(total * sizeof(float)), *got = malloc(total * sizeof(float));
    int top = -crop.top, left = -crop.left;
    for (size_t i = 0; i < total; i++) {
        int c = (int)(i % in.c);
        size_t pixel = i / in.c;
        int y = (int)(pixel / out.w % out.h) - top, col = (int)(pixel % out.w) - left;
        size_t b = pixel / ((size_t)out.w * out.h);
        got[i] = y >= 0 && y < in.h && col >= 0 && col < in.w ? x[((b * in.h + y) * in.w + col) * in.c + c] : 0.0f;
    }
    cpu_crop_naive(&crop, x, n, in, want, out);
    CHECK(memcmp(want, got, total * sizeof(float)) == 0);
    free(x), free(want), free(got);
}

int main(void)
{
    dlp_cuda_versions versions;
    dlp_cuda_get_versions(&versions);
    check_handled_matches_cpu(versions.built_with_cuda);

    dlp_shape rows[3] = {{2, 5, 3}, {1, 5, 3}, {4, 5, 3}};
    check_concat(0, rows, 3, 1);
    check_concat(0, rows, 3, 37);
    dlp_shape columns[4] = {{3, 1, 2}, {3, 4, 2}, {3, 2, 2}, {3, 7, 2}};
    check_concat(1, columns, 4, 1);
    check_concat(1, columns, 4, 5);
    dlp_shape one[1] = {{3, 3, 3}};
    check_concat(1, one, 1, 2);
    /* A block of more than INT_MAX floats is refused, naming the axis. */
    dlp_shape huge[2] = {{1, 1 << 20, 1 << 10}, {1, 1 << 20, 1 << 10}};
    device_slice slices[2];
    CHECK_FAILS(device_concat_axis_slices(1, huge, 2, 1, (dlp_shape){1, 2 << 20, 1 << 10}, slices), DLP_ERR_LIMIT,
                "along w");

    check_permute((dlp_shape){3, 5, 7}, 1);
    check_permute((dlp_shape){1, 4, 9}, 3);
    check_crop((dlp_shape){7, 9, 3}, (dlp_zero_pad_params){2, 1, 0, 3}, 1);
    check_crop((dlp_shape){5, 6, 4}, (dlp_zero_pad_params){0, 0, 1, 1}, 37);

    /* Without a usable device the round trip fails cleanly. */
    int devices = 0;
    if (dlp_device_count(&devices) != DLP_OK) {
        dlp_shape s = {2, 2, 2};
        plan_step step = {.op = DLP_OP_RELU, .name = "relu", .input_shapes = &s, .input_count = 1, .output_shape = s};
        float in[8] = {0}, out[8];
        const float *inputs[1] = {in};
        dlp_status status = cuda_extra_round_trip(0, &step, inputs, 1, out);
        printf("round trip without a GPU: %s: %s\n", dlp_status_name(status), dlp_last_error());
        CHECK(status == DLP_ERR_DEVICE);
    }
    return check_summary("cuda_extra_host");
}

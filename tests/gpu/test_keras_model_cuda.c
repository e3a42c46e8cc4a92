/* Users' own Keras models on the CUDA backend (issue 7's GPU acceptance):
 *  (a) each op added for user models (src/backend/cuda/ops_extra_cuda.c)
 *      against its CPU twin (cpu_run_extra_step) on the same plan step:
 *      fresh random inputs per run, odd shapes, batch 1, 37 and 5, the device
 *      output NaN-filled before each run (cuda_extra_round_trip) and the host
 *      buffers NaN-filled before each read. Tolerances: data movement
 *      (permute, crop, concatenation along h/w) must be bit-identical, it
 *      only copies; arithmetic ops relative L2 <= 1e-5 (CUDA's expf, erff,
 *      tanhf, log1pf differ from glibc's by a few ulp, and nvcc may fuse a
 *      multiply-add the CPU rounds twice);
 *  (b) the user-model tests of unit.keras_model on the GPU, fp32, tolerance
 *      1e-4 (the issue's): the Keras fixtures (every layer, the 2-D tensor
 *      model, Sequential, Keras 3) relative L2 <= 1e-4 against Keras' own
 *      outputs, and the real nsfwjs InceptionV3 loaded as a user model (whole
 *      graph, head included) within 1e-4 absolute of TensorFlow.js' probs on
 *      the three oracle photos. */
#include <jansson.h>

#include "backend/cpu/ops_extra.h"
#include "backend/cuda/ops_extra_cuda.h"
#include "check.h"
#include "dlp/device.h"
#include "dlp/dlp.h"
#include "oracle_photos.h"

enum { MAX_INPUTS = 4, MAX_BATCH = 37 };

static unsigned rng_state = 4242u;

static float uniform(void)
{
    rng_state = rng_state * 1664525u + 1013904223u;
    return (float)(rng_state >> 8) / (float)(1u << 24) * 2.0f - 1.0f;
}

/* ---- (a) op by op ---- */

typedef struct op_case {
    const char *label;
    dlp_op op;
    dlp_shape inputs[MAX_INPUTS];
    int input_count;
    dlp_activation activation;
    dlp_relu_params relu;
    dlp_permute_params permute;
    dlp_zero_pad_params crop;
    int axis;
    float input_scale; /* inputs uniform in [-scale, scale] */
} op_case;

static dlp_shape output_shape(const op_case *c)
{
    dlp_shape s = c->inputs[0];
    if (c->op == DLP_OP_PERMUTE) {
        int dims[3] = {s.h, s.w, s.c};
        return (dlp_shape){dims[c->permute.axes[0]], dims[c->permute.axes[1]], dims[c->permute.axes[2]]};
    }
    if (c->op == DLP_OP_CROP)
        return (dlp_shape){s.h - c->crop.top - c->crop.bottom, s.w - c->crop.left - c->crop.right, s.c};
    if (c->op == DLP_OP_CONCAT_AXIS)
        for (int i = 1; i < c->input_count; i++) {
            if (c->axis == 0) s.h += c->inputs[i].h;
            else s.w += c->inputs[i].w;
        }
    return s;
}

static bool moves_data_only(dlp_op op) { return op == DLP_OP_PERMUTE || op == DLP_OP_CROP || op == DLP_OP_CONCAT_AXIS; }

static double worst_error;

static void run_op_case(const op_case *c)
{
    dlp_shape shapes[MAX_INPUTS];
    int values[MAX_INPUTS];
    for (int i = 0; i < c->input_count; i++) shapes[i] = c->inputs[i], values[i] = i;
    plan_step step = {.op = c->op, .name = c->label, .inputs = values, .input_shapes = shapes,
                      .input_count = c->input_count, .output = c->input_count, .output_shape = output_shape(c)};
    if (c->op == DLP_OP_ACTIVATION) step.params.activation = c->activation;
    if (c->op == DLP_OP_RELU) step.params.relu = c->relu;
    if (c->op == DLP_OP_PERMUTE) step.params.permute = c->permute;
    if (c->op == DLP_OP_CROP) step.params.pad = c->crop;
    if (c->op == DLP_OP_CONCAT_AXIS) step.params.axis = c->axis;
    float scale[64], shift[64];
    if (c->op == DLP_OP_CHANNEL_AFFINE) {
        for (int k = 0; k < shapes[0].c; k++) scale[k] = 2.0f * uniform(), shift[k] = uniform();
        step.weights[0] = scale, step.weights[1] = shift;
        step.weight_counts[0] = step.weight_counts[1] = (size_t)shapes[0].c;
    }
    size_t out_floats = dlp_shape_elements(step.output_shape);
    float *inputs[MAX_INPUTS];
    for (int i = 0; i < c->input_count; i++) inputs[i] = malloc(MAX_BATCH * dlp_shape_elements(shapes[i]) * sizeof(float));
    float *want = malloc(MAX_BATCH * out_floats * sizeof(float)), *got = malloc(MAX_BATCH * out_floats * sizeof(float));
    const int batches[3] = {1, MAX_BATCH, 5};
    for (int t = 0; t < 3; t++) {
        int n = batches[t];
        size_t count = out_floats * (size_t)n;
        for (int i = 0; i < c->input_count; i++)
            for (size_t e = 0; e < (size_t)n * dlp_shape_elements(shapes[i]); e++) inputs[i][e] = c->input_scale * uniform();
        for (size_t e = 0; e < count; e++) want[e] = got[e] = NAN;
        if (c->op == DLP_OP_ACTIVATION) {
            /* The CPU backend runs these in place after a copy. */
            memcpy(want, inputs[0], count * sizeof(float));
            cpu_activation_extra(c->activation, want, count, 1);
        } else {
            CHECK_OK(cpu_run_extra_step(&step, (const float *const *)inputs, want, n, 1));
        }
        CHECK_OK(cuda_extra_round_trip(0, &step, (const float *const *)inputs, n, got));
        double error = check_relative_l2(got, want, count);
        bool exact = memcmp(got, want, count * sizeof(float)) == 0;
        printf("%-46s batch %2d: rel-L2 %.3g%s\n", c->label, n, error, exact ? " (bit-identical)" : "");
        if (moves_data_only(c->op))
            CHECK(exact);
        else
            CHECK(error <= 1e-5);
        if (!(error <= worst_error)) worst_error = error;
    }
    for (int i = 0; i < c->input_count; i++) free(inputs[i]);
    free(want), free(got);
}

#define ACT(name, act, h, w, ch) {"activation " name, DLP_OP_ACTIVATION, {{h, w, ch}}, 1, act, .input_scale = 6.0f}
#define RELU(label, slope, threshold, has_max, max) \
    {label, DLP_OP_RELU, {{7, 5, 3}}, 1, .relu = {slope, threshold, has_max, max}, .input_scale = 4.0f}
#define PERMUTE(label, a, b, c, shape) {label, DLP_OP_PERMUTE, {shape}, 1, .permute = {{a, b, c}}, .input_scale = 1.0f}

static const op_case op_cases[] = {
    ACT("elu 5x7x3", DLP_ACT_ELU, 5, 7, 3),
    ACT("selu 5x7x3", DLP_ACT_SELU, 5, 7, 3),
    ACT("swish 5x7x3", DLP_ACT_SWISH, 5, 7, 3),
    ACT("gelu 5x7x3", DLP_ACT_GELU, 5, 7, 3),
    ACT("gelu_tanh 1x1x129", DLP_ACT_GELU_TANH, 1, 1, 129),
    ACT("hard_sigmoid 3x11x2", DLP_ACT_HARD_SIGMOID, 3, 11, 2),
    ACT("softplus 1x1x129", DLP_ACT_SOFTPLUS, 1, 1, 129),
    ACT("hard_sigmoid_relu6 9x1x5", DLP_ACT_HARD_SIGMOID_RELU6, 9, 1, 5),
    RELU("relu max 2.5 slope 0.1 threshold 0.2", 0.1f, 0.2f, true, 2.5f),
    RELU("leaky relu 0.15", 0.15f, 0.0f, false, 0.0f),
    RELU("relu6 (max_value 6)", 0.0f, 0.0f, true, 6.0f),
    RELU("relu threshold -0.5", 0.0f, -0.5f, false, 0.0f),
    PERMUTE("permute (0,2,1) 3x5x7", 0, 2, 1, ((dlp_shape){3, 5, 7})),
    PERMUTE("permute (1,0,2) 3x5x7", 1, 0, 2, ((dlp_shape){3, 5, 7})),
    PERMUTE("permute (1,2,0) 4x1x9", 1, 2, 0, ((dlp_shape){4, 1, 9})),
    PERMUTE("permute (2,0,1) 6x6x13", 2, 0, 1, ((dlp_shape){6, 6, 13})),
    PERMUTE("permute (2,1,0) 1x5x3", 2, 1, 0, ((dlp_shape){1, 5, 3})),
    {"crop 2/1/0/3 7x9x3", DLP_OP_CROP, {{7, 9, 3}}, 1, .crop = {2, 1, 0, 3}, .input_scale = 1.0f},
    {"crop 0/0/1/1 5x6x4", DLP_OP_CROP, {{5, 6, 4}}, 1, .crop = {0, 0, 1, 1}, .input_scale = 1.0f},
    {"subtract 5x3x7", DLP_OP_SUBTRACT, {{5, 3, 7}, {5, 3, 7}}, 2, .input_scale = 1.0f},
    {"multiply (3 inputs) 5x3x7", DLP_OP_MULTIPLY, {{5, 3, 7}, {5, 3, 7}, {5, 3, 7}}, 3, .input_scale = 1.0f},
    {"average (3 inputs) 1x1x33", DLP_OP_AVERAGE, {{1, 1, 33}, {1, 1, 33}, {1, 1, 33}}, 3, .input_scale = 1.0f},
    {"maximum (4 inputs) 4x3x5", DLP_OP_MAXIMUM, {{4, 3, 5}, {4, 3, 5}, {4, 3, 5}, {4, 3, 5}}, 4, .input_scale = 1.0f},
    {"concat along h (2+1+4)x5x3", DLP_OP_CONCAT_AXIS, {{2, 5, 3}, {1, 5, 3}, {4, 5, 3}}, 3, .axis = 0,
     .input_scale = 1.0f},
    {"concat along w 3x(1+4+2+7)x2", DLP_OP_CONCAT_AXIS, {{3, 1, 2}, {3, 4, 2}, {3, 2, 2}, {3, 7, 2}}, 4, .axis = 1,
     .input_scale = 1.0f},
    {"channel affine 6x5x9", DLP_OP_CHANNEL_AFFINE, {{6, 5, 9}}, 1, .input_scale = 3.0f},
};

/* ---- (b) whole user models ---- */

/* Loads <stem>.h5, runs it on the CUDA backend on <stem>_x.npy in one batch
 * and in batches of 3, and compares each output with Keras' <stem>_y<i>.npy. */
static void check_fixture_model(const char *fixtures, const char *stem, dlp_backend *gpu)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/keras_model/%s.h5", fixtures, stem);
    dlp_keras_model *model = NULL;
    CHECK_OK(dlp_keras_model_load(path, NULL, &model));
    float *x = NULL;
    size_t rows = 0, cols = 0;
    snprintf(path, sizeof path, "%s/keras_model/%s_x.npy", fixtures, stem);
    CHECK_OK(dlp_npy_read_f32(path, &x, &rows, &cols));
    dlp_plan *plan = NULL;
    if (model && x) CHECK_OK(dlp_keras_model_plan(model, gpu, (int)rows, &plan));
    if (plan) CHECK_OK(dlp_plan_run(plan, x, (int)rows));
    for (int o = 0; plan && o < dlp_keras_model_output_count(model); o++) {
        float *want = NULL;
        size_t want_rows = 0, want_cols = 0;
        snprintf(path, sizeof path, "%s/keras_model/%s_y%d.npy", fixtures, stem, o);
        CHECK_OK(dlp_npy_read_f32(path, &want, &want_rows, &want_cols));
        size_t per_image = dlp_shape_elements(dlp_keras_model_output_shape(model, o)), count = rows * per_image;
        float *have = malloc(sizeof(float) * count), *batched = malloc(sizeof(float) * count);
        for (size_t i = 0; i < count; i++) have[i] = batched[i] = NAN;
        if (want && want_rows == rows && want_cols == per_image) {
            CHECK_OK(dlp_plan_read_output(plan, o, have, count));
            CHECK_OK(dlp_keras_model_apply(model, gpu, x, rows, 3, o, batched, count));
            double error = check_relative_l2(have, want, count), batched_error = check_relative_l2(batched, want, count);
            printf("%s output %d (%s): %zu x %zu, cuda vs Keras relative L2 %.3g (batches of 3: %.3g)\n", stem, o,
                   dlp_keras_model_output_layer(model, o), rows, per_image, error, batched_error);
            CHECK(error <= 1e-4);
            CHECK(batched_error <= 1e-4);
        } else {
            CHECK(!"fixture output shape");
        }
        free(have), free(batched), free(want);
    }
    dlp_plan_destroy(plan);
    free(x);
    dlp_keras_model_destroy(model);
}


static void check_nsfwjs(const char *shared, dlp_backend *gpu)
{
    dlp_keras_model *model = oracle_load_nsfwjs_model(shared);
    if (!model) return;
    oracle_check_nsfwjs_user_model(shared, model, gpu, "nsfwjs on cuda");
    dlp_keras_model_destroy(model);
}

int main(void)
{
    check_skip_without_cuda();
    const char *fixtures = check_env("DLP_FIXTURES");
    const char *shared = check_env("DLP_SHARED_DIR");
    for (size_t i = 0; i < sizeof op_cases / sizeof op_cases[0]; i++) run_op_case(&op_cases[i]);
    printf("worst rel-L2 over the op cases: %.3g (tolerance 1e-5)\n", worst_error);

    /* Only the op cases, for a run under compute-sanitizer (the whole models would take minutes there). */
    if (getenv("DLP_KERAS_CUDA_OPS_ONLY")) return check_summary("keras_model_cuda (op cases only)");
    dlp_backend *gpu = NULL;
    CHECK_OK(dlp_backend_create_cuda(0, NULL, &gpu));
    if (gpu) {
        check_fixture_model(fixtures, "every_layer", gpu);
        check_fixture_model(fixtures, "tensor_2d", gpu);
        check_fixture_model(fixtures, "sequential", gpu);
        check_fixture_model(fixtures, "keras3", gpu);
        check_nsfwjs(shared, gpu);
    }
    dlp_backend_destroy(gpu);
    return check_summary("keras_model_cuda");
}

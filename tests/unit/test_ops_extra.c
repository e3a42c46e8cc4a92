/* The CPU ops added for users' Keras models (src/backend/cpu/ops_extra.c)
 * against their naive references on random inputs, and the activations
 * against tf_keras.activations' own values (tests/fixtures/keras_model/
 * activations.npy, written by tests/oracle/keras_model_oracle.py). */
#include "backend/cpu/ops.h"
#include "backend/cpu/ops_extra.h"
#include "check.h"
#include "dlp/dlp.h"

static unsigned long long random_state = 12345;

static float random_uniform(float low, float high)
{
    random_state = random_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return low + (high - low) * (float)((random_state >> 40) / 16777216.0);
}

static float *random_floats(size_t count)
{
    float *data = malloc(count * sizeof(float));
    for (size_t i = 0; i < count; i++) data[i] = random_uniform(-3.0f, 3.0f);
    return data;
}

static float max_difference(const float *a, const float *b, size_t count)
{
    float worst = 0;
    for (size_t i = 0; i < count; i++) worst = fmaxf(worst, fabsf(a[i] - b[i]));
    return worst;
}

static void test_permute(void)
{
    static const int permutations[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
    dlp_shape in = {3, 5, 4};
    int n = 2;
    float *x = random_floats((size_t)n * 60);
    float fast[120], naive[120];
    for (int p = 0; p < 6; p++) {
        dlp_permute_params params = {{permutations[p][0], permutations[p][1], permutations[p][2]}};
        int dims[3] = {in.h, in.w, in.c};
        dlp_shape out = {dims[params.axes[0]], dims[params.axes[1]], dims[params.axes[2]]};
        cpu_permute(&params, x, n, in, fast, out);
        cpu_permute_naive(&params, x, n, in, naive);
        CHECK(max_difference(fast, naive, 120) == 0);
    }
    /* A transpose of a 1xTxD tensor, checked by index. */
    dlp_permute_params swap = {{0, 2, 1}};
    cpu_permute(&swap, x, 1, in, fast, (dlp_shape){3, 4, 5});
    CHECK(fast[(1 * 4 + 2) * 5 + 3] == x[(1 * 5 + 3) * 4 + 2]);
    free(x);
}

static void test_crop_and_concat(void)
{
    dlp_shape in = {7, 6, 3};
    dlp_zero_pad_params crop = {2, 1, 0, 3};
    dlp_shape out = {4, 3, 3};
    float *x = random_floats(2 * 126);
    float fast[72], naive[72];
    cpu_crop(&crop, x, 2, in, fast, out);
    cpu_crop_naive(&crop, x, 2, in, naive, out);
    CHECK(max_difference(fast, naive, 72) == 0);

    dlp_shape shapes[3] = {{2, 4, 3}, {5, 4, 3}, {1, 4, 3}};
    const float *inputs[3] = {x, x + 48, x + 168};
    float joined_fast[2 * 8 * 4 * 3], joined_naive[2 * 8 * 4 * 3];
    cpu_concat_axis(0, inputs, shapes, 3, 2, joined_fast, (dlp_shape){8, 4, 3});
    cpu_concat_axis_naive(0, inputs, shapes, 3, 2, joined_naive, (dlp_shape){8, 4, 3});
    CHECK(max_difference(joined_fast, joined_naive, 192) == 0);
    dlp_shape columns[2] = {{3, 2, 4}, {3, 5, 4}};
    cpu_concat_axis(1, inputs, columns, 2, 2, joined_fast, (dlp_shape){3, 7, 4});
    cpu_concat_axis_naive(1, inputs, columns, 2, 2, joined_naive, (dlp_shape){3, 7, 4});
    CHECK(max_difference(joined_fast, joined_naive, 168) == 0);
    free(x);
}

static void test_elementwise(void)
{
    size_t count = 257;
    float *a = random_floats(count), *b = random_floats(count), *c = random_floats(count);
    const float *inputs[3] = {a, b, c};
    float *fast = malloc(count * sizeof(float)), *naive = malloc(count * sizeof(float));
    dlp_op ops[4] = {DLP_OP_SUBTRACT, DLP_OP_MULTIPLY, DLP_OP_AVERAGE, DLP_OP_MAXIMUM};
    for (int o = 0; o < 4; o++) {
        int inputs_used = ops[o] == DLP_OP_SUBTRACT ? 2 : 3;
        cpu_elementwise(ops[o], inputs, inputs_used, count, fast);
        cpu_elementwise_naive(ops[o], inputs, inputs_used, count, naive);
        CHECK(max_difference(fast, naive, count) <= 2e-6f);
    }
    free(a), free(b), free(c), free(fast), free(naive);
}

static void test_relu(void)
{
    dlp_relu_params cases[] = {
        {0.0f, 0.0f, false, 0.0f}, {0.3f, 0.0f, false, 0.0f}, {0.1f, 0.2f, true, 2.5f},
        {0.0f, -0.5f, false, 0.0f}, {0.2f, -0.5f, true, 1.0f}, {0.0f, 1.0f, true, 6.0f},
    };
    size_t count = 301;
    float *x = malloc(count * sizeof(float)), *y = malloc(count * sizeof(float));
    for (size_t i = 0; i < count; i++) x[i] = -7.5f + 0.05f * (float)i; /* hits the thresholds exactly */
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        cpu_relu(&cases[k], x, count, y, 2);
        float worst = 0;
        for (size_t i = 0; i < count; i++) worst = fmaxf(worst, fabsf(y[i] - (float)cpu_relu_naive(&cases[k], x[i])));
        CHECK(worst <= 1e-6f);
    }
    free(x), free(y);
}

/* Keras' values of each activation on x in [-7, 7] (row 0). */
static void test_activations_against_keras(const char *fixtures)
{
    static const dlp_activation order[] = {DLP_ACT_LINEAR, DLP_ACT_RELU, DLP_ACT_RELU6, DLP_ACT_SIGMOID,
                                           DLP_ACT_TANH, DLP_ACT_ELU, DLP_ACT_SELU, DLP_ACT_SWISH,
                                           DLP_ACT_GELU, DLP_ACT_GELU_TANH, DLP_ACT_HARD_SIGMOID, DLP_ACT_SOFTPLUS,
                                           DLP_ACT_HARD_SIGMOID_RELU6};
    enum { ACTIVATIONS = sizeof order / sizeof order[0] };
    char path[1024];
    snprintf(path, sizeof path, "%s/keras_model/activations.npy", fixtures);
    float *table = NULL;
    size_t rows = 0, cols = 0;
    CHECK_OK(dlp_npy_read_f32(path, &table, &rows, &cols));
    CHECK(rows == ACTIVATIONS + 1);
    if (!table || rows != ACTIVATIONS + 1) return;
    float *y = malloc(cols * sizeof(float));
    for (int a = 0; a < ACTIVATIONS; a++) {
        const float *want = table + (size_t)(a + 1) * cols;
        memcpy(y, table, cols * sizeof(float));
        if (cpu_activation_is_extra(order[a]))
            cpu_activation_extra(order[a], y, cols, 2);
        else
            cpu_activation(order[a], y, cols, 1, 2);
        double worst = 0, worst_naive = 0;
        for (size_t i = 0; i < cols; i++) {
            worst = fmax(worst, fabs(y[i] - want[i]) / (1.0 + fabs(want[i])));
            if (cpu_activation_is_extra(order[a]))
                worst_naive = fmax(worst_naive, fabs(cpu_activation_extra_naive(order[a], table[i]) - want[i]) /
                                                    (1.0 + fabs(want[i])));
        }
        printf("%-12s vs Keras: max |difference|/(1+|y|) %.3g", dlp_activation_name(order[a]), worst);
        if (cpu_activation_is_extra(order[a])) printf(" (naive reference %.3g)", worst_naive);
        printf("\n");
        CHECK(worst <= 1e-6);
        CHECK(worst_naive <= 1e-6);
    }
    free(y);
    free(table);
}

static void test_names(void)
{
    dlp_activation activation;
    CHECK_OK(dlp_activation_from_name("silu", &activation));
    CHECK(activation == DLP_ACT_SWISH);
    CHECK_OK(dlp_activation_from_name("hard_sigmoid", &activation));
    CHECK(activation == DLP_ACT_HARD_SIGMOID);
    CHECK_FAILS(dlp_activation_from_name("mish", &activation), DLP_ERR_UNSUPPORTED, "\"mish\"");
    for (int op = 0; op < DLP_OP_COUNT; op++) CHECK(dlp_op_name((dlp_op)op) != NULL);
    for (int a = 0; a < DLP_ACT_COUNT; a++) CHECK(dlp_activation_name((dlp_activation)a) != NULL);
}

int main(void)
{
    const char *fixtures = check_env("DLP_FIXTURES");
    test_permute();
    test_crop_and_concat();
    test_elementwise();
    test_relu();
    test_activations_against_keras(fixtures);
    test_names();
    return check_summary("ops_extra");
}

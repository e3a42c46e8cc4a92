/* Graph IR: shape inference and its errors, weight shape checks, Keras'
 * layer order (checked against the order in the real nsfwjs model_config),
 * batch-norm folding and activation fusion (a planned graph equals the naive
 * ops run layer by layer), and the memory plan's reuse. */
#include <jansson.h>

#include "backend/cpu/ops.h"
#include "check.h"
#include "dlp/dlp.h"

static float *random_floats(size_t count, unsigned seed)
{
    float *data = malloc(count * sizeof(float));
    for (size_t i = 0; i < count; i++) {
        seed = seed * 1664525u + 1013904223u;
        data[i] = (float)(seed >> 8) / (float)(1u << 24) * 2.0f - 1.0f;
    }
    return data;
}

static void set_random(dlp_graph *graph, int node, const char *slot, int ndim, const int64_t *shape, unsigned seed,
                       float offset, float **keep)
{
    size_t count = 1;
    for (int d = 0; d < ndim; d++) count *= (size_t)shape[d];
    float *data = random_floats(count, seed);
    for (size_t i = 0; i < count; i++) data[i] += offset;
    check_set_weight(graph, node, slot, ndim, shape, data);
    *keep = data;
}

/* Sizes past 2^31 - 1 elements per image or per weight are refused (DLP_ERR_LIMIT) before anything is
 * allocated, however the dims multiply (they used to wrap: a 65536^4 kernel got a 1-float buffer). */
static void check_limits(void)
{
    dlp_graph *graph = NULL;
    CHECK_OK(dlp_graph_create(&graph));
    int input, wide, node;
    CHECK_FAILS(dlp_graph_input(graph, "huge", (dlp_shape){1000000, 1000000, 1000000}, &node), DLP_ERR_LIMIT,
                "1000000x1000000x1000000 is more than 2147483647 elements");
    CHECK_OK(dlp_graph_input(graph, "in", (dlp_shape){2, 2, 65536}, &input));
    dlp_conv2d_params kernel = {65536, 65536, 1, 1, DLP_PAD_SAME, 65536, false, DLP_ACT_LINEAR};
    CHECK_FAILS(dlp_graph_conv2d(graph, "c", input, &kernel, &node), DLP_ERR_LIMIT,
                "weight kernel of shape [65536, 65536, 65536, 65536]");
    dlp_conv2d_params multiplier = {1, 1, 1, 1, DLP_PAD_SAME, 100000, false, DLP_ACT_LINEAR};
    CHECK_FAILS(dlp_graph_depthwise_conv2d(graph, "dw", input, &multiplier, &node), DLP_ERR_LIMIT,
                "output 2x2x6553600000");
    CHECK_FAILS(dlp_graph_separable_conv2d(graph, "sep", input, &multiplier, 100000, &node), DLP_ERR_LIMIT,
                "output 2x2x6553600000");
    dlp_dense_params units = {1 << 30, false, DLP_ACT_LINEAR};
    CHECK_FAILS(dlp_graph_dense(graph, "d", input, &units, &node), DLP_ERR_LIMIT, "output 2x2x1073741824");
    dlp_zero_pad_params pad = {1000000000, 1000000000, 0, 0};
    CHECK_FAILS(dlp_graph_zero_pad(graph, "pad", input, &pad, &node), DLP_ERR_LIMIT, "output 2000000002x2x65536");
    CHECK_FAILS(dlp_graph_crop(graph, "crop", input, &pad, &node), DLP_ERR_MODEL, "cropping (1000000000");
    CHECK_FAILS(dlp_graph_reshape(graph, "r", input, (dlp_shape){65536, 65536, 65536}, &node), DLP_ERR_LIMIT,
                "output 65536x65536x65536");
    int many[40000];
    for (int i = 0; i < 40000; i++) many[i] = input;
    CHECK_FAILS(dlp_graph_concat(graph, "cat", many, 40000, &node), DLP_ERR_LIMIT, "layer \"cat\"");
    CHECK_FAILS(dlp_graph_concat_axis(graph, "rows", many, 40000, 0, &node), DLP_ERR_LIMIT, "layer \"rows\"");
    CHECK(dlp_graph_node_count(graph) == 1);
    dlp_graph_destroy(graph);
    /* 2^30 floats per image is allowed; a plan for 2^31 - 1 images of them is refused, not wrapped. */
    CHECK_OK(dlp_graph_create(&graph));
    CHECK_OK(dlp_graph_input(graph, "wide", (dlp_shape){32768, 32768, 1}, &wide));
    CHECK_OK(dlp_graph_activation(graph, "relu", wide, DLP_ACT_RELU, &node));
    dlp_backend *cpu = NULL;
    CHECK_OK(dlp_backend_create_cpu(1, &cpu));
    const char *outputs[1] = {"relu"};
    size_t bytes = 0;
    CHECK_FAILS(dlp_plan_estimate_arena_bytes(graph, cpu, INT32_MAX, outputs, 1, &bytes), DLP_ERR_LIMIT,
                "2147483647 images");
    CHECK_OK(dlp_plan_estimate_arena_bytes(graph, cpu, 2, outputs, 1, &bytes));
    CHECK(bytes >= ((size_t)8 << 30)); /* at least the output: 2 x 2^30 floats */
    dlp_backend_destroy(cpu);
    dlp_graph_destroy(graph);
}

int main(void)
{
    dlp_graph *graph = NULL;
    CHECK_OK(dlp_graph_create(&graph));
    int input, conv, bn, act, pool, branch, cat, gap, dense;
    CHECK_OK(dlp_graph_input(graph, "input_1", (dlp_shape){9, 7, 3}, &input));
    dlp_conv2d_params conv_params = {3, 3, 2, 2, DLP_PAD_SAME, 8, false, DLP_ACT_LINEAR};
    CHECK_OK(dlp_graph_conv2d(graph, "conv2d_1", input, &conv_params, &conv));
    CHECK(dlp_graph_node_shape(graph, conv).h == 5 && dlp_graph_node_shape(graph, conv).w == 4);
    dlp_batchnorm_params bn_params = {1e-3f, true, true};
    CHECK_OK(dlp_graph_batchnorm(graph, "batch_normalization_1", conv, &bn_params, &bn));
    CHECK_OK(dlp_graph_activation(graph, "activation_1", bn, DLP_ACT_RELU, &act));
    dlp_pool_params pool_params = {3, 3, 1, 1, DLP_PAD_SAME};
    CHECK_OK(dlp_graph_pool(graph, "average_pooling2d_1", DLP_OP_AVG_POOL, act, &pool_params, &pool));
    dlp_conv2d_params branch_params = {1, 1, 1, 1, DLP_PAD_VALID, 4, true, DLP_ACT_LINEAR};
    CHECK_OK(dlp_graph_conv2d(graph, "conv2d_2", act, &branch_params, &branch));
    int parts[2] = {pool, branch};
    CHECK_OK(dlp_graph_concat(graph, "mixed0", parts, 2, &cat));
    CHECK(dlp_graph_node_shape(graph, cat).c == 12);
    CHECK_OK(dlp_graph_unary(graph, "gap", DLP_OP_GLOBAL_AVG_POOL, cat, &gap));
    dlp_dense_params dense_params = {5, true, DLP_ACT_SOFTMAX};
    CHECK_OK(dlp_graph_dense(graph, "dense_1", gap, &dense_params, &dense));

    /* Errors name the layer and the shapes. */
    int bad;
    CHECK_FAILS(dlp_graph_concat(graph, "bad_concat", (int[]){input, cat}, 2, &bad), DLP_ERR_MODEL, "9x7x3");
    CHECK_FAILS(dlp_graph_add(graph, "bad_add", (int[]){conv, cat}, 2, &bad), DLP_ERR_MODEL, "bad_add");
    dlp_pool_params huge = {11, 11, 1, 1, DLP_PAD_VALID};
    CHECK_FAILS(dlp_graph_pool(graph, "bad_pool", DLP_OP_MAX_POOL, input, &huge, &bad), DLP_ERR_MODEL, "bad_pool");
    CHECK_FAILS(dlp_graph_conv2d(graph, "conv2d_1", input, &conv_params, &bad), DLP_ERR_INVALID_ARGUMENT,
                "already used");
    int64_t wrong[4] = {3, 3, 4, 8};
    dlp_tensor_list *list = NULL;
    dlp_tensor_list_create(&list);
    dlp_tensor_list_add(list, "conv2d_1/kernel", DLP_DTYPE_F32, 4, wrong, NULL, NULL);
    CHECK_FAILS(dlp_graph_set_weight(graph, conv, "kernel", dlp_tensor_list_at(list, 0)), DLP_ERR_MODEL,
                "expected shape [3, 3, 3, 8], found [3, 3, 4, 8]");
    dlp_tensor_list_destroy(list);

    /* Weights, then the planned graph against the naive ops layer by layer. */
    float *kernel, *gamma, *beta, *mean, *var, *kernel2, *bias2, *dense_kernel, *dense_bias;
    set_random(graph, conv, "kernel", 4, (int64_t[]){3, 3, 3, 8}, 1, 0, &kernel);
    set_random(graph, bn, "gamma", 1, (int64_t[]){8}, 2, 1.0f, &gamma);
    set_random(graph, bn, "beta", 1, (int64_t[]){8}, 3, 0, &beta);
    set_random(graph, bn, "moving_mean", 1, (int64_t[]){8}, 4, 0, &mean);
    set_random(graph, bn, "moving_variance", 1, (int64_t[]){8}, 5, 1.5f, &var);
    set_random(graph, branch, "kernel", 4, (int64_t[]){1, 1, 8, 4}, 6, 0, &kernel2);
    set_random(graph, branch, "bias", 1, (int64_t[]){4}, 7, 0, &bias2);
    set_random(graph, dense, "kernel", 2, (int64_t[]){12, 5}, 8, 0, &dense_kernel);
    set_random(graph, dense, "bias", 1, (int64_t[]){5}, 9, 0, &dense_bias);

    int n = 3;
    float *x = random_floats((size_t)n * 9 * 7 * 3, 10);
    dlp_shape s_in = {9, 7, 3}, s_conv = {5, 4, 8}, s_branch = {5, 4, 4}, s_cat = {5, 4, 12};
    float *a = malloc(sizeof(float) * n * 160), *b = malloc(sizeof(float) * n * 160);
    float *p = malloc(sizeof(float) * n * 160), *c = malloc(sizeof(float) * n * 80), *m = malloc(sizeof(float) * n * 240);
    float g[3 * 12], want[3 * 5];
    cpu_conv2d_naive(&conv_params, x, n, s_in, kernel, NULL, a, s_conv);
    cpu_batchnorm_naive(a, (size_t)n * 20, 8, gamma, beta, mean, var, 1e-3f, b);
    for (int i = 0; i < n * 160; i++) b[i] = b[i] > 0 ? b[i] : 0;
    cpu_pool_naive(DLP_OP_AVG_POOL, &pool_params, b, n, s_conv, p, s_conv);
    cpu_conv2d_naive(&branch_params, b, n, s_conv, kernel2, bias2, c, s_branch);
    for (int q = 0; q < n * 20; q++) {
        memcpy(m + q * 12, p + q * 8, 8 * sizeof(float));
        memcpy(m + q * 12 + 8, c + q * 4, 4 * sizeof(float));
    }
    cpu_global_pool_naive(DLP_OP_GLOBAL_AVG_POOL, m, n, s_cat, g);
    cpu_dense_naive(&dense_params, g, (size_t)n, 12, dense_kernel, dense_bias, want);

    dlp_backend *cpu = NULL;
    CHECK_OK(dlp_backend_create_cpu(2, &cpu));
    dlp_plan *plan = NULL;
    const char *outputs[2] = {"dense_1", "activation_1"};
    CHECK_OK(dlp_plan_create(graph, cpu, 4, outputs, 2, &plan));
    if (plan) {
        /* conv+bn+relu is one step; the rest: pool, conv, concat, gap, dense. */
        CHECK(dlp_plan_step_count(plan) == 6);
        CHECK(dlp_plan_arena_bytes(plan) <= dlp_plan_unshared_bytes(plan));
        /* The estimate (planned, not prepared) is the arena the plan got. */
        size_t estimate = 0;
        CHECK_OK(dlp_plan_estimate_arena_bytes(graph, cpu, 4, outputs, 2, &estimate));
        CHECK(estimate == dlp_plan_arena_bytes(plan));
        CHECK_OK(dlp_plan_run(plan, x, n));
        float got[3 * 5], got_act[3 * 160];
        CHECK_OK(dlp_plan_read_output(plan, 0, got, 15));
        CHECK_OK(dlp_plan_read_output(plan, 1, got_act, 480));
        for (int i = 0; i < 15; i++) CHECK_NEAR(got[i], want[i], 1e-5);
        for (int i = 0; i < 480; i++) CHECK_NEAR(got_act[i], b[i], 1e-5);
        /* Whole batches: 2 images computed as a batch of 4 (the rest stale)
         * give the same 2 outputs, and the output holds 2 images. */
        dlp_plan_run_whole_batches(plan, true);
        CHECK_OK(dlp_plan_run(plan, x + 9 * 7 * 3, 2));
        float whole[2 * 5];
        CHECK_OK(dlp_plan_read_output(plan, 0, whole, 10));
        for (int i = 0; i < 10; i++) CHECK_NEAR(whole[i], want[5 + i], 1e-5);
        CHECK_FAILS(dlp_plan_run(plan, x, 5), DLP_ERR_INVALID_ARGUMENT, "1..4");
        dlp_plan_run_whole_batches(plan, false);
        float small[2];
        CHECK_FAILS(dlp_plan_read_output(plan, 0, small, 2), DLP_ERR_INVALID_ARGUMENT, "10 floats");
    }
    dlp_plan_destroy(plan);
    /* Asking for the conv's own output keeps batch norm and relu as separate steps. */
    const char *conv_output[2] = {"conv2d_1", "dense_1"};
    plan = NULL;
    CHECK_OK(dlp_plan_create(graph, cpu, 1, conv_output, 2, &plan));
    if (plan) CHECK(dlp_plan_step_count(plan) == 8); /* conv, bn, relu apart */
    dlp_plan_destroy(plan);
    const char *missing[1] = {"nope"};
    CHECK_FAILS(dlp_plan_create(graph, cpu, 1, missing, 1, &plan), DLP_ERR_INVALID_ARGUMENT, "\"nope\"");
    free(kernel), free(gamma), free(beta), free(mean), free(var), free(kernel2), free(bias2), free(dense_kernel);
    free(dense_bias), free(x), free(a), free(b), free(p), free(c), free(m);
    dlp_graph_destroy(graph);
    check_limits();

    /* Keras' layer order of InceptionV3 equals the order the real Keras 2.2.4
     * model_config lists its weight-bearing layers in. */
    char path[1024];
    snprintf(path, sizeof path, "%s/models/nsfwjs-inception_v3/model.json", check_env("DLP_SHARED_DIR"));
    json_t *root = json_load_file(path, 0, NULL);
    graph = NULL;
    dlp_model_options options = {DLP_TOP_NONE, DLP_POOLING_AVG};
    CHECK_OK(dlp_zoo_build("inceptionv3", NULL, &options, &graph));
    if (root && graph) {
        json_t *layers = json_object_get(json_object_get(json_object_get(json_object_get(root, "modelTopology"),
                                                                         "model_config"), "config"), "layers");
        int order[256], count = 0, k = 0, mismatches = 0;
        CHECK_OK(dlp_graph_keras_weight_order(graph, order, 256, &count));
        CHECK(count == 188);
        size_t index;
        json_t *layer;
        json_array_foreach(layers, index, layer) {
            const char *cls = json_string_value(json_object_get(layer, "class_name"));
            if (strcmp(cls, "Conv2D") != 0 && strcmp(cls, "BatchNormalization") != 0) continue;
            const char *name = json_string_value(json_object_get(layer, "name"));
            if (k >= count || strcmp(name, dlp_graph_node_name(graph, order[k])) != 0) mismatches++;
            k++;
        }
        CHECK(k == 188 && mismatches == 0);
        CHECK(dlp_graph_node_shape(graph, dlp_graph_find(graph, "mixed5")).c == 768);
        CHECK(dlp_graph_node_shape(graph, dlp_graph_find(graph, "features")).c == 2048);
    }
    json_decref(root);
    dlp_graph_destroy(graph);
    /* Weights of the wrong model are refused naming the layer and shapes. */
    list = NULL;
    dlp_tensor_list_create(&list);
    dlp_tensor_list_add(list, "conv2d_1/kernel", DLP_DTYPE_F32, 4, (int64_t[]){3, 3, 3, 64}, NULL, NULL);
    CHECK_FAILS(dlp_zoo_build("InceptionV3", list, &options, &graph), DLP_ERR_MODEL, "188 weight-bearing layers");
    dlp_tensor_list_destroy(list);
    CHECK_FAILS(dlp_zoo_build("NoSuchNet", NULL, &options, &graph), DLP_ERR_INVALID_ARGUMENT, "NoSuchNet");
    CHECK(dlp_zoo_count() >= 1 && dlp_zoo_find("InceptionV3")->feature_shape.c == 2048);
    dlp_backend_destroy(cpu);
    return check_summary("graph");
}

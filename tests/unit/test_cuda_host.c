/* The CUDA backend's host-side planning, on any machine (no GPU needed):
 * HWIO -> OHWI kernel re-layout against a naive loop over the definition,
 * TensorFlow 'same' padding split against TF's formula (checked on the
 * examples of the TF docs' definition: total = max((out-1)*s + k - in, 0),
 * before = total/2), float -> fp16 / bf16 weight conversion bit for bit
 * against NumPy's float16 and ml_dtypes' bfloat16 (tests/oracle/half_oracle.py:
 * 3032 values, edges and random patterns; NaN only checked to stay NaN, its
 * payload is free), fp16 / bf16 decoding (all 65,536 patterns of each back
 * through those encoders, and values IEEE 754 fixes), the convolution algorithm cache (keys by storage type and
 * search mode too), the --precision names, the residual-fusion pattern
 * (conv -> add -> relu, and conv -> add alone) on CPU plans of small graphs, the workspace cap rule, and that
 * creating the backend without a usable GPU fails cleanly with DLP_ERR_DEVICE. */
#include <math.h>

#include "check.h"
#include "dlp/device.h"
#include "dlp/dlp.h"
#include "graph/device_layout.h"
#include "graph/plan_internal.h"

static void check_relayout(int kh, int kw, int cin, int cout)
{
    size_t count = (size_t)kh * kw * cin * cout;
    float *hwio = malloc(count * sizeof(float)), *ohwi = malloc(count * sizeof(float));
    for (size_t i = 0; i < count; i++) hwio[i] = (float)i * 0.5f - 3.0f;
    device_hwio_to_ohwi(hwio, kh, kw, cin, cout, ohwi);
    int wrong = 0;
    for (int y = 0; y < kh; y++)
        for (int x = 0; x < kw; x++)
            for (int i = 0; i < cin; i++)
                for (int o = 0; o < cout; o++) {
                    float want = hwio[(((size_t)y * kw + x) * cin + i) * cout + o];
                    float got = ohwi[(((size_t)o * kh + y) * kw + x) * cin + i];
                    if (got != want) wrong++;
                }
    CHECK(wrong == 0);
    free(hwio), free(ohwi);
}

static void check_split(int input, int kernel, int stride, dlp_padding padding, int before, int after)
{
    int b = -1, a = -1;
    device_padding_split(input, kernel, stride, padding, &b, &a);
    CHECK(b == before && a == after);
    if (b != before || a != after)
        fprintf(stderr, "split(in %d, k %d, s %d, %s): %d/%d, expected %d/%d\n", input, kernel, stride,
                padding == DLP_PAD_SAME ? "same" : "valid", b, a, before, after);
    /* The split agrees with the graph's own pad_before. */
    CHECK(b == dlp_conv_pad_before(input, kernel, stride, padding));
}

static bool half_is_nan(uint16_t bits) { return (bits & 0x7c00u) == 0x7c00u && (bits & 0x3ffu); }
static bool bfloat16_is_nan(uint16_t bits) { return (bits & 0x7f80u) == 0x7f80u && (bits & 0x7fu); }

static void check_conversions(const char *fixtures)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/half/conversions.bin", fixtures);
    FILE *file = fopen(path, "rb");
    uint32_t count = 0;
    CHECK(file && fread(&count, sizeof count, 1, file) == 1 && count > 3000 && count < 100000);
    if (!file || count <= 3000 || count >= 100000) {
        if (file) fclose(file);
        return;
    }
    float *values = malloc(count * sizeof *values);
    uint16_t *want_half = malloc(count * sizeof *want_half), *want_bf16 = malloc(count * sizeof *want_bf16);
    uint16_t *half = malloc(count * sizeof *half), *bf16 = malloc(count * sizeof *bf16);
    CHECK(fread(values, sizeof *values, count, file) == count);
    CHECK(fread(want_half, sizeof *want_half, count, file) == count);
    CHECK(fread(want_bf16, sizeof *want_bf16, count, file) == count);
    fclose(file);
    device_float_to_half(values, half, count);
    device_float_to_bfloat16(values, bf16, count);
    int wrong_half = 0, wrong_bf16 = 0;
    for (uint32_t i = 0; i < count; i++) {
        bool half_ok = half_is_nan(want_half[i]) ? half_is_nan(half[i]) : half[i] == want_half[i];
        bool bf16_ok = bfloat16_is_nan(want_bf16[i]) ? bfloat16_is_nan(bf16[i]) : bf16[i] == want_bf16[i];
        if (!half_ok && wrong_half++ < 5)
            fprintf(stderr, "fp16 of %.9g (0x%08x): 0x%04x, NumPy 0x%04x\n", values[i], ((uint32_t *)values)[i],
                    half[i], want_half[i]);
        if (!bf16_ok && wrong_bf16++ < 5)
            fprintf(stderr, "bf16 of %.9g: 0x%04x, ml_dtypes 0x%04x\n", values[i], bf16[i], want_bf16[i]);
    }
    printf("conversions: %u values, %d fp16 and %d bf16 differ from NumPy / ml_dtypes\n", count, wrong_half,
           wrong_bf16);
    CHECK(wrong_half == 0 && wrong_bf16 == 0);
    free(values), free(want_half), free(want_bf16), free(half), free(bf16);
}

/* The decoders against the encoders: every one of the 65,536 fp16 and bf16
 * patterns decodes to a float that encodes back to the same pattern (NaN to a
 * NaN), and a few values IEEE 754 fixes exactly. */
static void check_decoding(void)
{
    int wrong = 0;
    for (uint32_t bits = 0; bits < 65536; bits++) {
        float h = device_half_to_float((uint16_t)bits), b = device_bfloat16_to_float((uint16_t)bits);
        uint16_t h_back, b_back;
        device_float_to_half(&h, &h_back, 1);
        device_float_to_bfloat16(&b, &b_back, 1);
        bool h_ok = half_is_nan((uint16_t)bits) ? half_is_nan(h_back) && isnan(h) : h_back == bits;
        bool b_ok = bfloat16_is_nan((uint16_t)bits) ? bfloat16_is_nan(b_back) && isnan(b) : b_back == bits;
        if ((!h_ok || !b_ok) && wrong++ < 5)
            fprintf(stderr, "0x%04x: fp16 %.9g -> 0x%04x, bf16 %.9g -> 0x%04x\n", bits, h, h_back, b, b_back);
    }
    CHECK(wrong == 0);
    CHECK(device_half_to_float(0x3c00) == 1.0f && device_half_to_float(0x0001) == ldexpf(1.0f, -24));
    CHECK(device_half_to_float(0x7bff) == 65504.0f && device_half_to_float(0xfc00) == -INFINITY);
    CHECK(device_half_to_float(0x8000) == 0.0f && signbit(device_half_to_float(0x8000)));
    CHECK(device_bfloat16_to_float(0x3f80) == 1.0f && device_bfloat16_to_float(0xc040) == -3.0f);
}

static void check_precision_names(void)
{
    const char *names[4] = {"fp32", "tf32", "fp16", "bf16"};
    const dlp_cuda_precision precisions[4] = {DLP_CUDA_FP32, DLP_CUDA_FP32, DLP_CUDA_FP16, DLP_CUDA_BF16};
    for (int i = 0; i < 4; i++) {
        dlp_cuda_precision precision = DLP_CUDA_BF16;
        bool tf32 = i != 1;
        CHECK_OK(dlp_cuda_precision_from_name(names[i], &precision, &tf32));
        CHECK(precision == precisions[i] && tf32 == (i == 1));
        CHECK(strcmp(dlp_cuda_precision_name(precision, tf32), names[i]) == 0);
    }
    dlp_cuda_precision precision;
    bool tf32;
    CHECK_FAILS(dlp_cuda_precision_from_name("half", &precision, &tf32), DLP_ERR_INVALID_ARGUMENT,
                "expected fp32, tf32, fp16 or bf16");
}

/* The workspace cap: a given cap as it is; else 256 MiB, and for full fp32 a
 * quarter of the free memory where that is more. */
static void check_workspace_cap(void)
{
    const size_t mib = (size_t)1 << 20, gib = (size_t)1 << 30;
    CHECK(device_workspace_cap(16 * mib, true, 80 * gib) == 16 * mib);
    CHECK(device_workspace_cap(64 * gib, false, 0) == 64 * gib);
    CHECK(device_workspace_cap(0, true, 80 * gib) == 20 * gib);
    CHECK(device_workspace_cap(0, false, 80 * gib) == 256 * mib);
    CHECK(device_workspace_cap(0, true, 1000 * mib) == 256 * mib);
    CHECK(device_workspace_cap(0, true, 1028 * mib) == 257 * mib);
    CHECK(device_workspace_cap(0, true, 0) == 256 * mib);
}

/* input -> conv (3x3, linear unless told, bias unless told) -> add(conv, input) -> activation "op". */
static dlp_plan *residual_plan(dlp_backend *cpu, dlp_activation conv_activation, bool bias, dlp_activation last,
                               bool branch_is_output)
{
    dlp_graph *graph = NULL;
    int input = -1, conv = -1, add = -1, node = -1;
    CHECK_OK(dlp_graph_create(&graph));
    CHECK_OK(dlp_graph_input(graph, "input_1", (dlp_shape){6, 5, 4}, &input));
    dlp_conv2d_params p = {3, 3, 1, 1, DLP_PAD_SAME, 4, bias, conv_activation};
    CHECK_OK(dlp_graph_conv2d(graph, "branch", input, &p, &conv));
    CHECK_OK(dlp_graph_add(graph, "add", (int[]){conv, input}, 2, &add));
    CHECK_OK(dlp_graph_activation(graph, "op", add, last, &node));
    const char *outputs[2] = {"op", "branch"};
    dlp_plan *plan = NULL;
    CHECK_OK(dlp_plan_create(graph, cpu, 3, outputs, branch_is_output ? 2 : 1, &plan));
    dlp_graph_destroy(graph);
    return plan;
}

/* gpu.graph_cuda's bottleneck cases: input 6x5x16 -> 1x1 relu to reduce
 * channels -> conv (kernel, linear, bias) to 16 -> add(conv, input) -> relu,
 * at its max batch 37: the relu's buffer is clear, so the GPU fuses them. */
static void check_bottleneck_direct(dlp_backend *cpu, int reduce, int kernel)
{
    dlp_graph *graph = NULL;
    int input = -1, x = -1, conv = -1, add = -1, node = -1;
    CHECK_OK(dlp_graph_create(&graph));
    CHECK_OK(dlp_graph_input(graph, "input_1", (dlp_shape){6, 5, 16}, &input));
    dlp_conv2d_params r = {1, 1, 1, 1, DLP_PAD_SAME, reduce, true, DLP_ACT_RELU};
    CHECK_OK(dlp_graph_conv2d(graph, "reduce", input, &r, &x));
    dlp_conv2d_params p = {kernel, kernel, 1, 1, kernel == 1 ? DLP_PAD_VALID : DLP_PAD_SAME, 16, true, DLP_ACT_LINEAR};
    CHECK_OK(dlp_graph_conv2d(graph, "branch", x, &p, &conv));
    CHECK_OK(dlp_graph_add(graph, "add", (int[]){conv, input}, 2, &add));
    CHECK_OK(dlp_graph_activation(graph, "op", add, DLP_ACT_RELU, &node));
    const char *outputs[1] = {"op"};
    dlp_plan *plan = NULL;
    CHECK_OK(dlp_plan_create(graph, cpu, 37, outputs, 1, &plan));
    dlp_graph_destroy(graph);
    int shortcut = -1, output = -1;
    bool direct = false, relu = false;
    if (plan) {
        CHECK(device_residual_match(plan, 1, &shortcut, &output, &direct, &relu) && direct && relu);
        CHECK(shortcut == plan->input_value);
        dlp_plan_destroy(plan);
    }
}

static void check_residual_match(void)
{
    dlp_backend *cpu = NULL;
    CHECK_OK(dlp_backend_create_cpu(1, &cpu));
    if (!cpu) return;
    int shortcut = -1, output = -1;
    bool direct = true, relu = false;
    dlp_plan *plan = residual_plan(cpu, DLP_ACT_LINEAR, true, DLP_ACT_RELU, false);
    if (plan) {
        CHECK(plan->step_count == 3);
        CHECK(device_residual_match(plan, 0, &shortcut, &output, &direct, &relu) && relu);
        CHECK(shortcut == plan->input_value && output == plan->steps[2].output);
        CHECK(output == plan->output_values[0]);
        /* Written directly only if the relu's buffer is clear of the conv's input (here also the shortcut). */
        const plan_value *in = &plan->values[plan->input_value], *out = &plan->values[output];
        size_t in_end = in->offset_floats + in->floats_per_image * 3, out_end = out->offset_floats + out->floats_per_image * 3;
        bool overlap = in->offset_floats < out_end && out->offset_floats < in_end;
        printf("residual: input at %zu, relu output at %zu: %s\n", in->offset_floats, out->offset_floats,
               direct ? "direct" : "not direct (the relu's buffer overlaps the conv's input)");
        CHECK(direct == !overlap);
        CHECK(!device_residual_match(plan, 1, &shortcut, &output, &direct, &relu)); /* starts at the conv only */
        dlp_plan_destroy(plan);
    }
    /* Another activation after the add: the conv takes the add alone (Xception's ending), into the add's output. */
    plan = residual_plan(cpu, DLP_ACT_LINEAR, true, DLP_ACT_SIGMOID, false);
    if (plan) {
        relu = true;
        CHECK(device_residual_match(plan, 0, &shortcut, &output, &direct, &relu) && !relu);
        CHECK(shortcut == plan->input_value && output == plan->steps[1].output);
        dlp_plan_destroy(plan);
    }
    /* Not the pattern: the conv's own activation, no bias, the branch read elsewhere. */
    const struct {
        dlp_activation conv_activation, last;
        bool bias, branch_is_output;
    } refused[3] = {{DLP_ACT_RELU, DLP_ACT_RELU, true, false},
                    {DLP_ACT_LINEAR, DLP_ACT_RELU, false, false},
                    {DLP_ACT_LINEAR, DLP_ACT_RELU, true, true}};
    for (int i = 0; i < 3; i++) {
        plan = residual_plan(cpu, refused[i].conv_activation, refused[i].bias, refused[i].last,
                             refused[i].branch_is_output);
        if (!plan) continue;
        bool matched = false;
        for (int s = 0; s < plan->step_count; s++)
            matched = matched || device_residual_match(plan, s, &shortcut, &output, &direct, &relu);
        if (matched) fprintf(stderr, "residual pattern matched refused case %d\n", i);
        CHECK(!matched);
        dlp_plan_destroy(plan);
    }
    check_bottleneck_direct(cpu, 4, 3);
    check_bottleneck_direct(cpu, 16, 1);
    dlp_backend_destroy(cpu);
}

static void check_cache(void)
{
    device_conv_cache cache = {0};
    dlp_shape in = {17, 17, 768};
    device_conv_key a = device_conv_key_make(32, in, 192, 1, 7, 0, 3, 1, 1, 0);
    device_conv_key same = device_conv_key_make(32, in, 192, 1, 7, 0, 3, 1, 1, 0);
    device_conv_key other_batch = device_conv_key_make(1, in, 192, 1, 7, 0, 3, 1, 1, 0);
    device_conv_key transposed = device_conv_key_make(32, in, 192, 7, 1, 3, 0, 1, 1, 0);
    device_conv_key tf32 = device_conv_key_make(32, in, 192, 1, 7, 0, 3, 1, 1, 1);
    device_conv_key half = device_conv_key_with(a, 1, 0), timed = device_conv_key_with(a, 0, 1);
    device_conv_choice choice = {0, 0, 0}, found = {-1, -1, 1};
    CHECK(!device_conv_cache_find(&cache, &a, &found));
    choice.algorithm = 1, choice.math_type = 3, choice.workspace_bytes = 4096;
    CHECK_OK(device_conv_cache_put(&cache, &a, &choice));
    CHECK(device_conv_cache_find(&cache, &same, &found));
    CHECK(found.algorithm == 1 && found.math_type == 3 && found.workspace_bytes == 4096);
    CHECK(!device_conv_cache_find(&cache, &other_batch, &found));
    CHECK(!device_conv_cache_find(&cache, &transposed, &found));
    CHECK(!device_conv_cache_find(&cache, &tf32, &found));
    /* Another storage type or search mode is another entry; the defaults are a's. */
    CHECK(!device_conv_cache_find(&cache, &half, &found));
    CHECK(!device_conv_cache_find(&cache, &timed, &found));
    device_conv_key plain = device_conv_key_with(a, 0, 0);
    CHECK(device_conv_cache_find(&cache, &plain, &found));
    /* An output written into a slice of a wider buffer (another stride) is another entry. */
    device_conv_key sliced = a;
    sliced.out_stride = 768;
    CHECK(!device_conv_cache_find(&cache, &sliced, &found));
    /* Growth past the first capacity keeps every entry. */
    for (int n = 1; n <= 100; n++) {
        device_conv_key key = device_conv_key_make(n, (dlp_shape){n, n + 1, 3}, 8, 3, 3, 1, 1, 2, 2, 0);
        device_conv_choice c = {n % 4, 3, (size_t)n * 10};
        CHECK_OK(device_conv_cache_put(&cache, &key, &c));
    }
    int wrong = 0;
    for (int n = 1; n <= 100; n++) {
        device_conv_key key = device_conv_key_make(n, (dlp_shape){n, n + 1, 3}, 8, 3, 3, 1, 1, 2, 2, 0);
        if (!device_conv_cache_find(&cache, &key, &found) || found.workspace_bytes != (size_t)n * 10) wrong++;
    }
    CHECK(wrong == 0);
    CHECK(cache.count == 101);
    /* Putting an existing key replaces its choice. */
    choice.algorithm = 0;
    CHECK_OK(device_conv_cache_put(&cache, &a, &choice));
    CHECK(cache.count == 101);
    CHECK(device_conv_cache_find(&cache, &a, &found) && found.algorithm == 0);
    device_conv_cache_clear(&cache);
    CHECK(cache.count == 0 && cache.keys == NULL);
}

int main(void)
{
    check_relayout(1, 1, 1, 1);
    check_relayout(3, 3, 3, 32);
    check_relayout(1, 7, 5, 4);
    check_relayout(7, 1, 4, 5);
    check_relayout(5, 3, 2, 7);

    /* 'valid' never pads. */
    check_split(299, 3, 2, DLP_PAD_VALID, 0, 0);
    /* Symmetric 'same': odd kernel, stride 1. */
    check_split(35, 3, 1, DLP_PAD_SAME, 1, 1);
    check_split(17, 7, 1, DLP_PAD_SAME, 3, 3);
    /* Odd total: the extra pixel after (bottom/right), as TensorFlow does. */
    check_split(8, 3, 2, DLP_PAD_SAME, 0, 1);  /* out 4, total (4-1)*2+3-8 = 1 */
    check_split(224, 7, 2, DLP_PAD_SAME, 2, 3); /* ResNet50's conv1 as 'same': total 5 */
    check_split(6, 2, 1, DLP_PAD_SAME, 0, 1);  /* even kernel */
    check_split(7, 2, 2, DLP_PAD_SAME, 0, 1);  /* out 4, total 3*2+2-7 = 1 */
    check_split(9, 3, 2, DLP_PAD_SAME, 1, 1);  /* out 5, total 4*2+3-9 = 2 */
    check_split(5, 1, 2, DLP_PAD_SAME, 0, 0);  /* total would be negative */

    check_cache();
    check_conversions(check_env("DLP_FIXTURES"));
    check_decoding();
    check_precision_names();
    check_residual_match();
    check_workspace_cap();

    /* Options out of range are refused before any device is touched (a build
     * without CUDA refuses everything with "built without CUDA" instead). */
    dlp_backend *backend = NULL;
    dlp_cuda_versions versions;
    dlp_cuda_get_versions(&versions);
    dlp_cuda_options options = {(dlp_cuda_precision)7, false, 0, DLP_CUDA_SEARCH_HEURISTIC, false, false, false, false, false};
    if (versions.built_with_cuda)
        CHECK_FAILS(dlp_backend_create_cuda(0, &options, &backend), DLP_ERR_INVALID_ARGUMENT, "precision 7");
    else
        CHECK_FAILS(dlp_backend_create_cuda(0, &options, &backend), DLP_ERR_DEVICE, "built without CUDA");
    CHECK(backend == NULL);
    /* So is a DLP_CUDA_SEARCH that names no search, with the variable and its value. */
    if (versions.built_with_cuda) {
        setenv("DLP_CUDA_SEARCH", "fastest", 1);
        CHECK_FAILS(dlp_backend_create_cuda(0, NULL, &backend), DLP_ERR_INVALID_ARGUMENT, "DLP_CUDA_SEARCH is \"fastest\"");
        CHECK(backend == NULL);
        unsetenv("DLP_CUDA_SEARCH");
        /* And a DLP_CUDA_WORKSPACE_MIB that is not a whole number of MiB in range. */
        const char *bad[] = {"lots", "0", "-4", "256k", "2097152"};
        for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
            setenv("DLP_CUDA_WORKSPACE_MIB", bad[k], 1);
            CHECK_FAILS(dlp_backend_create_cuda(0, NULL, &backend), DLP_ERR_INVALID_ARGUMENT, "DLP_CUDA_WORKSPACE_MIB is");
            CHECK(backend == NULL);
        }
        unsetenv("DLP_CUDA_WORKSPACE_MIB");
    }
    /* Without a usable GPU the backend fails with the cause, no crash. */
    int devices = 0;
    if (dlp_device_count(&devices) != DLP_OK) {
        CHECK(dlp_backend_create_cuda(0, NULL, &backend) == DLP_ERR_DEVICE);
        options.precision = DLP_CUDA_BF16;
        CHECK(dlp_backend_create_cuda(0, &options, &backend) == DLP_ERR_DEVICE);
        CHECK(strlen(dlp_last_error()) > 10);
        CHECK(backend == NULL);
        printf("cuda backend without a GPU: %s\n", dlp_last_error());
    } else {
        CHECK_FAILS(dlp_backend_create_cuda(devices, NULL, &backend), DLP_ERR_DEVICE, "does not exist");
        CHECK(backend == NULL);
    }
    return check_summary("cuda_host");
}

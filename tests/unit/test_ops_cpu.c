/* CPU ops: each fast op (im2col + sgemm, OpenMP loops) against its naive
 * reference on random inputs: odd sizes, stride 1 and 2, same and valid,
 * batch 1 and 3, shapes that make cpu_conv2d cut rows and channels into
 * several tiles, and the direct kernels for 16-64 filters (conv_direct.c,
 * where the CPU has AVX-512), each GEMM conv with OpenBLAS' sgemm and with
 * the packed AVX-512 GEMM (gemm_packed.c); relative L2 <= 1e-5. The packed
 * GEMM alone against a double-precision product at every edge of its
 * blocking (rows past a multiple of 12, columns past 16 and 32, k past 256),
 * its column tiles bit for bit the whole product, and nothing written
 * outside its columns. The depthwise conv gives, bit for bit, the
 * definition summed in float in its order (bias, then the taps inside the
 * image in kernel order, a multiply and an add each), and with a ReLU folded
 * into its input the plain one on the ReLU's floats. A conv with a shortcut fused in
 * (ResNet's conv -> add -> relu, Xception's conv -> add) gives, bit for bit, the conv, cpu_add and
 * cpu_activation run one after another, with the shortcut apart from the
 * output and as the output itself. Plus TF 'same' geometry facts. */
#include <float.h>

#include "backend/cpu/conv_direct.h"
#include "backend/cpu/depthwise.h"
#include "backend/cpu/gemm_packed.h"
#include "backend/cpu/ops.h"
#include "check.h"
#include "dlp/dlp.h"

static unsigned long long rng_state = 0x9E3779B97F4A7C15ull;

static float uniform(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (float)((rng_state >> 11) * (1.0 / 9007199254740992.0)) * 2.0f - 1.0f;
}

static float *random_floats(size_t count)
{
    float *data = malloc((count ? count : 1) * sizeof(float));
    for (size_t i = 0; i < count; i++) data[i] = uniform();
    return data;
}

static int direct_cases; /* test_conv cases the direct kernels ran (by themselves) */
static int packed_cases; /* test_conv cases that ran on the packed GEMM too */
static int avx2_cases;   /* test_gemm_packed cases the AVX2 kernel matched bit for bit */

/* The kernel packed as the CPU backend packs it, or NULL where it would not
 * (no AVX-512, a direct conv): cpu_conv2d then takes OpenBLAS' sgemm. */
static float *packed_kernel(const dlp_conv2d_params *p, dlp_shape is, dlp_shape os, bool shortcut,
                            const float *kernel)
{
    if (!cpu_gemm_packed_enabled() || !cpu_conv2d_uses_gemm(p, is, os, shortcut)) return NULL;
    int k = p->kernel_h * p->kernel_w * is.c;
    size_t bytes = cpu_gemm_packed_floats(k, p->filters) * sizeof(float);
    float *packed = aligned_alloc(64, (bytes + 63) / 64 * 64);
    cpu_gemm_pack_b(kernel, k, p->filters, packed);
    return packed;
}

static void test_conv(int n, dlp_shape is, int kh, int kw, int stride, dlp_padding padding, int cout, bool bias,
                      dlp_activation act, bool depthwise)
{
    dlp_conv2d_params p = {kh, kw, stride, stride, padding, cout, bias, act};
    dlp_shape os = {dlp_conv_output_size(is.h, kh, stride, padding), dlp_conv_output_size(is.w, kw, stride, padding),
                    depthwise ? is.c * cout : cout};
    size_t in_count = (size_t)n * dlp_shape_elements(is), out_count = (size_t)n * dlp_shape_elements(os);
    float *in = random_floats(in_count), *kernel = random_floats((size_t)kh * kw * is.c * cout);
    float *b = bias ? random_floats((size_t)os.c) : NULL;
    float *fast = calloc(out_count, sizeof(float)), *slow = calloc(out_count, sizeof(float));
    if (depthwise) {
        cpu_depthwise_conv2d(&p, in, false, n, is, kernel, b, fast, os, 2);
        cpu_depthwise_conv2d_naive(&p, in, n, is, kernel, b, slow, os);
    } else {
        float *workspace = calloc(cpu_conv2d_workspace_floats(&p, is, false, 2) + 1, sizeof(float));
        float *packed = packed_kernel(&p, is, os, false, kernel);
        cpu_conv2d_naive(&p, in, n, is, kernel, b, slow, os);
        if (packed) {
            packed_cases++;
            cpu_conv2d(&p, in, n, is, kernel, packed, b, NULL, fast, os, 0, workspace, 2);
            double error = check_relative_l2(fast, slow, out_count);
            if (!(error <= 1e-5))
                fprintf(stderr, "packed conv n=%d in %dx%dx%d k %dx%d s%d cout %d: rel-L2 %g\n", n, is.h, is.w, is.c,
                        kh, kw, stride, cout, error);
            CHECK(error <= 1e-5);
        }
        if (cpu_conv2d_direct_fits(&p, os.w)) {
            /* The direct kernels on every conv they take, whether or not
             * cpu_conv2d picks them beside the packed GEMM: no bias, linear. */
            direct_cases++;
            dlp_conv2d_params plain = p;
            plain.use_bias = false, plain.activation = DLP_ACT_LINEAR;
            float *direct = malloc(out_count * sizeof(float)), *want = malloc(out_count * sizeof(float));
            cpu_conv2d_direct_pixels(&plain, in, is, os, kernel, direct, (size_t)cout, 0, (size_t)n * os.h * os.w);
            cpu_conv2d_naive(&plain, in, n, is, kernel, NULL, want, os);
            double error = check_relative_l2(direct, want, out_count);
            if (!(error <= 1e-5))
                fprintf(stderr, "direct conv n=%d in %dx%dx%d k %dx%d s%d cout %d: rel-L2 %g\n", n, is.h, is.w, is.c,
                        kh, kw, stride, cout, error);
            CHECK(error <= 1e-5);
            free(direct), free(want);
        }
        cpu_conv2d(&p, in, n, is, kernel, NULL, b, NULL, fast, os, 0, workspace, 2);
        free(workspace), free(packed);
    }
    double error = check_relative_l2(fast, slow, out_count);
    if (!(error <= 1e-5))
        fprintf(stderr, "%s n=%d in %dx%dx%d k %dx%d s%d %s cout %d: rel-L2 %g\n", depthwise ? "depthwise" : "conv", n,
                is.h, is.w, is.c, kh, kw, stride, padding == DLP_PAD_SAME ? "same" : "valid", cout, error);
    CHECK(error <= 1e-5);
    free(in), free(kernel), free(b), free(fast), free(slow);
}

/* Stride 1, 'same', linear with or without bias, as ResNet's last conv of a
 * block (the shortcut added, then the relu: relu true) or Xception's (the
 * shortcut added, nothing after it). */
static void test_conv_shortcut(int n, dlp_shape is, int k, int cout, bool bias, bool relu)
{
    dlp_conv2d_params p = {k, k, 1, 1, DLP_PAD_SAME, cout, bias, DLP_ACT_LINEAR};
    dlp_conv2d_params fused = p;
    fused.activation = relu ? DLP_ACT_RELU : DLP_ACT_LINEAR;
    dlp_shape os = {is.h, is.w, cout};
    size_t out_count = (size_t)n * dlp_shape_elements(os);
    float *in = random_floats((size_t)n * dlp_shape_elements(is)), *kernel = random_floats((size_t)k * k * is.c * cout);
    float *b = bias ? random_floats((size_t)cout) : NULL, *shortcut = random_floats(out_count);
    float *want = calloc(out_count, sizeof(float)), *apart = calloc(out_count, sizeof(float));
    float *in_place = malloc(out_count * sizeof(float));
    float *workspace = calloc(cpu_conv2d_workspace_floats(&p, is, true, 2) + 1, sizeof(float));
    float *conv = calloc(out_count, sizeof(float));
    /* Once with OpenBLAS' sgemm, once with the packed GEMM where the CPU has it:
     * the shortcut conv and the plain one each time on the same GEMM. */
    float *packed = packed_kernel(&p, is, os, true, kernel);
    for (int pass = 0; pass < (packed ? 2 : 1); pass++) {
        const float *pk = pass ? packed : NULL;
        cpu_conv2d(&p, in, n, is, kernel, pk, b, NULL, conv, os, 0, workspace, 2);
        cpu_add((const float *[]){conv, shortcut}, 2, out_count, want, 2);
        if (relu) cpu_activation(DLP_ACT_RELU, want, out_count / (size_t)cout, cout, 2);
        cpu_conv2d(&fused, in, n, is, kernel, pk, b, shortcut, apart, os, 0, workspace, 2);
        memcpy(in_place, shortcut, out_count * sizeof(float));
        cpu_conv2d(&fused, in, n, is, kernel, pk, b, in_place, in_place, os, 0, workspace, 2);
        bool same_apart = !memcmp(apart, want, out_count * sizeof(float));
        bool same_in_place = !memcmp(in_place, want, out_count * sizeof(float));
        if (!same_apart || !same_in_place)
            fprintf(stderr, "conv+shortcut%s (%s) n=%d in %dx%dx%d k %d cout %d: apart %s, in place %s\n",
                    relu ? "+relu" : "", pk ? "packed GEMM" : "sgemm", n, is.h, is.w, is.c, k, cout,
                    same_apart ? "same" : "differs",
                    same_in_place ? "same" : "differs");
        CHECK(same_apart && same_in_place);
    }
    free(in), free(kernel), free(b), free(shortcut), free(want), free(apart), free(in_place), free(workspace);
    free(conv), free(packed);
}

/* cpu_gemm_packed against a double product: c[m, n] = a[m, k] * b[k, n],
 * a's rows lda > k apart, c's ldc > n; then the columns in tiles of 16 and
 * 32 (a thread's column chunk) give the same bytes as the whole, and the
 * floats between rows (ldc > n) keep their poison. */
static void test_gemm_packed(int m, int n, int k)
{
    size_t lda = (size_t)k + 3, ldc = (size_t)n + 5;
    float *a = random_floats((size_t)m * lda), *b = random_floats((size_t)k * n);
    float *packed = aligned_alloc(64, (cpu_gemm_packed_floats(k, n) * sizeof(float) + 63) / 64 * 64);
    float *c = malloc((size_t)m * ldc * sizeof(float)), *tiled = malloc((size_t)m * ldc * sizeof(float));
    float *want = malloc((size_t)m * n * sizeof(float)), *got = malloc((size_t)m * n * sizeof(float));
    const float poison = -12345.0f;
    for (size_t i = 0; i < (size_t)m * ldc; i++) c[i] = tiled[i] = poison;
    cpu_gemm_pack_b(b, k, n, packed);
    cpu_gemm_packed(m, 0, n, n, k, a, lda, packed, c, ldc, NULL);
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            double sum = 0.0;
            for (int t = 0; t < k; t++) sum += (double)a[(size_t)i * lda + t] * b[(size_t)t * n + j];
            want[(size_t)i * n + j] = (float)sum;
            got[(size_t)i * n + j] = c[(size_t)i * ldc + j];
        }
    double error = check_relative_l2(got, want, (size_t)m * n);
    /* The AVX2 kernel (where the process runs the AVX-512 one): the same bytes. */
    if (cpu_gemm_packed_isa() == CPU_GEMM_AVX512 && cpu_gemm_isa_supported(CPU_GEMM_AVX2)) {
        float *avx2 = malloc((size_t)m * ldc * sizeof(float));
        for (size_t i = 0; i < (size_t)m * ldc; i++) avx2[i] = poison;
        cpu_gemm_packed_isa_run(CPU_GEMM_AVX2, m, 0, n, n, k, a, lda, packed, avx2, ldc, NULL);
        bool same = !memcmp(avx2, c, (size_t)m * ldc * sizeof(float));
        if (!same) fprintf(stderr, "packed gemm m=%d n=%d k=%d: the AVX2 kernel differs\n", m, n, k);
        CHECK(same);
        avx2_cases++;
        free(avx2);
    }
    /* The epilogue (bias, a shortcut, relu) in the kernel: the same bytes as
     * the plain product followed by the three operations in float. */
    {
        float *bias = random_floats((size_t)n), *shortcut = random_floats((size_t)m * ldc);
        float *fused = malloc((size_t)m * ldc * sizeof(float));
        for (size_t i = 0; i < (size_t)m * ldc; i++) fused[i] = poison;
        cpu_gemm_epilogue epilogue = {bias, shortcut, ldc, true};
        cpu_gemm_packed(m, 0, n, n, k, a, lda, packed, fused, ldc, &epilogue);
        int same = 1;
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) {
                float x = c[(size_t)i * ldc + j];
                x += bias[j];
                x += shortcut[(size_t)i * ldc + j];
                x = x > 0.0f ? x : 0.0f;
                same &= !memcmp(&x, &fused[(size_t)i * ldc + j], sizeof x);
            }
        if (!same) fprintf(stderr, "packed gemm m=%d n=%d k=%d: the epilogue's bytes differ\n", m, n, k);
        CHECK(same);
        free(bias), free(shortcut), free(fused);
    }
    int chunk = n > 40 ? 32 : 16, poison_kept = 1, tiles_same = 1;
    for (int j0 = 0; j0 < n; j0 += chunk)
        cpu_gemm_packed(m, j0, n - j0 < chunk ? n - j0 : chunk, n, k, a, lda, packed, tiled + j0, ldc, NULL);
    for (int i = 0; i < m; i++) {
        tiles_same &= !memcmp(c + (size_t)i * ldc, tiled + (size_t)i * ldc, (size_t)n * sizeof(float));
        for (size_t j = (size_t)n; j < ldc; j++) poison_kept &= c[(size_t)i * ldc + j] == poison;
    }
    if (!(error <= 1e-5) || !tiles_same || !poison_kept)
        fprintf(stderr, "packed gemm m=%d n=%d k=%d: rel-L2 %g, tiles %s, poison %s\n", m, n, k, error,
                tiles_same ? "same" : "differ", poison_kept ? "kept" : "overwritten");
    CHECK(error <= 1e-5);
    CHECK(tiles_same);
    CHECK(poison_kept);
    free(a), free(b), free(packed), free(c), free(tiled), free(want), free(got);
}

/* The depthwise conv (mult 1) against its definition summed in float in
 * the definition's order: the same bytes. */
static void test_depthwise_exact(int n, dlp_shape is, int k, int stride, dlp_padding padding, bool bias)
{
    dlp_conv2d_params p = {k, k, stride, stride, padding, 1, bias, DLP_ACT_LINEAR};
    dlp_shape os = {dlp_conv_output_size(is.h, k, stride, padding), dlp_conv_output_size(is.w, k, stride, padding),
                    is.c};
    size_t out_count = (size_t)n * dlp_shape_elements(os);
    float *in = random_floats((size_t)n * dlp_shape_elements(is)), *kernel = random_floats((size_t)k * k * is.c);
    float *b = bias ? random_floats((size_t)is.c) : NULL;
    float *got = malloc(out_count * sizeof(float)), *want = malloc(out_count * sizeof(float));
    cpu_depthwise_conv2d(&p, in, false, n, is, kernel, b, got, os, 2);
    int pad_top = dlp_conv_pad_before(is.h, k, stride, padding);
    int pad_left = dlp_conv_pad_before(is.w, k, stride, padding);
    for (int img = 0; img < n; img++)
        for (int oy = 0; oy < os.h; oy++)
            for (int ox = 0; ox < os.w; ox++)
                for (int c = 0; c < is.c; c++) {
                    float sum = b ? b[c] : 0.0f;
                    for (int ky = 0; ky < k; ky++)
                        for (int kx = 0; kx < k; kx++) {
                            int iy = oy * stride + ky - pad_top, ix = ox * stride + kx - pad_left;
                            if (iy < 0 || iy >= is.h || ix < 0 || ix >= is.w) continue;
                            float product = in[(((size_t)img * is.h + iy) * is.w + ix) * is.c + c] *
                                            kernel[((size_t)ky * k + kx) * is.c + c];
                            sum += product;
                        }
                    want[(((size_t)img * os.h + oy) * os.w + ox) * os.c + c] = sum;
                }
    bool same = !memcmp(got, want, out_count * sizeof(float));
    if (!same)
        fprintf(stderr, "depthwise n=%d in %dx%dx%d k %d s%d %s: not the definition's bytes\n", n, is.h, is.w, is.c,
                k, stride, padding == DLP_PAD_SAME ? "same" : "valid");
    CHECK(same);
    free(in), free(kernel), free(b), free(got), free(want);
}

/* The depthwise conv reading its input through a ReLU (a ReLU step folded
 * in, plan_step.input_relu) against the ReLU step's floats fed to the plain
 * depthwise conv: the same bytes, with negative zeros, NaN and infinities
 * among the inputs (the ReLU makes each NaN and -0 a +0). */
static void test_depthwise_input_relu(int n, dlp_shape is, int k, int stride, dlp_padding padding, int mult)
{
    dlp_conv2d_params p = {k, k, stride, stride, padding, mult, true, DLP_ACT_LINEAR};
    dlp_shape os = {dlp_conv_output_size(is.h, k, stride, padding), dlp_conv_output_size(is.w, k, stride, padding),
                    is.c * mult};
    size_t in_count = (size_t)n * dlp_shape_elements(is), out_count = (size_t)n * dlp_shape_elements(os);
    float *in = random_floats(in_count), *relu = malloc(in_count * sizeof(float));
    float *kernel = random_floats((size_t)k * k * is.c * mult), *b = random_floats((size_t)os.c);
    const float specials[4] = {-0.0f, NAN, INFINITY, -INFINITY};
    for (size_t i = 0; i < in_count; i += 7) in[i] = specials[i / 7 % 4];
    for (size_t i = 0; i < in_count; i++) relu[i] = in[i] > 0.0f ? in[i] : 0.0f;
    float *got = malloc(out_count * sizeof(float)), *want = malloc(out_count * sizeof(float));
    cpu_depthwise_conv2d(&p, in, true, n, is, kernel, b, got, os, 2);
    cpu_depthwise_conv2d(&p, relu, false, n, is, kernel, b, want, os, 2);
    bool same = !memcmp(got, want, out_count * sizeof(float));
    if (!same)
        fprintf(stderr, "depthwise with a ReLU folded in, n=%d in %dx%dx%d k %d s%d x%d: not the ReLU step's bytes\n",
                n, is.h, is.w, is.c, k, stride, mult);
    CHECK(same);
    free(in), free(relu), free(kernel), free(b), free(got), free(want);
}

/* Max and average pooling against their definitions in float, in the
 * loop's order (max: v > o ? v : o from -FLT_MAX; average: the valid
 * inputs summed from 0, times 1 / their count): the same bytes, written
 * with a pixel stride wider than the channels (a concatenation's slice). */
static void test_pool_exact(dlp_op op, int n, dlp_shape is, int k, int stride, dlp_padding padding)
{
    dlp_pool_params p = {k, k, stride, stride, padding};
    dlp_shape os = {dlp_conv_output_size(is.h, k, stride, padding), dlp_conv_output_size(is.w, k, stride, padding),
                    is.c};
    size_t ld = (size_t)is.c + 5, pixels = (size_t)n * os.h * os.w;
    float *in = random_floats((size_t)n * dlp_shape_elements(is));
    float *got = malloc(pixels * ld * sizeof(float)), *want = malloc(pixels * ld * sizeof(float));
    for (size_t i = 0; i < pixels * ld; i++) got[i] = want[i] = -777.0f;
    cpu_pool(op, &p, in, n, is, got, os, ld, 2);
    int pad_top = dlp_conv_pad_before(is.h, k, stride, padding);
    int pad_left = dlp_conv_pad_before(is.w, k, stride, padding);
    for (size_t r = 0; r < pixels; r++) {
        int b = (int)(r / ((size_t)os.h * os.w)), oy = (int)(r / os.w % os.h), ox = (int)(r % os.w);
        int y0 = oy * stride - pad_top, x0 = ox * stride - pad_left, y1 = y0 + k, x1 = x0 + k;
        y0 = y0 < 0 ? 0 : y0, x0 = x0 < 0 ? 0 : x0, y1 = y1 > is.h ? is.h : y1, x1 = x1 > is.w ? is.w : x1;
        for (int c = 0; c < is.c; c++) {
            float o = op == DLP_OP_MAX_POOL ? -FLT_MAX : 0.0f;
            for (int y = y0; y < y1; y++)
                for (int x = x0; x < x1; x++) {
                    float v = in[(((size_t)b * is.h + y) * is.w + x) * is.c + c];
                    o = op == DLP_OP_MAX_POOL ? (v > o ? v : o) : o + v;
                }
            if (op == DLP_OP_AVG_POOL) o *= 1.0f / (float)((y1 - y0) * (x1 - x0));
            want[r * ld + c] = o;
        }
    }
    bool same = !memcmp(got, want, pixels * ld * sizeof(float));
    if (!same)
        fprintf(stderr, "%s n=%d in %dx%dx%d k %d s%d: not the definition's bytes\n", dlp_op_name(op), n, is.h, is.w,
                is.c, k, stride);
    CHECK(same);
    free(in), free(got), free(want);
}

static void test_pool(dlp_op op, int n, dlp_shape is, int k, int stride, dlp_padding padding)
{
    dlp_pool_params p = {k, k, stride, stride, padding};
    dlp_shape os = {dlp_conv_output_size(is.h, k, stride, padding), dlp_conv_output_size(is.w, k, stride, padding),
                    is.c};
    size_t out_count = (size_t)n * dlp_shape_elements(os);
    float *in = random_floats((size_t)n * dlp_shape_elements(is));
    float *fast = calloc(out_count, sizeof(float)), *slow = calloc(out_count, sizeof(float));
    cpu_pool(op, &p, in, n, is, fast, os, 0, 2);
    cpu_pool_naive(op, &p, in, n, is, slow, os);
    CHECK(check_relative_l2(fast, slow, out_count) <= 1e-5);
    free(in), free(fast), free(slow);
}

int main(void)
{
    printf("direct kernels for 16-64 filters on this CPU: %s\n",
           cpu_has_avx512() ? "yes (AVX-512 F)" : "no (im2col for every conv)");
    cpu_gemm_isa isa = cpu_gemm_packed_isa();
    printf("packed GEMM for the other convs: %s\n",
           isa == CPU_GEMM_AVX512 ? "yes (AVX-512 F)" : isa == CPU_GEMM_AVX2 ? "yes (AVX2)" : "no (OpenBLAS' sgemm)");
    if (cpu_gemm_packed_enabled()) {
        /* Row tails of 1, 4, 6, 8 and 11 (the 4-, 8- and 12-row kernels). */
        int ms[] = {1, 11, 12, 13, 37, 20, 64, 18}, ns[] = {1, 15, 16, 17, 31, 32, 33, 48, 91};
        int ks[] = {1, 7, 256, 257, 600};
        for (int i = 0; i < 8; i++)
            for (int j = 0; j < 9; j++)
                for (int t = 0; t < 5; t++) test_gemm_packed(ms[i], ns[j], ks[t]);
        test_gemm_packed(300, 728, 300); /* Xception's 728 filters: the last panel pair 24 wide */
        printf("%d packed GEMM cases, the AVX2 kernel the same bytes as AVX-512's\n", avx2_cases);
    }
    /* TensorFlow 'same': out = ceil(in/stride); the extra pixel goes bottom/right. */
    CHECK(dlp_conv_output_size(299, 3, 2, DLP_PAD_VALID) == 149);
    CHECK(dlp_conv_output_size(8, 3, 2, DLP_PAD_SAME) == 4);
    CHECK(dlp_conv_pad_before(8, 3, 2, DLP_PAD_SAME) == 0); /* total 1: 0 before, 1 after */
    CHECK(dlp_conv_pad_before(7, 3, 2, DLP_PAD_SAME) == 1);
    CHECK(dlp_conv_pad_before(224, 7, 2, DLP_PAD_SAME) == 2); /* total 5: 2 before, 3 after */

    int batches[2] = {1, 3};
    for (int bi = 0; bi < 2; bi++) {
        int n = batches[bi];
        for (int stride = 1; stride <= 2; stride++)
            for (int pad = 0; pad < 2; pad++) {
                dlp_padding padding = pad ? DLP_PAD_SAME : DLP_PAD_VALID;
                test_conv(n, (dlp_shape){7, 9, 3}, 3, 3, stride, padding, 5, true, DLP_ACT_RELU, false);
                test_conv(n, (dlp_shape){11, 6, 4}, 1, 7, stride, padding, 6, false, DLP_ACT_LINEAR, false);
                test_conv(n, (dlp_shape){8, 8, 5}, 5, 5, stride, padding, 7, true, DLP_ACT_SIGMOID, false);
                test_conv(n, (dlp_shape){5, 7, 9}, 1, 1, stride, padding, 4, true, DLP_ACT_SOFTMAX, false);
                test_conv(n, (dlp_shape){9, 10, 6}, 3, 3, stride, padding, 1, true, DLP_ACT_RELU6, true);
                test_conv(n, (dlp_shape){6, 5, 3}, 3, 3, stride, padding, 2, false, DLP_ACT_LINEAR, true);
                /* cpu_conv2d's tiling: several row tiles with a short last one, and
                 * (few rows, 32+ channels) output channels split across threads. */
                test_conv(n, (dlp_shape){23, 21, 16}, 3, 3, stride, padding, 40, true, DLP_ACT_RELU, false);
                test_conv(n, (dlp_shape){37, 29, 8}, 1, 1, stride, padding, 24, true, DLP_ACT_TANH, false);
                test_conv(n, (dlp_shape){5, 4, 12}, 3, 3, stride, padding, 37, true, DLP_ACT_RELU6, false);
                test_conv(n, (dlp_shape){3, 3, 20}, 1, 1, stride, padding, 50, true, DLP_ACT_SOFTMAX, false);
                /* The direct kernels (16/32/48/64 filters, rows of 48+ pixels,
                 * on AVX-512): blocks of 16/12/8/6 interior pixels, edge
                 * pixels, short last blocks, the RGB stem's 3 channels (the
                 * kernel taken whole), a kernel past L1 (a row at a time), a
                 * kernel row past L1 (in chunks of taps), 1x7 and 7x1, 1x1
                 * stride 2, 1x1 stride 1 (the batch one row of pixels, any
                 * width), and narrower rows (im2col). */
                test_conv(n, (dlp_shape){7, 101, 3}, 3, 3, stride, padding, 32, true, DLP_ACT_RELU, false);
                test_conv(n, (dlp_shape){5, 107, 8}, 3, 3, stride, padding, 16, true, DLP_ACT_LINEAR, false);
                test_conv(n, (dlp_shape){6, 103, 12}, 5, 5, stride, padding, 48, false, DLP_ACT_RELU, false);
                test_conv(n, (dlp_shape){4, 99, 40}, 3, 3, stride, padding, 64, true, DLP_ACT_RELU, false);
                test_conv(n, (dlp_shape){3, 97, 7}, 1, 7, stride, padding, 64, true, DLP_ACT_SIGMOID, false);
                test_conv(n, (dlp_shape){9, 98, 5}, 7, 1, stride, padding, 32, true, DLP_ACT_RELU, false);
                test_conv(n, (dlp_shape){3, 100, 20}, 1, 1, stride, padding, 64, true, DLP_ACT_RELU, false);
                test_conv(n, (dlp_shape){3, 61, 64}, 3, 3, stride, padding, 64, true, DLP_ACT_RELU, false);
                test_conv(n, (dlp_shape){7, 9, 200}, 1, 1, stride, padding, 64, true, DLP_ACT_RELU, false);
                test_conv(n, (dlp_shape){5, 7, 40}, 1, 1, stride, padding, 32, false, DLP_ACT_LINEAR, false);
                test_conv(n, (dlp_shape){6, 5, 6}, 5, 5, stride, padding, 16, true, DLP_ACT_RELU, false);
                test_depthwise_exact(n, (dlp_shape){9, 11, 13}, 3, stride, padding, true);
                test_depthwise_exact(n, (dlp_shape){7, 6, 80}, 3, stride, padding, false);
                test_depthwise_exact(n, (dlp_shape){5, 5, 200}, 3, stride, padding, true);
                test_depthwise_exact(n, (dlp_shape){37, 41, 72}, 3, stride, padding, false); /* runs of 32 pixels */
                test_depthwise_exact(n, (dlp_shape){6, 7, 20}, 5, stride, padding, true); /* the plain loop */
                test_depthwise_input_relu(n, (dlp_shape){9, 11, 13}, 3, stride, padding, 1);
                test_depthwise_input_relu(n, (dlp_shape){37, 41, 72}, 3, stride, padding, 1);
                test_depthwise_input_relu(n, (dlp_shape){6, 7, 20}, 5, stride, padding, 1); /* the plain loop */
                test_depthwise_input_relu(n, (dlp_shape){8, 5, 6}, 3, stride, padding, 2);
                if (stride == 1 && pad == 1) {
                    for (int relu = 0; relu < 2; relu++) {
                        test_conv_shortcut(n, (dlp_shape){23, 21, 16}, 3, 40, true, relu);  /* row tiles */
                        test_conv_shortcut(n, (dlp_shape){37, 29, 8}, 1, 24, true, relu);   /* 1x1: no im2col */
                        test_conv_shortcut(n, (dlp_shape){5, 4, 12}, 3, 37, false, relu);   /* channels split */
                        test_conv_shortcut(n, (dlp_shape){3, 3, 20}, 1, 50, true, relu);    /* split, 1x1 */
                    }
                }
                for (int k = 2; k <= 3; k++) {
                    test_pool(DLP_OP_MAX_POOL, n, (dlp_shape){7, 8, 3}, k, stride, padding);
                    test_pool(DLP_OP_AVG_POOL, n, (dlp_shape){7, 8, 3}, k, stride, padding);
                    for (int op = 0; op < 2; op++) {
                        dlp_op pool = op ? DLP_OP_AVG_POOL : DLP_OP_MAX_POOL;
                        test_pool_exact(pool, n, (dlp_shape){7, 8, 3}, k, stride, padding);
                        test_pool_exact(pool, n, (dlp_shape){9, 6, 80}, k, stride, padding);
                        test_pool_exact(pool, n, (dlp_shape){5, 7, 130}, k, stride, padding);
                    }
                }
            }
        /* Dense, with every activation. */
        for (int a = 0; a < DLP_ACT_COUNT; a++) {
            dlp_dense_params p = {7, a % 2 == 0, (dlp_activation)a};
            size_t rows = (size_t)n * 2;
            float *in = random_floats(rows * 13), *kernel = random_floats(13 * 7), *bias = random_floats(7);
            float fast[6 * 7], slow[6 * 7];
            cpu_dense(&p, in, rows, 13, kernel, p.use_bias ? bias : NULL, fast);
            cpu_dense_naive(&p, in, rows, 13, kernel, p.use_bias ? bias : NULL, slow);
            CHECK(check_relative_l2(fast, slow, rows * 7) <= 1e-5);
            free(in), free(kernel), free(bias);
        }
        /* Global pools. */
        for (int g = 0; g < 2; g++) {
            dlp_op op = g ? DLP_OP_GLOBAL_MAX_POOL : DLP_OP_GLOBAL_AVG_POOL;
            dlp_shape is = {5, 3, 11};
            float *in = random_floats((size_t)n * 165);
            float fast[33], slow[33];
            cpu_global_pool(op, in, n, is, fast);
            cpu_global_pool_naive(op, in, n, is, slow);
            CHECK(check_relative_l2(fast, slow, (size_t)n * 11) <= 1e-5);
            free(in);
        }
        /* Batch norm as an affine map vs its definition. */
        {
            int c = 6;
            size_t pixels = (size_t)n * 10;
            float *in = random_floats(pixels * c), *gamma = random_floats(c), *beta = random_floats(c);
            float *mean = random_floats(c), *var = random_floats(c), scale[6], shift[6];
            for (int i = 0; i < c; i++) {
                var[i] = var[i] + 1.5f;
                scale[i] = gamma[i] / sqrtf(var[i] + 1e-3f);
                shift[i] = beta[i] - mean[i] * scale[i];
            }
            float *fast = malloc(pixels * c * sizeof(float)), *slow = malloc(pixels * c * sizeof(float));
            cpu_channel_affine(in, pixels, c, scale, shift, fast, 2);
            cpu_batchnorm_naive(in, pixels, c, gamma, beta, mean, var, 1e-3f, slow);
            CHECK(check_relative_l2(fast, slow, pixels * c) <= 1e-5);
            free(in), free(gamma), free(beta), free(mean), free(var), free(fast), free(slow);
        }
    }
    /* Average pooling counts valid inputs only: a corner of a 3x3 'same' window
     * over ones is 1, not 4/9 (TensorFlow; PyTorch's default would differ). */
    {
        float ones[4 * 4], out[4 * 4];
        for (int i = 0; i < 16; i++) ones[i] = 1.0f;
        dlp_pool_params p = {3, 3, 1, 1, DLP_PAD_SAME};
        cpu_pool(DLP_OP_AVG_POOL, &p, ones, 1, (dlp_shape){4, 4, 1}, out, (dlp_shape){4, 4, 1}, 0, 1);
        CHECK_NEAR(out[0], 1.0, 1e-7);
    }
    /* Concat, add, zero pad. */
    {
        float a[2 * 2] = {1, 2, 3, 4}, b[2 * 3] = {5, 6, 7, 8, 9, 10}, out[10];
        const float *inputs[2] = {a, b};
        int channels[2] = {2, 3};
        cpu_concat(inputs, channels, 2, 2, out, 0, 2);
        float want[10] = {1, 2, 5, 6, 7, 3, 4, 8, 9, 10};
        CHECK(memcmp(out, want, sizeof want) == 0);
        const float *sum_inputs[2] = {a, a};
        cpu_add(sum_inputs, 2, 4, out, 2);
        CHECK(out[3] == 8.0f);
        dlp_zero_pad_params pad = {1, 0, 0, 2};
        float image[2] = {3, 4}, padded[2 * 3 * 2];
        cpu_zero_pad(&pad, image, 1, (dlp_shape){1, 1, 2}, padded, (dlp_shape){2, 3, 2}, 2);
        float want_pad[12] = {0, 0, 0, 0, 0, 0, 3, 4, 0, 0, 0, 0};
        CHECK(memcmp(padded, want_pad, sizeof want_pad) == 0);
    }
    /* Zero pad of a batch, every side different, against the definition. */
    {
        dlp_zero_pad_params pad = {2, 1, 3, 0};
        dlp_shape is = {4, 5, 3}, os = {4 + 3, 5 + 3, 3};
        float *in = random_floats(2 * 60), *out = calloc(2 * 7 * 8 * 3, sizeof(float));
        cpu_zero_pad(&pad, in, 2, is, out, os, 2);
        int mismatches = 0;
        for (int b = 0; b < 2; b++)
            for (int y = 0; y < os.h; y++)
                for (int x = 0; x < os.w; x++)
                    for (int c = 0; c < 3; c++) {
                        int iy = y - pad.top, ix = x - pad.left;
                        float want = iy >= 0 && iy < is.h && ix >= 0 && ix < is.w
                                         ? in[((b * is.h + iy) * is.w + ix) * 3 + c] : 0.0f;
                        mismatches += out[((b * os.h + y) * os.w + x) * 3 + c] != want;
                    }
        CHECK(mismatches == 0);
        free(in), free(out);
    }
    printf("%d conv cases ran on the direct kernels, %d on the packed GEMM too\n", direct_cases, packed_cases);
    if (cpu_gemm_packed_enabled()) CHECK(packed_cases >= 40);
    if (cpu_conv2d_direct_fits(&(dlp_conv2d_params){3, 3, 1, 1, DLP_PAD_SAME, 32, true, DLP_ACT_RELU}, 64))
        CHECK(direct_cases >= 40);
    return check_summary("ops_cpu");
}

/* ops.c: the CPU backend's ops, fp32 NHWC. Convolution is im2col + GEMM
 * (gemm_packed.c where the CPU has AVX-512, else OpenBLAS' sgemm) in row
 * tiles, one per OpenMP task (a 1x1 stride-1 conv is a plain GEMM on the
 * input), or direct kernels (conv_direct.c); depthwise convolution runs in
 * depthwise.c; the rest are OpenMP loops with the channel axis innermost
 * (contiguous in NHWC). */
#include <cblas.h>
#include <float.h>
#include <math.h>
#include <omp.h>
#include <string.h>

#include "backend/cpu/ops.h"

#include "backend/cpu/conv_direct.h"
#include "backend/cpu/depthwise.h"
#include "backend/cpu/gemm_packed.h"

bool cpu_has_avx512(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f");
#else
    return false;
#endif
}

/* Each thread's im2col tile is at most this many floats (1 MiB, half of one
 * core's L2 on the Xeons this runs on), so the GEMM reads it from cache; but
 * at least this many rows: every task's sgemm packs the whole kernel again,
 * which costs as much as the product itself when a tile has few rows (on
 * this host one core's sgemm on ResNet50's and InceptionV3's kernel shapes
 * ran 8-11% faster at 256 rows than at 128, and gained little past 256). */
enum { CONV_TILE_FLOATS = 1 << 18, CONV_MIN_TILE_ROWS = 256, CONV_TASKS_PER_THREAD = 4 };

/* How a convolution's [rows, cout] output is cut into tasks: tiles of output
 * rows (pixels of the whole batch), and, when there are fewer row tiles than
 * threads (a small image at batch 1), column chunks of the output channels. */
typedef struct conv_tiling {
    size_t rows;
    int row_tile, col_tile;
    int row_tiles, col_tiles;
} conv_tiling;

static int tile_rows_limit(int k)
{
    int rows = CONV_TILE_FLOATS / (k > 0 ? k : 1);
    return rows < CONV_MIN_TILE_ROWS ? CONV_MIN_TILE_ROWS : rows;
}

static size_t ceil_div(size_t a, size_t b) { return (a + b - 1) / b; }

/* The direct kernels (conv_direct.c) pack nothing: a task is any run of
 * output pixels, whole channels. */
enum { DIRECT_MIN_TILE_PIXELS = 64 };

static conv_tiling plan_direct_tiling(size_t rows, int cout, int threads)
{
    size_t tiles = (size_t)threads * CONV_TASKS_PER_THREAD, fit = rows / DIRECT_MIN_TILE_PIXELS;
    if (tiles > fit) tiles = fit > 0 ? fit : 1;
    conv_tiling t = {rows, rows > 0 ? (int)ceil_div(rows, tiles) : 1, cout, 0, 1};
    t.row_tiles = (int)ceil_div(rows, (size_t)t.row_tile);
    return t;
}

static conv_tiling plan_tiling(size_t rows, int k, int cout, int threads)
{
    conv_tiling t = {rows, tile_rows_limit(k), cout, 0, 1};
    if (rows <= (size_t)threads * CONV_MIN_TILE_ROWS && cout >= 32) {
        /* Few rows (a late layer at batch 1): split the output channels, so
         * each thread packs only its part of the kernel. Chunks of whole
         * 16-float vectors keep each thread's stores aligned. */
        int chunk = (cout + threads - 1) / threads;
        t.col_tile = (chunk + 15) / 16 * 16;
        t.col_tiles = (cout + t.col_tile - 1) / t.col_tile;
        if ((size_t)t.row_tile > rows) t.row_tile = rows > 0 ? (int)rows : 1;
        t.row_tiles = (int)ceil_div(rows, (size_t)t.row_tile);
        return t;
    }
    /* A few tasks per thread, taken dynamically, even out a thread that the
     * OS preempts (the machine may be shared), where the rows allow tiles of
     * the least size; and as many for every thread, of equal rows: 784 rows
     * (ResNet50's last stage at batch 16) on 2 threads are 4 tiles of 196,
     * not 256, 256, 256 and 16 (one thread idle for a third of the time). */
    size_t tiles = ceil_div(rows, (size_t)t.row_tile);
    size_t wanted = (size_t)threads * CONV_TASKS_PER_THREAD, fit = rows / CONV_MIN_TILE_ROWS;
    if (tiles < wanted) tiles = fit > wanted ? wanted : fit > tiles ? fit : tiles;
    tiles = ceil_div(tiles > 0 ? tiles : 1, (size_t)threads) * (size_t)threads;
    t.row_tile = rows > 0 ? (int)ceil_div(rows, tiles) : 1;
    t.row_tiles = (int)ceil_div(rows, (size_t)t.row_tile);
    return t;
}

/* One thread's im2col tile (none for a 1x1 stride-1 conv): the start of its scratch. */
static size_t im2col_floats(const dlp_conv2d_params *p, int in_channels)
{
    int k = p->kernel_h * p->kernel_w * in_channels;
    return cpu_conv_is_pointwise(p) ? 0 : (size_t)tile_rows_limit(k) * (size_t)k;
}

/* One thread's scratch: its im2col tile, then, with a shortcut, room for
 * the shortcut's tile (conv_task). */
static size_t thread_scratch_floats(const dlp_conv2d_params *p, int in_channels, bool shortcut)
{
    int k = p->kernel_h * p->kernel_w * in_channels;
    return im2col_floats(p, in_channels) + (shortcut ? (size_t)tile_rows_limit(k) * (size_t)p->filters : 0);
}

size_t cpu_conv2d_workspace_floats(const dlp_conv2d_params *p, dlp_shape in, bool shortcut, int threads)
{
    return (size_t)(threads > 0 ? threads : 1) * thread_scratch_floats(p, in.c, shortcut);
}

static void apply_bias_activation(float *out, size_t rows, int channels, const float *bias, dlp_activation act,
                                  int threads)
{
    if (bias) {
#pragma omp parallel for num_threads(threads) schedule(static)
        for (size_t r = 0; r < rows; r++) {
            float *row = out + r * (size_t)channels;
            for (int c = 0; c < channels; c++) row[c] += bias[c];
        }
    }
    if (act != DLP_ACT_LINEAR) cpu_activation(act, out, rows, channels, threads);
}

/* Bias, a shortcut (ld_shortcut floats per row) and an element-wise
 * activation on a tile while it is still in cache: the same roundings, in
 * the same order, as the bias here, cpu_add and cpu_activation one after
 * another. Softmax needs whole rows, and the activations added for users'
 * models (ops_extra.c) are not repeated here: the caller applies those to
 * the whole output afterwards. */
CPU_CLONES
static void tile_epilogue(float *out, int rows, int cols, int ldc, const float *bias, const float *shortcut,
                          int ld_shortcut, dlp_activation act)
{
    for (int r = 0; r < rows; r++) {
        float *row = out + (size_t)r * ldc;
        if (bias)
            for (int c = 0; c < cols; c++) row[c] += bias[c];
        if (shortcut) {
            const float *add = shortcut + (size_t)r * ld_shortcut;
            for (int c = 0; c < cols; c++) row[c] += add[c];
        }
        switch (act) {
        case DLP_ACT_RELU:
            for (int c = 0; c < cols; c++) row[c] = row[c] > 0.0f ? row[c] : 0.0f;
            break;
        case DLP_ACT_RELU6:
            for (int c = 0; c < cols; c++) row[c] = fminf(fmaxf(row[c], 0.0f), 6.0f);
            break;
        case DLP_ACT_SIGMOID:
            for (int c = 0; c < cols; c++) row[c] = 1.0f / (1.0f + expf(-row[c]));
            break;
        case DLP_ACT_TANH:
            for (int c = 0; c < cols; c++) row[c] = tanhf(row[c]);
            break;
        default: break;
        }
    }
}

/* Whether tile_epilogue left the activation for a pass over the whole output. */
static bool activation_after_tiles(dlp_activation act)
{
    return act != DLP_ACT_LINEAR && act != DLP_ACT_RELU && act != DLP_ACT_RELU6 && act != DLP_ACT_SIGMOID &&
           act != DLP_ACT_TANH;
}

/* im2col of output rows [row0, row0 + count) of the flattened batch into col
 * ([count, K]); column order (ky, kx, ci) matches the HWIO kernel read as [K, cout]. */
static void im2col_rows(const dlp_conv2d_params *p, const float *in, dlp_shape is, dlp_shape os, size_t row0,
                        int count, int pad_top, int pad_left, float *col)
{
    size_t k = (size_t)p->kernel_h * p->kernel_w * is.c;
    size_t channel_bytes = (size_t)is.c * sizeof(float);
    for (int i = 0; i < count; i++) {
        size_t r = row0 + (size_t)i;
        size_t b = r / ((size_t)os.h * os.w);
        int oy = (int)(r / os.w % os.h), ox = (int)(r % os.w);
        const float *image = in + b * is.h * is.w * is.c;
        float *dst = col + (size_t)i * k;
        /* A kernel row's pixels are side by side in NHWC: one copy of the
         * part inside the image (kernel_w pixels of channels each at most),
         * zeros either side. */
        int ix0 = ox * p->stride_w - pad_left;
        int kx_begin = ix0 < 0 ? -ix0 : 0;
        int kx_end = is.w - ix0 < p->kernel_w ? is.w - ix0 : p->kernel_w;
        for (int ky = 0; ky < p->kernel_h; ky++, dst += (size_t)p->kernel_w * is.c) {
            int iy = oy * p->stride_h + ky - pad_top;
            if (iy < 0 || iy >= is.h || kx_begin >= kx_end) {
                memset(dst, 0, p->kernel_w * channel_bytes);
                continue;
            }
            if (kx_begin > 0) memset(dst, 0, kx_begin * channel_bytes);
            memcpy(dst + (size_t)kx_begin * is.c, image + ((size_t)iy * is.w + ix0 + kx_begin) * is.c,
                   (kx_end - kx_begin) * channel_bytes);
            if (kx_end < p->kernel_w) memset(dst + (size_t)kx_end * is.c, 0, (p->kernel_w - kx_end) * channel_bytes);
        }
    }
}

/* One thread's task: output rows [row0, row0 + count), channels [col0,
 * col0 + cols). scratch: the thread's thread_scratch_floats. A shortcut the
 * GEMM would overwrite (the output itself) is kept in scratch first. */
static void conv_task(const dlp_conv2d_params *p, const float *in, dlp_shape is, dlp_shape os, const float *kernel,
                      const float *packed_kernel, const float *bias, const float *shortcut, float *out, int ldc,
                      size_t row0, int count, int col0, int cols, float *scratch, bool direct)
{
    int cout = p->filters;
    int k = p->kernel_h * p->kernel_w * is.c;
    float *c = out + row0 * (size_t)ldc + col0;
    if (direct) { /* whole channels, no shortcut (cpu_conv2d) */
        cpu_conv2d_direct_pixels(p, in, is, os, kernel, out, (size_t)ldc, row0, (size_t)count);
        tile_epilogue(c, count, cols, ldc, bias, NULL, 0, p->activation);
        return;
    }
    const float *add = shortcut ? shortcut + row0 * (size_t)ldc + col0 : NULL;
    int ld_add = ldc;
    if (add == c) {
        float *kept = scratch + im2col_floats(p, is.c);
        for (int r = 0; r < count; r++)
            memcpy(kept + (size_t)r * cols, c + (size_t)r * ldc, (size_t)cols * sizeof(float));
        add = kept, ld_add = cols;
    }
    const float *a = in + row0 * (size_t)is.c;
    if (!cpu_conv_is_pointwise(p)) {
        int pad_top = dlp_conv_pad_before(is.h, p->kernel_h, p->stride_h, p->padding);
        int pad_left = dlp_conv_pad_before(is.w, p->kernel_w, p->stride_w, p->padding);
        im2col_rows(p, in, is, os, row0, count, pad_top, pad_left, scratch);
        a = scratch;
    }
    dlp_activation act = p->activation;
    /* The packed GEMM applies bias, shortcut and relu in registers as it
     * stores its last k block; other activations take tile_epilogue. */
    bool fused = packed_kernel && (act == DLP_ACT_LINEAR || act == DLP_ACT_RELU);
    cpu_gemm_epilogue epilogue = {bias ? bias + col0 : NULL, add, (size_t)ld_add, act == DLP_ACT_RELU};
    if (packed_kernel)
        cpu_gemm_packed(count, col0, cols, cout, k, a, (size_t)k, packed_kernel, c, (size_t)ldc,
                        fused ? &epilogue : NULL);
    else
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, count, cols, k, 1.0f, a, k, kernel + col0, cout, 0.0f,
                    c, ldc);
    if (!fused) tile_epilogue(c, count, cols, ldc, bias ? bias + col0 : NULL, add, ld_add, act);
}

/* Beside the packed GEMM the direct kernels keep only the convs they ran
 * faster: kernels past 1x1 on 16+ input channels (InceptionV3's 147x147
 * stem convs 5% and ResNet50's 3x3 64 -> 64 7% faster than im2col + the
 * packed GEMM at batch 16 on 2 threads); its 1x1s on 64 filters ran 14%
 * and the RGB stems 5-10% faster on the GEMM. */
bool cpu_conv2d_uses_gemm(const dlp_conv2d_params *p, dlp_shape in_shape, dlp_shape out_shape, bool shortcut)
{
    if (shortcut || !cpu_conv2d_direct_fits(p, out_shape.w)) return true;
    return cpu_gemm_packed_enabled() && (cpu_conv_is_pointwise(p) || in_shape.c < 16);
}

/* Tiles run in parallel under OpenMP, each with a single-threaded GEMM: one
 * thread pool instead of OpenMP's and OpenBLAS's spinning against each other,
 * and each im2col tile is consumed from cache. A 1x1 stride-1 convolution is
 * a GEMM on the NHWC input itself (no copy). */
void cpu_conv2d(const dlp_conv2d_params *p, const float *in, int n, dlp_shape is, const float *kernel,
                const float *packed_kernel, const float *bias, const float *shortcut, float *out, dlp_shape os,
                size_t out_stride, float *workspace, int threads)
{
    int cout = p->filters;
    int ldc = out_stride ? (int)out_stride : cout;
    int k = p->kernel_h * p->kernel_w * is.c;
    if (threads < 1) threads = 1;
    bool direct = !cpu_conv2d_uses_gemm(p, is, os, shortcut != NULL);
    conv_tiling t = direct ? plan_direct_tiling((size_t)n * os.h * os.w, cout, threads)
                           : plan_tiling((size_t)n * os.h * os.w, k, cout, threads);
    int tasks = t.row_tiles * t.col_tiles;
    int blas_threads = openblas_get_num_threads();
    openblas_set_num_threads(1);
#pragma omp parallel num_threads(threads)
    {
        float *scratch = workspace ? workspace + (size_t)omp_get_thread_num() * thread_scratch_floats(p, is.c, shortcut)
                                   : NULL;
#pragma omp for schedule(dynamic, 1)
        for (int task = 0; task < tasks; task++) {
            size_t row0 = (size_t)(task / t.col_tiles) * t.row_tile;
            int col0 = task % t.col_tiles * t.col_tile;
            int count = (int)(t.rows - row0 < (size_t)t.row_tile ? t.rows - row0 : (size_t)t.row_tile);
            int cols = cout - col0 < t.col_tile ? cout - col0 : t.col_tile;
            conv_task(p, in, is, os, kernel, packed_kernel, bias, shortcut, out, ldc, row0, count, col0, cols, scratch,
                      direct);
        }
    }
    openblas_set_num_threads(blas_threads);
    if (!shortcut && activation_after_tiles(p->activation)) cpu_activation(p->activation, out, t.rows, cout, threads);
}

bool cpu_conv2d_writes_strided(const dlp_conv2d_params *p) { return !activation_after_tiles(p->activation); }

/* Runs of pixels, each thread a contiguous share (depthwise.c). */
void cpu_depthwise_conv2d(const dlp_conv2d_params *p, const float *in, bool input_relu, int n, dlp_shape is,
                          const float *kernel, const float *bias, float *out, dlp_shape os, int threads)
{
    enum { RUN_PIXELS = 64 };
    size_t total = (size_t)n * os.h * os.w, runs = (total + RUN_PIXELS - 1) / RUN_PIXELS;
#pragma omp parallel for num_threads(threads) schedule(static)
    for (size_t run = 0; run < runs; run++) {
        size_t pixel0 = run * RUN_PIXELS, count = total - pixel0 < RUN_PIXELS ? total - pixel0 : RUN_PIXELS;
        cpu_depthwise_pixels(p, in, input_relu, is, os, kernel, bias, out + pixel0 * os.c, (size_t)os.c, pixel0,
                             count);
    }
    if (p->activation != DLP_ACT_LINEAR) cpu_activation(p->activation, out, total, os.c, threads);
}

void cpu_dense(const dlp_dense_params *p, const float *in, size_t rows, int in_features, const float *kernel,
               const float *bias, float *out)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rows, p->units, in_features, 1.0f, in, in_features,
                kernel, p->units, 0.0f, out, p->units);
    apply_bias_activation(out, rows, p->units, bias, p->activation, 1);
}

CPU_CLONES
void cpu_channel_affine(const float *in, size_t pixels, int channels, const float *scale, const float *shift,
                        float *out, int threads)
{
#pragma omp parallel for num_threads(threads) schedule(static)
    for (size_t r = 0; r < pixels; r++)
        for (int c = 0; c < channels; c++) out[r * channels + c] = in[r * channels + c] * scale[c] + shift[c];
}

CPU_CLONES
void cpu_activation(dlp_activation activation, float *data, size_t pixels, int channels, int threads)
{
    size_t total = pixels * (size_t)channels;
    switch (activation) {
    case DLP_ACT_LINEAR: return;
    case DLP_ACT_RELU:
#pragma omp parallel for num_threads(threads) schedule(static)
        for (size_t i = 0; i < total; i++) data[i] = data[i] > 0.0f ? data[i] : 0.0f;
        return;
    case DLP_ACT_RELU6:
#pragma omp parallel for num_threads(threads) schedule(static)
        for (size_t i = 0; i < total; i++) data[i] = fminf(fmaxf(data[i], 0.0f), 6.0f);
        return;
    case DLP_ACT_SIGMOID:
#pragma omp parallel for num_threads(threads) schedule(static)
        for (size_t i = 0; i < total; i++) data[i] = 1.0f / (1.0f + expf(-data[i]));
        return;
    case DLP_ACT_TANH:
#pragma omp parallel for num_threads(threads) schedule(static)
        for (size_t i = 0; i < total; i++) data[i] = tanhf(data[i]);
        return;
    case DLP_ACT_SOFTMAX:
        /* Max-subtracted, as tf.nn.softmax, over the last axis. */
#pragma omp parallel for num_threads(threads) schedule(static)
        for (size_t r = 0; r < pixels; r++) {
            float *row = data + r * channels;
            float top = -FLT_MAX;
            for (int c = 0; c < channels; c++) top = fmaxf(top, row[c]);
            double sum = 0.0;
            for (int c = 0; c < channels; c++) {
                row[c] = expf(row[c] - top);
                sum += row[c];
            }
            for (int c = 0; c < channels; c++) row[c] = (float)(row[c] / sum);
        }
        return;
    case DLP_ACT_COUNT: return;
    default: return; /* the activations added after softmax: cpu_activation_extra (ops_extra.c) */
    }
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define POOL_AVX512 1

/* One output pixel of a max or average pooling over the window [y0, y1) x
 * [x0, x1) of image, on AVX-512: 64 channels at a time stay in registers
 * while the window's pixels pass (the loop below re-reads and re-writes the
 * output at every tap). The same operations in the same order as that loop
 * (_mm512_max_ps(v, o) is v > o ? v : o), so the same floats. */
__attribute__((target("avx512f"))) static void pool_pixel_avx512(dlp_op op, const float *image, int width,
                                                                 int channels, int y0, int y1, int x0, int x1,
                                                                 float *o)
{
    bool max = op == DLP_OP_MAX_POOL;
    __m512 start = _mm512_set1_ps(max ? -FLT_MAX : 0.0f);
    __m512 scale = _mm512_set1_ps(1.0f / (float)((y1 - y0) * (x1 - x0)));
    for (int c0 = 0; c0 < channels; c0 += 64) {
        __mmask16 mask[4];
        __m512 acc[4];
        for (int j = 0; j < 4; j++) {
            int lanes = channels - c0 - 16 * j;
            mask[j] = lanes >= 16 ? (__mmask16)0xFFFF : lanes > 0 ? (__mmask16)((1u << lanes) - 1) : 0;
            acc[j] = start;
        }
        for (int y = y0; y < y1; y++)
            for (int x = x0; x < x1; x++) {
                const float *v = image + ((size_t)y * width + x) * channels + c0;
                for (int j = 0; j < 4; j++) {
                    __m512 value = _mm512_maskz_loadu_ps(mask[j], v + 16 * j);
                    acc[j] = max ? _mm512_max_ps(value, acc[j]) : _mm512_add_ps(acc[j], value);
                }
            }
        for (int j = 0; j < 4; j++) {
            if (!max) acc[j] = _mm512_mul_ps(acc[j], scale);
            _mm512_mask_storeu_ps(o + c0 + 16 * j, mask[j], acc[j]);
        }
    }
}
#else
#define POOL_AVX512 0
#endif

CPU_CLONES
void cpu_pool(dlp_op op, const dlp_pool_params *p, const float *in, int n, dlp_shape is, float *out, dlp_shape os,
              size_t out_stride, int threads)
{
    bool avx512 = POOL_AVX512 && cpu_has_avx512();
    size_t stride = out_stride ? out_stride : (size_t)is.c;
    int pad_top = dlp_conv_pad_before(is.h, p->pool_h, p->stride_h, p->padding);
    int pad_left = dlp_conv_pad_before(is.w, p->pool_w, p->stride_w, p->padding);
    int channels = is.c;
    size_t total = (size_t)n * os.h * os.w;
#pragma omp parallel for num_threads(threads) schedule(static)
    for (size_t r = 0; r < total; r++) {
        int b = (int)(r / ((size_t)os.h * os.w));
        int oy = (int)(r / os.w % os.h), ox = (int)(r % os.w);
        int y0 = oy * p->stride_h - pad_top, x0 = ox * p->stride_w - pad_left;
        int y1 = y0 + p->pool_h, x1 = x0 + p->pool_w;
        if (y0 < 0) y0 = 0;
        if (x0 < 0) x0 = 0;
        if (y1 > is.h) y1 = is.h;
        if (x1 > is.w) x1 = is.w;
        float *o = out + r * stride;
#if POOL_AVX512
        if (avx512) {
            pool_pixel_avx512(op, in + (size_t)b * is.h * is.w * channels, is.w, channels, y0, y1, x0, x1, o);
            continue;
        }
#endif
        for (int c = 0; c < channels; c++) o[c] = op == DLP_OP_MAX_POOL ? -FLT_MAX : 0.0f;
        for (int y = y0; y < y1; y++)
            for (int x = x0; x < x1; x++) {
                const float *v = in + (((size_t)b * is.h + y) * is.w + x) * channels;
                if (op == DLP_OP_MAX_POOL)
                    for (int c = 0; c < channels; c++) o[c] = v[c] > o[c] ? v[c] : o[c];
                else
                    for (int c = 0; c < channels; c++) o[c] += v[c];
            }
        /* TensorFlow's 'same' average divides by the number of valid inputs. */
        if (op == DLP_OP_AVG_POOL) {
            float inv = 1.0f / (float)((y1 - y0) * (x1 - x0));
            for (int c = 0; c < channels; c++) o[c] *= inv;
        }
    }
}

CPU_CLONES
void cpu_global_pool(dlp_op op, const float *in, int n, dlp_shape is, float *out)
{
    size_t pixels = (size_t)is.h * is.w;
    for (int b = 0; b < n; b++) {
        float *o = out + (size_t)b * is.c;
        const float *image = in + (size_t)b * pixels * is.c;
        if (op == DLP_OP_GLOBAL_MAX_POOL) {
            for (int c = 0; c < is.c; c++) o[c] = -FLT_MAX;
            for (size_t q = 0; q < pixels; q++)
                for (int c = 0; c < is.c; c++) o[c] = image[q * is.c + c] > o[c] ? image[q * is.c + c] : o[c];
        } else {
            for (int c = 0; c < is.c; c++) {
                double sum = 0.0;
                for (size_t q = 0; q < pixels; q++) sum += image[q * is.c + c];
                o[c] = (float)(sum / (double)pixels);
            }
        }
    }
}

void cpu_concat(const float *const *inputs, const int *channels, int input_count, size_t pixels, float *out,
                size_t out_stride, int threads)
{
    size_t total = 0;
    bool copies = false; /* inputs written in place are NULL: InceptionV3's concatenations have none to copy */
    for (int i = 0; i < input_count; i++) total += (size_t)channels[i], copies = copies || inputs[i];
    if (!copies) return;
    size_t stride = out_stride ? out_stride : total;
#pragma omp parallel for num_threads(threads) schedule(static)
    for (size_t q = 0; q < pixels; q++) {
        float *o = out + q * stride;
        for (int i = 0; i < input_count; i++) {
            if (inputs[i]) memcpy(o, inputs[i] + q * channels[i], (size_t)channels[i] * sizeof(float));
            o += channels[i];
        }
    }
}

CPU_CLONES
void cpu_add(const float *const *inputs, int input_count, size_t elements, float *out, int threads)
{
#pragma omp parallel for num_threads(threads) schedule(static)
    for (size_t e = 0; e < elements; e++) {
        float sum = inputs[0][e];
        for (int i = 1; i < input_count; i++) sum += inputs[i][e];
        out[e] = sum;
    }
}

/* One output row at a time: zeros left and right of the copied input row, or
 * a whole row of zeros above and below. */
void cpu_zero_pad(const dlp_zero_pad_params *p, const float *in, int n, dlp_shape is, float *out, dlp_shape os,
                  int threads)
{
    size_t row_floats = (size_t)os.w * os.c, left = (size_t)p->left * os.c, copied = (size_t)is.w * is.c;
    size_t right = row_floats - left - copied;
    size_t rows = (size_t)n * os.h;
#pragma omp parallel for num_threads(threads) schedule(static)
    for (size_t r = 0; r < rows; r++) {
        int b = (int)(r / os.h), y = (int)(r % os.h) - p->top;
        float *o = out + r * row_floats;
        if (y < 0 || y >= is.h) {
            memset(o, 0, row_floats * sizeof(float));
            continue;
        }
        memset(o, 0, left * sizeof(float));
        memcpy(o + left, in + (((size_t)b * is.h + y) * is.w) * is.c, copied * sizeof(float));
        memset(o + left + copied, 0, right * sizeof(float));
    }
}

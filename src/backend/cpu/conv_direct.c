/* conv_direct.c: a direct NHWC convolution for narrow outputs (16, 32, 48 or
 * 64 channels) on AVX-512, without im2col. Such convolutions (InceptionV3's
 * stem and 35x35 branches, ResNet50's first stage) ran at half of OpenBLAS'
 * sgemm rate through im2col: with so few output channels each im2col float
 * feeds only 2 x cout multiply-adds, yet is written, packed by sgemm and read
 * again. Here a block of output pixels keeps all its channels in registers
 * while the kernel's taps stream past: each input float is broadcast once
 * per tap and each weight vector serves the whole block.
 * CPUs without AVX-512 F keep the im2col path (cpu_conv2d_direct_fits). */
#include "backend/cpu/conv_direct.h"

#include "backend/cpu/ops.h"
#include "core/env.h"

#include <stdatomic.h>
#include <stddef.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define DIRECT_AVX512 1
#define DIRECT_TARGET __attribute__((target("avx512f")))
#else
#define DIRECT_AVX512 0
#endif

/* One convolution's geometry as the kernels read it. */
typedef struct direct_geometry {
    int in_h, in_w, in_c;
    int out_h, out_w, out_c;
    int kernel_h, kernel_w, stride_h, stride_w, pad_top, pad_left;
    const float *kernel; /* HWIO: [kh, kw, in_c, out_c] */
    size_t ldc;          /* floats from one output pixel to the next */
} direct_geometry;

/* Edge pixels (taps outside the image, and a row's last pixels short of a
 * block) take a pixel at a time, reloading the weights for each: on 17- and
 * 35-pixel rows the direct kernels were no faster than im2col (-15% and
 * +-3% here), on 56 and wider 20-44% faster. */
enum { DIRECT_MIN_OUTPUT_WIDTH = 48 };

bool cpu_conv2d_direct_fits(const dlp_conv2d_params *p, int out_w)
{
    /* Decided once per process; threads racing here all store the same answer. */
    static atomic_int supported = -1;
    int known = atomic_load_explicit(&supported, memory_order_relaxed);
    if (known < 0) {
        known = DIRECT_AVX512 && cpu_has_avx512() && dlp_env_switch("DLP_CPU_DIRECT_CONV", true);
        atomic_store_explicit(&supported, known, memory_order_relaxed);
    }
    /* A 1x1 stride-1 conv is one long row of pixels (cpu_conv2d_direct_pixels): no edges. */
    return known && p->filters % 16 == 0 && p->filters <= 64 &&
           (cpu_conv_is_pointwise(p) || out_w >= DIRECT_MIN_OUTPUT_WIDTH);
}

#if DIRECT_AVX512

/* Adds taps [tap_begin, tap_end) of kernel rows [ky_begin, ky_end) to output
 * pixels [ox, ox + P) of output row oy of one image (rows outside the image
 * add nothing; every tap inside along x: the caller's interior range). A
 * kernel row's taps are kx * in_c + ci. J vectors of 16 channels per pixel
 * stay in registers (P * J <= 24 of the 32) while the taps stream past. */
#define DIRECT_BLOCK(J, P)                                                                                         \
    DIRECT_TARGET static void block_##J##_##P(const direct_geometry *g, const float *image, int oy, int ky_begin, \
                                              int ky_end, int tap_begin, int tap_end, int ox, float *out)      \
    {                                                                                                          \
        __m512 acc[P][J];                                                                                      \
        _Pragma("GCC unroll 32") for (int p = 0; p < P; p++) _Pragma("GCC unroll 4") for (int j = 0; j < J; j++) \
            acc[p][j] = _mm512_loadu_ps(out + (size_t)p * g->ldc + 16 * j);                                    \
        size_t step = (size_t)g->stride_w * g->in_c;                                                           \
        for (int ky = ky_begin; ky < ky_end; ky++) {                                                           \
            int iy = oy * g->stride_h + ky - g->pad_top;                                                       \
            if (iy < 0 || iy >= g->in_h) continue;                                                             \
            const float *x = image + ((size_t)iy * g->in_w + (size_t)(ox * g->stride_w - g->pad_left)) * g->in_c; \
            const float *w = g->kernel + ((size_t)ky * g->kernel_w * g->in_c + tap_begin) * g->out_c;           \
            for (int tap = tap_begin; tap < tap_end; tap++, w += g->out_c) {                                    \
                /* tap = kx * in_c + ci: the input floats of one kernel row are contiguous in NHWC. */        \
                __m512 wv[J];                                                                                  \
                _Pragma("GCC unroll 4") for (int j = 0; j < J; j++) wv[j] = _mm512_loadu_ps(w + 16 * j);       \
                _Pragma("GCC unroll 32") for (int p = 0; p < P; p++)                                          \
                {                                                                                              \
                    __m512 xv = _mm512_set1_ps(x[(size_t)p * step + tap]);                                     \
                    _Pragma("GCC unroll 4") for (int j = 0; j < J; j++) acc[p][j] =                            \
                        _mm512_fmadd_ps(xv, wv[j], acc[p][j]);                                                 \
                }                                                                                              \
            }                                                                                                  \
        }                                                                                                      \
        _Pragma("GCC unroll 32") for (int p = 0; p < P; p++) _Pragma("GCC unroll 4") for (int j = 0; j < J; j++) \
            _mm512_storeu_ps(out + (size_t)p * g->ldc + 16 * j, acc[p][j]);                                   \
    }

/* A kernel of at most this many floats is read whole per pixel block (it
 * stays in a 32 KiB L1 data cache). */
#ifndef DIRECT_L1_FLOATS
#define DIRECT_L1_FLOATS 8192
#endif

/* Pixels per block: as many as leave room for the weight vectors and a broadcast. */
DIRECT_BLOCK(1, 16)
DIRECT_BLOCK(2, 12)
DIRECT_BLOCK(3, 8)
DIRECT_BLOCK(4, 6)

typedef void (*block_fn)(const direct_geometry *, const float *, int, int, int, int, int, int, float *);

/* Taps [tap_begin, tap_end) of kernel rows [ky_begin, ky_end) added to one
 * output pixel whose taps may fall outside the image (they count as zeros). */
DIRECT_TARGET static void edge_pixel(const direct_geometry *g, const float *image, int oy, int ky_begin, int ky_end,
                                     int tap_begin, int tap_end, int ox, float *out)
{
    int vectors = g->out_c / 16;
    __m512 acc[4];
    for (int j = 0; j < vectors; j++) acc[j] = _mm512_loadu_ps(out + 16 * j);
    for (int ky = ky_begin; ky < ky_end; ky++) {
        int iy = oy * g->stride_h + ky - g->pad_top;
        if (iy < 0 || iy >= g->in_h) continue;
        for (int kx = 0; kx < g->kernel_w; kx++) {
            int ix = ox * g->stride_w + kx - g->pad_left;
            if (ix < 0 || ix >= g->in_w) continue;
            int ci_begin = tap_begin - kx * g->in_c, ci_end = tap_end - kx * g->in_c;
            if (ci_begin < 0) ci_begin = 0;
            if (ci_end > g->in_c) ci_end = g->in_c;
            const float *x = image + ((size_t)iy * g->in_w + (size_t)ix) * g->in_c;
            const float *w = g->kernel + (((size_t)ky * g->kernel_w + (size_t)kx) * g->in_c + ci_begin) * g->out_c;
            for (int ci = ci_begin; ci < ci_end; ci++, w += g->out_c) {
                __m512 xv = _mm512_set1_ps(x[ci]);
                for (int j = 0; j < vectors; j++) acc[j] = _mm512_fmadd_ps(xv, _mm512_loadu_ps(w + 16 * j), acc[j]);
            }
        }
    }
    for (int j = 0; j < vectors; j++) _mm512_storeu_ps(out + 16 * j, acc[j]);
}

/* Pixels [ox_begin, ox_end) of one output row. A kernel larger than L1 is
 * taken a kernel row at a time: the outputs wait in the row (L1) between
 * kernel rows, and one kernel row's weights (kernel_w * in_c * out_c floats:
 * 48 KiB for ResNet50's 3x3 64 -> 64, the whole kernel 144) stay in L1
 * across the row's pixel blocks. A smaller one is taken whole (an RGB
 * stem's kernel row has only kernel_w * 3 taps). */
static void direct_row(const direct_geometry *g, const float *image, int oy, int ox_begin, int ox_end, float *out_row)
{
    static const block_fn blocks[4] = {block_1_16, block_2_12, block_3_8, block_4_6};
    static const int block_pixels[4] = {16, 12, 8, 6};
    int vectors = g->out_c / 16;
    int pixels = block_pixels[vectors - 1];
    /* Interior pixels: every kernel column inside the image. */
    int interior_begin = (g->pad_left + g->stride_w - 1) / g->stride_w;
    int interior_end = g->in_w + g->pad_left - g->kernel_w >= 0
                           ? (g->in_w + g->pad_left - g->kernel_w) / g->stride_w + 1
                           : 0;
    for (int ox = ox_begin; ox < ox_end; ox++) memset(out_row + (size_t)ox * g->ldc, 0, (size_t)g->out_c * sizeof(float));
    size_t kernel_floats = (size_t)g->kernel_h * g->kernel_w * g->in_c * g->out_c;
    int row_taps = g->kernel_w * g->in_c;
    int rows_at_once = kernel_floats <= DIRECT_L1_FLOATS ? g->kernel_h : 1;
    /* A kernel row past L1 by itself (a 1x1 on 192+ channels to 64) in chunks of taps. */
    int chunk_taps = rows_at_once == 1 && (size_t)row_taps * g->out_c > DIRECT_L1_FLOATS
                         ? DIRECT_L1_FLOATS / g->out_c
                         : row_taps;
    for (int ky = 0; ky < g->kernel_h; ky += rows_at_once)
        for (int tap = 0; tap < row_taps; tap += chunk_taps) {
            int ky_end = ky + rows_at_once, tap_end = tap + chunk_taps < row_taps ? tap + chunk_taps : row_taps;
            int ox = ox_begin;
            while (ox < ox_end) {
                float *out = out_row + (size_t)ox * g->ldc;
                if (ox >= interior_begin && ox + pixels <= interior_end && ox + pixels <= ox_end) {
                    blocks[vectors - 1](g, image, oy, ky, ky_end, tap, tap_end, ox, out);
                    ox += pixels;
                } else {
                    edge_pixel(g, image, oy, ky, ky_end, tap, tap_end, ox, out);
                    ox++;
                }
            }
        }
}

#endif

void cpu_conv2d_direct_pixels(const dlp_conv2d_params *p, const float *in, dlp_shape is, dlp_shape os,
                              const float *kernel, float *out, size_t ldc, size_t pixel0, size_t count)
{
#if DIRECT_AVX512
    direct_geometry g = {is.h,
                         is.w,
                         is.c,
                         os.h,
                         os.w,
                         os.c,
                         p->kernel_h,
                         p->kernel_w,
                         p->stride_h,
                         p->stride_w,
                         dlp_conv_pad_before(is.h, p->kernel_h, p->stride_h, p->padding),
                         dlp_conv_pad_before(is.w, p->kernel_w, p->stride_w, p->padding),
                         kernel,
                         ldc};
    if (cpu_conv_is_pointwise(p)) {
        /* 1x1 stride 1: the pixels of the batch are one row (NHWC keeps them side by side). */
        size_t end = pixel0 + count;
        g.in_h = g.out_h = 1;
        g.in_w = g.out_w = (int)end;
        direct_row(&g, in, 0, (int)pixel0, (int)end, out);
        return;
    }
    size_t end = pixel0 + count, row_pixels = (size_t)os.w;
    for (size_t r = pixel0; r < end;) {
        size_t row = r / row_pixels; /* b * out_h + oy */
        int ox = (int)(r % row_pixels);
        int ox_end = end - row * row_pixels < row_pixels ? (int)(end - row * row_pixels) : os.w;
        const float *image = in + row / (size_t)os.h * (size_t)is.h * is.w * is.c;
        direct_row(&g, image, (int)(row % (size_t)os.h), ox, ox_end, out + row * row_pixels * ldc);
        r = row * row_pixels + (size_t)ox_end;
    }
#else
    (void)p, (void)in, (void)is, (void)os, (void)kernel, (void)out, (void)ldc, (void)pixel0, (void)count;
#endif
}

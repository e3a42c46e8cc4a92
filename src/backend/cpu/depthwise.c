/* depthwise.c: depthwise convolution over a run of output pixels. The 3x3
 * kernels with one filter per channel (all of Xception's) take an AVX-512
 * path that keeps 32 channels of the kernel in registers while a run of
 * pixels passes: one load, one multiply and one add per tap (and a max,
 * for a ReLU folded in), in the definition's order, so the same floats as
 * the plain loop. That loop
 * re-reads and re-writes each output pixel at every tap; Xception's 34
 * depthwise steps took 12% of a batch on it. Other shapes take it. */
#include "backend/cpu/depthwise.h"

#include "backend/cpu/ops.h"

#include <stdbool.h>
#include <stddef.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define DEPTHWISE_AVX512 1
#define DEPTHWISE_TARGET __attribute__((target("avx512f")))
#else
#define DEPTHWISE_AVX512 0
#endif

/* One output pixel, every channel: the definition, tap by tap. */
CPU_CLONES
static void depthwise_pixel(const dlp_conv2d_params *p, const float *image, bool relu, dlp_shape is, int oy, int ox,
                            int pad_top, int pad_left, const float *kernel, const float *bias, int cout, float *o)
{
    int mult = p->filters;
    for (int c = 0; c < cout; c++) o[c] = bias ? bias[c] : 0.0f;
    for (int ky = 0; ky < p->kernel_h; ky++) {
        int iy = oy * p->stride_h + ky - pad_top;
        if (iy < 0 || iy >= is.h) continue;
        for (int kx = 0; kx < p->kernel_w; kx++) {
            int ix = ox * p->stride_w + kx - pad_left;
            if (ix < 0 || ix >= is.w) continue;
            const float *x = image + ((size_t)iy * is.w + ix) * is.c;
            const float *w = kernel + ((size_t)ky * p->kernel_w + kx) * cout;
            if (relu)
                for (int c = 0; c < cout; c++) o[c] += (x[c / mult] > 0.0f ? x[c / mult] : 0.0f) * w[c];
            else if (mult == 1)
                for (int c = 0; c < cout; c++) o[c] += x[c] * w[c];
            else
                for (int c = 0; c < cout; c++) o[c] += x[c / mult] * w[c];
        }
    }
}

#if DEPTHWISE_AVX512

/* Pixels [pixel0, pixel0 + count) of a 3x3 depthwise conv with mult 1.
 * Channels go 32 at a time: their 9 x 2 kernel vectors and the bias stay in
 * registers while a run of 32 pixels passes, so each tap is one load, one
 * multiply and one add (keeping 64 channels of one pixel in registers and
 * loading the kernel at every tap ran at half the rate: two loads per tap).
 * Taps outside the image are skipped, as the definition skips them.
 * Inlined into each call with relu a constant, so the plain form keeps no
 * test per tap. */
DEPTHWISE_TARGET __attribute__((always_inline)) static inline void
depthwise_3x3(const dlp_conv2d_params *p, const float *in, bool relu, dlp_shape is, dlp_shape os, const float *kernel,
              const float *bias, float *out, size_t ldo, size_t pixel0, size_t count)
{
    enum { RUN_PIXELS = 32 };
    int channels = is.c;
    int pad_top = dlp_conv_pad_before(is.h, 3, p->stride_h, p->padding);
    int pad_left = dlp_conv_pad_before(is.w, 3, p->stride_w, p->padding);
    size_t image_pixels = (size_t)os.h * os.w, image_floats = (size_t)is.h * is.w * channels;
    size_t row_floats = (size_t)is.w * channels;
    /* max(x, 0) returns its second operand for NaN and for two zeros: x > 0 ? x : 0. */
    const __m512 zero = _mm512_setzero_ps();
    for (size_t run = 0; run < count; run += RUN_PIXELS) {
        size_t pixels = count - run < RUN_PIXELS ? count - run : RUN_PIXELS, first = pixel0 + run;
        const float *run_image = in + first / image_pixels * image_floats;
        int run_oy = (int)(first / os.w % os.h), run_ox = (int)(first % os.w);
        for (int c0 = 0; c0 < channels; c0 += 32) {
            int lanes = channels - c0;
            __mmask16 m0 = lanes >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << lanes) - 1);
            __mmask16 m1 = lanes >= 32 ? (__mmask16)0xFFFF : lanes > 16 ? (__mmask16)((1u << (lanes - 16)) - 1) : 0;
            __m512 w0[9], w1[9];
            for (int t = 0; t < 9; t++) {
                w0[t] = _mm512_maskz_loadu_ps(m0, kernel + (size_t)t * channels + c0);
                w1[t] = _mm512_maskz_loadu_ps(m1, kernel + (size_t)t * channels + c0 + 16);
            }
            __m512 b0 = bias ? _mm512_maskz_loadu_ps(m0, bias + c0) : _mm512_setzero_ps();
            __m512 b1 = bias ? _mm512_maskz_loadu_ps(m1, bias + c0 + 16) : _mm512_setzero_ps();
            const float *image = run_image + c0;
            int oy = run_oy, ox = run_ox;
            for (size_t i = 0; i < pixels; i++) {
                if (i > 0 && ++ox == os.w) { /* the next pixel by counting: no division per pixel */
                    ox = 0;
                    if (++oy == os.h) oy = 0, image += image_floats;
                }
                int iy0 = oy * p->stride_h - pad_top, ix0 = ox * p->stride_w - pad_left;
                bool row_in[3], column_in[3];
                for (int d = 0; d < 3; d++) {
                    row_in[d] = iy0 + d >= 0 && iy0 + d < is.h;
                    column_in[d] = ix0 + d >= 0 && ix0 + d < is.w;
                }
                /* The window's corner as an offset (it may lie outside the image: only taps inside are read). */
                ptrdiff_t corner = (ptrdiff_t)iy0 * (ptrdiff_t)row_floats + (ptrdiff_t)ix0 * channels;
                /* A multiply, then an add: the definition's roundings (no
                 * contraction under -std=c11), the same floats as the loop. */
                __m512 acc0 = b0, acc1 = b1;
                _Pragma("GCC unroll 9") for (int t = 0; t < 9; t++)
                {
                    if (!row_in[t / 3] || !column_in[t % 3]) continue;
                    const float *x =
                        image + (corner + (ptrdiff_t)(t / 3) * (ptrdiff_t)row_floats + (ptrdiff_t)(t % 3) * channels);
                    __m512 x0 = _mm512_maskz_loadu_ps(m0, x), x1 = _mm512_maskz_loadu_ps(m1, x + 16);
                    if (relu) x0 = _mm512_max_ps(x0, zero), x1 = _mm512_max_ps(x1, zero);
                    acc0 = _mm512_add_ps(acc0, _mm512_mul_ps(x0, w0[t]));
                    acc1 = _mm512_add_ps(acc1, _mm512_mul_ps(x1, w1[t]));
                }
                float *o = out + (run + i) * ldo + c0;
                _mm512_mask_storeu_ps(o, m0, acc0);
                _mm512_mask_storeu_ps(o + 16, m1, acc1);
            }
        }
    }
}

DEPTHWISE_TARGET static void depthwise_3x3_plain(const dlp_conv2d_params *p, const float *in, dlp_shape is,
                                                 dlp_shape os, const float *kernel, const float *bias, float *out,
                                                 size_t ldo, size_t pixel0, size_t count)
{
    depthwise_3x3(p, in, false, is, os, kernel, bias, out, ldo, pixel0, count);
}

DEPTHWISE_TARGET static void depthwise_3x3_relu(const dlp_conv2d_params *p, const float *in, dlp_shape is,
                                                dlp_shape os, const float *kernel, const float *bias, float *out,
                                                size_t ldo, size_t pixel0, size_t count)
{
    depthwise_3x3(p, in, true, is, os, kernel, bias, out, ldo, pixel0, count);
}

#endif

void cpu_depthwise_pixels(const dlp_conv2d_params *p, const float *in, bool input_relu, dlp_shape is, dlp_shape os,
                          const float *kernel, const float *bias, float *out, size_t ldo, size_t pixel0, size_t count)
{
#if DEPTHWISE_AVX512
    if (p->filters == 1 && p->kernel_h == 3 && p->kernel_w == 3 && cpu_has_avx512()) {
        if (input_relu)
            depthwise_3x3_relu(p, in, is, os, kernel, bias, out, ldo, pixel0, count);
        else
            depthwise_3x3_plain(p, in, is, os, kernel, bias, out, ldo, pixel0, count);
        return;
    }
#endif
    int pad_top = dlp_conv_pad_before(is.h, p->kernel_h, p->stride_h, p->padding);
    int pad_left = dlp_conv_pad_before(is.w, p->kernel_w, p->stride_w, p->padding);
    size_t image_pixels = (size_t)os.h * os.w;
    for (size_t i = 0; i < count; i++) {
        size_t r = pixel0 + i;
        const float *image = in + r / image_pixels * (size_t)is.h * is.w * is.c;
        depthwise_pixel(p, image, input_relu, is, (int)(r / os.w % os.h), (int)(r % os.w), pad_top, pad_left, kernel,
                        bias, os.c, out + i * ldo);
    }
}

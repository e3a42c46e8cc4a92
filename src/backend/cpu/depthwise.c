/* depthwise.c: depthwise convolution over a run of output pixels. The 3x3
 * kernels with one filter per channel (all of Xception's) take an AVX-512
 * path that keeps 64 channels of an output pixel in registers while its 9
 * taps pass: one multiply and one add per tap, in the definition's order,
 * so the same floats as the plain loop. The loop it replaces re-read and
 * re-wrote each output pixel at every tap; Xception's 34 depthwise steps took
 * 12% of a batch. Other shapes take the plain loop. */
#include "backend/cpu/depthwise.h"

#include "backend/cpu/conv_direct.h"
#include "backend/cpu/ops.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define DEPTHWISE_AVX512 1
#define DEPTHWISE_TARGET __attribute__((target("avx512f")))
#else
#define DEPTHWISE_AVX512 0
#endif

/* One output pixel, every channel: the definition, tap by tap. */
CPU_CLONES
static void depthwise_pixel(const dlp_conv2d_params *p, const float *image, dlp_shape is, int oy, int ox, int pad_top,
                            int pad_left, const float *kernel, const float *bias, int cout, float *o)
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
            if (mult == 1)
                for (int c = 0; c < cout; c++) o[c] += x[c] * w[c];
            else
                for (int c = 0; c < cout; c++) o[c] += x[c / mult] * w[c];
        }
    }
}

#if DEPTHWISE_AVX512

/* Pixels [pixel0, pixel0 + count) of a 3x3 depthwise conv with mult 1.
 * Each pixel takes its channels 64 at a time in 4 registers while the 9
 * taps pass (the pixel's inputs and the kernel stay in L1); taps outside
 * the image add nothing, as the definition skips them. */
DEPTHWISE_TARGET static void depthwise_3x3(const dlp_conv2d_params *p, const float *in, dlp_shape is, dlp_shape os,
                                           const float *kernel, const float *bias, float *out, size_t ldo,
                                           size_t pixel0, size_t count)
{
    int channels = is.c;
    int pad_top = dlp_conv_pad_before(is.h, 3, p->stride_h, p->padding);
    int pad_left = dlp_conv_pad_before(is.w, 3, p->stride_w, p->padding);
    /* An interior pixel's taps, as offsets from its first one. */
    size_t interior_offset[9];
    for (int t = 0; t < 9; t++) interior_offset[t] = ((size_t)(t / 3) * is.w + (size_t)(t % 3)) * channels;
    /* The first pixel's place; the others follow by counting (no division per
     * pixel). */
    size_t image_pixels = (size_t)os.h * os.w, image_floats = (size_t)is.h * is.w * channels;
    const float *image = in + pixel0 / image_pixels * image_floats;
    int oy = (int)(pixel0 / os.w % os.h), ox = (int)(pixel0 % os.w);
    for (size_t i = 0; i < count; i++) {
        if (i > 0 && ++ox == os.w) {
            ox = 0;
            if (++oy == os.h) oy = 0, image += image_floats;
        }
        int iy0 = oy * p->stride_h - pad_top, ix0 = ox * p->stride_w - pad_left;
        /* The taps inside the image, in the definition's order. */
        const float *x[9];
        int taps = 0, tap_index[9];
        if (iy0 >= 0 && iy0 + 3 <= is.h && ix0 >= 0 && ix0 + 3 <= is.w) {
            const float *first = image + ((size_t)iy0 * is.w + ix0) * channels;
            for (int t = 0; t < 9; t++) x[t] = first + interior_offset[t], tap_index[t] = t;
            taps = 9;
        } else {
            for (int ky = 0; ky < 3; ky++)
                for (int kx = 0; kx < 3; kx++) {
                    int iy = iy0 + ky, ix = ix0 + kx;
                    if (iy < 0 || iy >= is.h || ix < 0 || ix >= is.w) continue;
                    x[taps] = image + ((size_t)iy * is.w + ix) * channels;
                    tap_index[taps++] = ky * 3 + kx;
                }
        }
        float *o = out + i * ldo;
        int c0 = 0;
        /* A multiply, then an add: the definition's roundings (no
         * contraction under -std=c11), the same floats as the loop. */
        for (; c0 + 64 <= channels; c0 += 64) { /* 4 whole vectors */
            __m512 acc[4];
            for (int j = 0; j < 4; j++) acc[j] = bias ? _mm512_loadu_ps(bias + c0 + 16 * j) : _mm512_setzero_ps();
            for (int t = 0; t < taps; t++) {
                const float *w = kernel + (size_t)tap_index[t] * channels + c0, *xt = x[t] + c0;
                for (int j = 0; j < 4; j++)
                    acc[j] =
                        _mm512_add_ps(acc[j], _mm512_mul_ps(_mm512_loadu_ps(xt + 16 * j), _mm512_loadu_ps(w + 16 * j)));
            }
            for (int j = 0; j < 4; j++) _mm512_storeu_ps(o + c0 + 16 * j, acc[j]);
        }
        for (; c0 < channels; c0 += 16) { /* the rest, a vector at a time, the last one masked */
            int lanes = channels - c0 < 16 ? channels - c0 : 16;
            __mmask16 m = lanes == 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << lanes) - 1);
            __m512 acc = bias ? _mm512_maskz_loadu_ps(m, bias + c0) : _mm512_setzero_ps();
            for (int t = 0; t < taps; t++)
                acc = _mm512_add_ps(
                    acc, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, x[t] + c0),
                                       _mm512_maskz_loadu_ps(m, kernel + (size_t)tap_index[t] * channels + c0)));
            _mm512_mask_storeu_ps(o + c0, m, acc);
        }
    }
}

#endif

void cpu_depthwise_pixels(const dlp_conv2d_params *p, const float *in, dlp_shape is, dlp_shape os, const float *kernel,
                          const float *bias, float *out, size_t ldo, size_t pixel0, size_t count)
{
#if DEPTHWISE_AVX512
    if (p->filters == 1 && p->kernel_h == 3 && p->kernel_w == 3 && cpu_conv2d_direct_supported()) {
        depthwise_3x3(p, in, is, os, kernel, bias, out, ldo, pixel0, count);
        return;
    }
#endif
    int pad_top = dlp_conv_pad_before(is.h, p->kernel_h, p->stride_h, p->padding);
    int pad_left = dlp_conv_pad_before(is.w, p->kernel_w, p->stride_w, p->padding);
    size_t image_pixels = (size_t)os.h * os.w;
    for (size_t i = 0; i < count; i++) {
        size_t r = pixel0 + i;
        const float *image = in + r / image_pixels * (size_t)is.h * is.w * is.c;
        depthwise_pixel(p, image, is, (int)(r / os.w % os.h), (int)(r % os.w), pad_top, pad_left, kernel, bias, os.c,
                        out + i * ldo);
    }
}

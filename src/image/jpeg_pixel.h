/* jpeg_pixel.h: the arithmetic of dlp_jpeg_reconstruct (jpeg_coefficients.c),
 * one 8x8 block or one output pixel at a time, for the CPU twin and for the
 * GPU kernels (kernels/jpeg.cu), which compile this same code. It follows
 * libjpeg-turbo's decode step by step, in integers only (no rounding mode or
 * fused multiply-add can make the two differ):
 * - the IDCT is the accurate integer one (JDCT_ISLOW, jidctint.c): the
 *   Loeffler-Ligtenberg-Moschytz butterflies with 13-bit constants, a first
 *   pass over columns keeping 2 extra bits, a second over rows, each result
 *   rounded, shifted and clamped (dlp_jpeg_idct_sample);
 * - chroma is upsampled by libjpeg's "fancy" triangle filter (jdsample.c):
 *   each output sample weighs its nearest input 3/4 and the next nearest
 *   1/4, across (4:2:2) or across and down (4:2:0: 9/16, 3/16, 3/16, 1/16),
 *   rounding half up on one side and half down on the other, the edges
 *   repeating the outermost sample; a component at most 2 samples wide is
 *   repeated instead;
 * - YCbCr -> RGB uses libjpeg's 16-bit fixed-point factors (jdcolor.c).
 * Verified on the host: unit.jpeg_coefficients (TurboJPEG's RGB byte for
 * byte on 53 files); the kernels on an H200 (gpu.jpeg_cuda, 2026-11-27). */
#ifndef DLP_SRC_IMAGE_JPEG_PIXEL_H
#define DLP_SRC_IMAGE_JPEG_PIXEL_H

#include <stddef.h>
#include <stdint.h>

#include "image/jpeg_coefficients.h"

#ifdef __CUDACC__
#define DLP_JPEG_HD __host__ __device__
#else
#define DLP_JPEG_HD
#endif

#define DLP_JPEG_FIX13(x) ((int64_t)((x) * 8192 + 0.5))

/* A sample from the IDCT's value centred on 0, clamped as TurboJPEG's SIMD
 * IDCT clamps it (saturating packs, then + 128). libjpeg's C IDCT takes it
 * through a range-limit table instead, which agrees from -384 to 383 and
 * wraps past that; the coefficient reader keeps blocks within 2048 of 0
 * (jpeg_coefficients.c, block_in_range), where the SIMD code's sums do not
 * saturate, and x86-64 TurboJPEG always runs the SIMD code. */
static inline DLP_JPEG_HD uint8_t dlp_jpeg_idct_sample(int64_t centred)
{
    return (uint8_t)(centred < -128 ? 0 : centred > 127 ? 255 : centred + 128);
}

static inline DLP_JPEG_HD int64_t dlp_jpeg_descale(int64_t x, int n) { return (x + ((int64_t)1 << (n - 1))) >> n; }

/* One 1-D pass over in[0], in[step], .., in[7 step]: out[k] before descaling. */
static inline DLP_JPEG_HD void dlp_jpeg_idct_1d(const int64_t *in, int step, int64_t out[8])
{
    int64_t z2 = in[2 * step], z3 = in[6 * step];
    int64_t z1 = (z2 + z3) * DLP_JPEG_FIX13(0.541196100);
    int64_t t2 = z1 - z3 * DLP_JPEG_FIX13(1.847759065), t3 = z1 + z2 * DLP_JPEG_FIX13(0.765366865);
    int64_t t0 = (in[0] + in[4 * step]) * 8192, t1 = (in[0] - in[4 * step]) * 8192;
    int64_t t10 = t0 + t3, t13 = t0 - t3, t11 = t1 + t2, t12 = t1 - t2;
    t0 = in[7 * step], t1 = in[5 * step], t2 = in[3 * step], t3 = in[1 * step];
    z1 = t0 + t3, z2 = t1 + t2, z3 = t0 + t2;
    int64_t z4 = t1 + t3, z5 = (z3 + z4) * DLP_JPEG_FIX13(1.175875602);
    t0 *= DLP_JPEG_FIX13(0.298631336), t1 *= DLP_JPEG_FIX13(2.053119869);
    t2 *= DLP_JPEG_FIX13(3.072711026), t3 *= DLP_JPEG_FIX13(1.501321110);
    z1 *= -DLP_JPEG_FIX13(0.899976223), z2 *= -DLP_JPEG_FIX13(2.562915447);
    z3 = z3 * -DLP_JPEG_FIX13(1.961570560) + z5;
    z4 = z4 * -DLP_JPEG_FIX13(0.390180644) + z5;
    t0 += z1 + z3, t1 += z2 + z4, t2 += z2 + z3, t3 += z1 + z4;
    out[0] = t10 + t3, out[7] = t10 - t3, out[1] = t11 + t2, out[6] = t11 - t2;
    out[2] = t12 + t1, out[5] = t12 - t1, out[3] = t13 + t0, out[4] = t13 - t0;
}

/* One block (64 coefficients, natural order) times its quantizers into 8
 * rows of 8 samples, stride bytes apart. The first pass keeps 2 bits more
 * than the samples (PASS1_BITS), the second descales by 13 + 2 + 3. */
static inline DLP_JPEG_HD void dlp_jpeg_idct_block(const int16_t *block, const uint16_t *quant, uint8_t *out,
                                                   size_t stride)
{
    int64_t in[64], work[64], row[8];
    for (int k = 0; k < 64; k++) in[k] = (int64_t)block[k] * quant[k];
    for (int c = 0; c < 8; c++) {
        dlp_jpeg_idct_1d(in + c, 8, row);
        for (int r = 0; r < 8; r++) work[r * 8 + c] = dlp_jpeg_descale(row[r], 13 - 2);
    }
    for (int r = 0; r < 8; r++) {
        dlp_jpeg_idct_1d(work + r * 8, 1, row);
        for (int c = 0; c < 8; c++) out[r * stride + c] = dlp_jpeg_idct_sample(dlp_jpeg_descale(row[c], 13 + 2 + 3));
    }
}

/* A component's samples after the IDCT: the first width x height of rows
 * stride bytes apart are the image's, the rest block padding. */
typedef struct dlp_jpeg_plane {
    const uint8_t *samples;
    size_t stride;
    int width, height;
} dlp_jpeg_plane;

static inline DLP_JPEG_HD int dlp_jpeg_sample(const dlp_jpeg_plane *p, int x, int y)
{
    return p->samples[(size_t)y * p->stride + (size_t)x];
}

/* Chroma at image pixel (x, y) of a plane sampled 1 / h across and 1 / v
 * down ((h, v) = (1, 1), (2, 1) or (2, 2)), upsampled as libjpeg does. */
static inline DLP_JPEG_HD int dlp_jpeg_upsampled(const dlp_jpeg_plane *p, int h, int v, int x, int y)
{
    int i = x / h, r = y / v;
    if (h == 1 || p->width <= 2) return dlp_jpeg_sample(p, i, r);
    int left = x % 2 == 0;
    int beside = left ? i - 1 : i + 1; /* the next nearest column */
    int edge = left ? i == 0 : i == p->width - 1;
    if (v == 1) { /* 4:2:2 */
        if (edge) return dlp_jpeg_sample(p, i, r);
        return (dlp_jpeg_sample(p, i, r) * 3 + dlp_jpeg_sample(p, beside, r) + (left ? 1 : 2)) >> 2;
    }
    /* 4:2:0: column sums of the row and the next nearest row (the edge rows repeat). */
    int other = y % 2 == 0 ? (r > 0 ? r - 1 : 0) : (r + 1 < p->height ? r + 1 : p->height - 1);
    int here = dlp_jpeg_sample(p, i, r) * 3 + dlp_jpeg_sample(p, i, other);
    if (edge) return left ? (here * 4 + 8) >> 4 : (here * 4 + 7) >> 4;
    int next = dlp_jpeg_sample(p, beside, r) * 3 + dlp_jpeg_sample(p, beside, other);
    return left ? (here * 3 + next + 8) >> 4 : (here * 3 + next + 7) >> 4;
}

static inline DLP_JPEG_HD uint8_t dlp_jpeg_clamp(int64_t x) { return (uint8_t)(x < 0 ? 0 : x > 255 ? 255 : x); }

/* Image pixel (x, y) as RGB from the Y, Cb and Cr planes, chroma sampled
 * 1 / h across and 1 / v down. jdcolor.c's factors: FIX(x) with 16
 * fraction bits, rounded; green's two products are summed before the shift. */
static inline DLP_JPEG_HD void dlp_jpeg_rgb_pixel(const dlp_jpeg_plane planes[3], int h, int v, int x, int y,
                                                  uint8_t out[3])
{
    const int64_t cr_r = (int64_t)(1.40200 * 65536 + 0.5), cb_b = (int64_t)(1.77200 * 65536 + 0.5);
    const int64_t cr_g = (int64_t)(0.71414 * 65536 + 0.5), cb_g = (int64_t)(0.34414 * 65536 + 0.5);
    int64_t luma = dlp_jpeg_sample(&planes[0], x, y);
    int64_t cb = dlp_jpeg_upsampled(&planes[1], h, v, x, y) - 128;
    int64_t cr = dlp_jpeg_upsampled(&planes[2], h, v, x, y) - 128;
    out[0] = dlp_jpeg_clamp(luma + ((cr_r * cr + 32768) >> 16));
    out[1] = dlp_jpeg_clamp(luma + ((-cb_g * cb + 32768 - cr_g * cr) >> 16));
    out[2] = dlp_jpeg_clamp(luma + ((cb_b * cb + 32768) >> 16));
}

/* Each component's blocks and quantizers (host or device memory). */
typedef struct dlp_jpeg_blocks {
    const int16_t *blocks[3];
    const uint16_t *quant[3];
} dlp_jpeg_blocks;

/* The items, one per GPU thread in kernels/jpeg.cu and all of them in turn
 * in dlp_jpeg_reconstruct: block i of the layout's blocks (Y's, Cb's, Cr's)
 * through the IDCT into its plane of samples, and output pixel i
 * (row-major) to RGB. */
static inline DLP_JPEG_HD void dlp_jpeg_idct_item(dlp_jpeg_blocks in, const dlp_jpeg_layout *layout,
                                                  uint8_t *samples, size_t i)
{
    int c = i < layout->first_block[1] ? 0 : i < layout->first_block[2] ? 1 : 2;
    size_t within = i - layout->first_block[c], row_blocks = (size_t)layout->width_in_blocks[c];
    size_t by = within / row_blocks, bx = within % row_blocks, stride = row_blocks * 8;
    dlp_jpeg_idct_block(in.blocks[c] + within * 64, in.quant[c],
                        samples + layout->plane_offset[c] + by * 8 * stride + bx * 8, stride);
}

static inline DLP_JPEG_HD void dlp_jpeg_pixel_item(const uint8_t *samples, const dlp_jpeg_layout *layout,
                                                   uint8_t *rgb, size_t i)
{
    dlp_jpeg_plane planes[3];
    for (int c = 0; c < 3; c++) {
        planes[c].samples = samples + layout->plane_offset[c];
        planes[c].stride = (size_t)layout->width_in_blocks[c] * 8;
        planes[c].width = layout->plane_width[c];
        planes[c].height = layout->plane_height[c];
    }
    int y = (int)(i / (size_t)layout->width), x = (int)(i % (size_t)layout->width);
    dlp_jpeg_rgb_pixel(planes, layout->h_samp, layout->v_samp, x, y, rgb + i * 3);
}

#endif

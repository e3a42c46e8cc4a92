/* resize_pixel.h: one output pixel of dlp_image_resize_float (resize.c),
 * computed on its own, for the GPU preprocess kernel (kernels/preprocess.cu)
 * and compiled as C for the host test that checks it.
 *
 * Every float operation is the one resize.c does, in the same order, so the
 * three values equal dlp_image_resize_float's bit for bit on the host
 * (tests/unit/test_resize_pixel.c checks every pixel of many shapes, all
 * methods x normalizations, with tolerance 0). Where resize.c precomputes a
 * span, tap or row weight once per row or column, this recomputes it per
 * pixel with the same expression, which gives the same float.
 *
 * On the device, nvcc would contract a * b + c into one fused multiply-add
 * (one rounding instead of two, so results differ from the CPU in the last
 * bit); the products and sums therefore go through RESIZE_PIXEL_MUL/ADD,
 * which are __fmul_rn/__fadd_rn there (never contracted) and plain operators
 * in C (the project builds C11 without GNU extensions, where GCC's default
 * is -ffp-contract=off). Division is IEEE round-to-nearest on both (nvcc's
 * default -prec-div=true; __fdiv_rn is used anyway), floorf/ceilf are exact.
 * Checked on the build host: the PTX of kernels/preprocess.cu (nvcc -O3,
 * compute_90) has only add/sub/mul/div.rn.f32 and one rcp.rn.f32 (nvcc's
 * form of (float)(1.0 / (double)x), which equals the correctly rounded float
 * reciprocal because double carries more than 2*24+2 bits), and no fma. The
 * same test built with -mfma -ffp-contract=fast instead finds 488728 values
 * off, by up to 8.5e-4: contraction is what would break the agreement.
 *
 * Verified: the host math (test_resize_pixel). NOT verified: the same code
 * compiled for and run on a GPU; that is tests/gpu/test_preprocess_cuda.c,
 * which has not run on a device yet. */
#ifndef DLP_SRC_IMAGE_RESIZE_PIXEL_H
#define DLP_SRC_IMAGE_RESIZE_PIXEL_H

#include <math.h>
#include <stdint.h>

#include "dlp/image.h"

#ifdef __CUDACC__
#define DLP_HOST_DEVICE __host__ __device__
#else
#define DLP_HOST_DEVICE
#endif

#ifdef __CUDA_ARCH__
#define RESIZE_PIXEL_MUL(a, b) __fmul_rn((a), (b))
#define RESIZE_PIXEL_ADD(a, b) __fadd_rn((a), (b))
#define RESIZE_PIXEL_SUB(a, b) __fsub_rn((a), (b))
#define RESIZE_PIXEL_DIV(a, b) __fdiv_rn((a), (b))
#else
#define RESIZE_PIXEL_MUL(a, b) ((a) * (b))
#define RESIZE_PIXEL_ADD(a, b) ((a) + (b))
#define RESIZE_PIXEL_SUB(a, b) ((a) - (b))
#define RESIZE_PIXEL_DIV(a, b) ((a) / (b))
#endif

/* The source image as the kernel sees it: RGB8 HWC, row stride width * 3. */
typedef struct dlp_resize_source {
    const uint8_t *pixels;
    int height, width;
} dlp_resize_source;

DLP_HOST_DEVICE static inline int64_t resize_pixel_clamp(int64_t index, int64_t size)
{
    return index < 0 ? 0 : index >= size ? size - 1 : index;
}

/* resize.c's area_cell_weight: overlap of input cell v with [low, high). */
DLP_HOST_DEVICE static inline float resize_pixel_cell_weight(int64_t v, float low, float high, float scale)
{
    if ((float)v < low) return (float)(v + 1) > high ? scale : RESIZE_PIXEL_SUB((float)(v + 1), low);
    return (float)(v + 1) > high ? RESIZE_PIXEL_SUB(high, (float)v) : 1.0f;
}

/* Channel c of area output (y, x): per input row, the x sum (first cell
 * weighted, middle cells whole, last cell weighted), times the row's weight,
 * accumulated over rows, times 1/(s*t): resize.c's area_row. */
DLP_HOST_DEVICE static inline float resize_pixel_area(dlp_resize_source source, int out_h, int out_w, int y, int x,
                                                      int c)
{
    int64_t in_h = source.height, in_w = source.width;
    float y_scale = RESIZE_PIXEL_DIV((float)source.height, (float)out_h);
    float x_scale = RESIZE_PIXEL_DIV((float)source.width, (float)out_w);
    float y_low = RESIZE_PIXEL_MUL((float)y, y_scale), y_high = RESIZE_PIXEL_MUL((float)(y + 1), y_scale);
    float x_low = RESIZE_PIXEL_MUL((float)x, x_scale), x_high = RESIZE_PIXEL_MUL((float)(x + 1), x_scale);
    int64_t y_start = (int64_t)floorf(y_low), y_end = (int64_t)ceilf(y_high);
    int64_t x_start = (int64_t)floorf(x_low), x_end = (int64_t)ceilf(x_high);
    float x_start_weight = resize_pixel_cell_weight(x_start, x_low, x_high, x_scale);
    float x_last_weight = resize_pixel_cell_weight(x_end - 1, x_low, x_high, x_scale);
    float inverse_area = (float)(1.0 / (double)RESIZE_PIXEL_MUL(y_scale, x_scale));
    float sum = 0.0f;
    for (int64_t i = y_start; i < y_end; i++) {
        const uint8_t *row = source.pixels + (size_t)resize_pixel_clamp(i, in_h) * (size_t)in_w * 3 + c;
        float row_sum = RESIZE_PIXEL_MUL((float)row[resize_pixel_clamp(x_start, in_w) * 3], x_start_weight);
        if (x_start + 1 != x_end) {
            for (int64_t j = x_start + 1; j < x_end - 1; j++)
                row_sum = RESIZE_PIXEL_ADD(row_sum, (float)row[resize_pixel_clamp(j, in_w) * 3]);
            row_sum = RESIZE_PIXEL_ADD(
                row_sum, RESIZE_PIXEL_MUL((float)row[resize_pixel_clamp(x_end - 1, in_w) * 3], x_last_weight));
        }
        float row_weight = resize_pixel_cell_weight(i, y_low, y_high, y_scale);
        sum = RESIZE_PIXEL_ADD(sum, RESIZE_PIXEL_MUL(row_sum, row_weight));
    }
    return RESIZE_PIXEL_MUL(sum, inverse_area);
}

/* resize.c's linear_taps, for one output index. */
typedef struct resize_pixel_tap {
    int64_t lower, upper;
    float lerp;
} resize_pixel_tap;

DLP_HOST_DEVICE static inline resize_pixel_tap resize_pixel_linear_tap(int in_size, int out_size, int i)
{
    float scale = RESIZE_PIXEL_DIV((float)in_size, (float)out_size);
    float position = RESIZE_PIXEL_SUB(RESIZE_PIXEL_MUL(RESIZE_PIXEL_ADD((float)i, 0.5f), scale), 0.5f);
    float position_floor = floorf(position);
    resize_pixel_tap tap;
    tap.lower = position_floor < 0 ? 0 : (int64_t)position_floor;
    int64_t upper = (int64_t)ceilf(position);
    tap.upper = upper > in_size - 1 ? in_size - 1 : upper;
    tap.lerp = RESIZE_PIXEL_SUB(position, position_floor); /* from the unclamped floor, as TF does */
    return tap;
}

DLP_HOST_DEVICE static inline float resize_pixel_lerp(float from, float to, float t)
{
    return RESIZE_PIXEL_ADD(from, RESIZE_PIXEL_MUL(RESIZE_PIXEL_SUB(to, from), t));
}

/* resize.c's nearest_index. */
DLP_HOST_DEVICE static inline int64_t resize_pixel_nearest_index(int i, int out_size, int in_size)
{
    float scale = RESIZE_PIXEL_DIV((float)in_size, (float)out_size);
    return resize_pixel_clamp((int64_t)floorf(RESIZE_PIXEL_MUL(RESIZE_PIXEL_ADD((float)i, 0.5f), scale)), in_size);
}

/* The 0..255 values of output pixel (y, x), before normalization. */
DLP_HOST_DEVICE static inline void resize_pixel_raw(dlp_resize_source source, int out_h, int out_w,
                                                    dlp_resize method, int y, int x, float rgb[3])
{
    size_t stride = (size_t)source.width * 3;
    if (method == DLP_RESIZE_AREA) {
        for (int c = 0; c < 3; c++) rgb[c] = resize_pixel_area(source, out_h, out_w, y, x, c);
    } else if (method == DLP_RESIZE_BILINEAR) {
        resize_pixel_tap y_tap = resize_pixel_linear_tap(source.height, out_h, y);
        resize_pixel_tap x_tap = resize_pixel_linear_tap(source.width, out_w, x);
        const uint8_t *top = source.pixels + (size_t)y_tap.lower * stride;
        const uint8_t *bottom = source.pixels + (size_t)y_tap.upper * stride;
        size_t left = (size_t)x_tap.lower * 3, right = (size_t)x_tap.upper * 3;
        for (int c = 0; c < 3; c++) {
            float top_value = resize_pixel_lerp((float)top[left + c], (float)top[right + c], x_tap.lerp);
            float bottom_value = resize_pixel_lerp((float)bottom[left + c], (float)bottom[right + c], x_tap.lerp);
            rgb[c] = resize_pixel_lerp(top_value, bottom_value, y_tap.lerp);
        }
    } else {
        const uint8_t *pixel = source.pixels + (size_t)resize_pixel_nearest_index(y, out_h, source.height) * stride +
                               (size_t)resize_pixel_nearest_index(x, out_w, source.width) * 3;
        for (int c = 0; c < 3; c++) rgb[c] = (float)pixel[c];
    }
}

/* Output pixel (y, x) of dlp_image_resize_float(source, out_h, out_w, method,
 * normalize): resize, then resize.c's normalize_pixels. method and normalize
 * must be valid (the callers check them once per batch). */
DLP_HOST_DEVICE static inline void dlp_resize_pixel(dlp_resize_source source, int out_h, int out_w, dlp_resize method,
                                                    dlp_normalize normalize, int y, int x, float out[3])
{
    float rgb[3];
    resize_pixel_raw(source, out_h, out_w, method, y, x, rgb);
    if (normalize == DLP_NORMALIZE_TF) {
        for (int c = 0; c < 3; c++) out[c] = RESIZE_PIXEL_SUB(RESIZE_PIXEL_DIV(rgb[c], 127.5f), 1.0f);
    } else if (normalize == DLP_NORMALIZE_CAFFE) {
        out[0] = RESIZE_PIXEL_SUB(rgb[2], 103.939f);
        out[1] = RESIZE_PIXEL_SUB(rgb[1], 116.779f);
        out[2] = RESIZE_PIXEL_SUB(rgb[0], 123.68f);
    } else {
        for (int c = 0; c < 3; c++) out[c] = rgb[c];
    }
}

#endif

/* resize.c: the CPU resize + normalize, TensorFlow's tf.image.resize
 * arithmetic (resize_area_op.cc, resize_bilinear_op.cc,
 * resize_nearest_neighbor_op.cc) redone in float so results agree to float
 * rounding. It is the reference for the GPU preprocess kernel, whose per-pixel
 * copy of this arithmetic is resize_pixel.h: change both together
 * (unit.resize_pixel requires them to agree bit for bit). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "image/image_internal.h"

static const char *const resize_names[] = {"area", "bilinear", "nearest"};
static const char *const normalize_names[] = {"none", "tf", "caffe"};

dlp_status dlp_resize_from_name(const char *name, dlp_resize *method)
{
    for (int i = 0; name && i < 3; i++)
        if (!strcmp(name, resize_names[i])) {
            *method = (dlp_resize)i;
            return DLP_OK;
        }
    return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "unknown resize method '%s', expected area, bilinear or nearest",
                    name ? name : "(null)");
}

dlp_status dlp_normalize_from_name(const char *name, dlp_normalize *mode)
{
    for (int i = 0; name && i < 3; i++)
        if (!strcmp(name, normalize_names[i])) {
            *mode = (dlp_normalize)i;
            return DLP_OK;
        }
    return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "unknown normalization '%s', expected none, tf or caffe",
                    name ? name : "(null)");
}

const char *dlp_resize_name(dlp_resize method)
{
    return (unsigned)method < 3 ? resize_names[method] : "unknown";
}

const char *dlp_normalize_name(dlp_normalize mode)
{
    return (unsigned)mode < 3 ? normalize_names[mode] : "unknown";
}

static int64_t clamp_index(int64_t index, int64_t size)
{
    return index < 0 ? 0 : index >= size ? size - 1 : index;
}

/* --- area: a box filter over [y*s, (y+1)*s) x [x*t, (x+1)*t) --- */

/* The input cells [start, end) one output cell covers, and the weights of the
 * first and last (partly covered) cells. */
typedef struct area_span {
    int64_t start, end;
    float start_weight, last_weight;
} area_span;

/* Overlap of input cell v with [low, high) (TF's case analysis, in float). */
static float area_cell_weight(int64_t v, float low, float high, float scale)
{
    if ((float)v < low) return (float)(v + 1) > high ? scale : (float)(v + 1) - low;
    return (float)(v + 1) > high ? high - (float)v : 1.0f;
}

static void compute_area_spans(int in_size, int out_size, area_span *spans)
{
    float scale = (float)in_size / (float)out_size;
    for (int i = 0; i < out_size; i++) {
        float low = (float)i * scale, high = (float)(i + 1) * scale;
        area_span *span = &spans[i];
        span->start = (int64_t)floorf(low);
        span->end = (int64_t)ceilf(high);
        span->start_weight = area_cell_weight(span->start, low, high, scale);
        span->last_weight = area_cell_weight(span->end - 1, low, high, scale);
    }
}

/* One output row's pixels, summed in TF's order: along x per input row, then
 * each row's sum times its weight, then times 1/(s*t). row_weights has room
 * for the rows one output row covers (ceil(s) + 1). */
static void area_row(const dlp_image *image, int y, float y_scale, const area_span *x_spans, int out_w,
                     float inverse_area, float *row_weights, float *out)
{
    int64_t in_w = image->width, in_h = image->height;
    float low = (float)y * y_scale, high = (float)(y + 1) * y_scale;
    int64_t y_start = (int64_t)floorf(low), y_end = (int64_t)ceilf(high);
    for (int64_t i = y_start; i < y_end; i++) row_weights[i - y_start] = area_cell_weight(i, low, high, y_scale);
    for (int x = 0; x < out_w; x++) {
        const area_span *xs = &x_spans[x];
        for (int c = 0; c < 3; c++) {
            float sum = 0.0f;
            for (int64_t i = y_start; i < y_end; i++) {
                const uint8_t *row = image->pixels + (size_t)clamp_index(i, in_h) * (size_t)in_w * 3 + c;
                float row_sum = (float)row[clamp_index(xs->start, in_w) * 3] * xs->start_weight;
                if (xs->start + 1 != xs->end) {
                    for (int64_t j = xs->start + 1; j < xs->end - 1; j++) row_sum += (float)row[clamp_index(j, in_w) * 3];
                    row_sum += (float)row[clamp_index(xs->end - 1, in_w) * 3] * xs->last_weight;
                }
                sum += row_sum * row_weights[i - y_start];
            }
            out[(size_t)x * 3 + c] = sum * inverse_area;
        }
    }
}

static dlp_status resize_area(const dlp_image *image, int out_h, int out_w, float *out)
{
    float y_scale = (float)image->height / (float)out_h, x_scale = (float)image->width / (float)out_w;
    size_t weight_count = (size_t)ceilf(y_scale) + 2;
    area_span *x_spans = malloc((size_t)out_w * sizeof *x_spans);
    float *row_weights = malloc(weight_count * sizeof *row_weights);
    if (!x_spans || !row_weights) {
        free(x_spans);
        free(row_weights);
        return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "resize: cannot allocate %d spans", out_w);
    }
    compute_area_spans(image->width, out_w, x_spans);
    float inverse_area = (float)(1.0 / (double)(y_scale * x_scale));
    for (int y = 0; y < out_h; y++)
        area_row(image, y, y_scale, x_spans, out_w, inverse_area, row_weights, out + (size_t)y * out_w * 3);
    free(row_weights);
    free(x_spans);
    return DLP_OK;
}

/* --- bilinear, half-pixel centres: source (i + 0.5) * s - 0.5 --- */

typedef struct linear_tap {
    int64_t lower, upper;
    float lerp;
} linear_tap;

static void linear_taps(int in_size, int out_size, linear_tap *taps)
{
    float scale = (float)in_size / (float)out_size;
    for (int i = 0; i < out_size; i++) {
        float source = ((float)i + 0.5f) * scale - 0.5f;
        float source_floor = floorf(source);
        taps[i].lower = source_floor < 0 ? 0 : (int64_t)source_floor;
        int64_t upper = (int64_t)ceilf(source);
        taps[i].upper = upper > in_size - 1 ? in_size - 1 : upper;
        taps[i].lerp = source - source_floor; /* from the unclamped floor, as TF does */
    }
}

static dlp_status resize_bilinear(const dlp_image *image, int out_h, int out_w, float *out)
{
    linear_tap *taps = malloc(((size_t)out_h + (size_t)out_w) * sizeof *taps);
    if (!taps) return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "resize: cannot allocate %d taps", out_h + out_w);
    linear_tap *y_taps = taps, *x_taps = taps + out_h;
    linear_taps(image->height, out_h, y_taps);
    linear_taps(image->width, out_w, x_taps);
    size_t stride = (size_t)image->width * 3;
    for (int y = 0; y < out_h; y++) {
        const uint8_t *top = image->pixels + (size_t)y_taps[y].lower * stride;
        const uint8_t *bottom = image->pixels + (size_t)y_taps[y].upper * stride;
        float y_lerp = y_taps[y].lerp;
        float *out_row = out + (size_t)y * out_w * 3;
        for (int x = 0; x < out_w; x++) {
            size_t left = (size_t)x_taps[x].lower * 3, right = (size_t)x_taps[x].upper * 3;
            float x_lerp = x_taps[x].lerp;
            for (int c = 0; c < 3; c++) {
                float top_left = top[left + c], top_right = top[right + c];
                float bottom_left = bottom[left + c], bottom_right = bottom[right + c];
                float top_value = top_left + (top_right - top_left) * x_lerp;
                float bottom_value = bottom_left + (bottom_right - bottom_left) * x_lerp;
                out_row[(size_t)x * 3 + c] = top_value + (bottom_value - top_value) * y_lerp;
            }
        }
    }
    free(taps);
    return DLP_OK;
}

/* --- nearest, half-pixel centres: floor((i + 0.5) * s), clamped --- */

static int64_t nearest_index(int i, float scale, int in_size)
{
    int64_t index = (int64_t)floorf(((float)i + 0.5f) * scale);
    return clamp_index(index, in_size);
}

static void resize_nearest(const dlp_image *image, int out_h, int out_w, float *out_float, uint8_t *out_u8)
{
    float y_scale = (float)image->height / (float)out_h, x_scale = (float)image->width / (float)out_w;
    size_t stride = (size_t)image->width * 3;
    for (int y = 0; y < out_h; y++) {
        const uint8_t *row = image->pixels + (size_t)nearest_index(y, y_scale, image->height) * stride;
        for (int x = 0; x < out_w; x++) {
            const uint8_t *pixel = row + (size_t)nearest_index(x, x_scale, image->width) * 3;
            size_t at = ((size_t)y * out_w + x) * 3;
            for (int c = 0; c < 3; c++) {
                if (out_float) out_float[at + c] = pixel[c];
                else out_u8[at + c] = pixel[c];
            }
        }
    }
}

/* --- the public calls --- */

static dlp_status check_resize_arguments(const dlp_image *image, int out_h, int out_w, dlp_resize method,
                                         const void *out)
{
    if (!image || !image->pixels || !out) return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "resize: NULL image or output");
    if (image->width < 1 || image->height < 1)
        return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "resize: image is %dx%d", image->width, image->height);
    if ((unsigned)method > DLP_RESIZE_NEAREST)
        return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "resize: unknown method %d", (int)method);
    if (out_h < 1 || out_w < 1 || out_h > DLP_IMAGE_MAX_SIDE || out_w > DLP_IMAGE_MAX_SIDE ||
        (int64_t)out_h * out_w > DLP_IMAGE_MAX_PIXELS)
        return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "resize: output %dx%d, expected sides 1..%d and at most %lld pixels",
                        out_h, out_w, DLP_IMAGE_MAX_SIDE, (long long)DLP_IMAGE_MAX_PIXELS);
    return DLP_OK;
}

/* 0..255 floats, before normalization. */
static dlp_status resize_raw(const dlp_image *image, int out_h, int out_w, dlp_resize method, float *out)
{
    switch (method) {
    case DLP_RESIZE_AREA: return resize_area(image, out_h, out_w, out);
    case DLP_RESIZE_BILINEAR: return resize_bilinear(image, out_h, out_w, out);
    default: resize_nearest(image, out_h, out_w, out, NULL); return DLP_OK;
    }
}

/* Keras preprocess_input, float32 arithmetic as NumPy does it. */
static void normalize_pixels(float *values, size_t pixel_count, dlp_normalize mode)
{
    if (mode == DLP_NORMALIZE_TF) {
        for (size_t i = 0; i < pixel_count * 3; i++) values[i] = values[i] / 127.5f - 1.0f;
    } else if (mode == DLP_NORMALIZE_CAFFE) {
        static const float mean_bgr[3] = {103.939f, 116.779f, 123.68f};
        for (size_t i = 0; i < pixel_count; i++) {
            float *pixel = values + 3 * i;
            float red = pixel[0];
            pixel[0] = pixel[2] - mean_bgr[0];
            pixel[1] = pixel[1] - mean_bgr[1];
            pixel[2] = red - mean_bgr[2];
        }
    }
}

dlp_status dlp_image_resize_float(const dlp_image *image, int out_h, int out_w, dlp_resize method,
                                  dlp_normalize normalize, float *out)
{
    DLP_TRY(check_resize_arguments(image, out_h, out_w, method, out));
    if ((unsigned)normalize > DLP_NORMALIZE_CAFFE)
        return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "resize: unknown normalization %d", (int)normalize);
    DLP_TRY(resize_raw(image, out_h, out_w, method, out));
    normalize_pixels(out, (size_t)out_h * (size_t)out_w, normalize);
    return DLP_OK;
}

dlp_status dlp_image_resize_u8(const dlp_image *image, int out_h, int out_w, dlp_resize method, uint8_t *out)
{
    DLP_TRY(check_resize_arguments(image, out_h, out_w, method, out));
    if (method == DLP_RESIZE_NEAREST) {
        resize_nearest(image, out_h, out_w, NULL, out);
        return DLP_OK;
    }
    size_t count = (size_t)out_h * (size_t)out_w * 3;
    float *values = malloc(count * sizeof *values);
    if (!values) return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "resize: cannot allocate %dx%d floats", out_h, out_w);
    dlp_status status = resize_raw(image, out_h, out_w, method, values);
    /* nearbyintf under the default rounding mode: ties to even, like tf.round. */
    for (size_t i = 0; status == DLP_OK && i < count; i++) {
        float rounded = nearbyintf(values[i]);
        out[i] = rounded <= 0.0f ? 0 : rounded >= 255.0f ? 255 : (uint8_t)rounded;
    }
    free(values);
    return status;
}

/* ops.c: the CPU backend's ops, fp32 NHWC. Convolution is im2col + OpenBLAS
 * sgemm (a 1x1 stride-1 conv is a plain GEMM); the rest are OpenMP loops with
 * the channel axis innermost (contiguous in NHWC). */
#include <cblas.h>
#include <float.h>
#include <math.h>
#include <string.h>

#include "backend/cpu/ops.h"

static int is_pointwise(const dlp_conv2d_params *p)
{
    return p->kernel_h == 1 && p->kernel_w == 1 && p->stride_h == 1 && p->stride_w == 1;
}

size_t cpu_conv2d_workspace_floats(const dlp_conv2d_params *p, dlp_shape in, dlp_shape out)
{
    if (is_pointwise(p)) return 0;
    return (size_t)out.h * out.w * (size_t)p->kernel_h * p->kernel_w * in.c;
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

void cpu_conv2d(const dlp_conv2d_params *p, const float *in, int n, dlp_shape is, const float *kernel,
                const float *bias, float *out, dlp_shape os, float *workspace, int threads)
{
    int cout = p->filters;
    if (is_pointwise(p)) {
        size_t rows = (size_t)n * is.h * is.w;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rows, cout, is.c, 1.0f, in, is.c, kernel, cout,
                    0.0f, out, cout);
        apply_bias_activation(out, rows, cout, bias, p->activation, threads);
        return;
    }
    int pad_top = dlp_conv_pad_before(is.h, p->kernel_h, p->stride_h, p->padding);
    int pad_left = dlp_conv_pad_before(is.w, p->kernel_w, p->stride_w, p->padding);
    int k = p->kernel_h * p->kernel_w * is.c;
    int rows = os.h * os.w;
    for (int b = 0; b < n; b++) {
        const float *image = in + (size_t)b * is.h * is.w * is.c;
        /* Column order (ky, kx, ci) matches the HWIO kernel read as [K, cout]. */
#pragma omp parallel for num_threads(threads) schedule(static)
        for (int r = 0; r < rows; r++) {
            int oy = r / os.w, ox = r % os.w;
            float *col = workspace + (size_t)r * k;
            for (int ky = 0; ky < p->kernel_h; ky++) {
                int iy = oy * p->stride_h + ky - pad_top;
                for (int kx = 0; kx < p->kernel_w; kx++) {
                    int ix = ox * p->stride_w + kx - pad_left;
                    float *dst = col + ((size_t)ky * p->kernel_w + kx) * is.c;
                    if (iy < 0 || iy >= is.h || ix < 0 || ix >= is.w)
                        memset(dst, 0, (size_t)is.c * sizeof(float));
                    else
                        memcpy(dst, image + ((size_t)iy * is.w + ix) * is.c, (size_t)is.c * sizeof(float));
                }
            }
        }
        float *dst = out + (size_t)b * rows * cout;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, cout, k, 1.0f, workspace, k, kernel, cout, 0.0f,
                    dst, cout);
    }
    apply_bias_activation(out, (size_t)n * rows, cout, bias, p->activation, threads);
}

void cpu_depthwise_conv2d(const dlp_conv2d_params *p, const float *in, int n, dlp_shape is, const float *kernel,
                          const float *bias, float *out, dlp_shape os, int threads)
{
    int mult = p->filters, cout = os.c;
    int pad_top = dlp_conv_pad_before(is.h, p->kernel_h, p->stride_h, p->padding);
    int pad_left = dlp_conv_pad_before(is.w, p->kernel_w, p->stride_w, p->padding);
    size_t total = (size_t)n * os.h * os.w;
#pragma omp parallel for num_threads(threads) schedule(static)
    for (size_t r = 0; r < total; r++) {
        int b = (int)(r / ((size_t)os.h * os.w));
        int oy = (int)(r / os.w % os.h), ox = (int)(r % os.w);
        float *o = out + r * cout;
        for (int c = 0; c < cout; c++) o[c] = bias ? bias[c] : 0.0f;
        for (int ky = 0; ky < p->kernel_h; ky++) {
            int iy = oy * p->stride_h + ky - pad_top;
            if (iy < 0 || iy >= is.h) continue;
            for (int kx = 0; kx < p->kernel_w; kx++) {
                int ix = ox * p->stride_w + kx - pad_left;
                if (ix < 0 || ix >= is.w) continue;
                const float *x = in + (((size_t)b * is.h + iy) * is.w + ix) * is.c;
                const float *w = kernel + ((size_t)ky * p->kernel_w + kx) * cout;
                for (int c = 0; c < cout; c++) o[c] += x[c / mult] * w[c];
            }
        }
    }
    if (p->activation != DLP_ACT_LINEAR) cpu_activation(p->activation, out, total, cout, threads);
}

void cpu_dense(const dlp_dense_params *p, const float *in, size_t rows, int in_features, const float *kernel,
               const float *bias, float *out)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rows, p->units, in_features, 1.0f, in, in_features,
                kernel, p->units, 0.0f, out, p->units);
    apply_bias_activation(out, rows, p->units, bias, p->activation, 1);
}

void cpu_channel_affine(const float *in, size_t pixels, int channels, const float *scale, const float *shift,
                        float *out, int threads)
{
#pragma omp parallel for num_threads(threads) schedule(static)
    for (size_t r = 0; r < pixels; r++)
        for (int c = 0; c < channels; c++) out[r * channels + c] = in[r * channels + c] * scale[c] + shift[c];
}

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

void cpu_pool(dlp_op op, const dlp_pool_params *p, const float *in, int n, dlp_shape is, float *out, dlp_shape os,
              int threads)
{
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
        float *o = out + r * channels;
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

void cpu_concat(const float *const *inputs, const int *channels, int input_count, size_t pixels, float *out)
{
    int total = 0;
    for (int i = 0; i < input_count; i++) total += channels[i];
    for (size_t q = 0; q < pixels; q++) {
        float *o = out + q * total;
        for (int i = 0; i < input_count; i++) {
            memcpy(o, inputs[i] + q * channels[i], (size_t)channels[i] * sizeof(float));
            o += channels[i];
        }
    }
}

void cpu_add(const float *const *inputs, int input_count, size_t elements, float *out)
{
    for (size_t e = 0; e < elements; e++) {
        float sum = inputs[0][e];
        for (int i = 1; i < input_count; i++) sum += inputs[i][e];
        out[e] = sum;
    }
}

void cpu_zero_pad(const dlp_zero_pad_params *p, const float *in, int n, dlp_shape is, float *out, dlp_shape os)
{
    memset(out, 0, (size_t)n * dlp_shape_elements(os) * sizeof(float));
    for (int b = 0; b < n; b++)
        for (int y = 0; y < is.h; y++)
            memcpy(out + (((size_t)b * os.h + y + p->top) * os.w + p->left) * os.c,
                   in + (((size_t)b * is.h + y) * is.w) * is.c, (size_t)is.w * is.c * sizeof(float));
}

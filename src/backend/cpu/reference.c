/* reference.c: naive CPU ops straight from the definitions (TensorFlow's
 * 'same' padding, valid-count average pooling), the yardstick the fast ops in
 * ops.c (and later the CUDA ops) are tested against. Not used for inference. */
#include <float.h>
#include <math.h>

#include "backend/cpu/ops.h"

float cpu_activation_naive(dlp_activation activation, float x)
{
    switch (activation) {
    case DLP_ACT_RELU: return x > 0 ? x : 0;
    case DLP_ACT_RELU6: return x < 0 ? 0 : x > 6 ? 6 : x;
    case DLP_ACT_SIGMOID: return (float)(1.0 / (1.0 + exp(-(double)x)));
    case DLP_ACT_TANH: return (float)tanh((double)x);
    default: return x;
    }
}

static void softmax_rows(float *data, size_t rows, int channels)
{
    for (size_t r = 0; r < rows; r++) {
        double top = -INFINITY, sum = 0;
        for (int c = 0; c < channels; c++) top = fmax(top, data[r * channels + c]);
        for (int c = 0; c < channels; c++) sum += exp(data[r * channels + c] - top);
        for (int c = 0; c < channels; c++) data[r * channels + c] = (float)(exp(data[r * channels + c] - top) / sum);
    }
}

static void finish(dlp_activation activation, float *out, size_t rows, int channels)
{
    if (activation == DLP_ACT_SOFTMAX)
        softmax_rows(out, rows, channels);
    else
        for (size_t i = 0; i < rows * channels; i++) out[i] = cpu_activation_naive(activation, out[i]);
}

void cpu_conv2d_naive(const dlp_conv2d_params *p, const float *in, int n, dlp_shape is, const float *kernel,
                      const float *bias, float *out, dlp_shape os)
{
    int pt = dlp_conv_pad_before(is.h, p->kernel_h, p->stride_h, p->padding);
    int pl = dlp_conv_pad_before(is.w, p->kernel_w, p->stride_w, p->padding);
    for (int b = 0; b < n; b++)
        for (int oy = 0; oy < os.h; oy++)
            for (int ox = 0; ox < os.w; ox++)
                for (int co = 0; co < os.c; co++) {
                    double sum = bias ? bias[co] : 0.0;
                    for (int ky = 0; ky < p->kernel_h; ky++)
                        for (int kx = 0; kx < p->kernel_w; kx++) {
                            int iy = oy * p->stride_h + ky - pt, ix = ox * p->stride_w + kx - pl;
                            if (iy < 0 || iy >= is.h || ix < 0 || ix >= is.w) continue;
                            for (int ci = 0; ci < is.c; ci++)
                                sum += (double)in[(((size_t)b * is.h + iy) * is.w + ix) * is.c + ci] *
                                       kernel[(((size_t)ky * p->kernel_w + kx) * is.c + ci) * os.c + co];
                        }
                    out[(((size_t)b * os.h + oy) * os.w + ox) * os.c + co] = (float)sum;
                }
    finish(p->activation, out, (size_t)n * os.h * os.w, os.c);
}

void cpu_depthwise_conv2d_naive(const dlp_conv2d_params *p, const float *in, int n, dlp_shape is,
                                const float *kernel, const float *bias, float *out, dlp_shape os)
{
    int pt = dlp_conv_pad_before(is.h, p->kernel_h, p->stride_h, p->padding);
    int pl = dlp_conv_pad_before(is.w, p->kernel_w, p->stride_w, p->padding);
    int mult = p->filters;
    for (int b = 0; b < n; b++)
        for (int oy = 0; oy < os.h; oy++)
            for (int ox = 0; ox < os.w; ox++)
                for (int ci = 0; ci < is.c; ci++)
                    for (int m = 0; m < mult; m++) {
                        int co = ci * mult + m;
                        double sum = bias ? bias[co] : 0.0;
                        for (int ky = 0; ky < p->kernel_h; ky++)
                            for (int kx = 0; kx < p->kernel_w; kx++) {
                                int iy = oy * p->stride_h + ky - pt, ix = ox * p->stride_w + kx - pl;
                                if (iy < 0 || iy >= is.h || ix < 0 || ix >= is.w) continue;
                                sum += (double)in[(((size_t)b * is.h + iy) * is.w + ix) * is.c + ci] *
                                       kernel[(((size_t)ky * p->kernel_w + kx) * is.c + ci) * mult + m];
                            }
                        out[(((size_t)b * os.h + oy) * os.w + ox) * os.c + co] = (float)sum;
                    }
    finish(p->activation, out, (size_t)n * os.h * os.w, os.c);
}

void cpu_dense_naive(const dlp_dense_params *p, const float *in, size_t rows, int in_features, const float *kernel,
                     const float *bias, float *out)
{
    for (size_t r = 0; r < rows; r++)
        for (int o = 0; o < p->units; o++) {
            double sum = bias ? bias[o] : 0.0;
            for (int i = 0; i < in_features; i++) sum += (double)in[r * in_features + i] * kernel[(size_t)i * p->units + o];
            out[r * p->units + o] = (float)sum;
        }
    finish(p->activation, out, rows, p->units);
}

void cpu_pool_naive(dlp_op op, const dlp_pool_params *p, const float *in, int n, dlp_shape is, float *out,
                    dlp_shape os)
{
    int pt = dlp_conv_pad_before(is.h, p->pool_h, p->stride_h, p->padding);
    int pl = dlp_conv_pad_before(is.w, p->pool_w, p->stride_w, p->padding);
    for (int b = 0; b < n; b++)
        for (int oy = 0; oy < os.h; oy++)
            for (int ox = 0; ox < os.w; ox++)
                for (int c = 0; c < is.c; c++) {
                    double sum = 0, top = -INFINITY;
                    int valid = 0;
                    for (int ky = 0; ky < p->pool_h; ky++)
                        for (int kx = 0; kx < p->pool_w; kx++) {
                            int iy = oy * p->stride_h + ky - pt, ix = ox * p->stride_w + kx - pl;
                            if (iy < 0 || iy >= is.h || ix < 0 || ix >= is.w) continue;
                            double v = in[(((size_t)b * is.h + iy) * is.w + ix) * is.c + c];
                            sum += v;
                            top = fmax(top, v);
                            valid++;
                        }
                    out[(((size_t)b * os.h + oy) * os.w + ox) * os.c + c] =
                        (float)(op == DLP_OP_MAX_POOL ? top : sum / valid);
                }
}

void cpu_global_pool_naive(dlp_op op, const float *in, int n, dlp_shape is, float *out)
{
    for (int b = 0; b < n; b++)
        for (int c = 0; c < is.c; c++) {
            double sum = 0, top = -INFINITY;
            for (int y = 0; y < is.h; y++)
                for (int x = 0; x < is.w; x++) {
                    double v = in[(((size_t)b * is.h + y) * is.w + x) * is.c + c];
                    sum += v;
                    top = fmax(top, v);
                }
            out[(size_t)b * is.c + c] = (float)(op == DLP_OP_GLOBAL_MAX_POOL ? top : sum / (is.h * is.w));
        }
}

void cpu_batchnorm_naive(const float *in, size_t pixels, int channels, const float *gamma, const float *beta,
                         const float *mean, const float *variance, float epsilon, float *out)
{
    for (size_t q = 0; q < pixels; q++)
        for (int c = 0; c < channels; c++) {
            double x = in[q * channels + c];
            double y = (x - mean[c]) / sqrt((double)variance[c] + epsilon) * (gamma ? gamma[c] : 1.0) +
                       (beta ? beta[c] : 0.0);
            out[q * channels + c] = (float)y;
        }
}

// graph_ops.cu: the CUDA backend's own NHWC fp32 kernels (everything that is
// not a cuDNN convolution or a cuBLAS GEMM). One thread per output element
// with grid-stride loops, so any size fits the grid; arithmetic follows the
// CPU twins in src/backend/cpu/ops.c (same summation order and types).
#include <float.h>
#include <math.h>

#include "backend/cuda/graph_kernels.h"
#include "dlp/graph.h"

namespace {

constexpr int kThreads = 256;
constexpr size_t kMaxBlocks = 1u << 20;  // grid-stride beyond

// Clears an error an earlier runtime call left pending (a non-sticky one; a
// sticky execution error returns again at once), so that the
// cudaGetLastError() after a launch reports that launch.
void clear_stale_error() { (void)cudaGetLastError(); }

unsigned blocks_for(size_t total)
{
    size_t blocks = (total + kThreads - 1) / kThreads;
    if (blocks > kMaxBlocks) blocks = kMaxBlocks;
    return (unsigned)blocks;
}

__device__ float activate(float x, int activation)
{
    switch (activation) {
    case DLP_ACT_RELU: return x > 0.0f ? x : 0.0f;
    case DLP_ACT_RELU6: return fminf(fmaxf(x, 0.0f), 6.0f);
    case DLP_ACT_SIGMOID: return 1.0f / (1.0f + expf(-x));
    case DLP_ACT_TANH: return tanhf(x);
    default: return x;
    }
}

__global__ void bias_activation_kernel(const float *in, float *out, size_t total, int channels, const float *bias,
                                       int activation)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x) {
        float x = in[i];
        if (bias) x += bias[i % channels];
        out[i] = activate(x, activation);
    }
}

__global__ void softmax_kernel(const float *in, float *out, size_t rows, int channels)
{
    for (size_t r = blockIdx.x * (size_t)blockDim.x + threadIdx.x; r < rows; r += (size_t)gridDim.x * blockDim.x) {
        const float *x = in + r * channels;
        float *y = out + r * channels;
        float top = -FLT_MAX;
        for (int c = 0; c < channels; c++) top = fmaxf(top, x[c]);
        double sum = 0.0;
        for (int c = 0; c < channels; c++) {
            float e = expf(x[c] - top);
            y[c] = e;
            sum += e;
        }
        for (int c = 0; c < channels; c++) y[c] = (float)(y[c] / sum);
    }
}

__global__ void channel_affine_kernel(const float *in, float *out, size_t total, int channels, const float *scale,
                                      const float *shift)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x) {
        int c = (int)(i % channels);
        out[i] = in[i] * scale[c] + shift[c];
    }
}

__global__ void depthwise_kernel(dlp_cuda_window g, const float *in, const float *kernel, const float *bias,
                                 float *out)
{
    size_t total = (size_t)g.batch * g.out_h * g.out_w * g.out_c;
    int mult = g.out_c / g.in_c;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x) {
        int c = (int)(i % g.out_c);
        size_t pixel = i / g.out_c;
        int ox = (int)(pixel % g.out_w), oy = (int)(pixel / g.out_w % g.out_h);
        size_t b = pixel / ((size_t)g.out_w * g.out_h);
        float sum = bias ? bias[c] : 0.0f;
        for (int ky = 0; ky < g.kernel_h; ky++) {
            int iy = oy * g.stride_h + ky - g.pad_top;
            if (iy < 0 || iy >= g.in_h) continue;
            for (int kx = 0; kx < g.kernel_w; kx++) {
                int ix = ox * g.stride_w + kx - g.pad_left;
                if (ix < 0 || ix >= g.in_w) continue;
                float x = in[((b * g.in_h + iy) * g.in_w + ix) * g.in_c + c / mult];
                sum += x * kernel[((size_t)ky * g.kernel_w + kx) * g.out_c + c];
            }
        }
        out[i] = sum;
    }
}

__global__ void pool_kernel(dlp_cuda_window g, int is_max, const float *in, float *out)
{
    size_t total = (size_t)g.batch * g.out_h * g.out_w * g.out_c;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x) {
        int c = (int)(i % g.out_c);
        size_t pixel = i / g.out_c;
        int ox = (int)(pixel % g.out_w), oy = (int)(pixel / g.out_w % g.out_h);
        size_t b = pixel / ((size_t)g.out_w * g.out_h);
        int y0 = oy * g.stride_h - g.pad_top, x0 = ox * g.stride_w - g.pad_left;
        int y1 = min(y0 + g.kernel_h, g.in_h), x1 = min(x0 + g.kernel_w, g.in_w);
        y0 = max(y0, 0), x0 = max(x0, 0);
        float value = is_max ? -FLT_MAX : 0.0f;
        for (int y = y0; y < y1; y++)
            for (int x = x0; x < x1; x++) {
                float v = in[((b * g.in_h + y) * g.in_w + x) * g.in_c + c];
                value = is_max ? (v > value ? v : value) : value + v;
            }
        // TensorFlow's 'same' average divides by the number of valid inputs.
        if (!is_max) value *= 1.0f / (float)((y1 - y0) * (x1 - x0));
        out[i] = value;
    }
}

__global__ void global_pool_kernel(int is_max, const float *in, int batch, size_t pixels, int channels, float *out)
{
    size_t total = (size_t)batch * channels;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x) {
        int c = (int)(i % channels);
        const float *image = in + (i / channels) * pixels * channels;
        if (is_max) {
            float top = -FLT_MAX;
            for (size_t q = 0; q < pixels; q++) top = image[q * channels + c] > top ? image[q * channels + c] : top;
            out[i] = top;
        } else {
            double sum = 0.0;
            for (size_t q = 0; q < pixels; q++) sum += image[q * channels + c];
            out[i] = (float)(sum / (double)pixels);
        }
    }
}

__global__ void concat_slice_kernel(const float *in, size_t pixels, int channels, float *out, int out_channels,
                                    int offset)
{
    size_t total = pixels * channels;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x)
        out[(i / channels) * out_channels + offset + i % channels] = in[i];
}

struct input_list {
    const float *data[DLP_CUDA_MAX_INPUTS];
};

__global__ void add_kernel(input_list inputs, int count, size_t total, float *out)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x) {
        float sum = inputs.data[0][i];
        for (int k = 1; k < count; k++) sum += inputs.data[k][i];
        out[i] = sum;
    }
}

__global__ void zero_pad_kernel(const float *in, int in_h, int in_w, int channels, float *out, size_t total,
                                int out_h, int out_w, int top, int left)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x) {
        int c = (int)(i % channels);
        size_t pixel = i / channels;
        int y = (int)(pixel / out_w % out_h) - top, x = (int)(pixel % out_w) - left;
        size_t b = pixel / ((size_t)out_w * out_h);
        out[i] = y >= 0 && y < in_h && x >= 0 && x < in_w ? in[((b * in_h + y) * in_w + x) * channels + c] : 0.0f;
    }
}

}  // namespace

extern "C" cudaError_t dlp_cuda_bias_activation(const float *in, float *out, size_t rows, int channels,
                                                const float *bias, int activation, cudaStream_t stream)
{
    size_t total = rows * channels;
    if (total == 0) return cudaSuccess;
    clear_stale_error();
    bias_activation_kernel<<<blocks_for(total), kThreads, 0, stream>>>(in, out, total, channels, bias, activation);
    return cudaGetLastError();
}

extern "C" cudaError_t dlp_cuda_softmax(const float *in, float *out, size_t rows, int channels, cudaStream_t stream)
{
    if (rows == 0 || channels == 0) return cudaSuccess;
    clear_stale_error();
    softmax_kernel<<<blocks_for(rows), kThreads, 0, stream>>>(in, out, rows, channels);
    return cudaGetLastError();
}

extern "C" cudaError_t dlp_cuda_channel_affine(const float *in, float *out, size_t rows, int channels,
                                               const float *scale, const float *shift, cudaStream_t stream)
{
    size_t total = rows * channels;
    if (total == 0) return cudaSuccess;
    clear_stale_error();
    channel_affine_kernel<<<blocks_for(total), kThreads, 0, stream>>>(in, out, total, channels, scale, shift);
    return cudaGetLastError();
}

extern "C" cudaError_t dlp_cuda_depthwise_conv2d(const dlp_cuda_window *g, const float *in, const float *kernel,
                                                 const float *bias, float *out, cudaStream_t stream)
{
    size_t total = (size_t)g->batch * g->out_h * g->out_w * g->out_c;
    if (total == 0) return cudaSuccess;
    if (g->in_c <= 0 || g->out_c % g->in_c != 0) return cudaErrorInvalidValue;
    clear_stale_error();
    depthwise_kernel<<<blocks_for(total), kThreads, 0, stream>>>(*g, in, kernel, bias, out);
    return cudaGetLastError();
}

extern "C" cudaError_t dlp_cuda_pool(const dlp_cuda_window *g, int is_max, const float *in, float *out,
                                     cudaStream_t stream)
{
    size_t total = (size_t)g->batch * g->out_h * g->out_w * g->out_c;
    if (total == 0) return cudaSuccess;
    clear_stale_error();
    pool_kernel<<<blocks_for(total), kThreads, 0, stream>>>(*g, is_max, in, out);
    return cudaGetLastError();
}

extern "C" cudaError_t dlp_cuda_global_pool(int is_max, const float *in, int batch, size_t pixels, int channels,
                                            float *out, cudaStream_t stream)
{
    size_t total = (size_t)batch * channels;
    if (total == 0) return cudaSuccess;
    clear_stale_error();
    global_pool_kernel<<<blocks_for(total), kThreads, 0, stream>>>(is_max, in, batch, pixels, channels, out);
    return cudaGetLastError();
}

extern "C" cudaError_t dlp_cuda_concat_slice(const float *in, size_t pixels, int channels, float *out,
                                             int out_channels, int offset, cudaStream_t stream)
{
    size_t total = pixels * channels;
    if (total == 0) return cudaSuccess;
    clear_stale_error();
    concat_slice_kernel<<<blocks_for(total), kThreads, 0, stream>>>(in, pixels, channels, out, out_channels, offset);
    return cudaGetLastError();
}

extern "C" cudaError_t dlp_cuda_add(const float *const *inputs, int count, size_t elements, float *out,
                                    cudaStream_t stream)
{
    if (count < 1 || count > DLP_CUDA_MAX_INPUTS) return cudaErrorInvalidValue;
    if (elements == 0) return cudaSuccess;
    input_list list = {};
    for (int k = 0; k < count; k++) list.data[k] = inputs[k];
    clear_stale_error();
    add_kernel<<<blocks_for(elements), kThreads, 0, stream>>>(list, count, elements, out);
    return cudaGetLastError();
}

extern "C" cudaError_t dlp_cuda_zero_pad(const float *in, int batch, int in_h, int in_w, int channels, float *out,
                                         int out_h, int out_w, int top, int left, cudaStream_t stream)
{
    size_t total = (size_t)batch * out_h * out_w * channels;
    if (total == 0) return cudaSuccess;
    clear_stale_error();
    zero_pad_kernel<<<blocks_for(total), kThreads, 0, stream>>>(in, in_h, in_w, channels, out, total, out_h, out_w,
                                                                 top, left);
    return cudaGetLastError();
}

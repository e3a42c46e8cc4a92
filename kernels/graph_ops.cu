// graph_ops.cu: the CUDA backend's own NHWC kernels (everything that is not a
// cuDNN convolution or a cuBLAS GEMM). One thread per output element with
// grid-stride loops, so any size fits the grid; arithmetic follows the CPU
// twins in src/backend/cpu/ops.c (same summation order and types). Each kernel
// is a template on the activation storage type T (float, __half,
// __nv_bfloat16): values are widened to float on load and rounded on store,
// so fp16/bf16 runs do fp32 math; with T = float the code is the fp32 path.
// The memory-bound kernels (pooling, padding, bias+activation, channel
// affine, add, concat, conversion) also have a vector form: one thread per 16
// bytes of channels (8 half, 4 float), loaded and stored as one access, used
// when the channel count is a multiple of the vector width and the buffers
// are 16-byte aligned (every NHWC pixel row then is: arena buffers are
// 32-byte aligned); per lane the math is the scalar kernel's, so the results
// are the same bits.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <float.h>
#include <math.h>
#include <stdint.h>

#include "backend/cuda/graph_kernels.h"
#include "dlp/graph.h"

#include "grid.cuh"

namespace {

// Clears an error an earlier runtime call left pending (a non-sticky one; a
// sticky execution error returns again at once), so that the
// cudaGetLastError() after a launch reports that launch.
void clear_stale_error() { (void)cudaGetLastError(); }

// Host and device: the depthwise items below also run on the host, in
// unit.kernel_items (the same code, checked without a GPU).
__host__ __device__ __forceinline__ float to_float(float x) { return x; }
__host__ __device__ __forceinline__ float to_float(__half x) { return __half2float(x); }
__host__ __device__ __forceinline__ float to_float(__nv_bfloat16 x) { return __bfloat162float(x); }

// Round to nearest even, as the host-side weight conversion (device_layout.c).
template <typename T> __host__ __device__ __forceinline__ T from_float(float x);
template <> __host__ __device__ __forceinline__ float from_float<float>(float x) { return x; }
template <> __host__ __device__ __forceinline__ __half from_float<__half>(float x) { return __float2half_rn(x); }
template <> __host__ __device__ __forceinline__ __nv_bfloat16 from_float<__nv_bfloat16>(float x)
{
    return __float2bfloat16_rn(x);
}

// #pragma unroll in code that also compiles for the host (whose compiler
// does not know it).
#ifdef __CUDA_ARCH__
#define DEVICE_UNROLL _Pragma("unroll")
#else
#define DEVICE_UNROLL
#endif

// A float4 of weights through the read-only cache on the device, plainly on the host.
__host__ __device__ __forceinline__ float4 read_only(const float4 *p)
{
#ifdef __CUDA_ARCH__
    return __ldg(p);
#else
    return *p;
#endif
}

// Runs the statement with T bound to the storage's element type; an unknown
// storage returns cudaErrorInvalidValue from the calling launcher.
#define STORAGE_SWITCH(storage, ...)                                                                                   \
    switch (storage) {                                                                                                 \
    case DLP_CUDA_STORAGE_F32: {                                                                                       \
        typedef float T;                                                                                               \
        __VA_ARGS__;                                                                                                   \
    } break;                                                                                                           \
    case DLP_CUDA_STORAGE_F16: {                                                                                       \
        typedef __half T;                                                                                              \
        __VA_ARGS__;                                                                                                   \
    } break;                                                                                                           \
    case DLP_CUDA_STORAGE_BF16: {                                                                                      \
        typedef __nv_bfloat16 T;                                                                                       \
        __VA_ARGS__;                                                                                                   \
    } break;                                                                                                           \
    default: return cudaErrorInvalidValue;                                                                             \
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

// 16 bytes of T, for one vector load or store.
template <typename T> struct alignas(16) vec16 {
    static constexpr int kLanes = 16 / sizeof(T);
    T lane[kLanes];
};

template <typename T> __device__ __forceinline__ vec16<T> zero_vector()
{
    vec16<T> v;
#pragma unroll
    for (int k = 0; k < vec16<T>::kLanes; k++) v.lane[k] = from_float<T>(0.0f);
    return v;
}

template <typename T> bool vector_fits(int channels) { return channels % vec16<T>::kLanes == 0; }

// Whether both buffers start on a 16-byte boundary (the backend's always do).
bool aligned16(const void *a, const void *b) { return (((uintptr_t)a | (uintptr_t)b) & 15u) == 0; }

template <typename From, typename To> __global__ void convert_kernel(const From *in, To *out, size_t total)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x)
        out[i] = from_float<To>(to_float(in[i]));
}

// Four values of T in one aligned access (16 bytes of float, 8 of half).
template <typename T> struct alignas(4 * sizeof(T)) quad {
    T lane[4];
};

// convert_kernel four values per thread (total a multiple of 4, both buffers 16-byte aligned).
template <typename From, typename To> __global__ void convert_quad_kernel(const From *in, To *out, size_t quads)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < quads; i += (size_t)gridDim.x * blockDim.x) {
        quad<From> x = reinterpret_cast<const quad<From> *>(in)[i];
        quad<To> y;
#pragma unroll
        for (int k = 0; k < 4; k++) y.lane[k] = from_float<To>(to_float(x.lane[k]));
        reinterpret_cast<quad<To> *>(out)[i] = y;
    }
}

template <typename T>
__global__ void bias_activation_kernel(const T *in, T *out, size_t total, int channels, const float *bias,
                                       int activation)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x) {
        float x = to_float(in[i]);
        if (bias) x += bias[i % channels];
        out[i] = from_float<T>(activate(x, activation));
    }
}

// bias_activation_kernel in place on rows of channels stride elements apart
// (a convolution's output written into a slice of a concatenation's buffer).
template <typename T>
__global__ void bias_activation_strided_kernel(T *data, size_t rows, int channels, size_t stride, const float *bias,
                                               int activation)
{
    size_t total = rows * channels;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x) {
        int c = (int)(i % channels);
        T *element = data + i / channels * stride + c;
        float x = to_float(*element);
        if (bias) x += bias[c];
        *element = from_float<T>(activate(x, activation));
    }
}

// bias_activation_strided_kernel on 16 bytes per thread (channels and stride
// multiples of the lanes, data 16-byte aligned): row_vectors vectors per row;
// the same math per element, so the same bits.
template <typename T>
__global__ void bias_activation_strided_vector_kernel(T *data, size_t vectors, int row_vectors, size_t stride,
                                                      const float *bias, int activation)
{
    constexpr int L = vec16<T>::kLanes;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < vectors; i += (size_t)gridDim.x * blockDim.x) {
        size_t row = i / row_vectors;
        int c = (int)(i - row * row_vectors) * L;
        vec16<T> *element = reinterpret_cast<vec16<T> *>(data + row * stride + c);
        vec16<T> v = *element;
#pragma unroll
        for (int k = 0; k < L; k++) {
            float x = to_float(v.lane[k]);
            if (bias) x += bias[c + k];
            v.lane[k] = from_float<T>(activate(x, activation));
        }
        *element = v;
    }
}

// Two passes over the row (max, then the sum of exponentials) before anything
// is written, then exp/sum written: the exponentials are recomputed rather
// than kept in the (possibly half) output. For float this is bit for bit the
// CPU twin's result.
template <typename T> __global__ void softmax_kernel(const T *in, T *out, size_t rows, int channels)
{
    for (size_t r = blockIdx.x * (size_t)blockDim.x + threadIdx.x; r < rows; r += (size_t)gridDim.x * blockDim.x) {
        const T *x = in + r * channels;
        T *y = out + r * channels;
        float top = -FLT_MAX;
        for (int c = 0; c < channels; c++) top = fmaxf(top, to_float(x[c]));
        double sum = 0.0;
        for (int c = 0; c < channels; c++) sum += expf(to_float(x[c]) - top);
        for (int c = 0; c < channels; c++) {
            float e = expf(to_float(x[c]) - top);
            y[c] = from_float<T>((float)(e / sum));
        }
    }
}

// bias_activation_kernel on 16 bytes per thread (channels a multiple of the
// lanes: one vector lies in one pixel, channels c..c+L-1).
template <typename T>
__global__ void bias_activation_vector_kernel(const T *in, T *out, size_t vectors, int channels, const float *bias,
                                              int activation)
{
    constexpr int L = vec16<T>::kLanes;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < vectors; i += (size_t)gridDim.x * blockDim.x) {
        vec16<T> v = reinterpret_cast<const vec16<T> *>(in)[i];
        int c = (int)(i * L % channels);
#pragma unroll
        for (int k = 0; k < L; k++) {
            float x = to_float(v.lane[k]);
            if (bias) x += bias[c + k];
            v.lane[k] = from_float<T>(activate(x, activation));
        }
        reinterpret_cast<vec16<T> *>(out)[i] = v;
    }
}

// channel_affine_kernel on 16 bytes per thread (as bias_activation_vector_kernel).
template <typename T>
__global__ void channel_affine_vector_kernel(const T *in, T *out, size_t vectors, int channels, const float *scale,
                                             const float *shift)
{
    constexpr int L = vec16<T>::kLanes;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < vectors; i += (size_t)gridDim.x * blockDim.x) {
        vec16<T> v = reinterpret_cast<const vec16<T> *>(in)[i];
        int c = (int)(i * L % channels);
#pragma unroll
        for (int k = 0; k < L; k++) v.lane[k] = from_float<T>(to_float(v.lane[k]) * scale[c + k] + shift[c + k]);
        reinterpret_cast<vec16<T> *>(out)[i] = v;
    }
}

template <typename T>
__global__ void channel_affine_kernel(const T *in, T *out, size_t total, int channels, const float *scale,
                                      const float *shift)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x) {
        int c = (int)(i % channels);
        out[i] = from_float<T>(to_float(in[i]) * scale[c] + shift[c]);
    }
}

/* Depthwise convolution, one output element per item. Here and in the vector and unrolled forms below, nvcc contracts
 * `sum += x * w` into one fused multiply-add (--fmad=true, its default), where the CPU twin rounds the product first:
 * the GPU sums differ from the CPU's in the last bits (the op suites compare within 1e-5), and the GPU forms, each
 * one FMA per tap in the same order, agree with one another bit for bit. */
template <typename T>
__global__ void depthwise_kernel(dlp_cuda_window g, const T *in, const float *kernel, const float *bias, T *out)
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
                float x = to_float(in[((b * g.in_h + iy) * g.in_w + ix) * g.in_c + c / mult]);
                if (g.input_relu) x = x > 0.0f ? x : 0.0f;
                sum += x * kernel[((size_t)ky * g.kernel_w + kx) * g.out_c + c];
            }
        }
        out[i] = from_float<T>(sum);
    }
}

// Where channel group i of an NHWC output (groups of `lanes` channels per
// pixel) is: its first channel, pixel index, column, row and image.
struct output_group {
    int c, ox, oy;
    size_t pixel, b;
};

// Index: the type the divisions run in. unsigned where every group index of
// the launch fits (index_fits_32): a 64-bit division is a long software
// sequence on the GPU, a 32-bit one a few instructions.
template <typename Index>
__host__ __device__ __forceinline__ output_group output_group_at(const dlp_cuda_window &g, Index i, int groups,
                                                                int lanes)
{
    output_group at;
    Index pixel = i / (Index)groups, rows = pixel / (Index)g.out_w;
    at.c = (int)(i - pixel * (Index)groups) * lanes;
    at.ox = (int)(pixel - rows * (Index)g.out_w);
    at.oy = (int)(rows % (Index)g.out_h);
    at.b = (size_t)(rows / (Index)g.out_h);
    at.pixel = (size_t)pixel;
    return at;
}

// Whether a grid-stride loop over total items can count in 32 bits: the
// last index plus one full grid stride (at most kMaxBlocks x kThreads)
// stays below 2^32.
bool index_fits_32(size_t total) { return total <= 0xFFFFFFFFu - kMaxBlocks * (size_t)kThreads; }

// depthwise_kernel with a multiplier of 1 on 16 bytes of channels per thread
// (vector_fits(in_c)): one index computation and one load per tap for 8 half
// (4 float) channels instead of one per channel. Any kernel size; 3x3 at
// stride 1 takes depthwise_3x3_item below. Items: output channel vectors.
template <typename T> __host__ __device__ __forceinline__ size_t depthwise_vector_items(const dlp_cuda_window &g)
{
    return (size_t)g.batch * g.out_h * g.out_w * (g.out_c / vec16<T>::kLanes);
}

// Item i of depthwise_vector_kernel (on the host too: unit.kernel_items).
template <typename T, typename Index>
__host__ __device__ __forceinline__ void depthwise_vector_item(const dlp_cuda_window &g, const T *in,
                                                               const float *kernel, const float *bias, T *out,
                                                               Index i)
{
    constexpr int L = vec16<T>::kLanes;
    output_group at = output_group_at(g, i, g.out_c / L, L);
    int c = at.c, ox = at.ox, oy = at.oy;
    size_t pixel = at.pixel, b = at.b;
    float sum[L];
DEVICE_UNROLL
    for (int k = 0; k < L; k++) sum[k] = bias ? bias[c + k] : 0.0f;
    for (int ky = 0; ky < g.kernel_h; ky++) {
        int iy = oy * g.stride_h + ky - g.pad_top;
        if (iy < 0 || iy >= g.in_h) continue;
        for (int kx = 0; kx < g.kernel_w; kx++) {
            int ix = ox * g.stride_w + kx - g.pad_left;
            if (ix < 0 || ix >= g.in_w) continue;
            vec16<T> x = *reinterpret_cast<const vec16<T> *>(in + ((b * g.in_h + iy) * g.in_w + ix) * g.in_c + c);
            const float *w = kernel + ((size_t)ky * g.kernel_w + kx) * g.out_c + c;
DEVICE_UNROLL
            for (int k = 0; k < L; k++) {
                float v = to_float(x.lane[k]);
                if (g.input_relu) v = v > 0.0f ? v : 0.0f;
                sum[k] += v * w[k];
            }
        }
    }
    vec16<T> result;
DEVICE_UNROLL
    for (int k = 0; k < L; k++) result.lane[k] = from_float<T>(sum[k]);
    *reinterpret_cast<vec16<T> *>(out + pixel * g.out_c + c) = result;
}

template <typename T, typename Index>
__global__ void depthwise_vector_kernel(dlp_cuda_window g, const T *in, const float *kernel, const float *bias, T *out)
{
    Index total = (Index)depthwise_vector_items<T>(g);
    for (Index i = blockIdx.x * (Index)blockDim.x + threadIdx.x; i < total; i += (Index)gridDim.x * blockDim.x)
        depthwise_vector_item<T, Index>(g, in, kernel, bias, out, i);
}

// depthwise_vector_kernel for a 3x3 kernel at stride 1 (all of Xception's
// separable convs): each item is two horizontally adjacent output pixels
// (the second absent past the row's end) of one channel vector, computed
// from the 3x4 input vectors under them, all loaded before any is summed (so
// the loads overlap instead of each waiting behind its tap's branch); each
// tap's kernel vector, read 16 bytes at a time through the read-only cache
// (it must be 16-byte aligned), serves both pixels. Taps outside the image
// are skipped and each pixel's sum runs in the same order as in
// depthwise_vector_item.
template <typename T> __host__ __device__ __forceinline__ size_t depthwise_3x3_items(const dlp_cuda_window &g)
{
    return (size_t)g.batch * g.out_h * ((g.out_w + 1) / 2) * (g.out_c / vec16<T>::kLanes);
}

// Item i of depthwise_3x3_vector_kernel (on the host too: unit.kernel_items).
template <typename T, typename Index>
__host__ __device__ __forceinline__ void depthwise_3x3_item(const dlp_cuda_window &g, const T *__restrict__ in,
                                                            const float *__restrict__ kernel,
                                                            const float *__restrict__ bias, T *__restrict__ out,
                                                            Index i)
{
    constexpr int L = vec16<T>::kLanes;
    int groups = g.out_c / L, pairs = (g.out_w + 1) / 2;
    Index rest = i / (Index)groups, rows = rest / (Index)pairs;
    int c = (int)(i - rest * (Index)groups) * L, ox = (int)(rest - rows * (Index)pairs) * 2;
    int oy = (int)(rows % (Index)g.out_h);
    size_t b = (size_t)(rows / (Index)g.out_h);
    bool second = ox + 1 < g.out_w;
    int iy0 = oy - g.pad_top, ix0 = ox - g.pad_left;
    const T *image = in + b * g.in_h * g.in_w * g.in_c + c;
    bool row_in[3], column_in[4];
DEVICE_UNROLL
    for (int d = 0; d < 3; d++) row_in[d] = iy0 + d >= 0 && iy0 + d < g.in_h;
DEVICE_UNROLL
    for (int d = 0; d < 4; d++) column_in[d] = ix0 + d >= 0 && ix0 + d < g.in_w;
    uint4 raw[3][4]; /* the window's 16 bytes each, zeros outside the image (never summed) */
DEVICE_UNROLL
    for (int r = 0; r < 3; r++)
DEVICE_UNROLL
        for (int d = 0; d < 4; d++) {
            const T *tap = image + ((size_t)(iy0 + r) * g.in_w + ix0 + d) * g.in_c;
            raw[r][d] = row_in[r] && column_in[d] ? *reinterpret_cast<const uint4 *>(tap) : make_uint4(0, 0, 0, 0);
        }
    float sum0[L], sum1[L];
DEVICE_UNROLL
    for (int k = 0; k < L; k++) sum0[k] = sum1[k] = bias ? bias[c + k] : 0.0f;
DEVICE_UNROLL
    for (int r = 0; r < 3; r++) {
        if (!row_in[r]) continue;
DEVICE_UNROLL
        for (int kx = 0; kx < 3; kx++) {
            const float4 *w4 = reinterpret_cast<const float4 *>(kernel + (size_t)(r * 3 + kx) * g.out_c + c);
            float w[L];
DEVICE_UNROLL
            for (int q = 0; q < L / 4; q++) {
                float4 f = read_only(w4 + q);
                w[4 * q] = f.x, w[4 * q + 1] = f.y, w[4 * q + 2] = f.z, w[4 * q + 3] = f.w;
            }
            vec16<T> x0, x1;
            memcpy(&x0, &raw[r][kx], sizeof x0);
            memcpy(&x1, &raw[r][kx + 1], sizeof x1);
            bool first_in = column_in[kx], second_in = second && column_in[kx + 1];
DEVICE_UNROLL
            for (int k = 0; k < L; k++) {
                float v0 = to_float(x0.lane[k]), v1 = to_float(x1.lane[k]);
                if (g.input_relu) v0 = v0 > 0.0f ? v0 : 0.0f, v1 = v1 > 0.0f ? v1 : 0.0f;
                if (first_in) sum0[k] += v0 * w[k];
                if (second_in) sum1[k] += v1 * w[k];
            }
        }
    }
    vec16<T> result;
    size_t pixel = ((size_t)b * g.out_h + oy) * g.out_w + ox;
DEVICE_UNROLL
    for (int k = 0; k < L; k++) result.lane[k] = from_float<T>(sum0[k]);
    *reinterpret_cast<vec16<T> *>(out + pixel * g.out_c + c) = result;
    if (second) {
DEVICE_UNROLL
        for (int k = 0; k < L; k++) result.lane[k] = from_float<T>(sum1[k]);
        *reinterpret_cast<vec16<T> *>(out + (pixel + 1) * g.out_c + c) = result;
    }
}

template <typename T, typename Index>
__global__ void depthwise_3x3_vector_kernel(dlp_cuda_window g, const T *__restrict__ in,
                                            const float *__restrict__ kernel, const float *__restrict__ bias,
                                            T *__restrict__ out)
{
    Index total = (Index)depthwise_3x3_items<T>(g);
    for (Index i = blockIdx.x * (Index)blockDim.x + threadIdx.x; i < total; i += (Index)gridDim.x * blockDim.x)
        depthwise_3x3_item<T, Index>(g, in, kernel, bias, out, i);
}

// One of the vector depthwise kernels (3x3 at stride 1 over pairs of
// output pixels, or any), its index in Index; items: what the kernel's
// grid-stride loop counts.
template <typename T, typename Index>
void launch_depthwise_vector(const dlp_cuda_window &g, const T *in, const float *kernel, const float *bias, T *out,
                             size_t items, bool three_by_three, cudaStream_t stream)
{
    if (three_by_three)
        depthwise_3x3_vector_kernel<T, Index><<<blocks_for(items), kThreads, 0, stream>>>(g, in, kernel, bias, out);
    else
        depthwise_vector_kernel<T, Index><<<blocks_for(items), kThreads, 0, stream>>>(g, in, kernel, bias, out);
}

// Elements from one output pixel to the next: out_c, or wider when the
// output is a slice of a concatenation's buffer.
__device__ __host__ __forceinline__ size_t out_stride(const dlp_cuda_window &g)
{
    return g.out_stride > 0 ? (size_t)g.out_stride : (size_t)g.out_c;
}

template <typename T> __global__ void pool_kernel(dlp_cuda_window g, int is_max, const T *in, T *out)
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
                float v = to_float(in[((b * g.in_h + y) * g.in_w + x) * g.in_c + c]);
                value = is_max ? (v > value ? v : value) : value + v;
            }
        int taps = max(y1 - y0, 0) * max(x1 - x0, 0); // none: a window all in a wide padding
        // Folded zero padding: the window always has kernel_h x kernel_w
        // taps, the missing ones zeros (a zero adds nothing to the sum).
        if (g.zero_taps && taps < g.kernel_h * g.kernel_w) {
            if (is_max) value = 0.0f > value ? 0.0f : value;
            taps = g.kernel_h * g.kernel_w;
        }
        // TensorFlow's 'same' average divides by the number of valid inputs.
        if (!is_max) value *= 1.0f / (float)taps;
        out[pixel * out_stride(g) + c] = from_float<T>(value);
    }
}

// A vector pooling's end: the max or the sum over taps valid inputs (value,
// a vector's lanes) finished as pool_kernel does (a folded zero padding's
// taps count as zeros; the average divides by the taps counted) and stored
// at o.
template <typename T>
__host__ __device__ __forceinline__ void store_pool_vector(const dlp_cuda_window &g, int is_max,
                                                           const float (&value)[vec16<T>::kLanes], int taps, T *o)
{
    int window = g.kernel_h * g.kernel_w;
    bool zeros = g.zero_taps && taps < window;
    if (zeros) taps = window;
    float scale = 1.0f / (float)taps;
    vec16<T> result;
    DEVICE_UNROLL
    for (int k = 0; k < vec16<T>::kLanes; k++) {
        float r = value[k];
        if (is_max && zeros) r = 0.0f > r ? 0.0f : r;
        if (!is_max) r *= scale;
        result.lane[k] = from_float<T>(r);
    }
    *reinterpret_cast<vec16<T> *>(o) = result;
}

// pool_kernel on 16 bytes of channels per thread (vector_fits(in_c)).
// Items: output channel vectors.
template <typename T> __host__ __device__ __forceinline__ size_t pool_vector_items(const dlp_cuda_window &g)
{
    return (size_t)g.batch * g.out_h * g.out_w * (g.out_c / vec16<T>::kLanes);
}

// Item i of pool_vector_kernel (on the host too: unit.kernel_items).
template <typename T, typename Index>
__host__ __device__ __forceinline__ void pool_vector_item(const dlp_cuda_window &g, int is_max, const T *in, T *out,
                                                          Index i)
{
    constexpr int L = vec16<T>::kLanes;
    output_group at = output_group_at(g, i, g.out_c / L, L);
    int c = at.c, ox = at.ox, oy = at.oy;
    size_t pixel = at.pixel, b = at.b;
    int y0 = oy * g.stride_h - g.pad_top, x0 = ox * g.stride_w - g.pad_left;
    int y1 = y0 + g.kernel_h < g.in_h ? y0 + g.kernel_h : g.in_h;
    int x1 = x0 + g.kernel_w < g.in_w ? x0 + g.kernel_w : g.in_w;
    y0 = y0 > 0 ? y0 : 0, x0 = x0 > 0 ? x0 : 0;
    float value[L];
    DEVICE_UNROLL
    for (int k = 0; k < L; k++) value[k] = is_max ? -FLT_MAX : 0.0f;
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++) {
            vec16<T> v = *reinterpret_cast<const vec16<T> *>(in + ((b * g.in_h + y) * g.in_w + x) * g.in_c + c);
            DEVICE_UNROLL
            for (int k = 0; k < L; k++) {
                float f = to_float(v.lane[k]);
                value[k] = is_max ? (f > value[k] ? f : value[k]) : value[k] + f;
            }
        }
    int taps = (y1 > y0 ? y1 - y0 : 0) * (x1 > x0 ? x1 - x0 : 0);
    store_pool_vector(g, is_max, value, taps, out + pixel * out_stride(g) + c);
}

template <typename T, typename Index>
__global__ void pool_vector_kernel(dlp_cuda_window g, int is_max, const T *in, T *out)
{
    Index total = (Index)pool_vector_items<T>(g);
    for (Index i = blockIdx.x * (Index)blockDim.x + threadIdx.x; i < total; i += (Index)gridDim.x * blockDim.x)
        pool_vector_item<T, Index>(g, is_max, in, out, i);
}

// pool_vector_item for a 3x3 window (InceptionV3's, Xception's and ResNet's
// poolings): the nine taps unrolled and loaded before any is taken (so the
// loads overlap instead of each waiting behind its tap's branch). Taps
// outside the image are skipped in the same row-major order as the clipped
// loops of pool_vector_item, so the same floats. Same items.
template <typename T, typename Index>
__host__ __device__ __forceinline__ void pool_3x3_item(const dlp_cuda_window &g, int is_max, const T *__restrict__ in,
                                                       T *__restrict__ out, Index i)
{
    constexpr int L = vec16<T>::kLanes;
    output_group at = output_group_at(g, i, g.out_c / L, L);
    int y0 = at.oy * g.stride_h - g.pad_top, x0 = at.ox * g.stride_w - g.pad_left;
    const T *image = in + at.b * g.in_h * g.in_w * g.in_c + at.c;
    bool inside[9];
    uint4 raw[9]; /* the taps' 16 bytes each, zeros outside the image (never taken) */
    int taps = 0;
    DEVICE_UNROLL
    for (int t = 0; t < 9; t++) {
        int y = y0 + t / 3, x = x0 + t % 3;
        inside[t] = y >= 0 && y < g.in_h && x >= 0 && x < g.in_w;
        taps += inside[t];
        const T *tap = image + ((size_t)y * g.in_w + x) * g.in_c;
        raw[t] = inside[t] ? *reinterpret_cast<const uint4 *>(tap) : make_uint4(0, 0, 0, 0);
    }
    float value[L];
    DEVICE_UNROLL
    for (int k = 0; k < L; k++) value[k] = is_max ? -FLT_MAX : 0.0f;
    DEVICE_UNROLL
    for (int t = 0; t < 9; t++) {
        if (!inside[t]) continue;
        vec16<T> v;
        memcpy(&v, &raw[t], sizeof v);
        DEVICE_UNROLL
        for (int k = 0; k < L; k++) {
            float f = to_float(v.lane[k]);
            value[k] = is_max ? (f > value[k] ? f : value[k]) : value[k] + f;
        }
    }
    store_pool_vector(g, is_max, value, taps, out + at.pixel * out_stride(g) + at.c);
}

template <typename T, typename Index>
__global__ void pool_3x3_vector_kernel(dlp_cuda_window g, int is_max, const T *__restrict__ in, T *__restrict__ out)
{
    Index total = (Index)pool_vector_items<T>(g);
    for (Index i = blockIdx.x * (Index)blockDim.x + threadIdx.x; i < total; i += (Index)gridDim.x * blockDim.x)
        pool_3x3_item<T, Index>(g, is_max, in, out, i);
}

// One of the vector pooling kernels (3x3 unrolled, or any window), its index in Index.
template <typename T, typename Index>
void launch_pool_vector(const dlp_cuda_window &g, int is_max, const T *in, T *out, size_t items, bool three_by_three,
                        cudaStream_t stream)
{
    if (three_by_three)
        pool_3x3_vector_kernel<T, Index><<<blocks_for(items), kThreads, 0, stream>>>(g, is_max, in, out);
    else
        pool_vector_kernel<T, Index><<<blocks_for(items), kThreads, 0, stream>>>(g, is_max, in, out);
}

template <typename T>
__global__ void global_pool_kernel(int is_max, const T *in, int batch, size_t pixels, int channels, T *out)
{
    size_t total = (size_t)batch * channels;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x) {
        int c = (int)(i % channels);
        const T *image = in + (i / channels) * pixels * channels;
        if (is_max) {
            float top = -FLT_MAX;
            for (size_t q = 0; q < pixels; q++) {
                float v = to_float(image[q * channels + c]);
                top = v > top ? v : top;
            }
            out[i] = from_float<T>(top);
        } else {
            double sum = 0.0;
            for (size_t q = 0; q < pixels; q++) sum += to_float(image[q * channels + c]);
            out[i] = from_float<T>((float)(sum / (double)pixels));
        }
    }
}

template <typename T>
__global__ void concat_slice_kernel(const T *in, size_t pixels, int channels, T *out, int out_channels, int offset)
{
    size_t total = pixels * channels;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x)
        out[(i / channels) * out_channels + offset + i % channels] = in[i];
}

// concat_slice_kernel on 16 bytes per thread (channels, out_channels and
// offset multiples of the lanes).
template <typename T>
__global__ void concat_slice_vector_kernel(const T *in, size_t vectors, int channels, T *out, int out_channels,
                                           int offset)
{
    constexpr int L = vec16<T>::kLanes;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < vectors; i += (size_t)gridDim.x * blockDim.x) {
        size_t e = i * L;
        *reinterpret_cast<vec16<T> *>(out + (e / channels) * out_channels + offset + e % channels) =
            reinterpret_cast<const vec16<T> *>(in)[i];
    }
}

struct input_list {
    const void *data[DLP_CUDA_MAX_INPUTS];
};

// add_kernel on 16 bytes per thread (every buffer 16-byte aligned, elements a
// multiple of the lanes); the same sums in the same order per lane.
template <typename T> __global__ void add_vector_kernel(input_list inputs, int count, size_t vectors, T *out)
{
    constexpr int L = vec16<T>::kLanes;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < vectors; i += (size_t)gridDim.x * blockDim.x) {
        vec16<T> v = reinterpret_cast<const vec16<T> *>(inputs.data[0])[i];
        float sum[L];
#pragma unroll
        for (int k = 0; k < L; k++) sum[k] = to_float(v.lane[k]);
        for (int j = 1; j < count; j++) {
            v = reinterpret_cast<const vec16<T> *>(inputs.data[j])[i];
#pragma unroll
            for (int k = 0; k < L; k++) sum[k] += to_float(v.lane[k]);
        }
#pragma unroll
        for (int k = 0; k < L; k++) v.lane[k] = from_float<T>(sum[k]);
        reinterpret_cast<vec16<T> *>(out)[i] = v;
    }
}

template <typename T> __global__ void add_kernel(input_list inputs, int count, size_t total, T *out)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x) {
        float sum = to_float(((const T *)inputs.data[0])[i]);
        for (int k = 1; k < count; k++) sum += to_float(((const T *)inputs.data[k])[i]);
        out[i] = from_float<T>(sum);
    }
}

// Where in the input (pixel index) an output pixel of a padding lies; -1 in
// the padding.
struct pad_geometry {
    int in_h, in_w, in_c, out_h, out_w, out_c, top, left;
    __device__ long long source(size_t pixel) const
    {
        int y = (int)(pixel / out_w % out_h) - top, x = (int)(pixel % out_w) - left;
        size_t b = pixel / ((size_t)out_w * out_h);
        if (y < 0 || y >= in_h || x < 0 || x >= in_w) return -1;
        return (long long)((b * in_h + y) * in_w + x);
    }
};

template <typename T> __global__ void pad_kernel(pad_geometry g, const T *in, T *out, size_t total)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x) {
        int c = (int)(i % g.out_c);
        long long source = g.source(i / g.out_c);
        out[i] = source >= 0 && c < g.in_c ? in[source * g.in_c + c] : from_float<T>(0.0f);
    }
}

// pad_kernel on 16 bytes of output channels per thread (vector_fits(out_c));
// whole input vectors when in_c == out_c, else lane by lane.
template <typename T> __global__ void pad_vector_kernel(pad_geometry g, const T *in, T *out, size_t total)
{
    constexpr int L = vec16<T>::kLanes;
    int groups = g.out_c / L;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x) {
        int c = (int)(i % groups) * L;
        long long source = g.source(i / groups);
        vec16<T> v = zero_vector<T>();
        if (source >= 0 && g.in_c == g.out_c) {
            v = *reinterpret_cast<const vec16<T> *>(in + source * g.in_c + c);
        } else if (source >= 0) {
#pragma unroll
            for (int k = 0; k < L; k++)
                if (c + k < g.in_c) v.lane[k] = in[source * g.in_c + c + k];
        }
        *reinterpret_cast<vec16<T> *>(out + i * L) = v;
    }
}

template <typename From>
cudaError_t convert_from(const From *in, dlp_cuda_storage to, void *out, size_t count, cudaStream_t stream)
{
    if (count % 4 == 0 && aligned16(in, out)) {
        STORAGE_SWITCH(to, convert_quad_kernel<From, T><<<blocks_for(count / 4), kThreads, 0, stream>>>(in, (T *)out,
                                                                                                       count / 4));
    } else {
        STORAGE_SWITCH(to, convert_kernel<From, T><<<blocks_for(count), kThreads, 0, stream>>>(in, (T *)out, count));
    }
    return cudaGetLastError();
}

}  // namespace

extern "C" cudaError_t dlp_cuda_convert(dlp_cuda_storage from, const void *in, dlp_cuda_storage to, void *out,
                                        size_t count, cudaStream_t stream)
{
    if (count == 0) return cudaSuccess;
    clear_stale_error();
    STORAGE_SWITCH(from, return convert_from((const T *)in, to, out, count, stream));
    return cudaErrorInvalidValue;
}

extern "C" cudaError_t dlp_cuda_bias_activation_typed(dlp_cuda_storage storage, const void *in, void *out,
                                                      size_t rows, int channels, const float *bias, int activation,
                                                      cudaStream_t stream)
{
    size_t total = rows * channels;
    if (total == 0) return cudaSuccess;
    clear_stale_error();
    STORAGE_SWITCH(storage, if (vector_fits<T>(channels) && aligned16(in, out)) {
        size_t vectors = total / vec16<T>::kLanes;
        bias_activation_vector_kernel<T><<<blocks_for(vectors), kThreads, 0, stream>>>(
            (const T *)in, (T *)out, vectors, channels, bias, activation);
    } else {
        bias_activation_kernel<T><<<blocks_for(total), kThreads, 0, stream>>>((const T *)in, (T *)out, total, channels,
                                                                              bias, activation);
    });
    return cudaGetLastError();
}

extern "C" cudaError_t dlp_cuda_softmax_typed(dlp_cuda_storage storage, const void *in, void *out, size_t rows,
                                              int channels, cudaStream_t stream)
{
    if (rows == 0 || channels == 0) return cudaSuccess;
    clear_stale_error();
    STORAGE_SWITCH(storage, softmax_kernel<T><<<blocks_for(rows), kThreads, 0, stream>>>((const T *)in, (T *)out,
                                                                                          rows, channels));
    return cudaGetLastError();
}

extern "C" cudaError_t dlp_cuda_channel_affine_typed(dlp_cuda_storage storage, const void *in, void *out,
                                                     size_t rows, int channels, const float *scale,
                                                     const float *shift, cudaStream_t stream)
{
    size_t total = rows * channels;
    if (total == 0) return cudaSuccess;
    clear_stale_error();
    STORAGE_SWITCH(storage, if (vector_fits<T>(channels) && aligned16(in, out)) {
        size_t vectors = total / vec16<T>::kLanes;
        channel_affine_vector_kernel<T><<<blocks_for(vectors), kThreads, 0, stream>>>((const T *)in, (T *)out, vectors,
                                                                                     channels, scale, shift);
    } else {
        channel_affine_kernel<T><<<blocks_for(total), kThreads, 0, stream>>>((const T *)in, (T *)out, total, channels,
                                                                             scale, shift);
    });
    return cudaGetLastError();
}

extern "C" cudaError_t dlp_cuda_depthwise_conv2d_typed(dlp_cuda_storage storage, const dlp_cuda_window *g,
                                                       const void *in, const float *kernel, const float *bias,
                                                       void *out, int unrolled_3x3, cudaStream_t stream)
{
    size_t total = (size_t)g->batch * g->out_h * g->out_w * g->out_c;
    if (total == 0) return cudaSuccess;
    if (g->in_c <= 0 || g->out_c % g->in_c != 0) return cudaErrorInvalidValue;
    /* The depthwise kernels write packed rows: a depthwise conv is never planned into a concatenation slice. */
    if (g->out_stride != 0 && g->out_stride != g->out_c) return cudaErrorInvalidValue;
    clear_stale_error();
    STORAGE_SWITCH(storage, if (vector_fits<T>(g->in_c) && g->in_c == g->out_c && aligned16(in, out)) {
        bool three_by_three = unrolled_3x3 && g->kernel_h == 3 && g->kernel_w == 3 && g->stride_h == 1 &&
                              g->stride_w == 1 && aligned16(kernel, kernel);
        size_t items = three_by_three ? depthwise_3x3_items<T>(*g) : depthwise_vector_items<T>(*g);
        if (index_fits_32(items))
            launch_depthwise_vector<T, unsigned>(*g, (const T *)in, kernel, bias, (T *)out, items, three_by_three,
                                                 stream);
        else
            launch_depthwise_vector<T, size_t>(*g, (const T *)in, kernel, bias, (T *)out, items, three_by_three,
                                               stream);
    } else {
        depthwise_kernel<T><<<blocks_for(total), kThreads, 0, stream>>>(*g, (const T *)in, kernel, bias, (T *)out);
    });
    return cudaGetLastError();
}

extern "C" cudaError_t dlp_cuda_bias_activation_strided_typed(dlp_cuda_storage storage, void *data, size_t rows,
                                                              int channels, size_t stride, const float *bias,
                                                              int activation, cudaStream_t stream)
{
    if (stride == (size_t)channels)
        return dlp_cuda_bias_activation_typed(storage, data, data, rows, channels, bias, activation, stream);
    size_t total = rows * channels;
    if (total == 0) return cudaSuccess;
    if (stride < (size_t)channels) return cudaErrorInvalidValue;
    clear_stale_error();
    STORAGE_SWITCH(storage, if (vector_fits<T>(channels) && vector_fits<T>((int)stride) && aligned16(data, data)) {
        size_t vectors = total / vec16<T>::kLanes;
        bias_activation_strided_vector_kernel<T><<<blocks_for(vectors), kThreads, 0, stream>>>(
            (T *)data, vectors, channels / vec16<T>::kLanes, stride, bias, activation);
    } else {
        bias_activation_strided_kernel<T><<<blocks_for(total), kThreads, 0, stream>>>((T *)data, rows, channels,
                                                                                      stride, bias, activation);
    });
    return cudaGetLastError();
}

extern "C" cudaError_t dlp_cuda_pool_typed(dlp_cuda_storage storage, const dlp_cuda_window *g, int is_max,
                                           const void *in, void *out, int unrolled_3x3, cudaStream_t stream)
{
    size_t total = (size_t)g->batch * g->out_h * g->out_w * g->out_c;
    if (total == 0) return cudaSuccess;
    clear_stale_error();
    STORAGE_SWITCH(storage, if (vector_fits<T>(g->in_c) && g->in_c == g->out_c && vector_fits<T>((int)out_stride(*g)) &&
                                aligned16(in, out)) {
        size_t items = pool_vector_items<T>(*g);
        bool three_by_three = unrolled_3x3 && g->kernel_h == 3 && g->kernel_w == 3;
        if (index_fits_32(items))
            launch_pool_vector<T, unsigned>(*g, is_max, (const T *)in, (T *)out, items, three_by_three, stream);
        else
            launch_pool_vector<T, size_t>(*g, is_max, (const T *)in, (T *)out, items, three_by_three, stream);
    } else {
        pool_kernel<T><<<blocks_for(total), kThreads, 0, stream>>>(*g, is_max, (const T *)in, (T *)out);
    });
    return cudaGetLastError();
}

extern "C" cudaError_t dlp_cuda_global_pool_typed(dlp_cuda_storage storage, int is_max, const void *in, int batch,
                                                  size_t pixels, int channels, void *out, cudaStream_t stream)
{
    size_t total = (size_t)batch * channels;
    if (total == 0) return cudaSuccess;
    clear_stale_error();
    STORAGE_SWITCH(storage, global_pool_kernel<T><<<blocks_for(total), kThreads, 0, stream>>>(
                                is_max, (const T *)in, batch, pixels, channels, (T *)out));
    return cudaGetLastError();
}

extern "C" cudaError_t dlp_cuda_concat_slice_typed(dlp_cuda_storage storage, const void *in, size_t pixels,
                                                   int channels, void *out, int out_channels, int offset,
                                                   cudaStream_t stream)
{
    size_t total = pixels * channels;
    if (total == 0) return cudaSuccess;
    clear_stale_error();
    STORAGE_SWITCH(storage, if (vector_fits<T>(channels) && vector_fits<T>(out_channels) && vector_fits<T>(offset) &&
                                aligned16(in, out)) {
        size_t vectors = total / vec16<T>::kLanes;
        concat_slice_vector_kernel<T><<<blocks_for(vectors), kThreads, 0, stream>>>((const T *)in, vectors, channels,
                                                                                   (T *)out, out_channels, offset);
    } else {
        concat_slice_kernel<T><<<blocks_for(total), kThreads, 0, stream>>>((const T *)in, pixels, channels, (T *)out,
                                                                           out_channels, offset);
    });
    return cudaGetLastError();
}

extern "C" cudaError_t dlp_cuda_add_typed(dlp_cuda_storage storage, const void *const *inputs, int count,
                                          size_t elements, void *out, cudaStream_t stream)
{
    if (count < 1 || count > DLP_CUDA_MAX_INPUTS) return cudaErrorInvalidValue;
    if (elements == 0) return cudaSuccess;
    input_list list = {};
    bool aligned = aligned16(out, out);
    for (int k = 0; k < count; k++) {
        list.data[k] = inputs[k];
        aligned = aligned && aligned16(inputs[k], out);
    }
    clear_stale_error();
    STORAGE_SWITCH(storage, if (aligned && elements % vec16<T>::kLanes == 0) {
        size_t vectors = elements / vec16<T>::kLanes;
        add_vector_kernel<T><<<blocks_for(vectors), kThreads, 0, stream>>>(list, count, vectors, (T *)out);
    } else {
        add_kernel<T><<<blocks_for(elements), kThreads, 0, stream>>>(list, count, elements, (T *)out);
    });
    return cudaGetLastError();
}

extern "C" cudaError_t dlp_cuda_pad_typed(dlp_cuda_storage storage, const void *in, int batch, int in_h, int in_w,
                                          int in_c, void *out, int out_h, int out_w, int out_c, int top, int left,
                                          cudaStream_t stream)
{
    size_t total = (size_t)batch * out_h * out_w * out_c;
    if (total == 0) return cudaSuccess;
    if (in_c > out_c) return cudaErrorInvalidValue;
    pad_geometry g = {in_h, in_w, in_c, out_h, out_w, out_c, top, left};
    clear_stale_error();
    STORAGE_SWITCH(storage, if (vector_fits<T>(out_c) && aligned16(in, out)) {
        size_t vectors = total / vec16<T>::kLanes;
        pad_vector_kernel<T><<<blocks_for(vectors), kThreads, 0, stream>>>(g, (const T *)in, (T *)out, vectors);
    } else {
        pad_kernel<T><<<blocks_for(total), kThreads, 0, stream>>>(g, (const T *)in, (T *)out, total);
    });
    return cudaGetLastError();
}

extern "C" cudaError_t dlp_cuda_zero_pad_typed(dlp_cuda_storage storage, const void *in, int batch, int in_h,
                                               int in_w, int channels, void *out, int out_h, int out_w, int top,
                                               int left, cudaStream_t stream)
{
    return dlp_cuda_pad_typed(storage, in, batch, in_h, in_w, channels, out, out_h, out_w, channels, top, left,
                              stream);
}

// ---- The fp32 launchers (graph_kernels.h's plain names). ----

extern "C" cudaError_t dlp_cuda_bias_activation(const float *in, float *out, size_t rows, int channels,
                                                const float *bias, int activation, cudaStream_t stream)
{
    return dlp_cuda_bias_activation_typed(DLP_CUDA_STORAGE_F32, in, out, rows, channels, bias, activation, stream);
}

extern "C" cudaError_t dlp_cuda_softmax(const float *in, float *out, size_t rows, int channels, cudaStream_t stream)
{
    return dlp_cuda_softmax_typed(DLP_CUDA_STORAGE_F32, in, out, rows, channels, stream);
}

extern "C" cudaError_t dlp_cuda_channel_affine(const float *in, float *out, size_t rows, int channels,
                                               const float *scale, const float *shift, cudaStream_t stream)
{
    return dlp_cuda_channel_affine_typed(DLP_CUDA_STORAGE_F32, in, out, rows, channels, scale, shift, stream);
}

extern "C" cudaError_t dlp_cuda_depthwise_conv2d(const dlp_cuda_window *g, const float *in, const float *kernel,
                                                 const float *bias, float *out, cudaStream_t stream)
{
    return dlp_cuda_depthwise_conv2d_typed(DLP_CUDA_STORAGE_F32, g, in, kernel, bias, out, 1, stream);
}

extern "C" cudaError_t dlp_cuda_pool(const dlp_cuda_window *g, int is_max, const float *in, float *out,
                                     cudaStream_t stream)
{
    return dlp_cuda_pool_typed(DLP_CUDA_STORAGE_F32, g, is_max, in, out, 1, stream);
}

extern "C" cudaError_t dlp_cuda_global_pool(int is_max, const float *in, int batch, size_t pixels, int channels,
                                            float *out, cudaStream_t stream)
{
    return dlp_cuda_global_pool_typed(DLP_CUDA_STORAGE_F32, is_max, in, batch, pixels, channels, out, stream);
}

extern "C" cudaError_t dlp_cuda_concat_slice(const float *in, size_t pixels, int channels, float *out,
                                             int out_channels, int offset, cudaStream_t stream)
{
    return dlp_cuda_concat_slice_typed(DLP_CUDA_STORAGE_F32, in, pixels, channels, out, out_channels, offset, stream);
}

extern "C" cudaError_t dlp_cuda_add(const float *const *inputs, int count, size_t elements, float *out,
                                    cudaStream_t stream)
{
    const void *list[DLP_CUDA_MAX_INPUTS];
    if (count < 1 || count > DLP_CUDA_MAX_INPUTS) return cudaErrorInvalidValue;
    for (int k = 0; k < count; k++) list[k] = inputs[k];
    return dlp_cuda_add_typed(DLP_CUDA_STORAGE_F32, list, count, elements, out, stream);
}

extern "C" cudaError_t dlp_cuda_zero_pad(const float *in, int batch, int in_h, int in_w, int channels, float *out,
                                         int out_h, int out_w, int top, int left, cudaStream_t stream)
{
    return dlp_cuda_zero_pad_typed(DLP_CUDA_STORAGE_F32, in, batch, in_h, in_w, channels, out, out_h, out_w, top,
                                   left, stream);
}

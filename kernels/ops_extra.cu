// ops_extra.cu: CUDA kernels of the ops added for users' Keras models, NHWC
// fp32, one thread per output element with grid-stride loops (as
// graph_ops.cu). The arithmetic follows the CPU twins in
// src/backend/cpu/ops_extra.c: the same float functions (expm1f, erff,
// tanhf, log1pf) and the same left-to-right folding of merge inputs; CUDA's
// math functions differ from glibc's by a few ulp, which the tests' 1e-5
// relative L2 covers.
#include <math.h>

#include "backend/cuda/ops_extra_kernels.h"

#include "grid.cuh"

namespace {

// tf.nn.selu's constants (Klambauer et al. 2017), as ops_extra.c.
constexpr float kSeluAlpha = 1.6732632423543772848170429916717f;
constexpr float kSeluScale = 1.0507009873554804934193349852946f;
// sqrt(2/pi) (tf.nn.gelu approximate=True) and 1/sqrt(2) (exact gelu).
constexpr float kGeluTanhCoefficient = 0.7978845608028654f;
constexpr float kSqrtHalf = 0.70710678118654752440f;

// Clears a non-sticky error an earlier runtime call left pending, so that the
// cudaGetLastError() after a launch reports that launch (as graph_ops.cu).
void clear_stale_error() { (void)cudaGetLastError(); }

__device__ float softplus(float x)
{
    // log(1+e^x) without overflow: max(x, 0) + log1p(e^-|x|).
    return fmaxf(x, 0.0f) + log1pf(expf(-fabsf(x)));
}

__device__ float activate_extra(float x, int activation)
{
    switch (activation) {
    case DLP_ACT_ELU: return x > 0.0f ? x : expm1f(x);
    case DLP_ACT_SELU: return kSeluScale * (x > 0.0f ? x : kSeluAlpha * expm1f(x));
    case DLP_ACT_SWISH: return x / (1.0f + expf(-x));
    case DLP_ACT_GELU: return 0.5f * x * (1.0f + erff(x * kSqrtHalf));
    case DLP_ACT_GELU_TANH: return 0.5f * x * (1.0f + tanhf(kGeluTanhCoefficient * (x + 0.044715f * x * x * x)));
    case DLP_ACT_HARD_SIGMOID: return fminf(fmaxf(0.2f * x + 0.5f, 0.0f), 1.0f);
    case DLP_ACT_SOFTPLUS: return softplus(x);
    case DLP_ACT_HARD_SIGMOID_RELU6: return fminf(fmaxf(x + 3.0f, 0.0f), 6.0f) / 6.0f;
    default: return x;
    }
}

__global__ void activation_extra_kernel(const float *in, float *out, size_t total, int activation)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x)
        out[i] = activate_extra(in[i], activation);
}

__global__ void relu_kernel(dlp_relu_params p, const float *in, float *out, size_t total)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x) {
        float x = in[i];
        // tf-keras backend.relu: strictly above a non-zero threshold, clipped
        // to [0, max_value], minus negative_slope * relu(threshold - x).
        float positive = p.threshold != 0.0f ? (x > p.threshold ? x : 0.0f) : fmaxf(x, 0.0f);
        if (p.has_max_value) positive = fminf(fmaxf(positive, 0.0f), p.max_value);
        if (p.negative_slope != 0.0f) positive -= p.negative_slope * fmaxf(p.threshold - x, 0.0f);
        out[i] = positive;
    }
}

__global__ void permute_kernel(dlp_cuda_permute_geometry g, const float *in, float *out)
{
    size_t total = (size_t)g.batch * g.out_h * g.out_w * g.out_c;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x) {
        size_t k = i % g.out_c, pixel = i / g.out_c;
        size_t x = pixel % g.out_w, y = pixel / g.out_w % g.out_h, b = pixel / ((size_t)g.out_w * g.out_h);
        out[i] = in[b * g.image_floats + y * g.strides[0] + x * g.strides[1] + k * g.strides[2]];
    }
}

struct input_list {
    const float *data[DLP_CUDA_EXTRA_MAX_INPUTS];
};

__global__ void elementwise_kernel(int op, input_list inputs, int count, size_t total, float *out)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x) {
        float value = inputs.data[0][i];
        for (int k = 1; k < count; k++) {
            float x = inputs.data[k][i];
            if (op == DLP_OP_SUBTRACT)
                value -= x;
            else if (op == DLP_OP_MULTIPLY)
                value *= x;
            else if (op == DLP_OP_MAXIMUM)
                value = fmaxf(value, x);
            else
                value += x;
        }
        // Keras' Average sums then divides by the count.
        if (op == DLP_OP_AVERAGE) value /= (float)count;
        out[i] = value;
    }
}

}  // namespace

extern "C" cudaError_t dlp_cuda_activation_extra(const float *in, float *out, size_t elements, int activation,
                                                 cudaStream_t stream)
{
    if (activation <= DLP_ACT_SOFTMAX || activation >= DLP_ACT_COUNT) return cudaErrorInvalidValue;
    if (elements == 0) return cudaSuccess;
    clear_stale_error();
    activation_extra_kernel<<<blocks_for(elements), kThreads, 0, stream>>>(in, out, elements, activation);
    return cudaGetLastError();
}

extern "C" cudaError_t dlp_cuda_relu(const dlp_relu_params *params, const float *in, float *out, size_t elements,
                                     cudaStream_t stream)
{
    if (elements == 0) return cudaSuccess;
    clear_stale_error();
    relu_kernel<<<blocks_for(elements), kThreads, 0, stream>>>(*params, in, out, elements);
    return cudaGetLastError();
}

extern "C" cudaError_t dlp_cuda_permute(const dlp_cuda_permute_geometry *g, const float *in, float *out,
                                        cudaStream_t stream)
{
    size_t total = (size_t)g->batch * g->out_h * g->out_w * g->out_c;
    if (total == 0) return cudaSuccess;
    clear_stale_error();
    permute_kernel<<<blocks_for(total), kThreads, 0, stream>>>(*g, in, out);
    return cudaGetLastError();
}

extern "C" cudaError_t dlp_cuda_elementwise(int op, const float *const *inputs, int count, size_t elements,
                                            float *out, cudaStream_t stream)
{
    if (count < 1 || count > DLP_CUDA_EXTRA_MAX_INPUTS || (op == DLP_OP_SUBTRACT && count != 2))
        return cudaErrorInvalidValue;
    if (elements == 0) return cudaSuccess;
    input_list list = {};
    for (int k = 0; k < count; k++) list.data[k] = inputs[k];
    clear_stale_error();
    elementwise_kernel<<<blocks_for(elements), kThreads, 0, stream>>>(op, list, count, elements, out);
    return cudaGetLastError();
}

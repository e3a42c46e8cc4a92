// logreg.cu: the fused per-row part of Spark's logistic loss (softmax or sigmoid,
// loss, margin gradient); the GEMMs around it are cuBLAS calls in
// src/backend/cuda/logreg_cuda.c. CPU twin: src/ml/logreg_objective_cpu.c (block_loss).
#include <math.h>

#include "backend/cuda/logreg_kernels.h"

namespace {

constexpr int kWarp = 32;
constexpr int kThreads = 256;
constexpr int kMaxSets = 64;  // per-block shared partial sums of multipliers; more classes use atomics directly

__device__ double warp_sum(double v)
{
    for (int offset = kWarp / 2; offset > 0; offset /= 2) v += __shfl_down_sync(0xffffffffu, v, offset);
    return __shfl_sync(0xffffffffu, v, 0);
}

__device__ double warp_max(double v)
{
    for (int offset = kWarp / 2; offset > 0; offset /= 2) v = fmax(v, __shfl_down_sync(0xffffffffu, v, offset));
    return __shfl_sync(0xffffffffu, v, 0);
}

// Spark's Utils.log1pExp.
__device__ double log1p_exp(double x) { return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x)); }

__global__ void logreg_loss_kernel(float *margins, const double *offset, const int *labels, const double *weights,
                                   size_t rows, size_t sets, int binomial, double *sums)
{
    __shared__ double block_loss;
    __shared__ double block_multipliers[kMaxSets];
    const bool shared_sums = sets <= kMaxSets;
    if (threadIdx.x == 0) block_loss = 0.0;
    if (shared_sums)
        for (size_t k = threadIdx.x; k < sets; k += blockDim.x) block_multipliers[k] = 0.0;
    __syncthreads();

    const int lane = threadIdx.x % kWarp;
    const size_t warps = (size_t)gridDim.x * (blockDim.x / kWarp);
    for (size_t row = (size_t)blockIdx.x * (blockDim.x / kWarp) + threadIdx.x / kWarp; row < rows; row += warps) {
        float *m = margins + row * sets;
        const double weight = weights[row];
        if (!(weight > 0)) {
            for (size_t k = lane; k < sets; k += kWarp) m[k] = 0.0f;
            continue;
        }
        const int label = labels[row];
        if (binomial) {
            if (lane == 0) {
                const double margin = (double)m[0] + offset[0];
                const double loss = label > 0 ? log1p_exp(-margin) : log1p_exp(-margin) + margin;
                const double multiplier = weight * (1.0 / (1.0 + exp(-margin)) - label);
                m[0] = (float)multiplier;
                atomicAdd(&block_loss, weight * loss);
                if (shared_sums) atomicAdd(&block_multipliers[0], multiplier);
                else atomicAdd(&sums[1], multiplier);
            }
            continue;
        }
        double largest = -INFINITY;
        for (size_t k = lane; k < sets; k += kWarp) largest = fmax(largest, (double)m[k] + offset[k]);
        largest = warp_max(largest);
        double sum = 0.0;
        for (size_t k = lane; k < sets; k += kWarp) sum += exp((double)m[k] + offset[k] - largest);
        sum = warp_sum(sum);
        if (lane == 0) {
            const double shifted_label = (double)m[label] + offset[label] - largest;
            atomicAdd(&block_loss, weight * (log(sum) - shifted_label));
        }
        __syncwarp();
        for (size_t k = lane; k < sets; k += kWarp) {
            const double p = exp((double)m[k] + offset[k] - largest) / sum;
            const double multiplier = weight * (p - ((int)k == label ? 1.0 : 0.0));
            m[k] = (float)multiplier;
            if (shared_sums) atomicAdd(&block_multipliers[k], multiplier);
            else atomicAdd(&sums[1 + k], multiplier);
        }
    }
    __syncthreads();
    if (threadIdx.x == 0) atomicAdd(&sums[0], block_loss);
    if (shared_sums)
        for (size_t k = threadIdx.x; k < sets; k += blockDim.x) atomicAdd(&sums[1 + k], block_multipliers[k]);
}

}  // namespace

extern "C" cudaError_t dlp_cuda_logreg_loss(float *margins, const double *offset, const int *labels,
                                            const double *weights, size_t rows, size_t sets, int binomial,
                                            double *sums, cudaStream_t stream)
{
    const size_t rows_per_block = kThreads / kWarp;
    size_t blocks = (rows + rows_per_block - 1) / rows_per_block;
    if (blocks > 4096) blocks = 4096;  // grid-stride beyond
    if (blocks == 0) return cudaSuccess;
    logreg_loss_kernel<<<(unsigned)blocks, kThreads, 0, stream>>>(margins, offset, labels, weights, rows, sets,
                                                                    binomial, sums);
    return cudaGetLastError();
}

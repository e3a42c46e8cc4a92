// logreg.cu: the device parts of Spark's logistic regression that are not
// GEMMs (those are cuBLAS calls in src/backend/cuda/logreg_cuda.c): the fused
// per-row loss (softmax or sigmoid, loss, margin gradient) and the feature
// statistics. CPU twins: block_loss in src/ml/logreg_objective_cpu.c, and
// src/ml/logreg_statistics.h (shared with the host) for the statistics.
#include <math.h>

#include "backend/cuda/logreg_kernels.h"
#include "ml/logreg_statistics.h"

namespace {

constexpr int kWarp = 32;
constexpr int kMaxWarps = 8;
constexpr size_t kSharedBytes = 48 * 1024;  // the default dynamic shared memory limit
constexpr size_t kMaxBlocks = 1024;

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

// One row (one warp): margins + offset -> multipliers in place; the row's loss
// is added to own[0] by lane 0 and multiplier k to own[1 + k] by lane k % 32, so
// no two lanes ever add to the same slot (no atomics, a fixed order).
__device__ void row_loss(float *m, const double *offset, int label, double weight, size_t sets, int binomial,
                         int lane, double *own)
{
    if (binomial) {
        if (lane == 0) {
            const double margin = (double)m[0] + offset[0];
            const double loss = label > 0 ? log1p_exp(-margin) : log1p_exp(-margin) + margin;
            const double multiplier = weight * (1.0 / (1.0 + exp(-margin)) - label);
            m[0] = (float)multiplier;
            own[0] += weight * loss;
            own[1] += multiplier;
        }
        return;
    }
    double largest = -INFINITY;
    for (size_t k = lane; k < sets; k += kWarp) largest = fmax(largest, (double)m[k] + offset[k]);
    largest = warp_max(largest);
    double sum = 0.0;
    for (size_t k = lane; k < sets; k += kWarp) sum += exp((double)m[k] + offset[k] - largest);
    sum = warp_sum(sum);
    if (lane == 0) own[0] += weight * (log(sum) - ((double)m[label] + offset[label] - largest));
    __syncwarp();  // every lane has read m[label] before it is overwritten
    for (size_t k = lane; k < sets; k += kWarp) {
        const double p = exp((double)m[k] + offset[k] - largest) / sum;
        const double multiplier = weight * (p - ((int)k == label ? 1.0 : 0.0));
        m[k] = (float)multiplier;
        own[1 + k] += multiplier;
    }
}

// Rows are spread over warps (grid-stride); each warp sums into its own shared
// slots, the block adds its warps in order into block_sums, and the last block
// to finish adds the blocks in order into sums: the result does not depend on
// scheduling, so two evaluations at the same point give the same bits.
__global__ void logreg_loss_kernel(float *margins, const double *offset, const int *labels, const double *weights,
                                   size_t rows, size_t sets, int binomial, double *block_sums,
                                   unsigned int *blocks_done, double *sums)
{
    extern __shared__ double warp_sums[];  // warps x (1 + sets)
    __shared__ bool last_block;
    const size_t width = 1 + sets;
    const int lane = threadIdx.x % kWarp, warp = threadIdx.x / kWarp, warps = blockDim.x / kWarp;
    double *own = warp_sums + (size_t)warp * width;
    for (size_t k = lane; k < width; k += kWarp) own[k] = 0.0;
    __syncwarp();
    const size_t stride = (size_t)gridDim.x * warps;
    for (size_t row = (size_t)blockIdx.x * warps + warp; row < rows; row += stride) {
        float *m = margins + row * sets;
        const double weight = weights[row];
        if (!(weight > 0)) {
            for (size_t k = lane; k < sets; k += kWarp) m[k] = 0.0f;
            continue;
        }
        row_loss(m, offset, labels[row], weight, sets, binomial, lane, own);
    }
    __syncthreads();
    for (size_t k = threadIdx.x; k < width; k += blockDim.x) {
        double total = 0.0;
        for (int w = 0; w < warps; w++) total += warp_sums[(size_t)w * width + k];
        block_sums[(size_t)blockIdx.x * width + k] = total;
    }
    __threadfence();  // this block's sums are visible before it counts itself done
    __syncthreads();
    if (threadIdx.x == 0) last_block = atomicAdd(blocks_done, 1u) == gridDim.x - 1;
    __syncthreads();
    if (!last_block) return;
    for (size_t k = threadIdx.x; k < width; k += blockDim.x) {
        double total = 0.0;
        for (unsigned b = 0; b < gridDim.x; b++) total += __ldcg(&block_sums[(size_t)b * width + k]);
        sums[k] = total;
    }
    if (threadIdx.x == 0) *blocks_done = 0;  // ready for the next launch
}

// Statistics pass 1: thread (chunk blockIdx.y, column j) sums its chunk.
__global__ void statistics_sum_kernel(const float *features, size_t rows, size_t cols, const double *weights,
                                      size_t chunks, double *sums, float *lows, float *highs,
                                      unsigned long long *first_bad)
{
    const size_t j = (size_t)blockIdx.x * blockDim.x + threadIdx.x, c = blockIdx.y;
    if (j >= cols) return;
    size_t bad;
    dlp_logreg_statistics_sum_chunk(features, cols, weights, dlp_logreg_statistics_chunk_begin(rows, chunks, c),
                                    dlp_logreg_statistics_chunk_begin(rows, chunks, c + 1), j, &sums[c * cols + j],
                                    &lows[c * cols + j], &highs[c * cols + j], &bad);
    if (bad != DLP_LOGREG_STATISTICS_NO_ROW) atomicMin(first_bad, (unsigned long long)(bad * cols + j));
}

__global__ void statistics_mean_kernel(const double *sums, const float *lows, const float *highs, size_t chunks,
                                       size_t cols, double weight_sum, double *mean, unsigned char *varies)
{
    const size_t j = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (j < cols) mean[j] = dlp_logreg_statistics_mean(sums, lows, highs, chunks, cols, j, weight_sum, &varies[j]);
}

__global__ void statistics_square_kernel(const float *features, size_t rows, size_t cols, const double *weights,
                                         size_t chunks, const double *mean, const unsigned char *varies,
                                         double *squares)
{
    const size_t j = (size_t)blockIdx.x * blockDim.x + threadIdx.x, c = blockIdx.y;
    if (j >= cols) return;
    squares[c * cols + j] = varies[j] ? dlp_logreg_statistics_square_chunk(
                                            features, cols, weights, dlp_logreg_statistics_chunk_begin(rows, chunks, c),
                                            dlp_logreg_statistics_chunk_begin(rows, chunks, c + 1), j, mean[j])
                                      : 0.0;
}

__global__ void statistics_std_kernel(const double *squares, size_t chunks, size_t cols,
                                      const unsigned char *varies, double denominator, double *std)
{
    const size_t j = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (j < cols) std[j] = dlp_logreg_statistics_std(squares, chunks, cols, j, varies[j], denominator);
}

// The gradient's row-chunk partials (parts x count floats) added in double, in chunk order.
__global__ void sum_partials_kernel(const float *partials, size_t parts, size_t count, double *out)
{
    const size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= count) return;
    double total = 0.0;
    for (size_t p = 0; p < parts; p++) total += (double)partials[p * count + i];
    out[i] = total;
}

}  // namespace

extern "C" cudaError_t dlp_cuda_logreg_sum_partials(const float *partials, size_t parts, size_t count, double *out,
                                                    cudaStream_t stream)
{
    constexpr unsigned kThreads = 256;
    sum_partials_kernel<<<(unsigned)((count + kThreads - 1) / kThreads), kThreads, 0, stream>>>(partials, parts,
                                                                                               count, out);
    return cudaGetLastError();
}

extern "C" int dlp_cuda_logreg_loss_warps(size_t sets)
{
    size_t warps = kSharedBytes / ((1 + sets) * sizeof(double));
    return warps == 0 ? 0 : (int)(warps < (size_t)kMaxWarps ? warps : (size_t)kMaxWarps);
}

extern "C" size_t dlp_cuda_logreg_loss_blocks(size_t rows, size_t sets)
{
    const int warps = dlp_cuda_logreg_loss_warps(sets);
    if (warps == 0) return 0;
    const size_t blocks = (rows + (size_t)warps - 1) / (size_t)warps;
    return blocks < kMaxBlocks ? blocks : kMaxBlocks;
}

extern "C" cudaError_t dlp_cuda_logreg_loss(float *margins, const double *offset, const int *labels,
                                            const double *weights, size_t rows, size_t sets, int binomial,
                                            double *block_sums, unsigned int *blocks_done, double *sums,
                                            cudaStream_t stream)
{
    const int warps = dlp_cuda_logreg_loss_warps(sets);
    const size_t blocks = dlp_cuda_logreg_loss_blocks(rows, sets);
    if (warps == 0 || blocks == 0) return cudaErrorInvalidValue;
    const size_t shared = (size_t)warps * (1 + sets) * sizeof(double);
    logreg_loss_kernel<<<(unsigned)blocks, warps * kWarp, shared, stream>>>(margins, offset, labels, weights, rows,
                                                                            sets, binomial, block_sums, blocks_done,
                                                                            sums);
    return cudaGetLastError();
}

extern "C" cudaError_t dlp_cuda_logreg_statistics(const dlp_cuda_logreg_statistics_buffers *b, const float *features,
                                                  size_t rows, size_t cols, const double *weights, double weight_sum,
                                                  double denominator, cudaStream_t stream)
{
    constexpr unsigned kThreads = 256;
    const size_t chunks = dlp_logreg_statistics_chunks(rows, cols);
    const dim3 per_chunk((unsigned)((cols + kThreads - 1) / kThreads), (unsigned)chunks);
    const unsigned per_column = (unsigned)((cols + kThreads - 1) / kThreads);
    cudaError_t error = cudaMemsetAsync(b->first_bad, 0xff, sizeof *b->first_bad, stream);
    if (error != cudaSuccess) return error;
    statistics_sum_kernel<<<per_chunk, kThreads, 0, stream>>>(features, rows, cols, weights, chunks, b->sums, b->lows,
                                                             b->highs, b->first_bad);
    statistics_mean_kernel<<<per_column, kThreads, 0, stream>>>(b->sums, b->lows, b->highs, chunks, cols, weight_sum,
                                                               b->mean, b->varies);
    statistics_square_kernel<<<per_chunk, kThreads, 0, stream>>>(features, rows, cols, weights, chunks, b->mean,
                                                                b->varies, b->squares);
    statistics_std_kernel<<<per_column, kThreads, 0, stream>>>(b->squares, chunks, cols, b->varies, denominator,
                                                              b->std);
    return cudaGetLastError();
}

/* logreg_kernels.h: launchers of kernels/logreg.cu, callable from C. */
#ifndef DLP_SRC_BACKEND_CUDA_LOGREG_KERNELS_H
#define DLP_SRC_BACKEND_CUDA_LOGREG_KERNELS_H

#include <cuda_runtime.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Launch shape of the loss kernel: warps per block (one row per warp at a time;
 * 0 when 1 + sets doubles per warp do not fit in shared memory, i.e. more than
 * 6143 sets) and blocks; block_sums needs blocks x (1 + sets) doubles. */
int dlp_cuda_logreg_loss_warps(size_t sets);
size_t dlp_cuda_logreg_loss_blocks(size_t rows, size_t sets);

/* Per row i: margins[i][k] + offset[k] -> softmax (sets > 1) or sigmoid
 * (binomial, sets == 1) -> Spark's loss and multipliers w_i (p_k - [k == label_i]),
 * written over margins. sums[0] = sum w_i loss_i, sums[1 + k] = sum of the
 * multipliers of class k, added in a fixed order (deterministic). blocks_done
 * is a counter that must be 0 before the first launch; the kernel leaves it 0. */
cudaError_t dlp_cuda_logreg_loss(float *margins, const double *offset, const int *labels, const double *weights,
                                 size_t rows, size_t sets, int binomial, double *block_sums,
                                 unsigned int *blocks_done, double *sums, cudaStream_t stream);

/* out[i] = sum over p of partials[p * count + i], in double, in order of p. */
cudaError_t dlp_cuda_logreg_sum_partials(const float *partials, size_t parts, size_t count, double *out,
                                         cudaStream_t stream);

/* Device buffers of the feature statistics: chunks x cols partials (chunks =
 * dlp_logreg_statistics_chunks, src/ml/logreg_statistics.h), the cols results,
 * and the first non-finite value's row * cols + column (all ones when none). */
typedef struct dlp_cuda_logreg_statistics_buffers {
    double *sums, *squares;
    float *lows, *highs;
    unsigned char *varies;
    double *mean, *std;
    unsigned long long *first_bad;
} dlp_cuda_logreg_statistics_buffers;

/* Spark's weighted mean and unbiased std of each column of the rows x cols
 * row-major features (rows of weight <= 0 left out), into b->mean, b->std. */
cudaError_t dlp_cuda_logreg_statistics(const dlp_cuda_logreg_statistics_buffers *b, const float *features,
                                       size_t rows, size_t cols, const double *weights, double weight_sum,
                                       double denominator, cudaStream_t stream);

#ifdef __cplusplus
}
#endif
#endif

/* logreg_kernels.h: launchers of kernels/logreg.cu, callable from C. */
#ifndef DLP_SRC_BACKEND_CUDA_LOGREG_KERNELS_H
#define DLP_SRC_BACKEND_CUDA_LOGREG_KERNELS_H

#include <cuda_runtime.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Per row i (one warp each): margins[i][k] + offset[k] -> softmax (sets > 1) or
 * sigmoid (binomial, sets == 1) -> Spark's loss and multipliers
 * w_i (p_k - [k == label_i]), written over margins. sums[0] += sum w_i loss_i,
 * sums[1 + k] += sum of multipliers of class k. sums must be zeroed first. */
cudaError_t dlp_cuda_logreg_loss(float *margins, const double *offset, const int *labels, const double *weights,
                                 size_t rows, size_t sets, int binomial, double *sums, cudaStream_t stream);

#ifdef __cplusplus
}
#endif
#endif

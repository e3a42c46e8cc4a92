/* cuda_check.h: one macro per CUDA library that turns a failed call into a
 * dlp_status with the call's text, the library's error name, file and line
 * (STYLE.md: check every CUDA/cuDNN/cuBLAS call). Include after the
 * library's own header; each returns from the calling function. */
#ifndef DLP_SRC_BACKEND_CUDA_CUDA_CHECK_H
#define DLP_SRC_BACKEND_CUDA_CUDA_CHECK_H

#include "core/status.h"

#define CUDA_TRY(call)                                                                                                 \
    do {                                                                                                               \
        cudaError_t cuda_try_error_ = (call);                                                                          \
        if (cuda_try_error_ != cudaSuccess)                                                                            \
            return dlp_fail(DLP_ERR_DEVICE, "%s failed: %s (%s) at %s:%d", #call, cudaGetErrorName(cuda_try_error_),   \
                            cudaGetErrorString(cuda_try_error_), __FILE__, __LINE__);                                  \
    } while (0)

#define CUBLAS_TRY(call)                                                                                               \
    do {                                                                                                               \
        cublasStatus_t cublas_try_status_ = (call);                                                                    \
        if (cublas_try_status_ != CUBLAS_STATUS_SUCCESS)                                                               \
            return dlp_fail(DLP_ERR_DEVICE, "%s failed: %s at %s:%d", #call, cublasGetStatusString(cublas_try_status_), \
                            __FILE__, __LINE__);                                                                       \
    } while (0)

#define CUDNN_TRY(call)                                                                                                \
    do {                                                                                                               \
        cudnnStatus_t cudnn_try_status_ = (call);                                                                      \
        if (cudnn_try_status_ != CUDNN_STATUS_SUCCESS)                                                                 \
            return dlp_fail(DLP_ERR_DEVICE, "%s failed: %s at %s:%d", #call, cudnnGetErrorString(cudnn_try_status_),   \
                            __FILE__, __LINE__);                                                                       \
    } while (0)

#endif

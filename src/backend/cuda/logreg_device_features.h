/* logreg_device_features.h: what a dlp_logreg_device_features handle holds,
 * shared by its file (logreg_features_cuda.c) and the objective that reads it
 * (logreg_cuda.c). */
#ifndef DLP_SRC_BACKEND_CUDA_LOGREG_DEVICE_FEATURES_H
#define DLP_SRC_BACKEND_CUDA_LOGREG_DEVICE_FEATURES_H

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "backend/cuda/logreg_kernels.h"
#include "dlp/logreg.h"

struct dlp_logreg_device_features {
    int device;
    size_t rows, cols;
    float *features; /* device, rows x cols row-major, as given (not standardized) */
    int owned;       /* features were allocated by the upload */
    /* One stream and one cuBLAS handle for everything done with these features
     * (statistics, every evaluation of every fit), created once per handle. */
    cudaStream_t stream;
    cublasHandle_t cublas;
    double *weights; /* device, rows: the weights of the last statistics */
    dlp_cuda_logreg_statistics_buffers statistics;
};

#endif

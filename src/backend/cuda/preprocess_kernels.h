/* preprocess_kernels.h: the launcher of kernels/preprocess.cu, callable from C. */
#ifndef DLP_SRC_BACKEND_CUDA_PREPROCESS_KERNELS_H
#define DLP_SRC_BACKEND_CUDA_PREPROCESS_KERNELS_H

#include <cuda_runtime.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One thread per output pixel (grid-stride): out[((b * out_h + y) * out_w + x) * 3 + c]
 * = dlp_resize_pixel(image b, ...). Arguments are checked by the caller
 * (preprocess_cuda.c); returns the launch's cudaGetLastError(). */
cudaError_t dlp_cuda_preprocess_launch(const uint8_t *pixels, const uint64_t *offsets, const int32_t *heights,
                                       const int32_t *widths, size_t count, int out_h, int out_w, int method,
                                       int normalize, float *out, cudaStream_t stream);

#ifdef __cplusplus
}
#endif
#endif

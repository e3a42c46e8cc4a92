/* jpeg_kernels.h: the launcher of kernels/jpeg.cu, callable from C. */
#ifndef DLP_SRC_BACKEND_CUDA_JPEG_KERNELS_H
#define DLP_SRC_BACKEND_CUDA_JPEG_KERNELS_H

#include <cuda_runtime.h>
#include <stddef.h>
#include <stdint.h>

#include "backend/cuda/jpeg.h"
#include "image/jpeg_record.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Both kernels on stream, in order: blocks (layout->total_blocks x 64) and
 * quant (3 x 64) into samples (layout->total_samples), then samples into
 * rgb (width x height x 3). Device pointers; the layout is trusted (from
 * dlp_jpeg_layout_of). Returns the launches' cudaGetLastError(). */
cudaError_t dlp_cuda_jpeg_launch(const int16_t *blocks, const uint16_t *quant, const dlp_jpeg_layout *layout,
                                 uint8_t *samples, uint8_t *rgb, cudaStream_t stream);

/* A batch's records (image/jpeg_record.h) on stream: the IDCT of its
 * `blocks` blocks into samples (layout->jpeg_samples bytes), then its
 * `pixel_items` output pixels into pixels + each job's rgb offset. pixels
 * holds the packed bytes (the records) and the reconstruction area after
 * them. Device pointers, trusted jobs. Returns cudaGetLastError(). */
cudaError_t dlp_cuda_jpeg_batch_launch(uint8_t *pixels, const dlp_jpeg_job *jobs, size_t count, size_t blocks,
                                       size_t pixel_items, uint8_t *samples, cudaStream_t stream);

#ifdef __cplusplus
}
#endif
#endif

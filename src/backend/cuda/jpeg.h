/* jpeg.h: a JPEG reconstructed from its DCT coefficients on the GPU
 * (kernels/jpeg.cu): the half of a split decode that the CPU does not do
 * (image/jpeg_coefficients.h, DESIGN.md §5 "later"). One launch does the
 * IDCT of every block (a thread a block), a second the upsampling and colour
 * conversion (a thread an output pixel), with image/jpeg_pixel.h's
 * arithmetic, which the host checks against TurboJPEG byte for byte. No
 * CUDA types here, so the no-CUDA stubs and the tests include it.
 *
 * Verified: the arithmetic, on the host (unit.jpeg_coefficients), and the
 * layout (unit.jpeg_coefficients, dlp_jpeg_layout_of). NOT
 * verified: the kernels on a GPU (gpu.jpeg_cuda has not run on a device).
 * No decode path uses this yet. */
#ifndef DLP_SRC_BACKEND_CUDA_JPEG_H
#define DLP_SRC_BACKEND_CUDA_JPEG_H

#include <stddef.h>
#include <stdint.h>

#include "dlp/core.h"
#include "image/jpeg_coefficients.h"

/* The whole round trip on device `device`, synchronously: the coefficients
 * and quantizers over, both launches, the RGB8 (width x height x 3) back.
 * DLP_ERR_DEVICE for a device index out of range or a CUDA failure (the
 * call named), DLP_ERR_DEVICE "built without CUDA" without nvcc. */
dlp_status dlp_cuda_jpeg_reconstruct(int device, const dlp_jpeg_coefficients *coefficients, uint8_t *rgb);

#endif

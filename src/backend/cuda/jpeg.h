/* jpeg.h: a JPEG reconstructed from its DCT coefficients on the GPU
 * (kernels/jpeg.cu): the half of a split decode that the CPU does not do
 * (image/jpeg_coefficients.h, DESIGN.md §5 "later"). One launch does the
 * IDCT of every block (a thread a block), a second the upsampling and colour
 * conversion (a thread an output pixel), with image/jpeg_pixel.h's
 * arithmetic, which the host checks against TurboJPEG byte for byte. No
 * CUDA types here, so the no-CUDA stubs and the tests include it.
 *
 * Verified: the arithmetic, on the host (unit.jpeg_coefficients), and the
 * single-image kernels on an H200 (gpu.jpeg_cuda: TurboJPEG's RGB exactly,
 * memcheck clean, 2026-11-27). The batch kernels (below) are the same
 * items behind a job lookup that unit.decode_stream runs on the host; on an
 * H200 they give the host twin's bytes (gpu.jpeg_cuda, memcheck clean). The
 * featurizer's GPU path takes them unless DLP_JPEG_SPLIT=0. */
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

/* A packed batch with JPEG records (image/jpeg_record.h) through the image
 * stage the featurizer uses (preprocess.h: the copy, then the records'
 * reconstruction), synchronously on device `device`: pixels (host,
 * layout->total_bytes + layout->reconstructed_bytes) gets the device's
 * buffer back, the packed bytes and the reconstructed RGB8 after them. For
 * the tests, against dlp_jpeg_batch_reconstruct. */
struct dlp_image_pack_layout;
dlp_status dlp_cuda_jpeg_batch_reconstruct(int device, const uint8_t *packed,
                                           const struct dlp_image_pack_layout *layout, uint8_t *pixels);

#endif

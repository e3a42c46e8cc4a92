/* jpeg.c (no_cuda): the GPU JPEG reconstruction when libdlp was built without nvcc. */
#include "backend/cuda/jpeg.h"
#include "core/status.h"

dlp_status dlp_cuda_jpeg_reconstruct(int device, const dlp_jpeg_coefficients *coefficients, uint8_t *rgb)
{
    (void)device, (void)coefficients, (void)rgb;
    return dlp_fail(DLP_ERR_DEVICE, "cuda jpeg: this dlp was built without CUDA (nvcc was not found at build time)");
}

dlp_status dlp_cuda_jpeg_batch_reconstruct(int device, const uint8_t *packed,
                                           const struct dlp_image_pack_layout *layout, uint8_t *pixels)
{
    (void)device, (void)packed, (void)layout, (void)pixels;
    return dlp_fail(DLP_ERR_DEVICE, "cuda jpeg: this dlp was built without CUDA (nvcc was not found at build time)");
}

/* preprocess.c (no_cuda): the batched GPU preprocess when libdlp was built without nvcc. */
#include "backend/cuda/preprocess.h"
#include "core/status.h"

dlp_status dlp_cuda_preprocess_batch(const uint8_t *pixels, const uint64_t *offsets, const int32_t *heights,
                                     const int32_t *widths, size_t count, int out_h, int out_w, dlp_resize method,
                                     dlp_normalize normalize, float *out, void *stream)
{
    (void)pixels, (void)offsets, (void)heights, (void)widths, (void)count, (void)out_h, (void)out_w, (void)method;
    (void)normalize, (void)out, (void)stream;
    return dlp_fail(DLP_ERR_DEVICE, "cuda preprocess: this dlp was built without CUDA (nvcc was not found at build time)");
}

dlp_status dlp_cuda_preprocess_images(int device, const dlp_image *images, size_t count, int out_h, int out_w,
                                      dlp_resize method, dlp_normalize normalize, float *out)
{
    (void)device, (void)images, (void)count, (void)out_h, (void)out_w, (void)method, (void)normalize, (void)out;
    return dlp_fail(DLP_ERR_DEVICE, "cuda preprocess: this dlp was built without CUDA (nvcc was not found at build time)");
}

dlp_status dlp_cuda_image_stage_copy(dlp_cuda_image_stage *stage, const uint8_t *packed,
                                     const dlp_image_pack_layout *layout, void *stream)
{
    (void)stage, (void)packed, (void)layout, (void)stream;
    return dlp_fail(DLP_ERR_DEVICE, "cuda preprocess: this dlp was built without CUDA (nvcc was not found at build time)");
}

dlp_status dlp_cuda_image_stage_launch(const dlp_cuda_image_stage *stage, int out_h, int out_w, dlp_resize method,
                                       dlp_normalize normalize, float *out, void *stream)
{
    (void)stage, (void)out_h, (void)out_w, (void)method, (void)normalize, (void)out, (void)stream;
    return dlp_fail(DLP_ERR_DEVICE, "cuda preprocess: this dlp was built without CUDA (nvcc was not found at build time)");
}

void dlp_cuda_image_stage_free(dlp_cuda_image_stage *stage) { (void)stage; }

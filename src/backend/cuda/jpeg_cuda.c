/* jpeg_cuda.c: host side of the GPU JPEG reconstruction (see jpeg.h): the
 * synchronous round trip through kernels/jpeg.cu. */
#include <cuda_runtime.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cuda/cuda_check.h"
#include "backend/cuda/jpeg.h"
#include "backend/cuda/jpeg_kernels.h"
#include "backend/cuda/preprocess.h"
#include "core/status.h"
#include "dlp/device.h"

typedef struct device_buffers {
    int16_t *blocks;
    uint16_t *quant;
    uint8_t *samples, *rgb;
} device_buffers;

static dlp_status run_round_trip(const dlp_jpeg_coefficients *coefficients, const dlp_jpeg_layout *layout,
                                 device_buffers *d, uint8_t *rgb)
{
    size_t rgb_bytes = (size_t)layout->width * (size_t)layout->height * 3;
    CUDA_TRY(cudaMalloc((void **)&d->blocks, (layout->total_blocks ? layout->total_blocks : 1) * 64 * sizeof(int16_t)));
    CUDA_TRY(cudaMalloc((void **)&d->quant, 3 * 64 * sizeof(uint16_t)));
    CUDA_TRY(cudaMalloc((void **)&d->samples, layout->total_samples ? layout->total_samples : 1));
    CUDA_TRY(cudaMalloc((void **)&d->rgb, rgb_bytes ? rgb_bytes : 1));
    uint16_t quant[3 * 64];
    for (int c = 0; c < 3; c++) {
        memcpy(quant + c * 64, coefficients->component[c].quant, sizeof coefficients->component[c].quant);
        size_t blocks = (size_t)layout->width_in_blocks[c] * (size_t)layout->height_in_blocks[c];
        CUDA_TRY(cudaMemcpy(d->blocks + layout->first_block[c] * 64, coefficients->component[c].blocks,
                            blocks * 64 * sizeof(int16_t), cudaMemcpyHostToDevice));
    }
    CUDA_TRY(cudaMemcpy(d->quant, quant, sizeof quant, cudaMemcpyHostToDevice));
    CUDA_TRY(dlp_cuda_jpeg_launch(d->blocks, d->quant, layout, d->samples, d->rgb, NULL));
    /* Execution errors of the kernels surface here, not at the launches. */
    CUDA_TRY(cudaDeviceSynchronize());
    CUDA_TRY(cudaMemcpy(rgb, d->rgb, rgb_bytes, cudaMemcpyDeviceToHost));
    return DLP_OK;
}

dlp_status dlp_cuda_jpeg_reconstruct(int device, const dlp_jpeg_coefficients *coefficients, uint8_t *rgb)
{
    if (!coefficients || !rgb) return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "cuda jpeg: NULL argument");
    int device_count;
    DLP_TRY(dlp_device_count(&device_count));
    if (device < 0 || device >= device_count)
        return dlp_fail(DLP_ERR_DEVICE, "cuda jpeg: device %d, expected 0..%d", device, device_count - 1);
    cudaError_t set = cudaSetDevice(device);
    if (set != cudaSuccess)
        return dlp_fail(DLP_ERR_DEVICE, "cudaSetDevice(%d) failed: %s (%s)", device, cudaGetErrorName(set),
                        cudaGetErrorString(set));
    dlp_jpeg_layout layout;
    dlp_jpeg_layout_of(coefficients, &layout);
    device_buffers d = {0};
    dlp_status status = run_round_trip(coefficients, &layout, &d, rgb);
    cudaFree(d.blocks);
    cudaFree(d.quant);
    cudaFree(d.samples);
    cudaFree(d.rgb);
    return status;
}

static dlp_status stage_round_trip(dlp_cuda_image_stage *stage, const uint8_t *packed,
                                   const dlp_image_pack_layout *layout, uint8_t *pixels)
{
    DLP_TRY(dlp_cuda_image_stage_copy(stage, packed, layout, NULL));
    /* Execution errors of the kernels surface here. */
    CUDA_TRY(cudaDeviceSynchronize());
    if (layout->count)
        CUDA_TRY(cudaMemcpy(pixels, stage->pixels, layout->total_bytes + layout->reconstructed_bytes,
                            cudaMemcpyDeviceToHost));
    return DLP_OK;
}

dlp_status dlp_cuda_jpeg_batch_reconstruct(int device, const uint8_t *packed, const dlp_image_pack_layout *layout,
                                           uint8_t *pixels)
{
    if (!packed || !layout || !pixels) return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "cuda jpeg: NULL argument");
    int device_count;
    DLP_TRY(dlp_device_count(&device_count));
    if (device < 0 || device >= device_count)
        return dlp_fail(DLP_ERR_DEVICE, "cuda jpeg: device %d, expected 0..%d", device, device_count - 1);
    CUDA_TRY(cudaSetDevice(device));
    dlp_cuda_image_stage stage = {0};
    dlp_status status = stage_round_trip(&stage, packed, layout, pixels);
    dlp_cuda_image_stage_free(&stage);
    return status;
}

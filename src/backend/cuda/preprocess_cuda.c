/* preprocess_cuda.c: host side of the batched GPU resize + normalize (see
 * preprocess.h): argument checks, the launch, and a synchronous round trip
 * that packs a batch (src/image/pack.h) and brings the floats back. */
#include <cuda_runtime.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cuda/cuda_check.h"
#include "backend/cuda/jpeg_kernels.h"
#include "backend/cuda/preprocess.h"
#include "backend/cuda/preprocess_kernels.h"
#include "core/status.h"
#include "dlp/device.h"
#include "image/pack.h"

/* The checks dlp_image_resize_float makes, plus the output's byte count. */
static dlp_status check_output(size_t count, int out_h, int out_w, dlp_resize method, dlp_normalize normalize,
                               size_t *out_bytes)
{
    if ((unsigned)method > DLP_RESIZE_NEAREST)
        return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "cuda preprocess: unknown resize method %d", (int)method);
    if ((unsigned)normalize > DLP_NORMALIZE_CAFFE)
        return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "cuda preprocess: unknown normalization %d", (int)normalize);
    if (out_h < 1 || out_w < 1 || out_h > DLP_IMAGE_MAX_SIDE || out_w > DLP_IMAGE_MAX_SIDE ||
        (int64_t)out_h * out_w > DLP_IMAGE_MAX_PIXELS)
        return dlp_fail(DLP_ERR_INVALID_ARGUMENT,
                        "cuda preprocess: output %dx%d, expected sides 1..%d and at most %lld pixels", out_h, out_w,
                        DLP_IMAGE_MAX_SIDE, (long long)DLP_IMAGE_MAX_PIXELS);
    size_t pixel_bytes = (size_t)out_h * (size_t)out_w * 3 * sizeof(float);
    if (count > SIZE_MAX / pixel_bytes)
        return dlp_fail(DLP_ERR_LIMIT, "cuda preprocess: %zu images of %dx%d floats overflow size_t", count, out_h,
                        out_w);
    *out_bytes = count * pixel_bytes;
    return DLP_OK;
}

dlp_status dlp_cuda_preprocess_batch(const uint8_t *pixels, const uint64_t *offsets, const int32_t *heights,
                                     const int32_t *widths, size_t count, int out_h, int out_w, dlp_resize method,
                                     dlp_normalize normalize, float *out, void *stream)
{
    size_t out_bytes = 0;
    DLP_TRY(check_output(count, out_h, out_w, method, normalize, &out_bytes));
    if (count && (!pixels || !offsets || !heights || !widths || !out))
        return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "cuda preprocess: NULL device pointer");
    CUDA_TRY(dlp_cuda_preprocess_launch(pixels, offsets, heights, widths, count, out_h, out_w, (int)method,
                                        (int)normalize, out, (cudaStream_t)stream));
    return DLP_OK;
}

/* Through a stage (the featurizer's path), on the default stream: copies the
 * packed batch over, runs the kernel, copies the floats back. */
static dlp_status run_round_trip(const dlp_image_pack_layout *layout, const uint8_t *packed, int out_h, int out_w,
                                 dlp_resize method, dlp_normalize normalize, size_t out_bytes, float *out,
                                 dlp_cuda_image_stage *stage, float **device_out)
{
    CUDA_TRY(cudaMalloc((void **)device_out, out_bytes));
    DLP_TRY(dlp_cuda_image_stage_copy(stage, packed, layout, NULL));
    DLP_TRY(dlp_cuda_image_stage_launch(stage, out_h, out_w, method, normalize, *device_out, NULL));
    /* Execution errors of the kernel surface here, not at the launch. */
    CUDA_TRY(cudaDeviceSynchronize());
    CUDA_TRY(cudaMemcpy(out, *device_out, out_bytes, cudaMemcpyDeviceToHost));
    return DLP_OK;
}

dlp_status dlp_cuda_preprocess_images(int device, const dlp_image *images, size_t count, int out_h, int out_w,
                                      dlp_resize method, dlp_normalize normalize, float *out)
{
    size_t out_bytes = 0;
    DLP_TRY(check_output(count, out_h, out_w, method, normalize, &out_bytes));
    if (count && (!images || !out)) return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "cuda preprocess: NULL argument");
    if (count == 0) return DLP_OK;
    int device_count;
    DLP_TRY(dlp_device_count(&device_count));
    if (device < 0 || device >= device_count)
        return dlp_fail(DLP_ERR_DEVICE, "cuda preprocess: device %d, expected 0..%d", device, device_count - 1);
    dlp_image_pack_layout layout;
    DLP_TRY(dlp_image_pack_layout_create(images, count, &layout));
    uint8_t *packed = malloc(layout.total_bytes);
    dlp_status status = packed ? dlp_image_pack_copy(images, &layout, packed, layout.total_bytes)
                               : dlp_fail(DLP_ERR_OUT_OF_MEMORY, "cuda preprocess: cannot allocate %zu bytes to pack "
                                          "%zu images", layout.total_bytes, count);
    dlp_cuda_image_stage stage = {0};
    float *device_out = NULL;
    if (status == DLP_OK) {
        cudaError_t set = cudaSetDevice(device);
        status = set == cudaSuccess ? run_round_trip(&layout, packed, out_h, out_w, method, normalize, out_bytes, out,
                                                     &stage, &device_out)
                                    : dlp_fail(DLP_ERR_DEVICE, "cudaSetDevice(%d) failed: %s (%s)", device,
                                               cudaGetErrorName(set), cudaGetErrorString(set));
    }
    cudaFree(device_out);
    dlp_cuda_image_stage_free(&stage);
    free(packed);
    dlp_image_pack_layout_free(&layout);
    return status;
}

/* Grows a device buffer to at least bytes (contents not kept). */
static dlp_status ensure_device_bytes(void **buffer, size_t *capacity, size_t bytes, const char *what)
{
    if (*capacity >= bytes && *buffer) return DLP_OK;
    cudaFree(*buffer);
    *buffer = NULL;
    *capacity = 0;
    size_t grown = bytes + bytes / 4; /* a little headroom: batches differ in size */
    cudaError_t error = cudaMalloc(buffer, grown);
    if (error != cudaSuccess) {
        *buffer = NULL;
        return dlp_fail(DLP_ERR_DEVICE, "cuda preprocess: cannot allocate %zu bytes of device memory for %s: %s",
                        grown, what, cudaGetErrorString(error));
    }
    *capacity = grown;
    return DLP_OK;
}

dlp_status dlp_cuda_image_stage_copy(dlp_cuda_image_stage *stage, const uint8_t *packed,
                                     const dlp_image_pack_layout *layout, void *stream)
{
    size_t count = layout->count;
    stage->count = 0;
    if (count == 0) return DLP_OK;
    cudaStream_t cuda_stream = (cudaStream_t)stream;
    size_t per_image = sizeof(uint64_t) + 2 * sizeof(int32_t);
    DLP_TRY(ensure_device_bytes((void **)&stage->pixels, &stage->pixel_capacity,
                                layout->total_bytes + layout->reconstructed_bytes, "packed images"));
    DLP_TRY(ensure_device_bytes(&stage->layout, &stage->layout_capacity, count * per_image, "the image layout"));
    uint64_t *offsets = stage->layout;
    int32_t *heights = (int32_t *)(offsets + count), *widths = heights + count;
    /* The layout arrays are pageable: the runtime stages them before
     * returning, and may first wait for the stream's earlier copies; so
     * they go before the pixels, whose pinned copy is a DMA that returns at
     * once (queued behind them, it would hold this thread for its length). */
    CUDA_TRY(cudaMemcpyAsync(offsets, layout->offsets, count * sizeof *offsets, cudaMemcpyHostToDevice, cuda_stream));
    CUDA_TRY(cudaMemcpyAsync(heights, layout->heights, count * sizeof *heights, cudaMemcpyHostToDevice, cuda_stream));
    CUDA_TRY(cudaMemcpyAsync(widths, layout->widths, count * sizeof *widths, cudaMemcpyHostToDevice, cuda_stream));
    if (layout->jpeg_count) {
        size_t job_bytes = layout->jpeg_count * sizeof(dlp_jpeg_job);
        DLP_TRY(ensure_device_bytes(&stage->jobs, &stage->jobs_capacity, job_bytes, "the JPEG jobs"));
        DLP_TRY(ensure_device_bytes((void **)&stage->samples, &stage->samples_capacity,
                                    layout->jpeg_samples ? layout->jpeg_samples : 1, "JPEG sample planes"));
        CUDA_TRY(cudaMemcpyAsync(stage->jobs, layout->jpeg_jobs, job_bytes, cudaMemcpyHostToDevice, cuda_stream));
    }
    CUDA_TRY(cudaMemcpyAsync(stage->pixels, packed, layout->total_bytes, cudaMemcpyHostToDevice, cuda_stream));
    if (layout->jpeg_count)
        CUDA_TRY(dlp_cuda_jpeg_batch_launch(stage->pixels, stage->jobs, layout->jpeg_count, layout->jpeg_blocks,
                                            layout->jpeg_pixels, stage->samples, cuda_stream));
    stage->count = count;
    return DLP_OK;
}

dlp_status dlp_cuda_image_stage_launch(const dlp_cuda_image_stage *stage, int out_h, int out_w, dlp_resize method,
                                       dlp_normalize normalize, float *out, void *stream)
{
    size_t count = stage->count;
    const uint64_t *offsets = stage->layout;
    const int32_t *heights = (const int32_t *)(offsets + count), *widths = heights + count;
    return dlp_cuda_preprocess_batch(stage->pixels, offsets, heights, widths, count, out_h, out_w, method, normalize,
                                     out, stream);
}

void dlp_cuda_image_stage_free(dlp_cuda_image_stage *stage)
{
    cudaFree(stage->pixels);
    cudaFree(stage->layout);
    cudaFree(stage->jobs);
    cudaFree(stage->samples);
    memset(stage, 0, sizeof *stage);
}

// jpeg.cu: a JPEG reconstructed from its DCT coefficients (src/backend/cuda/jpeg.h): the IDCT with one thread
// per 8x8 block, then upsampling and colour with one thread per output pixel. The arithmetic is
// src/image/jpeg_pixel.h's, the code the CPU twin runs and the host test checks against TurboJPEG. The batch
// kernels do the same for every record of a packed batch (src/image/jpeg_record.h's items).
#include "backend/cuda/jpeg_kernels.h"
#include "image/jpeg_pixel.h"
#include "image/jpeg_record.h"

#include "grid.cuh"

namespace {

__global__ void idct_kernel(dlp_jpeg_blocks in, dlp_jpeg_layout layout, uint8_t *samples)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < layout.total_blocks;
         i += (size_t)gridDim.x * blockDim.x)
        dlp_jpeg_idct_item(in, &layout, samples, i);
}

__global__ void pixel_kernel(const uint8_t *samples, dlp_jpeg_layout layout, uint8_t *rgb)
{
    size_t total = (size_t)layout.width * (size_t)layout.height;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x)
        dlp_jpeg_pixel_item(samples, &layout, rgb, i);
}

// A batch of records (src/image/jpeg_record.h): every block of every record, then every output pixel.
__global__ void batch_idct_kernel(const uint8_t *packed, const dlp_jpeg_job *jobs, size_t count, size_t blocks,
                                  uint8_t *samples)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < blocks; i += (size_t)gridDim.x * blockDim.x)
        dlp_jpeg_batch_idct_item(packed, jobs, count, samples, i);
}

__global__ void batch_pixel_kernel(const uint8_t *packed, const dlp_jpeg_job *jobs, size_t count, size_t pixels,
                                   const uint8_t *samples, uint8_t *out)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < pixels; i += (size_t)gridDim.x * blockDim.x)
        dlp_jpeg_batch_pixel_item(packed, jobs, count, samples, out, i);
}

}  // namespace

extern "C" cudaError_t dlp_cuda_jpeg_batch_launch(uint8_t *pixels, const dlp_jpeg_job *jobs, size_t count,
                                                  size_t blocks, size_t pixel_items, uint8_t *samples,
                                                  cudaStream_t stream)
{
    (void)cudaGetLastError();  // as below
    if (count == 0) return cudaSuccess;
    if (blocks) {
        batch_idct_kernel<<<blocks_for(blocks), kThreads, 0, stream>>>(pixels, jobs, count, blocks, samples);
        cudaError_t error = cudaGetLastError();
        if (error != cudaSuccess) return error;
    }
    if (pixel_items)
        batch_pixel_kernel<<<blocks_for(pixel_items), kThreads, 0, stream>>>(pixels, jobs, count, pixel_items, samples,
                                                                             pixels);
    return cudaGetLastError();
}

extern "C" cudaError_t dlp_cuda_jpeg_launch(const int16_t *blocks, const uint16_t *quant,
                                            const dlp_jpeg_layout *layout, uint8_t *samples, uint8_t *rgb,
                                            cudaStream_t stream)
{
    dlp_jpeg_blocks in;
    for (int c = 0; c < 3; c++) {
        in.blocks[c] = blocks + layout->first_block[c] * 64;
        in.quant[c] = quant + c * 64;
    }
    (void)cudaGetLastError();  // clear a stale non-sticky error, so the checks below report these launches
    if (layout->total_blocks) {
        idct_kernel<<<blocks_for(layout->total_blocks), kThreads, 0, stream>>>(in, *layout, samples);
        cudaError_t error = cudaGetLastError();
        if (error != cudaSuccess) return error;
    }
    size_t pixels = (size_t)layout->width * (size_t)layout->height;
    if (pixels) pixel_kernel<<<blocks_for(pixels), kThreads, 0, stream>>>(samples, *layout, rgb);
    return cudaGetLastError();
}

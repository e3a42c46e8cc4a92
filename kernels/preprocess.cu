// preprocess.cu: resize + normalize of a packed batch of differently sized
// RGB8 images into NHWC float, one thread per output pixel. The math is
// src/image/resize_pixel.h, the same code the host test checks against the
// CPU resize (src/image/resize.c); see src/backend/cuda/preprocess.h.
#include "backend/cuda/preprocess_kernels.h"
#include "image/resize_pixel.h"

#include "grid.cuh"

namespace {

__global__ void preprocess_kernel(const uint8_t *pixels, const uint64_t *offsets, const int32_t *heights,
                                  const int32_t *widths, size_t count, int out_h, int out_w, dlp_resize method,
                                  dlp_normalize normalize, float *out)
{
    const size_t plane = (size_t)out_h * (size_t)out_w;
    const size_t total = count * plane;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x) {
        size_t image = i / plane, within = i % plane;
        int y = (int)(within / (size_t)out_w), x = (int)(within % (size_t)out_w);
        dlp_resize_source source;
        source.pixels = pixels + offsets[image];
        source.height = heights[image];
        source.width = widths[image];
        float value[3];
        dlp_resize_pixel(source, out_h, out_w, method, normalize, y, x, value);
        float *pixel = out + i * 3;
        pixel[0] = value[0];
        pixel[1] = value[1];
        pixel[2] = value[2];
    }
}

}  // namespace

extern "C" cudaError_t dlp_cuda_preprocess_launch(const uint8_t *pixels, const uint64_t *offsets,
                                                  const int32_t *heights, const int32_t *widths, size_t count,
                                                  int out_h, int out_w, int method, int normalize, float *out,
                                                  cudaStream_t stream)
{
    size_t total = count * (size_t)out_h * (size_t)out_w;
    if (total == 0) return cudaSuccess;
    (void)cudaGetLastError();  // clear a stale non-sticky error, so the check below reports this launch
    preprocess_kernel<<<blocks_for(total), kThreads, 0, stream>>>(pixels, offsets, heights, widths, count, out_h,
                                                                  out_w, (dlp_resize)method,
                                                                  (dlp_normalize)normalize, out);
    return cudaGetLastError();
}

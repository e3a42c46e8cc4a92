/* conv_direct.h: a direct NHWC convolution for 16/32/48/64 output channels on
 * AVX-512 (conv_direct.c), used by cpu_conv2d in place of im2col + GEMM
 * (beside the packed GEMM only where they ran faster: cpu_conv2d_uses_gemm). */
#ifndef DLP_SRC_BACKEND_CPU_CONV_DIRECT_H
#define DLP_SRC_BACKEND_CPU_CONV_DIRECT_H

#include <stdbool.h>
#include <stddef.h>

#include "dlp/graph.h"

/* Whether cpu_conv2d_direct_pixels takes p here: an AVX-512 CPU
 * (cpu_has_avx512), 16, 32, 48 or 64 filters, and a 1x1 stride-1 kernel or
 * output rows of at least 48 pixels; DLP_CPU_DIRECT_CONV=0 in the
 * environment turns the direct kernels off. */
bool cpu_conv2d_direct_fits(const dlp_conv2d_params *p, int out_w);
/* The convolution without bias or activation for output pixels [pixel0,
 * pixel0 + count) of the flattened batch (n * out_h * out_w), written at out
 * + pixel * ldc; kernel HWIO. Only where cpu_conv2d_direct_fits(p). */
void cpu_conv2d_direct_pixels(const dlp_conv2d_params *p, const float *in, dlp_shape in_shape, dlp_shape out_shape,
                              const float *kernel, float *out, size_t ldc, size_t pixel0, size_t count);

#endif

/* ops.h: CPU ops on NHWC float32 (fast versions used by the CPU backend) and
 * their naive references (used only by tests/unit/test_ops_cpu.c). */
#ifndef DLP_SRC_BACKEND_CPU_OPS_H
#define DLP_SRC_BACKEND_CPU_OPS_H

#include <stddef.h>

#include "dlp/graph.h"

/* Floats of scratch one cpu_conv2d call with `threads` threads needs (one
 * im2col tile per thread, at most about 1 MiB each; 0 for a 1x1 stride-1 conv). */
size_t cpu_conv2d_workspace_floats(const dlp_conv2d_params *p, dlp_shape in, dlp_shape out, int threads);
/* kernel: HWIO [kh,kw,cin,cout] as Keras stores it (= the GEMM's [K, cout]); bias may be NULL. */
void cpu_conv2d(const dlp_conv2d_params *p, const float *in, int n, dlp_shape in_shape, const float *kernel,
                const float *bias, float *out, dlp_shape out_shape, float *workspace, int threads);
/* kernel: [kh,kw,cin,mult]; output channel ci*mult + m (Keras DepthwiseConv2D). */
void cpu_depthwise_conv2d(const dlp_conv2d_params *p, const float *in, int n, dlp_shape in_shape, const float *kernel,
                          const float *bias, float *out, dlp_shape out_shape, int threads);
/* kernel [in, out]; applied to rows = n*h*w. */
void cpu_dense(const dlp_dense_params *p, const float *in, size_t rows, int in_features, const float *kernel,
               const float *bias, float *out);
/* y = x*scale[c] + shift[c] (batch norm reduced to an affine map). */
void cpu_channel_affine(const float *in, size_t pixels, int channels, const float *scale, const float *shift,
                        float *out, int threads);
void cpu_activation(dlp_activation activation, float *data, size_t pixels, int channels, int threads);
void cpu_pool(dlp_op op, const dlp_pool_params *p, const float *in, int n, dlp_shape in_shape, float *out,
              dlp_shape out_shape, int threads);
void cpu_global_pool(dlp_op op, const float *in, int n, dlp_shape in_shape, float *out);
/* Copies input i's channels into the output at channel offset. */
void cpu_concat(const float *const *inputs, const int *channels, int input_count, size_t pixels, float *out,
                int threads);
void cpu_add(const float *const *inputs, int input_count, size_t elements, float *out, int threads);
void cpu_zero_pad(const dlp_zero_pad_params *p, const float *in, int n, dlp_shape in_shape, float *out,
                  dlp_shape out_shape, int threads);

/* Naive references: direct loops over the definitions, no BLAS, no threads. */
void cpu_conv2d_naive(const dlp_conv2d_params *p, const float *in, int n, dlp_shape in_shape, const float *kernel,
                      const float *bias, float *out, dlp_shape out_shape);
void cpu_depthwise_conv2d_naive(const dlp_conv2d_params *p, const float *in, int n, dlp_shape in_shape,
                                const float *kernel, const float *bias, float *out, dlp_shape out_shape);
void cpu_dense_naive(const dlp_dense_params *p, const float *in, size_t rows, int in_features, const float *kernel,
                     const float *bias, float *out);
void cpu_pool_naive(dlp_op op, const dlp_pool_params *p, const float *in, int n, dlp_shape in_shape, float *out,
                    dlp_shape out_shape);
void cpu_global_pool_naive(dlp_op op, const float *in, int n, dlp_shape in_shape, float *out);
void cpu_batchnorm_naive(const float *in, size_t pixels, int channels, const float *gamma, const float *beta,
                         const float *mean, const float *variance, float epsilon, float *out);
float cpu_activation_naive(dlp_activation activation, float x);

#endif

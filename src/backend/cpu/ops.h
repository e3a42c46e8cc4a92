/* ops.h: CPU ops on NHWC float32 (fast versions used by the CPU backend) and
 * their naive references (used only by tests/unit/test_ops_cpu.c). */
#ifndef DLP_SRC_BACKEND_CPU_OPS_H
#define DLP_SRC_BACKEND_CPU_OPS_H

#include <stdbool.h>
#include <stddef.h>

#include "dlp/graph.h"

/* The element-wise loops (epilogues, poolings, depthwise convolution, adds)
 * compiled three times, for AVX-512, AVX2 and the baseline, the fastest the
 * CPU runs chosen when the library loads (GCC's function multiversioning;
 * the build itself targets baseline x86-64). Their loops run across
 * channels, one rounding per operation as written (no contraction under
 * -std=c11), so every version gives the same floats. Clang wants the
 * attribute on the declarations too; a clang build (the fuzzers') keeps
 * the baseline loops, as does -DDLP_CPU_BASELINE_ONLY (to compare). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(DLP_CPU_BASELINE_ONLY)
#define CPU_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define CPU_CLONES
#endif

/* Whether this CPU runs AVX-512 F code: the packed GEMM's wide kernel
 * (gemm_packed.c), the direct convs (conv_direct.c), the 3x3 depthwise conv
 * (depthwise.c) and the poolings' vector path. */
bool cpu_has_avx512(void);

/* A 1x1 stride-1 conv: a GEMM on the NHWC input itself (no im2col), and
 * one long row of pixels for the direct kernels. */
static inline bool cpu_conv_is_pointwise(const dlp_conv2d_params *p)
{
    return p->kernel_h == 1 && p->kernel_w == 1 && p->stride_h == 1 && p->stride_w == 1;
}

/* Floats of scratch one cpu_conv2d call with `threads` threads needs (one
 * im2col tile per thread, at most about 1 MiB each, none for a 1x1 stride-1
 * conv; with a shortcut, as many output rows of the shortcut besides). */
size_t cpu_conv2d_workspace_floats(const dlp_conv2d_params *p, dlp_shape in, bool shortcut, int threads);
/* Whether cpu_conv2d runs p as im2col + GEMM (else the direct kernels,
 * conv_direct.h): only those convs take a packed kernel. */
bool cpu_conv2d_uses_gemm(const dlp_conv2d_params *p, dlp_shape in_shape, dlp_shape out_shape, bool shortcut);
/* kernel: HWIO [kh,kw,cin,cout] as Keras stores it (= the GEMM's [K, cout]); bias may be NULL.
 * packed_kernel (NULL: OpenBLAS' sgemm): the kernel as cpu_gemm_pack_b
 * packs it, where cpu_gemm_packed_enabled() and cpu_conv2d_uses_gemm.
 * out_stride: floats from one output pixel to the next (0: cout, packed);
 * wider only where cpu_conv2d_writes_strided(p).
 * shortcut (NULL: none): a residual block's ending fused in, out =
 * act(conv(x) + bias + shortcut) with act p's activation, linear or relu
 * (ResNet's); the shortcut is laid out as out and may be out itself. The
 * same floats as the conv, cpu_add and cpu_activation run one after
 * another. */
void cpu_conv2d(const dlp_conv2d_params *p, const float *in, int n, dlp_shape in_shape, const float *kernel,
                const float *packed_kernel, const float *bias, const float *shortcut, float *out, dlp_shape out_shape,
                size_t out_stride, float *workspace, int threads);
/* Whether cpu_conv2d takes an out_stride wider than cout with p's
 * activation (all but those applied to the whole output afterwards). */
bool cpu_conv2d_writes_strided(const dlp_conv2d_params *p);
/* kernel: [kh,kw,cin,mult]; output channel ci*mult + m (Keras DepthwiseConv2D).
 * input_relu: in is read through a ReLU (x > 0 ? x : 0; plan_step.input_relu). */
void cpu_depthwise_conv2d(const dlp_conv2d_params *p, const float *in, bool input_relu, int n, dlp_shape in_shape,
                          const float *kernel, const float *bias, float *out, dlp_shape out_shape, int threads);
/* kernel [in, out]; applied to rows = n*h*w. */
void cpu_dense(const dlp_dense_params *p, const float *in, size_t rows, int in_features, const float *kernel,
               const float *bias, float *out);
/* y = x*scale[c] + shift[c] (batch norm reduced to an affine map). */
void cpu_channel_affine(const float *in, size_t pixels, int channels, const float *scale, const float *shift,
                        float *out, int threads);
void cpu_activation(dlp_activation activation, float *data, size_t pixels, int channels, int threads);
/* out_stride as cpu_conv2d's (0: packed). */
void cpu_pool(dlp_op op, const dlp_pool_params *p, const float *in, int n, dlp_shape in_shape, float *out,
              dlp_shape out_shape, size_t out_stride, int threads);
void cpu_global_pool(dlp_op op, const float *in, int n, dlp_shape in_shape, float *out);
/* Copies input i's channels into the output at its channel offset; a NULL
 * input is already there (skipped). out_stride: floats from one output
 * pixel to the next (0: the sum of the channels). */
void cpu_concat(const float *const *inputs, const int *channels, int input_count, size_t pixels, float *out,
                size_t out_stride, int threads);
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

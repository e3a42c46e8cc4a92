/* graph_kernels.h: launchers of kernels/graph_ops.cu, the CUDA backend's own
 * NHWC kernels. Activations are stored as fp32, fp16 or bf16 (the _typed
 * launchers, storage named by dlp_cuda_storage); the math is fp32 whatever
 * the storage, and the small per-channel weights (bias, scale, shift,
 * depthwise kernel) stay fp32. The plain launchers are the fp32 ones. Each
 * enqueues on stream and returns cudaGetLastError() (launch errors; execution
 * errors surface at the next synchronisation).
 * CPU twins: src/backend/cpu/ops.c. */
#ifndef DLP_SRC_BACKEND_CUDA_GRAPH_KERNELS_H
#define DLP_SRC_BACKEND_CUDA_GRAPH_KERNELS_H

#include <cuda_runtime.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

enum { DLP_CUDA_MAX_INPUTS = 64 };

/* How activations are stored on the device: float, IEEE half, bfloat16. */
typedef enum dlp_cuda_storage { DLP_CUDA_STORAGE_F32 = 0, DLP_CUDA_STORAGE_F16, DLP_CUDA_STORAGE_BF16 } dlp_cuda_storage;

/* Geometry of a window op (conv, depthwise conv, pool) over NHWC images. */
typedef struct dlp_cuda_window {
    int batch, in_h, in_w, in_c;
    int out_h, out_w, out_c;
    int kernel_h, kernel_w, stride_h, stride_w;
    int pad_top, pad_left;
    /* Pooling only: 0, taps outside the input are left out (TensorFlow's
     * 'same'); 1, they are zeros (a ZeroPadding2D folded into a 'valid'
     * pooling: the max includes 0, the average divides by the whole window). */
    int zero_taps;
    /* Pooling only: elements from one output pixel to the next; 0 means
     * out_c (packed), wider when the output is a slice of a concatenation's
     * buffer (the vector kernel then needs it a multiple of 16 bytes too). */
    int out_stride;
    /* Depthwise conv only: 1, each input element is read through a ReLU
     * (x > 0 ? x : 0, the activation kernel's floats; a ReLU step folded
     * in, plan_step.input_relu). */
    int input_relu;
} dlp_cuda_window;

/* out = act(in + bias[c]) elementwise (bias may be NULL; activation is a
 * dlp_activation other than softmax). in may equal out. */
cudaError_t dlp_cuda_bias_activation(const float *in, float *out, size_t rows, int channels, const float *bias,
                                     int activation, cudaStream_t stream);
/* Softmax over the last axis of rows x channels (max-subtracted). in may equal out. */
cudaError_t dlp_cuda_softmax(const float *in, float *out, size_t rows, int channels, cudaStream_t stream);
cudaError_t dlp_cuda_channel_affine(const float *in, float *out, size_t rows, int channels, const float *scale,
                                    const float *shift, cudaStream_t stream);
/* Keras DepthwiseConv2D plus bias (may be NULL); output channel ci*mult + m. */
cudaError_t dlp_cuda_depthwise_conv2d(const dlp_cuda_window *g, const float *in, const float *kernel,
                                      const float *bias, float *out, cudaStream_t stream);
/* is_max: max pool, else TensorFlow's average over the valid inputs. */
cudaError_t dlp_cuda_pool(const dlp_cuda_window *g, int is_max, const float *in, float *out, cudaStream_t stream);
cudaError_t dlp_cuda_global_pool(int is_max, const float *in, int batch, size_t pixels, int channels, float *out,
                                 cudaStream_t stream);
/* Writes in (pixels x channels) into out (pixels x out_channels) at channel offset. */
cudaError_t dlp_cuda_concat_slice(const float *in, size_t pixels, int channels, float *out, int out_channels,
                                  int offset, cudaStream_t stream);
/* out[e] = sum of inputs[i][e]; count <= DLP_CUDA_MAX_INPUTS. */
cudaError_t dlp_cuda_add(const float *const *inputs, int count, size_t elements, float *out, cudaStream_t stream);
/* Zero padding: out is batch x out_h x out_w x c, in placed at (top, left). */
cudaError_t dlp_cuda_zero_pad(const float *in, int batch, int in_h, int in_w, int channels, float *out, int out_h,
                              int out_w, int top, int left, cudaStream_t stream);

/* ---- Typed launchers: in/out in the given storage, math in fp32. ---- */

/* Converts count values between storages (float <-> half/bf16, or a copy). */
cudaError_t dlp_cuda_convert(dlp_cuda_storage from, const void *in, dlp_cuda_storage to, void *out, size_t count,
                             cudaStream_t stream);
cudaError_t dlp_cuda_bias_activation_typed(dlp_cuda_storage storage, const void *in, void *out, size_t rows,
                                           int channels, const float *bias, int activation, cudaStream_t stream);
/* dlp_cuda_bias_activation_typed in place on rows whose pixels lie stride
 * elements apart (stride >= channels; equal: the packed launcher). */
cudaError_t dlp_cuda_bias_activation_strided_typed(dlp_cuda_storage storage, void *data, size_t rows, int channels,
                                                   size_t stride, const float *bias, int activation,
                                                   cudaStream_t stream);
cudaError_t dlp_cuda_softmax_typed(dlp_cuda_storage storage, const void *in, void *out, size_t rows, int channels,
                                   cudaStream_t stream);
cudaError_t dlp_cuda_channel_affine_typed(dlp_cuda_storage storage, const void *in, void *out, size_t rows,
                                          int channels, const float *scale, const float *shift, cudaStream_t stream);
/* unrolled_3x3: a 3x3 kernel on vectors of channels (multiplier 1, channels a
 * multiple of 16 bytes, the buffers 16-byte aligned) takes the kernel with
 * its taps unrolled and loaded at once; 0: the general one (to compare). */
cudaError_t dlp_cuda_depthwise_conv2d_typed(dlp_cuda_storage storage, const dlp_cuda_window *g, const void *in,
                                            const float *kernel, const float *bias, void *out, int unrolled_3x3,
                                            cudaStream_t stream);
/* unrolled_3x3: a 3x3 window on vectors of channels takes the kernel with
 * its taps unrolled and loaded at once; 0: the general one (to compare). */
cudaError_t dlp_cuda_pool_typed(dlp_cuda_storage storage, const dlp_cuda_window *g, int is_max, const void *in,
                                void *out, int unrolled_3x3, cudaStream_t stream);
cudaError_t dlp_cuda_global_pool_typed(dlp_cuda_storage storage, int is_max, const void *in, int batch,
                                       size_t pixels, int channels, void *out, cudaStream_t stream);
cudaError_t dlp_cuda_concat_slice_typed(dlp_cuda_storage storage, const void *in, size_t pixels, int channels,
                                        void *out, int out_channels, int offset, cudaStream_t stream);
cudaError_t dlp_cuda_add_typed(dlp_cuda_storage storage, const void *const *inputs, int count, size_t elements,
                               void *out, cudaStream_t stream);
cudaError_t dlp_cuda_zero_pad_typed(dlp_cuda_storage storage, const void *in, int batch, int in_h, int in_w,
                                    int channels, void *out, int out_h, int out_w, int top, int left,
                                    cudaStream_t stream);
/* Zero padding in space and channels: out is batch x out_h x out_w x out_c
 * (out_c >= in_c), in placed at (top, left) in channels 0..in_c-1, the rest
 * zeros (a half convolution's input padded to a multiple of 8 channels). */
cudaError_t dlp_cuda_pad_typed(dlp_cuda_storage storage, const void *in, int batch, int in_h, int in_w, int in_c,
                               void *out, int out_h, int out_w, int out_c, int top, int left, cudaStream_t stream);

#ifdef __cplusplus
}
#endif
#endif

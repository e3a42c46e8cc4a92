/* ops_extra_kernels.h: launchers of kernels/ops_extra.cu, the CUDA kernels of
 * the ops added for users' Keras models (NHWC fp32). Each enqueues on stream
 * and returns cudaGetLastError() (launch errors; execution errors surface at
 * the next synchronisation). CPU twins: src/backend/cpu/ops_extra.c. Crop,
 * concatenation along h or w and the channel affine map reuse
 * graph_kernels.h's zero pad, concat slice and channel affine. */
#ifndef DLP_SRC_BACKEND_CUDA_OPS_EXTRA_KERNELS_H
#define DLP_SRC_BACKEND_CUDA_OPS_EXTRA_KERNELS_H

#include <cuda_runtime.h>
#include <stddef.h>

#include "dlp/graph.h"

#ifdef __cplusplus
extern "C" {
#endif

/* out = activation(in) elementwise for the dlp_activations after softmax
 * (elu, selu, swish, gelu, gelu_tanh, hard_sigmoid, softplus,
 * hard_sigmoid_relu6). in may equal out. */
cudaError_t dlp_cuda_activation_extra(const float *in, float *out, size_t elements, int activation,
                                      cudaStream_t stream);
/* Keras' ReLU layer with its arguments (as cpu_relu). in may equal out. */
cudaError_t dlp_cuda_relu(const dlp_relu_params *params, const float *in, float *out, size_t elements,
                          cudaStream_t stream);

/* A per-image transpose: output (y, x, k) of batch x out_h x out_w x out_c
 * reads in[b*image_floats + y*strides[0] + x*strides[1] + k*strides[2]]. */
typedef struct dlp_cuda_permute_geometry {
    int batch, out_h, out_w, out_c;
    size_t image_floats;
    size_t strides[3];
} dlp_cuda_permute_geometry;

cudaError_t dlp_cuda_permute(const dlp_cuda_permute_geometry *g, const float *in, float *out, cudaStream_t stream);

/* op: DLP_OP_SUBTRACT (inputs[0] - inputs[1]), DLP_OP_MULTIPLY, DLP_OP_AVERAGE
 * or DLP_OP_MAXIMUM over count inputs of `elements` floats, folded left to
 * right as cpu_elementwise; count <= DLP_CUDA_EXTRA_MAX_INPUTS. */
enum { DLP_CUDA_EXTRA_MAX_INPUTS = 64 };
cudaError_t dlp_cuda_elementwise(int op, const float *const *inputs, int count, size_t elements, float *out,
                                 cudaStream_t stream);

#ifdef __cplusplus
}
#endif
#endif

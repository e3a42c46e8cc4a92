/* ops_extra.h: CPU ops added for users' own Keras models (activations after
 * softmax, ReLU with arguments, permute, crop, merges, concatenation on h or
 * w), NHWC float32, with their naive references (for tests/unit/test_ops_extra.c). */
#ifndef DLP_SRC_BACKEND_CPU_OPS_EXTRA_H
#define DLP_SRC_BACKEND_CPU_OPS_EXTRA_H

#include <stdbool.h>
#include <stddef.h>

#include "dlp/graph.h"
#include "graph/plan_internal.h"

/* True for the activations ops.c's cpu_activation leaves alone (after softmax). */
bool cpu_activation_is_extra(dlp_activation activation);
/* In place, elementwise: elu, selu, swish, gelu, gelu_tanh, hard_sigmoid, softplus. */
void cpu_activation_extra(dlp_activation activation, float *data, size_t elements, int threads);
void cpu_relu(const dlp_relu_params *p, const float *in, size_t elements, float *out, int threads);
void cpu_permute(const dlp_permute_params *p, const float *in, int n, dlp_shape in_shape, float *out,
                 dlp_shape out_shape);
void cpu_crop(const dlp_zero_pad_params *p, const float *in, int n, dlp_shape in_shape, float *out,
              dlp_shape out_shape);
/* op: DLP_OP_SUBTRACT, DLP_OP_MULTIPLY, DLP_OP_AVERAGE or DLP_OP_MAXIMUM over inputs of `elements` floats. */
void cpu_elementwise(dlp_op op, const float *const *inputs, int input_count, size_t elements, float *out);
/* axis 0 (h) or 1 (w); shapes[i] is input i's per-image shape. */
void cpu_concat_axis(int axis, const float *const *inputs, const dlp_shape *shapes, int input_count, int n,
                     float *out, dlp_shape out_shape);

/* The ops above for one plan step (the CPU backend's dispatch); false from
 * cpu_is_extra_op for ops this file does not run. */
bool cpu_is_extra_op(dlp_op op);
dlp_status cpu_run_extra_step(const plan_step *step, const float *const *inputs, float *out, int n, int threads);

/* Naive references: the definitions in double precision, one element at a time. */
double cpu_activation_extra_naive(dlp_activation activation, double x);
double cpu_relu_naive(const dlp_relu_params *p, double x);
void cpu_permute_naive(const dlp_permute_params *p, const float *in, int n, dlp_shape in_shape, float *out);
void cpu_crop_naive(const dlp_zero_pad_params *p, const float *in, int n, dlp_shape in_shape, float *out,
                    dlp_shape out_shape);
void cpu_elementwise_naive(dlp_op op, const float *const *inputs, int input_count, size_t elements, float *out);
void cpu_concat_axis_naive(int axis, const float *const *inputs, const dlp_shape *shapes, int input_count, int n,
                           float *out, dlp_shape out_shape);

#endif

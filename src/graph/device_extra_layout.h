/* device_extra_layout.h: host-side bookkeeping of the ops added for users'
 * Keras models (src/backend/cpu/ops_extra.c) on a device backend, free of any
 * CUDA header so it is built and unit-tested on every machine
 * (tests/unit/test_cuda_extra_host.c): which plan steps the extra path runs,
 * concatenation along h or w as slices, and the strides of a permute. */
#ifndef DLP_SRC_GRAPH_DEVICE_EXTRA_LAYOUT_H
#define DLP_SRC_GRAPH_DEVICE_EXTRA_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>

#include "dlp/graph.h"
#include "graph/plan_internal.h"

/* True for the steps src/backend/cuda/ops_extra_cuda.c runs: every op the CPU
 * runs through cpu_run_extra_step, and the activations after softmax. */
bool device_extra_step_handled(const plan_step *step);

/* One block copy of a concatenation: `rows` blocks of `width` floats, read
 * contiguously from the input and written `out_width` floats apart, starting
 * `offset` floats into each output block (the shape dlp_cuda_concat_slice
 * writes, with "pixels" = rows and "channels" = width). */
typedef struct device_slice {
    size_t rows;
    int width, out_width, offset;
} device_slice;

/* Concatenation of count inputs along axis 0 (h: one block per image) or 1
 * (w: one block per image row) for n images: slices[i] is input i's copy.
 * DLP_ERR_LIMIT when a block exceeds INT_MAX floats. */
dlp_status device_concat_axis_slices(int axis, const dlp_shape *shapes, int count, int n, dlp_shape out_shape,
                                     device_slice *slices);

/* Output (h, w, c) of a permute reads the input at y*strides[0] + x*strides[1]
 * + k*strides[2] within the image (the input strides taken in output order). */
void device_permute_strides(const dlp_permute_params *p, dlp_shape in_shape, size_t strides[3]);

#endif

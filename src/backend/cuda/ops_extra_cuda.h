/* ops_extra_cuda.h: the CUDA backend's path for the ops added for users'
 * Keras models (the steps device_extra_step_handled accepts; CPU twin:
 * cpu_run_extra_step in src/backend/cpu/ops_extra.c). No CUDA types here, so
 * the no-CUDA stub (src/backend/no_cuda/ops_extra.c) and the tests include it. */
#ifndef DLP_SRC_BACKEND_CUDA_OPS_EXTRA_CUDA_H
#define DLP_SRC_BACKEND_CUDA_OPS_EXTRA_CUDA_H

#include "dlp/graph.h"
#include "graph/plan_internal.h"

/* Enqueues one step on stream (a cudaStream_t) for n images on the current
 * device. inputs: the step's input_count device buffers; weights: the step's
 * device weights (the channel affine map's scale and shift), out: device. */
dlp_status cuda_extra_run_step(const plan_step *step, const float *const *inputs, const float *const *weights,
                               float *out, int n, void *stream);

/* The same step within a plan on the backend's arena (value offsets from the
 * plan): what backend_cuda.c calls. */
dlp_status cuda_extra_run_plan_step(const dlp_plan *plan, const plan_step *step, float *arena,
                                    const float *const *weights, int n, void *stream);

/* The whole round trip on device `device`, synchronously: copies the step's
 * host inputs (n images each, of step->input_shapes) and host weights over,
 * fills the output with NaN, runs the step and copies out (n images of
 * step->output_shape) back. For tests: one op against its CPU twin. */
dlp_status cuda_extra_round_trip(int device, const plan_step *step, const float *const *inputs, int n, float *out);

#endif

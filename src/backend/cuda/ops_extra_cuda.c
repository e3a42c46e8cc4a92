/* ops_extra_cuda.c: the CUDA backend's dispatch of the ops added for users'
 * Keras models: one launch per step (one per input for concatenation), the
 * geometry from src/graph/device_extra_layout.c. Ops that are a special case
 * of an existing kernel reuse it: Cropping2D is the zero pad kernel with
 * negative offsets (every read lands inside the input), concatenation along
 * h or w is concat slices over image or row blocks, Rescaling/Normalization
 * is the batch norm's channel affine kernel. CPU twin: cpu_run_extra_step. */
#include <cuda_runtime.h>
#include <stdlib.h>

#include "backend/cuda/cuda_check.h"
#include "backend/cuda/graph_kernels.h"
#include "backend/cuda/ops_extra_cuda.h"
#include "backend/cuda/ops_extra_kernels.h"
#include "core/status.h"
#include "graph/device_extra_layout.h"

static dlp_status launched(cudaError_t error, const plan_step *step)
{
    if (error == cudaSuccess) return DLP_OK;
    return dlp_fail(DLP_ERR_DEVICE, "cuda backend: %s \"%s\": kernel launch failed: %s (%s)", dlp_op_name(step->op),
                    step->name ? step->name : "?", cudaGetErrorName(error), cudaGetErrorString(error));
}

static dlp_status run_concat_axis(const plan_step *step, const float *const *inputs, float *out, int n,
                                  cudaStream_t stream)
{
    device_slice *slices = malloc((size_t)step->input_count * sizeof *slices);
    if (!slices) return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "cuda backend: out of memory");
    dlp_status status = device_concat_axis_slices(step->params.axis, step->input_shapes, step->input_count, n,
                                                  step->output_shape, slices);
    for (int i = 0; i < step->input_count && status == DLP_OK; i++)
        status = launched(dlp_cuda_concat_slice(inputs[i], slices[i].rows, slices[i].width, out, slices[i].out_width,
                                                slices[i].offset, stream),
                          step);
    free(slices);
    return status;
}

static dlp_status run_permute(const plan_step *step, const float *in, float *out, int n, cudaStream_t stream)
{
    dlp_shape os = step->output_shape;
    dlp_cuda_permute_geometry g = {n, os.h, os.w, os.c, dlp_shape_elements(step->input_shapes[0]), {0, 0, 0}};
    device_permute_strides(&step->params.permute, step->input_shapes[0], g.strides);
    return launched(dlp_cuda_permute(&g, in, out, stream), step);
}

dlp_status cuda_extra_run_step(const plan_step *step, const float *const *inputs, const float *const *weights,
                               float *out, int n, void *stream_pointer)
{
    cudaStream_t stream = stream_pointer;
    dlp_shape os = step->output_shape;
    size_t elements = (size_t)n * dlp_shape_elements(os);
    switch (step->op) {
    case DLP_OP_ACTIVATION:
        return launched(dlp_cuda_activation_extra(inputs[0], out, elements, (int)step->params.activation, stream), step);
    case DLP_OP_RELU: return launched(dlp_cuda_relu(&step->params.relu, inputs[0], out, elements, stream), step);
    case DLP_OP_PERMUTE: return run_permute(step, inputs[0], out, n, stream);
    case DLP_OP_CROP: {
        /* Output (y, x) reads input (y + top, x + left): the zero pad kernel's
         * placement with the offsets negated. */
        dlp_shape is = step->input_shapes[0];
        return launched(dlp_cuda_zero_pad(inputs[0], n, is.h, is.w, is.c, out, os.h, os.w, -step->params.pad.top,
                                          -step->params.pad.left, stream),
                        step);
    }
    case DLP_OP_SUBTRACT:
    case DLP_OP_MULTIPLY:
    case DLP_OP_AVERAGE:
    case DLP_OP_MAXIMUM:
        if (step->input_count > DLP_CUDA_EXTRA_MAX_INPUTS)
            return dlp_fail(DLP_ERR_UNSUPPORTED, "cuda backend: %s \"%s\" of %d inputs (at most %d)",
                            dlp_op_name(step->op), step->name, step->input_count, DLP_CUDA_EXTRA_MAX_INPUTS);
        return launched(dlp_cuda_elementwise((int)step->op, inputs, step->input_count, elements, out, stream), step);
    case DLP_OP_CONCAT_AXIS: return run_concat_axis(step, inputs, out, n, stream);
    case DLP_OP_CHANNEL_AFFINE:
        return launched(dlp_cuda_channel_affine(inputs[0], out, (size_t)n * os.h * os.w, os.c, weights[0], weights[1],
                                                stream),
                        step);
    default:
        return dlp_fail(DLP_ERR_INTERNAL, "cuda backend: %s \"%s\" is not a user-model op", dlp_op_name(step->op),
                        step->name);
    }
}

dlp_status cuda_extra_run_plan_step(const dlp_plan *plan, const plan_step *step, float *arena,
                                    const float *const *weights, int n, void *stream)
{
    const float **inputs = malloc((size_t)step->input_count * sizeof *inputs);
    if (!inputs) return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "cuda backend: out of memory");
    for (int i = 0; i < step->input_count; i++) inputs[i] = arena + plan->values[step->inputs[i]].offset_floats;
    dlp_status status =
        cuda_extra_run_step(step, inputs, weights, arena + plan->values[step->output].offset_floats, n, stream);
    free(inputs);
    return status;
}

/* ---- The round trip for tests ---- */

typedef struct round_trip {
    cudaStream_t stream;
    float **inputs;
    float *weights[PLAN_MAX_WEIGHTS];
    float *out;
} round_trip;

static dlp_status copy_over(float **device, const float *host, size_t floats, cudaStream_t stream)
{
    if (floats == 0) return DLP_OK;
    CUDA_TRY(cudaMalloc((void **)device, floats * sizeof(float)));
    CUDA_TRY(cudaMemcpyAsync(*device, host, floats * sizeof(float), cudaMemcpyHostToDevice, stream));
    return DLP_OK;
}

static dlp_status round_trip_run(round_trip *trip, int device, const plan_step *step, const float *const *inputs,
                                 int n, float *out)
{
    CUDA_TRY(cudaSetDevice(device));
    CUDA_TRY(cudaStreamCreateWithFlags(&trip->stream, cudaStreamNonBlocking));
    for (int i = 0; i < step->input_count; i++)
        DLP_TRY(copy_over(&trip->inputs[i], inputs[i], (size_t)n * dlp_shape_elements(step->input_shapes[i]),
                          trip->stream));
    for (int w = 0; w < PLAN_MAX_WEIGHTS; w++)
        if (step->weights[w]) DLP_TRY(copy_over(&trip->weights[w], step->weights[w], step->weight_counts[w], trip->stream));
    size_t out_bytes = (size_t)n * dlp_shape_elements(step->output_shape) * sizeof(float);
    CUDA_TRY(cudaMalloc((void **)&trip->out, out_bytes ? out_bytes : sizeof(float)));
    /* All-ones bytes are NaN floats: an output element the step leaves unwritten fails the comparison. */
    CUDA_TRY(cudaMemsetAsync(trip->out, 0xFF, out_bytes, trip->stream));
    DLP_TRY(cuda_extra_run_step(step, (const float *const *)trip->inputs, (const float *const *)trip->weights, trip->out,
                                n, trip->stream));
    CUDA_TRY(cudaMemcpyAsync(out, trip->out, out_bytes, cudaMemcpyDeviceToHost, trip->stream));
    CUDA_TRY(cudaStreamSynchronize(trip->stream));
    return DLP_OK;
}

dlp_status cuda_extra_round_trip(int device, const plan_step *step, const float *const *inputs, int n, float *out)
{
    round_trip trip = {0};
    trip.inputs = calloc((size_t)step->input_count, sizeof *trip.inputs);
    if (!trip.inputs) return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "cuda extra round trip: out of memory");
    dlp_status status = round_trip_run(&trip, device, step, inputs, n, out);
    if (trip.stream) cudaStreamSynchronize(trip.stream);
    for (int i = 0; i < step->input_count; i++) cudaFree(trip.inputs[i]);
    for (int w = 0; w < PLAN_MAX_WEIGHTS; w++) cudaFree(trip.weights[w]);
    cudaFree(trip.out);
    if (trip.stream) cudaStreamDestroy(trip.stream);
    free(trip.inputs);
    return status;
}

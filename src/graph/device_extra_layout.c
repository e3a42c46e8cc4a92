/* device_extra_layout.c: host-side bookkeeping of the user-model ops on a
 * device backend (see device_extra_layout.h). */
#include <limits.h>

#include "core/status.h"
#include "graph/device_extra_layout.h"

bool device_extra_step_handled(const plan_step *step)
{
    if (step->op == DLP_OP_ACTIVATION) return step->params.activation > DLP_ACT_SOFTMAX;
    /* Reshape moves no data: the plan aliases it and no step reaches a backend. */
    return step->op >= DLP_OP_RELU && step->op < DLP_OP_COUNT && step->op != DLP_OP_RESHAPE;
}

dlp_status device_concat_axis_slices(int axis, const dlp_shape *shapes, int count, int n, dlp_shape out_shape,
                                     device_slice *slices)
{
    /* Along h each image is one block of the output image; along w, each row. */
    size_t blocks_per_image = axis == 0 ? 1 : (size_t)out_shape.h;
    size_t out_width = axis == 0 ? dlp_shape_elements(out_shape) : (size_t)out_shape.w * out_shape.c;
    if (out_width > INT_MAX)
        return dlp_fail(DLP_ERR_LIMIT, "concatenation along %s: %zu floats per block (at most %d)",
                        axis == 0 ? "h" : "w", out_width, INT_MAX);
    size_t offset = 0;
    for (int i = 0; i < count; i++) {
        size_t width = axis == 0 ? dlp_shape_elements(shapes[i]) : (size_t)shapes[i].w * shapes[i].c;
        slices[i] = (device_slice){(size_t)n * blocks_per_image, (int)width, (int)out_width, (int)offset};
        offset += width;
    }
    if (offset != out_width)
        return dlp_fail(DLP_ERR_INTERNAL, "concatenation along %s: the inputs add up to %zu floats per block, the "
                        "output has %zu", axis == 0 ? "h" : "w", offset, out_width);
    return DLP_OK;
}

void device_permute_strides(const dlp_permute_params *p, dlp_shape in_shape, size_t strides[3])
{
    size_t input_strides[3] = {(size_t)in_shape.w * in_shape.c, (size_t)in_shape.c, 1};
    for (int axis = 0; axis < 3; axis++) strides[axis] = input_strides[p->axes[axis]];
}

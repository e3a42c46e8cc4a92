/* depthwise.h: a depthwise convolution (Keras DepthwiseConv2D, and the
 * first half of SeparableConv2D) over any run of output pixels
 * (depthwise.c), for cpu_depthwise_conv2d's threads. */
#ifndef DLP_SRC_BACKEND_CPU_DEPTHWISE_H
#define DLP_SRC_BACKEND_CPU_DEPTHWISE_H

#include <stdbool.h>
#include <stddef.h>

#include "dlp/graph.h"

/* Output pixels [pixel0, pixel0 + count) of the flattened batch (n *
 * out_h * out_w), bias added (may be NULL), no activation, pixel i written
 * at out + i * ldo (ldo >= out_shape.c). kernel: [kh, kw, in_c, mult];
 * output channel ci * mult + m. input_relu: each input element is read as
 * x > 0 ? x : 0 (the ReLU step's floats). One thread. */
void cpu_depthwise_pixels(const dlp_conv2d_params *p, const float *in, bool input_relu, dlp_shape in_shape,
                          dlp_shape out_shape, const float *kernel, const float *bias, float *out, size_t ldo,
                          size_t pixel0, size_t count);

#endif

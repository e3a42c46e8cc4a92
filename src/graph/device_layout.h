/* device_layout.h: host-side planning for device backends, kept free of any
 * CUDA header so it is built and unit-tested on every machine
 * (tests/unit/test_cuda_host.c): kernel re-layout, TensorFlow 'same' padding
 * split, and the per-shape convolution algorithm cache. */
#ifndef DLP_SRC_GRAPH_DEVICE_LAYOUT_H
#define DLP_SRC_GRAPH_DEVICE_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>

#include "dlp/graph.h"

/* Keras' conv kernel [kh,kw,cin,cout] (HWIO) to cuDNN's NHWC filter layout
 * [cout,kh,kw,cin] (KRSC, "OHWI"). */
void device_hwio_to_ohwi(const float *hwio, int kernel_h, int kernel_w, int in_channels, int out_channels,
                         float *ohwi);

/* TensorFlow's padding along one axis: before (top/left) and after
 * (bottom/right); 'same' puts the odd pixel after, 'valid' pads nothing. */
void device_padding_split(int input, int kernel, int stride, dlp_padding padding, int *before, int *after);

/* One convolution shape as the algorithm choice depends on it. Built only by
 * device_conv_key so that unused bytes are zero and keys compare with memcmp. */
typedef struct device_conv_key {
    int batch, in_h, in_w, in_c;
    int out_c, kernel_h, kernel_w;
    int pad_h, pad_w, stride_h, stride_w;
    int math; /* the backend's math mode (e.g. TF32 allowed or not) */
} device_conv_key;

device_conv_key device_conv_key_make(int batch, dlp_shape input, int out_channels, int kernel_h, int kernel_w,
                                     int pad_h, int pad_w, int stride_h, int stride_w, int math);

typedef struct device_conv_choice {
    int algorithm;
    int math_type;
    size_t workspace_bytes;
} device_conv_choice;

typedef struct device_conv_cache {
    device_conv_key *keys;
    device_conv_choice *choices;
    int count, capacity;
} device_conv_cache;

/* true and *choice filled when the key was stored before. */
bool device_conv_cache_find(const device_conv_cache *cache, const device_conv_key *key, device_conv_choice *choice);
/* Stores (or replaces) the choice for key. DLP_ERR_OUT_OF_MEMORY on failure. */
dlp_status device_conv_cache_put(device_conv_cache *cache, const device_conv_key *key,
                                 const device_conv_choice *choice);
void device_conv_cache_clear(device_conv_cache *cache);

#endif

/* device_layout.h: host-side planning for device backends, kept free of any
 * CUDA header so it is built and unit-tested on every machine
 * (tests/unit/test_cuda_host.c): kernel re-layout, TensorFlow 'same' padding
 * split, float -> half/bfloat16 weight conversion, and the per-shape
 * convolution algorithm cache. */
#ifndef DLP_SRC_GRAPH_DEVICE_LAYOUT_H
#define DLP_SRC_GRAPH_DEVICE_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dlp/graph.h"

/* Keras' conv kernel [kh,kw,cin,cout] (HWIO) to cuDNN's NHWC filter layout
 * [cout,kh,kw,cin] (KRSC, "OHWI"). */
void device_hwio_to_ohwi(const float *hwio, int kernel_h, int kernel_w, int in_channels, int out_channels,
                         float *ohwi);
/* The same into a filter of padded_in_channels >= in_channels input
 * channels, the extra ones zero (see device_conv_channels). */
void device_hwio_to_ohwi_padded(const float *hwio, int kernel_h, int kernel_w, int in_channels, int padded_in_channels,
                                int out_channels, float *ohwi);

/* The input channels a cuDNN convolution is given: with half storage and
 * pad_channels, in_channels rounded up to a multiple of 8 (cuDNN's tensor-core
 * kernels want NHWC channels in multiples of 8; a 3-channel input otherwise
 * runs on a slow generic kernel); the extra channels are zeros with zero
 * filter weights, so every output is the same sum. Else in_channels. */
int device_conv_channels(int in_channels, bool half, bool pad_channels);

/* The cap on a plan's cuDNN workspace (dlp_cuda_options.workspace_cap_bytes):
 * given (nonzero: the option or DLP_CUDA_WORKSPACE_MIB) as it is; else
 * DEVICE_WORKSPACE_DEFAULT_CAP, and for full fp32 (no TF32) a quarter of
 * free_bytes (the device's free memory once the plan's arena is allocated)
 * where that is more: fp32's fast algorithms want GiBs at large batches
 * (VGG16's block1_conv2 6.1 GiB at batch 256), and with them cuDNN's
 * heuristic choice runs as fast as the timed search's (bench/RESULTS.md,
 * 2026-11-27). */
#define DEVICE_WORKSPACE_DEFAULT_CAP ((size_t)256 << 20)
size_t device_workspace_cap(size_t given, bool full_fp32, size_t free_bytes);

struct plan_step;
/* Whether the CUDA backend runs a ZeroPadding2D as part of the op that
 * alone reads it (consumer: op and params set): a 'valid' Conv2D when the
 * padding is the same on both sides of each axis (cuDNN pads symmetrically;
 * padding it there computes the same sums), a 'valid' max or average
 * pooling with any padding (its kernel counts the padded taps as zeros, as
 * Keras does: the padded value, not -inf). Asymmetric padding before a conv
 * stays a step of its own. */
bool device_zero_pad_folds(const struct plan_step *consumer, const dlp_zero_pad_params *pad);

/* Whether a device backend writes producer's output with a pixel stride
 * (into a slice of a concatenation's buffer; dlp_backend.writes_strided):
 * convolutions whose activation the strided bias kernel applies (not
 * softmax, which needs whole rows; half storage: filters a multiple of 8, so
 * that tensor-core convolutions store whole 16-byte vectors), poolings and
 * concatenations; nothing that runs as one of the user-model ops. */
bool device_writes_strided(const struct plan_step *producer, bool half_storage);

/* A convolution's padding on each side: TensorFlow's split of its own
 * padding ('same') plus the ZeroPadding2D folded into it (input_pad, may be
 * NULL). */
void device_conv_pads(dlp_shape input, const dlp_conv2d_params *conv, const dlp_zero_pad_params *input_pad, int *top,
                      int *bottom, int *left, int *right);

/* TensorFlow's padding along one axis: before (top/left) and after
 * (bottom/right); 'same' puts the odd pixel after, 'valid' pads nothing. */
void device_padding_split(int input, int kernel, int stride, dlp_padding padding, int *before, int *after);

/* IEEE 754 binary16 and bfloat16 bit patterns of float values, rounded to
 * nearest even (as CUDA's __float2half_rn / __float2bfloat16_rn); overflow
 * gives infinity, NaN stays a quiet NaN of the same sign. Used for the
 * weights of fp16/bf16 plans, converted once at upload. */
void device_float_to_half(const float *in, uint16_t *out, size_t count);
void device_float_to_bfloat16(const float *in, uint16_t *out, size_t count);
/* The float of an fp16 / bf16 bit pattern: exact (every half value is a float;
 * infinities and NaN keep their sign). */
float device_half_to_float(uint16_t bits);
float device_bfloat16_to_float(uint16_t bits);

/* A residual block's ending as one fused convolution: step s is a conv with
 * a bias and no activation whose output only feeds step s+1, an add of two
 * inputs (the conv's output and the shortcut); neither is a plan output.
 * *relu true (ResNet's): the add's output only feeds step s+2, a relu
 * activation, and step s can compute relu(conv + bias + shortcut) into the
 * relu's output (cuDNN's fused call with z = the shortcut). *relu false
 * (Xception's, whose add output feeds several steps): conv + bias +
 * shortcut into the add's output. Returns the shortcut's and the output's
 * value ids. Needs the plan's steps only: the planner keeps such an output
 * alive from step s on, so that it never shares memory with the conv's
 * input (plan_lifetimes). */
bool device_residual_pattern(const dlp_plan *plan, int s, int *shortcut_value, int *output_value, bool *relu);
/* device_residual_pattern on a planned arena. *direct: the conv may write
 * straight into the output, which overlaps neither the conv's input nor
 * (except exactly) the shortcut in the arena (the CUDA and CPU backends
 * fuse only then). */
bool device_residual_match(const dlp_plan *plan, int s, int *shortcut_value, int *output_value, bool *direct,
                           bool *relu);

/* One convolution shape as the algorithm choice depends on it. Built only by
 * device_conv_key so that unused bytes are zero and keys compare with memcmp. */
typedef struct device_conv_key {
    int batch, in_h, in_w, in_c;
    int out_c, kernel_h, kernel_w;
    int pad_h, pad_w, stride_h, stride_w;
    int math; /* the backend's math mode (e.g. TF32 allowed or not) */
    int storage; /* the activations' data type (fp32, fp16, bf16) */
    int search;  /* how the choice was made (heuristic ranking, timed) */
    int out_stride; /* elements between output pixels (set by the backend; 0 until then) */
} device_conv_key;

device_conv_key device_conv_key_make(int batch, dlp_shape input, int out_channels, int kernel_h, int kernel_w,
                                     int pad_h, int pad_w, int stride_h, int stride_w, int math);
/* The same key for another storage type and search mode. */
device_conv_key device_conv_key_with(device_conv_key key, int storage, int search);

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

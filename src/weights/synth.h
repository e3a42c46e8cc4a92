/* synth.h: dlp-synth-v1, deterministic synthetic weights for tests; the same
 * generator as tests/oracle/synth.py (the definition is in synth.c's header). */
#ifndef DLP_SRC_WEIGHTS_SYNTH_H
#define DLP_SRC_WEIGHTS_SYNTH_H

#include <stddef.h>
#include <stdint.h>

#include "dlp/tensor.h"

/* One weight of a model, as its builder lists them in Keras' order. */
typedef struct dlp_synth_spec {
    int layer_index;        /* k: index among the weight-bearing layers, Keras' topological order */
    const char *layer_name; /* the tensor is named "<layer_name>/<slot>" */
    const char *slot;       /* kernel, bias, gamma, beta, moving_mean, moving_variance,
                               depthwise_kernel or pointwise_kernel */
    int ndim;
    int64_t shape[DLP_MAX_DIMS]; /* Keras' layout: HWIO, [in, out], [h, w, in, mult] */
} dlp_synth_spec;

/* u in [0, 1) for element `element` of (layer_index, slot). */
double dlp_synth_uniform(int layer_index, const char *slot, uint64_t element);

/* Fills out[0 .. prod(shape)) with the float32 values of (layer_index, slot).
 * DLP_ERR_INVALID_ARGUMENT for an unknown slot, a negative index or dim. */
dlp_status dlp_synth_fill(int layer_index, const char *slot, const int64_t *shape, int ndim, float *out);

/* A new list with one F32 tensor per spec, in the given order, metadata
 * "format" = "dlp-synth-v1". */
dlp_status dlp_synth_tensor_list(const dlp_synth_spec *specs, size_t count, dlp_tensor_list **list);

#endif

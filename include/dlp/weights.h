/* dlp/weights.h: weight importers, each turning another framework's file into
 * a dlp_tensor_list (names, order and layouts as Keras has them). */
#ifndef DLP_WEIGHTS_H
#define DLP_WEIGHTS_H

#include "dlp/core.h"
#include "dlp/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Reads a Keras 2 HDF5 file: either a weights-only file (model.save_weights to
 * .h5, the official *_weights_tf_dim_ordering_tf_kernels[_notop].h5) or a
 * whole-model file (model.save(save_format="h5"): a model_weights group and a
 * model_config attribute).
 *
 * Tensors come in file order (layers in layer_names order, skipping layers
 * without weights; each layer's weights in weight_names order), named
 * "<layer>/<weight>" ("conv2d_3/kernel": the weight's last path component
 * without ":0"), as F32 (float64 and float16 datasets are converted), in Keras'
 * layouts. Keras matches legacy h5 weights to a model by this order, not by
 * name. Metadata: "format" = "keras-h5", "source" = path, "keras_version",
 * "backend" and "model_config" (the JSON text) when the file has them,
 * "layer_count" and "weight_layer_count".
 *
 * Errors: DLP_ERR_IO when the file cannot be opened for reading;
 * DLP_ERR_MODEL for anything else (not HDF5, truncated, missing attribute,
 * group or dataset, a non-float dataset, more than DLP_MAX_DIMS dims), the
 * message naming the file and the layer/weight. *list is NULL on failure.
 * Uses the (serial, not thread-safe) HDF5 library: call from one thread at a
 * time; HDF5's own error printing is off during the call. */
dlp_status dlp_keras_h5_load(const char *path, dlp_tensor_list **list);

#ifdef __cplusplus
}
#endif
#endif

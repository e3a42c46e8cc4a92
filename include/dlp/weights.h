/* dlp/weights.h: weight importers, each turning another framework's file into
 * a dlp_tensor_list (names, order and layouts as Keras has them). */
#ifndef DLP_WEIGHTS_H
#define DLP_WEIGHTS_H

#include <stdbool.h>
#include <stddef.h>

#include "dlp/core.h"
#include "dlp/graph.h"
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

/* Reads any weight file dlp knows, told apart by content, not by name: HDF5's
 * signature (a Keras .h5, dlp_keras_h5_load), safetensors (an 8-byte header
 * length, then a JSON object), or a JSON object with a "weightsManifest" (a
 * TensorFlow.js model.json, dlp_tfjs_load). A directory holding model.json
 * counts as that model.json. Errors: DLP_ERR_IO when path cannot be read;
 * DLP_ERR_MODEL when it is none of these or its importer refuses it (the
 * importer's message, naming the file and the layer/weight). */
dlp_status dlp_weights_load_any(const char *path, dlp_tensor_list **list);

/* Checks a weight list against a zoo model: builds the model and binds the
 * weights by Keras order, every shape checked (dlp_zoo_build); weight layers
 * after the featurizer are checked as a dense head (DLP_TOP_DENSE_STACK: an
 * ImageNet top or nsfwjs' own). model is a zoo name, compared ignoring case,
 * '_' and '-' ("inception_v3" is "InceptionV3"). *info (may be NULL) gets the
 * zoo entry. DLP_ERR_INVALID_ARGUMENT for a name not in the zoo;
 * DLP_ERR_MODEL naming the layer, the slot, expected and found shapes. */
dlp_status dlp_weights_check_model(const dlp_tensor_list *list, const char *model, const dlp_model_info **info);

/* The zoo entry for a name compared ignoring case, '_' and '-'; NULL when unknown. */
const dlp_model_info *dlp_weights_zoo_model(const char *name);

/* What dlp_weights_convert did. */
typedef struct dlp_convert_report {
    size_t tensor_count;
    size_t data_bytes;
    char architecture[64];   /* the zoo name, or "unknown" */
    char source_sha256[65];  /* of the input file (model.json for TF.js) */
} dlp_convert_report;

/* Converts a Keras .h5 or TF.js model.json (dlp_weights_load_any) to
 * safetensors at output (replaced if it exists: the CLI asks first). model:
 * a zoo name to check the weights against (dlp_weights_check_model), or NULL
 * to convert unchecked. Tensors keep the source's names, order (the order of
 * their data in the file) and Keras layouts (conv kernels HWIO, dense [in,
 * out]) as float32. __metadata__: "format" = "dlp-weights-v1",
 * "architecture" (zoo name or "unknown"), "source" (input file name without
 * directories), "source_format" ("keras-h5", "layers-model"),
 * "source_sha256" (of the .h5, or of model.json), for TF.js "shards_sha256"
 * (a JSON object: shard file name -> sha256), "preprocessing" ("tf" or
 * "caffe", with a model), "layout" = "keras", "keras_version" and
 * "model_config" when the source has them, "dlp_version". report may be NULL. */
dlp_status dlp_weights_convert(const char *input, const char *output, const char *model, dlp_convert_report *report);

/* Where a zoo model's converted weights are, in this order: weights_dir (if
 * not NULL), $DLP_WEIGHTS_DIR, $HOME/.cache/dlp/weights, ./weights. In each
 * directory a file "<model>.safetensors" (notop false) or
 * "<model>_notop.safetensors" (notop true), the model name compared ignoring
 * case, '_' and '-' ("inception_v3.safetensors" is InceptionV3's); failing
 * those, a TF.js model directory "<anything><model>/model.json" (e.g.
 * "nsfwjs-inception_v3/model.json", notop false only). Writes the path to
 * path (capacity bytes) and returns true when found. */
bool dlp_weights_find(const char *model, const char *weights_dir, bool notop, char *path, size_t capacity);

#ifdef __cplusplus
}
#endif
#endif

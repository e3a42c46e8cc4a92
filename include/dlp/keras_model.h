/* dlp/keras_model.h: users' own Keras models: a graph built from the Keras
 * model_config (Sequential or Functional; Keras 2.2.x, tf-keras 2.x and the
 * TensorFlow.js layers format), with the file's weights bound by layer name.
 *
 * Supported layers: InputLayer, Conv2D, DepthwiseConv2D, SeparableConv2D,
 * Dense, BatchNormalization, Activation, ReLU, LeakyReLU, Softmax,
 * MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D/1D,
 * GlobalMaxPooling2D/1D, Flatten, Reshape, Permute, Dropout (and the other
 * inference-time identities: SpatialDropout1D/2D, GaussianNoise,
 * GaussianDropout, AlphaDropout, ActivityRegularization), ZeroPadding2D,
 * Cropping2D, Add, Subtract, Multiply, Average, Maximum, Concatenate (any
 * axis but the batch), Rescaling, Normalization. Activations: linear, relu,
 * relu6, sigmoid, tanh, softmax, elu, selu, swish/silu, gelu, gelu_new
 * (TF.js' tanh approximation), hard_sigmoid (Keras 2 / tf-keras 2.18's
 * clip(0.2x+0.5, 0, 1); in a Keras 3 config relu6(x+3)/6, as Keras 3
 * defines it), softplus. Tensors have 1 to 3 dims besides the batch: [D] and [T, D] are
 * held as 1x1xD and 1xTxD (the graph's NHWC per-image shapes). One input;
 * any number of outputs. Nested models: a Functional or Sequential model used
 * as a layer (called once, one input, one output; nesting to any depth) is
 * built in place, its layers named "<model>/<layer>" in the graph, its
 * weights found where Keras' .h5 keeps them ("<model>/<layer>/<weight>"). 
 *
 * Refused before the graph is built (DLP_ERR_UNSUPPORTED, naming the layer,
 * its class and the option): other layer classes (LSTM, Conv3D, ...),
 * data_format channels_first, dilation_rate != 1, groups != 1,
 * shared layers (called more than once), several inputs, a batch-axis
 * concatenation. */
#ifndef DLP_KERAS_MODEL_H
#define DLP_KERAS_MODEL_H

#include "dlp/core.h"
#include "dlp/graph.h"
#include "dlp/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dlp_keras_model dlp_keras_model;

typedef struct dlp_keras_model_options {
    /* The image size for a model whose input leaves height and width open
     * (None); 0: such a model is refused. Ignored for a fixed input. */
    int input_h, input_w;
} dlp_keras_model_options;

/* A whole-model Keras .h5 (model.save(save_format="h5")), a TensorFlow.js
 * layers model.json (or its folder), or a safetensors file written by dlp
 * convert: anything dlp_weights_load_any reads whose metadata holds a
 * "model_config". options may be NULL. */
dlp_status dlp_keras_model_load(const char *path, const dlp_keras_model_options *options, dlp_keras_model **model);

/* From a weight list and a model_config JSON text (NULL: the list's
 * "model_config" metadata). Weights are matched by layer name
 * ("<layer>/<weight>"), every shape checked. */
dlp_status dlp_keras_model_from_weights(const dlp_tensor_list *weights, const char *model_config,
                                        const dlp_keras_model_options *options, dlp_keras_model **model);

/* The graph of a model_config alone, weights left at zero (to check that a
 * config is supported, or to bind weights later). */
dlp_status dlp_keras_model_from_config(const char *model_config, const dlp_keras_model_options *options,
                                       dlp_keras_model **model);

void dlp_keras_model_destroy(dlp_keras_model *model);

/* The model's name in its config ("" when it has none). */
const char *dlp_keras_model_name(const dlp_keras_model *model);
/* The graph (owned by the model). */
const dlp_graph *dlp_keras_model_graph(const dlp_keras_model *model);

const char *dlp_keras_model_input_name(const dlp_keras_model *model);
dlp_shape dlp_keras_model_input_shape(const dlp_keras_model *model);
/* Keras' shape of the input without the batch axis: returns the rank (1..3), dims in dims[0..rank-1]. */
int dlp_keras_model_input_dims(const dlp_keras_model *model, int dims[3]);

int dlp_keras_model_output_count(const dlp_keras_model *model);
/* The graph node of output i (for dlp_plan_create), NULL when out of range. */
const char *dlp_keras_model_output_name(const dlp_keras_model *model, int output);
/* The Keras layer output i comes from (differs from the node name when an
 * activation Keras fuses runs as its own node). */
const char *dlp_keras_model_output_layer(const dlp_keras_model *model, int output);
dlp_shape dlp_keras_model_output_shape(const dlp_keras_model *model, int output);
int dlp_keras_model_output_dims(const dlp_keras_model *model, int output, int dims[3]);

/* A plan computing every output of the model for up to max_batch inputs. */
dlp_status dlp_keras_model_plan(const dlp_keras_model *model, dlp_backend *backend, int max_batch, dlp_plan **plan);

/* Runs the model on `rows` inputs (each input's elements in Keras' row-major
 * order, which is the NHWC order: a [T, D] array as is, a .npy row of an
 * (N, T*D) array) in batches of up to batch_size (<= 0: 32), writing output
 * `output`'s rows (dlp_shape_elements of its shape each) to out, of capacity
 * out_floats. For sparkdl's KerasTransformer-style tensor models and images
 * already preprocessed. */
dlp_status dlp_keras_model_apply(const dlp_keras_model *model, dlp_backend *backend, const float *input, size_t rows,
                                 int batch_size, int output, float *out, size_t out_floats);

#ifdef __cplusplus
}
#endif
#endif

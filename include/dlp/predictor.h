/* dlp/predictor.h: the zoo models as ImageNet classifiers (sparkdl's
 * DeepImagePredictor): a network with Keras' own 1000-way top, run over the
 * image rows of a dataset, giving the 1000 probabilities or the top K
 * (class id, wnid, description, probability) as Keras' decode_predictions.
 * The class list is Keras' imagenet_class_index.json (MD5
 * c2c37ea517e94d9795004a39431a14cb, the hash Keras pins), shipped in
 * data/ and compiled into libdlp. Rows never disappear: a file that cannot be
 * read gets an error on its row (dlp_dataset_set_error) and NaN probabilities. */
#ifndef DLP_PREDICTOR_H
#define DLP_PREDICTOR_H

#include <stddef.h>

#include "dlp/core.h"
#include "dlp/dataset.h"
#include "dlp/graph.h"
#include "dlp/image.h"
#include "dlp/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { DLP_IMAGENET_CLASSES = 1000 };

/* Class `id` (0..999) of the ImageNet class list: its WordNet id
 * ("n01440764") and Keras' description ("tench"); the strings live as long as
 * the process. DLP_ERR_INVALID_ARGUMENT for an id out of range. */
dlp_status dlp_imagenet_class(int id, const char **wnid, const char **description);

typedef struct dlp_prediction {
    int class_id;
    const char *wnid;
    const char *description;
    float probability;
} dlp_prediction;

/* The k (1..1000) most probable classes of one row of 1000 probabilities,
 * most probable first, as Keras' decode_predictions ranks them; equal
 * probabilities in increasing class id. A row holding NaN (a failed image) is
 * refused with DLP_ERR_INVALID_ARGUMENT. */
dlp_status dlp_imagenet_top_k(const float *probabilities, int k, dlp_prediction *top);

typedef struct dlp_predictor_options {
    const char *model;   /* zoo name, e.g. "ResNet50" (case, '_' and '-' ignored) */
    const char *weights; /* weights with the ImageNet top (.safetensors, Keras .h5, TF.js model.json);
                            NULL: dlp_weights_find(model, notop = false) */
    dlp_resize resize;   /* default DLP_RESIZE_AREA (sparkdl's) */
    int batch_size;      /* images per network run; <= 0: 16 */
    int threads;         /* decoding and CPU backend threads; <= 0: all cores */
    const char *device;  /* "auto" (NULL), "cpu", "cuda" or "cuda:N" */
} dlp_predictor_options;

void dlp_predictor_options_init(dlp_predictor_options *options);

typedef struct dlp_predictor dlp_predictor;

/* Loads the weights, builds the model with its ImageNet top, picks the device
 * and plans the network. Weights without the top (a featurizer's "notop"
 * file, or another head) are refused with DLP_ERR_MODEL naming the missing
 * layer ("predictions"); other errors as dlp_featurizer_create. */
dlp_status dlp_predictor_create(const dlp_predictor_options *options, dlp_predictor **predictor);
/* The same with weights already in memory (options->weights, if set, only
 * names them in messages). */
dlp_status dlp_predictor_create_with_weights(const dlp_predictor_options *options, const dlp_tensor_list *weights,
                                             dlp_predictor **predictor);
void dlp_predictor_destroy(dlp_predictor *predictor);

const dlp_model_info *dlp_predictor_model(const dlp_predictor *predictor);
const char *dlp_predictor_weights_path(const dlp_predictor *predictor);
/* "cpu (2 threads)" or "cuda:0 (NVIDIA H100 80GB HBM3)". */
const char *dlp_predictor_device(const dlp_predictor *predictor);

/* Rows [first, first + count) of dataset -> probabilities (count x 1000,
 * row-major): decode, resize to the model's input, the model's Keras
 * preprocessing, the network and its softmax. Failed rows get NaN and their
 * reason on the row; *failed (may be NULL) counts them. */
dlp_status dlp_predictor_run(dlp_predictor *predictor, dlp_dataset *dataset, size_t first, size_t count,
                             float *probabilities, size_t *failed);
/* The same, calling progress (may be NULL) on the calling thread after each batch with the rows done of count. */
dlp_status dlp_predictor_run_progress(dlp_predictor *predictor, dlp_dataset *dataset, size_t first, size_t count,
                                      float *probabilities, size_t *failed,
                                      void (*progress)(void *context, size_t done, size_t total),
                                      void *progress_context);

/* n inputs already at the model's size and preprocessed (NHWC float32, as
 * Keras' preprocess_input leaves them) -> probabilities (n x 1000). */
dlp_status dlp_predictor_run_tensors(dlp_predictor *predictor, const float *input, size_t n, float *probabilities);

#ifdef __cplusplus
}
#endif
#endif

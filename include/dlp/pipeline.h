/* dlp/pipeline.h: a fitted pipeline (DESIGN.md §6): an optional featurizer stage
 * (which network, which weights, how its features are pooled) followed by a
 * logistic regression, plus the label names; saved as a directory holding
 * pipeline.json and logreg.safetensors. */
#ifndef DLP_PIPELINE_H
#define DLP_PIPELINE_H

#include "dlp/core.h"
#include "dlp/logreg.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DLP_PIPELINE_FORMAT "dlp-pipeline-v1"
#define DLP_PIPELINE_JSON "pipeline.json"
#define DLP_PIPELINE_LOGREG "logreg.safetensors"

/* What the featurizer stage was (recorded, checked at load; the featurize loop
 * lives elsewhere). Every string may be NULL (recorded as absent). */
typedef struct dlp_featurizer_description {
    const char *model;          /* zoo name, e.g. "InceptionV3" */
    const char *weights_path;   /* as given when fitting */
    const char *weights_sha256; /* dlp_weights_digest of the weights (64 lower-case hex digits);
                                   NULL: dlp_weights_file_digest(weights_path) */
    const char *pooling;        /* "avg", "max" or "none" */
    int input_height;           /* the model's input size fitting resized to (recorded; the CLI refuses a
                                   pipeline whose size is not the model's own); 0 = not recorded */
    int input_width;
    const char *preprocessing;  /* "tf" or "caffe" */
    size_t feature_dim;         /* columns the featurizer produces */
} dlp_featurizer_description;

typedef struct dlp_pipeline dlp_pipeline;

/* featurizer NULL: the pipeline starts from feature vectors (dlp train on a
 * .npy / LibSVM file). The strings are copied. */
dlp_status dlp_pipeline_create(const dlp_featurizer_description *featurizer, dlp_pipeline **pipeline);
void dlp_pipeline_destroy(dlp_pipeline *pipeline);

/* Names for the classes 0..count-1 (kept for output); NULL clears. */
dlp_status dlp_pipeline_set_label_names(dlp_pipeline *pipeline, const char *const *names, size_t count);
size_t dlp_pipeline_label_count(const dlp_pipeline *pipeline);
const char *dlp_pipeline_label_name(const dlp_pipeline *pipeline, size_t label); /* NULL if none */

/* Fits the logistic regression on rows x cols features (see dlp_logreg_fit,
 * whose refusals apply). cols must equal the featurizer's feature_dim when it
 * has one. Replaces an earlier fit. Label names, when set, must cover every
 * class seen. */
dlp_status dlp_pipeline_fit(dlp_pipeline *pipeline, const dlp_logreg_params *params, const float *features,
                            size_t rows, size_t cols, const double *labels, const double *weights);

/* The fitted model (owned by the pipeline), NULL before fit or load. */
const dlp_logreg_model *dlp_pipeline_model(const dlp_pipeline *pipeline);
const dlp_featurizer_description *dlp_pipeline_featurizer(const dlp_pipeline *pipeline); /* NULL if none */
size_t dlp_pipeline_feature_dim(const dlp_pipeline *pipeline);

/* Spark's transform: per row rawPrediction (rows x dlp_logreg_output_columns),
 * probability (same shape) and prediction; any may be NULL. Refuses a column
 * count other than the pipeline's feature dim (DLP_ERR_DATA, naming both). */
dlp_status dlp_pipeline_transform(const dlp_pipeline *pipeline, const float *features, size_t rows, size_t cols,
                                  double *raw, double *probability, double *prediction);

/* Writes directory/pipeline.json and directory/logreg.safetensors. The
 * directory appears atomically: it is written beside under a temporary name
 * and renamed into place; an existing pipeline directory there is replaced, any
 * other existing path is refused. */
dlp_status dlp_pipeline_save(const dlp_pipeline *pipeline, const char *directory);

/* Load flags. */
enum {
    DLP_PIPELINE_LOAD_DEFAULT = 0,
    /* Do not hash the featurizer's weights (the caller brings features, not
     * images, so the weights are not used). */
    DLP_PIPELINE_LOAD_SKIP_WEIGHTS_CHECK = 1
};

/* Loads a saved pipeline. Refused with DLP_ERR_MODEL and a message naming the
 * file, the field, the expected and the found value: unknown format, a
 * logreg.safetensors whose sha256 differs from the one in pipeline.json,
 * coefficient shapes that disagree with the recorded feature dim or class
 * count, a featurizer feature_dim other than the logistic regression's, and
 * (unless skipped) featurizer weights whose sha256 differs from the recorded
 * one. weights_path overrides the recorded weights path (NULL: recorded). */
dlp_status dlp_pipeline_load(const char *directory, const char *weights_path, int flags, dlp_pipeline **pipeline);

#ifdef __cplusplus
}
#endif
#endif

/* predictions.h: what fit, evaluate and predict share once features exist:
 * applying the pipeline, writing one JSON
 * line per row, and printing the metrics table with the confusion matrix. */
#ifndef DLP_CLI_PREDICTIONS_H
#define DLP_CLI_PREDICTIONS_H

#include <stdio.h>

#include "cli/cli.h"
#include "cli/images.h"
#include "cli/ml_data.h"
#include "dlp/pipeline.h"

/* Applies the pipeline to every ok row: prediction per row (NaN for failed
 * rows) and probabilities (rows x classes; NaN rows for failed ones). */
typedef struct cli_predictions {
    double *prediction;
    double *probability;
    size_t rows, classes;
} cli_predictions;

dlp_status cli_predict_rows(const dlp_pipeline *pipeline, const dlp_dataset *dataset, const float *features,
                            size_t dim, cli_predictions *out);
/* The same in parts: room for rows predictions, then rows [first, first + count) from their features (count x dim;
 * a failed row's prediction and probabilities are NaN), row first's at index at of out. */
dlp_status cli_predictions_alloc(const dlp_pipeline *pipeline, size_t rows, cli_predictions *out);
dlp_status cli_predict_range(const dlp_pipeline *pipeline, const dlp_dataset *dataset, size_t first, size_t count,
                             const float *features, size_t dim, cli_predictions *out, size_t at);
void cli_predictions_free(cli_predictions *predictions);
/* A cli_feature_sink that predicts each chunk of featurized rows as it arrives (cli_featurize_chunks). */
typedef struct cli_chunk_predictor {
    const dlp_pipeline *pipeline;
    const dlp_dataset *dataset;
    size_t dim;
    cli_predictions *predictions; /* from cli_predictions_alloc for every row of dataset */
} cli_chunk_predictor;
dlp_status cli_predict_chunk(void *predictor, size_t first, size_t count, const float *features);

/* One JSON line per row:
 *   {"origin":..,"label":3|null,"status":"ok"|"error","error":null|"reason",
 *    "prediction":3,"prediction_name":"3","probability":[...],"top_k":[{"label":3,"name":"3","probability":0.9},..]}
 * prediction, probability and top_k are null on an error row; top_k only when top_k > 0. Flushes after each row. */
dlp_status cli_write_prediction_row(FILE *out, const dlp_pipeline *pipeline, const dlp_row *row, int64_t label,
                                    const cli_predictions *predictions, size_t index, size_t top_k);

/* Each row's label in the pipeline's classes: the dataset's label name
 * looked up among the pipeline's names (the numeric label when either has no
 * names); -1 for a row without a label. A class name the pipeline does not
 * know is DLP_ERR_DATA naming it and the row. */
dlp_status cli_pipeline_labels(const dlp_pipeline *pipeline, const dlp_dataset *dataset, int64_t *labels);
/* One row's, by the same rule, except that a name the pipeline does not know is -1 (dlp predict: a folder of new
 * images need not be sorted by class). */
int64_t cli_pipeline_label_or_none(const dlp_pipeline *pipeline, const dlp_dataset *dataset, const dlp_row *row);

/* Spark's evaluator over the labelled ok rows; *metrics NULL when there are none. */
dlp_status cli_evaluate_rows(const dlp_dataset *dataset, const int64_t *labels, const cli_predictions *predictions,
                             dlp_multiclass_metrics **metrics, size_t *evaluated);

/* Loads a pipeline written by dlp fit and its featurizer (the recorded
 * model, pooling and weights, or settings->options.weights), refusing
 * weights whose digest differs from the recorded one (DLP_ERR_MODEL). */
dlp_status cli_open_pipeline(const char *directory, const cli_featurizer_settings *settings, dlp_pipeline **pipeline,
                             dlp_featurizer **featurizer);

#endif

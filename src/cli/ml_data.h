/* ml_data.h: what `dlp train` and `dlp evaluate` share: loading a feature
 * matrix and its labels (.npy pair or LibSVM), refusing bad rows by name, and
 * printing metrics. */
#ifndef DLP_CLI_ML_DATA_H
#define DLP_CLI_ML_DATA_H

#include <stddef.h>

#include "data/npy_map.h"
#include "dlp/dlp.h"

typedef struct cli_ml_data {
    const float *features; /* rows x cols, row-major: in features_file (a .npy, mapped) or LibSVM's parsed rows */
    dlp_npy_mapped features_file;
    float *parsed_features;    /* LibSVM's rows (owned), or NULL */
    double *labels;  /* rows */
    size_t rows, cols;
    const char *features_name; /* for messages: the .npy or LibSVM path */
    const char *labels_name;
} cli_ml_data;

/* Loads --features X.npy with --labels y.npy, or --libsvm FILE (num_features 0:
 * the largest index). A float32 X.npy is mapped, not read (dlp_npy_map_f32): it must not be truncated in place
 * while in use (a file replaced by rename, as every dlp writer does, is safe). Refuses (DLP_ERR_DATA, naming file,
 * row and column): no rows, a row count mismatch, labels that are not one column, NaN or infinite
 * features, labels that are not non-negative integers, and with max_class > 0
 * a label above max_class. Prints nothing; the caller reports. */
dlp_status cli_ml_data_load(const char *features_path, const char *labels_path, const char *libsvm_path,
                            size_t num_features, cli_ml_data *data);
/* Labels above the model's classes (evaluate: Spark's model cannot predict them). */
dlp_status cli_ml_data_check_label_range(const cli_ml_data *data, size_t class_count);
void cli_ml_data_free(cli_ml_data *data);

/* Prints f1, weightedPrecision, weightedRecall, accuracy and the confusion
 * matrix (true label rows, predicted columns) as text, or as one JSON object. */
void cli_print_metrics(const dlp_multiclass_metrics *metrics, int as_json, const char *prefix);

#endif

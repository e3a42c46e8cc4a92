/* ml_data.c: feature/label loading and metric printing for train and evaluate. */
#include "cli/ml_data.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"

static dlp_status load_npy_pair(const char *features_path, const char *labels_path, cli_ml_data *data)
{
    DLP_TRY(dlp_npy_map_f32(features_path, &data->features_file));
    data->features = data->features_file.data;
    data->rows = data->features_file.rows;
    data->cols = data->features_file.cols;
    float *labels = NULL;
    size_t label_rows = 0, label_cols = 0;
    DLP_TRY(dlp_npy_read_f32(labels_path, &labels, &label_rows, &label_cols));
    dlp_status status = DLP_OK;
    if (label_cols != 1)
        status = dlp_fail(DLP_ERR_DATA, "%s: labels must be one column (shape (n,) or (n, 1)), found %zu columns",
                          labels_path, label_cols);
    else if (label_rows != data->rows)
        status = dlp_fail(DLP_ERR_DATA, "%s: %zu labels, but %s has %zu rows", labels_path, label_rows, features_path,
                          data->rows);
    else if (!(data->labels = malloc((label_rows ? label_rows : 1) * sizeof *data->labels)))
        status = dlp_fail(DLP_ERR_OUT_OF_MEMORY, "out of memory for %zu labels", label_rows);
    for (size_t i = 0; status == DLP_OK && i < label_rows; i++) data->labels[i] = labels[i];
    free(labels);
    return status;
}

static dlp_status check_rows(const cli_ml_data *data)
{
    if (data->rows == 0) return dlp_fail(DLP_ERR_DATA, "%s: no rows", data->features_name);
    if (data->cols == 0) return dlp_fail(DLP_ERR_DATA, "%s: no feature columns", data->features_name);
    for (size_t i = 0; i < data->rows; i++) {
        double label = data->labels[i];
        if (!(label >= 0) || label != floor(label) || isinf(label))
            return dlp_fail(DLP_ERR_DATA, "%s: row %zu: label %g is not a non-negative integer", data->labels_name, i,
                            label);
        const float *row = data->features + i * data->cols;
        for (size_t j = 0; j < data->cols; j++)
            if (!isfinite(row[j]))
                return dlp_fail(DLP_ERR_DATA, "%s: row %zu, column %zu: feature is %s", data->features_name, i, j,
                                isnan(row[j]) ? "NaN" : "infinite");
    }
    return DLP_OK;
}

dlp_status cli_ml_data_load(const char *features_path, const char *labels_path, const char *libsvm_path,
                            size_t num_features, cli_ml_data *data)
{
    memset(data, 0, sizeof *data);
    dlp_status status;
    if (libsvm_path) {
        data->features_name = data->labels_name = libsvm_path;
        status = dlp_libsvm_read(libsvm_path, num_features, &data->parsed_features, &data->labels, &data->rows,
                                 &data->cols);
        data->features = data->parsed_features;
    } else {
        data->features_name = features_path;
        data->labels_name = labels_path;
        status = load_npy_pair(features_path, labels_path, data);
    }
    if (status == DLP_OK) status = check_rows(data);
    if (status != DLP_OK) cli_ml_data_free(data);
    return status;
}

dlp_status cli_ml_data_check_label_range(const cli_ml_data *data, size_t class_count)
{
    for (size_t i = 0; i < data->rows; i++)
        if (data->labels[i] >= (double)class_count)
            return dlp_fail(DLP_ERR_DATA, "%s: row %zu: label %g is outside the pipeline's classes 0..%zu",
                            data->labels_name, i, data->labels[i], class_count - 1);
    return DLP_OK;
}

void cli_ml_data_free(cli_ml_data *data)
{
    dlp_npy_unmap(&data->features_file);
    free(data->parsed_features);
    free(data->labels);
    data->features = data->parsed_features = NULL;
    data->labels = NULL;
}

static void print_matrix_json(const dlp_multiclass_metrics *m)
{
    size_t n = dlp_metrics_label_count(m);
    const double *labels = dlp_metrics_labels(m), *matrix = dlp_metrics_confusion_matrix(m);
    printf("\"labels\":[");
    for (size_t i = 0; i < n; i++) printf("%s%.17g", i ? "," : "", labels[i]);
    printf("],\"confusion_matrix\":[");
    for (size_t i = 0; i < n; i++) {
        printf("%s[", i ? "," : "");
        for (size_t j = 0; j < n; j++) printf("%s%.17g", j ? "," : "", matrix[i * n + j]);
        printf("]");
    }
    printf("]");
}

static void print_matrix_text(const dlp_multiclass_metrics *m)
{
    size_t n = dlp_metrics_label_count(m);
    const double *labels = dlp_metrics_labels(m), *matrix = dlp_metrics_confusion_matrix(m);
    printf("confusion matrix (rows: true label, columns: predicted):\n%8s", "");
    for (size_t j = 0; j < n; j++) printf(" %7g", labels[j]);
    printf("\n");
    for (size_t i = 0; i < n; i++) {
        printf("%8g", labels[i]);
        for (size_t j = 0; j < n; j++) printf(" %7g", matrix[i * n + j]);
        printf("\n");
    }
}

void cli_print_metrics(const dlp_multiclass_metrics *m, int as_json, const char *prefix)
{
    if (as_json) {
        printf("{%s\"f1\":%.17g,\"weightedPrecision\":%.17g,\"weightedRecall\":%.17g,\"accuracy\":%.17g,", prefix,
               dlp_metrics_f1(m), dlp_metrics_weighted_precision(m), dlp_metrics_weighted_recall(m),
               dlp_metrics_accuracy(m));
        print_matrix_json(m);
        printf("}\n");
        return;
    }
    printf("f1                 %.6f\nweightedPrecision  %.6f\nweightedRecall     %.6f\naccuracy           %.6f\n",
           dlp_metrics_f1(m), dlp_metrics_weighted_precision(m), dlp_metrics_weighted_recall(m),
           dlp_metrics_accuracy(m));
    print_matrix_text(m);
}

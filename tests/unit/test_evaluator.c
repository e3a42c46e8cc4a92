/* test_evaluator.c: dlp_evaluate_multiclass against PySpark 3.5's
 * MulticlassClassificationEvaluator and mllib MulticlassMetrics
 * (tests/fixtures/logreg/spark_evaluator.json, from tests/oracle/spark_oracle.py):
 * weighted and unweighted, a true class never predicted, a class only predicted. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "dlp/logreg.h"

#define TOLERANCE 1e-12

static double *doubles(json_t *array, size_t *count)
{
    size_t n = json_array_size(array);
    double *values = malloc((n ? n : 1) * sizeof *values);
    for (size_t i = 0; i < n; i++) values[i] = json_number_value(json_array_get(array, i));
    if (count) *count = n;
    return values;
}

static double metric(json_t *set, const char *name)
{
    return json_number_value(json_object_get(json_object_get(set, "metrics"), name));
}

static void check_set(json_t *set)
{
    size_t rows, class_count = (size_t)json_integer_value(json_object_get(set, "class_count"));
    double *labels = doubles(json_object_get(set, "labels"), &rows);
    double *predictions = doubles(json_object_get(set, "predictions"), NULL);
    json_t *weight_array = json_object_get(set, "weights");
    double *weights = json_is_array(weight_array) ? doubles(weight_array, NULL) : NULL;
    json_t *probability_rows = json_object_get(set, "probabilities");
    double *probabilities = malloc(rows * class_count * sizeof *probabilities);
    for (size_t i = 0; i < rows; i++)
        for (size_t k = 0; k < class_count; k++)
            probabilities[i * class_count + k] =
                json_number_value(json_array_get(json_array_get(probability_rows, i), k));
    printf("set %s: %zu rows\n", json_string_value(json_object_get(set, "name")), rows);

    for (int b = 0; b < 2; b++) {
        double beta = b == 0 ? 1.0 : 0.5;
        const char *suffix = b == 0 ? "" : "@beta=0.5";
        char key[128];
        dlp_multiclass_metrics *m = NULL;
        CHECK_OK(dlp_evaluate_multiclass(labels, predictions, weights, rows, probabilities, class_count, beta, &m));
        if (!m) continue;
#define CHECK_METRIC(name, value)                                                                                      \
    do {                                                                                                               \
        snprintf(key, sizeof key, "%s%s", name, suffix);                                                               \
        CHECK_NEAR(value, metric(set, key), TOLERANCE);                                                                \
    } while (0)
        CHECK_METRIC("f1", dlp_metrics_f1(m));
        CHECK_METRIC("accuracy", dlp_metrics_accuracy(m));
        CHECK_METRIC("weightedPrecision", dlp_metrics_weighted_precision(m));
        CHECK_METRIC("weightedRecall", dlp_metrics_weighted_recall(m));
        CHECK_METRIC("weightedTruePositiveRate", dlp_metrics_weighted_true_positive_rate(m));
        CHECK_METRIC("weightedFalsePositiveRate", dlp_metrics_weighted_false_positive_rate(m));
        CHECK_METRIC("weightedFMeasure", dlp_metrics_weighted_f_measure(m));
        CHECK_METRIC("logLoss", dlp_metrics_log_loss(m));
        CHECK_METRIC("hammingLoss", dlp_metrics_hamming_loss(m));
#undef CHECK_METRIC
        if (b == 0) {
            /* Per label (Spark's metricLabel, beta 1), labels 0..3; 3 is never predicted. */
            json_t *per_label = json_object_get(set, "per_label");
            json_t *metric_labels = json_object_get(set, "metric_labels");
            for (size_t i = 0; i < json_array_size(metric_labels); i++) {
                double label = json_number_value(json_array_get(metric_labels, i));
#define BY_LABEL(name) json_number_value(json_array_get(json_object_get(per_label, name), i))
                CHECK_NEAR(dlp_metrics_true_positive_rate(m, label), BY_LABEL("truePositiveRateByLabel"), TOLERANCE);
                CHECK_NEAR(dlp_metrics_false_positive_rate(m, label), BY_LABEL("falsePositiveRateByLabel"), TOLERANCE);
                CHECK_NEAR(dlp_metrics_precision(m, label), BY_LABEL("precisionByLabel"), TOLERANCE);
                CHECK_NEAR(dlp_metrics_recall(m, label), BY_LABEL("recallByLabel"), TOLERANCE);
                CHECK_NEAR(dlp_metrics_f_measure(m, label), BY_LABEL("fMeasureByLabel"), TOLERANCE);
#undef BY_LABEL
            }
            /* Class 4 is only predicted: not one of Spark's labels. */
            CHECK(isnan(dlp_metrics_precision(m, 4.0)));
            json_t *confusion = json_object_get(set, "confusion_matrix");
            size_t n = dlp_metrics_label_count(m);
            CHECK(n == json_array_size(confusion));
            const double *matrix = dlp_metrics_confusion_matrix(m);
            for (size_t i = 0; i < n && i < json_array_size(confusion); i++) {
                CHECK(dlp_metrics_labels(m)[i] == (double)i);
                for (size_t j = 0; j < n; j++)
                    CHECK_NEAR(matrix[i * n + j], json_number_value(json_array_get(json_array_get(confusion, i), j)),
                               TOLERANCE);
            }
        }
        dlp_multiclass_metrics_destroy(m);
    }
    free(labels), free(predictions), free(weights), free(probabilities);
}

static void check_validation(void)
{
    double labels[3] = {0, 1, 2}, predictions[3] = {0, 1, 1}, probabilities[6] = {1, 0, 0, 1, 0.5, 0.5};
    dlp_multiclass_metrics *m = NULL;
    CHECK_FAILS(dlp_evaluate_multiclass(labels, predictions, NULL, 0, NULL, 0, 1.0, &m), DLP_ERR_DATA, "no rows");
    double nan_labels[3] = {0, NAN, 1};
    CHECK_FAILS(dlp_evaluate_multiclass(nan_labels, predictions, NULL, 3, NULL, 0, 1.0, &m), DLP_ERR_DATA, "row 1");
    double weights[3] = {1, -2, 1};
    CHECK_FAILS(dlp_evaluate_multiclass(labels, predictions, weights, 3, NULL, 0, 1.0, &m), DLP_ERR_DATA,
                "row 1: weight -2");
    /* logLoss needs each label to index the probabilities: label 2 with 2 columns. */
    CHECK_FAILS(dlp_evaluate_multiclass(labels, predictions, NULL, 3, probabilities, 2, 1.0, &m), DLP_ERR_DATA,
                "row 2: label 2");
    CHECK(m == NULL);
    /* Without probabilities, logLoss is NaN and the rest is computed. */
    CHECK_OK(dlp_evaluate_multiclass(labels, predictions, NULL, 3, NULL, 0, 1.0, &m));
    if (m) {
        CHECK(isnan(dlp_metrics_log_loss(m)));
        CHECK_NEAR(dlp_metrics_accuracy(m), 2.0 / 3.0, 1e-15);
        dlp_multiclass_metrics_destroy(m);
    }
}

int main(void)
{
    const char *fixtures = check_env("DLP_FIXTURES");
    char path[4096];
    snprintf(path, sizeof path, "%s/logreg/spark_evaluator.json", fixtures);
    json_error_t error;
    json_t *root = json_load_file(path, 0, &error);
    if (!root) {
        fprintf(stderr, "%s: %s\n", path, error.text);
        return 1;
    }
    json_t *sets = json_object_get(root, "sets");
    for (size_t i = 0; i < json_array_size(sets); i++) check_set(json_array_get(sets, i));
    check_validation();
    json_decref(root);
    return check_summary("evaluator");
}

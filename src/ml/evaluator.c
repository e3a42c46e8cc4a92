/* evaluator.c: Spark 3.5's MulticlassClassificationEvaluator metrics, computed as
 * org.apache.spark.mllib.evaluation.MulticlassMetrics does: weighted counts of
 * (label, prediction) pairs; `labels` are the distinct true labels; weighted
 * averages weight each true label by its share of the total weight. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "dlp/logreg.h"

struct dlp_multiclass_metrics {
    size_t label_count;
    double *labels;    /* distinct true labels, ascending */
    double *confusion; /* label_count x label_count: [true][predicted], weights */
    double *label_weight, *true_positive, *false_positive; /* per label */
    double total_weight, beta;
    double accuracy, weighted_precision, weighted_recall, weighted_false_positive_rate, weighted_f_measure, f1;
    double log_loss, hamming_loss;
};

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : (x > y ? 1 : 0);
}

/* Index of value among the sorted labels, or -1. */
static long find_label(const dlp_multiclass_metrics *m, double value)
{
    size_t low = 0, high = m->label_count;
    while (low < high) {
        size_t middle = low + (high - low) / 2;
        if (m->labels[middle] < value) low = middle + 1;
        else high = middle;
    }
    return low < m->label_count && m->labels[low] == value ? (long)low : -1;
}

static double precision_at(const dlp_multiclass_metrics *m, size_t i)
{
    double tp = m->true_positive[i], fp = m->false_positive[i];
    return tp + fp == 0 ? 0.0 : tp / (tp + fp);
}

static double recall_at(const dlp_multiclass_metrics *m, size_t i) { return m->true_positive[i] / m->label_weight[i]; }

static double f_measure_at(const dlp_multiclass_metrics *m, size_t i, double beta)
{
    double p = precision_at(m, i), r = recall_at(m, i), beta_squared = beta * beta;
    return p + r == 0 ? 0.0 : (1 + beta_squared) * p * r / (beta_squared * p + r);
}

static double false_positive_rate_at(const dlp_multiclass_metrics *m, size_t i)
{
    return m->false_positive[i] / (m->total_weight - m->label_weight[i]);
}

void dlp_multiclass_metrics_destroy(dlp_multiclass_metrics *metrics)
{
    if (!metrics) return;
    free(metrics->labels), free(metrics->confusion), free(metrics->label_weight), free(metrics->true_positive);
    free(metrics->false_positive);
    free(metrics);
}

dlp_status dlp_evaluate_multiclass(const double *labels, const double *predictions, const double *weights,
                                   size_t rows, const double *probabilities, size_t class_count, double beta,
                                   dlp_multiclass_metrics **metrics)
{
    *metrics = NULL;
    if (!labels || !predictions) return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "evaluate: labels or predictions NULL");
    if (rows == 0) return dlp_fail(DLP_ERR_DATA, "evaluate: no rows");
    if (!(beta >= 0) || isinf(beta)) return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "evaluate: beta %g, expected >= 0", beta);
    for (size_t i = 0; i < rows; i++) {
        if (isnan(labels[i]) || isnan(predictions[i]))
            return dlp_fail(DLP_ERR_DATA, "evaluate: row %zu: label %g, prediction %g (NaN)", i, labels[i],
                            predictions[i]);
        if (weights && (!(weights[i] >= 0) || isinf(weights[i])))
            return dlp_fail(DLP_ERR_DATA, "evaluate: row %zu: weight %g, expected a finite value >= 0", i, weights[i]);
        if (probabilities && (labels[i] < 0 || labels[i] != floor(labels[i]) || labels[i] >= (double)class_count))
            return dlp_fail(DLP_ERR_DATA, "evaluate: row %zu: label %g is not a class index 0..%zu of the "
                                          "probabilities (logLoss needs one)", i, labels[i],
                            class_count ? class_count - 1 : 0);
    }
    dlp_multiclass_metrics *m = calloc(1, sizeof *m);
    if (!m) return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "evaluate: no memory");
    m->beta = beta;
    m->labels = malloc(rows * sizeof *m->labels);
    if (!m->labels) goto no_memory;
    memcpy(m->labels, labels, rows * sizeof *labels);
    qsort(m->labels, rows, sizeof *m->labels, compare_doubles);
    size_t distinct = 0;
    for (size_t i = 0; i < rows; i++)
        if (distinct == 0 || m->labels[i] != m->labels[distinct - 1]) m->labels[distinct++] = m->labels[i];
    m->label_count = distinct;
    if (distinct > 65536) {
        dlp_multiclass_metrics_destroy(m);
        return dlp_fail(DLP_ERR_LIMIT, "evaluate: %zu distinct labels, at most 65536", distinct);
    }
    m->confusion = calloc(distinct * distinct, sizeof *m->confusion);
    m->label_weight = calloc(distinct, sizeof(double));
    m->true_positive = calloc(distinct, sizeof(double));
    m->false_positive = calloc(distinct, sizeof(double));
    if (!m->confusion || !m->label_weight || !m->true_positive || !m->false_positive) goto no_memory;

    /* confusions: ((label, prediction) -> weight); tpByClass and labelCountByClass over
     * true labels; fpByClass by prediction (a prediction that is never a true label
     * counts only towards hammingLoss). */
    double mismatched = 0.0, total = 0.0;
    for (size_t i = 0; i < rows; i++) {
        double w = weights ? weights[i] : 1.0;
        size_t t = (size_t)find_label(m, labels[i]);
        long p = find_label(m, predictions[i]);
        m->label_weight[t] += w;
        total += w;
        if (labels[i] == predictions[i]) {
            m->true_positive[t] += w;
        } else {
            mismatched += w;
            if (p >= 0) m->false_positive[p] += w;
        }
        if (p >= 0) m->confusion[t * distinct + (size_t)p] += w;
    }
    m->total_weight = total;
    m->accuracy = 0.0;
    for (size_t i = 0; i < distinct; i++) {
        double share = m->label_weight[i] / total;
        m->accuracy += m->true_positive[i];
        m->weighted_recall += recall_at(m, i) * share;
        m->weighted_precision += precision_at(m, i) * share;
        m->weighted_false_positive_rate += false_positive_rate_at(m, i) * share;
        m->weighted_f_measure += f_measure_at(m, i, beta) * share;
        m->f1 += f_measure_at(m, i, 1.0) * share;
    }
    m->accuracy /= total;
    m->hamming_loss = mismatched / total;
    m->log_loss = NAN;
    if (probabilities) {
        /* logLoss(eps = 1e-15): p clipped to [eps, 1 - eps], weighted mean of -log p_label. */
        const double eps = 1e-15, loss_low = -log(eps), loss_high = -log1p(-eps);
        double loss_sum = 0.0, weight_sum = 0.0;
        for (size_t i = 0; i < rows; i++) {
            double w = weights ? weights[i] : 1.0;
            double p = probabilities[i * class_count + (size_t)labels[i]];
            double loss = p < eps ? loss_low : (p > 1 - eps ? loss_high : -log(p));
            loss_sum += loss * w;
            weight_sum += w;
        }
        m->log_loss = loss_sum / weight_sum;
    }
    *metrics = m;
    return DLP_OK;
no_memory:
    dlp_multiclass_metrics_destroy(m);
    return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "evaluate: no memory for %zu rows", rows);
}

double dlp_metrics_f1(const dlp_multiclass_metrics *m) { return m->f1; }
double dlp_metrics_accuracy(const dlp_multiclass_metrics *m) { return m->accuracy; }
double dlp_metrics_weighted_precision(const dlp_multiclass_metrics *m) { return m->weighted_precision; }
double dlp_metrics_weighted_recall(const dlp_multiclass_metrics *m) { return m->weighted_recall; }
double dlp_metrics_weighted_true_positive_rate(const dlp_multiclass_metrics *m) { return m->weighted_recall; }
double dlp_metrics_weighted_false_positive_rate(const dlp_multiclass_metrics *m)
{
    return m->weighted_false_positive_rate;
}
double dlp_metrics_weighted_f_measure(const dlp_multiclass_metrics *m) { return m->weighted_f_measure; }
double dlp_metrics_log_loss(const dlp_multiclass_metrics *m) { return m->log_loss; }
double dlp_metrics_hamming_loss(const dlp_multiclass_metrics *m) { return m->hamming_loss; }
size_t dlp_metrics_label_count(const dlp_multiclass_metrics *m) { return m->label_count; }
const double *dlp_metrics_labels(const dlp_multiclass_metrics *m) { return m->labels; }
const double *dlp_metrics_confusion_matrix(const dlp_multiclass_metrics *m) { return m->confusion; }

double dlp_metrics_true_positive_rate(const dlp_multiclass_metrics *m, double label)
{
    return dlp_metrics_recall(m, label);
}

double dlp_metrics_false_positive_rate(const dlp_multiclass_metrics *m, double label)
{
    long i = find_label(m, label);
    return i < 0 ? NAN : false_positive_rate_at(m, (size_t)i);
}

double dlp_metrics_precision(const dlp_multiclass_metrics *m, double label)
{
    long i = find_label(m, label);
    return i < 0 ? NAN : precision_at(m, (size_t)i);
}

double dlp_metrics_recall(const dlp_multiclass_metrics *m, double label)
{
    long i = find_label(m, label);
    return i < 0 ? NAN : recall_at(m, (size_t)i);
}

double dlp_metrics_f_measure(const dlp_multiclass_metrics *m, double label)
{
    long i = find_label(m, label);
    return i < 0 ? NAN : f_measure_at(m, (size_t)i, m->beta);
}

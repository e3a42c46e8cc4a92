/* dlp/logreg.h: logistic regression and multiclass evaluation with the semantics
 * of Spark 3.5 MLlib (org.apache.spark.ml.classification.LogisticRegression and
 * org.apache.spark.ml.evaluation.MulticlassClassificationEvaluator). */
#ifndef DLP_LOGREG_H
#define DLP_LOGREG_H

#include "dlp/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Spark's `family`: auto is binomial for 1 or 2 classes, multinomial otherwise. */
enum { DLP_FAMILY_AUTO = 0, DLP_FAMILY_BINOMIAL = 1, DLP_FAMILY_MULTINOMIAL = 2 };
/* Where the objective (loss and gradient over the rows) is evaluated. */
enum { DLP_LOGREG_DEVICE_CPU = 0, DLP_LOGREG_DEVICE_CUDA = 1 };

typedef struct dlp_logreg_params {
    int max_iter;             /* Spark maxIter (100): optimizer iterations, not function evaluations */
    double reg_param;         /* Spark regParam (0): lambda */
    double elastic_net_param; /* Spark elasticNetParam (0): alpha, 0 = L2 ... 1 = L1 */
    double tol;               /* Spark tol (1e-6) */
    int fit_intercept;        /* Spark fitIntercept (1) */
    int standardization;      /* Spark standardization (1): penalty on coefficients of standardized features */
    int family;               /* DLP_FAMILY_* (auto) */
    int class_count;          /* 0: max label + 1 (as Spark without label metadata); else at least that */
    const double *thresholds; /* Spark thresholds, one per class, or NULL (binomial: threshold 0.5) */
    size_t threshold_count;
    int device;               /* DLP_LOGREG_DEVICE_* (cpu) */
    int cuda_device;          /* index when device is cuda (0) */
    int threads;              /* OpenMP threads for the CPU objective; 0 = OpenMP's default */
    /* Progress, or NULL: called on the calling thread with each objectiveHistory entry as the optimizer records it
     * (iteration 0: the starting point; then one per iteration up to max_iter; a failed line search that resets the
     * optimizer's memory repeats an iteration). */
    void (*progress)(void *context, size_t iteration, double objective);
    void *progress_context;
} dlp_logreg_params;

/* Spark's defaults: maxIter 100, regParam 0, elasticNetParam 0, tol 1e-6,
 * fitIntercept true, standardization true, family auto, cpu. */
void dlp_logreg_params_default(dlp_logreg_params *params);

typedef struct dlp_logreg_model dlp_logreg_model;

/* Fits on rows x cols float32 features (row-major) with labels in 0..K-1
 * (integers stored as double) and optional non-negative weights (NULL = 1).
 * Refuses: no rows or no columns, non-integer / negative / NaN labels (names the
 * row), NaN or infinite features (row and column), negative / NaN weights.
 * All labels equal with fit_intercept: as Spark, no training; coefficients 0 and
 * intercept +inf (binomial with 2 classes, or the multinomial constant class; the
 * other multinomial intercepts 0), -inf for a 1-class binomial. */
dlp_status dlp_logreg_fit(const dlp_logreg_params *params, const float *features, size_t rows, size_t cols,
                          const double *labels, const double *weights, dlp_logreg_model **model);

/* Rebuilds a model from saved numbers (as Spark's LogisticRegressionModel):
 * coefficients are coefficient_sets x cols row-major in the original feature
 * space, coefficient_sets = class_count when multinomial, else 1. */
dlp_status dlp_logreg_model_create(int multinomial, size_t class_count, size_t cols, const double *coefficients,
                                   const double *intercepts, dlp_logreg_model **model);
void dlp_logreg_model_destroy(dlp_logreg_model *model);

/* Sets Spark's `thresholds` on a model (count = class_count; NULL clears). */
dlp_status dlp_logreg_model_set_thresholds(dlp_logreg_model *model, const double *thresholds, size_t count);

size_t dlp_logreg_class_count(const dlp_logreg_model *model);  /* Spark numClasses */
size_t dlp_logreg_feature_count(const dlp_logreg_model *model);
int dlp_logreg_is_multinomial(const dlp_logreg_model *model);
/* Rows of coefficients: class_count when multinomial, else 1. */
size_t dlp_logreg_coefficient_sets(const dlp_logreg_model *model);
/* coefficient_sets x feature_count, row-major, original feature space. */
const double *dlp_logreg_coefficients(const dlp_logreg_model *model);
const double *dlp_logreg_intercepts(const dlp_logreg_model *model); /* coefficient_sets values */
/* Spark's summary.objectiveHistory: the initial objective, then one value per
 * iteration (a failed line search that resets the history repeats the value). */
const double *dlp_logreg_objective_history(const dlp_logreg_model *model, size_t *count);
size_t dlp_logreg_iterations(const dlp_logreg_model *model); /* Spark totalIterations = history - 1 */

/* Columns of raw and probability: class_count when multinomial, 2 when binomial
 * (Spark: rawPrediction = [-m, m], probability = [1 - p, p]). */
size_t dlp_logreg_output_columns(const dlp_logreg_model *model);

/* Per row: raw (rows x output_columns, margins), probability (softmax, or the
 * sigmoid for binomial), prediction (argmax, first on ties; binomial p > 0.5, or
 * Spark's thresholds rule). Any output may be NULL. */
dlp_status dlp_logreg_predict(const dlp_logreg_model *model, const float *features, size_t rows, size_t cols,
                              double *raw, double *probability, double *prediction);

/* The training objective of Spark at a point, for tests and tools: the data term
 * (1/sum w) sum w_i loss_i plus the L2 part, and its gradient, in Spark's
 * optimizer space (standardized, coefficients column-major feature x set, then the
 * intercepts). dimension = sets * cols (+ sets with fit_intercept). */
typedef struct dlp_logreg_problem dlp_logreg_problem;
dlp_status dlp_logreg_problem_create(const dlp_logreg_params *params, const float *features, size_t rows,
                                     size_t cols, const double *labels, const double *weights,
                                     dlp_logreg_problem **problem);
void dlp_logreg_problem_destroy(dlp_logreg_problem *problem);
size_t dlp_logreg_problem_dimension(const dlp_logreg_problem *problem);
/* Smooth part (data loss + L2) of the objective and its gradient at x. */
dlp_status dlp_logreg_problem_evaluate(dlp_logreg_problem *problem, const double *x, double *value,
                                       double *gradient);

/* ---- Features resident on a CUDA device: one upload, several fits ----
 * The feature matrix is the large input (100k x 2048 float32 = 800 MB); a
 * handle keeps it on the device so that a grid of fits (several regParams,
 * other labels or weights) reads it without copying it again. Each fit computes
 * its statistics (Spark's mean and std, which depend on the weights) and checks
 * the features finite on the device. A handle serves one fit at a time. */
typedef struct dlp_logreg_device_features dlp_logreg_device_features;

/* Copies rows x cols float32 features (row-major, host memory) to CUDA device
 * cuda_device. Pinned memory (cudaMallocHost / cudaHostRegister) is copied as
 * is; other memory goes through two pinned buffers in chunks, the host copy of
 * one chunk (on OpenMP threads) overlapping the transfer of the previous. */
dlp_status dlp_logreg_device_features_upload(int cuda_device, const float *features, size_t rows, size_t cols,
                                             dlp_logreg_device_features **out);
/* Uses rows x cols float32 features already on cuda_device (row-major, e.g.
 * the featurizer's output) without a copy; the caller keeps that memory alive
 * and unchanged until the handle is destroyed, and has finished writing it
 * (synchronized its stream) before each fit. */
dlp_status dlp_logreg_device_features_wrap(int cuda_device, const float *device_features, size_t rows, size_t cols,
                                           dlp_logreg_device_features **out);
void dlp_logreg_device_features_destroy(dlp_logreg_device_features *features);
/* The device pointer of the features (e.g. to wrap them in a second handle). */
const float *dlp_logreg_device_features_data(const dlp_logreg_device_features *features);

/* dlp_logreg_fit / dlp_logreg_problem_create on resident features (rows and
 * cols are the handle's; labels and weights are host arrays of rows values).
 * The objective runs on the features' device: params->device and cuda_device
 * are not used. Refusals as dlp_logreg_fit's; when a label or weight and a
 * feature are both bad, the label or weight is named (the features are checked
 * after them, on the device). */
dlp_status dlp_logreg_fit_device(const dlp_logreg_params *params, const dlp_logreg_device_features *features,
                                 const double *labels, const double *weights, dlp_logreg_model **model);
dlp_status dlp_logreg_problem_create_device(const dlp_logreg_params *params,
                                            const dlp_logreg_device_features *features, const double *labels,
                                            const double *weights, dlp_logreg_problem **problem);

/* What a problem standardizes with: Spark's summarizer mean and std of each
 * feature (cols values; computed on the device when the objective is cuda), and
 * the weighted label counts (class count values). For tests and tools. */
const double *dlp_logreg_problem_mean(const dlp_logreg_problem *problem);
const double *dlp_logreg_problem_std(const dlp_logreg_problem *problem);
const double *dlp_logreg_problem_label_counts(const dlp_logreg_problem *problem, size_t *class_count);

/* ---- Evaluation: Spark's MulticlassClassificationEvaluator / mllib MulticlassMetrics ---- */
typedef struct dlp_multiclass_metrics dlp_multiclass_metrics;

/* labels, predictions: any doubles (class values). weights NULL = 1 (must be >= 0).
 * probabilities: rows x class_count or NULL (then logLoss is NaN); for logLoss the
 * labels must be integers in 0..class_count-1. beta is Spark's `beta` for
 * weightedFMeasure / fMeasureByLabel (1 = F1). */
dlp_status dlp_evaluate_multiclass(const double *labels, const double *predictions, const double *weights,
                                   size_t rows, const double *probabilities, size_t class_count, double beta,
                                   dlp_multiclass_metrics **metrics);
void dlp_multiclass_metrics_destroy(dlp_multiclass_metrics *metrics);

double dlp_metrics_f1(const dlp_multiclass_metrics *m); /* Spark "f1": weightedFMeasure(beta = 1) */
double dlp_metrics_accuracy(const dlp_multiclass_metrics *m);
double dlp_metrics_weighted_precision(const dlp_multiclass_metrics *m);
double dlp_metrics_weighted_recall(const dlp_multiclass_metrics *m);
double dlp_metrics_weighted_true_positive_rate(const dlp_multiclass_metrics *m);
double dlp_metrics_weighted_false_positive_rate(const dlp_multiclass_metrics *m);
double dlp_metrics_weighted_f_measure(const dlp_multiclass_metrics *m); /* with the beta given */
double dlp_metrics_log_loss(const dlp_multiclass_metrics *m);           /* eps 1e-15 */
double dlp_metrics_hamming_loss(const dlp_multiclass_metrics *m);
/* Spark's `labels`: the distinct true labels, ascending (a class that is only
 * predicted is not one). */
size_t dlp_metrics_label_count(const dlp_multiclass_metrics *m);
const double *dlp_metrics_labels(const dlp_multiclass_metrics *m);
/* By label value (Spark's metricLabel); NaN when the label is not a true label. */
double dlp_metrics_true_positive_rate(const dlp_multiclass_metrics *m, double label);
double dlp_metrics_false_positive_rate(const dlp_multiclass_metrics *m, double label);
double dlp_metrics_precision(const dlp_multiclass_metrics *m, double label);
double dlp_metrics_recall(const dlp_multiclass_metrics *m, double label);
double dlp_metrics_f_measure(const dlp_multiclass_metrics *m, double label); /* with the beta given */
/* label_count x label_count, row-major: [i][j] = weight of true labels[i] predicted labels[j]. */
const double *dlp_metrics_confusion_matrix(const dlp_multiclass_metrics *m);

#ifdef __cplusplus
}
#endif
#endif

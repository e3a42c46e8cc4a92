/* logreg.c: Spark 3.5 LogisticRegression.train and LogisticRegressionModel's
 * transform, natively (mllib/src/main/scala/org/apache/spark/ml/classification/
 * LogisticRegression.scala): statistics, the constant-label shortcut, standardized
 * training with L-BFGS / OWL-QN, and the mapping back to the original space. */
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "dlp/logreg.h"
#include "ml/lbfgs.h"
#include "ml/logreg_objective.h"

struct dlp_logreg_model {
    int multinomial;
    size_t classes, cols, sets;
    double *coefficients; /* sets x cols, original space */
    double *intercepts;   /* sets */
    double *history;
    size_t history_count;
    double *thresholds; /* classes values or NULL */
};

void dlp_logreg_params_default(dlp_logreg_params *params)
{
    memset(params, 0, sizeof *params);
    params->max_iter = 100;
    params->reg_param = 0.0;
    params->elastic_net_param = 0.0;
    params->tol = 1e-6;
    params->fit_intercept = 1;
    params->standardization = 1;
    params->family = DLP_FAMILY_AUTO;
    params->device = DLP_LOGREG_DEVICE_CPU;
}

/* ---- input checks and Spark's summarizers ---- */

static dlp_status check_params(const dlp_logreg_params *p)
{
    if (p->max_iter < 0) return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "logistic regression: maxIter %d < 0", p->max_iter);
    if (!(p->reg_param >= 0) || isinf(p->reg_param))
        return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "logistic regression: regParam %g, expected a finite value >= 0",
                        p->reg_param);
    if (!(p->elastic_net_param >= 0 && p->elastic_net_param <= 1))
        return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "logistic regression: elasticNetParam %g, expected 0..1",
                        p->elastic_net_param);
    if (!(p->tol >= 0)) return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "logistic regression: tol %g < 0", p->tol);
    if (p->family < DLP_FAMILY_AUTO || p->family > DLP_FAMILY_MULTINOMIAL)
        return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "logistic regression: family %d, expected auto (0), binomial (1) "
                                                  "or multinomial (2)", p->family);
    if (p->device != DLP_LOGREG_DEVICE_CPU && p->device != DLP_LOGREG_DEVICE_CUDA)
        return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "logistic regression: device %d, expected cpu (0) or cuda (1)",
                        p->device);
    if (p->class_count < 0)
        return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "logistic regression: class_count %d < 0", p->class_count);
    return DLP_OK;
}

/* Labels must be integers >= 0 (Spark's MultiClassSummarizer counts the others as
 * invalid and train() refuses them); dlp names the first offending row. Returns
 * the number of classes: max label + 1 over rows of positive weight. features
 * NULL: they are checked elsewhere (on the device, by the statistics kernel). */
static dlp_status check_rows(const float *features, size_t rows, size_t cols, const double *labels,
                             const double *weights, size_t *classes, double *weight_sum)
{
    if (!labels) return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "logistic regression: labels NULL");
    if (rows == 0 || cols == 0)
        return dlp_fail(DLP_ERR_DATA, "logistic regression: empty input (%zu rows x %zu features)", rows, cols);
    if (cols > SIZE_MAX / rows / sizeof(double))
        return dlp_fail(DLP_ERR_LIMIT, "logistic regression: %zu x %zu features overflow size_t", rows, cols);
    double largest = -1.0, sum = 0.0;
    for (size_t i = 0; i < rows; i++) {
        double label = labels[i];
        if (isnan(label) || label < 0 || label != floor(label) || label > 1e7)
            return dlp_fail(DLP_ERR_DATA, "logistic regression: row %zu: label %g, expected an integer class index "
                                          "0, 1, 2, ...", i, label);
        double w = weights ? weights[i] : 1.0;
        if (!(w >= 0) || isinf(w))
            return dlp_fail(DLP_ERR_DATA, "logistic regression: row %zu: weight %g, expected a finite value >= 0", i, w);
        for (size_t j = 0; features && j < cols; j++)
            if (!isfinite(features[i * cols + j]))
                return dlp_fail(DLP_ERR_DATA, "logistic regression: row %zu, feature %zu: %g, expected a finite value",
                                i, j, (double)features[i * cols + j]);
        if (w > 0 && label > largest) largest = label;
        sum += w;
    }
    if (!(sum > 0)) return dlp_fail(DLP_ERR_DATA, "logistic regression: the weights sum to %g, expected > 0", sum);
    *classes = (size_t)largest + 1;
    *weight_sum = sum;
    return DLP_OK;
}

/* Summarizer "mean" and "std" over rows of positive weight: the weighted mean and
 * the unbiased weighted std sqrt(sum w (x - mean)^2 / (W - sum w^2 / W)), 0 when
 * that denominator is not positive (SummarizerBuffer.variance). A column whose
 * values are all equal has std exactly 0, as Spark's online update gives. */
enum { COLUMN_BLOCK = 256 }; /* one block's running sums stay in L1 */

/* Columns j0..j1-1 of the statistics. Rows are the outer loop so the matrix is
 * read in memory order (a column-at-a-time walk misses the cache on every
 * element: seconds at 100k x 2048); each column still sums its rows in row
 * order, so the result is the same to the bit. */
static void column_range_statistics(const float *features, size_t rows, size_t cols, const double *weights,
                                    double weight_sum, double denominator, size_t j0, size_t j1, double *mean,
                                    double *std)
{
    size_t width = j1 - j0;
    unsigned char varies[COLUMN_BLOCK]; /* indexed by column - j0 */
    double *total = std; /* std[j0..j1) holds the sums, then the squares */
    for (size_t j = j0; j < j1; j++) total[j] = 0.0, mean[j] = NAN, varies[j - j0] = 0;
    for (size_t i = 0; i < rows; i++) {
        double w = weights ? weights[i] : 1.0;
        if (!(w > 0)) continue;
        const float *row = features + i * cols + j0;
        for (size_t j = 0; j < width; j++) {
            double v = row[j];
            if (isnan(mean[j0 + j])) mean[j0 + j] = v; /* the first value, until the means are known */
            else if (v != mean[j0 + j]) varies[j] = 1;
            total[j0 + j] += w * v;
        }
    }
    for (size_t j = j0; j < j1; j++)
        if (varies[j - j0]) mean[j] = total[j] / weight_sum;
    for (size_t j = j0; j < j1; j++) std[j] = 0.0;
    if (!(denominator > 0)) return;
    for (size_t i = 0; i < rows; i++) {
        double w = weights ? weights[i] : 1.0;
        if (!(w > 0)) continue;
        const float *row = features + i * cols + j0;
        for (size_t j = 0; j < width; j++) {
            if (!varies[j]) continue;
            double delta = row[j] - mean[j0 + j];
            std[j0 + j] += w * delta * delta;
        }
    }
    for (size_t j = j0; j < j1; j++) std[j] = varies[j - j0] ? sqrt(fmax(std[j] / denominator, 0.0)) : 0.0;
}

/* W = sum w and the unbiased variance's denominator W - sum w^2 / W. */
static void weight_moments(const double *weights, size_t rows, double *weight_sum, double *denominator)
{
    double sum = 0.0, square_sum = 0.0;
    for (size_t i = 0; i < rows; i++) {
        double w = weights ? weights[i] : 1.0;
        sum += w, square_sum += w * w;
    }
    *weight_sum = sum;
    *denominator = sum - square_sum / sum;
}

static void feature_statistics(const float *features, size_t rows, size_t cols, const double *weights, int threads,
                               double *mean, double *std)
{
    double weight_sum, denominator;
    weight_moments(weights, rows, &weight_sum, &denominator);
    long blocks = (long)((cols + COLUMN_BLOCK - 1) / COLUMN_BLOCK);
#pragma omp parallel for schedule(dynamic) num_threads(threads > 0 ? threads : omp_get_max_threads())
    for (long b = 0; b < blocks; b++) {
        size_t j0 = (size_t)b * COLUMN_BLOCK, j1 = j0 + COLUMN_BLOCK < cols ? j0 + COLUMN_BLOCK : cols;
        column_range_statistics(features, rows, cols, weights, weight_sum, denominator, j0, j1, mean, std);
    }
}

/* ---- the smooth objective: data term (a backend) + Spark's L2Regularization ---- */

struct dlp_logreg_problem {
    dlp_logreg_objective *objective;
    size_t dimension, cols, sets;
    int multinomial, fit_intercept, fit_with_mean;
    size_t classes;
    double l2;          /* regParam * (1 - elasticNetParam) */
    double *l2_std;     /* cols, or NULL when standardization (penalty on standardized coefficients) */
    double *mean, *std, *inverse_std, *scaled_mean, *histogram, *weights;
    double weight_sum;
    dlp_logreg_device_features *uploaded; /* features this problem copied to the device, or NULL */
};

/* RDDLossFunction.calculate: the aggregator's loss and gradient, plus
 * L2Regularization over the coefficients (never the intercepts):
 * 0.5 * l2 * sum beta_j^2, or with standardization off sum beta_j^2 / std_j^2
 * (std 0: no penalty), the same objective as penalizing original-space coefficients. */
static dlp_status problem_function(void *context, const double *x, double *value, double *gradient)
{
    dlp_logreg_problem *p = context;
    double loss;
    DLP_TRY(p->objective->evaluate(p->objective, x, &loss, gradient));
    if (p->l2 != 0.0) {
        double sum = 0.0;
        size_t coefficient_count = p->cols * p->sets;
        for (size_t i = 0; i < coefficient_count; i++) {
            if (p->l2_std) {
                double s = p->l2_std[i / p->sets];
                if (s != 0.0) {
                    double scaled = x[i] / (s * s);
                    sum += x[i] * scaled;
                    gradient[i] += p->l2 * scaled;
                }
            } else {
                sum += x[i] * x[i];
                gradient[i] += x[i] * p->l2;
            }
        }
        loss += 0.5 * sum * p->l2;
    }
    *value = loss;
    return DLP_OK;
}

void dlp_logreg_problem_destroy(dlp_logreg_problem *problem)
{
    if (!problem) return;
    if (problem->objective) problem->objective->destroy(problem->objective);
    dlp_logreg_device_features_destroy(problem->uploaded); /* after the objective that reads them */
    free(problem->l2_std), free(problem->mean), free(problem->std), free(problem->inverse_std);
    free(problem->scaled_mean), free(problem->histogram), free(problem->weights);
    free(problem);
}

/* Statistics (on the device when the objective is there), standardization
 * and the objective. */
static dlp_status problem_setup(dlp_logreg_problem *p, const dlp_logreg_params *params, const float *features,
                               const dlp_logreg_device_features *device_features, size_t rows, const double *labels)
{
    size_t cols = p->cols, classes = p->classes;
    p->mean = malloc(cols * sizeof(double));
    p->std = malloc(cols * sizeof(double));
    p->inverse_std = malloc(cols * sizeof(double));
    p->scaled_mean = malloc(cols * sizeof(double));
    p->histogram = calloc(classes, sizeof(double));
    if (!p->mean || !p->std || !p->inverse_std || !p->scaled_mean || !p->histogram)
        return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "logistic regression: no memory");
    /* The label counts stay on the host: rows values, needed there (initial
     * intercepts, the constant-label case), and the labels are host input. */
    for (size_t i = 0; i < rows; i++)
        if (p->weights[i] > 0) p->histogram[(size_t)labels[i]] += p->weights[i];
    if (device_features) {
        double weight_sum, denominator;
        weight_moments(p->weights, rows, &weight_sum, &denominator);
        DLP_TRY(dlp_logreg_cuda_statistics(device_features, p->weights, weight_sum, denominator, p->mean, p->std));
    } else {
        feature_statistics(features, rows, cols, p->weights, params->threads, p->mean, p->std);
    }
    for (size_t j = 0; j < cols; j++) {
        p->inverse_std[j] = p->std[j] != 0 ? 1.0 / p->std[j] : 0.0;
        p->scaled_mean[j] = p->inverse_std[j] * p->mean[j];
    }
    if (p->l2 != 0.0 && !params->standardization) {
        p->l2_std = malloc(cols * sizeof(double));
        if (!p->l2_std) return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "logistic regression: no memory");
        memcpy(p->l2_std, p->std, cols * sizeof(double));
    }
    dlp_logreg_data data = {.features = features, .device_features = device_features, .rows = rows, .cols = cols,
                            .labels = labels, .weights = p->weights, .weight_sum = p->weight_sum,
                            .inverse_std = p->inverse_std, .scaled_mean = p->scaled_mean, .sets = p->sets,
                            .binomial = !p->multinomial, .fit_intercept = p->fit_intercept,
                            .fit_with_mean = p->fit_with_mean, .threads = params->threads,
                            .cuda_device = params->cuda_device};
    return device_features ? dlp_logreg_objective_cuda_create(&data, &p->objective)
                           : dlp_logreg_objective_cpu_create(&data, &p->objective);
}

/* One of features (host) or device_features. With host features and device
 * cuda, they are uploaded after the labels and weights pass their checks. */
static dlp_status problem_create(const dlp_logreg_params *params, const float *features,
                                 const dlp_logreg_device_features *device_features, size_t rows, size_t cols,
                                 const double *labels, const double *weights, dlp_logreg_problem **out)
{
    *out = NULL;
    if (!params) return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "logistic regression: params NULL");
    DLP_TRY(check_params(params));
    if (!features && !device_features) return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "logistic regression: features NULL");
    int on_device = device_features || params->device == DLP_LOGREG_DEVICE_CUDA;
    size_t classes = 0;
    double weight_sum = 0.0;
    DLP_TRY(check_rows(on_device ? NULL : features, rows, cols, labels, weights, &classes, &weight_sum));
    if (params->class_count > 0) {
        if ((size_t)params->class_count < classes)
            return dlp_fail(DLP_ERR_DATA, "logistic regression: class_count %d, but labels go up to %zu",
                            params->class_count, classes - 1);
        classes = (size_t)params->class_count;
    }
    /* checkMultinomial */
    int multinomial;
    if (params->family == DLP_FAMILY_BINOMIAL) {
        if (classes > 2)
            return dlp_fail(DLP_ERR_DATA, "logistic regression: binomial family supports 1 or 2 classes, found %zu",
                            classes);
        multinomial = 0;
    } else {
        multinomial = params->family == DLP_FAMILY_MULTINOMIAL || classes > 2;
    }
    if (params->thresholds && params->threshold_count != classes)
        return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "logistic regression: %zu thresholds for %zu classes",
                        params->threshold_count, classes);
    dlp_logreg_problem *p = calloc(1, sizeof *p);
    if (!p) return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "logistic regression: no memory");
    p->cols = cols, p->classes = classes, p->multinomial = multinomial;
    p->sets = multinomial ? classes : 1;
    p->fit_intercept = params->fit_intercept != 0;
    /* trainImpl: centre virtually iff fitIntercept (no bounds on intercepts in dlp). */
    p->fit_with_mean = p->fit_intercept;
    p->dimension = p->sets * cols + (p->fit_intercept ? p->sets : 0);
    p->weight_sum = weight_sum;
    p->l2 = (1.0 - params->elastic_net_param) * params->reg_param;
    p->weights = malloc(rows * sizeof(double));
    dlp_status status = p->weights ? DLP_OK : dlp_fail(DLP_ERR_OUT_OF_MEMORY, "logistic regression: no memory");
    for (size_t i = 0; status == DLP_OK && i < rows; i++) p->weights[i] = weights ? weights[i] : 1.0;
    if (status == DLP_OK && on_device && !device_features) {
        status = dlp_logreg_device_features_upload(params->cuda_device, features, rows, cols, &p->uploaded);
        device_features = p->uploaded;
    }
    if (status == DLP_OK) status = problem_setup(p, params, on_device ? NULL : features, device_features, rows, labels);
    if (status != DLP_OK) {
        dlp_logreg_problem_destroy(p);
        return status;
    }
    *out = p;
    return DLP_OK;
}

dlp_status dlp_logreg_problem_create(const dlp_logreg_params *params, const float *features, size_t rows,
                                     size_t cols, const double *labels, const double *weights,
                                     dlp_logreg_problem **out)
{
    return problem_create(params, features, NULL, rows, cols, labels, weights, out);
}

dlp_status dlp_logreg_problem_create_device(const dlp_logreg_params *params,
                                            const dlp_logreg_device_features *features, const double *labels,
                                            const double *weights, dlp_logreg_problem **out)
{
    *out = NULL;
    if (!features) return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "logistic regression: device features NULL");
    return problem_create(params, NULL, features, dlp_logreg_device_features_rows(features),
                          dlp_logreg_device_features_cols(features), labels, weights, out);
}

const double *dlp_logreg_problem_mean(const dlp_logreg_problem *problem) { return problem->mean; }
const double *dlp_logreg_problem_std(const dlp_logreg_problem *problem) { return problem->std; }
const double *dlp_logreg_problem_label_counts(const dlp_logreg_problem *problem, size_t *class_count)
{
    if (class_count) *class_count = problem->classes;
    return problem->histogram;
}

size_t dlp_logreg_problem_dimension(const dlp_logreg_problem *problem) { return problem->dimension; }

dlp_status dlp_logreg_problem_evaluate(dlp_logreg_problem *problem, const double *x, double *value, double *gradient)
{
    return problem_function(problem, x, value, gradient);
}

/* ---- the model ---- */

static dlp_status model_alloc(int multinomial, size_t classes, size_t cols, dlp_logreg_model **out)
{
    *out = NULL;
    size_t sets = multinomial ? classes : 1;
    if (classes == 0 || cols == 0 || sets > SIZE_MAX / sizeof(double) / cols)
        return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "logistic regression model: %zu classes x %zu features", classes,
                        cols);
    dlp_logreg_model *m = calloc(1, sizeof *m);
    if (!m) return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "logistic regression model: no memory");
    m->multinomial = multinomial, m->classes = classes, m->cols = cols, m->sets = sets;
    m->coefficients = calloc(sets * cols, sizeof(double));
    m->intercepts = calloc(sets, sizeof(double));
    if (!m->coefficients || !m->intercepts) {
        dlp_logreg_model_destroy(m);
        return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "logistic regression model: no memory");
    }
    *out = m;
    return DLP_OK;
}

void dlp_logreg_model_destroy(dlp_logreg_model *model)
{
    if (!model) return;
    free(model->coefficients), free(model->intercepts), free(model->history), free(model->thresholds);
    free(model);
}

dlp_status dlp_logreg_model_create(int multinomial, size_t class_count, size_t cols, const double *coefficients,
                                   const double *intercepts, dlp_logreg_model **model)
{
    if (!multinomial && class_count > 2)
        return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "logistic regression model: binomial with %zu classes", class_count);
    DLP_TRY(model_alloc(multinomial, class_count, cols, model));
    dlp_logreg_model *m = *model;
    if (coefficients) memcpy(m->coefficients, coefficients, m->sets * cols * sizeof(double));
    if (intercepts) memcpy(m->intercepts, intercepts, m->sets * sizeof(double));
    return DLP_OK;
}

dlp_status dlp_logreg_model_set_thresholds(dlp_logreg_model *model, const double *thresholds, size_t count)
{
    free(model->thresholds);
    model->thresholds = NULL;
    if (!thresholds) return DLP_OK;
    if (count != model->classes)
        return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "logistic regression: %zu thresholds for %zu classes", count,
                        model->classes);
    size_t zeros = 0;
    for (size_t i = 0; i < count; i++) {
        if (!(thresholds[i] >= 0))
            return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "logistic regression: threshold %zu is %g, expected >= 0", i,
                            thresholds[i]);
        zeros += thresholds[i] == 0;
    }
    /* Spark's thresholds param validator: all >= 0 and at most one 0. */
    if (zeros > 1) return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "logistic regression: at most one threshold may be 0");
    model->thresholds = malloc(count * sizeof(double));
    if (!model->thresholds) return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "logistic regression: no memory");
    memcpy(model->thresholds, thresholds, count * sizeof(double));
    return DLP_OK;
}

size_t dlp_logreg_class_count(const dlp_logreg_model *model) { return model->classes; }
size_t dlp_logreg_feature_count(const dlp_logreg_model *model) { return model->cols; }
int dlp_logreg_is_multinomial(const dlp_logreg_model *model) { return model->multinomial; }
size_t dlp_logreg_coefficient_sets(const dlp_logreg_model *model) { return model->sets; }
const double *dlp_logreg_coefficients(const dlp_logreg_model *model) { return model->coefficients; }
const double *dlp_logreg_intercepts(const dlp_logreg_model *model) { return model->intercepts; }
size_t dlp_logreg_output_columns(const dlp_logreg_model *model) { return model->multinomial ? model->classes : 2; }

const double *dlp_logreg_objective_history(const dlp_logreg_model *model, size_t *count)
{
    if (count) *count = model->history_count;
    return model->history;
}

size_t dlp_logreg_iterations(const dlp_logreg_model *model)
{
    return model->history_count > 0 ? model->history_count - 1 : 0;
}

/* ---- fit ---- */

/* createInitialSolution: zeros; multinomial intercepts log1p(count_k) centred,
 * binomial intercept log(count_1 / count_0) (weighted counts). */
static void initial_solution(const dlp_logreg_problem *p, double *x)
{
    size_t d = p->cols, k_count = p->sets;
    memset(x, 0, p->dimension * sizeof *x);
    if (!p->fit_intercept) return;
    if (p->multinomial) {
        double mean = 0.0;
        for (size_t k = 0; k < k_count; k++) mean += log1p(p->histogram[k]);
        mean /= (double)k_count;
        for (size_t k = 0; k < k_count; k++) x[d * k_count + k] = log1p(p->histogram[k]) - mean;
    } else {
        x[d] = log(p->histogram[1] / p->histogram[0]);
    }
    /* trainImpl with fitWithMean: intercept += coefficients . scaled_mean (0 here, coefficients start at 0). */
}

static dlp_status constant_label_model(const dlp_logreg_problem *p, dlp_logreg_model **model)
{
    /* train(): "All labels are the same value and fitIntercept=true, so the
     * coefficients will be zeros. Training is not needed." objectiveHistory = [0]. */
    DLP_TRY(model_alloc(p->multinomial, p->classes, p->cols, model));
    dlp_logreg_model *m = *model;
    size_t constant = 0;
    for (size_t k = 1; k < p->classes; k++)
        if (p->histogram[k] > p->histogram[constant]) constant = k;
    if (p->multinomial) m->intercepts[constant] = INFINITY;
    else m->intercepts[0] = p->classes == 2 ? INFINITY : -INFINITY;
    m->history = calloc(1, sizeof(double));
    if (!m->history) {
        dlp_logreg_model_destroy(m);
        *model = NULL;
        return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "logistic regression: no memory");
    }
    m->history_count = 1;
    return DLP_OK;
}

/* train() from the problem on: the optimizer and the model; destroys p. */
static dlp_status fit_problem(const dlp_logreg_params *params, dlp_logreg_problem *p, dlp_logreg_model **model)
{
    size_t cols = p->cols;
    dlp_status status = DLP_OK;
    double *x = NULL, *l1 = NULL, *history = NULL;
    size_t history_count = 0;
    size_t nonzero_classes = 0;
    for (size_t k = 0; k < p->classes; k++) nonzero_classes += p->histogram[k] != 0.0;
    if (p->fit_intercept && nonzero_classes == 1) {
        status = constant_label_model(p, model);
        goto done;
    }
    size_t d = cols, k_count = p->sets;
    x = malloc(p->dimension * sizeof *x);
    if (!x) {
        status = dlp_fail(DLP_ERR_OUT_OF_MEMORY, "logistic regression: no memory");
        goto done;
    }
    initial_solution(p, x);
    /* createOptimizer: LBFGS(maxIter, 10, tol) without L1, else OWLQN(maxIter, 10,
     * regParamL1Fun, tol): L1 weight regParam * alpha per coefficient, 0 on the
     * intercepts, and regParamL1 / std_j without standardization (0 when std is 0). */
    double l1_weight = params->elastic_net_param * params->reg_param;
    if (params->elastic_net_param != 0.0 && params->reg_param != 0.0) {
        l1 = calloc(p->dimension, sizeof *l1);
        if (!l1) {
            status = dlp_fail(DLP_ERR_OUT_OF_MEMORY, "logistic regression: no memory");
            goto done;
        }
        for (size_t i = 0; i < d * k_count; i++) {
            size_t j = i / k_count;
            l1[i] = params->standardization ? l1_weight : (p->std[j] != 0.0 ? l1_weight / p->std[j] : 0.0);
        }
    }
    dlp_minimize_options options = {.max_iter = params->max_iter, .memory = 10, .tolerance = params->tol, .l1 = l1,
                                    .on_state = params->progress, .on_state_context = params->progress_context};
    status = dlp_minimize(problem_function, p, p->dimension, x, &options, &history, &history_count);
    if (status != DLP_OK) goto done;
    /* trainImpl: undo the virtual centring, intercept -= coefficients . scaled_mean. */
    if (p->fit_with_mean)
        for (size_t k = 0; k < k_count; k++) {
            double adapt = 0.0;
            for (size_t j = 0; j < d; j++) adapt += x[j * k_count + k] * p->scaled_mean[j];
            x[d * k_count + k] -= adapt;
        }
    status = model_alloc(p->multinomial, p->classes, cols, model);
    if (status != DLP_OK) goto done;
    dlp_logreg_model *m = *model;
    /* Back to the original space: coefficient / std (0 where std is 0); intercepts unchanged. */
    for (size_t k = 0; k < k_count; k++) {
        for (size_t j = 0; j < d; j++)
            m->coefficients[k * d + j] = p->std[j] != 0.0 ? x[j * k_count + k] / p->std[j] : 0.0;
        if (p->fit_intercept) m->intercepts[k] = x[d * k_count + k];
    }
    if (p->multinomial && params->reg_param == 0.0) {
        /* No regularization: multinomial coefficients are not identifiable; Spark
         * (after glmnet) returns them centred across classes, per feature. */
        for (size_t j = 0; j < d; j++) {
            double centre = 0.0;
            for (size_t k = 0; k < k_count; k++) centre += m->coefficients[k * d + j];
            centre /= (double)k_count;
            for (size_t k = 0; k < k_count; k++) m->coefficients[k * d + j] -= centre;
        }
    }
    if (p->multinomial && p->fit_intercept) {
        /* "center the intercepts when using multinomial algorithm" */
        double centre = 0.0;
        for (size_t k = 0; k < k_count; k++) centre += m->intercepts[k];
        centre /= (double)k_count;
        for (size_t k = 0; k < k_count; k++) m->intercepts[k] -= centre;
    }
    m->history = history, m->history_count = history_count;
    history = NULL;
    if (params->thresholds) {
        status = dlp_logreg_model_set_thresholds(m, params->thresholds, params->threshold_count);
        if (status != DLP_OK) {
            dlp_logreg_model_destroy(m);
            *model = NULL;
        }
    }
done:
    free(x), free(l1), free(history);
    dlp_logreg_problem_destroy(p);
    return status;
}

dlp_status dlp_logreg_fit(const dlp_logreg_params *params, const float *features, size_t rows, size_t cols,
                          const double *labels, const double *weights, dlp_logreg_model **model)
{
    *model = NULL;
    dlp_logreg_problem *p;
    DLP_TRY(dlp_logreg_problem_create(params, features, rows, cols, labels, weights, &p));
    return fit_problem(params, p, model);
}

dlp_status dlp_logreg_fit_device(const dlp_logreg_params *params, const dlp_logreg_device_features *features,
                                 const double *labels, const double *weights, dlp_logreg_model **model)
{
    *model = NULL;
    dlp_logreg_problem *p;
    DLP_TRY(dlp_logreg_problem_create_device(params, features, labels, weights, &p));
    return fit_problem(params, p, model);
}

/* ---- predict: LogisticRegressionModel.transform ---- */

/* Spark's Utils.softmax, including its handling of +inf margins. */
static void softmax(const double *margins, size_t k_count, double *out)
{
    double largest = -INFINITY;
    for (size_t k = 0; k < k_count; k++)
        if (margins[k] > largest) largest = margins[k];
    if (isinf(largest) && largest > 0) {
        size_t count = 0;
        for (size_t k = 0; k < k_count; k++) count += isinf(margins[k]) && margins[k] > 0;
        for (size_t k = 0; k < k_count; k++) out[k] = isinf(margins[k]) && margins[k] > 0 ? 1.0 / (double)count : 0.0;
        return;
    }
    double sum = 0.0;
    for (size_t k = 0; k < k_count; k++) {
        out[k] = exp(margins[k] - largest);
        sum += out[k];
    }
    for (size_t k = 0; k < k_count; k++) out[k] /= sum;
}

/* ProbabilisticClassificationModel.probability2prediction: argmax (first on ties),
 * or with thresholds argmax of p_k / t_k. */
static double probability_to_prediction(const dlp_logreg_model *m, const double *probability)
{
    if (!m->multinomial) {
        /* Binary: p1 > threshold, threshold 0.5 or 1 / (1 + t0 / t1) from thresholds. */
        double threshold = m->thresholds && m->classes == 2 ? 1.0 / (1.0 + m->thresholds[0] / m->thresholds[1]) : 0.5;
        return probability[1] > threshold ? 1.0 : 0.0;
    }
    size_t best = 0;
    double best_value = -INFINITY;
    for (size_t k = 0; k < m->classes; k++) {
        double value = m->thresholds ? probability[k] / m->thresholds[k] : probability[k];
        if (k == 0 && !m->thresholds) best_value = value;
        if (value > best_value) best_value = value, best = k;
    }
    return (double)best;
}

dlp_status dlp_logreg_predict(const dlp_logreg_model *m, const float *features, size_t rows, size_t cols,
                              double *raw, double *probability, double *prediction)
{
    if (!m || (!features && rows > 0))
        return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "logistic regression predict: model or features NULL");
    if (cols != m->cols)
        return dlp_fail(DLP_ERR_DATA, "logistic regression predict: %zu features per row, the model has %zu", cols,
                        m->cols);
    size_t out_cols = dlp_logreg_output_columns(m);
    dlp_status status = DLP_OK;
#pragma omp parallel for schedule(static)
    for (long r = 0; r < (long)rows; r++) {
        size_t i = (size_t)r;
        double margins[m->multinomial ? m->sets : 2], probs[m->multinomial ? m->sets : 2];
        const float *x = features + i * cols;
        for (size_t k = 0; k < m->sets; k++) {
            double dot = 0.0;
            const double *w = m->coefficients + k * cols;
            for (size_t j = 0; j < cols; j++) dot += (double)x[j] * w[j];
            margins[k] = dot + m->intercepts[k];
        }
        if (!m->multinomial) {
            double margin = margins[0];
            margins[0] = -margin, margins[1] = margin;
            probs[0] = 1.0 / (1.0 + exp(-margins[0])); /* raw2probabilityInPlace */
            probs[1] = 1.0 - probs[0];
        } else {
            softmax(margins, m->sets, probs);
        }
        if (raw) memcpy(raw + i * out_cols, margins, out_cols * sizeof(double));
        if (probability) memcpy(probability + i * out_cols, probs, out_cols * sizeof(double));
        if (prediction) prediction[i] = probability_to_prediction(m, probs);
    }
    return status;
}

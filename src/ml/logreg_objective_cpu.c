/* logreg_objective_cpu.c: the data term of Spark's logistic loss on the CPU
 * (OpenBLAS dgemm for margins and gradient, OpenMP over row blocks), in double
 * as Spark computes it; the reference the CUDA backend is checked against. */
#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "ml/logreg_objective.h"

/* Rows per block of the per-row loop: partial sums are added in block order, so
 * the result does not depend on the number of threads. */
#define BLOCK_ROWS 256

typedef struct cpu_objective {
    dlp_logreg_objective base;
    size_t rows, cols, sets, blocks;
    int binomial, fit_intercept, fit_with_mean, threads;
    double weight_sum;
    double *scaled;     /* rows x cols: x * inverse_std (Spark's scaled instances) */
    double *labels, *weights, *scaled_mean;
    double *margins;    /* rows x sets, then the multipliers */
    double *offset;     /* sets */
    double *block_loss; /* blocks */
    double *block_multiplier_sum; /* blocks x sets */
} cpu_objective;

/* Spark's Utils.log1pExp: log(1 + exp(x)) without overflow. */
static double log1p_exp(double x) { return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x)); }

/* One block of rows: margins -> multipliers in place (BinaryLogisticBlockAggregator /
 * MultinomialLogisticBlockAggregator.add), the block's loss and multiplier sums. */
static void block_loss(const cpu_objective *o, size_t block)
{
    size_t begin = block * BLOCK_ROWS, end = begin + BLOCK_ROWS < o->rows ? begin + BLOCK_ROWS : o->rows;
    size_t k_count = o->sets;
    double loss = 0.0, *multiplier_sum = o->block_multiplier_sum + block * k_count;
    memset(multiplier_sum, 0, k_count * sizeof *multiplier_sum);
    for (size_t i = begin; i < end; i++) {
        double weight = o->weights[i], *row = o->margins + i * k_count;
        if (!(weight > 0)) {
            memset(row, 0, k_count * sizeof *row);
            continue;
        }
        double label = o->labels[i];
        if (o->binomial) {
            double margin = row[0];
            loss += weight * (label > 0 ? log1p_exp(-margin) : log1p_exp(-margin) + margin);
            double multiplier = weight * (1.0 / (1.0 + exp(-margin)) - label);
            row[0] = multiplier;
            multiplier_sum[0] += multiplier;
            continue;
        }
        /* Utils.softmax: exp(m - max) / sum; loss = -log p_label, computed as
         * log(sum) - (m_label - max) so that it stays finite. */
        double largest = row[0];
        for (size_t k = 1; k < k_count; k++)
            if (row[k] > largest) largest = row[k];
        size_t y = (size_t)label;
        double shifted_label = row[y] - largest, sum = 0.0;
        for (size_t k = 0; k < k_count; k++) {
            row[k] = exp(row[k] - largest);
            sum += row[k];
        }
        for (size_t k = 0; k < k_count; k++) {
            double multiplier = weight * (row[k] / sum - (k == y ? 1.0 : 0.0));
            row[k] = multiplier;
            multiplier_sum[k] += multiplier;
        }
        loss += weight * (log(sum) - shifted_label);
    }
    o->block_loss[block] = loss;
}

static dlp_status cpu_evaluate(dlp_logreg_objective *self, const double *x, double *loss, double *gradient)
{
    cpu_objective *o = (cpu_objective *)self;
    size_t n = o->rows, d = o->cols, k_count = o->sets;
    const double *coefficients = x; /* d x sets, row-major (Spark's column-major sets x d) */
    /* Margin offset: the intercepts, minus coefficients . scaled_mean when centring virtually. */
    for (size_t k = 0; k < k_count; k++) {
        double offset = o->fit_intercept ? x[d * k_count + k] : 0.0;
        if (o->fit_with_mean)
            for (size_t j = 0; j < d; j++) offset -= coefficients[j * k_count + k] * o->scaled_mean[j];
        o->offset[k] = offset;
    }
    for (size_t i = 0; i < n; i++) memcpy(o->margins + i * k_count, o->offset, k_count * sizeof *o->offset);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)k_count, (int)d, 1.0, o->scaled, (int)d,
                coefficients, (int)k_count, 1.0, o->margins, (int)k_count);

    long blocks = (long)o->blocks;
    int threads = o->threads > 0 ? o->threads : omp_get_max_threads();
#pragma omp parallel for schedule(static) num_threads(threads)
    for (long b = 0; b < blocks; b++) block_loss(o, (size_t)b);

    double loss_sum = 0.0;
    double *multiplier_sum = o->offset; /* reused: sets values */
    memset(multiplier_sum, 0, k_count * sizeof *multiplier_sum);
    for (size_t b = 0; b < o->blocks; b++) {
        loss_sum += o->block_loss[b];
        for (size_t k = 0; k < k_count; k++) multiplier_sum[k] += o->block_multiplier_sum[b * k_count + k];
    }
    /* gradient[j * sets + k] = sum_i scaled[i][j] * multiplier[i][k] */
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)d, (int)k_count, (int)n, 1.0, o->scaled, (int)d,
                o->margins, (int)k_count, 0.0, gradient, (int)k_count);
    if (o->fit_with_mean)
        for (size_t j = 0; j < d; j++)
            for (size_t k = 0; k < k_count; k++) gradient[j * k_count + k] -= o->scaled_mean[j] * multiplier_sum[k];
    if (o->fit_intercept)
        for (size_t k = 0; k < k_count; k++) gradient[d * k_count + k] = multiplier_sum[k];
    /* RDDLossFunction / DifferentiableLossAggregator: loss and gradient divided by weightSum. */
    size_t dimension = d * k_count + (o->fit_intercept ? k_count : 0);
    for (size_t i = 0; i < dimension; i++) gradient[i] /= o->weight_sum;
    *loss = loss_sum / o->weight_sum;
    return DLP_OK;
}

static void cpu_destroy(dlp_logreg_objective *self)
{
    cpu_objective *o = (cpu_objective *)self;
    if (!o) return;
    free(o->scaled), free(o->labels), free(o->weights), free(o->scaled_mean), free(o->margins), free(o->offset);
    free(o->block_loss), free(o->block_multiplier_sum);
    free(o);
}

dlp_status dlp_logreg_objective_cpu_create(const dlp_logreg_data *data, dlp_logreg_objective **objective)
{
    *objective = NULL;
    size_t n = data->rows, d = data->cols, k_count = data->sets;
    if (n > (size_t)INT32_MAX || d > (size_t)INT32_MAX || n * d / (d ? d : 1) != n || n > SIZE_MAX / 8 / (d ? d : 1))
        return dlp_fail(DLP_ERR_LIMIT, "logistic regression: %zu x %zu features exceed the CPU backend's limits", n, d);
    cpu_objective *o = calloc(1, sizeof *o);
    if (!o) return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "logistic regression: no memory");
    o->base.evaluate = cpu_evaluate;
    o->base.destroy = cpu_destroy;
    o->rows = n, o->cols = d, o->sets = k_count, o->blocks = (n + BLOCK_ROWS - 1) / BLOCK_ROWS;
    o->binomial = data->binomial, o->fit_intercept = data->fit_intercept, o->fit_with_mean = data->fit_with_mean;
    o->threads = data->threads, o->weight_sum = data->weight_sum;
    o->scaled = malloc(n * d * sizeof *o->scaled);
    o->labels = malloc(n * sizeof *o->labels);
    o->weights = malloc(n * sizeof *o->weights);
    o->scaled_mean = malloc(d * sizeof *o->scaled_mean);
    o->margins = malloc(n * k_count * sizeof *o->margins);
    o->offset = malloc(k_count * sizeof *o->offset);
    o->block_loss = malloc(o->blocks * sizeof *o->block_loss);
    o->block_multiplier_sum = malloc(o->blocks * k_count * sizeof *o->block_multiplier_sum);
    if (!o->scaled || !o->labels || !o->weights || !o->scaled_mean || !o->margins || !o->offset || !o->block_loss ||
        !o->block_multiplier_sum) {
        cpu_destroy(&o->base);
        return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "logistic regression: no memory for %zu x %zu scaled features", n, d);
    }
    /* StandardScalerModel.getTransformFunc(withMean = false, withStd = true): x * (1 / std). */
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++) o->scaled[i * d + j] = (double)data->features[i * d + j] * data->inverse_std[j];
    memcpy(o->labels, data->labels, n * sizeof *o->labels);
    memcpy(o->weights, data->weights, n * sizeof *o->weights);
    memcpy(o->scaled_mean, data->scaled_mean, d * sizeof *o->scaled_mean);
    *objective = &o->base;
    return DLP_OK;
}

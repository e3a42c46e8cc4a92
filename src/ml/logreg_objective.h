/* logreg_objective.h: the data term of Spark's logistic-regression objective
 * behind one interface, evaluated by the CPU (OpenBLAS + OpenMP) or CUDA backend. */
#ifndef DLP_SRC_ML_LOGREG_OBJECTIVE_H
#define DLP_SRC_ML_LOGREG_OBJECTIVE_H

#include <stddef.h>

#include "dlp/core.h"

/* The training rows as Spark's trainImpl sees them (LogisticRegression.scala):
 * features are multiplied by inverse_std (0 where the std is 0) and, with
 * fit_with_mean, centred "virtually" by scaled_mean = mean * inverse_std
 * (MultinomialLogisticBlockAggregator / BinaryLogisticBlockAggregator). The
 * parameter vector is Spark's: coefficient of feature j for set k at j*sets + k,
 * then the sets intercepts when fit_intercept. */
typedef struct dlp_logreg_data {
    const float *features; /* rows x cols, original space, row-major */
    size_t rows, cols;
    const double *labels;      /* integers 0..classes-1 */
    const double *weights;     /* never NULL here */
    double weight_sum;         /* sum of all weights (Spark's weightSum) */
    const double *inverse_std; /* cols */
    const double *scaled_mean; /* cols */
    size_t sets;               /* classes (multinomial) or 1 (binomial) */
    int binomial;
    int fit_intercept;
    int fit_with_mean;
    int threads;
    int cuda_device;
} dlp_logreg_data;

/* evaluate: loss = (1/weight_sum) sum_i w_i loss_i and its gradient (dimension
 * values), without regularization. The backend keeps its own copy of the rows. */
typedef struct dlp_logreg_objective dlp_logreg_objective;
struct dlp_logreg_objective {
    dlp_status (*evaluate)(dlp_logreg_objective *self, const double *x, double *loss, double *gradient);
    void (*destroy)(dlp_logreg_objective *self);
};

static inline size_t dlp_logreg_data_dimension(const dlp_logreg_data *data)
{
    return data->sets * data->cols + (data->fit_intercept ? data->sets : 0);
}

dlp_status dlp_logreg_objective_cpu_create(const dlp_logreg_data *data, dlp_logreg_objective **objective);
/* Fails with DLP_ERR_DEVICE when built without CUDA or no device is usable. */
dlp_status dlp_logreg_objective_cuda_create(const dlp_logreg_data *data, dlp_logreg_objective **objective);

#endif

/* logreg_objective.h: the data term of Spark's logistic-regression objective
 * behind one interface, evaluated by the CPU (OpenBLAS + OpenMP) or CUDA backend. */
#ifndef DLP_SRC_ML_LOGREG_OBJECTIVE_H
#define DLP_SRC_ML_LOGREG_OBJECTIVE_H

#include <stddef.h>

#include "dlp/core.h"
#include "dlp/logreg.h"

/* The training rows as Spark's trainImpl sees them (LogisticRegression.scala):
 * features are multiplied by inverse_std (0 where the std is 0) and, with
 * fit_with_mean, centred "virtually" by scaled_mean = mean * inverse_std
 * (MultinomialLogisticBlockAggregator / BinaryLogisticBlockAggregator). The
 * parameter vector is Spark's: coefficient of feature j for set k at j*sets + k,
 * then the sets intercepts when fit_intercept. */
typedef struct dlp_logreg_data {
    const float *features; /* rows x cols, original space, row-major (host; the CPU objective) */
    const dlp_logreg_device_features *device_features; /* the same on a device (the CUDA objective) */
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
/* On data->device_features, which must outlive the objective. Fails with
 * DLP_ERR_DEVICE when built without CUDA or no device is usable. */
dlp_status dlp_logreg_objective_cuda_create(const dlp_logreg_data *data, dlp_logreg_objective **objective);

/* Spark's mean and std of each feature (logreg.c's feature_statistics) computed
 * on the features' device, in the order of src/ml/logreg_statistics.h, into
 * host arrays of cols values; weight_sum and denominator as feature_statistics
 * derives them. A value that is not finite is refused naming its row and column. */
dlp_status dlp_logreg_cuda_statistics(const dlp_logreg_device_features *features, const double *weights,
                                      double weight_sum, double denominator, double *mean, double *std);
size_t dlp_logreg_device_features_rows(const dlp_logreg_device_features *features);
size_t dlp_logreg_device_features_cols(const dlp_logreg_device_features *features);

#endif

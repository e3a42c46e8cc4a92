/* logreg_device_space.h: the host side of the CUDA objective's change of
 * space (src/backend/cuda/logreg_cuda.c). The device multiplies the features
 * as given, not Spark's standardized x * inverse_std, so a resident matrix
 * serves every fit: the point's coefficients are scaled by inverse_std before
 * the margins GEMM, and the raw gradient x^T m after it; the virtual centring
 * (fitWithMean) stays in the margin offsets and the intercept gradient, as in
 * logreg_objective_cpu.c. Plain C, so unit.logreg_device_space checks it on the
 * CPU against the CPU objective. */
#ifndef DLP_SRC_ML_LOGREG_DEVICE_SPACE_H
#define DLP_SRC_ML_LOGREG_DEVICE_SPACE_H

#include <stddef.h>

typedef struct dlp_logreg_space {
    size_t cols, sets;
    int fit_intercept, fit_with_mean;
    const double *inverse_std, *scaled_mean; /* cols */
    double weight_sum;
} dlp_logreg_space;

/* x (Spark's optimizer space: coefficient j of set k at j * sets + k, then the
 * intercepts) -> offset[k] (added to every margin of set k) and coefficients
 * (cols x sets, fp32, for the features in their original space). */
static inline void dlp_logreg_space_pack(const dlp_logreg_space *s, const double *x, double *offset,
                                         float *coefficients)
{
    size_t d = s->cols, k_count = s->sets;
    for (size_t k = 0; k < k_count; k++) {
        double value = s->fit_intercept ? x[d * k_count + k] : 0.0;
        if (s->fit_with_mean)
            for (size_t j = 0; j < d; j++) value -= x[j * k_count + k] * s->scaled_mean[j];
        offset[k] = value;
    }
    for (size_t j = 0; j < d; j++)
        for (size_t k = 0; k < k_count; k++)
            coefficients[j * k_count + k] = (float)(x[j * k_count + k] * s->inverse_std[j]);
}

/* sums = (sum w loss, then the multiplier sum of each set) and raw_gradient =
 * x^T multipliers (cols x sets, original space) -> Spark's loss and gradient,
 * divided by the weight sum. */
static inline void dlp_logreg_space_unpack(const dlp_logreg_space *s, const double *sums, const double *raw_gradient,
                                           double *loss, double *gradient)
{
    size_t d = s->cols, k_count = s->sets;
    const double *multiplier_sum = sums + 1;
    for (size_t j = 0; j < d; j++)
        for (size_t k = 0; k < k_count; k++) {
            double g = s->inverse_std[j] * raw_gradient[j * k_count + k];
            if (s->fit_with_mean) g -= s->scaled_mean[j] * multiplier_sum[k];
            gradient[j * k_count + k] = g / s->weight_sum;
        }
    if (s->fit_intercept)
        for (size_t k = 0; k < k_count; k++) gradient[d * k_count + k] = multiplier_sum[k] / s->weight_sum;
    *loss = sums[0] / s->weight_sum;
}

#endif

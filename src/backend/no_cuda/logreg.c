/* logreg.c (no_cuda): the CUDA logistic-regression pieces when libdlp was built without nvcc. */
#include "core/status.h"
#include "ml/logreg_objective.h"

static dlp_status no_cuda(void)
{
    return dlp_fail(DLP_ERR_DEVICE, "logistic regression on cuda: this dlp was built without CUDA "
                                    "(nvcc was not found at build time)");
}

dlp_status dlp_logreg_objective_cuda_create(const dlp_logreg_data *data, dlp_logreg_objective **objective)
{
    (void)data;
    *objective = NULL;
    return no_cuda();
}

dlp_status dlp_logreg_device_features_upload(int cuda_device, const float *features, size_t rows, size_t cols,
                                             dlp_logreg_device_features **out)
{
    (void)cuda_device, (void)features, (void)rows, (void)cols;
    *out = NULL;
    return no_cuda();
}

dlp_status dlp_logreg_device_features_wrap(int cuda_device, const float *device_features, size_t rows, size_t cols,
                                           dlp_logreg_device_features **out)
{
    (void)cuda_device, (void)device_features, (void)rows, (void)cols;
    *out = NULL;
    return no_cuda();
}

void dlp_logreg_device_features_destroy(dlp_logreg_device_features *features) { (void)features; }

/* Never reached: no handle can exist without CUDA. */
const float *dlp_logreg_device_features_data(const dlp_logreg_device_features *features)
{
    (void)features;
    return NULL;
}
size_t dlp_logreg_device_features_rows(const dlp_logreg_device_features *features) { (void)features; return 0; }
size_t dlp_logreg_device_features_cols(const dlp_logreg_device_features *features) { (void)features; return 0; }

dlp_status dlp_logreg_cuda_statistics(const dlp_logreg_device_features *features, const double *weights,
                                      double weight_sum, double denominator, double *mean, double *std)
{
    (void)features, (void)weights, (void)weight_sum, (void)denominator, (void)mean, (void)std;
    return no_cuda();
}

/* logreg_cuda.c: the data term of Spark's logistic loss on a CUDA device: the
 * standardized features stay resident as fp32; each evaluation is one cublasSgemm
 * for the margins, one fused kernel (kernels/logreg.cu) for softmax, loss and
 * multipliers, one cublasSgemm for the coefficient gradient, one small copy back.
 * Accumulations are double; the CPU twin is src/ml/logreg_objective_cpu.c. */
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cuda/cuda_check.h"
#include "backend/cuda/logreg_kernels.h"
#include "core/status.h"
#include "dlp/device.h"
#include "ml/logreg_objective.h"

typedef struct cuda_objective {
    dlp_logreg_objective base;
    size_t rows, cols, sets;
    int binomial, fit_intercept, fit_with_mean, device;
    double weight_sum;
    double *scaled_mean;       /* host, cols */
    cublasHandle_t cublas;
    float *features;           /* device, rows x cols, scaled */
    float *coefficients;       /* device, cols x sets */
    float *margins;            /* device, rows x sets */
    float *gradient;           /* device, cols x sets */
    double *offset, *weights;  /* device */
    int *labels;               /* device */
    double *sums;              /* device, 1 + sets */
    float *host_coefficients;  /* host staging, cols x sets */
    float *host_gradient;
    double *host_offset, *host_sums;
} cuda_objective;

static void cuda_destroy(dlp_logreg_objective *self)
{
    cuda_objective *o = (cuda_objective *)self;
    if (!o) return;
    if (o->cublas) cublasDestroy(o->cublas);
    cudaFree(o->features), cudaFree(o->coefficients), cudaFree(o->margins), cudaFree(o->gradient);
    cudaFree(o->offset), cudaFree(o->weights), cudaFree(o->labels), cudaFree(o->sums);
    free(o->scaled_mean), free(o->host_coefficients), free(o->host_gradient), free(o->host_offset);
    free(o->host_sums);
    free(o);
}

static dlp_status cuda_evaluate(dlp_logreg_objective *self, const double *x, double *loss, double *gradient)
{
    cuda_objective *o = (cuda_objective *)self;
    size_t d = o->cols, k_count = o->sets, n = o->rows;
    CUDA_TRY(cudaSetDevice(o->device));
    for (size_t i = 0; i < d * k_count; i++) o->host_coefficients[i] = (float)x[i];
    for (size_t k = 0; k < k_count; k++) {
        double offset = o->fit_intercept ? x[d * k_count + k] : 0.0;
        if (o->fit_with_mean)
            for (size_t j = 0; j < d; j++) offset -= x[j * k_count + k] * o->scaled_mean[j];
        o->host_offset[k] = offset;
    }
    CUDA_TRY(cudaMemcpy(o->coefficients, o->host_coefficients, d * k_count * sizeof(float), cudaMemcpyHostToDevice));
    CUDA_TRY(cudaMemcpy(o->offset, o->host_offset, k_count * sizeof(double), cudaMemcpyHostToDevice));
    CUDA_TRY(cudaMemset(o->sums, 0, (1 + k_count) * sizeof(double)));
    const float one = 1.0f, zero = 0.0f;
    /* Row-major margins (n x sets) are column-major sets x n: coefficients^T (sets x d) . features^T (d x n). */
    CUBLAS_TRY(cublasSgemm(o->cublas, CUBLAS_OP_N, CUBLAS_OP_N, (int)k_count, (int)n, (int)d, &one, o->coefficients,
                           (int)k_count, o->features, (int)d, &zero, o->margins, (int)k_count));
    CUDA_TRY(dlp_cuda_logreg_loss(o->margins, o->offset, o->labels, o->weights, n, k_count, o->binomial, o->sums, 0));
    /* Row-major gradient (d x sets) is column-major sets x d: multipliers^T (sets x n) . features (n x d). */
    CUBLAS_TRY(cublasSgemm(o->cublas, CUBLAS_OP_N, CUBLAS_OP_T, (int)k_count, (int)d, (int)n, &one, o->margins,
                           (int)k_count, o->features, (int)d, &zero, o->gradient, (int)k_count));
    CUDA_TRY(cudaMemcpy(o->host_gradient, o->gradient, d * k_count * sizeof(float), cudaMemcpyDeviceToHost));
    CUDA_TRY(cudaMemcpy(o->host_sums, o->sums, (1 + k_count) * sizeof(double), cudaMemcpyDeviceToHost));
    const double *multiplier_sum = o->host_sums + 1;
    for (size_t j = 0; j < d; j++)
        for (size_t k = 0; k < k_count; k++) {
            double g = o->host_gradient[j * k_count + k];
            if (o->fit_with_mean) g -= o->scaled_mean[j] * multiplier_sum[k];
            gradient[j * k_count + k] = g / o->weight_sum;
        }
    if (o->fit_intercept)
        for (size_t k = 0; k < k_count; k++) gradient[d * k_count + k] = multiplier_sum[k] / o->weight_sum;
    *loss = o->host_sums[0] / o->weight_sum;
    return DLP_OK;
}

static dlp_status cuda_upload(cuda_objective *o, const dlp_logreg_data *data)
{
    size_t n = data->rows, d = data->cols, k_count = data->sets;
    CUDA_TRY(cudaSetDevice(o->device));
    CUBLAS_TRY(cublasCreate(&o->cublas));
    CUDA_TRY(cudaMalloc((void **)&o->features, n * d * sizeof(float)));
    CUDA_TRY(cudaMalloc((void **)&o->coefficients, d * k_count * sizeof(float)));
    CUDA_TRY(cudaMalloc((void **)&o->margins, n * k_count * sizeof(float)));
    CUDA_TRY(cudaMalloc((void **)&o->gradient, d * k_count * sizeof(float)));
    CUDA_TRY(cudaMalloc((void **)&o->offset, k_count * sizeof(double)));
    CUDA_TRY(cudaMalloc((void **)&o->weights, n * sizeof(double)));
    CUDA_TRY(cudaMalloc((void **)&o->labels, n * sizeof(int)));
    CUDA_TRY(cudaMalloc((void **)&o->sums, (1 + k_count) * sizeof(double)));
    /* Scale on the host in double (Spark's x * (1 / std)), upload in chunks of rows as fp32. */
    size_t chunk_rows = (1u << 22) / d + 1;
    float *staging = malloc(chunk_rows * d * sizeof(float));
    int *labels = malloc(n * sizeof(int));
    if (!staging || !labels) {
        free(staging), free(labels);
        return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "logistic regression on cuda: no host memory for staging");
    }
    dlp_status status = DLP_OK;
    for (size_t begin = 0; begin < n && status == DLP_OK; begin += chunk_rows) {
        size_t count = n - begin < chunk_rows ? n - begin : chunk_rows;
        for (size_t i = 0; i < count; i++)
            for (size_t j = 0; j < d; j++)
                staging[i * d + j] = (float)((double)data->features[(begin + i) * d + j] * data->inverse_std[j]);
        cudaError_t error = cudaMemcpy(o->features + begin * d, staging, count * d * sizeof(float),
                                       cudaMemcpyHostToDevice);
        if (error != cudaSuccess)
            status = dlp_fail(DLP_ERR_DEVICE, "cudaMemcpy of the features failed: %s at %s:%d",
                              cudaGetErrorString(error), __FILE__, __LINE__);
    }
    for (size_t i = 0; i < n; i++) labels[i] = (int)data->labels[i];
    if (status == DLP_OK) {
        cudaError_t error = cudaMemcpy(o->labels, labels, n * sizeof(int), cudaMemcpyHostToDevice);
        if (error != cudaSuccess)
            status = dlp_fail(DLP_ERR_DEVICE, "cudaMemcpy of the labels failed: %s at %s:%d",
                              cudaGetErrorString(error), __FILE__, __LINE__);
    }
    free(staging), free(labels);
    DLP_TRY(status);
    CUDA_TRY(cudaMemcpy(o->weights, data->weights, n * sizeof(double), cudaMemcpyHostToDevice));
    return DLP_OK;
}

dlp_status dlp_logreg_objective_cuda_create(const dlp_logreg_data *data, dlp_logreg_objective **objective)
{
    *objective = NULL;
    int count = 0;
    DLP_TRY(dlp_device_count(&count));
    if (data->cuda_device < 0 || data->cuda_device >= count)
        return dlp_fail(DLP_ERR_DEVICE, "logistic regression: cuda:%d does not exist (%d device(s))",
                        data->cuda_device, count);
    size_t n = data->rows, d = data->cols, k_count = data->sets;
    if (n > INT_MAX || d > INT_MAX || k_count > INT_MAX || d > SIZE_MAX / sizeof(float) / n ||
        k_count > SIZE_MAX / sizeof(float) / n)
        return dlp_fail(DLP_ERR_LIMIT, "logistic regression on cuda: %zu rows x %zu features x %zu classes exceed "
                                       "cuBLAS's int dimensions", n, d, k_count);
    cuda_objective *o = calloc(1, sizeof *o);
    if (!o) return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "logistic regression on cuda: no memory");
    o->base.evaluate = cuda_evaluate;
    o->base.destroy = cuda_destroy;
    o->rows = n, o->cols = d, o->sets = k_count, o->device = data->cuda_device;
    o->binomial = data->binomial, o->fit_intercept = data->fit_intercept, o->fit_with_mean = data->fit_with_mean;
    o->weight_sum = data->weight_sum;
    o->scaled_mean = malloc(d * sizeof(double));
    o->host_coefficients = malloc(d * k_count * sizeof(float));
    o->host_gradient = malloc(d * k_count * sizeof(float));
    o->host_offset = malloc(k_count * sizeof(double));
    o->host_sums = malloc((1 + k_count) * sizeof(double));
    if (!o->scaled_mean || !o->host_coefficients || !o->host_gradient || !o->host_offset || !o->host_sums) {
        cuda_destroy(&o->base);
        return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "logistic regression on cuda: no memory");
    }
    memcpy(o->scaled_mean, data->scaled_mean, d * sizeof(double));
    dlp_status status = cuda_upload(o, data);
    if (status != DLP_OK) {
        cuda_destroy(&o->base);
        return status;
    }
    *objective = &o->base;
    return DLP_OK;
}

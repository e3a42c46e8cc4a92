/* logreg_cuda.c: the data term of Spark's logistic loss on a CUDA device, on
 * features resident there (logreg_features_cuda.c) in their original space.
 * Spark's standardization x * inverse_std is moved onto the coefficients
 * (x_scaled . beta = x . (inverse_std * beta)) and the gradient
 * (x_scaled^T m = inverse_std * (x^T m)), so one matrix serves every fit.
 * Each evaluation, on the handle's stream: one small copy up (coefficients and
 * margin offsets), one cublasSgemm for the margins, one fused kernel for
 * softmax, loss and multipliers (kernels/logreg.cu), one GEMM for the
 * coefficient gradient, one small copy back (loss, multiplier sums, gradient,
 * adjacent in one buffer), one synchronization; nothing is allocated.
 *
 * The gradient GEMM reduces over all rows (k = 100k) into a small output
 * (sets x cols): it is one strided-batched cublasSgemm over row chunks (plus one
 * plain call for a shorter last chunk), each chunk's partial in fp32, and a
 * small kernel that adds the partials in double in chunk order. That keeps the
 * GPU full without relying on cuBLAS choosing a split-K kernel, keeps fp32
 * sums short (~1.6k rows, not 100k), and is deterministic.
 * Accumulations are double; the CPU twin is src/ml/logreg_objective_cpu.c. */
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cuda/cuda_check.h"
#include "backend/cuda/logreg_device_features.h"
#include "backend/cuda/logreg_kernels.h"
#include "core/status.h"
#include "ml/logreg_device_space.h"
#include "ml/logreg_objective.h"

typedef struct cuda_objective {
    dlp_logreg_objective base;
    const dlp_logreg_device_features *features;
    size_t rows, cols, sets;
    int binomial;
    dlp_logreg_space space;            /* the change of space, logreg_device_space.h */
    double *inverse_std, *scaled_mean; /* host, cols: space's arrays */
    /* Device: input = offsets (sets doubles) then, from byte floats_at, the
     * coefficients (cols x sets floats, already times inverse_std); output =
     * loss and multiplier sums (1 + sets doubles) then the gradient (cols x sets
     * doubles, before inverse_std). */
    void *input;
    double *output;
    size_t input_bytes, output_bytes, floats_at;
    float *margins;            /* rows x sets */
    float *partials;           /* parts x cols x sets: the gradient of each row chunk */
    size_t part_rows, full_parts, last_rows; /* full_parts chunks of part_rows, then one of last_rows (may be 0) */
    double *weights;
    int *labels;
    double *block_sums;
    unsigned int *blocks_done;
    void *host_input;
    double *host_output; /* pinned twins of input and output */
} cuda_objective;

static void cuda_destroy(dlp_logreg_objective *self)
{
    cuda_objective *o = (cuda_objective *)self;
    if (!o) return;
    cudaSetDevice(o->features->device);
    cudaFree(o->input), cudaFree(o->output), cudaFree(o->margins), cudaFree(o->weights), cudaFree(o->labels);
    cudaFree(o->partials);
    cudaFree(o->block_sums), cudaFree(o->blocks_done);
    cudaFreeHost(o->host_input), cudaFreeHost(o->host_output);
    free(o->inverse_std), free(o->scaled_mean);
    free(o);
}

/* multipliers^T . features per row chunk, then the chunks added: the row-major
 * gradient (d x sets) is column-major sets x d = multipliers^T (sets x n) . features (n x d). */
static dlp_status coefficient_gradient(cuda_objective *o)
{
    const dlp_logreg_device_features *f = o->features;
    int d = (int)o->cols, k_count = (int)o->sets;
    const float one = 1.0f, zero = 0.0f;
    long long margin_stride = (long long)o->part_rows * k_count, feature_stride = (long long)o->part_rows * d;
    long long partial_stride = (long long)d * k_count;
    if (o->full_parts > 0)
        CUBLAS_TRY(cublasSgemmStridedBatched(f->cublas, CUBLAS_OP_N, CUBLAS_OP_T, k_count, d, (int)o->part_rows, &one,
                                             o->margins, k_count, margin_stride, f->features, d, feature_stride,
                                             &zero, o->partials, k_count, partial_stride, (int)o->full_parts));
    if (o->last_rows > 0)
        CUBLAS_TRY(cublasSgemm(f->cublas, CUBLAS_OP_N, CUBLAS_OP_T, k_count, d, (int)o->last_rows, &one,
                               o->margins + o->full_parts * margin_stride, k_count,
                               f->features + o->full_parts * feature_stride, d, &zero,
                               o->partials + o->full_parts * partial_stride, k_count));
    size_t parts = o->full_parts + (o->last_rows > 0);
    CUDA_TRY(dlp_cuda_logreg_sum_partials(o->partials, parts, o->cols * o->sets, o->output + 1 + o->sets, f->stream));
    return DLP_OK;
}

static dlp_status cuda_evaluate(dlp_logreg_objective *self, const double *x, double *loss, double *gradient)
{
    cuda_objective *o = (cuda_objective *)self;
    const dlp_logreg_device_features *f = o->features;
    int d = (int)o->cols, k_count = (int)o->sets, n = (int)o->rows;
    dlp_logreg_space_pack(&o->space, x, o->host_input, (float *)((char *)o->host_input + o->floats_at));
    CUDA_TRY(cudaSetDevice(f->device));
    CUDA_TRY(cudaMemcpyAsync(o->input, o->host_input, o->input_bytes, cudaMemcpyHostToDevice, f->stream));
    const float *coefficients = (const float *)((char *)o->input + o->floats_at);
    const float one = 1.0f, zero = 0.0f;
    /* Row-major margins (n x sets) are column-major sets x n: coefficients^T (sets x d) . features^T (d x n). */
    CUBLAS_TRY(cublasSgemm(f->cublas, CUBLAS_OP_N, CUBLAS_OP_N, k_count, n, d, &one, coefficients, k_count,
                           f->features, d, &zero, o->margins, k_count));
    CUDA_TRY(dlp_cuda_logreg_loss(o->margins, o->input, o->labels, o->weights, o->rows, o->sets, o->binomial,
                                  o->block_sums, o->blocks_done, o->output, f->stream));
    DLP_TRY(coefficient_gradient(o));
    CUDA_TRY(cudaMemcpyAsync(o->host_output, o->output, o->output_bytes, cudaMemcpyDeviceToHost, f->stream));
    CUDA_TRY(cudaStreamSynchronize(f->stream));
    dlp_logreg_space_unpack(&o->space, o->host_output, o->host_output + 1 + o->sets, loss, gradient);
    return DLP_OK;
}

/* Labels (as int) and weights, on the handle's stream: everything the
 * evaluations read is ordered on that one stream. */
static dlp_status upload_rows(cuda_objective *o, const dlp_logreg_data *data)
{
    size_t n = o->rows;
    cudaStream_t stream = o->features->stream;
    int *labels = malloc(n * sizeof *labels);
    if (!labels) return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "logistic regression on cuda: no memory for labels");
    for (size_t i = 0; i < n; i++) labels[i] = (int)data->labels[i];
    cudaError_t error = cudaMemcpyAsync(o->labels, labels, n * sizeof *labels, cudaMemcpyHostToDevice, stream);
    if (error == cudaSuccess)
        error = cudaMemcpyAsync(o->weights, data->weights, n * sizeof(double), cudaMemcpyHostToDevice, stream);
    if (error == cudaSuccess) error = cudaMemsetAsync(o->blocks_done, 0, sizeof *o->blocks_done, stream);
    cudaError_t synchronized = cudaStreamSynchronize(stream); /* before labels is freed */
    free(labels);
    if (error == cudaSuccess) error = synchronized;
    if (error != cudaSuccess)
        return dlp_fail(DLP_ERR_DEVICE, "logistic regression on cuda: copying the labels and weights failed: %s",
                        cudaGetErrorString(error));
    return DLP_OK;
}

static dlp_status cuda_setup(cuda_objective *o, const dlp_logreg_data *data)
{
    size_t n = o->rows, d = o->cols, k_count = o->sets;
    size_t blocks = dlp_cuda_logreg_loss_blocks(n, k_count);
    if (blocks == 0)
        return dlp_fail(DLP_ERR_LIMIT, "logistic regression on cuda: %zu classes, at most 6143 supported", k_count);
    /* The floats start 256-byte aligned, as cuBLAS's fastest kernels want. */
    o->floats_at = ((1 + k_count) * sizeof(double) + 255) / 256 * 256;
    o->input_bytes = o->floats_at + d * k_count * sizeof(float);
    o->output_bytes = (1 + k_count + d * k_count) * sizeof(double);
    /* About 64 row chunks (each chunk's GEMM still has cols x sets outputs to
     * spread), of at least 512 rows, a multiple of 32 so that every chunk of
     * margins starts 16-byte aligned. */
    o->part_rows = ((n + 63) / 64 > 512 ? (n + 63) / 64 : 512) + 31;
    o->part_rows -= o->part_rows % 32;
    o->full_parts = n / o->part_rows, o->last_rows = n % o->part_rows;
    size_t parts = o->full_parts + (o->last_rows > 0);
    o->inverse_std = malloc(d * sizeof(double));
    o->scaled_mean = malloc(d * sizeof(double));
    if (!o->inverse_std || !o->scaled_mean) return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "logistic regression: no memory");
    memcpy(o->inverse_std, data->inverse_std, d * sizeof(double));
    memcpy(o->scaled_mean, data->scaled_mean, d * sizeof(double));
    o->space = (dlp_logreg_space){.cols = d, .sets = k_count, .fit_intercept = data->fit_intercept,
                                  .fit_with_mean = data->fit_with_mean, .inverse_std = o->inverse_std,
                                  .scaled_mean = o->scaled_mean, .weight_sum = data->weight_sum};
    CUDA_TRY(cudaSetDevice(o->features->device));
    CUDA_TRY(cudaMalloc(&o->input, o->input_bytes));
    CUDA_TRY(cudaMalloc((void **)&o->output, o->output_bytes));
    CUDA_TRY(cudaMalloc((void **)&o->margins, n * k_count * sizeof(float)));
    CUDA_TRY(cudaMalloc((void **)&o->partials, parts * d * k_count * sizeof(float)));
    CUDA_TRY(cudaMalloc((void **)&o->weights, n * sizeof(double)));
    CUDA_TRY(cudaMalloc((void **)&o->labels, n * sizeof(int)));
    CUDA_TRY(cudaMalloc((void **)&o->block_sums, blocks * (1 + k_count) * sizeof(double)));
    CUDA_TRY(cudaMalloc((void **)&o->blocks_done, sizeof *o->blocks_done));
    CUDA_TRY(cudaMallocHost(&o->host_input, o->input_bytes));
    CUDA_TRY(cudaMallocHost((void **)&o->host_output, o->output_bytes));
    return upload_rows(o, data);
}

dlp_status dlp_logreg_objective_cuda_create(const dlp_logreg_data *data, dlp_logreg_objective **objective)
{
    *objective = NULL;
    const dlp_logreg_device_features *f = data->device_features;
    if (!f || f->rows != data->rows || f->cols != data->cols)
        return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "logistic regression on cuda: no device features of %zu x %zu",
                        data->rows, data->cols);
    if (data->sets > (size_t)INT_MAX / 2 || data->sets > SIZE_MAX / sizeof(float) / data->rows / 2)
        return dlp_fail(DLP_ERR_LIMIT, "logistic regression on cuda: %zu rows x %zu classes exceed cuBLAS's int "
                                       "dimensions", data->rows, data->sets);
    cuda_objective *o = calloc(1, sizeof *o);
    if (!o) return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "logistic regression on cuda: no memory");
    o->base.evaluate = cuda_evaluate;
    o->base.destroy = cuda_destroy;
    o->features = f;
    o->rows = data->rows, o->cols = data->cols, o->sets = data->sets;
    o->binomial = data->binomial;
    dlp_status status = cuda_setup(o, data);
    if (status != DLP_OK) {
        cuda_destroy(&o->base);
        return status;
    }
    *objective = &o->base;
    return DLP_OK;
}

/* gemm_rate_gpu: the measured dense matrix rate of the GPU, for the compute
 * ceiling of featurization (issue 4: FLOPs per image / this rate).
 *
 * cublasGemmEx on square N x N matrices: bf16 and fp16 inputs and outputs with
 * fp32 accumulation (the precisions dlp's half paths use), then fp32 (no TF32:
 * dlp's fp32 default) and fp32 through TF32 tensor cores (--allow-tf32). The inputs are
 * random in [-1, 1], never zeros: a bf16 product on zeros ran 13% faster than
 * on random data on an H200 here (device/METHOD.md). At the default N = 8192
 * each matrix is 128 MiB, beyond any L2, so one input set is not a cache
 * benchmark. After a warm-up the products run in `windows` timed windows
 * (CUDA events around each); the rate is the median window, with the slowest
 * and fastest beside it. Before a rate is printed, 64 entries of C are checked
 * against a double-precision dot product of the same rounded inputs: relative
 * L2 within 1e-2 (fp32 accumulation, then one rounding to the 8-bit bf16 /
 * 11-bit fp16 significand: ~4e-3 and ~5e-4 at most; TF32 rounds the inputs to
 * 11 bits: ~1e-3), and within 1e-5 for fp32.
 *
 *   gemm_rate_gpu [N (default 8192)] [--seconds S (default 1)] [--windows W (default 7)]
 * Prints, per precision (bf16, fp16, fp32, tf32):
 *   gemm precision=bf16 n=8192 tflop_per_s=<median> slowest=... fastest=... windows=7 products=... check_rel_l2=...
 * Exit status: 0 measured and checked; 1 a CUDA/cuBLAS error or a failed check; 2 bad arguments. */
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph/device_layout.h"

#define CHECK_SAMPLES 64
#define MAX_WINDOWS 101

static int cuda_ok(cudaError_t error, const char *what)
{
    if (error == cudaSuccess) return 1;
    fprintf(stderr, "gemm_rate_gpu: %s: %s\n", what, cudaGetErrorString(error));
    return 0;
}

static int cublas_ok(cublasStatus_t status, const char *what)
{
    if (status == CUBLAS_STATUS_SUCCESS) return 1;
    fprintf(stderr, "gemm_rate_gpu: %s: cuBLAS status %d\n", what, (int)status);
    return 0;
}

/* xorshift64*: reproducible uniform values in [-1, 1]. */
static float uniform(uint64_t *state)
{
    *state ^= *state >> 12, *state ^= *state << 25, *state ^= *state >> 27;
    return (float)((*state * 2685821657736338717ull) >> 40) / (float)(1 << 23) - 1.0f;
}

/* One measured format: storage type, cuBLAS compute type, the check's bound. */
typedef struct gemm_format {
    const char *name;
    cudaDataType type;
    cublasComputeType_t compute;
    size_t element_bytes;
    double bound;
} gemm_format;

static const gemm_format formats[] = {
    {"bf16", CUDA_R_16BF, CUBLAS_COMPUTE_32F, 2, 1e-2},
    {"fp16", CUDA_R_16F, CUBLAS_COMPUTE_32F, 2, 1e-2},
    {"fp32", CUDA_R_32F, CUBLAS_COMPUTE_32F, 4, 1e-4},
    {"tf32", CUDA_R_32F, CUBLAS_COMPUTE_32F_FAST_TF32, 4, 1e-2},
};

/* Element i of a matrix stored in the format's type, as a double (the host check). */
static double element(const void *data, size_t i, cudaDataType type)
{
    if (type == CUDA_R_32F) return ((const float *)data)[i];
    uint16_t bits = ((const uint16_t *)data)[i];
    return type == CUDA_R_16BF ? device_bfloat16_to_float(bits) : device_half_to_float(bits);
}

/* Random values in [-1, 1] stored in the format's type. */
static void fill_random(void *out, size_t elements, cudaDataType type, float *scratch, uint64_t *state)
{
    for (size_t i = 0; i < elements; i++) scratch[i] = uniform(state);
    if (type == CUDA_R_32F) memcpy(out, scratch, elements * sizeof(float));
    else if (type == CUDA_R_16BF) device_float_to_bfloat16(scratch, out, elements);
    else device_float_to_half(scratch, out, elements);
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Relative L2 error of CHECK_SAMPLES entries of the column-major C = A B
 * against double sums over the same stored inputs; NaN fails. */
static double check_product(const void *a, const void *b, const void *c, int n, cudaDataType type)
{
    double error = 0, reference = 0;
    uint64_t state = 0x5eed0f6e33ull;
    for (int s = 0; s < CHECK_SAMPLES; s++) {
        int row = (int)((uniform(&state) + 1.0f) * 0.5f * (float)(n - 1));
        int column = (int)((uniform(&state) + 1.0f) * 0.5f * (float)(n - 1));
        double sum = 0;
        for (int k = 0; k < n; k++)
            sum += element(a, (size_t)k * n + row, type) * element(b, (size_t)column * n + k, type);
        double got = element(c, (size_t)column * n + row, type);
        error += (got - sum) * (got - sum);
        reference += sum * sum;
    }
    double relative = sqrt(error / reference);
    return isnan(relative) ? INFINITY : relative;
}

/* Times C = A B on n x n matrices of one format. */
static int time_gemm(cublasHandle_t handle, const gemm_format *format, int n, double seconds, int windows)
{
    size_t elements = (size_t)n * (size_t)n, bytes = elements * format->element_bytes;
    float *scratch = calloc(elements, sizeof(float));
    void *host_a = malloc(bytes), *host_b = malloc(bytes), *host_c = malloc(bytes);
    void *a = NULL, *b = NULL, *c = NULL;
    cudaEvent_t start = NULL, stop = NULL;
    double rates[MAX_WINDOWS];
    int ok = scratch && host_a && host_b && host_c;
    if (!ok) fprintf(stderr, "gemm_rate_gpu: out of host memory for N = %d\n", n);
    uint64_t state = 42 + (uint64_t)(format - formats);
    if (ok) fill_random(host_a, elements, format->type, scratch, &state);
    if (ok) fill_random(host_b, elements, format->type, scratch, &state);
    ok = ok && cuda_ok(cudaMalloc(&a, bytes), "cudaMalloc A") && cuda_ok(cudaMalloc(&b, bytes), "cudaMalloc B") &&
         cuda_ok(cudaMalloc(&c, bytes), "cudaMalloc C") &&
         cuda_ok(cudaMemcpy(a, host_a, bytes, cudaMemcpyHostToDevice), "upload A") &&
         cuda_ok(cudaMemcpy(b, host_b, bytes, cudaMemcpyHostToDevice), "upload B") &&
         cuda_ok(cudaEventCreate(&start), "cudaEventCreate") && cuda_ok(cudaEventCreate(&stop), "cudaEventCreate");
    float alpha = 1.0f, beta = 0.0f;
    cudaDataType type = format->type;
#define GEMM()                                                                                                       \
    cublas_ok(cublasGemmEx(handle, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &alpha, a, type, n, b, type, n, &beta, c, type, \
                           n, format->compute, CUBLAS_GEMM_DEFAULT),                                                   \
              "cublasGemmEx")
    /* Warm-up, which also sizes a window: as many products as fit in seconds / windows. */
    float elapsed_ms = 0;
    int warm = 0;
    ok = ok && cuda_ok(cudaEventRecord(start, 0), "cudaEventRecord");
    while (ok && (warm < 3 || elapsed_ms < 200)) {
        ok = GEMM() && cuda_ok(cudaEventRecord(stop, 0), "cudaEventRecord") &&
             cuda_ok(cudaEventSynchronize(stop), "cudaEventSynchronize") &&
             cuda_ok(cudaEventElapsedTime(&elapsed_ms, start, stop), "cudaEventElapsedTime");
        warm++;
    }
    int per_window = ok ? (int)(seconds * 1e3 / windows / (elapsed_ms / warm)) : 0;
    if (per_window < 1) per_window = 1;
    for (int w = 0; ok && w < windows; w++) {
        ok = cuda_ok(cudaEventRecord(start, 0), "cudaEventRecord");
        for (int k = 0; ok && k < per_window; k++) ok = GEMM();
        ok = ok && cuda_ok(cudaEventRecord(stop, 0), "cudaEventRecord") &&
             cuda_ok(cudaEventSynchronize(stop), "cudaEventSynchronize") &&
             cuda_ok(cudaEventElapsedTime(&elapsed_ms, start, stop), "cudaEventElapsedTime");
        rates[w] = 2.0 * n * (double)n * n * per_window / (elapsed_ms * 1e-3) / 1e12;
    }
#undef GEMM
    ok = ok && cuda_ok(cudaGetLastError(), "after the products") &&
         cuda_ok(cudaMemcpy(host_c, c, bytes, cudaMemcpyDeviceToHost), "download C");
    double relative = ok ? check_product(host_a, host_b, host_c, n, type) : INFINITY;
    if (ok && !(relative <= format->bound)) {
        fprintf(stderr, "gemm_rate_gpu: %s product wrong: relative L2 %.3g over %d entries, expected <= %g\n",
                format->name, relative, CHECK_SAMPLES, format->bound);
        ok = 0;
    }
    if (ok) {
        qsort(rates, (size_t)windows, sizeof rates[0], compare_doubles);
        printf("gemm precision=%s n=%d tflop_per_s=%.1f slowest=%.1f fastest=%.1f windows=%d products=%d "
               "check_rel_l2=%.2g\n",
               format->name, n, rates[windows / 2], rates[0], rates[windows - 1], windows, windows * per_window,
               relative);
        fflush(stdout);
    }
    if (start) cudaEventDestroy(start);
    if (stop) cudaEventDestroy(stop);
    cudaFree(a), cudaFree(b), cudaFree(c);
    free(scratch), free(host_a), free(host_b), free(host_c);
    return ok;
}

int main(int argc, char **argv)
{
    int n = 8192, windows = 7;
    double seconds = 1.0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0) {
            printf("usage: gemm_rate_gpu [N (8192)] [--seconds S (1)] [--windows W (7)]\n");
            return 0;
        } else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
            seconds = atof(argv[++i]);
        } else if (strcmp(argv[i], "--windows") == 0 && i + 1 < argc) {
            windows = atoi(argv[++i]);
        } else {
            char *end;
            n = (int)strtol(argv[i], &end, 10);
            if (*end) n = 0;
        }
    }
    if (n < 256 || n > 32768 || !(seconds > 0 && seconds <= 60) || windows < 1 || windows > MAX_WINDOWS) {
        fprintf(stderr, "gemm_rate_gpu: expected N in 256..32768, --seconds in (0, 60], --windows in 1..%d\n",
                MAX_WINDOWS);
        return 2;
    }
    cublasHandle_t handle;
    if (!cublas_ok(cublasCreate(&handle), "cublasCreate (no GPU or no cuBLAS?)")) return 1;
    int ok = 1;
    for (size_t f = 0; f < sizeof formats / sizeof formats[0]; f++)
        ok = time_gemm(handle, &formats[f], n, seconds, windows) && ok;
    cublasDestroy(handle);
    return ok ? 0 : 1;
}

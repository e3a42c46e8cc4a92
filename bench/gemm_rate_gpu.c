/* gemm_rate_gpu: the measured dense matrix rate of the GPU, for the
 * compute ceiling of featurization (issue 4: FLOPs per image / this rate).
 * cublasGemmEx on square N x N matrices, bf16 and fp16 inputs with fp32
 * accumulation (the precisions dlp's half paths use), timed with CUDA events
 * after a warm-up. Usage: gemm_rate_gpu [N (default 8192)] [--seconds S]
 * Prints: gemm precision=bf16 n=8192 tflop_per_s=... iterations=...  */
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_cuda(cudaError_t error, const char *what)
{
    if (error == cudaSuccess) return 1;
    fprintf(stderr, "gemm_rate_gpu: %s: %s\n", what, cudaGetErrorString(error));
    return 0;
}

/* Times C = A B on n x n matrices of the given type, fp32 accumulation. */
static int time_gemm(cublasHandle_t handle, cudaDataType type, const char *name, int n, double seconds)
{
    size_t elements = (size_t)n * (size_t)n;
    void *a = NULL, *b = NULL, *c = NULL;
    if (!check_cuda(cudaMalloc(&a, elements * 2), "cudaMalloc") || !check_cuda(cudaMalloc(&b, elements * 2), "cudaMalloc") ||
        !check_cuda(cudaMalloc(&c, elements * 2), "cudaMalloc"))
        return 0;
    /* Zeros are a valid input; the rate does not depend on the values. */
    cudaMemset(a, 0, elements * 2);
    cudaMemset(b, 0, elements * 2);
    float alpha = 1.0f, beta = 0.0f;
    cudaEvent_t start, stop;
    cudaEventCreate(&start);
    cudaEventCreate(&stop);
    int ok = 1, iterations = 0;
    float elapsed_ms = 0;
    for (int warm = 0; warm < 3 && ok; warm++)
        ok = cublasGemmEx(handle, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &alpha, a, type, n, b, type, n, &beta, c, type, n,
                          CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT) == CUBLAS_STATUS_SUCCESS;
    cudaEventRecord(start, 0);
    while (ok && elapsed_ms < seconds * 1000) {
        for (int k = 0; k < 10 && ok; k++, iterations++)
            ok = cublasGemmEx(handle, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &alpha, a, type, n, b, type, n, &beta, c, type,
                              n, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT) == CUBLAS_STATUS_SUCCESS;
        cudaEventRecord(stop, 0);
        cudaEventSynchronize(stop);
        cudaEventElapsedTime(&elapsed_ms, start, stop);
    }
    if (ok)
        printf("gemm precision=%s n=%d tflop_per_s=%.1f iterations=%d\n", name, n,
               2.0 * n * (double)n * n * iterations / (elapsed_ms * 1e-3) / 1e12, iterations);
    else
        fprintf(stderr, "gemm_rate_gpu: cublasGemmEx failed for %s\n", name);
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
    cudaFree(a);
    cudaFree(b);
    cudaFree(c);
    return ok;
}

int main(int argc, char **argv)
{
    int n = 8192;
    double seconds = 1.0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) seconds = atof(argv[++i]);
        else if (strcmp(argv[i], "--help") == 0) return printf("usage: gemm_rate_gpu [N] [--seconds S]\n"), 0;
        else n = atoi(argv[i]);
    }
    if (n < 256 || n > 32768) return fprintf(stderr, "gemm_rate_gpu: N %d, expected 256..32768\n", n), 2;
    cublasHandle_t handle;
    if (cublasCreate(&handle) != CUBLAS_STATUS_SUCCESS) return fprintf(stderr, "gemm_rate_gpu: no cuBLAS/GPU\n"), 1;
    int ok = time_gemm(handle, CUDA_R_16BF, "bf16", n, seconds) && time_gemm(handle, CUDA_R_16F, "fp16", n, seconds);
    cublasDestroy(handle);
    return ok ? 0 : 1;
}

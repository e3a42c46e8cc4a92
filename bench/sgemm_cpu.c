/* sgemm_cpu.c: the CPU's attainable fp32 rate, OpenBLAS sgemm on large square
 * matrices at a given thread count. bench/featurize_cpu.sh divides it by a
 * model's GFLOP per image for the FLOP-bound ceiling of images/s.
 *
 *   sgemm_cpu [--threads 2] [--runs 5]
 * One line per size, then the best:
 *   sgemm threads=2 size=2048 median_gflops=... best_gflops=...
 *   sgemm_peak threads=2 gflops=...                                         */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dlp/graph.h"

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median and best GFLOP/s of `runs` products of two size x size matrices. */
static void time_size(int size, int runs, double *median, double *best)
{
    size_t count = (size_t)size * size;
    float *a = malloc(count * sizeof(float)), *b = malloc(count * sizeof(float)), *c = malloc(count * sizeof(float));
    double *rates = calloc((size_t)runs, sizeof(double));
    for (size_t i = 0; i < count; i++) a[i] = (float)(i % 7) * 0.25f, b[i] = (float)(i % 5) * 0.5f;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, size, size, size, 1.0f, a, size, b, size, 0.0f, c, size);
    for (int r = 0; r < runs; r++) {
        double start = now_s();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, size, size, size, 1.0f, a, size, b, size, 0.0f, c,
                    size);
        rates[r] = 2.0 * size * (double)size * size / (now_s() - start) / 1e9;
    }
    qsort(rates, (size_t)runs, sizeof *rates, compare_doubles);
    *median = rates[runs / 2];
    *best = rates[runs - 1];
    free(a), free(b), free(c), free(rates);
}

/* As the dlp CLI: OpenBLAS reads OPENBLAS_CORETYPE only when it loads, so
 * when it fell back to generic kernels on this CPU, run again with it set. */
static void reexec_with_blas_coretype(char **argv)
{
    const char *core = dlp_cpu_blas_coretype_hint();
    if (!core || setenv("OPENBLAS_CORETYPE", core, 1) != 0) return;
    execv("/proc/self/exe", argv);
    unsetenv("OPENBLAS_CORETYPE");
}

int main(int argc, char **argv)
{
    reexec_with_blas_coretype(argv);
    int threads = 2, runs = 5;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--threads")) threads = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--runs")) runs = atoi(argv[i + 1]);
    }
    if (threads < 1 || runs < 1 || argc % 2 == 0) {
        fprintf(stderr, "usage: sgemm_cpu [--threads N] [--runs N]\n");
        return 2;
    }
    openblas_set_num_threads(threads);
    static const int sizes[] = {1024, 2048, 3072};
    double peak = 0;
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        double median, best;
        time_size(sizes[s], runs, &median, &best);
        printf("sgemm threads=%d size=%d median_gflops=%.1f best_gflops=%.1f\n", threads, sizes[s], median, best);
        fflush(stdout);
        if (median > peak) peak = median;
    }
    /* The ceiling uses the best size's median, not one lucky run. */
    printf("sgemm_peak threads=%d gflops=%.1f openblas_core=%s\n", threads, peak, openblas_get_corename());
    return 0;
}

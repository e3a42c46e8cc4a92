/* logreg_statistics.h: Spark's feature mean and std (SummarizerBuffer, as
 * feature_statistics in logreg.c computes them) in the order the CUDA kernels
 * of kernels/logreg.cu compute them, compiled as C for the host twin
 * (dlp_logreg_statistics_twin below) that the tests hold against both.
 *
 * The order: the rows are cut into chunks; each (chunk, column) is summed in row
 * order (one GPU thread each, neighbouring threads on neighbouring columns so
 * the row-major matrix is read in order); the chunk sums of a column are added
 * in chunk order. Two passes as in logreg.c: the weighted sums (and whether the
 * column varies), then the weighted squared deviations from the mean.
 *
 * On the device nvcc would contract w * v + s into a fused multiply-add (one
 * rounding instead of two); the products and sums go through STATISTICS_MUL /
 * ADD / SUB, which are __dmul_rn / __dadd_rn / __dsub_rn there and plain
 * operators in C (C11 without GNU extensions: GCC does not contract), so the
 * device equals the twin bit for bit; division and sqrt are IEEE on both. */
#ifndef DLP_SRC_ML_LOGREG_STATISTICS_H
#define DLP_SRC_ML_LOGREG_STATISTICS_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#ifndef DLP_HOST_DEVICE
#ifdef __CUDACC__
#define DLP_HOST_DEVICE __host__ __device__
#else
#define DLP_HOST_DEVICE
#endif
#endif

#ifdef __CUDA_ARCH__
#define STATISTICS_MUL(a, b) __dmul_rn((a), (b))
#define STATISTICS_ADD(a, b) __dadd_rn((a), (b))
#define STATISTICS_SUB(a, b) __dsub_rn((a), (b))
#else
#define STATISTICS_MUL(a, b) ((a) * (b))
#define STATISTICS_ADD(a, b) ((a) + (b))
#define STATISTICS_SUB(a, b) ((a) - (b))
#endif

/* No row: the finite check found nothing in this chunk. */
#define DLP_LOGREG_STATISTICS_NO_ROW SIZE_MAX

/* Chunks of at least 64 rows, and about 256k (chunk, column) threads: enough
 * to keep a large GPU's memory busy (132 SMs x 2048 threads); at most 65535
 * (the chunk is the kernels' grid y). */
DLP_HOST_DEVICE static inline size_t dlp_logreg_statistics_chunks(size_t rows, size_t cols)
{
    size_t wanted = (262144 + cols - 1) / cols, most = (rows + 63) / 64;
    if (most > 65535) most = 65535;
    size_t chunks = wanted < most ? wanted : most;
    return chunks > 0 ? chunks : 1;
}

/* First row of chunk c of `chunks` (c = chunks gives rows). */
DLP_HOST_DEVICE static inline size_t dlp_logreg_statistics_chunk_begin(size_t rows, size_t chunks, size_t c)
{
    size_t base = rows / chunks, extra = rows % chunks;
    return c * base + (c < extra ? c : extra);
}

/* Pass 1 over column j, rows [begin, end): the weighted sum over rows of
 * positive weight, their smallest and largest value (the column varies iff they
 * differ, which is logreg.c's "v != first value" for finite values), and the
 * first row (any weight) whose value is not finite. */
DLP_HOST_DEVICE static inline void dlp_logreg_statistics_sum_chunk(const float *features, size_t cols,
                                                                   const double *weights, size_t begin, size_t end,
                                                                   size_t j, double *sum, float *low, float *high,
                                                                   size_t *first_bad_row)
{
    double total = 0.0;
    float smallest = INFINITY, largest = -INFINITY;
    size_t bad = DLP_LOGREG_STATISTICS_NO_ROW;
    for (size_t i = begin; i < end; i++) {
        float v = features[i * cols + j];
        if (!isfinite(v) && bad == DLP_LOGREG_STATISTICS_NO_ROW) bad = i;
        double w = weights[i];
        if (!(w > 0)) continue;
        total = STATISTICS_ADD(total, STATISTICS_MUL(w, (double)v));
        smallest = v < smallest ? v : smallest;
        largest = v > largest ? v : largest;
    }
    *sum = total, *low = smallest, *high = largest, *first_bad_row = bad;
}

/* Column j's mean from its chunk partials (chunk-major arrays, chunks x cols):
 * the weighted mean if the column varies, else its one value (logreg.c keeps
 * the first value of a constant column). */
DLP_HOST_DEVICE static inline double dlp_logreg_statistics_mean(const double *sums, const float *lows,
                                                                const float *highs, size_t chunks, size_t cols,
                                                                size_t j, double weight_sum, unsigned char *varies)
{
    double total = 0.0;
    float smallest = INFINITY, largest = -INFINITY;
    for (size_t c = 0; c < chunks; c++) {
        total = STATISTICS_ADD(total, sums[c * cols + j]);
        smallest = lows[c * cols + j] < smallest ? lows[c * cols + j] : smallest;
        largest = highs[c * cols + j] > largest ? highs[c * cols + j] : largest;
    }
    *varies = smallest != largest;
    return *varies ? total / weight_sum : (double)smallest;
}

/* Pass 2 over column j, rows [begin, end): sum of w (v - mean)^2 over rows of
 * positive weight, as logreg.c: (w * delta) * delta. */
DLP_HOST_DEVICE static inline double dlp_logreg_statistics_square_chunk(const float *features, size_t cols,
                                                                        const double *weights, size_t begin,
                                                                        size_t end, size_t j, double mean)
{
    double total = 0.0;
    for (size_t i = begin; i < end; i++) {
        double w = weights[i];
        if (!(w > 0)) continue;
        double delta = STATISTICS_SUB((double)features[i * cols + j], mean);
        total = STATISTICS_ADD(total, STATISTICS_MUL(STATISTICS_MUL(w, delta), delta));
    }
    return total;
}

/* Column j's unbiased weighted std: sqrt(sum / denominator), 0 for a constant
 * column or a denominator that is not positive (SummarizerBuffer.variance). */
DLP_HOST_DEVICE static inline double dlp_logreg_statistics_std(const double *squares, size_t chunks, size_t cols,
                                                               size_t j, int varies, double denominator)
{
    if (!varies || !(denominator > 0)) return 0.0;
    double total = 0.0;
    for (size_t c = 0; c < chunks; c++) total = STATISTICS_ADD(total, squares[c * cols + j]);
    return sqrt(fmax(total / denominator, 0.0));
}

#ifndef __CUDACC__
#include <stdlib.h>

/* The host twin: the device's computation, column by column. Returns 0 when
 * out of memory. first_bad: the smallest row * cols + column whose value is not
 * finite, or SIZE_MAX. */
static inline int dlp_logreg_statistics_twin(const float *features, size_t rows, size_t cols, const double *weights,
                                             double weight_sum, double denominator, double *mean, double *std,
                                             size_t *first_bad)
{
    size_t chunks = dlp_logreg_statistics_chunks(rows, cols);
    double *sums = malloc(chunks * cols * sizeof *sums), *squares = malloc(chunks * cols * sizeof *squares);
    float *lows = malloc(chunks * cols * sizeof *lows), *highs = malloc(chunks * cols * sizeof *highs);
    if (!sums || !squares || !lows || !highs) return free(sums), free(squares), free(lows), free(highs), 0;
    *first_bad = SIZE_MAX;
    for (size_t j = 0; j < cols; j++) {
        for (size_t c = 0; c < chunks; c++) {
            size_t begin = dlp_logreg_statistics_chunk_begin(rows, chunks, c);
            size_t end = dlp_logreg_statistics_chunk_begin(rows, chunks, c + 1), bad;
            dlp_logreg_statistics_sum_chunk(features, cols, weights, begin, end, j, &sums[c * cols + j],
                                            &lows[c * cols + j], &highs[c * cols + j], &bad);
            if (bad != DLP_LOGREG_STATISTICS_NO_ROW && bad * cols + j < *first_bad) *first_bad = bad * cols + j;
        }
        unsigned char varies;
        mean[j] = dlp_logreg_statistics_mean(sums, lows, highs, chunks, cols, j, weight_sum, &varies);
        for (size_t c = 0; c < chunks; c++)
            squares[c * cols + j] = varies ? dlp_logreg_statistics_square_chunk(
                                                 features, cols, weights, dlp_logreg_statistics_chunk_begin(rows, chunks, c),
                                                 dlp_logreg_statistics_chunk_begin(rows, chunks, c + 1), j, mean[j])
                                           : 0.0;
        std[j] = dlp_logreg_statistics_std(squares, chunks, cols, j, varies, denominator);
    }
    free(sums), free(squares), free(lows), free(highs);
    return 1;
}
#endif

#endif

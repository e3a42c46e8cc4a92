/* split.c: random split of a dataset with Spark's randomSplit semantics (each
 * row's own uniform draw against cumulated normalized weights; DESIGN.md §6),
 * and the stratified variant with exact per-class proportions. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "data/dataset_internal.h"

/* SplitMix64 (Vigna, http://xoshiro.di.unimi.it/splitmix64.c): the output for
 * state x. A counter-based draw: row i's value depends on (seed, i) only. */
static uint64_t splitmix64(uint64_t x)
{
    uint64_t z = x + UINT64_C(0x9E3779B97F4A7C15);
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

double dlp_dataset_split_draw(uint64_t seed, uint64_t index)
{
    return (double)(splitmix64(seed ^ splitmix64(index)) >> 11) * 0x1.0p-53;
}

typedef struct {
    int64_t label;
    double draw;
    size_t index;
} ordered_row;

static int compare_ordered(const void *a, const void *b)
{
    const ordered_row *x = a, *y = b;
    if (x->label != y->label) return x->label < y->label ? -1 : 1;
    if (x->draw != y->draw) return x->draw < y->draw ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

/* Parts of n rows by largest remainder: counts[j] = floor(n*w_j/W) plus one
 * for the largest fractional parts (ties to the lower j), summing to n. */
static void largest_remainder(size_t n, const double *weights, int split_count, double total, size_t *counts,
                              double *remainders)
{
    size_t assigned = 0;
    for (int j = 0; j < split_count; j++) {
        double quota = (double)n * (weights[j] / total);
        double whole = floor(quota);
        if (whole > (double)n) whole = (double)n;
        counts[j] = (size_t)whole;
        remainders[j] = quota - whole;
        assigned += counts[j];
    }
    /* Rounding can only leave a few rows (fewer than split_count) over. */
    while (assigned < n) {
        int best = 0;
        for (int j = 1; j < split_count; j++)
            if (remainders[j] > remainders[best]) best = j;
        counts[best]++;
        remainders[best] = -1.0;
        assigned++;
    }
    while (assigned > n) { /* not reachable with floor, kept for safety */
        for (int j = split_count - 1; j >= 0 && assigned > n; j--)
            if (counts[j]) {
                counts[j]--;
                assigned--;
            }
    }
}

dlp_status dlp_dataset_split(const dlp_dataset *dataset, const double *weights, int split_count, uint64_t seed,
                             int stratified, dlp_dataset **splits)
{
    if (!dataset || !weights || !splits)
        return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "dlp_dataset_split: NULL argument");
    if (split_count < 1 || split_count > 1000)
        return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "dlp_dataset_split: split count %d outside 1..1000", split_count);
    double total = 0.0;
    for (int j = 0; j < split_count; j++) {
        if (!(weights[j] > 0.0) || !isfinite(weights[j]))
            return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "dlp_dataset_split: weight %d is %g; weights must be positive "
                            "and finite", j, weights[j]);
        total += weights[j];
    }
    if (!isfinite(total)) return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "dlp_dataset_split: the weights' sum overflows");
    for (int j = 0; j < split_count; j++) splits[j] = NULL;

    size_t n = dataset->row_count;
    size_t allocation = n ? n : 1;
    int *assignment = malloc(allocation * sizeof *assignment);
    ordered_row *order = stratified ? malloc(allocation * sizeof *order) : NULL;
    double *bounds = malloc((size_t)split_count * sizeof *bounds);
    size_t *counts = malloc((size_t)split_count * sizeof *counts);
    double *remainders = malloc((size_t)split_count * sizeof *remainders);
    dlp_status status = DLP_OK;
    if (!assignment || (stratified && !order) || !bounds || !counts || !remainders) {
        status = dlp_fail(DLP_ERR_OUT_OF_MEMORY, "dlp_dataset_split: out of memory for %zu rows", n);
        goto done;
    }
    if (!stratified) {
        /* Spark: normalizedCumWeights = weights.map(_ / sum).scanLeft(0.0)(_ + _); the
         * last bound is forced to 1 so that rounding never drops a row. */
        double cumulative = 0.0;
        for (int j = 0; j < split_count; j++) {
            cumulative += weights[j] / total;
            bounds[j] = j == split_count - 1 ? 1.0 : cumulative;
        }
        for (size_t i = 0; i < n; i++) {
            double u = dlp_dataset_split_draw(seed, i);
            int j = 0;
            while (j < split_count - 1 && u >= bounds[j]) j++;
            assignment[i] = j;
        }
    } else {
        for (size_t i = 0; i < n; i++)
            order[i] = (ordered_row){dataset->rows[i].label, dlp_dataset_split_draw(seed, i), i};
        if (n) qsort(order, n, sizeof *order, compare_ordered);
        for (size_t start = 0; start < n;) {
            size_t end = start;
            while (end < n && order[end].label == order[start].label) end++;
            largest_remainder(end - start, weights, split_count, total, counts, remainders);
            size_t at = start;
            for (int j = 0; j < split_count; j++)
                for (size_t k = 0; k < counts[j]; k++) assignment[order[at++].index] = j;
            start = end;
        }
    }
    for (int j = 0; j < split_count && status == DLP_OK; j++) {
        status = dlp_dataset_create(&splits[j]);
        if (status == DLP_OK) status = dlp_dataset_copy_names(splits[j], dataset);
    }
    for (size_t i = 0; i < n && status == DLP_OK; i++) {
        const dlp_dataset_entry *row = &dataset->rows[i];
        status = dlp_dataset_append(splits[assignment[i]], row->origin, row->label, row->status, row->message);
    }
    if (status != DLP_OK)
        for (int j = 0; j < split_count; j++) {
            dlp_dataset_destroy(splits[j]);
            splits[j] = NULL;
        }
done:
    free(assignment);
    free(order);
    free(bounds);
    free(counts);
    free(remainders);
    return status;
}

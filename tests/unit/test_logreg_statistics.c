/* test_logreg_statistics.c: the order in which the CUDA kernels compute Spark's
 * feature mean and std (src/ml/logreg_statistics.h, run here through its host
 * twin) against the CPU path's statistics (dlp_logreg_problem_mean/std, the
 * reference the Spark fixtures pass with): within 1e-10 relative, exactly equal
 * where the CPU's value is 0 or the column is constant. Also the chunking, the
 * first non-finite value, and the label counts. No GPU needed. */
#include <stdint.h>

#include "check.h"
#include "dlp/logreg.h"
#include "logreg_fixtures.h"
#include "ml/logreg_statistics.h"

static void compare(const char *what, const float *x, size_t rows, size_t cols, const double *labels,
                    const double *weights)
{
    dlp_logreg_params params;
    dlp_logreg_params_default(&params);
    dlp_logreg_problem *problem = NULL;
    CHECK_OK(dlp_logreg_problem_create(&params, x, rows, cols, labels, weights, &problem));
    if (!problem) return;
    double weight_sum = 0.0, square_sum = 0.0;
    for (size_t i = 0; i < rows; i++) {
        double w = weights ? weights[i] : 1.0;
        weight_sum += w, square_sum += w * w;
    }
    double *ones = NULL;
    if (!weights) {
        ones = malloc(rows * sizeof *ones);
        for (size_t i = 0; i < rows; i++) ones[i] = 1.0;
    }
    double *mean = malloc(cols * sizeof *mean), *std = malloc(cols * sizeof *std);
    size_t first_bad = 0;
    CHECK(dlp_logreg_statistics_twin(x, rows, cols, weights ? weights : ones, weight_sum,
                                     weight_sum - square_sum / weight_sum, mean, std, &first_bad));
    CHECK(first_bad == SIZE_MAX);
    const double *cpu_mean = dlp_logreg_problem_mean(problem), *cpu_std = dlp_logreg_problem_std(problem);
    double worst_mean = 0.0, worst_std = 0.0;
    for (size_t j = 0; j < cols; j++) {
        worst_mean = fmax(worst_mean, logreg_relative_error(mean[j], cpu_mean[j]));
        worst_std = fmax(worst_std, logreg_relative_error(std[j], cpu_std[j]));
    }
    printf("%s (%zu x %zu, %zu chunks): mean rel %.1e, std rel %.1e\n", what, rows, cols,
           dlp_logreg_statistics_chunks(rows, cols), worst_mean, worst_std);
    CHECK(worst_mean <= 1e-10);
    CHECK(worst_std <= 1e-10);
    free(mean), free(std), free(ones);
    dlp_logreg_problem_destroy(problem);
}

static void check_chunks(void)
{
    size_t shapes[][2] = {{1, 1}, {63, 5}, {64, 5}, {65, 5}, {1000, 9}, {800, 300}, {100000, 2048}, {10000000, 1},
                          {7, 100000}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        size_t rows = shapes[s][0], cols = shapes[s][1], chunks = dlp_logreg_statistics_chunks(rows, cols);
        CHECK(chunks >= 1 && chunks <= 65535 && chunks <= rows);
        CHECK(dlp_logreg_statistics_chunk_begin(rows, chunks, 0) == 0);
        CHECK(dlp_logreg_statistics_chunk_begin(rows, chunks, chunks) == rows);
        int increasing = 1;
        for (size_t c = 0; c < chunks; c++)
            increasing &= dlp_logreg_statistics_chunk_begin(rows, chunks, c) <
                          dlp_logreg_statistics_chunk_begin(rows, chunks, c + 1);
        CHECK(increasing);
    }
}

/* The first value in row-major order that is not finite, whatever its weight. */
static void check_first_bad(void)
{
    float *x = malloc(LOGREG_EDGE_ROWS * LOGREG_EDGE_COLS * sizeof *x);
    double weights[LOGREG_EDGE_ROWS], labels[LOGREG_EDGE_ROWS], mean[LOGREG_EDGE_COLS], std[LOGREG_EDGE_COLS];
    logreg_edge_matrix(x, weights, labels);
    x[900 * LOGREG_EDGE_COLS + 1] = INFINITY;
    x[521 * LOGREG_EDGE_COLS + 6] = NAN; /* 521 % 7 == 3: a row of weight 0 */
    x[521 * LOGREG_EDGE_COLS + 8] = -INFINITY;
    size_t first_bad = 0;
    CHECK(dlp_logreg_statistics_twin(x, LOGREG_EDGE_ROWS, LOGREG_EDGE_COLS, weights, 1.0, 1.0, mean, std, &first_bad));
    CHECK(first_bad == 521 * LOGREG_EDGE_COLS + 6);
    /* The CPU's check names the same value. */
    dlp_logreg_params params;
    dlp_logreg_params_default(&params);
    dlp_logreg_model *model = NULL;
    CHECK_FAILS(dlp_logreg_fit(&params, x, LOGREG_EDGE_ROWS, LOGREG_EDGE_COLS, labels, weights, &model), DLP_ERR_DATA,
                "row 521, feature 6: nan");
    free(x);
}

static void check_label_counts(const double *labels, const double *weights, size_t rows, const float *x, size_t cols)
{
    dlp_logreg_params params;
    dlp_logreg_params_default(&params);
    dlp_logreg_problem *problem = NULL;
    CHECK_OK(dlp_logreg_problem_create(&params, x, rows, cols, labels, weights, &problem));
    if (!problem) return;
    size_t classes = 0;
    const double *counts = dlp_logreg_problem_label_counts(problem, &classes);
    double expected[16] = {0};
    for (size_t i = 0; i < rows; i++)
        if (weights[i] > 0) expected[(size_t)labels[i]] += weights[i];
    CHECK(classes >= 2 && classes <= 16);
    for (size_t k = 0; k < classes && k < 16; k++) CHECK(counts[k] == expected[k]);
    dlp_logreg_problem_destroy(problem);
}

int main(void)
{
    const char *fixtures = check_env("DLP_FIXTURES");
    float *digits = logreg_fixture_read(fixtures, "digits.features.f32", 1797 * 64 * sizeof(float));
    double *digit_labels = logreg_fixture_read(fixtures, "digits.labels.f64", 1797 * sizeof(double));
    float *synth = logreg_fixture_read(fixtures, "synth.features.f32", 800 * 300 * sizeof(float));
    double *synth_labels = logreg_fixture_read(fixtures, "synth.labels.f64", 800 * sizeof(double));
    double *synth_weights = logreg_fixture_read(fixtures, "synth.weights.f64", 800 * sizeof(double));
    compare("digits", digits, 1797, 64, digit_labels, NULL);
    compare("synth", synth, 800, 300, synth_labels, NULL);
    compare("synth weighted", synth, 800, 300, synth_labels, synth_weights);
    float *edge = malloc(LOGREG_EDGE_ROWS * LOGREG_EDGE_COLS * sizeof *edge);
    double edge_weights[LOGREG_EDGE_ROWS], edge_labels[LOGREG_EDGE_ROWS];
    logreg_edge_matrix(edge, edge_weights, edge_labels);
    compare("edge cases", edge, LOGREG_EDGE_ROWS, LOGREG_EDGE_COLS, edge_labels, edge_weights);
    /* One row of positive weight: the unbiased denominator is 0, every std 0. */
    double single[LOGREG_EDGE_ROWS] = {0};
    single[10] = 2.0, single[11] = 0.0;
    compare("one weighted row", edge, LOGREG_EDGE_ROWS, LOGREG_EDGE_COLS, edge_labels, single);
    check_chunks();
    check_first_bad();
    check_label_counts(synth_labels, synth_weights, 800, synth, 300);
    check_label_counts(edge_labels, edge_weights, LOGREG_EDGE_ROWS, edge, LOGREG_EDGE_COLS);
    free(digits), free(digit_labels), free(synth), free(synth_labels), free(synth_weights), free(edge);
    return check_summary("logreg_statistics");
}

/* test_logreg_device_space.c: the CUDA objective's host side (the change of
 * space in src/ml/logreg_device_space.h: standardization moved from the
 * features onto the coefficients and the gradient, centring in the offsets),
 * run on the CPU: pack, the device's work done here in double on the original
 * features (margins, Spark's loss and multipliers, x^T multipliers), unpack;
 * against the CPU objective (dlp_logreg_problem_evaluate), whose features are
 * standardized first. The only rounding the path adds is the fp32 coefficients
 * (2^-24 relative), so value and gradient agree within 1e-6 relative. */
#include <stdint.h>

#include "check.h"
#include "dlp/logreg.h"
#include "logreg_fixtures.h"
#include "ml/logreg_device_space.h"

typedef struct problem_rows {
    const float *x;
    size_t rows, cols;
    const double *labels, *weights;
} problem_rows;

static double log1p_exp(double v) { return v > 0 ? v + log1p(exp(-v)) : log1p(exp(v)); }

/* One row's loss and multipliers from its margins (what kernels/logreg.cu does per row). */
static double row_loss(const double *margins, size_t sets, int binomial, size_t label, double weight, double *out)
{
    if (binomial) {
        double m = margins[0];
        out[0] = weight * (1.0 / (1.0 + exp(-m)) - (double)label);
        return weight * (label > 0 ? log1p_exp(-m) : log1p_exp(-m) + m);
    }
    double largest = margins[0], sum = 0.0;
    for (size_t k = 1; k < sets; k++) largest = fmax(largest, margins[k]);
    for (size_t k = 0; k < sets; k++) sum += exp(margins[k] - largest);
    for (size_t k = 0; k < sets; k++) out[k] = weight * (exp(margins[k] - largest) / sum - (k == label ? 1.0 : 0.0));
    return weight * (log(sum) - (margins[label] - largest));
}

/* pack -> the device's work on the original features, in double -> unpack. */
static void device_path(const dlp_logreg_space *s, const problem_rows *r, int binomial, const double *point,
                        double *loss, double *gradient)
{
    size_t d = s->cols, k_count = s->sets;
    double *offset = malloc(k_count * sizeof *offset), *sums = calloc(1 + k_count, sizeof *sums);
    float *coefficients = malloc(d * k_count * sizeof *coefficients);
    double *raw = calloc(d * k_count, sizeof *raw), *margins = malloc(k_count * sizeof *margins);
    double *multipliers = malloc(k_count * sizeof *multipliers);
    dlp_logreg_space_pack(s, point, offset, coefficients);
    for (size_t i = 0; i < r->rows; i++) {
        double w = r->weights ? r->weights[i] : 1.0;
        if (!(w > 0)) continue;
        const float *row = r->x + i * d;
        for (size_t k = 0; k < k_count; k++) {
            margins[k] = offset[k];
            for (size_t j = 0; j < d; j++) margins[k] += (double)row[j] * (double)coefficients[j * k_count + k];
        }
        sums[0] += row_loss(margins, k_count, binomial, (size_t)r->labels[i], w, multipliers);
        for (size_t k = 0; k < k_count; k++) {
            sums[1 + k] += multipliers[k];
            for (size_t j = 0; j < d; j++) raw[j * k_count + k] += (double)row[j] * multipliers[k];
        }
    }
    dlp_logreg_space_unpack(s, sums, raw, loss, gradient);
    free(offset), free(sums), free(coefficients), free(raw), free(margins), free(multipliers);
}

static void compare(const char *what, const dlp_logreg_params *params, const problem_rows *r)
{
    dlp_logreg_problem *problem = NULL;
    CHECK_OK(dlp_logreg_problem_create(params, r->x, r->rows, r->cols, r->labels, r->weights, &problem));
    if (!problem) return;
    size_t n = dlp_logreg_problem_dimension(problem), classes = 0;
    dlp_logreg_problem_label_counts(problem, &classes);
    int binomial = params->family == DLP_FAMILY_BINOMIAL || classes <= 2;
    size_t sets = binomial ? 1 : classes;
    const double *mean = dlp_logreg_problem_mean(problem), *std = dlp_logreg_problem_std(problem);
    double *inverse_std = malloc(r->cols * sizeof *inverse_std), *scaled_mean = malloc(r->cols * sizeof *scaled_mean);
    for (size_t j = 0; j < r->cols; j++) {
        inverse_std[j] = std[j] != 0 ? 1.0 / std[j] : 0.0; /* Spark: 0 for a constant feature */
        scaled_mean[j] = inverse_std[j] * mean[j];
    }
    double weight_sum = 0.0;
    for (size_t i = 0; i < r->rows; i++) weight_sum += r->weights ? r->weights[i] : 1.0;
    dlp_logreg_space space = {.cols = r->cols, .sets = sets, .fit_intercept = params->fit_intercept,
                              .fit_with_mean = params->fit_intercept, .inverse_std = inverse_std,
                              .scaled_mean = scaled_mean, .weight_sum = weight_sum};
    CHECK(n == sets * r->cols + (params->fit_intercept ? sets : 0));
    double *point = malloc(n * sizeof *point), *g_cpu = malloc(n * sizeof *g_cpu), *g_path = malloc(n * sizeof *g_path);
    srand(777);
    for (int trial = 0; trial < 3; trial++) {
        for (size_t i = 0; i < n; i++) point[i] = trial == 0 ? 0.0 : 0.3 * trial * ((double)rand() / RAND_MAX - 0.5);
        double v_cpu = 0, v_path = 0, diff = 0, ref = 0;
        CHECK_OK(dlp_logreg_problem_evaluate(problem, point, &v_cpu, g_cpu));
        /* The CPU objective adds the L2 term; regParam is 0 here, so both are the data term. */
        device_path(&space, r, binomial, point, &v_path, g_path);
        for (size_t i = 0; i < n; i++) diff += (g_path[i] - g_cpu[i]) * (g_path[i] - g_cpu[i]), ref += g_cpu[i] * g_cpu[i];
        double v_rel = fabs(v_path - v_cpu) / fabs(v_cpu), g_rel = sqrt(diff / ref);
        printf("%s trial %d: value rel %.1e, gradient rel %.1e\n", what, trial, v_rel, g_rel);
        CHECK(v_rel <= 1e-6);
        CHECK(g_rel <= 1e-6);
    }
    free(point), free(g_cpu), free(g_path), free(inverse_std), free(scaled_mean);
    dlp_logreg_problem_destroy(problem);
}

int main(void)
{
    const char *fixtures = check_env("DLP_FIXTURES");
    float *x = logreg_fixture_read(fixtures, "synth.features.f32", 800 * 300 * sizeof(float));
    double *labels = logreg_fixture_read(fixtures, "synth.labels.f64", 800 * sizeof(double));
    double *binary = logreg_fixture_read(fixtures, "synth_binary.labels.f64", 800 * sizeof(double));
    double *weights = logreg_fixture_read(fixtures, "synth.weights.f64", 800 * sizeof(double));
    float *digits = logreg_fixture_read(fixtures, "digits.features.f32", 1797 * 64 * sizeof(float));
    double *digit_labels = logreg_fixture_read(fixtures, "digits.labels.f64", 1797 * sizeof(double));
    dlp_logreg_params params;
    dlp_logreg_params_default(&params); /* regParam 0: the data term alone */
    compare("synth multinomial", &params, &(problem_rows){x, 800, 300, labels, NULL});
    compare("synth multinomial weighted", &params, &(problem_rows){x, 800, 300, labels, weights});
    compare("digits (constant features)", &params, &(problem_rows){digits, 1797, 64, digit_labels, NULL});
    compare("synth binomial weighted", &params, &(problem_rows){x, 800, 300, binary, weights});
    params.fit_intercept = 0;
    compare("synth multinomial, no intercept", &params, &(problem_rows){x, 800, 300, labels, NULL});
    free(x), free(labels), free(binary), free(weights), free(digits), free(digit_labels);
    return check_summary("logreg_device_space");
}

/* test_logreg_gpu.c: the CUDA logistic-regression objective (fp32 features on the
 * device, double accumulation) against the CPU one (double throughout) on the
 * fixture datasets: value and gradient within 1e-5 relative, and a full fit. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "dlp/device.h"
#include "dlp/logreg.h"

static void *read_fixture(const char *dir, const char *name, size_t bytes)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/logreg/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        exit(1);
    }
    void *data = malloc(bytes);
    if (fread(data, 1, bytes, f) != bytes) {
        fprintf(stderr, "%s: short file\n", path);
        exit(1);
    }
    fclose(f);
    return data;
}

static void compare(const char *what, const dlp_logreg_params *base, const float *x, size_t rows, size_t cols,
                    const double *labels, const double *weights)
{
    dlp_logreg_params cpu = *base, gpu = *base;
    cpu.device = DLP_LOGREG_DEVICE_CPU;
    gpu.device = DLP_LOGREG_DEVICE_CUDA;
    dlp_logreg_problem *p_cpu = NULL, *p_gpu = NULL;
    CHECK_OK(dlp_logreg_problem_create(&cpu, x, rows, cols, labels, weights, &p_cpu));
    CHECK_OK(dlp_logreg_problem_create(&gpu, x, rows, cols, labels, weights, &p_gpu));
    if (!p_cpu || !p_gpu) goto done;
    size_t n = dlp_logreg_problem_dimension(p_cpu);
    CHECK(n == dlp_logreg_problem_dimension(p_gpu));
    double *point = calloc(n, sizeof *point), *g_cpu = malloc(n * sizeof *g_cpu), *g_gpu = malloc(n * sizeof *g_gpu);
    srand(12345);
    for (int trial = 0; trial < 3; trial++) {
        for (size_t i = 0; i < n; i++) point[i] = trial == 0 ? 0.0 : 0.3 * trial * ((double)rand() / RAND_MAX - 0.5);
        double v_cpu = 0, v_gpu = 0;
        CHECK_OK(dlp_logreg_problem_evaluate(p_cpu, point, &v_cpu, g_cpu));
        CHECK_OK(dlp_logreg_problem_evaluate(p_gpu, point, &v_gpu, g_gpu));
        double diff = 0, ref = 0;
        for (size_t i = 0; i < n; i++) diff += (g_gpu[i] - g_cpu[i]) * (g_gpu[i] - g_cpu[i]), ref += g_cpu[i] * g_cpu[i];
        double g_rel = sqrt(diff / ref), v_rel = fabs(v_gpu - v_cpu) / fabs(v_cpu);
        printf("%s trial %d: value cpu %.12g gpu %.12g (rel %.1e), gradient rel %.1e\n", what, trial, v_cpu, v_gpu,
               v_rel, g_rel);
        CHECK(v_rel <= 1e-5);
        CHECK(g_rel <= 1e-5);
    }
    free(point), free(g_cpu), free(g_gpu);
    /* A whole fit on the device reaches the CPU fit's objective. */
    dlp_logreg_model *m_cpu = NULL, *m_gpu = NULL;
    CHECK_OK(dlp_logreg_fit(&cpu, x, rows, cols, labels, weights, &m_cpu));
    CHECK_OK(dlp_logreg_fit(&gpu, x, rows, cols, labels, weights, &m_gpu));
    if (m_cpu && m_gpu) {
        size_t c_cpu, c_gpu;
        const double *h_cpu = dlp_logreg_objective_history(m_cpu, &c_cpu);
        const double *h_gpu = dlp_logreg_objective_history(m_gpu, &c_gpu);
        printf("%s fit: cpu %zu iterations objective %.12g, gpu %zu iterations objective %.12g\n", what, c_cpu - 1,
               h_cpu[c_cpu - 1], c_gpu - 1, h_gpu[c_gpu - 1]);
        CHECK(fabs(h_gpu[c_gpu - 1] - h_cpu[c_cpu - 1]) <= 1e-5 * fabs(h_cpu[c_cpu - 1]));
    }
    dlp_logreg_model_destroy(m_cpu), dlp_logreg_model_destroy(m_gpu);
done:
    dlp_logreg_problem_destroy(p_cpu), dlp_logreg_problem_destroy(p_gpu);
}

int main(void)
{
    int devices = 0;
    if (dlp_device_count(&devices) != DLP_OK) {
        printf("skipped: %s\n", dlp_last_error());
        return 77;
    }
    const char *fixtures = check_env("DLP_FIXTURES");
    size_t rows = 800, cols = 300;
    float *x = read_fixture(fixtures, "synth.features.f32", rows * cols * sizeof(float));
    double *y = read_fixture(fixtures, "synth.labels.f64", rows * sizeof(double));
    double *y_binary = read_fixture(fixtures, "synth_binary.labels.f64", rows * sizeof(double));
    double *w = read_fixture(fixtures, "synth.weights.f64", rows * sizeof(double));
    dlp_logreg_params params;
    dlp_logreg_params_default(&params);
    params.reg_param = 0.03, params.elastic_net_param = 0.5;
    compare("multinomial elastic net", &params, x, rows, cols, y, NULL);
    params.reg_param = 0.1, params.elastic_net_param = 0.0, params.standardization = 0;
    compare("multinomial L2 weighted", &params, x, rows, cols, y, w);
    params.standardization = 1, params.fit_intercept = 0;
    compare("multinomial no intercept", &params, x, rows, cols, y, NULL);
    params.fit_intercept = 1, params.reg_param = 0.01;
    compare("binomial", &params, x, rows, cols, y_binary, w);
    free(x), free(y), free(y_binary), free(w);
    return check_summary("logreg_gpu");
}

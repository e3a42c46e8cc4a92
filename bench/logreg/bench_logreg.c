/* bench_logreg.c: the logistic-regression benchmark's dlp side (DESIGN.md §9):
 * a deterministic data generator (so a GPU machine needs nothing but this
 * binary), and time-to-objective: how long dlp takes to reach a given final
 * objective (Spark's converged value, ±1e-6 relative). Each timed run prints
 * one line "RESULT key=value ..." for run.sh / run_gpu.sh to parse. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cblas.h>
#include <omp.h>
#include <unistd.h>

#include "dlp/dlp.h"

typedef struct bench_data {
    float *features;
    double *labels;
    size_t rows, cols, classes;
} bench_data;

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static double uniform01(uint64_t *state) { return ((double)(splitmix64(state) >> 11) + 0.5) * 0x1.0p-53; }

/* Box-Muller: one standard normal per call (the second value is dropped for simplicity). */
static double normal(uint64_t *state)
{
    double u = uniform01(state), v = uniform01(state);
    return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

/* Class k has a mean vector c_k ~ 0.15 N(0, I); a row is c_y + N(0, I) with y
 * uniform: overlapping classes, so the regularization matters and the
 * optimizer needs tens of iterations. */
static int generate(size_t rows, size_t cols, size_t classes, uint64_t seed, bench_data *data)
{
    uint64_t state = seed;
    float *centers = malloc(classes * cols * sizeof *centers);
    data->features = malloc(rows * cols * sizeof *data->features);
    data->labels = malloc(rows * sizeof *data->labels);
    if (!centers || !data->features || !data->labels) return free(centers), 0;
    for (size_t i = 0; i < classes * cols; i++) centers[i] = (float)(0.15 * normal(&state));
    for (size_t r = 0; r < rows; r++) {
        size_t label = (size_t)(uniform01(&state) * (double)classes);
        if (label >= classes) label = classes - 1;
        data->labels[r] = (double)label;
        float *row = data->features + r * cols;
        for (size_t j = 0; j < cols; j++) row[j] = centers[label * cols + j] + (float)normal(&state);
    }
    free(centers);
    data->rows = rows, data->cols = cols, data->classes = classes;
    return 1;
}

static double seconds_since(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) + 1e-9 * (double)(now.tv_nsec - start->tv_nsec);
}

typedef struct fit_result {
    double seconds, objective;
    size_t iterations;
    size_t first_reaching; /* first history index <= target (SIZE_MAX if none) */
    size_t own_first_reaching; /* first history index within 1e-6 of the run's own final objective */
} fit_result;

static size_t first_within(const double *history, size_t count, double target)
{
    for (size_t i = 0; i < count && target > 0; i++)
        if (history[i] <= target * (1 + 1e-6)) return i;
    return SIZE_MAX;
}

/* One fit, timed whole; on resident features when resident is not NULL. */
static int timed_fit(const dlp_logreg_params *params, const bench_data *data,
                     const dlp_logreg_device_features *resident, double target, fit_result *result)
{
    dlp_logreg_model *model = NULL;
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    dlp_status status =
        resident ? dlp_logreg_fit_device(params, resident, data->labels, NULL, &model)
                 : dlp_logreg_fit(params, data->features, data->rows, data->cols, data->labels, NULL, &model);
    result->seconds = seconds_since(&start);
    if (status != DLP_OK) {
        fprintf(stderr, "bench_logreg: fit failed (%s): %s\n", dlp_status_name(status), dlp_last_error());
        return 0;
    }
    size_t count = 0;
    const double *history = dlp_logreg_objective_history(model, &count);
    result->objective = history[count - 1];
    result->iterations = dlp_logreg_iterations(model);
    result->first_reaching = first_within(history, count, target);
    result->own_first_reaching = first_within(history, count, result->objective);
    dlp_logreg_model_destroy(model);
    return 1;
}

/* Time to reach target: a first run finds the first iteration k whose objective
 * is within 1e-6 of target (retrying with a tighter tol if the default stops
 * short); a second run with maxIter = k is timed (the path is deterministic). */
static int time_to_target(dlp_logreg_params params, const bench_data *data, double target, fit_result *result)
{
    if (!timed_fit(&params, data, NULL, target, result)) return 0;
    if (result->first_reaching == SIZE_MAX && target > 0) {
        params.tol = 1e-12, params.max_iter = params.max_iter * 5;
        if (!timed_fit(&params, data, NULL, target, result)) return 0;
    }
    if (result->first_reaching == SIZE_MAX || target <= 0) return 1;
    params.max_iter = (int)result->first_reaching;
    return timed_fit(&params, data, NULL, target, result);
}

static void print_result(const char *device, const dlp_logreg_params *p, const bench_data *d, double target,
                         const fit_result *r)
{
    printf("RESULT tool=dlp device=%s threads=%d rows=%zu cols=%zu classes=%zu reg=%g elastic_net=%g target=%.12g "
           "reached=%d iterations=%zu objective=%.12g seconds=%.4f\n",
           device, p->threads, d->rows, d->cols, d->classes, p->reg_param, p->elastic_net_param, target,
           target <= 0 || r->objective <= target * (1 + 1e-6), r->iterations, r->objective, r->seconds);
    fflush(stdout);
}

static const char usage[] =
    "Usage: bench_logreg generate --rows N --cols D --classes K --seed S --features X.npy --labels y.npy\n"
    "       bench_logreg fit (--features X.npy --labels y.npy | --rows N --cols D --classes K --seed S)\n"
    "                    [--reg R] [--elastic-net A] [--max-iter M] [--tol T] [--threads T]\n"
    "                    [--device cpu|cuda|both] [--target F]\n"
    "       bench_logreg gpu (--features X.npy --labels y.npy | --rows N --cols D --classes K --seed S)\n"
    "                    [--cases R:A,R:A] [--max-iter M] [--tol T]\n"
    "fit prints one RESULT line per device: time to reach objective <= F (1 + 1e-6); without\n"
    "--target the time of one run to convergence. --device both: the CPU's converged objective\n"
    "is the target of both (for the GPU check without Spark).\n"
    "gpu: per case (regParam:elasticNet, default 0.03:0,0.03:0.5), in one process on the same features:\n"
    "dlp CPU on all cores vs dlp CUDA from host features (upload included) and from features\n"
    "resident on the device (uploaded once, then two fits), each timed to the CPU's converged\n"
    "objective within 1e-6; one SUMMARY line per case.\n";

typedef struct bench_options {
    const char *features, *labels, *device, *cases;
    size_t rows, cols, classes;
    uint64_t seed;
    double target;
    dlp_logreg_params params;
} bench_options;

static int parse(int argc, char **argv, bench_options *o)
{
    dlp_logreg_params_default(&o->params);
    o->params.max_iter = 200;
    o->device = "cpu";
    o->seed = 42;
    for (int i = 2; i + 1 < argc; i += 2) {
        const char *key = argv[i], *value = argv[i + 1];
        if (!strcmp(key, "--features")) o->features = value;
        else if (!strcmp(key, "--labels")) o->labels = value;
        else if (!strcmp(key, "--device")) o->device = value;
        else if (!strcmp(key, "--cases")) o->cases = value;
        else if (!strcmp(key, "--rows")) o->rows = strtoull(value, NULL, 10);
        else if (!strcmp(key, "--cols")) o->cols = strtoull(value, NULL, 10);
        else if (!strcmp(key, "--classes")) o->classes = strtoull(value, NULL, 10);
        else if (!strcmp(key, "--seed")) o->seed = strtoull(value, NULL, 10);
        else if (!strcmp(key, "--target")) o->target = strtod(value, NULL);
        else if (!strcmp(key, "--reg")) o->params.reg_param = strtod(value, NULL);
        else if (!strcmp(key, "--elastic-net")) o->params.elastic_net_param = strtod(value, NULL);
        else if (!strcmp(key, "--max-iter")) o->params.max_iter = atoi(value);
        else if (!strcmp(key, "--tol")) o->params.tol = strtod(value, NULL);
        else if (!strcmp(key, "--threads")) o->params.threads = atoi(value);
        else return fprintf(stderr, "bench_logreg: unknown option %s\n%s", key, usage), 0;
    }
    return 1;
}

static int load(const bench_options *o, int generating, bench_data *data)
{
    memset(data, 0, sizeof *data);
    if (generating || !o->features) {
        if (!o->rows || !o->cols || o->classes < 2) return fprintf(stderr, "%s", usage), 0;
        return generate(o->rows, o->cols, o->classes, o->seed, data);
    }
    float *labels = NULL;
    size_t label_rows = 0, label_cols = 0;
    if (dlp_npy_read_f32(o->features, &data->features, &data->rows, &data->cols) != DLP_OK ||
        dlp_npy_read_f32(o->labels, &labels, &label_rows, &label_cols) != DLP_OK || label_rows != data->rows)
        return fprintf(stderr, "bench_logreg: %s\n", dlp_last_error()), free(labels), 0;
    data->labels = malloc(data->rows * sizeof *data->labels);
    for (size_t i = 0; i < data->rows; i++) {
        data->labels[i] = labels[i];
        if ((size_t)labels[i] + 1 > data->classes) data->classes = (size_t)labels[i] + 1;
    }
    free(labels);
    return 1;
}

static int run_fit(bench_options *o, const bench_data *data)
{
    fit_result result;
    int both = !strcmp(o->device, "both");
    if (both || !strcmp(o->device, "cpu")) {
        o->params.device = DLP_LOGREG_DEVICE_CPU;
        double target = o->target;
        if (both && target <= 0) { /* the CPU's own converged objective is the common target */
            if (!timed_fit(&o->params, data, NULL, 0, &result)) return 0;
            target = result.objective;
            print_result("cpu-converged", &o->params, data, 0, &result);
        }
        if (!time_to_target(o->params, data, target, &result)) return 0;
        print_result("cpu", &o->params, data, target, &result);
        o->target = target;
    }
    if (both || !strcmp(o->device, "cuda")) {
        o->params.device = DLP_LOGREG_DEVICE_CUDA;
        if (!time_to_target(o->params, data, o->target, &result)) return 0;
        print_result("cuda", &o->params, data, o->target, &result);
    }
    return 1;
}

/* ---- gpu: dlp's CPU path on all cores vs its CUDA path, same process, same features ---- */

typedef struct gpu_timings {
    fit_result cpu_converged, cpu, cuda_converged, cuda, resident_first, resident_second;
    double upload_seconds, problem_seconds, evaluate_ms;
} gpu_timings;

/* The CUDA path to the target: a converged run finds the first iteration
 * within 1e-6 of it (retrying with tol 1e-12 if it stops short), so the timed
 * runs stop there. Returns that iteration count, or -1. */
static int cuda_iterations(dlp_logreg_params params, const bench_data *data, double target, fit_result *converged)
{
    params.device = DLP_LOGREG_DEVICE_CUDA;
    if (!timed_fit(&params, data, NULL, target, converged)) return -1;
    if (converged->first_reaching == SIZE_MAX) {
        params.tol = 1e-12, params.max_iter *= 5;
        if (!timed_fit(&params, data, NULL, target, converged)) return -1;
    }
    return converged->first_reaching == SIZE_MAX ? -1 : (int)converged->first_reaching;
}

/* Resident features: the upload once, the statistics and setup of one problem
 * and its evaluation (per call), then two whole fits that read the same copy. */
static int resident_runs(const dlp_logreg_params *params, const bench_data *data, double target, gpu_timings *t)
{
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    dlp_logreg_device_features *resident = NULL;
    if (dlp_logreg_device_features_upload(0, data->features, data->rows, data->cols, &resident) != DLP_OK)
        return fprintf(stderr, "bench_logreg: upload: %s\n", dlp_last_error()), 0;
    t->upload_seconds = seconds_since(&start);
    clock_gettime(CLOCK_MONOTONIC, &start);
    dlp_logreg_problem *problem = NULL;
    int ok = dlp_logreg_problem_create_device(params, resident, data->labels, NULL, &problem) == DLP_OK;
    t->problem_seconds = seconds_since(&start);
    size_t dimension = ok ? dlp_logreg_problem_dimension(problem) : 0;
    double *x = calloc(dimension + 1, sizeof *x), *gradient = malloc((dimension + 1) * sizeof *gradient), value;
    const int evaluations = 20;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (int e = 0; ok && e < evaluations; e++) {
        x[e % dimension] += 1e-3; /* a new point each time, as in a line search */
        ok = dlp_logreg_problem_evaluate(problem, x, &value, gradient) == DLP_OK;
    }
    t->evaluate_ms = 1e3 * seconds_since(&start) / evaluations;
    free(x), free(gradient);
    dlp_logreg_problem_destroy(problem);
    ok = ok && timed_fit(params, data, resident, target, &t->resident_first) &&
         timed_fit(params, data, resident, target, &t->resident_second);
    if (!ok) fprintf(stderr, "bench_logreg: resident: %s\n", dlp_last_error());
    dlp_logreg_device_features_destroy(resident);
    return ok;
}

static void print_summary(const dlp_logreg_params *p, const bench_data *d, double target, const gpu_timings *t)
{
    printf("RESULT tool=dlp device=cuda-resident-parts upload_seconds=%.4f problem_seconds=%.4f evaluate_ms=%.3f\n",
           t->upload_seconds, t->problem_seconds, t->evaluate_ms);
    printf("SUMMARY rows=%zu cols=%zu classes=%zu reg=%g elastic_net=%g target=%.12g cpu_threads=%d "
           "cpu_seconds=%.4f cpu_iterations=%zu cuda_seconds=%.4f cuda_iterations=%zu upload_seconds=%.4f "
           "resident_first_seconds=%.4f resident_second_seconds=%.4f speedup_with_upload=%.1f "
           "speedup_resident=%.1f speedup_resident_plus_upload=%.1f\n",
           d->rows, d->cols, d->classes, p->reg_param, p->elastic_net_param, target, omp_get_max_threads(),
           t->cpu.seconds, t->cpu.iterations, t->cuda.seconds, t->cuda.iterations, t->upload_seconds,
           t->resident_first.seconds, t->resident_second.seconds, t->cpu.seconds / t->cuda.seconds,
           t->cpu.seconds / t->resident_second.seconds,
           t->cpu.seconds / (t->upload_seconds + t->resident_first.seconds));
    fflush(stdout);
}

static int gpu_case(dlp_logreg_params params, const bench_data *data)
{
    gpu_timings t;
    memset(&t, 0, sizeof t);
    params.threads = 0; /* all cores */
    params.device = DLP_LOGREG_DEVICE_CPU;
    if (!timed_fit(&params, data, NULL, 0, &t.cpu_converged)) return 0;
    double target = t.cpu_converged.objective;
    print_result("cpu-converged", &params, data, 0, &t.cpu_converged);
    dlp_logreg_params timed = params;
    timed.max_iter = (int)t.cpu_converged.own_first_reaching;
    if (!timed_fit(&timed, data, NULL, target, &t.cpu)) return 0;
    print_result("cpu", &params, data, target, &t.cpu);
    int iterations = cuda_iterations(params, data, target, &t.cuda_converged);
    if (iterations < 0) return fprintf(stderr, "bench_logreg: cuda did not reach %.12g\n", target), 0;
    params.device = DLP_LOGREG_DEVICE_CUDA;
    print_result("cuda-converged", &params, data, 0, &t.cuda_converged);
    timed = params;
    timed.max_iter = iterations;
    if (!timed_fit(&timed, data, NULL, target, &t.cuda)) return 0;
    print_result("cuda", &params, data, target, &t.cuda);
    if (!resident_runs(&timed, data, target, &t)) return 0;
    print_result("cuda-resident-first", &params, data, target, &t.resident_first);
    print_result("cuda-resident-second", &params, data, target, &t.resident_second);
    print_summary(&params, data, target, &t);
    return 1;
}

static int run_gpu(const bench_options *o, const bench_data *data)
{
    int devices = 0;
    if (dlp_device_count(&devices) != DLP_OK) return fprintf(stderr, "bench_logreg gpu: %s\n", dlp_last_error()), 0;
    dlp_device_info info;
    if (dlp_device_get_info(0, &info) == DLP_OK) printf("# device %s, %ld CPUs online, OpenBLAS %s, %d OpenMP threads\n",
                                                        info.name, sysconf(_SC_NPROCESSORS_ONLN),
                                                        openblas_get_corename(), omp_get_max_threads());
    const char *cases = o->cases ? o->cases : "0.03:0,0.03:0.5";
    for (const char *c = cases; c && *c;) {
        dlp_logreg_params params = o->params;
        char *end;
        params.reg_param = strtod(c, &end);
        if (*end != ':') return fprintf(stderr, "bench_logreg gpu: --cases %s: expected R:A,R:A\n", cases), 0;
        params.elastic_net_param = strtod(end + 1, &end);
        if (!gpu_case(params, data)) return 0;
        c = *end == ',' ? end + 1 : NULL;
    }
    return 1;
}

/* As the dlp CLI: OpenBLAS reads OPENBLAS_CORETYPE only when it loads, so
 * when it fell back to generic kernels on this CPU, run again with it set (else
 * the CPU side would be timed on SSE3 kernels). */
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
    bench_options o = {0};
    if (argc < 2 || !parse(argc, argv, &o)) return fputs(usage, stderr), 1;
    bench_data data;
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    if (!load(&o, !strcmp(argv[1], "generate"), &data)) return 2;
    fprintf(stderr, "bench_logreg: %zu x %zu, %zu classes ready in %.1f s\n", data.rows, data.cols, data.classes,
            seconds_since(&start));
    int ok;
    if (!strcmp(argv[1], "generate")) {
        ok = o.features && o.labels && dlp_npy_write_f32(o.features, data.features, data.rows, data.cols) == DLP_OK;
        float *labels = malloc(data.rows * sizeof *labels);
        for (size_t i = 0; ok && i < data.rows; i++) labels[i] = (float)data.labels[i];
        ok = ok && dlp_npy_write_f32(o.labels, labels, data.rows, 1) == DLP_OK;
        if (!ok) fprintf(stderr, "bench_logreg generate: %s\n", o.features ? dlp_last_error() : usage);
        free(labels);
    } else if (!strcmp(argv[1], "gpu")) {
        ok = run_gpu(&o, &data);
    } else {
        ok = run_fit(&o, &data);
    }
    free(data.features);
    free(data.labels);
    return ok ? 0 : 3;
}

/* test_featurize_cuda.c: the featurizer on a GPU, where the CPU threads only
 * decode and the device resizes and normalizes (kernels/preprocess.cu via
 * dlp_plan_stage_images + dlp_plan_run_staged_images), against the same
 * featurizer with --cpu-preprocess (the CPU's dlp_image_resize_float feeding
 * the same CUDA network) and the
 * CPU backend. Inputs: the real nsfwjs InceptionV3 weights, the decode
 * fixtures (JPEG 4:2:0/4:2:2/4:4:4, progressive, CMYK, YCCK, gray, every PNG
 * colour type; 1 to 227 pixels a side, so both up- and down-scaling) and the
 * three oracle photos, with a missing file and a truncated JPEG among them,
 * in batches of 5 (the two-batch pipeline and a short last batch), for each
 * resize method.
 * Expected: device vs CPU preprocessing bit-identical features on every row
 * (same input bit for bit, same network); the same rows fail with the same
 * reasons; against the CPU backend relative L2 <= 1e-4 per row (the GPU
 * suites' fp32 bound).
 * The featurizer's default GPU path reads the covered JPEGs through the JPEG
 * split (DLP_JPEG_SPLIT, on unless 0), so these runs take it.
 * With the split off and a packed budget of 7000 bytes (per batch of 5: two
 * 37x29 JPEGs, 3219 bytes each, and a few 13x7 PNGs; never a 299x299
 * photo), about half the rows are resized on the CPU and written over the kernel's rows: fp32 gives
 * the same floats as the default budget on every row, fp16 (the rows go into
 * the float staging input before the conversion) stays within 2e-2 of them.
 * The JPEG split: the same floats as with DLP_JPEG_SPLIT=0, the covered
 * JPEGs counted in the stats.
 * DLP_FEATURIZE_CUDA_ONLY=packed_budget or jpeg_split runs that check alone. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "dlp/dlp.h"

static const char *fixture_files[] = {
    "baseline_420.jpg", "baseline_422.jpg", "baseline_444.jpg", "cmyk_adobe.jpg", "cmyk_plain.jpg", "gray.jpg",
    "gray16.png", "gray_alpha8.png", "palette4_interlaced.png", "progressive_420.jpg", "ycck.jpg", "optimized_420.jpg",
};
static const char *photos[] = {"astronaut_299.png", "chelsea_299.png", "coffee_299.png"};

static dlp_dataset *make_dataset(const char *fixtures, const char *oracle, const char *tmp)
{
    dlp_dataset *dataset = NULL;
    CHECK_OK(dlp_dataset_create(&dataset));
    if (!dataset) return NULL;
    char path[4200];
    for (size_t i = 0; i < sizeof fixture_files / sizeof *fixture_files; i++) {
        snprintf(path, sizeof path, "%s/decode/%s", fixtures, fixture_files[i]);
        CHECK_OK(dlp_dataset_add(dataset, path, -1));
        if (i == 4) CHECK_OK(dlp_dataset_add(dataset, "/nonexistent/dlp-gpu-test.jpg", -1));
    }
    /* A truncated JPEG: the first half of a good one. */
    snprintf(path, sizeof path, "%s/decode/baseline_420.jpg", fixtures);
    FILE *in = fopen(path, "rb");
    char truncated[4200];
    snprintf(truncated, sizeof truncated, "%s/truncated.jpg", tmp);
    FILE *out = fopen(truncated, "wb");
    if (in && out) {
        char bytes[4096];
        size_t got = fread(bytes, 1, sizeof bytes, in);
        fwrite(bytes, 1, got / 2, out);
    }
    if (in) fclose(in);
    if (out) fclose(out);
    CHECK_OK(dlp_dataset_add(dataset, truncated, -1));
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/inception_v3/%s", oracle, photos[i]);
        CHECK_OK(dlp_dataset_add(dataset, path, -1));
    }
    return dataset;
}

typedef struct run_result {
    float *features;
    size_t rows, dim;
    dlp_status *status;
    char **messages;
} run_result;

static void result_free(run_result *r)
{
    free(r->features);
    free(r->status);
    for (size_t i = 0; r->messages && i < r->rows; i++) free(r->messages[i]);
    free(r->messages);
}

typedef struct run_setup {
    const char *device;
    dlp_cuda_precision precision;
    bool cpu_preprocess;
    dlp_resize resize;
    const char *cache_dir; /* "" for none */
    bool cuda_graphs;
    size_t packed_budget_bytes; /* 0: the default */
} run_setup;

static int featurize(const run_setup *setup, const char *weights, const char *fixtures, const char *oracle,
                     const char *tmp, run_result *result, dlp_featurize_stats *stats_out)
{
    memset(result, 0, sizeof *result);
    dlp_featurizer_options options;
    dlp_featurizer_options_init(&options);
    options.model = "InceptionV3";
    options.weights = weights;
    options.device = setup->device;
    options.precision = setup->precision;
    options.cpu_preprocess = setup->cpu_preprocess;
    options.resize = setup->resize;
    options.batch_size = 5;
    options.cache_dir = setup->cache_dir;
    options.cuda_graphs = setup->cuda_graphs;
    options.packed_budget_bytes = setup->packed_budget_bytes;
    dlp_featurizer *featurizer = NULL;
    dlp_dataset *dataset = make_dataset(fixtures, oracle, tmp);
    CHECK_OK(dlp_featurizer_create(&options, &featurizer));
    if (!featurizer || !dataset) {
        dlp_featurizer_destroy(featurizer);
        dlp_dataset_destroy(dataset);
        return 0;
    }
    result->rows = dlp_dataset_size(dataset);
    result->dim = dlp_featurizer_dim(featurizer);
    result->features = malloc(result->rows * result->dim * sizeof(float));
    result->status = calloc(result->rows, sizeof *result->status);
    result->messages = calloc(result->rows, sizeof *result->messages);
    dlp_featurize_stats stats = {0};
    CHECK_OK(dlp_featurizer_run(featurizer, dataset, 0, result->rows, result->features, NULL, NULL, &stats));
    printf("  %-32s %s: %zu rows, %zu computed, %zu from cache, %zu failed\n", dlp_featurizer_device(featurizer),
           setup->cpu_preprocess ? "cpu preprocess   " : "device preprocess", stats.rows, stats.computed,
           stats.cache_hits, stats.failed);
    CHECK(stats.failed == 2 && stats.computed + stats.cache_hits == result->rows - 2);
    *stats_out = stats;
    for (size_t i = 0; i < result->rows; i++) {
        dlp_row row;
        CHECK_OK(dlp_dataset_row(dataset, i, &row));
        result->status[i] = row.status;
        result->messages[i] = strdup(row.message ? row.message : "");
    }
    dlp_featurizer_destroy(featurizer);
    dlp_dataset_destroy(dataset);
    return 1;
}

static void compare(const run_result *device, const run_result *host, const run_result *cpu, const char *method)
{
    CHECK(device->rows == host->rows && device->rows == cpu->rows);
    size_t differing = 0;
    double worst_cpu = 0;
    for (size_t r = 0; r < device->rows && r < host->rows && r < cpu->rows; r++) {
        CHECK(device->status[r] == host->status[r] && device->status[r] == cpu->status[r]);
        CHECK(strcmp(device->messages[r], host->messages[r]) == 0);
        const float *a = device->features + r * device->dim, *b = host->features + r * host->dim;
        if (device->status[r] != DLP_OK) {
            CHECK(isnan(a[0]) && isnan(b[0]));
            continue;
        }
        if (memcmp(a, b, device->dim * sizeof(float)) != 0) differing++;
        double error = check_relative_l2(a, cpu->features + r * cpu->dim, device->dim);
        if (error > worst_cpu) worst_cpu = error;
    }
    printf("  resize %-8s: rows differing device vs cpu preprocessing: %zu (expected 0); worst relative L2 vs the "
           "CPU backend %.3g (bound 1e-4)\n", method, differing, worst_cpu);
    CHECK(differing == 0);
    CHECK(worst_cpu <= 1e-4);
}

/* fp16 (timed search; the short last batch runs as a whole one) with the
 * feature cache on: a cold run computes and writes every good row, a warm one
 * finds them all and gives the same floats; against the CPU backend relative
 * L2 <= 2e-2 per row (gpu.zoo_half_cuda's half-precision bound). */
static void check_half_with_cache(const char *weights, const char *fixtures, const char *oracle, const char *tmp)
{
    char cache[4300];
    snprintf(cache, sizeof cache, "%s/featurize_cuda_cache_%ld", tmp, (long)time(NULL));
    run_setup half = {"cuda", DLP_CUDA_FP16, false, DLP_RESIZE_AREA, cache, false, 0};
    run_setup cpu_setup = {"cpu", DLP_CUDA_FP32, false, DLP_RESIZE_AREA, "", false, 0};
    run_result cold, warm, cpu;
    dlp_featurize_stats cold_stats = {0}, warm_stats = {0}, cpu_stats = {0};
    int ok = featurize(&half, weights, fixtures, oracle, tmp, &cold, &cold_stats);
    ok &= featurize(&half, weights, fixtures, oracle, tmp, &warm, &warm_stats);
    ok &= featurize(&cpu_setup, weights, fixtures, oracle, tmp, &cpu, &cpu_stats);
    CHECK(cold_stats.computed == cold.rows - 2 && cold_stats.cache_hits == 0);
    CHECK(warm_stats.computed == 0 && warm_stats.cache_hits == warm.rows - 2);
    size_t differing = 0;
    double worst = 0;
    for (size_t r = 0; ok && r < cold.rows; r++) {
        CHECK(cold.status[r] == cpu.status[r] && warm.status[r] == cpu.status[r]);
        if (cold.status[r] != DLP_OK) continue;
        if (memcmp(cold.features + r * cold.dim, warm.features + r * warm.dim, cold.dim * sizeof(float)) != 0)
            differing++;
        worst = fmax(worst, check_relative_l2(cold.features + r * cold.dim, cpu.features + r * cpu.dim, cold.dim));
    }
    printf("  fp16 with the cache: rows differing cold vs warm: %zu (expected 0); worst relative L2 vs the CPU backend "
           "%.3g (bound 2e-2)\n", differing, worst);
    CHECK(differing == 0 && worst <= 2e-2);
    result_free(&cold);
    result_free(&warm);
    result_free(&cpu);
}

/* Rows of a and b whose floats differ (expected none), and the worst
 * relative L2 of half's rows against half_reference's; each pair must fail
 * on the same rows. */
static void compare_runs(const run_result *a, const run_result *b, const run_result *half,
                         const run_result *half_reference, size_t *differing, double *worst)
{
    for (size_t r = 0; r < a->rows; r++) {
        CHECK(a->status[r] == b->status[r] && half->status[r] == half_reference->status[r]);
        if (a->status[r] != DLP_OK) continue;
        if (memcmp(a->features + r * a->dim, b->features + r * b->dim, a->dim * sizeof(float)) != 0) (*differing)++;
        *worst = fmax(*worst, check_relative_l2(half->features + r * half->dim,
                                                half_reference->features + r * half_reference->dim, half->dim));
    }
}

/* CUDA graphs (batches of 5: the first launched kernel by kernel, the second
 * recorded, the third replayed): fp32 (the heuristic algorithms, the same in
 * both featurizers) gives the same floats as without graphs; fp16 (with
 * graphs: heuristic search, fused) stays within 2e-2 of the CPU backend. */
static void check_graphs(const char *weights, const char *fixtures, const char *oracle, const char *tmp)
{
    run_setup plain = {"cuda", DLP_CUDA_FP32, false, DLP_RESIZE_AREA, "", false, 0};
    run_setup graphs = {"cuda", DLP_CUDA_FP32, false, DLP_RESIZE_AREA, "", true, 0};
    run_setup half_graphs = {"cuda", DLP_CUDA_FP16, false, DLP_RESIZE_AREA, "", true, 0};
    run_setup cpu_setup = {"cpu", DLP_CUDA_FP32, false, DLP_RESIZE_AREA, "", false, 0};
    run_result a, b, half, cpu;
    dlp_featurize_stats stats;
    int ok = featurize(&plain, weights, fixtures, oracle, tmp, &a, &stats);
    ok &= featurize(&graphs, weights, fixtures, oracle, tmp, &b, &stats);
    ok &= featurize(&half_graphs, weights, fixtures, oracle, tmp, &half, &stats);
    ok &= featurize(&cpu_setup, weights, fixtures, oracle, tmp, &cpu, &stats);
    size_t differing = 0;
    double worst = 0;
    if (ok) compare_runs(&a, &b, &half, &cpu, &differing, &worst);
    printf("  CUDA graphs: fp32 rows differing with vs without: %zu (expected 0); fp16 worst relative L2 vs the CPU "
           "backend %.3g (bound 2e-2)\n", differing, worst);
    CHECK(ok && differing == 0 && worst <= 2e-2);
    result_free(&a);
    result_free(&b);
    result_free(&half);
    result_free(&cpu);
}

/* Packed budget of 7000 bytes vs the default: fp32 the same floats (same
 * rows failing), fp16 within 2e-2 (gpu.zoo_half_cuda's bound) of them. */
static void check_packed_budget(const char *weights, const char *fixtures, const char *oracle, const char *tmp)
{
    run_setup whole = {"cuda", DLP_CUDA_FP32, false, DLP_RESIZE_AREA, "", false, 0};
    run_setup budget = {"cuda", DLP_CUDA_FP32, false, DLP_RESIZE_AREA, "", false, 7000};
    run_setup half_budget = {"cuda", DLP_CUDA_FP16, false, DLP_RESIZE_AREA, "", false, 7000};
    run_result a, b, half;
    dlp_featurize_stats stats;
    setenv("DLP_JPEG_SPLIT", "0", 1); /* pixels only: the split's records over budget are check_jpeg_split's */
    int ok = featurize(&whole, weights, fixtures, oracle, tmp, &a, &stats);
    ok &= featurize(&budget, weights, fixtures, oracle, tmp, &b, &stats);
    ok &= featurize(&half_budget, weights, fixtures, oracle, tmp, &half, &stats);
    unsetenv("DLP_JPEG_SPLIT");
    size_t differing = 0;
    double worst = 0;
    if (ok) compare_runs(&a, &b, &half, &a, &differing, &worst);
    printf("  packed budget 7000 bytes: fp32 rows differing from the default budget: %zu (expected 0); fp16 worst "
           "relative L2 vs them %.3g (bound 2e-2)\n", differing, worst);
    CHECK(ok && differing == 0 && worst <= 2e-2);
    result_free(&a);
    result_free(&b);
    result_free(&half);
}

/* The JPEG split (the default; DLP_JPEG_SPLIT=0 turns it off): the five
 * covered fixture JPEGs (4:2:0, 4:2:2, 4:4:4, progressive, optimized) go to
 * the device as coefficients, the rest as pixels; the same floats as without it on every row (the same
 * pixels, the same network), the same rows failing, with the default budget
 * and with 7000 bytes (records past it decode as before). */
static void check_jpeg_split(const char *weights, const char *fixtures, const char *oracle, const char *tmp)
{
    run_setup plain = {"cuda", DLP_CUDA_FP32, false, DLP_RESIZE_AREA, "", false, 0};
    run_setup budget = {"cuda", DLP_CUDA_FP32, false, DLP_RESIZE_AREA, "", false, 7000};
    run_result a, b, c;
    dlp_featurize_stats stats = {0}, budget_stats = {0};
    setenv("DLP_JPEG_SPLIT", "0", 1);
    int ok = featurize(&plain, weights, fixtures, oracle, tmp, &a, &stats);
    CHECK(ok && stats.jpeg_split == 0);
    unsetenv("DLP_JPEG_SPLIT"); /* the default: on */
    ok &= featurize(&plain, weights, fixtures, oracle, tmp, &b, &stats);
    ok &= featurize(&budget, weights, fixtures, oracle, tmp, &c, &budget_stats);
    size_t differing = 0;
    double worst = 0;
    if (ok) {
        compare_runs(&a, &b, &b, &a, &differing, &worst);
        compare_runs(&a, &c, &c, &a, &differing, &worst);
    }
    printf("  JPEG split: %zu rows as coefficients (default budget), %zu (7000 bytes); fp32 rows differing from "
           "without it: %zu (expected 0)\n", stats.jpeg_split, budget_stats.jpeg_split, differing);
    CHECK(ok && differing == 0 && stats.jpeg_split == 5 && budget_stats.jpeg_split <= 5);
    result_free(&a);
    result_free(&b);
    result_free(&c);
}

int main(void)
{
    check_skip_without_cuda();
    const char *shared = getenv("DLP_SHARED_DIR"), *fixtures = getenv("DLP_FIXTURES");
    const char *tmp = getenv("DLP_TEST_TMP") ? getenv("DLP_TEST_TMP") : "/tmp";
    char weights[4200], oracle[4200];
    snprintf(weights, sizeof weights, "%s/models/nsfwjs-inception_v3/model.json", shared ? shared : "../shared");
    snprintf(oracle, sizeof oracle, "%s/oracle", shared ? shared : "../shared");
    FILE *probe = fopen(weights, "rb");
    if (!probe || !fixtures) {
        if (probe) fclose(probe);
        printf("SKIP: needs %s (the shared nsfwjs model) and DLP_FIXTURES\n", weights);
        return 77;
    }
    fclose(probe);
    /* DLP_FEATURIZE_CUDA_ONLY=packed_budget: that check alone (a short device run). */
    const char *only = getenv("DLP_FEATURIZE_CUDA_ONLY");
    if (only && strcmp(only, "packed_budget") == 0) {
        check_packed_budget(weights, fixtures, oracle, tmp);
        return check_summary("gpu.featurize_cuda (packed budget only)");
    }
    if (only && strcmp(only, "jpeg_split") == 0) {
        check_jpeg_split(weights, fixtures, oracle, tmp);
        return check_summary("gpu.featurize_cuda (JPEG split only)");
    }
    const dlp_resize methods[] = {DLP_RESIZE_AREA, DLP_RESIZE_BILINEAR, DLP_RESIZE_NEAREST};
    const char *names[] = {"area", "bilinear", "nearest"};
    dlp_featurize_stats stats;
    for (int m = 0; m < 3; m++) {
        run_result device, host, cpu;
        run_setup on_device = {"cuda", DLP_CUDA_FP32, false, methods[m], "", false, 0};
        run_setup on_host = {"cuda", DLP_CUDA_FP32, true, methods[m], "", false, 0};
        run_setup on_cpu = {"cpu", DLP_CUDA_FP32, false, methods[m], "", false, 0};
        int ok = featurize(&on_device, weights, fixtures, oracle, tmp, &device, &stats);
        ok &= featurize(&on_host, weights, fixtures, oracle, tmp, &host, &stats);
        ok &= featurize(&on_cpu, weights, fixtures, oracle, tmp, &cpu, &stats);
        if (ok) compare(&device, &host, &cpu, names[m]);
        result_free(&device);
        result_free(&host);
        result_free(&cpu);
    }
    check_half_with_cache(weights, fixtures, oracle, tmp);
    check_graphs(weights, fixtures, oracle, tmp);
    check_packed_budget(weights, fixtures, oracle, tmp);
    check_jpeg_split(weights, fixtures, oracle, tmp);
    return check_summary("gpu.featurize_cuda");
}

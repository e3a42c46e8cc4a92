/* Pipelines: fit on the digits fixture and compare with Spark's predictions
 * (tests/fixtures/logreg/spark_logreg.json, PySpark 3.5), save/load round
 * trips that change nothing, and the refusals of load (weights sha256, feature
 * dim, a coefficients file that does not belong) and of fit/transform. */
#include <jansson.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "core/sha256.h"
#include "dlp/dlp.h"

enum { DIGITS_ROWS = 1797, DIGITS_COLS = 64 };

static void *read_fixture(const char *fixtures, const char *name, size_t bytes)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/logreg/%s", fixtures, name);
    FILE *f = fopen(path, "rb");
    void *data = malloc(bytes);
    if (!f || fread(data, 1, bytes, f) != bytes) {
        fprintf(stderr, "cannot read %s (%zu bytes)\n", path, bytes);
        exit(1);
    }
    fclose(f);
    return data;
}

/* Spark's case on digits with regParam 0.1, elasticNetParam 0, converged (tol 1e-10). */
static json_t *spark_case(const char *fixtures, json_t **root)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/logreg/spark_logreg.json", fixtures);
    json_error_t error;
    *root = json_load_file(path, 0, &error);
    if (!*root) exit(1);
    json_t *c;
    size_t i;
    json_array_foreach(json_object_get(*root, "cases"), i, c) {
        if (!strcmp(json_string_value(json_object_get(c, "dataset")), "digits") &&
            json_real_value(json_object_get(c, "reg_param")) == 0.1 &&
            json_number_value(json_object_get(c, "elastic_net_param")) == 0.0 &&
            json_is_true(json_object_get(c, "standardization")) && json_is_true(json_object_get(c, "fit_intercept")) &&
            json_integer_value(json_object_get(c, "max_iter")) == 1000)
            return c;
    }
    fprintf(stderr, "spark_logreg.json: no digits case with regParam 0.1\n");
    exit(1);
}

static void write_bytes(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    fputs(text, f);
    fclose(f);
}

/* Rewrites one integer field of pipeline.json (a hand edit, to test refusals). */
static void edit_json_integer(const char *dir, const char *key, json_int_t value)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/pipeline.json", dir);
    json_t *root = json_load_file(path, 0, NULL);
    json_object_set_new(root, key, json_integer(value));
    json_dump_file(root, path, JSON_INDENT(2) | JSON_REAL_PRECISION(17));
    json_decref(root);
}

static void check_spark_predictions(const dlp_pipeline *p, const float *features, json_t *spark)
{
    double *prediction = malloc(DIGITS_ROWS * sizeof *prediction);
    double *probability = malloc(DIGITS_ROWS * 10 * sizeof *probability);
    CHECK_OK(dlp_pipeline_transform(p, features, DIGITS_ROWS, DIGITS_COLS, NULL, probability, prediction));
    size_t mismatches = 0;
    for (size_t i = 0; i < DIGITS_ROWS; i++)
        mismatches += prediction[i] != json_number_value(json_array_get(json_object_get(spark, "predictions"), i));
    CHECK(mismatches == 0);
    json_t *head = json_object_get(spark, "probability_head");
    /* Parameters agree with Spark's to 1e-4 relative (test_logreg), so probabilities to 1e-3. */
    for (size_t i = 0; i < json_array_size(head); i++)
        for (size_t k = 0; k < 10; k++)
            CHECK_NEAR(probability[i * 10 + k], json_number_value(json_array_get(json_array_get(head, i), k)), 1e-3);
    free(prediction);
    free(probability);
}

/* Save, load, and the loaded pipeline must give bit-identical outputs. */
static void check_round_trip(const dlp_pipeline *p, const char *dir, const float *features, size_t rows, size_t cols)
{
    CHECK_OK(dlp_pipeline_save(p, dir));
    dlp_pipeline *loaded = NULL;
    CHECK_OK(dlp_pipeline_load(dir, NULL, DLP_PIPELINE_LOAD_DEFAULT, &loaded));
    if (!loaded) return;
    const dlp_logreg_model *a = dlp_pipeline_model(p), *b = dlp_pipeline_model(loaded);
    size_t columns = dlp_logreg_output_columns(a);
    CHECK(dlp_logreg_output_columns(b) == columns && dlp_pipeline_feature_dim(loaded) == cols);
    CHECK(dlp_logreg_class_count(a) == dlp_logreg_class_count(b));
    size_t n = dlp_logreg_coefficient_sets(a) * cols;
    CHECK(memcmp(dlp_logreg_coefficients(a), dlp_logreg_coefficients(b), n * sizeof(double)) == 0);
    CHECK(memcmp(dlp_logreg_intercepts(a), dlp_logreg_intercepts(b), dlp_logreg_coefficient_sets(a) * sizeof(double)) == 0);
    double *raw_a = malloc(rows * columns * sizeof(double)), *raw_b = malloc(rows * columns * sizeof(double));
    double *prediction_a = malloc(rows * sizeof(double)), *prediction_b = malloc(rows * sizeof(double));
    CHECK_OK(dlp_pipeline_transform(p, features, rows, cols, raw_a, NULL, prediction_a));
    CHECK_OK(dlp_pipeline_transform(loaded, features, rows, cols, raw_b, NULL, prediction_b));
    CHECK(memcmp(prediction_a, prediction_b, rows * sizeof(double)) == 0);
    CHECK(memcmp(raw_a, raw_b, rows * columns * sizeof(double)) == 0 || isinf(raw_a[0]));
    CHECK(dlp_pipeline_label_count(loaded) == dlp_pipeline_label_count(p));
    for (size_t i = 0; i < dlp_pipeline_label_count(p); i++)
        CHECK(!strcmp(dlp_pipeline_label_name(loaded, i), dlp_pipeline_label_name(p, i)));
    free(raw_a), free(raw_b), free(prediction_a), free(prediction_b);
    dlp_pipeline_destroy(loaded);
}

static void check_weights_refusals(const char *tmp, const float *features, const double *labels,
                                   const dlp_logreg_params *params)
{
    char weights[4096], dir[4096], other[4096];
    snprintf(weights, sizeof weights, "%s/pipeline_weights.bin", tmp);
    snprintf(other, sizeof other, "%s/pipeline_other_weights.bin", tmp);
    snprintf(dir, sizeof dir, "%s/pipeline_featurized", tmp);
    write_bytes(weights, "pretend these are InceptionV3 weights");
    write_bytes(other, "other weights");
    dlp_featurizer_description f = {.model = "InceptionV3", .weights_path = weights, .pooling = "avg",
                                    .input_height = 299, .input_width = 299, .preprocessing = "tf",
                                    .feature_dim = DIGITS_COLS};
    dlp_pipeline *p = NULL;
    CHECK_OK(dlp_pipeline_create(&f, &p));
    char hex[65];
    dlp_sha256_file(weights, hex);
    CHECK(!strcmp(dlp_pipeline_featurizer(p)->weights_sha256, hex));
    CHECK_OK(dlp_pipeline_fit(p, params, features, DIGITS_ROWS, DIGITS_COLS, labels, NULL));
    CHECK_FAILS(dlp_pipeline_fit(p, params, features, DIGITS_ROWS, DIGITS_COLS - 1, labels, NULL), DLP_ERR_DATA,
                "63 columns, the featurizer InceptionV3 produces 64");
    check_round_trip(p, dir, features, DIGITS_ROWS, DIGITS_COLS);
    dlp_pipeline *loaded = NULL;
    CHECK_FAILS(dlp_pipeline_load(dir, other, 0, &loaded), DLP_ERR_MODEL, "stages.featurizer.weights.sha256: expected");
    CHECK(loaded == NULL);
    CHECK_OK(dlp_pipeline_load(dir, other, DLP_PIPELINE_LOAD_SKIP_WEIGHTS_CHECK, &loaded));
    dlp_pipeline_destroy(loaded);
    write_bytes(weights, "the weights changed on disk");
    CHECK_FAILS(dlp_pipeline_load(dir, NULL, 0, &loaded), DLP_ERR_MODEL, weights);
    unlink(weights);
    CHECK_FAILS(dlp_pipeline_load(dir, NULL, 0, &loaded), DLP_ERR_MODEL, "weights cannot be checked");
    edit_json_integer(dir, "feature_dim", 2048);
    CHECK_FAILS(dlp_pipeline_load(dir, NULL, DLP_PIPELINE_LOAD_SKIP_WEIGHTS_CHECK, &loaded), DLP_ERR_MODEL,
                "feature_dim: expected 64, found 2048");
    dlp_pipeline_destroy(p);
}

/* A logreg.safetensors from another fit is refused by its hash. */
static void check_mismatched_files(const char *tmp, const float *features, const double *labels,
                                   const dlp_logreg_params *params, const char *first_dir)
{
    char dir[4096], command[8400];
    snprintf(dir, sizeof dir, "%s/pipeline_second", tmp);
    dlp_logreg_params other = *params;
    other.reg_param = 0.5;
    dlp_pipeline *p = NULL;
    CHECK_OK(dlp_pipeline_create(NULL, &p));
    CHECK_OK(dlp_pipeline_fit(p, &other, features, DIGITS_ROWS, DIGITS_COLS, labels, NULL));
    CHECK_OK(dlp_pipeline_save(p, dir));
    snprintf(command, sizeof command, "cp '%s/logreg.safetensors' '%s/logreg.safetensors'", dir, first_dir);
    CHECK(system(command) == 0);
    dlp_pipeline *loaded = NULL;
    CHECK_FAILS(dlp_pipeline_load(first_dir, NULL, 0, &loaded), DLP_ERR_MODEL, "do not belong together");
    dlp_pipeline_destroy(p);
}

/* Spark: all labels equal -> no training, intercept +inf, every prediction that label. */
static void check_single_class(const char *tmp, const float *features, const dlp_logreg_params *params)
{
    double *labels = malloc(DIGITS_ROWS * sizeof *labels);
    for (size_t i = 0; i < DIGITS_ROWS; i++) labels[i] = 3;
    dlp_pipeline *p = NULL;
    CHECK_OK(dlp_pipeline_create(NULL, &p));
    CHECK_OK(dlp_pipeline_fit(p, params, features, DIGITS_ROWS, DIGITS_COLS, labels, NULL));
    const dlp_logreg_model *m = dlp_pipeline_model(p);
    CHECK(dlp_logreg_class_count(m) == 4 && isinf(dlp_logreg_intercepts(m)[3]));
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/pipeline_single", tmp);
    check_round_trip(p, dir, features, 5, DIGITS_COLS);
    double prediction[5];
    CHECK_OK(dlp_pipeline_transform(p, features, 5, DIGITS_COLS, NULL, NULL, prediction));
    for (int i = 0; i < 5; i++) CHECK(prediction[i] == 3);
    dlp_pipeline_destroy(p);
    free(labels);
}

int main(void)
{
    const char *fixtures = check_env("DLP_FIXTURES"), *tmp = check_env("DLP_TEST_TMP");
    float *features = read_fixture(fixtures, "digits.features.f32", sizeof(float) * DIGITS_ROWS * DIGITS_COLS);
    double *labels = read_fixture(fixtures, "digits.labels.f64", sizeof(double) * DIGITS_ROWS);
    json_t *root = NULL, *spark = spark_case(fixtures, &root);
    dlp_logreg_params params;
    dlp_logreg_params_default(&params);
    params.reg_param = 0.1, params.max_iter = 1000, params.tol = 1e-10;

    dlp_pipeline *p = NULL;
    CHECK_OK(dlp_pipeline_create(NULL, &p));
    CHECK(dlp_pipeline_featurizer(p) == NULL && dlp_pipeline_model(p) == NULL);
    CHECK_FAILS(dlp_pipeline_transform(p, features, 1, DIGITS_COLS, NULL, NULL, NULL), DLP_ERR_INVALID_ARGUMENT,
                "not fitted");
    const char *names[10] = {"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"};
    CHECK_OK(dlp_pipeline_set_label_names(p, names, 10));
    CHECK_OK(dlp_pipeline_fit(p, &params, features, DIGITS_ROWS, DIGITS_COLS, labels, NULL));
    check_spark_predictions(p, features, spark);
    double prediction[2];
    CHECK_FAILS(dlp_pipeline_transform(p, features, 2, 63, NULL, NULL, prediction), DLP_ERR_DATA,
                "63 columns, the pipeline expects 64");

    char dir[4096];
    snprintf(dir, sizeof dir, "%s/pipeline_digits", tmp);
    check_round_trip(p, dir, features, DIGITS_ROWS, DIGITS_COLS);
    check_round_trip(p, dir, features, DIGITS_ROWS, DIGITS_COLS); /* replaces the existing directory */
    dlp_pipeline *loaded = NULL;
    CHECK_OK(dlp_pipeline_load(dir, NULL, 0, &loaded));
    if (loaded) check_spark_predictions(loaded, features, spark);
    dlp_pipeline_destroy(loaded);

    char not_pipeline[4096];
    snprintf(not_pipeline, sizeof not_pipeline, "%s/pipeline_not_a_pipeline", tmp);
    mkdir(not_pipeline, 0777);
    CHECK_FAILS(dlp_pipeline_save(p, not_pipeline), DLP_ERR_IO, "not a pipeline directory");
    CHECK_FAILS(dlp_pipeline_load(not_pipeline, NULL, 0, &loaded), DLP_ERR_MODEL, "pipeline.json");

    check_mismatched_files(tmp, features, labels, &params, dir);
    check_weights_refusals(tmp, features, labels, &params);
    check_single_class(tmp, features, &params);

    dlp_pipeline_destroy(p);
    json_decref(root);
    free(features);
    free(labels);
    return check_summary("pipeline");
}

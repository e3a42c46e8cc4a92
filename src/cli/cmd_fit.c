/* cmd_fit.c: `dlp fit`: the brief's workflow in one command: featurize a
 * labelled folder tree once (features cached), split it (or take a separate
 * test tree), fit the logistic regression, evaluate on the held-out rows,
 * print the metrics and the confusion matrix, and write the pipeline with a
 * report.json and the test predictions. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli/feature_store.h"
#include "cli/images.h"
#include "cli/predictions.h"
#include "cli/progress.h"
#include "core/status.h"
#include "data/output_file.h"

#include <jansson.h>

static const char usage[] =
    "Usage: dlp fit [OPTIONS] --images DIR [--split 0.8 --seed 42 | --test-images DIR2] -o PIPELINE_DIR\n\n"
    "Featurizes labelled images (a folder per class; integer folder names are the labels,\n"
    "otherwise sorted names get 0..K-1), splits them, fits a logistic regression (Spark MLlib's\n"
    "semantics) on the training rows and evaluates it on the held-out rows. Writes the pipeline\n"
    "(pipeline.json, logreg.safetensors), report.json and test_predictions.jsonl into\n"
    "PIPELINE_DIR. Rows whose image cannot be read are reported and left out of training and\n"
    "evaluation (exit code 5). Training rows past DLP_FEATURIZE_CHUNK_BYTES (4 GiB) of features\n"
    "go to an unlinked scratch file in $TMPDIR (default /tmp), mapped for the fit.\n\n"
    "Data:\n"
    "  --images SRC        training images: folder tree or list file (repeat to combine)\n"
    "  --test-images SRC   held-out images (instead of a random split)\n"
    "  --split F           fraction for training (default 0.8), the rest is held out\n"
    "  --seed N            split seed (default 42)\n"
    "  --stratified        exact per-class proportions instead of Spark's random split\n"
    "Logistic regression (Spark's names and defaults):\n"
    "  --max-iter N        maxIter (100)\n"
    "  --reg X             regParam (0)\n"
    "  --elastic-net X     elasticNetParam in [0, 1] (0: L2 ... 1: L1)\n"
    "  --tol X             tol (1e-6)\n"
    "  --standardization true|false   (true)\n"
    "  --fit-intercept true|false     (true)\n"
    "  --family auto|binomial|multinomial\n"
    "  --train-device D    where the objective runs: cpu (default), cuda, cuda:N, or auto (a GPU if\n"
    "                      one works); --device below is the network's\n"
    "Network:\n" CLI_FEATURIZER_HELP
    "Output:\n"
    "  -o, --output DIR    the pipeline directory (replaced if it is a pipeline)\n"
    "  --json              print the report as JSON instead of the table\n"
    "  -h, --help          this help\n";

enum {
    OPT_IMAGES = CLI_OPT_FIRST_FREE,
    OPT_TEST_IMAGES,
    OPT_SPLIT,
    OPT_SEED,
    OPT_STRATIFIED,
    OPT_MAX_ITER,
    OPT_REG,
    OPT_ELASTIC_NET,
    OPT_TOL,
    OPT_STANDARDIZATION,
    OPT_FIT_INTERCEPT,
    OPT_FAMILY,
    OPT_TRAIN_DEVICE,
    OPT_JSON
};

typedef struct fit_settings {
    cli_featurizer_settings featurizer;
    dlp_logreg_params logreg;
    dlp_dataset *images, *test_images;
    double split;
    unsigned long long seed;
    int stratified, json;
    const char *output;
} fit_settings;

static int parse_bool(const char *text, int *value)
{
    if (!strcmp(text, "true") || !strcmp(text, "1")) *value = 1;
    else if (!strcmp(text, "false") || !strcmp(text, "0")) *value = 0;
    else return 0;
    return 1;
}

/* Returns -1 to go on, else the exit code. */
static int parse_arguments(int argc, char **argv, fit_settings *s)
{
    static const struct option options[] = {CLI_FEATURIZER_LONG_OPTIONS,
                                            {"images", required_argument, NULL, OPT_IMAGES},
                                            {"test-images", required_argument, NULL, OPT_TEST_IMAGES},
                                            {"split", required_argument, NULL, OPT_SPLIT},
                                            {"seed", required_argument, NULL, OPT_SEED},
                                            {"stratified", no_argument, NULL, OPT_STRATIFIED},
                                            {"max-iter", required_argument, NULL, OPT_MAX_ITER},
                                            {"reg", required_argument, NULL, OPT_REG},
                                            {"elastic-net", required_argument, NULL, OPT_ELASTIC_NET},
                                            {"tol", required_argument, NULL, OPT_TOL},
                                            {"standardization", required_argument, NULL, OPT_STANDARDIZATION},
                                            {"fit-intercept", required_argument, NULL, OPT_FIT_INTERCEPT},
                                            {"family", required_argument, NULL, OPT_FAMILY},
                                            {"train-device", required_argument, NULL, OPT_TRAIN_DEVICE},
                                            {"json", no_argument, NULL, OPT_JSON},
                                            {"output", required_argument, NULL, 'o'},
                                            {"help", no_argument, NULL, 'h'},
                                            {0}};
    int option;
    long integer;
    optind = 1;
    while ((option = getopt_long(argc, argv, "ho:", options, NULL)) != -1) {
        int handled = cli_featurizer_option("fit", option, optarg, &s->featurizer);
        if (handled < 0) return CLI_EXIT_USAGE;
        if (handled) continue;
        dlp_status status;
        switch (option) {
        case OPT_IMAGES:
        case OPT_TEST_IMAGES:
            status = cli_add_image_source(option == OPT_IMAGES ? &s->images : &s->test_images, optarg);
            if (status != DLP_OK) return cli_fail("fit", status);
            break;
        case OPT_SPLIT:
            if (!cli_parse_double(optarg, &s->split) || !(s->split > 0 && s->split < 1))
                return cli_usage_error("fit", "--split '%s': expected a fraction strictly between 0 and 1", optarg);
            break;
        case OPT_SEED: {
            char *end = NULL;
            s->seed = strtoull(optarg, &end, 10);
            if (!*optarg || *end) return cli_usage_error("fit", "--seed '%s': expected a non-negative integer", optarg);
            break;
        }
        case OPT_STRATIFIED: s->stratified = 1; break;
        case OPT_MAX_ITER:
            if (!cli_parse_int(optarg, 0, 1000000, &integer))
                return cli_usage_error("fit", "--max-iter '%s': expected an integer in 0..1000000", optarg);
            s->logreg.max_iter = (int)integer;
            break;
        case OPT_REG:
            if (!cli_parse_double(optarg, &s->logreg.reg_param) || !(s->logreg.reg_param >= 0) ||
                !isfinite(s->logreg.reg_param))
                return cli_usage_error("fit", "--reg '%s': expected a finite number >= 0", optarg);
            break;
        case OPT_ELASTIC_NET:
            if (!cli_parse_double(optarg, &s->logreg.elastic_net_param) ||
                !(s->logreg.elastic_net_param >= 0 && s->logreg.elastic_net_param <= 1))
                return cli_usage_error("fit", "--elastic-net '%s': expected a number in [0, 1]", optarg);
            break;
        case OPT_TOL:
            if (!cli_parse_double(optarg, &s->logreg.tol) || !(s->logreg.tol >= 0) || !isfinite(s->logreg.tol))
                return cli_usage_error("fit", "--tol '%s': expected a finite number >= 0", optarg);
            break;
        case OPT_STANDARDIZATION:
            if (!parse_bool(optarg, &s->logreg.standardization))
                return cli_usage_error("fit", "--standardization '%s': expected true or false", optarg);
            break;
        case OPT_FIT_INTERCEPT:
            if (!parse_bool(optarg, &s->logreg.fit_intercept))
                return cli_usage_error("fit", "--fit-intercept '%s': expected true or false", optarg);
            break;
        case OPT_FAMILY:
            if (!strcmp(optarg, "auto")) s->logreg.family = DLP_FAMILY_AUTO;
            else if (!strcmp(optarg, "binomial")) s->logreg.family = DLP_FAMILY_BINOMIAL;
            else if (!strcmp(optarg, "multinomial")) s->logreg.family = DLP_FAMILY_MULTINOMIAL;
            else return cli_usage_error("fit", "--family '%s': expected auto, binomial or multinomial", optarg);
            break;
        case OPT_TRAIN_DEVICE:
            if (!cli_parse_logreg_device(optarg, &s->logreg))
                return cli_usage_error("fit", "--train-device '%s': expected auto, cpu, cuda or cuda:N", optarg);
            break;
        case OPT_JSON: s->json = 1; break;
        case 'o': s->output = optarg; break;
        case 'h': fputs(usage, stdout); return CLI_EXIT_OK;
        default: return cli_usage_error("fit", "unknown option");
        }
    }
    if (optind < argc) return cli_usage_error("fit", "unexpected argument '%s'", argv[optind]);
    if (!s->images || !s->output) return cli_usage_error("fit", "--images and -o are required");
    return -1;
}

/* Train and test rows: a separate test tree (labels reconciled through the
 * union of both), or a seeded split of the training images. */
static dlp_status make_splits(const fit_settings *s, dlp_dataset **train, dlp_dataset **test)
{
    if (!s->test_images) {
        double weights[2] = {s->split, 1 - s->split};
        dlp_dataset *splits[2];
        DLP_TRY(dlp_dataset_split(s->images, weights, 2, s->seed, s->stratified, splits));
        *train = splits[0], *test = splits[1];
        return DLP_OK;
    }
    dlp_dataset *all = NULL;
    DLP_TRY(dlp_dataset_union(s->images, s->test_images, &all));
    size_t train_rows = dlp_dataset_size(s->images), rows = dlp_dataset_size(all);
    size_t *indices = malloc((rows ? rows : 1) * sizeof *indices);
    if (!indices) {
        dlp_dataset_destroy(all);
        return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "out of memory");
    }
    for (size_t i = 0; i < rows; i++) indices[i] = i;
    dlp_status status = dlp_dataset_subset(all, indices, train_rows, train);
    if (status == DLP_OK) {
        status = dlp_dataset_subset(all, indices + train_rows, rows - train_rows, test);
        if (status != DLP_OK) dlp_dataset_destroy(*train);
    }
    free(indices);
    dlp_dataset_destroy(all);
    return status;
}

static dlp_status make_pipeline(const dlp_featurizer *featurizer, const dlp_featurizer_options *options,
                                const dlp_dataset *train, dlp_pipeline **pipeline)
{
    const dlp_model_info *model = dlp_featurizer_model(featurizer);
    dlp_featurizer_description description = {
        .model = model->name,
        .weights_path = dlp_featurizer_weights_path(featurizer),
        .weights_sha256 = dlp_featurizer_weights_sha256(featurizer),
        .pooling = dlp_pooling_name(options->pooling),
        .input_height = model->input_h,
        .input_width = model->input_w,
        .preprocessing = model->preprocessing == DLP_PREPROCESS_CAFFE ? "caffe" : "tf",
        .feature_dim = dlp_featurizer_dim(featurizer),
    };
    DLP_TRY(dlp_pipeline_create(&description, pipeline));
    size_t classes = (size_t)dlp_dataset_label_count(train);
    const char **names = calloc(classes ? classes : 1, sizeof *names);
    if (!names) return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "out of memory");
    /* Unnamed labels (a list file with numbers) are named by their number. */
    char (*numbers)[24] = calloc(classes ? classes : 1, sizeof *numbers);
    if (!numbers) {
        free(names);
        return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "out of memory");
    }
    for (size_t c = 0; c < classes; c++) {
        names[c] = dlp_dataset_label_name(train, (int64_t)c);
        if (!names[c]) {
            snprintf(numbers[c], sizeof numbers[c], "%zu", c);
            names[c] = numbers[c];
        }
    }
    dlp_status status = dlp_pipeline_set_label_names(*pipeline, names, classes);
    free(names);
    free(numbers);
    return status;
}

typedef struct fit_result {
    dlp_featurize_stats train_stats, test_stats;
    size_t train_used, test_used;
    double fit_seconds;
    size_t scratch_bytes; /* the training features in a scratch file (feature_store.h), or 0: on the heap */
    dlp_multiclass_metrics *metrics;
} fit_result;

static void add_metrics(json_t *report, const dlp_multiclass_metrics *metrics)
{
    if (!metrics) {
        json_object_set_new(report, "metrics", json_null());
        return;
    }
    json_t *m = json_object();
    json_object_set_new(m, "f1", json_real(dlp_metrics_f1(metrics)));
    json_object_set_new(m, "weightedPrecision", json_real(dlp_metrics_weighted_precision(metrics)));
    json_object_set_new(m, "weightedRecall", json_real(dlp_metrics_weighted_recall(metrics)));
    json_object_set_new(m, "accuracy", json_real(dlp_metrics_accuracy(metrics)));
    double log_loss = dlp_metrics_log_loss(metrics);
    json_object_set_new(m, "logLoss", isfinite(log_loss) ? json_real(log_loss) : json_null());
    size_t n = dlp_metrics_label_count(metrics);
    const double *labels = dlp_metrics_labels(metrics), *confusion = dlp_metrics_confusion_matrix(metrics);
    json_t *label_array = json_array(), *rows = json_array();
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(label_array, json_real(labels[i]));
        json_t *row = json_array();
        for (size_t j = 0; j < n; j++) json_array_append_new(row, json_real(confusion[i * n + j]));
        json_array_append_new(rows, row);
    }
    json_object_set_new(m, "labels", label_array);
    json_object_set_new(m, "confusion_matrix", rows);
    json_object_set_new(report, "metrics", m);
}

static json_t *stats_json(const dlp_featurize_stats *stats, size_t rows, size_t used)
{
    return json_pack("{s:I,s:I,s:I,s:I,s:I,s:f}", "rows", (json_int_t)rows, "used", (json_int_t)used, "failed",
                     (json_int_t)stats->failed, "computed", (json_int_t)stats->computed, "from_cache",
                     (json_int_t)stats->cache_hits, "featurize_seconds", stats->seconds);
}

/* Writes report.json; with --json the same text goes to stdout too. */
static dlp_status write_report(const char *path, const fit_settings *s, const dlp_featurizer *featurizer,
                               const dlp_pipeline *pipeline, const dlp_dataset *train, const dlp_dataset *test,
                               const fit_result *result)
{
    json_t *report = json_object();
    const dlp_logreg_params *p = &s->logreg;
    json_object_set_new(report, "dlp_version", json_string(dlp_version_string()));
    json_object_set_new(report, "model", json_string(dlp_featurizer_model(featurizer)->name));
    json_object_set_new(report, "weights", json_string(dlp_featurizer_weights_path(featurizer)));
    json_object_set_new(report, "weights_sha256", json_string(dlp_featurizer_weights_sha256(featurizer)));
    json_object_set_new(report, "device", json_string(dlp_featurizer_device(featurizer)));
    json_object_set_new(report, "pooling", json_string(dlp_pooling_name(s->featurizer.options.pooling)));
    json_object_set_new(report, "feature_dim", json_integer((json_int_t)dlp_featurizer_dim(featurizer)));
    json_object_set_new(report, "split",
                        s->test_images ? json_pack("{s:s}", "kind", "test-images")
                                       : json_pack("{s:s,s:f,s:I,s:b}", "kind", "random", "train_fraction", s->split,
                                                   "seed", (json_int_t)s->seed, "stratified", s->stratified));
    json_object_set_new(report, "train", stats_json(&result->train_stats, dlp_dataset_size(train), result->train_used));
    json_object_set_new(report, "test", stats_json(&result->test_stats, dlp_dataset_size(test), result->test_used));
    char train_device[32] = "cpu";
    if (p->device == DLP_LOGREG_DEVICE_CUDA) snprintf(train_device, sizeof train_device, "cuda:%d", p->cuda_device);
    json_object_set_new(report, "logistic_regression",
                        json_pack("{s:i,s:f,s:f,s:f,s:b,s:b,s:i,s:s}", "maxIter", p->max_iter, "regParam",
                                  p->reg_param, "elasticNetParam", p->elastic_net_param, "tol", p->tol, "fitIntercept",
                                  p->fit_intercept, "standardization", p->standardization, "family", p->family,
                                  "device", train_device));
    const dlp_logreg_model *model = dlp_pipeline_model(pipeline);
    size_t history_count = 0;
    const double *history = dlp_logreg_objective_history(model, &history_count);
    json_t *history_array = json_array();
    for (size_t i = 0; i < history_count; i++) json_array_append_new(history_array, json_real(history[i]));
    json_object_set_new(report, "objective_history", history_array);
    json_object_set_new(report, "iterations", json_integer((json_int_t)dlp_logreg_iterations(model)));
    json_object_set_new(report, "fit_seconds", json_real(result->fit_seconds));
    /* Where the fit read its training features from (feature_store.h): the heap, or a scratch file past
     * DLP_FEATURIZE_CHUNK_BYTES. */
    size_t feature_bytes = result->train_used * dlp_featurizer_dim(featurizer) * sizeof(float);
    json_object_set_new(report, "training_features",
                        json_pack("{s:s,s:I}", "held", result->scratch_bytes ? "scratch file" : "memory", "bytes",
                                  (json_int_t)feature_bytes));
    add_metrics(report, result->metrics);
    dlp_output_file out;
    dlp_status status = dlp_output_file_open(&out, path);
    if (status == DLP_OK) {
        int failed = json_dumpf(report, out.file, JSON_INDENT(2) | JSON_REAL_PRECISION(17));
        status = failed ? dlp_output_file_abort(&out, dlp_fail(DLP_ERR_IO, "%s: cannot write", path))
                        : dlp_output_file_commit(&out);
    }
    if (status == DLP_OK && s->json) {
        json_dumpf(report, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(17));
        putchar('\n');
    }
    json_decref(report);
    return status;
}

static dlp_status write_test_predictions(const char *path, const dlp_pipeline *pipeline, const dlp_dataset *test,
                                         const int64_t *labels, const cli_predictions *predictions)
{
    dlp_output_file out;
    DLP_TRY(dlp_output_file_open(&out, path));
    dlp_status status = DLP_OK;
    for (size_t i = 0; i < dlp_dataset_size(test) && status == DLP_OK; i++) {
        dlp_row row;
        status = dlp_dataset_row(test, i, &row);
        if (status == DLP_OK) status = cli_write_prediction_row(out.file, pipeline, &row, labels[i], predictions, i, 0);
    }
    return status == DLP_OK ? dlp_output_file_commit(&out) : dlp_output_file_abort(&out, status);
}

/* The held-out rows as a list file (dlp evaluate PIPELINE test_images.txt):
 * "path",class per line, the path quoted as CSV. */
static dlp_status write_test_list(const char *path, const dlp_pipeline *pipeline, const dlp_dataset *test,
                                  const int64_t *labels)
{
    dlp_output_file file;
    DLP_TRY(dlp_output_file_open(&file, path));
    FILE *out = file.file;
    fputs("# held-out rows of dlp fit: path,class\n", out);
    for (size_t i = 0; i < dlp_dataset_size(test); i++) {
        dlp_row row;
        dlp_dataset_row(test, i, &row);
        fputc('"', out);
        for (const char *c = row.origin; *c; c++) {
            if (*c == '"') fputc('"', out);
            fputc(*c, out);
        }
        fputc('"', out);
        if (labels[i] >= 0) fprintf(out, ",%s", dlp_pipeline_label_name(pipeline, (size_t)labels[i]));
        fputc('\n', out);
    }
    return dlp_output_file_commit(&file);
}

static void print_summary(const fit_settings *s, const dlp_featurizer *featurizer, const dlp_pipeline *pipeline,
                          const dlp_dataset *train, const dlp_dataset *test, const fit_result *result)
{
    const dlp_logreg_model *model = dlp_pipeline_model(pipeline);
    size_t history_count = 0;
    const double *history = dlp_logreg_objective_history(model, &history_count);
    double featurize_seconds = result->train_stats.seconds + result->test_stats.seconds;
    size_t computed = result->train_stats.computed + result->test_stats.computed;
    printf("dlp fit: %s (%s pooling, %zu features) on %s\n", dlp_featurizer_model(featurizer)->name,
           dlp_pooling_name(s->featurizer.options.pooling), dlp_featurizer_dim(featurizer), dlp_featurizer_device(featurizer));
    printf("  rows            train %zu (used %zu), test %zu (used %zu), failed %zu\n", dlp_dataset_size(train),
           result->train_used, dlp_dataset_size(test), result->test_used,
           result->train_stats.failed + result->test_stats.failed);
    printf("  featurize       %.2fs: %zu computed (%.1f images/s), %zu from cache\n", featurize_seconds, computed,
           featurize_seconds > 0 && computed ? (double)computed / featurize_seconds : 0.0,
           result->train_stats.cache_hits + result->test_stats.cache_hits);
    printf("  train           %.2fs: %zu iterations, objective %.6g -> %.6g\n", result->fit_seconds,
           dlp_logreg_iterations(model), history_count ? history[0] : NAN,
           history_count ? history[history_count - 1] : NAN);
    if (result->scratch_bytes)
        printf("                  training features (%.1f MiB) mapped from a scratch file in $TMPDIR\n",
               (double)result->scratch_bytes / (1024.0 * 1024.0));
    if (result->metrics) {
        printf("\nTest metrics (%zu rows):\n", result->test_used);
        cli_print_metrics(result->metrics, 0, "");
    } else {
        printf("\nNo labelled test rows: nothing to evaluate.\n");
    }
    printf("\nPipeline written to %s (report.json, test_predictions.jsonl, test_images.txt)\n", s->output);
}

/* Keeps the training rows that have a label and a readable image, chunk by chunk (cli_featurize_chunks). */
typedef struct train_rows {
    const dlp_dataset *dataset;
    cli_feature_store *store;
} train_rows;

static dlp_status store_chunk(void *context, size_t first, size_t count, const float *features)
{
    const train_rows *t = context;
    for (size_t i = first; i < first + count; i++) {
        dlp_row row;
        DLP_TRY(dlp_dataset_row(t->dataset, i, &row));
        if (row.status == DLP_OK && row.label >= 0)
            DLP_TRY(cli_feature_store_append(t->store, features + (i - first) * t->store->dim, (double)row.label));
    }
    return DLP_OK;
}

/* Featurizes the training rows into a feature store (bounded memory: feature_store.h) and fits the pipeline's
 * logistic regression on them; the store is released before the test rows are featurized. */
static dlp_status fit_training_rows(const fit_settings *s, dlp_featurizer *featurizer, dlp_dataset *train,
                                    dlp_pipeline **pipeline, fit_result *result)
{
    size_t dim = dlp_featurizer_dim(featurizer);
    cli_feature_store store;
    DLP_TRY(cli_feature_store_init(&store, dim, dlp_dataset_size(train)));
    train_rows rows = {train, &store};
    const float *features = NULL;
    const double *labels = NULL;
    dlp_status status = cli_featurize_chunks(featurizer, train, s->featurizer.quiet, store_chunk, &rows,
                                             &result->train_stats);
    if (status == DLP_OK) status = cli_feature_store_finish(&store, &features, &labels);
    result->train_used = store.count;
    result->scratch_bytes = cli_feature_store_spilled(&store) ? store.count * dim * sizeof(float) : 0;
    if (status == DLP_OK && store.count == 0)
        status = dlp_fail(DLP_ERR_DATA, "no training rows with a label and a readable image (of %zu)",
                          dlp_dataset_size(train));
    if (status == DLP_OK) status = make_pipeline(featurizer, &s->featurizer.options, train, pipeline);
    if (status == DLP_OK) {
        cli_progress progress;
        dlp_logreg_params params = s->logreg;
        params.progress = cli_progress_logreg;
        params.progress_context = &progress;
        cli_progress_start_logreg(&progress, params.max_iter, !s->featurizer.quiet);
        double start = cli_now_seconds();
        status = dlp_pipeline_fit(*pipeline, &params, features, store.count, dim, labels, NULL);
        result->fit_seconds = cli_now_seconds() - start;
        cli_progress_finish(&progress);
    }
    cli_feature_store_free(&store);
    return status;
}

/* --train-device cuda[:N] is checked before any image is featurized, not after. */
static dlp_status check_train_device(const dlp_logreg_params *params)
{
    if (params->device != DLP_LOGREG_DEVICE_CUDA) return DLP_OK;
    dlp_device_info info;
    dlp_status status = dlp_device_get_info(params->cuda_device, &info);
    return status == DLP_OK ? DLP_OK : dlp_fail_context(status, "--train-device cuda:%d", params->cuda_device);
}

static dlp_status run_fit(fit_settings *s, dlp_dataset *train, dlp_dataset *test, int *failed_rows)
{
    dlp_featurizer *featurizer = NULL;
    dlp_pipeline *pipeline = NULL;
    cli_predictions predictions = {0};
    fit_result result = {0};
    char path[4200];
    int64_t *test_labels = malloc((dlp_dataset_size(test) + 1) * sizeof *test_labels);
    dlp_status status = test_labels ? DLP_OK : dlp_fail(DLP_ERR_OUT_OF_MEMORY, "out of memory");
    if (status == DLP_OK) status = check_train_device(&s->logreg);
    if (status == DLP_OK) status = dlp_featurizer_create(&s->featurizer.options, &featurizer);
    if (status == DLP_OK) status = fit_training_rows(s, featurizer, train, &pipeline, &result);
    /* The held-out rows are featurized after the fit and predicted chunk by chunk: no test features are held. */
    if (status == DLP_OK) status = cli_pipeline_labels(pipeline, test, test_labels);
    if (status == DLP_OK) status = cli_predictions_alloc(pipeline, dlp_dataset_size(test), &predictions);
    cli_chunk_predictor predictor = {pipeline, test, featurizer ? dlp_featurizer_dim(featurizer) : 0, &predictions};
    if (status == DLP_OK)
        status = cli_featurize_chunks(featurizer, test, s->featurizer.quiet, cli_predict_chunk, &predictor,
                                      &result.test_stats);
    if (status == DLP_OK)
        status = cli_evaluate_rows(test, test_labels, &predictions, &result.metrics, &result.test_used);
    if (status == DLP_OK) status = dlp_pipeline_save(pipeline, s->output);
    if (status == DLP_OK) {
        snprintf(path, sizeof path, "%s/test_predictions.jsonl", s->output);
        status = write_test_predictions(path, pipeline, test, test_labels, &predictions);
    }
    if (status == DLP_OK) {
        snprintf(path, sizeof path, "%s/test_images.txt", s->output);
        status = write_test_list(path, pipeline, test, test_labels);
    }
    if (status == DLP_OK) {
        snprintf(path, sizeof path, "%s/report.json", s->output);
        status = write_report(path, s, featurizer, pipeline, train, test, &result);
    }
    if (status == DLP_OK) {
        if (!s->json) print_summary(s, featurizer, pipeline, train, test, &result);
        *failed_rows = result.train_stats.failed + result.test_stats.failed > 0;
    }
    dlp_multiclass_metrics_destroy(result.metrics);
    free(test_labels);
    cli_predictions_free(&predictions);
    dlp_pipeline_destroy(pipeline);
    dlp_featurizer_destroy(featurizer);
    return status;
}

int cli_fit(int argc, char **argv)
{
    fit_settings s = {.split = 0.8, .seed = 42};
    cli_featurizer_settings_init(&s.featurizer);
    dlp_logreg_params_default(&s.logreg);
    int exit_code = parse_arguments(argc, argv, &s);
    if (exit_code < 0) {
        dlp_dataset *train = NULL, *test = NULL;
        int failed_rows = 0;
        dlp_status status = make_splits(&s, &train, &test);
        if (status == DLP_OK) status = run_fit(&s, train, test, &failed_rows);
        exit_code = status != DLP_OK ? cli_fail("fit", status) : failed_rows ? CLI_EXIT_FAILED_ROWS : CLI_EXIT_OK;
        dlp_dataset_destroy(train);
        dlp_dataset_destroy(test);
    }
    dlp_dataset_destroy(s.images);
    dlp_dataset_destroy(s.test_images);
    return exit_code;
}

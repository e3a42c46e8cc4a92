/* cmd_evaluate.c: `dlp evaluate PIPELINE` on a feature file: Spark's
 * MulticlassClassificationEvaluator metrics, optionally per-row predictions. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/ml_data.h"
#include "cli/predictions.h"
#include "core/status.h"
#include "data/output_file.h"

static const char usage[] =
    "Usage: dlp evaluate PIPELINE (--features X.npy --labels y.npy | --libsvm FILE)\n"
    "                    [--predictions OUT.jsonl] [--json]\n"
    "       dlp evaluate PIPELINE DIR|LIST [--predictions OUT.jsonl] [--json] [network options]\n\n"
    "With DIR (a folder per class) or LIST (path,class lines; `dlp fit` writes the held-out rows\n"
    "as PIPELINE/test_images.txt), the pipeline's featurizer runs on the images first (its recorded\n"
    "model, pooling and weights, whose sha256 must match; features come from the cache when they\n"
    "are there). Classes are matched to the pipeline's by name. Unreadable images are counted and\n"
    "left out (exit code 5). Network options: --weights --batch-size --threads --device\n"
    "--cache-dir --no-cache --quiet, as for dlp featurize.\n\n"
    "Applies a pipeline written by 'dlp train' (or 'dlp fit') to feature vectors and prints\n"
    "Spark's MulticlassClassificationEvaluator metrics: f1 (weighted F-measure), weightedPrecision,\n"
    "weightedRecall, accuracy, and the confusion matrix (rows: true label, columns: predicted).\n"
    "The featurizer's weights are not needed (features are given), so they are not hashed.\n\n"
    "  --predictions FILE  JSON Lines, one object per row:\n"
    "                      {\"row\":i,\"label\":y,\"prediction\":p,\"probability\":[...]}\n"
    "                      (\"label_name\"/\"prediction_name\" too when the pipeline has names)\n"
    "  --json              the metrics as one JSON object\n\n"
    "Refused (exit 2), naming file, row and column: NaN or infinite features, labels that are not\n"
    "integers in the pipeline's classes, a feature count other than the pipeline's. A pipeline\n"
    "directory that is inconsistent is refused with exit 3.\n\n"
    "Exit codes: 0 ok, 1 usage, 2 input data refused, 3 pipeline refused.\n";

static dlp_status write_predictions(const char *path, const dlp_pipeline *pipeline, const cli_ml_data *data,
                                    const double *probability, const double *prediction, size_t columns)
{
    dlp_output_file out;
    DLP_TRY(dlp_output_file_open(&out, path));
    for (size_t i = 0; i < data->rows; i++) {
        fprintf(out.file, "{\"row\":%zu,\"label\":%.17g,\"prediction\":%.17g", i, data->labels[i], prediction[i]);
        const char *label_name = dlp_pipeline_label_name(pipeline, (size_t)data->labels[i]);
        const char *prediction_name = dlp_pipeline_label_name(pipeline, (size_t)prediction[i]);
        if (label_name) fputs(",\"label_name\":", out.file), dlp_json_write_string(out.file, label_name);
        if (prediction_name) fputs(",\"prediction_name\":", out.file), dlp_json_write_string(out.file, prediction_name);
        fputs(",\"probability\":[", out.file);
        for (size_t k = 0; k < columns; k++) fprintf(out.file, "%s%.17g", k ? "," : "", probability[i * columns + k]);
        fputs("]}\n", out.file);
    }
    return dlp_output_file_commit(&out);
}

static int evaluate(const dlp_pipeline *pipeline, const cli_ml_data *data, const char *predictions_path, int as_json)
{
    const dlp_logreg_model *model = dlp_pipeline_model(pipeline);
    size_t columns = dlp_logreg_output_columns(model);
    dlp_status status = cli_ml_data_check_label_range(data, dlp_logreg_class_count(model));
    double *probability = malloc(data->rows * columns * sizeof *probability);
    double *prediction = malloc(data->rows * sizeof *prediction);
    if (status == DLP_OK && (!probability || !prediction))
        status = dlp_fail(DLP_ERR_OUT_OF_MEMORY, "out of memory for %zu rows", data->rows);
    if (status == DLP_OK) {
        status = dlp_pipeline_transform(pipeline, data->features, data->rows, data->cols, NULL, probability, prediction);
        if (status != DLP_OK) dlp_fail_context(status, "%s", data->features_name);
    }
    dlp_multiclass_metrics *metrics = NULL;
    if (status == DLP_OK)
        status = dlp_evaluate_multiclass(data->labels, prediction, NULL, data->rows, NULL, 0, 1.0, &metrics);
    if (status == DLP_OK && predictions_path)
        status = write_predictions(predictions_path, pipeline, data, probability, prediction, columns);
    if (status == DLP_OK) {
        if (!as_json) printf("%zu rows\n", data->rows);
        cli_print_metrics(metrics, as_json, "");
    }
    dlp_multiclass_metrics_destroy(metrics);
    free(probability);
    free(prediction);
    return status == DLP_OK ? CLI_EXIT_OK : cli_fail("evaluate", status);
}

/* The image form: featurize DIR or LIST with the pipeline's featurizer, chunk by chunk, then evaluate. */
static int evaluate_images(const char *directory, const char *source, const cli_featurizer_settings *settings,
                           const char *predictions_path, int as_json)
{
    dlp_pipeline *pipeline = NULL;
    dlp_featurizer *featurizer = NULL;
    dlp_dataset *dataset = NULL;
    int64_t *labels = NULL;
    cli_predictions predictions = {0};
    dlp_multiclass_metrics *metrics = NULL;
    dlp_featurize_stats stats = {0};
    size_t evaluated = 0;
    dlp_status status = cli_open_pipeline(directory, settings, &pipeline, &featurizer);
    if (status == DLP_OK) status = cli_add_image_source(&dataset, source);
    size_t rows = dataset ? dlp_dataset_size(dataset) : 0, dim = featurizer ? dlp_featurizer_dim(featurizer) : 0;
    if (status == DLP_OK && !(labels = malloc((rows + 1) * sizeof *labels)))
        status = dlp_fail(DLP_ERR_OUT_OF_MEMORY, "out of memory");
    if (status == DLP_OK) status = cli_pipeline_labels(pipeline, dataset, labels);
    if (status == DLP_OK) status = cli_predictions_alloc(pipeline, rows, &predictions);
    cli_chunk_predictor predictor = {pipeline, dataset, dim, &predictions};
    if (status == DLP_OK)
        status = cli_featurize_chunks(featurizer, dataset, settings->quiet, cli_predict_chunk, &predictor, &stats);
    if (status == DLP_OK) status = cli_evaluate_rows(dataset, labels, &predictions, &metrics, &evaluated);
    if (status == DLP_OK && !metrics) status = dlp_fail(DLP_ERR_DATA, "%s: no labelled, readable image", source);
    if (status == DLP_OK && predictions_path) {
        dlp_output_file out;
        status = dlp_output_file_open(&out, predictions_path);
        for (size_t i = 0; status == DLP_OK && i < rows; i++) {
            dlp_row row;
            dlp_dataset_row(dataset, i, &row);
            status = cli_write_prediction_row(out.file, pipeline, &row, labels[i], &predictions, i, 0);
        }
        if (status == DLP_OK) status = dlp_output_file_commit(&out);
    }
    if (status == DLP_OK) {
        if (!as_json) printf("%zu rows evaluated (%zu failed)\n", evaluated, stats.failed);
        cli_print_metrics(metrics, as_json, "");
    }
    int code = status != DLP_OK ? cli_fail("evaluate", status) : stats.failed ? CLI_EXIT_FAILED_ROWS : CLI_EXIT_OK;
    dlp_multiclass_metrics_destroy(metrics);
    cli_predictions_free(&predictions);
    free(labels);
    dlp_dataset_destroy(dataset);
    dlp_featurizer_destroy(featurizer);
    dlp_pipeline_destroy(pipeline);
    return code;
}

int cli_evaluate(int argc, char **argv)
{
    static const struct option options[] = {CLI_FEATURIZER_LONG_OPTIONS,
                                            {"features", required_argument, NULL, 'f'},
                                            {"labels", required_argument, NULL, 'l'},
                                            {"libsvm", required_argument, NULL, 's'},
                                            {"predictions", required_argument, NULL, 'p'},
                                            {"json", no_argument, NULL, 'j'},
                                            {"help", no_argument, NULL, 'h'},
                                            {0}};
    const char *features = NULL, *labels = NULL, *libsvm = NULL, *predictions = NULL;
    int as_json = 0, option;
    cli_featurizer_settings settings;
    cli_featurizer_settings_init(&settings);
    optind = 1;
    opterr = 0;
    while ((option = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        int handled = cli_featurizer_option("evaluate", option, optarg, &settings);
        if (handled < 0) return CLI_EXIT_USAGE;
        if (handled) continue;
        switch (option) {
        case 'f': features = optarg; break;
        case 'l': labels = optarg; break;
        case 's': libsvm = optarg; break;
        case 'p': predictions = optarg; break;
        case 'j': as_json = 1; break;
        case 'h': fputs(usage, stdout); return CLI_EXIT_OK;
        default: return cli_usage_error("evaluate", "unknown option or missing value: %s", argv[optind - 1]);
        }
    }
    dlp_status checked = cli_check_output_path(predictions);
    if (checked != DLP_OK) return cli_fail("evaluate", checked);
    if (argc - optind == 2 && !features && !labels && !libsvm)
        return evaluate_images(argv[optind], argv[optind + 1], &settings, predictions, as_json);
    if (argc - optind != 1) return cli_usage_error("evaluate", "expected one PIPELINE directory (then DIR|LIST, or --features/--libsvm)");
    if (!libsvm == !(features && labels) || (libsvm && (features || labels)))
        return cli_usage_error("evaluate", "give --features X.npy with --labels y.npy, or --libsvm FILE");
    dlp_pipeline *pipeline = NULL;
    dlp_status status = dlp_pipeline_load(argv[optind], NULL, DLP_PIPELINE_LOAD_SKIP_WEIGHTS_CHECK, &pipeline);
    if (status != DLP_OK) return cli_fail("evaluate", status);
    cli_ml_data data;
    status = cli_ml_data_load(features, labels, libsvm, libsvm ? dlp_pipeline_feature_dim(pipeline) : 0, &data);
    int code = status == DLP_OK ? evaluate(pipeline, &data, predictions, as_json) : cli_fail("evaluate", status);
    if (status == DLP_OK) cli_ml_data_free(&data);
    dlp_pipeline_destroy(pipeline);
    return code;
}

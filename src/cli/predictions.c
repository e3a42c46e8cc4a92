/* predictions.c: prediction, JSON Lines and the
 * metrics table, shared by dlp fit, evaluate and predict. */
#include "cli/predictions.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"

dlp_status cli_predictions_alloc(const dlp_pipeline *pipeline, size_t rows, cli_predictions *out)
{
    memset(out, 0, sizeof *out);
    size_t columns = dlp_logreg_output_columns(dlp_pipeline_model(pipeline));
    out->rows = rows;
    out->classes = columns;
    out->prediction = malloc((rows ? rows : 1) * sizeof(double));
    out->probability = malloc((rows ? rows : 1) * columns * sizeof(double));
    if (!out->prediction || !out->probability) {
        cli_predictions_free(out);
        return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "out of memory predicting %zu rows", rows);
    }
    return DLP_OK;
}

dlp_status cli_predict_range(const dlp_pipeline *pipeline, const dlp_dataset *dataset, size_t first, size_t count,
                             const float *features, size_t dim, cli_predictions *out, size_t at)
{
    size_t columns = out->classes;
    for (size_t i = 0; i < count; i++) {
        dlp_row row;
        DLP_TRY(dlp_dataset_row(dataset, first + i, &row));
        size_t k = at + i;
        if (row.status == DLP_OK) {
            DLP_TRY(dlp_pipeline_transform(pipeline, features + i * dim, 1, dim, NULL, out->probability + k * columns,
                                           out->prediction + k));
        } else {
            out->prediction[k] = NAN;
            for (size_t c = 0; c < columns; c++) out->probability[k * columns + c] = NAN;
        }
    }
    return DLP_OK;
}

dlp_status cli_predict_rows(const dlp_pipeline *pipeline, const dlp_dataset *dataset, const float *features,
                            size_t dim, cli_predictions *out)
{
    size_t rows = dlp_dataset_size(dataset);
    DLP_TRY(cli_predictions_alloc(pipeline, rows, out));
    return cli_predict_range(pipeline, dataset, 0, rows, features, dim, out, 0);
}

dlp_status cli_predict_chunk(void *predictor, size_t first, size_t count, const float *features)
{
    const cli_chunk_predictor *c = predictor;
    return cli_predict_range(c->pipeline, c->dataset, first, count, features, c->dim, c->predictions, first);
}

void cli_predictions_free(cli_predictions *predictions)
{
    free(predictions->prediction);
    free(predictions->probability);
    memset(predictions, 0, sizeof *predictions);
}

static void write_label_name(FILE *out, const dlp_pipeline *pipeline, size_t label)
{
    const char *name = dlp_pipeline_label_name(pipeline, label);
    if (name) dlp_json_write_string(out, name);
    else fprintf(out, "\"%zu\"", label);
}

dlp_status cli_write_prediction_row(FILE *out, const dlp_pipeline *pipeline, const dlp_row *row, int64_t label,
                                    const cli_predictions *predictions, size_t index, size_t top_k)
{
    fputs("{\"origin\":", out);
    dlp_json_write_string(out, row->origin);
    if (label >= 0) fprintf(out, ",\"label\":%lld", (long long)label);
    else fputs(",\"label\":null", out);
    if (row->status != DLP_OK) {
        fputs(",\"status\":\"error\",\"error\":", out);
        char reason[1200];
        snprintf(reason, sizeof reason, "%s: %s", dlp_status_name(row->status), row->message);
        dlp_json_write_string(out, reason);
        fputs(",\"prediction\":null,\"probability\":null", out);
        if (top_k) fputs(",\"top_k\":null", out);
    } else {
        size_t classes = predictions->classes;
        const double *probability = predictions->probability + index * classes;
        size_t predicted = (size_t)predictions->prediction[index];
        fprintf(out, ",\"status\":\"ok\",\"error\":null,\"prediction\":%zu,\"prediction_name\":", predicted);
        write_label_name(out, pipeline, predicted);
        fputs(",\"probability\":[", out);
        for (size_t c = 0; c < classes; c++) fprintf(out, "%s%.9g", c ? "," : "", probability[c]);
        fputc(']', out);
        if (top_k) {
            /* Selection of the k largest, ties to the lower class (as the prediction). */
            unsigned char taken[4096] = {0};
            fputs(",\"top_k\":[", out);
            for (size_t k = 0; k < top_k && k < classes && k < sizeof taken; k++) {
                size_t best = classes;
                for (size_t c = 0; c < classes && c < sizeof taken; c++)
                    if (!taken[c] && (best == classes || probability[c] > probability[best])) best = c;
                taken[best] = 1;
                fprintf(out, "%s{\"label\":%zu,\"name\":", k ? "," : "", best);
                write_label_name(out, pipeline, best);
                fprintf(out, ",\"probability\":%.9g}", probability[best]);
            }
            fputc(']', out);
        }
    }
    fputs("}\n", out);
    fflush(out);
    /* errno is the failed write's (stdio sets it). */
    return ferror(out) ? dlp_fail(DLP_ERR_IO, "writing the prediction for %s failed: %s", row->origin, strerror(errno))
                       : DLP_OK;
}

/* row's label in the pipeline's classes; false when its name is not one of them. */
static bool pipeline_label(const dlp_pipeline *pipeline, const dlp_dataset *dataset, const dlp_row *row,
                           int64_t *label)
{
    size_t classes = dlp_pipeline_label_count(pipeline);
    *label = row->label;
    const char *name = row->label >= 0 ? dlp_dataset_label_name(dataset, row->label) : NULL;
    if (!name || classes == 0) return true;
    size_t c = 0;
    while (c < classes && strcmp(dlp_pipeline_label_name(pipeline, c), name) != 0) c++;
    *label = c < classes ? (int64_t)c : -1;
    return c < classes;
}

dlp_status cli_pipeline_labels(const dlp_pipeline *pipeline, const dlp_dataset *dataset, int64_t *labels)
{
    for (size_t i = 0; i < dlp_dataset_size(dataset); i++) {
        dlp_row row;
        DLP_TRY(dlp_dataset_row(dataset, i, &row));
        if (!pipeline_label(pipeline, dataset, &row, &labels[i]))
            return dlp_fail(DLP_ERR_DATA, "%s: class '%s' is not one the pipeline was trained on", row.origin,
                            dlp_dataset_label_name(dataset, row.label));
    }
    return DLP_OK;
}

int64_t cli_pipeline_label_or_none(const dlp_pipeline *pipeline, const dlp_dataset *dataset, const dlp_row *row)
{
    int64_t label = -1;
    return pipeline_label(pipeline, dataset, row, &label) ? label : -1;
}

dlp_status cli_evaluate_rows(const dlp_dataset *dataset, const int64_t *labels, const cli_predictions *predictions,
                             dlp_multiclass_metrics **metrics, size_t *evaluated)
{
    *metrics = NULL;
    *evaluated = 0;
    size_t rows = dlp_dataset_size(dataset), n = 0;
    double *truth = malloc((rows ? rows : 1) * sizeof(double));
    double *predicted = malloc((rows ? rows : 1) * sizeof(double));
    dlp_status status = truth && predicted ? DLP_OK : dlp_fail(DLP_ERR_OUT_OF_MEMORY, "out of memory");
    for (size_t i = 0; status == DLP_OK && i < rows; i++) {
        dlp_row row;
        status = dlp_dataset_row(dataset, i, &row);
        if (status != DLP_OK || row.status != DLP_OK || labels[i] < 0) continue;
        truth[n] = (double)labels[i];
        predicted[n] = predictions->prediction[i];
        n++;
    }
    if (status == DLP_OK && n > 0) status = dlp_evaluate_multiclass(truth, predicted, NULL, n, NULL, 0, 1.0, metrics);
    free(truth);
    free(predicted);
    *evaluated = n;
    return status;
}

dlp_status cli_open_pipeline(const char *directory, const cli_featurizer_settings *settings, dlp_pipeline **pipeline,
                             dlp_featurizer **featurizer)
{
    *featurizer = NULL;
    /* The weights are checked below by their digest, once the featurizer has loaded them. */
    DLP_TRY(dlp_pipeline_load(directory, settings->options.weights, DLP_PIPELINE_LOAD_SKIP_WEIGHTS_CHECK, pipeline));
    const dlp_featurizer_description *description = dlp_pipeline_featurizer(*pipeline);
    dlp_status status = DLP_OK;
    if (!description || !description->model)
        status = dlp_fail(DLP_ERR_MODEL,
                          "%s: the pipeline has no featurizer stage (it was trained on feature vectors; "
                          "use dlp evaluate --features)",
                          directory);
    dlp_featurizer_options options = settings->options;
    if (status == DLP_OK) {
        options.model = description->model;
        if (!options.weights) options.weights = description->weights_path;
        if (dlp_pooling_from_name(description->pooling ? description->pooling : "avg", &options.pooling) != DLP_OK)
            status = dlp_fail_context(DLP_ERR_MODEL, "%s: stages.featurizer.pooling", directory);
        else
            status = dlp_featurizer_create(&options, featurizer);
    }
    /* input_size and preprocessing record what fitting used: the zoo model's own, which dlp always applies. */
    const dlp_model_info *model = status == DLP_OK ? dlp_featurizer_model(*featurizer) : NULL;
    if (model && (description->input_height || description->input_width) &&
        (description->input_height != model->input_h || description->input_width != model->input_w))
        status = dlp_fail(DLP_ERR_MODEL,
                          "%s/" DLP_PIPELINE_JSON ": stages.featurizer.input_size: expected [%d, %d] (%s's input), "
                          "found [%d, %d]",
                          directory, model->input_h, model->input_w, model->name, description->input_height,
                          description->input_width);
    const char *preprocessing = model && model->preprocessing == DLP_PREPROCESS_CAFFE ? "caffe" : "tf";
    if (status == DLP_OK && description->preprocessing && strcmp(description->preprocessing, preprocessing) != 0)
        status = dlp_fail(DLP_ERR_MODEL, "%s/" DLP_PIPELINE_JSON ": stages.featurizer.preprocessing: expected \"%s\" "
                          "(%s's), found \"%s\"",
                          directory, preprocessing, model->name, description->preprocessing);
    if (status == DLP_OK && description->weights_sha256 &&
        strcmp(description->weights_sha256, dlp_featurizer_weights_sha256(*featurizer)) != 0)
        status = dlp_fail(DLP_ERR_MODEL,
                          "%s: weights %s have sha256 %s, but the pipeline was fitted with weights of sha256 %s",
                          directory, dlp_featurizer_weights_path(*featurizer),
                          dlp_featurizer_weights_sha256(*featurizer), description->weights_sha256);
    if (status != DLP_OK) {
        dlp_featurizer_destroy(*featurizer);
        dlp_pipeline_destroy(*pipeline);
        *featurizer = NULL, *pipeline = NULL;
    }
    return status;
}

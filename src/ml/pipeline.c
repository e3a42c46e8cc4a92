/* pipeline.c: a featurizer description + a fitted logistic regression + label
 * names, and its directory format (DESIGN.md §6): pipeline.json (stages,
 * params, label names, feature dim, dlp version, sha256 of the weights and of
 * logreg.safetensors) beside logreg.safetensors (coefficients, intercepts). */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <dirent.h>

#include "core/sha256.h"
#include "core/status.h"
#include "dlp/dlp.h"
#include "ml/pipeline_internal.h"


static char *copy_string(const char *text, int *failed)
{
    if (!text) return NULL;
    char *copy = strdup(text);
    if (!copy) *failed = 1;
    return copy;
}

static void free_featurizer(dlp_featurizer_description *f)
{
    free((char *)f->model);
    free((char *)f->weights_path);
    free((char *)f->weights_sha256);
    free((char *)f->pooling);
    free((char *)f->preprocessing);
    memset(f, 0, sizeof *f);
}

static int is_sha256_hex(const char *text)
{
    if (!text || strlen(text) != 64) return 0;
    for (const char *c = text; *c; c++)
        if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f'))) return 0;
    return 1;
}

/* Copies the description; hashes the weights file when no sha256 was given. */
static dlp_status copy_featurizer(const dlp_featurizer_description *in, dlp_featurizer_description *out)
{
    int failed = 0;
    *out = *in;
    out->model = copy_string(in->model, &failed);
    out->weights_path = copy_string(in->weights_path, &failed);
    out->weights_sha256 = copy_string(in->weights_sha256, &failed);
    out->pooling = copy_string(in->pooling, &failed);
    out->preprocessing = copy_string(in->preprocessing, &failed);
    if (failed) return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "pipeline: out of memory copying the featurizer");
    if (in->weights_sha256 && !is_sha256_hex(in->weights_sha256))
        return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "pipeline: featurizer weights_sha256 \"%s\" is not 64 hex digits",
                        in->weights_sha256);
    if (!in->weights_sha256 && in->weights_path) {
        char hex[65];
        DLP_TRY(dlp_sha256_file(in->weights_path, hex));
        out->weights_sha256 = strdup(hex);
        if (!out->weights_sha256) return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "pipeline: out of memory");
    }
    return DLP_OK;
}

dlp_status dlp_pipeline_create(const dlp_featurizer_description *featurizer, dlp_pipeline **pipeline)
{
    *pipeline = NULL;
    dlp_pipeline *p = calloc(1, sizeof *p);
    if (!p) return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "pipeline: out of memory");
    if (featurizer) {
        p->has_featurizer = 1;
        dlp_status status = copy_featurizer(featurizer, &p->featurizer);
        if (status != DLP_OK) {
            dlp_pipeline_destroy(p);
            return status;
        }
    }
    *pipeline = p;
    return DLP_OK;
}

static void clear_label_names(dlp_pipeline *p)
{
    for (size_t i = 0; i < p->label_count; i++) free(p->label_names[i]);
    free(p->label_names);
    p->label_names = NULL;
    p->label_count = 0;
}

void dlp_pipeline_destroy(dlp_pipeline *pipeline)
{
    if (!pipeline) return;
    free_featurizer(&pipeline->featurizer);
    clear_label_names(pipeline);
    dlp_logreg_model_destroy(pipeline->model);
    free(pipeline->objective_history);
    free(pipeline);
}

dlp_status dlp_pipeline_set_label_names(dlp_pipeline *pipeline, const char *const *names, size_t count)
{
    clear_label_names(pipeline);
    if (!names || count == 0) return DLP_OK;
    pipeline->label_names = calloc(count, sizeof *pipeline->label_names);
    if (!pipeline->label_names) return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "pipeline: out of memory");
    pipeline->label_count = count;
    for (size_t i = 0; i < count; i++) {
        if (!names[i]) return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "pipeline: label name %zu is NULL", i);
        pipeline->label_names[i] = strdup(names[i]);
        if (!pipeline->label_names[i]) return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "pipeline: out of memory");
    }
    return DLP_OK;
}

size_t dlp_pipeline_label_count(const dlp_pipeline *pipeline) { return pipeline->label_count; }

const char *dlp_pipeline_label_name(const dlp_pipeline *pipeline, size_t label)
{
    return label < pipeline->label_count ? pipeline->label_names[label] : NULL;
}

const dlp_logreg_model *dlp_pipeline_model(const dlp_pipeline *pipeline) { return pipeline->model; }

const dlp_featurizer_description *dlp_pipeline_featurizer(const dlp_pipeline *pipeline)
{
    return pipeline->has_featurizer ? &pipeline->featurizer : NULL;
}

size_t dlp_pipeline_feature_dim(const dlp_pipeline *pipeline)
{
    if (pipeline->model) return dlp_logreg_feature_count(pipeline->model);
    return pipeline->has_featurizer ? pipeline->featurizer.feature_dim : 0;
}

static dlp_status keep_history(dlp_pipeline *p, const double *history, size_t count)
{
    free(p->objective_history);
    p->objective_history = NULL;
    p->history_count = 0;
    if (count == 0) return DLP_OK;
    p->objective_history = malloc(count * sizeof *history);
    if (!p->objective_history) return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "pipeline: out of memory");
    memcpy(p->objective_history, history, count * sizeof *history);
    p->history_count = count;
    return DLP_OK;
}

dlp_status dlp_pipeline_fit(dlp_pipeline *pipeline, const dlp_logreg_params *params, const float *features,
                            size_t rows, size_t cols, const double *labels, const double *weights)
{
    if (pipeline->has_featurizer && pipeline->featurizer.feature_dim && cols != pipeline->featurizer.feature_dim)
        return dlp_fail(DLP_ERR_DATA, "pipeline fit: features have %zu columns, the featurizer %s produces %zu", cols,
                        pipeline->featurizer.model ? pipeline->featurizer.model : "(unnamed)",
                        pipeline->featurizer.feature_dim);
    dlp_logreg_model *model = NULL;
    DLP_TRY(dlp_logreg_fit(params, features, rows, cols, labels, weights, &model));
    size_t classes = dlp_logreg_class_count(model);
    if (pipeline->label_count && classes > pipeline->label_count) {
        dlp_logreg_model_destroy(model);
        return dlp_fail(DLP_ERR_DATA, "pipeline fit: labels go up to %zu but only %zu label names were given",
                        classes - 1, pipeline->label_count);
    }
    dlp_logreg_model_destroy(pipeline->model);
    pipeline->model = model;
    pipeline->params = *params;
    pipeline->params.thresholds = NULL;
    pipeline->params.threshold_count = 0;
    pipeline->params_known = 1;
    size_t count = 0;
    const double *history = dlp_logreg_objective_history(model, &count);
    return keep_history(pipeline, history, count);
}

dlp_status dlp_pipeline_transform(const dlp_pipeline *pipeline, const float *features, size_t rows, size_t cols,
                                  double *raw, double *probability, double *prediction)
{
    if (!pipeline->model) return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "pipeline transform: the pipeline is not fitted");
    size_t expected = dlp_logreg_feature_count(pipeline->model);
    if (cols != expected)
        return dlp_fail(DLP_ERR_DATA, "pipeline transform: features have %zu columns, the pipeline expects %zu", cols,
                        expected);
    return dlp_logreg_predict(pipeline->model, features, rows, cols, raw, probability, prediction);
}

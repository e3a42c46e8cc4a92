/* pipeline_load.c: reads a pipeline directory written by pipeline_io.c and
 * refuses, naming file, field, expected and found, anything that does not fit
 * together: the coefficients file's hash, its shapes, the feature dims, and
 * the featurizer's weights. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/sha256.h"
#include "core/status.h"
#include "dlp/dlp.h"
#include "ml/pipeline_internal.h"

typedef struct load_context {
    const char *json_path;
    char *coefficients_path;
    json_t *root;
    json_t *featurizer; /* stage object or NULL */
    json_t *logreg;
    size_t feature_dim, class_count;
    int multinomial;
} load_context;

static dlp_status refuse(const load_context *c, const char *field, const char *expected, const char *found)
{
    return dlp_fail(DLP_ERR_MODEL, "%s: %s: expected %s, found %s", c->json_path, field, expected, found);
}

/* A non-negative integer field of object, named for messages as prefix.key. */
static dlp_status read_size(const load_context *c, json_t *object, const char *prefix, const char *key, size_t *value)
{
    json_t *item = json_object_get(object, key);
    if (!json_is_integer(item) || json_integer_value(item) < 0) {
        char field[128];
        snprintf(field, sizeof field, "%s%s", prefix, key);
        return refuse(c, field, "a non-negative integer", item ? "another value" : "nothing");
    }
    *value = (size_t)json_integer_value(item);
    return DLP_OK;
}

static dlp_status find_stages(load_context *c)
{
    const char *format = json_string_value(json_object_get(c->root, "format"));
    if (!format || strcmp(format, DLP_PIPELINE_FORMAT))
        return refuse(c, "format", "\"" DLP_PIPELINE_FORMAT "\"", format ? format : "nothing");
    json_t *stage;
    size_t i;
    json_array_foreach(json_object_get(c->root, "stages"), i, stage) {
        const char *type = json_string_value(json_object_get(stage, "type"));
        if (type && !strcmp(type, "featurizer")) c->featurizer = stage;
        else if (type && !strcmp(type, "logistic_regression")) c->logreg = stage;
        else return refuse(c, "stages[].type", "\"featurizer\" or \"logistic_regression\"", type ? type : "nothing");
    }
    if (!c->logreg) return refuse(c, "stages", "a logistic_regression stage", "none");
    return DLP_OK;
}

static dlp_status check_dims(load_context *c)
{
    DLP_TRY(read_size(c, c->logreg, "stages.logistic_regression.", "num_features", &c->feature_dim));
    DLP_TRY(read_size(c, c->logreg, "stages.logistic_regression.", "num_classes", &c->class_count));
    c->multinomial = json_is_true(json_object_get(c->logreg, "multinomial"));
    size_t top_dim = 0;
    char expected[32], found[32];
    snprintf(expected, sizeof expected, "%zu", c->feature_dim);
    DLP_TRY(read_size(c, c->root, "", "feature_dim", &top_dim));
    snprintf(found, sizeof found, "%zu", top_dim);
    if (top_dim != c->feature_dim) return refuse(c, "feature_dim", expected, found);
    if (c->featurizer) {
        size_t featurizer_dim = 0;
        DLP_TRY(read_size(c, c->featurizer, "stages.featurizer.", "feature_dim", &featurizer_dim));
        snprintf(found, sizeof found, "%zu", featurizer_dim);
        if (featurizer_dim && featurizer_dim != c->feature_dim)
            return refuse(c, "stages.featurizer.feature_dim (the logistic regression's num_features)", expected, found);
    }
    return DLP_OK;
}

static dlp_status check_file_hash(const load_context *c)
{
    json_t *file = json_object_get(c->logreg, "coefficients");
    const char *recorded = json_string_value(json_object_get(file, "sha256"));
    if (!recorded) return refuse(c, "stages.logistic_regression.coefficients.sha256", "a sha256", "nothing");
    char hex[65];
    DLP_TRY(dlp_sha256_file(c->coefficients_path, hex));
    if (strcmp(hex, recorded))
        return dlp_fail(DLP_ERR_MODEL,
                        "%s: sha256 %s differs from the one %s records (stages.logistic_regression.coefficients.sha256:"
                        " expected %s): the files do not belong together",
                        c->coefficients_path, hex, c->json_path, recorded);
    return DLP_OK;
}

static dlp_status check_weights(const load_context *c, const char *weights_path)
{
    json_t *weights = json_object_get(c->featurizer, "weights");
    const char *recorded = json_string_value(json_object_get(weights, "sha256"));
    const char *path = weights_path ? weights_path : json_string_value(json_object_get(weights, "path"));
    if (!recorded || !path) return DLP_OK; /* nothing recorded to check against */
    char hex[65];
    dlp_status status = dlp_weights_file_digest(path, hex);
    if (status != DLP_OK)
        return dlp_fail_context(DLP_ERR_MODEL, "%s: the featurizer's weights cannot be checked", c->json_path);
    if (strcmp(hex, recorded))
        return dlp_fail(DLP_ERR_MODEL,
                        "%s: weights file %s: stages.featurizer.weights.sha256: expected %s, found %s (not the weights"
                        " this pipeline was fitted with)",
                        c->json_path, path, recorded, hex);
    return DLP_OK;
}

/* A tensor of logreg.safetensors: F64 with the given shape (ndim 1 or 2). */
static dlp_status read_tensor(const load_context *c, const dlp_safetensors *file, const char *name, int ndim,
                              const int64_t *shape, const double **data)
{
    const dlp_named_tensor *t = dlp_safetensors_find(file, name);
    if (!t) return dlp_fail(DLP_ERR_MODEL, "%s: tensor %s: expected present, found absent", c->coefficients_path, name);
    int same = t->dtype == DLP_DTYPE_F64 && t->ndim == ndim;
    for (int d = 0; same && d < ndim; d++) same = t->shape[d] == shape[d];
    if (!same) {
        char found[96];
        snprintf(found, sizeof found, "%s [%lld%s%lld]", dlp_dtype_name(t->dtype), (long long)t->shape[0],
                 t->ndim > 1 ? ", " : "", t->ndim > 1 ? (long long)t->shape[1] : 0LL);
        return dlp_fail(DLP_ERR_MODEL, "%s: tensor %s: expected F64 [%lld%s%lld], found %s", c->coefficients_path, name,
                        (long long)shape[0], ndim > 1 ? ", " : "", ndim > 1 ? (long long)shape[1] : 0LL,
                        found);
    }
    *data = t->data;
    return DLP_OK;
}

static dlp_status read_model(const load_context *c, dlp_logreg_model **model)
{
    dlp_safetensors *file = NULL;
    DLP_TRY(dlp_safetensors_open(c->coefficients_path, &file));
    size_t sets = c->multinomial ? c->class_count : 1;
    int64_t coefficient_shape[2] = {(int64_t)sets, (int64_t)c->feature_dim}, intercept_shape[1] = {(int64_t)sets};
    const double *coefficients_mapped = NULL, *intercepts_mapped = NULL;
    dlp_status status = read_tensor(c, file, "coefficients", 2, coefficient_shape, &coefficients_mapped);
    if (status == DLP_OK) status = read_tensor(c, file, "intercepts", 1, intercept_shape, &intercepts_mapped);
    /* The mapping is not aligned for doubles (see safetensors.h): copy out. */
    double *coefficients = NULL, *intercepts = NULL;
    if (status == DLP_OK) {
        coefficients = malloc((sets * c->feature_dim + 1) * sizeof *coefficients);
        intercepts = malloc(sets * sizeof *intercepts);
        if (!coefficients || !intercepts) status = dlp_fail(DLP_ERR_OUT_OF_MEMORY, "pipeline load: out of memory");
    }
    if (status == DLP_OK) {
        memcpy(coefficients, coefficients_mapped, sets * c->feature_dim * sizeof *coefficients);
        memcpy(intercepts, intercepts_mapped, sets * sizeof *intercepts);
        status = dlp_logreg_model_create(c->multinomial, c->class_count, c->feature_dim, coefficients, intercepts, model);
    }
    free(coefficients);
    free(intercepts);
    dlp_safetensors_close(file);
    return status;
}

static dlp_status read_featurizer(const load_context *c, dlp_pipeline **pipeline)
{
    if (!c->featurizer) return dlp_pipeline_create(NULL, pipeline);
    json_t *f = c->featurizer, *weights = json_object_get(f, "weights"), *size = json_object_get(f, "input_size");
    dlp_featurizer_description d = {
        .model = json_string_value(json_object_get(f, "model")),
        .weights_path = json_string_value(json_object_get(weights, "path")),
        .weights_sha256 = json_string_value(json_object_get(weights, "sha256")),
        .pooling = json_string_value(json_object_get(f, "pooling")),
        .input_height = (int)json_integer_value(json_array_get(size, 0)),
        .input_width = (int)json_integer_value(json_array_get(size, 1)),
        .preprocessing = json_string_value(json_object_get(f, "preprocessing")),
        .feature_dim = (size_t)json_integer_value(json_object_get(f, "feature_dim")),
    };
    if (d.weights_sha256 && strlen(d.weights_sha256) != 64)
        return refuse(c, "stages.featurizer.weights.sha256", "64 hex digits", d.weights_sha256);
    return dlp_pipeline_create(&d, pipeline);
}

static dlp_status read_rest(const load_context *c, dlp_pipeline *p)
{
    json_t *names = json_object_get(c->root, "label_names"), *item;
    size_t i, count = json_array_size(names);
    if (count) {
        const char **list = calloc(count, sizeof *list);
        if (!list) return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "pipeline load: out of memory");
        json_array_foreach(names, i, item) list[i] = json_string_value(item) ? json_string_value(item) : "";
        dlp_status status = dlp_pipeline_set_label_names(p, list, count);
        free(list);
        DLP_TRY(status);
    }
    json_t *params = json_object_get(c->logreg, "params");
    if (json_is_object(params)) {
        dlp_logreg_params_default(&p->params);
        p->params.max_iter = (int)json_integer_value(json_object_get(params, "maxIter"));
        p->params.reg_param = json_number_value(json_object_get(params, "regParam"));
        p->params.elastic_net_param = json_number_value(json_object_get(params, "elasticNetParam"));
        p->params.tol = json_number_value(json_object_get(params, "tol"));
        p->params.fit_intercept = json_is_true(json_object_get(params, "fitIntercept"));
        p->params.standardization = json_is_true(json_object_get(params, "standardization"));
        p->params.family = 0;
        const char *family = json_string_value(json_object_get(params, "family"));
        p->params.family = family && !strcmp(family, "binomial")      ? DLP_FAMILY_BINOMIAL
                           : family && !strcmp(family, "multinomial") ? DLP_FAMILY_MULTINOMIAL
                                                                      : DLP_FAMILY_AUTO;
        p->params_known = 1;
    }
    json_t *history = json_object_get(c->logreg, "objective_history");
    count = json_array_size(history);
    if (count) {
        p->objective_history = malloc(count * sizeof *p->objective_history);
        if (!p->objective_history) return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "pipeline load: out of memory");
        json_array_foreach(history, i, item) p->objective_history[i] = json_is_number(item) ? json_number_value(item) : NAN;
        p->history_count = count;
    }
    return DLP_OK;
}

static dlp_status load_checked(load_context *c, const char *weights_path, int flags, dlp_pipeline **pipeline)
{
    DLP_TRY(find_stages(c));
    DLP_TRY(check_dims(c));
    DLP_TRY(check_file_hash(c));
    if (c->featurizer && !(flags & DLP_PIPELINE_LOAD_SKIP_WEIGHTS_CHECK)) DLP_TRY(check_weights(c, weights_path));
    dlp_logreg_model *model = NULL;
    DLP_TRY(read_model(c, &model));
    dlp_status status = read_featurizer(c, pipeline);
    if (status != DLP_OK) {
        dlp_logreg_model_destroy(model);
        return status;
    }
    (*pipeline)->model = model;
    status = read_rest(c, *pipeline);
    if (status != DLP_OK) {
        dlp_pipeline_destroy(*pipeline);
        *pipeline = NULL;
    }
    return status;
}

dlp_status dlp_pipeline_load(const char *directory, const char *weights_path, int flags, dlp_pipeline **pipeline)
{
    *pipeline = NULL;
    size_t length = strlen(directory) + 32;
    char *json_path = malloc(length);
    load_context c = {.json_path = json_path, .coefficients_path = malloc(length)};
    if (!json_path || !c.coefficients_path) {
        free(json_path);
        free(c.coefficients_path);
        return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "pipeline load: out of memory");
    }
    snprintf(json_path, length, "%s/%s", directory, DLP_PIPELINE_JSON);
    snprintf(c.coefficients_path, length, "%s/%s", directory, DLP_PIPELINE_LOGREG);
    json_error_t error;
    c.root = json_load_file(json_path, JSON_REJECT_DUPLICATES, &error);
    dlp_status status;
    if (c.root) status = load_checked(&c, weights_path, flags, pipeline);
    else if (error.line < 1) /* not parsed at all: the file is missing or unreadable */
        status = dlp_fail(DLP_ERR_MODEL, "pipeline %s: %s (expected a directory written by dlp fit or dlp train)",
                          directory, error.text);
    else status = dlp_fail(DLP_ERR_MODEL, "%s: line %d: %s", json_path, error.line, error.text);
    json_decref(c.root);
    free(json_path);
    free(c.coefficients_path);
    return status;
}

/* pipeline_io.c: a pipeline as a directory (DESIGN.md §6). pipeline.json holds
 * everything but the coefficients; logreg.safetensors holds "coefficients"
 * (F64, [sets, features], original feature space) and "intercepts" (F64,
 * [sets]); pipeline.json records that file's sha256, so a pair that does not
 * belong together is refused. The directory is built under a temporary name
 * and renamed into place. */
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/sha256.h"
#include "core/status.h"
#include "dlp/dlp.h"
#include "ml/pipeline_internal.h"

static const char *family_name(int family)
{
    return family == DLP_FAMILY_BINOMIAL ? "binomial" : family == DLP_FAMILY_MULTINOMIAL ? "multinomial" : "auto";
}

/* json_real refuses NaN and infinities; they are written as null. */
static json_t *json_number(double value) { return isfinite(value) ? json_real(value) : json_null(); }

static json_t *string_or_null(const char *text) { return text ? json_string(text) : json_null(); }

static json_t *featurizer_json(const dlp_featurizer_description *f)
{
    json_t *stage = json_object();
    json_object_set_new(stage, "type", json_string("featurizer"));
    json_object_set_new(stage, "model", string_or_null(f->model));
    json_t *weights = json_object();
    json_object_set_new(weights, "path", string_or_null(f->weights_path));
    json_object_set_new(weights, "sha256", string_or_null(f->weights_sha256));
    json_object_set_new(stage, "weights", weights);
    json_object_set_new(stage, "pooling", string_or_null(f->pooling));
    json_object_set_new(stage, "input_size", json_pack("[ii]", f->input_height, f->input_width));
    json_object_set_new(stage, "preprocessing", string_or_null(f->preprocessing));
    json_object_set_new(stage, "feature_dim", json_integer((json_int_t)f->feature_dim));
    return stage;
}

static json_t *params_json(const dlp_logreg_params *params)
{
    return json_pack("{s:i, s:o, s:o, s:o, s:b, s:b, s:s}", "maxIter", params->max_iter, "regParam",
                     json_number(params->reg_param), "elasticNetParam", json_number(params->elastic_net_param), "tol",
                     json_number(params->tol), "fitIntercept", params->fit_intercept, "standardization",
                     params->standardization, "family", family_name(params->family));
}

static json_t *logreg_json(const dlp_pipeline *p, const char *safetensors_sha256)
{
    const dlp_logreg_model *m = p->model;
    json_t *stage = json_object();
    json_object_set_new(stage, "type", json_string("logistic_regression"));
    json_object_set_new(stage, "num_features", json_integer((json_int_t)dlp_logreg_feature_count(m)));
    json_object_set_new(stage, "num_classes", json_integer((json_int_t)dlp_logreg_class_count(m)));
    json_object_set_new(stage, "multinomial", json_boolean(dlp_logreg_is_multinomial(m)));
    json_object_set_new(stage, "params", p->params_known ? params_json(&p->params) : json_null());
    json_t *history = json_array();
    for (size_t i = 0; i < p->history_count; i++) json_array_append_new(history, json_number(p->objective_history[i]));
    json_object_set_new(stage, "objective_history", history);
    json_object_set_new(stage, "total_iterations", json_integer(p->history_count ? (json_int_t)p->history_count - 1 : 0));
    json_t *file = json_pack("{s:s, s:s}", "path", DLP_PIPELINE_LOGREG, "sha256", safetensors_sha256);
    json_object_set_new(stage, "coefficients", file);
    return stage;
}

static json_t *pipeline_json(const dlp_pipeline *p, const char *safetensors_sha256)
{
    json_t *root = json_object();
    json_object_set_new(root, "format", json_string(DLP_PIPELINE_FORMAT));
    json_object_set_new(root, "dlp_version", json_string(dlp_version_string()));
    json_object_set_new(root, "feature_dim", json_integer((json_int_t)dlp_logreg_feature_count(p->model)));
    json_t *stages = json_array();
    if (p->has_featurizer) json_array_append_new(stages, featurizer_json(&p->featurizer));
    json_array_append_new(stages, logreg_json(p, safetensors_sha256));
    json_object_set_new(root, "stages", stages);
    json_t *names = json_null();
    if (p->label_count) {
        names = json_array();
        for (size_t i = 0; i < p->label_count; i++) json_array_append_new(names, json_string(p->label_names[i]));
    }
    json_object_set_new(root, "label_names", names);
    return root;
}

static dlp_status write_coefficients(const dlp_logreg_model *m, const char *path)
{
    dlp_tensor_list *list = NULL;
    DLP_TRY(dlp_tensor_list_create(&list));
    int64_t sets = (int64_t)dlp_logreg_coefficient_sets(m), cols = (int64_t)dlp_logreg_feature_count(m);
    int64_t coefficient_shape[2] = {sets, cols}, intercept_shape[1] = {sets};
    char classes[32];
    snprintf(classes, sizeof classes, "%zu", dlp_logreg_class_count(m));
    dlp_status status = dlp_tensor_list_add(list, "coefficients", DLP_DTYPE_F64, 2, coefficient_shape,
                                            dlp_logreg_coefficients(m), NULL);
    if (status == DLP_OK)
        status = dlp_tensor_list_add(list, "intercepts", DLP_DTYPE_F64, 1, intercept_shape, dlp_logreg_intercepts(m), NULL);
    if (status == DLP_OK) status = dlp_tensor_list_set_metadata(list, "format", "dlp-logreg-v1");
    if (status == DLP_OK) status = dlp_tensor_list_set_metadata(list, "num_classes", classes);
    if (status == DLP_OK)
        status = dlp_tensor_list_set_metadata(list, "multinomial", dlp_logreg_is_multinomial(m) ? "true" : "false");
    if (status == DLP_OK) status = dlp_safetensors_write(path, list);
    dlp_tensor_list_destroy(list);
    return status;
}

static char *join_path(const char *directory, const char *name)
{
    size_t length = strlen(directory) + strlen(name) + 2;
    char *path = malloc(length);
    if (path) snprintf(path, length, "%s/%s", directory, name);
    return path;
}

/* Removes a directory holding only plain files (what save writes). */
static void remove_flat_directory(const char *directory)
{
    DIR *dir = opendir(directory);
    if (dir) {
        struct dirent *entry;
        while ((entry = readdir(dir)) != NULL) {
            if (!strcmp(entry->d_name, ".") || !strcmp(entry->d_name, "..")) continue;
            char *path = join_path(directory, entry->d_name);
            if (path) unlink(path);
            free(path);
        }
        closedir(dir);
    }
    rmdir(directory);
}

static dlp_status write_directory(const dlp_pipeline *p, const char *directory)
{
    if (mkdir(directory, 0777) != 0)
        return dlp_fail(DLP_ERR_IO, "%s: cannot create directory: %s", directory, strerror(errno));
    char *coefficients_path = join_path(directory, DLP_PIPELINE_LOGREG);
    char *json_path = join_path(directory, DLP_PIPELINE_JSON);
    dlp_status status = coefficients_path && json_path ? DLP_OK : dlp_fail(DLP_ERR_OUT_OF_MEMORY, "out of memory");
    char hex[65];
    if (status == DLP_OK) status = write_coefficients(p->model, coefficients_path);
    if (status == DLP_OK) status = dlp_sha256_file(coefficients_path, hex);
    if (status == DLP_OK) {
        json_t *root = pipeline_json(p, hex);
        if (!root || json_dump_file(root, json_path, JSON_INDENT(2) | JSON_REAL_PRECISION(17)) != 0)
            status = dlp_fail(DLP_ERR_IO, "%s: cannot write", json_path);
        json_decref(root);
    }
    free(coefficients_path);
    free(json_path);
    return status;
}

/* An existing target is replaced only when it looks like a pipeline directory. */
static dlp_status check_replaceable(const char *directory, int *exists)
{
    struct stat info;
    *exists = stat(directory, &info) == 0;
    if (!*exists) return DLP_OK;
    char *json_path = join_path(directory, DLP_PIPELINE_JSON);
    int is_pipeline = S_ISDIR(info.st_mode) && json_path && access(json_path, F_OK) == 0;
    free(json_path);
    if (!is_pipeline)
        return dlp_fail(DLP_ERR_IO, "%s: exists and is not a pipeline directory (no %s): not replacing it", directory,
                        DLP_PIPELINE_JSON);
    return DLP_OK;
}

dlp_status dlp_pipeline_save(const dlp_pipeline *pipeline, const char *directory)
{
    if (!pipeline->model) return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "pipeline save: the pipeline is not fitted");
    int exists = 0;
    DLP_TRY(check_replaceable(directory, &exists));
    size_t length = strlen(directory) + 48;
    char *temporary = malloc(length), *previous = malloc(length);
    if (!temporary || !previous) {
        free(temporary);
        free(previous);
        return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "pipeline save: out of memory");
    }
    snprintf(temporary, length, "%s.tmp.%ld", directory, (long)getpid());
    snprintf(previous, length, "%s.old.%ld", directory, (long)getpid());
    dlp_status status = write_directory(pipeline, temporary);
    if (status == DLP_OK && exists && rename(directory, previous) != 0)
        status = dlp_fail(DLP_ERR_IO, "%s: cannot move the old pipeline aside: %s", directory, strerror(errno));
    if (status == DLP_OK && rename(temporary, directory) != 0) {
        status = dlp_fail(DLP_ERR_IO, "%s: cannot rename %s into place: %s", directory, temporary, strerror(errno));
        if (exists) rename(previous, directory);
    }
    if (status != DLP_OK) remove_flat_directory(temporary);
    else if (exists) remove_flat_directory(previous);
    free(temporary);
    free(previous);
    return status;
}

/* convert.c: any weight file dlp reads (Keras .h5, TF.js model.json) to
 * safetensors with provenance metadata (DESIGN.md §4), optionally checked
 * against a zoo architecture first, as Keras would bind it: by order. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/sha256.h"
#include "core/status.h"
#include "dlp/dlp.h"


/* Lower-case letters and digits only: "inception_v3" and "InceptionV3" meet. */
static void name_key(const char *name, char *key, size_t capacity)
{
    size_t n = 0;
    for (; *name && n + 1 < capacity; name++) {
        char c = *name;
        if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) key[n++] = c;
    }
    key[n] = 0;
}

const dlp_model_info *dlp_weights_zoo_model(const char *model)
{
    if (!model) return NULL;
    char wanted[128], key[128];
    name_key(model, wanted, sizeof wanted);
    for (int i = 0; i < dlp_zoo_count(); i++) {
        name_key(dlp_zoo_at(i)->name, key, sizeof key);
        if (wanted[0] && strcmp(key, wanted) == 0) return dlp_zoo_at(i);
    }
    return NULL;
}

/* Re-raises the current message under another status. */
static dlp_status restatus(dlp_status status)
{
    char *message = strdup(dlp_last_error());
    dlp_status result = dlp_fail(status, "%s", message ? message : "(out of memory)");
    free(message);
    return result;
}

typedef enum weight_kind { KIND_H5, KIND_SAFETENSORS, KIND_TFJS } weight_kind;

/* Sniffs the content. *resolved: path, or path/model.json for a directory. */
static dlp_status sniff(const char *path, weight_kind *kind, char **resolved)
{
    struct stat info;
    if (stat(path, &info) != 0) return dlp_fail(DLP_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    size_t length = strlen(path);
    char *file_path = malloc(length + sizeof "/model.json");
    if (!file_path) return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "%s: out of memory", path);
    strcpy(file_path, path);
    if (S_ISDIR(info.st_mode)) {
        strcpy(file_path + length, "/model.json");
        if (stat(file_path, &info) != 0) {
            dlp_status status = dlp_fail(DLP_ERR_IO, "%s: a directory without model.json", path);
            free(file_path);
            return status;
        }
    }
    FILE *file = fopen(file_path, "rb");
    if (!file) {
        dlp_status status = dlp_fail(DLP_ERR_IO, "%s: cannot open: %s", file_path, strerror(errno));
        free(file_path);
        return status;
    }
    unsigned char head[16] = {0};
    size_t got = fread(head, 1, sizeof head, file);
    fclose(file);
    static const unsigned char hdf5_signature[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
    uint64_t header_bytes = 0;
    for (int b = 7; b >= 0; b--) header_bytes = header_bytes << 8 | head[b];
    size_t first = 0;
    while (first < got && (head[first] == ' ' || head[first] == '\n' || head[first] == '\r' || head[first] == '\t'))
        first++;
    if (got >= 8 && memcmp(head, hdf5_signature, 8) == 0) {
        *kind = KIND_H5;
    } else if (got >= 9 && head[8] == '{' && header_bytes >= 2 && header_bytes <= (uint64_t)info.st_size - 8) {
        *kind = KIND_SAFETENSORS;
    } else if (first < got && head[first] == '{') {
        *kind = KIND_TFJS;
    } else {
        dlp_status status = dlp_fail(DLP_ERR_MODEL,
                                     "%s: not a weight file dlp reads (expected a Keras .h5, a TF.js model.json or "
                                     "safetensors)", file_path);
        free(file_path);
        return status;
    }
    *resolved = file_path;
    return DLP_OK;
}

static dlp_status load_kind(const char *path, weight_kind kind, dlp_tensor_list **list)
{
    dlp_status status;
    switch (kind) {
    case KIND_H5: status = dlp_keras_h5_load(path, list); break;
    case KIND_TFJS: status = dlp_tfjs_load(path, list); break;
    default: status = dlp_safetensors_load(path, list);
    }
    return status == DLP_OK ? DLP_OK : restatus(DLP_ERR_MODEL);
}

dlp_status dlp_weights_load_any(const char *path, dlp_tensor_list **list)
{
    *list = NULL;
    weight_kind kind;
    char *resolved = NULL;
    DLP_TRY(sniff(path, &kind, &resolved));
    dlp_status status = load_kind(resolved, kind, list);
    free(resolved);
    return status;
}

/* Weight layers in the list: runs of tensors sharing the name before the last '/'. */
static int count_weight_groups(const dlp_tensor_list *list)
{
    int groups = 0;
    const char *previous = NULL;
    size_t previous_length = 0;
    for (size_t i = 0; i < dlp_tensor_list_count(list); i++) {
        const char *name = dlp_tensor_list_at(list, i)->name;
        const char *slash = strrchr(name, '/');
        size_t length = slash ? (size_t)(slash - name) : strlen(name);
        if (!previous || length != previous_length || strncmp(name, previous, length) != 0) groups++;
        previous = name;
        previous_length = length;
    }
    return groups;
}

dlp_status dlp_weights_check_model(const dlp_tensor_list *list, const char *model, const dlp_model_info **info)
{
    const dlp_model_info *entry = dlp_weights_zoo_model(model);
    if (info) *info = entry;
    if (!list) return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "dlp_weights_check_model: no weights");
    if (!entry) {
        char names[512] = "";
        for (int i = 0; i < dlp_zoo_count(); i++)
            snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", i ? ", " : "", dlp_zoo_at(i)->name);
        return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "model \"%s\": not in the zoo (known: %s)", model ? model : "(null)",
                        names);
    }
    dlp_model_options options = {DLP_TOP_NONE, DLP_POOLING_AVG};
    dlp_graph *graph = NULL;
    DLP_TRY(dlp_zoo_build(entry->name, list, &options, &graph));
    int base_layers = 0;
    dlp_status status = dlp_graph_keras_weight_order(graph, NULL, 0, &base_layers);
    dlp_graph_destroy(graph);
    graph = NULL;
    /* Layers after the base: check them as the weights' own dense head. */
    if (status == DLP_OK && count_weight_groups(list) > base_layers) {
        options.top = DLP_TOP_DENSE_STACK;
        status = dlp_zoo_build(entry->name, list, &options, &graph);
        dlp_graph_destroy(graph);
    }
    return status;
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* From a TF.js model.json: modelTopology.keras_version, and (when this build
 * hashes) "shards_sha256", its shard files -> their sha256 as a JSON object. */
static dlp_status tfjs_metadata(const char *model_path, dlp_tensor_list *list)
{
    json_error_t error;
    json_t *root = json_load_file(model_path, 0, &error);
    if (!root && error.line < 1) return dlp_fail(DLP_ERR_MODEL, "%s", error.text); /* "unable to open PATH: why" */
    if (!root) return dlp_fail(DLP_ERR_MODEL, "%s: line %d: %s", model_path, error.line, error.text);
    json_t *hashes = json_object();
    const char *keras_version = json_string_value(json_object_get(json_object_get(root, "modelTopology"), "keras_version"));
    dlp_status status = keras_version ? dlp_tensor_list_set_metadata(list, "keras_version", keras_version) : DLP_OK;
    size_t dir_length = (size_t)(base_name(model_path) - model_path);
    json_t *group;
    size_t g;
    json_array_foreach(json_object_get(root, "weightsManifest"), g, group) {
        json_t *shard;
        size_t p;
        json_array_foreach(json_object_get(group, "paths"), p, shard) {
            const char *relative = json_string_value(shard);
            if (status != DLP_OK || !relative) continue;
            char *shard_path = malloc(dir_length + strlen(relative) + 1);
            if (!shard_path) {
                status = dlp_fail(DLP_ERR_OUT_OF_MEMORY, "%s: out of memory", model_path);
                continue;
            }
            memcpy(shard_path, model_path, dir_length);
            strcpy(shard_path + dir_length, relative);
            char hex[65];
            status = dlp_sha256_file(shard_path, hex);
            if (status == DLP_OK) json_object_set_new(hashes, relative, json_string(hex));
            free(shard_path);
        }
    }
    char *text = status == DLP_OK && json_object_size(hashes) ? json_dumps(hashes, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    if (text) status = dlp_tensor_list_set_metadata(list, "shards_sha256", text);
    free(text);
    json_decref(hashes);
    json_decref(root);
    return status;
}

static dlp_status add_metadata(dlp_tensor_list *list, const char *source_path, weight_kind kind,
                               const dlp_model_info *info, dlp_convert_report *report)
{
    const char *source_format = dlp_tensor_list_get_metadata(list, "format");
    if (source_format) DLP_TRY(dlp_tensor_list_set_metadata(list, "source_format", source_format));
    DLP_TRY(dlp_tensor_list_set_metadata(list, "format", "dlp-weights-v1"));
    DLP_TRY(dlp_tensor_list_set_metadata(list, "architecture", info ? info->name : "unknown"));
    DLP_TRY(dlp_tensor_list_set_metadata(list, "source", base_name(source_path)));
    if (info)
        DLP_TRY(dlp_tensor_list_set_metadata(list, "preprocessing",
                                             info->preprocessing == DLP_PREPROCESS_CAFFE ? "caffe" : "tf"));
    DLP_TRY(dlp_tensor_list_set_metadata(list, "layout", "keras"));
    DLP_TRY(dlp_tensor_list_set_metadata(list, "dlp_version", dlp_version_string()));
    if (kind == KIND_TFJS) DLP_TRY(tfjs_metadata(source_path, list));
    DLP_TRY(dlp_sha256_file(source_path, report->source_sha256));
    DLP_TRY(dlp_tensor_list_set_metadata(list, "source_sha256", report->source_sha256));
    return DLP_OK;
}

dlp_status dlp_weights_convert(const char *input, const char *output, const char *model, dlp_convert_report *report)
{
    dlp_convert_report local;
    if (!report) report = &local;
    memset(report, 0, sizeof *report);
    weight_kind kind;
    char *resolved = NULL;
    DLP_TRY(sniff(input, &kind, &resolved));
    dlp_tensor_list *list = NULL;
    dlp_status status = load_kind(resolved, kind, &list);
    const dlp_model_info *info = NULL;
    if (status == DLP_OK && model) status = dlp_weights_check_model(list, model, &info);
    if (status == DLP_OK) status = add_metadata(list, resolved, kind, info, report);
    /* dlp_safetensors_write writes beside the output and renames: no half-written OUT on failure. */
    if (status == DLP_OK) status = dlp_safetensors_write(output, list);
    if (status == DLP_OK) {
        report->tensor_count = dlp_tensor_list_count(list);
        for (size_t i = 0; i < report->tensor_count; i++) report->data_bytes += dlp_tensor_list_at(list, i)->nbytes;
        snprintf(report->architecture, sizeof report->architecture, "%s", info ? info->name : "unknown");
    }
    free(resolved);
    dlp_tensor_list_destroy(list);
    return status;
}

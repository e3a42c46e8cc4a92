/* tfjs.c: import a TensorFlow.js layers model (model.json + binary shards) as
 * a named tensor list. Format: tfjs-converter's weightsManifest, groups of
 * {paths, weights: [{name, shape, dtype, quantization {dtype, scale, min}}]};
 * a group's shards concatenate into one buffer holding its weights in order;
 * uint8/uint16 quantized weights dequantize as q*scale + min, float16 ones
 * convert to float32 (tfjs-core io/io_utils.ts decodeWeights). */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>

#include "core/status.h"
#include "dlp/graph.h"
#include "graph/device_layout.h"

enum { MAX_MODEL_JSON_BYTES = 64 << 20 };

static dlp_status read_file(const char *path, size_t limit, unsigned char **data, size_t *size)
{
    FILE *file = fopen(path, "rb");
    if (!file) return dlp_fail(DLP_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    dlp_status status = DLP_OK;
    long length = -1;
    if (fseek(file, 0, SEEK_END) == 0) length = ftell(file);
    if (length < 0 || fseek(file, 0, SEEK_SET) != 0) status = dlp_fail(DLP_ERR_IO, "%s: cannot seek", path);
    else if ((size_t)length > limit)
        status = dlp_fail(DLP_ERR_LIMIT, "%s: %ld bytes, at most %zu accepted", path, length, limit);
    unsigned char *buffer = NULL;
    if (status == DLP_OK) {
        buffer = malloc((size_t)length + 1);
        if (!buffer) status = dlp_fail(DLP_ERR_OUT_OF_MEMORY, "%s: cannot allocate %ld bytes", path, length);
        else if (fread(buffer, 1, (size_t)length, file) != (size_t)length)
            status = dlp_fail(DLP_ERR_IO, "%s: short read", path);
    }
    fclose(file);
    if (status != DLP_OK) {
        free(buffer);
        return status;
    }
    buffer[length] = 0;
    *data = buffer;
    *size = (size_t)length;
    return DLP_OK;
}

typedef enum storage { STORE_F32, STORE_I32, STORE_U8, STORE_U16, STORE_F16 } storage;

typedef struct weight_spec {
    const char *name;
    int ndim;
    int64_t shape[DLP_MAX_DIMS];
    size_t count, bytes;
    storage store;
    double scale, min;
} weight_spec;

static dlp_status parse_spec(const char *path, json_t *entry, weight_spec *spec)
{
    memset(spec, 0, sizeof *spec);
    json_t *name = json_object_get(entry, "name");
    if (!json_is_string(name)) return dlp_fail(DLP_ERR_FORMAT, "%s: weightsManifest entry without a string \"name\"", path);
    spec->name = json_string_value(name);
    json_t *shape = json_object_get(entry, "shape");
    if (!json_is_array(shape) || json_array_size(shape) > DLP_MAX_DIMS)
        return dlp_fail(DLP_ERR_FORMAT, "%s: weight \"%s\": \"shape\" must be an array of at most %d dims", path,
                        spec->name, DLP_MAX_DIMS);
    spec->ndim = (int)json_array_size(shape);
    spec->count = 1;
    for (int d = 0; d < spec->ndim; d++) {
        json_t *dim = json_array_get(shape, (size_t)d);
        if (!json_is_integer(dim) || json_integer_value(dim) < 0 || json_integer_value(dim) > (1LL << 40))
            return dlp_fail(DLP_ERR_FORMAT, "%s: weight \"%s\": dim %d is not an integer in 0..2^40", path, spec->name, d);
        spec->shape[d] = json_integer_value(dim);
        if (spec->shape[d] && spec->count > ((size_t)1 << 40) / (size_t)spec->shape[d])
            return dlp_fail(DLP_ERR_LIMIT, "%s: weight \"%s\": more than 2^40 elements", path, spec->name);
        spec->count *= (size_t)spec->shape[d];
    }
    const char *dtype = json_string_value(json_object_get(entry, "dtype"));
    if (!dtype) return dlp_fail(DLP_ERR_FORMAT, "%s: weight \"%s\": no \"dtype\"", path, spec->name);
    if (strcmp(dtype, "float32") == 0) spec->store = STORE_F32;
    else if (strcmp(dtype, "int32") == 0) spec->store = STORE_I32;
    else
        return dlp_fail(DLP_ERR_UNSUPPORTED, "%s: weight \"%s\": dtype \"%s\", expected float32 or int32", path,
                        spec->name, dtype);
    json_t *quantization = json_object_get(entry, "quantization");
    if (quantization) {
        const char *qtype = json_string_value(json_object_get(quantization, "dtype"));
        if (!qtype) return dlp_fail(DLP_ERR_FORMAT, "%s: weight \"%s\": quantization without \"dtype\"", path, spec->name);
        if (strcmp(qtype, "uint8") == 0) spec->store = STORE_U8;
        else if (strcmp(qtype, "uint16") == 0) spec->store = STORE_U16;
        else if (strcmp(qtype, "float16") == 0) spec->store = STORE_F16;
        else
            return dlp_fail(DLP_ERR_UNSUPPORTED,
                            "%s: weight \"%s\": quantization dtype \"%s\", expected uint8, uint16 or float16", path,
                            spec->name, qtype);
        if (spec->store != STORE_F16) {
            json_t *scale = json_object_get(quantization, "scale"), *min = json_object_get(quantization, "min");
            if (!json_is_number(scale) || !json_is_number(min))
                return dlp_fail(DLP_ERR_FORMAT, "%s: weight \"%s\": %s quantization needs numeric \"scale\" and \"min\"",
                                path, spec->name, qtype);
            spec->scale = json_number_value(scale);
            spec->min = json_number_value(min);
            if (!isfinite(spec->scale) || !isfinite(spec->min))
                return dlp_fail(DLP_ERR_FORMAT, "%s: weight \"%s\": quantization scale %g, min %g: expected finite numbers",
                                path, spec->name, spec->scale, spec->min);
        }
    }
    static const size_t element_bytes[] = {4, 4, 1, 2, 2};
    spec->bytes = spec->count * element_bytes[spec->store];
    return DLP_OK;
}

static dlp_status decode_weight(const weight_spec *spec, const unsigned char *bytes, dlp_tensor_list *list)
{
    dlp_named_tensor *tensor = NULL;
    dlp_dtype dtype = spec->store == STORE_I32 ? DLP_DTYPE_I32 : DLP_DTYPE_F32;
    DLP_TRY(dlp_tensor_list_add(list, spec->name, dtype, spec->ndim, spec->shape, NULL, &tensor));
    if (spec->store == STORE_F32 || spec->store == STORE_I32) {
        memcpy(tensor->data, bytes, spec->bytes);
        return DLP_OK;
    }
    float *out = tensor->data;
    for (size_t i = 0; i < spec->count; i++) {
        if (spec->store == STORE_U8) {
            out[i] = (float)(bytes[i] * spec->scale + spec->min);
        } else {
            uint16_t q = (uint16_t)(bytes[2 * i] | (bytes[2 * i + 1] << 8));
            out[i] = spec->store == STORE_U16 ? (float)(q * spec->scale + spec->min) : device_half_to_float(q);
        }
    }
    return DLP_OK;
}

/* A shard path must stay beside model.json. */
static dlp_status shard_path(const char *model_path, const char *relative, char **out)
{
    if (!*relative || relative[0] == '/' || strstr(relative, ".."))
        return dlp_fail(DLP_ERR_FORMAT, "%s: shard path \"%s\": expected a file beside model.json", model_path, relative);
    const char *slash = strrchr(model_path, '/');
    size_t dir = slash ? (size_t)(slash - model_path) + 1 : 0;
    char *path = malloc(dir + strlen(relative) + 1);
    if (!path) return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "%s: out of memory", model_path);
    memcpy(path, model_path, dir);
    strcpy(path + dir, relative);
    *out = path;
    return DLP_OK;
}

static dlp_status load_group(const char *path, json_t *group, size_t group_index, dlp_tensor_list *list)
{
    json_t *paths = json_object_get(group, "paths"), *weights = json_object_get(group, "weights");
    if (!json_is_array(paths) || !json_is_array(weights))
        return dlp_fail(DLP_ERR_FORMAT, "%s: weightsManifest[%zu] needs arrays \"paths\" and \"weights\"", path,
                        group_index);
    size_t count = json_array_size(weights);
    weight_spec *specs = calloc(count ? count : 1, sizeof *specs);
    if (!specs) return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "%s: out of memory", path);
    dlp_status status = DLP_OK;
    size_t expected = 0;
    for (size_t i = 0; i < count && status == DLP_OK; i++) {
        status = parse_spec(path, json_array_get(weights, i), &specs[i]);
        if (status == DLP_OK && specs[i].bytes > SIZE_MAX - expected)
            status = dlp_fail(DLP_ERR_LIMIT, "%s: weightsManifest[%zu]: weights take more than SIZE_MAX bytes", path,
                              group_index);
        expected += specs[i].bytes;
    }
    /* The group's shards, concatenated in manifest order. Their sizes are
     * checked against the manifest before anything is allocated: the
     * manifest's shapes alone must not decide how much memory is taken. */
    size_t shard_count = json_array_size(paths);
    char **files = calloc(shard_count ? shard_count : 1, sizeof *files);
    if (status == DLP_OK && !files) status = dlp_fail(DLP_ERR_OUT_OF_MEMORY, "%s: out of memory", path);
    size_t on_disk = 0;
    for (size_t p = 0; status == DLP_OK && p < shard_count; p++) {
        const char *relative = json_string_value(json_array_get(paths, p));
        if (!relative) {
            status = dlp_fail(DLP_ERR_FORMAT, "%s: weightsManifest[%zu].paths[%zu] is not a string", path, group_index, p);
            break;
        }
        status = shard_path(path, relative, &files[p]);
        struct stat info;
        if (status == DLP_OK && stat(files[p], &info) != 0)
            status = dlp_fail(DLP_ERR_IO, "%s: shard %s of weightsManifest[%zu] (weights \"%s\" .. \"%s\"): cannot open: %s",
                              path, files[p], group_index, count ? specs[0].name : "?",
                              count ? specs[count - 1].name : "?", strerror(errno));
        if (status == DLP_OK && (!S_ISREG(info.st_mode) || (uint64_t)info.st_size > SIZE_MAX - on_disk))
            status = dlp_fail(DLP_ERR_FORMAT, "%s: shard %s: not a regular file of a usable size", path, files[p]);
        if (status == DLP_OK) on_disk += (size_t)info.st_size;
    }
    if (status == DLP_OK && on_disk != expected) {
        /* Name the first weight the shards do not cover, or the last one when they hold too much. */
        size_t offset = 0, i = 0;
        while (i < count && offset + specs[i].bytes <= on_disk) offset += specs[i++].bytes;
        if (on_disk < expected)
            status = dlp_fail(DLP_ERR_FORMAT,
                              "%s: weightsManifest[%zu] shards hold %zu bytes, its weights take %zu (weight \"%s\" is "
                              "truncated or missing)",
                              path, group_index, on_disk, expected, i < count ? specs[i].name : "?");
        else
            status = dlp_fail(DLP_ERR_FORMAT,
                              "%s: weightsManifest[%zu] shards (up to %s) hold %zu bytes, its weights take only %zu "
                              "(a weight missing from the manifest, or wrong shapes, up to \"%s\")",
                              path, group_index, shard_count ? files[shard_count - 1] : "none", on_disk, expected,
                              count ? specs[count - 1].name : "?");
    }
    unsigned char *buffer = status == DLP_OK ? malloc(expected ? expected : 1) : NULL;
    if (status == DLP_OK && !buffer) status = dlp_fail(DLP_ERR_OUT_OF_MEMORY, "%s: cannot allocate %zu bytes", path, expected);
    size_t filled = 0;
    for (size_t p = 0; status == DLP_OK && p < shard_count; p++) {
        unsigned char *data = NULL;
        size_t size = 0;
        status = read_file(files[p], expected - filled, &data, &size);
        if (status == DLP_OK) {
            memcpy(buffer + filled, data, size);
            filled += size;
        }
        free(data);
    }
    if (status == DLP_OK && filled != expected)
        status = dlp_fail(DLP_ERR_IO, "%s: weightsManifest[%zu] shards changed while being read", path, group_index);
    for (size_t p = 0; files && p < shard_count; p++) free(files[p]);
    free(files);
    size_t offset = 0;
    for (size_t i = 0; i < count && status == DLP_OK; i++) {
        status = decode_weight(&specs[i], buffer + offset, list);
        if (status != DLP_OK) dlp_fail_context(status, "%s: weight \"%s\"", path, specs[i].name);
        offset += specs[i].bytes;
    }
    free(buffer);
    free(specs);
    return status;
}

dlp_status dlp_tfjs_load(const char *path, dlp_tensor_list **out)
{
    *out = NULL;
    unsigned char *text = NULL;
    size_t size = 0;
    DLP_TRY(read_file(path, MAX_MODEL_JSON_BYTES, &text, &size));
    json_error_t error;
    json_t *root = json_loadb((const char *)text, size, 0, &error);
    free(text);
    if (!root) return dlp_fail(DLP_ERR_FORMAT, "%s: line %d: %s", path, error.line, error.text);
    dlp_tensor_list *list = NULL;
    dlp_status status = DLP_OK;
    json_t *manifest = json_object_get(root, "weightsManifest");
    json_t *topology = json_object_get(root, "modelTopology");
    if (!json_is_object(root) || !json_is_array(manifest))
        status = dlp_fail(DLP_ERR_FORMAT, "%s: expected a TensorFlow.js model.json with a \"weightsManifest\" array", path);
    if (status == DLP_OK) status = dlp_tensor_list_create(&list);
    for (size_t g = 0; status == DLP_OK && g < json_array_size(manifest); g++)
        status = load_group(path, json_array_get(manifest, g), g, list);
    /* Keras' config: modelTopology.model_config (keras.Model.to_json), or the
     * topology itself when it is one. */
    json_t *config = json_object_get(topology, "model_config");
    if (!config && json_object_get(topology, "class_name")) config = topology;
    if (status == DLP_OK && config) {
        char *dump = json_dumps(config, JSON_COMPACT);
        status = dump ? dlp_tensor_list_set_metadata(list, "model_config", dump)
                      : dlp_fail(DLP_ERR_OUT_OF_MEMORY, "%s: out of memory", path);
        free(dump);
    }
    const char *format = json_string_value(json_object_get(root, "format"));
    if (status == DLP_OK) status = dlp_tensor_list_set_metadata(list, "format", format ? format : "layers-model");
    if (status == DLP_OK) status = dlp_tensor_list_set_metadata(list, "source", path);
    json_decref(root);
    if (status != DLP_OK) {
        dlp_tensor_list_destroy(list);
        return status;
    }
    *out = list;
    return DLP_OK;
}

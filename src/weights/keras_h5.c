/* keras_h5.c: Keras 2 .h5 files (weights-only and whole-model) into a named
 * tensor list, with libhdf5's C API. The layout read is Keras 2's
 * tf_keras/src/saving/legacy/hdf5_format.py (tf-keras 2.18: save_weights_to_hdf5_group,
 * load_weights_from_hdf5_group, load_attributes_from_hdf5_group). */
#include <hdf5.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "dlp/weights.h"

/* Attribute strings longer than this are refused (InceptionV3's model_config is 180 KB). */
#define MAX_ATTRIBUTE_BYTES ((size_t)256 << 20)
/* Keras splits an attribute over 64 KB into name0, name1, ...; a sane bound on the parts. */
#define MAX_ATTRIBUTE_CHUNKS 100000
/* 2^34 float32 values = 64 GiB: far beyond any Keras model's single weight. */
#define MAX_WEIGHT_ELEMENTS ((uint64_t)1 << 34)

typedef struct {
    char **items;
    size_t count;
} string_list;

static void string_list_clear(string_list *strings)
{
    for (size_t i = 0; i < strings->count; i++) free(strings->items[i]);
    free(strings->items);
    strings->items = NULL;
    strings->count = 0;
}

static dlp_status string_list_append(string_list *strings, const char *text, size_t length)
{
    char *copy = malloc(length + 1);
    char **grown = copy ? realloc(strings->items, (strings->count + 1) * sizeof *grown) : NULL;
    if (!grown) {
        free(copy);
        return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "out of memory");
    }
    memcpy(copy, text, length);
    copy[length] = '\0';
    strings->items = grown;
    strings->items[strings->count++] = copy;
    return DLP_OK;
}

/* The innermost detail on HDF5's error stack (walking upward, entry 0 is where
 * the error was detected: "truncated file: eof = ..."), or "". */
static herr_t first_error_detail(unsigned n, const H5E_error2_t *error, void *client_data)
{
    char *out = client_data;
    if (n == 0 && error && error->desc) snprintf(out, 256, "%s", error->desc);
    return 0;
}

static const char *hdf5_detail(char buffer[256])
{
    buffer[0] = '\0';
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, first_error_detail, buffer);
    H5Eclear2(H5E_DEFAULT);
    return buffer;
}

static const char *type_class_name(H5T_class_t type_class)
{
    switch (type_class) {
    case H5T_INTEGER: return "integer";
    case H5T_FLOAT: return "float";
    case H5T_STRING: return "string";
    case H5T_COMPOUND: return "compound";
    case H5T_ENUM: return "enum";
    case H5T_ARRAY: return "array";
    case H5T_VLEN: return "variable-length sequence";
    case H5T_REFERENCE: return "reference";
    case H5T_OPAQUE: return "opaque";
    case H5T_BITFIELD: return "bitfield";
    case H5T_TIME: return "time";
    default: return "unknown";
    }
}

/* Reads a scalar or 1-D string attribute, fixed-length (h5py 2 / Keras 2.2.4,
 * the official ImageNet files) or variable-length (h5py 3 / tf-keras 2.x). An
 * empty non-string attribute is an empty list: Keras writes np.asarray([])
 * (float64, 0 elements) as the weight_names of a layer without weights. */
static dlp_status read_string_attribute(hid_t object, const char *name, const char *path, const char *where,
                                        string_list *out)
{
    char detail[256];
    dlp_status status = DLP_OK;
    hid_t attribute = H5Aopen(object, name, H5P_DEFAULT);
    if (attribute < 0)
        return dlp_fail(DLP_ERR_MODEL, "%s: %s: cannot open attribute %s (%s)", path, where, name, hdf5_detail(detail));
    hid_t file_type = H5Aget_type(attribute);
    hid_t space = H5Aget_space(attribute);
    hid_t memory_type = -1;
    char *fixed = NULL;
    char **variable = NULL;
    if (file_type < 0 || space < 0) {
        status = dlp_fail(DLP_ERR_MODEL, "%s: %s: attribute %s unreadable (%s)", path, where, name, hdf5_detail(detail));
        goto done;
    }
    int rank = H5Sget_simple_extent_ndims(space);
    hssize_t points = H5Sget_simple_extent_npoints(space);
    if (rank < 0 || rank > 1 || points < 0) {
        status = dlp_fail(DLP_ERR_MODEL, "%s: %s: attribute %s has rank %d, expected a string or a 1-D string array",
                          path, where, name, rank);
        goto done;
    }
    if (H5Tget_class(file_type) != H5T_STRING) {
        if (points != 0)
            status = dlp_fail(DLP_ERR_MODEL, "%s: %s: attribute %s is %s data, expected strings", path, where, name,
                              type_class_name(H5Tget_class(file_type)));
        goto done;
    }
    size_t count = (size_t)points;
    H5T_cset_t cset = H5Tget_cset(file_type);
    htri_t is_variable = H5Tis_variable_str(file_type);
    memory_type = H5Tcopy(H5T_C_S1);
    if (memory_type < 0 || is_variable < 0 || cset < 0 || H5Tset_cset(memory_type, cset) < 0) {
        status = dlp_fail(DLP_ERR_MODEL, "%s: %s: attribute %s: bad string type (%s)", path, where, name,
                          hdf5_detail(detail));
        goto done;
    }
    if (is_variable) {
        variable = calloc(count ? count : 1, sizeof *variable);
        if (!variable) {
            status = dlp_fail(DLP_ERR_OUT_OF_MEMORY, "%s: %s: attribute %s: out of memory", path, where, name);
            goto done;
        }
        if (H5Tset_size(memory_type, H5T_VARIABLE) < 0 || H5Aread(attribute, memory_type, variable) < 0) {
            free(variable);
            variable = NULL;
            status = dlp_fail(DLP_ERR_MODEL, "%s: %s: cannot read attribute %s (%s)", path, where, name,
                              hdf5_detail(detail));
            goto done;
        }
        for (size_t i = 0; i < count && status == DLP_OK; i++) {
            const char *text = variable[i] ? variable[i] : "";
            size_t length = strlen(text);
            status = length > MAX_ATTRIBUTE_BYTES
                         ? dlp_fail(DLP_ERR_MODEL, "%s: %s: attribute %s longer than %zu bytes", path, where, name,
                                    MAX_ATTRIBUTE_BYTES)
                         : string_list_append(out, text, length);
        }
#if H5_VERSION_GE(1, 12, 0)
        H5Treclaim(memory_type, space, H5P_DEFAULT, variable);
#else
        /* HDF5 1.10 declares H5Treclaim but its library lacks it. */
        H5Dvlen_reclaim(memory_type, space, H5P_DEFAULT, variable);
#endif
        free(variable);
        variable = NULL;
    } else {
        size_t size = H5Tget_size(file_type);
        if (size == 0 || size > MAX_ATTRIBUTE_BYTES || (count && size > MAX_ATTRIBUTE_BYTES / count)) {
            status = dlp_fail(DLP_ERR_MODEL, "%s: %s: attribute %s: %zu strings of %zu bytes exceed %zu bytes", path,
                              where, name, count, size, MAX_ATTRIBUTE_BYTES);
            goto done;
        }
        fixed = malloc(count * size + 1);
        if (!fixed) {
            status = dlp_fail(DLP_ERR_OUT_OF_MEMORY, "%s: %s: attribute %s: out of memory", path, where, name);
            goto done;
        }
        /* Null-padded in memory whatever the file's padding: HDF5 converts. */
        if (H5Tset_size(memory_type, size) < 0 || H5Tset_strpad(memory_type, H5T_STR_NULLPAD) < 0 ||
            H5Aread(attribute, memory_type, fixed) < 0) {
            status = dlp_fail(DLP_ERR_MODEL, "%s: %s: cannot read attribute %s (%s)", path, where, name,
                              hdf5_detail(detail));
            goto done;
        }
        for (size_t i = 0; i < count && status == DLP_OK; i++) {
            const char *text = fixed + i * size;
            size_t length = 0;
            while (length < size && text[length]) length++;
            status = string_list_append(out, text, length);
        }
    }
done:
    free(fixed);
    if (memory_type >= 0) H5Tclose(memory_type);
    if (space >= 0) H5Sclose(space);
    if (file_type >= 0) H5Tclose(file_type);
    H5Aclose(attribute);
    if (status != DLP_OK) string_list_clear(out);
    return status;
}

/* Keras' load_attributes_from_hdf5_group: the attribute `name`, or when Keras
 * split it (over HDF5's 64 KB object header limit) `name0`, `name1`, ...
 * concatenated. *found is 0 when neither exists. */
static dlp_status read_split_string_attribute(hid_t object, const char *name, const char *path, const char *where,
                                              string_list *out, int *found)
{
    *found = 0;
    htri_t exists = H5Aexists(object, name);
    if (exists > 0) {
        *found = 1;
        return read_string_attribute(object, name, path, where, out);
    }
    for (int chunk = 0; chunk < MAX_ATTRIBUTE_CHUNKS; chunk++) {
        char chunk_name[96];
        snprintf(chunk_name, sizeof chunk_name, "%s%d", name, chunk);
        if (H5Aexists(object, chunk_name) <= 0) break;
        *found = 1;
        string_list part = {0};
        dlp_status status = read_string_attribute(object, chunk_name, path, where, &part);
        for (size_t i = 0; i < part.count && status == DLP_OK; i++)
            status = string_list_append(out, part.items[i], strlen(part.items[i]));
        string_list_clear(&part);
        if (status != DLP_OK) {
            string_list_clear(out);
            return status;
        }
    }
    H5Eclear2(H5E_DEFAULT);
    return DLP_OK;
}

/* Layer and weight names become tensor names (and safetensors JSON keys):
 * valid UTF-8 without control characters, or the file is refused. */
static int is_clean_utf8(const char *text)
{
    const unsigned char *p = (const unsigned char *)text;
    while (*p) {
        if (*p < 0x20 || *p == 0x7f) return 0;
        int extra = *p < 0x80 ? 0 : (*p & 0xe0) == 0xc0 ? 1 : (*p & 0xf0) == 0xe0 ? 2 : (*p & 0xf8) == 0xf0 ? 3 : -1;
        if (extra < 0 || (extra == 1 && *p < 0xc2)) return 0;
        p++;
        for (int i = 0; i < extra; i++, p++)
            if ((*p & 0xc0) != 0x80) return 0;
    }
    return 1;
}

/* A scalar string attribute into metadata, when present. */
static dlp_status copy_metadata(hid_t object, const char *attribute, const char *key, const char *path,
                                dlp_tensor_list *list)
{
    if (H5Aexists(object, attribute) <= 0) {
        H5Eclear2(H5E_DEFAULT);
        return DLP_OK;
    }
    string_list value = {0};
    DLP_TRY(read_string_attribute(object, attribute, path, "root", &value));
    dlp_status status = value.count == 1 ? dlp_tensor_list_set_metadata(list, key, value.items[0])
                                         : dlp_fail(DLP_ERR_MODEL, "%s: attribute %s holds %zu strings, expected 1",
                                                    path, attribute, value.count);
    string_list_clear(&value);
    return status;
}

/* "conv2d_3/kernel:0" -> "kernel"; with use_full_path, "<prefix>/a/kernel:0" ->
 * "a/kernel" (the layer's own name stripped when it leads). */
static void weight_short_name(const char *weight_name, const char *layer, int use_full_path, char *out, size_t size)
{
    const char *start = weight_name;
    if (use_full_path) {
        size_t layer_length = strlen(layer);
        if (!strncmp(start, layer, layer_length) && start[layer_length] == '/') start += layer_length + 1;
    } else {
        const char *slash = strrchr(start, '/');
        if (slash) start = slash + 1;
    }
    size_t length = strlen(start);
    const char *colon = strrchr(start, ':');
    if (colon && colon[1]) {
        const char *p = colon + 1;
        while (*p >= '0' && *p <= '9') p++;
        if (!*p) length = (size_t)(colon - start);
    }
    snprintf(out, size, "%.*s", (int)length, start);
}

/* A nested model saved as one layer lists its inner layers' weights under
 * their own names ("conv/kernel:0" in the group "backbone"): some weight
 * path leads with a component other than the layer's name. */
static int holds_nested_model(const char *layer, char **weight_names, size_t count)
{
    size_t layer_length = strlen(layer);
    for (size_t w = 0; w < count; w++) {
        const char *slash = strchr(weight_names[w], '/');
        if (slash && ((size_t)(slash - weight_names[w]) != layer_length || strncmp(weight_names[w], layer, layer_length)))
            return 1;
    }
    return 0;
}

/* Tensor names: "<layer>/<slot>" ("conv2d_3/kernel"); for a nested model
 * "<layer>/<inner layer>/<slot>" ("backbone/conv/kernel"), which
 * dlp_keras_model finds by the outer and inner layer names. */
static dlp_status read_weight(hid_t layer_group, const char *layer, const char *weight_name, int nested,
                              const char *path, dlp_tensor_list *list)
{
    char detail[256];
    char short_name[512], name[1024];
    weight_short_name(weight_name, layer, nested, short_name, sizeof short_name);
    snprintf(name, sizeof name, "%s/%s", layer, short_name);
    if (dlp_tensor_list_find(list, name)) {
        /* Two weights of one layer share a last component (a nested model as a
         * layer): keep the path below the layer. */
        weight_short_name(weight_name, layer, 1, short_name, sizeof short_name);
        snprintf(name, sizeof name, "%s/%s", layer, short_name);
        if (dlp_tensor_list_find(list, name))
            return dlp_fail(DLP_ERR_MODEL, "%s: layer \"%s\": weight \"%s\" appears twice", path, layer, weight_name);
    }
    hid_t dataset = H5Dopen2(layer_group, weight_name, H5P_DEFAULT);
    if (dataset < 0)
        return dlp_fail(DLP_ERR_MODEL, "%s: layer \"%s\": weight \"%s\" is listed in weight_names but cannot be "
                        "opened (%s)", path, layer, weight_name, hdf5_detail(detail));
    dlp_status status = DLP_OK;
    hid_t type = H5Dget_type(dataset);
    hid_t space = H5Dget_space(dataset);
    int rank = space >= 0 ? H5Sget_simple_extent_ndims(space) : -1;
    hsize_t dims[H5S_MAX_RANK];
    int64_t shape[DLP_MAX_DIMS];
    uint64_t elements = 1;
    if (type < 0 || space < 0 || rank < 0) {
        status = dlp_fail(DLP_ERR_MODEL, "%s: layer \"%s\": weight \"%s\" unreadable (%s)", path, layer, weight_name,
                          hdf5_detail(detail));
        goto done;
    }
    /* An integer scalar is a counter (tf-keras Normalization's int64 "count"): read as float like the rest. */
    if (H5Tget_class(type) != H5T_FLOAT && !(H5Tget_class(type) == H5T_INTEGER && rank == 0)) {
        status = dlp_fail(DLP_ERR_MODEL, "%s: layer \"%s\": weight \"%s\" holds %s data, expected floating point",
                          path, layer, weight_name, type_class_name(H5Tget_class(type)));
        goto done;
    }
    if (rank > DLP_MAX_DIMS || H5Sget_simple_extent_type(space) == H5S_NULL) {
        status = dlp_fail(DLP_ERR_MODEL, "%s: layer \"%s\": weight \"%s\" has %d dimensions, expected 0..%d", path,
                          layer, weight_name, rank, DLP_MAX_DIMS);
        goto done;
    }
    if (H5Sget_simple_extent_dims(space, dims, NULL) < 0) {
        status = dlp_fail(DLP_ERR_MODEL, "%s: layer \"%s\": weight \"%s\": no dimensions (%s)", path, layer,
                          weight_name, hdf5_detail(detail));
        goto done;
    }
    for (int d = 0; d < rank; d++) {
        if (dims[d] > MAX_WEIGHT_ELEMENTS || (dims[d] && elements > MAX_WEIGHT_ELEMENTS / dims[d])) {
            status = dlp_fail(DLP_ERR_MODEL, "%s: layer \"%s\": weight \"%s\" has more than %llu elements", path, layer,
                              weight_name, (unsigned long long)MAX_WEIGHT_ELEMENTS);
            goto done;
        }
        elements *= dims[d];
        shape[d] = (int64_t)dims[d];
    }
    dlp_named_tensor *tensor;
    status = dlp_tensor_list_add(list, name, DLP_DTYPE_F32, rank, shape, NULL, &tensor);
    if (status != DLP_OK) {
        dlp_fail_context(status, "%s: layer \"%s\": weight \"%s\"", path, layer, weight_name);
        goto done;
    }
    /* HDF5 converts float64 and float16 (any IEEE layout) to native float. */
    if (elements && H5Dread(dataset, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, tensor->data) < 0)
        status = dlp_fail(DLP_ERR_MODEL, "%s: layer \"%s\": cannot read weight \"%s\" (%s)", path, layer, weight_name,
                          hdf5_detail(detail));
done:
    if (space >= 0) H5Sclose(space);
    if (type >= 0) H5Tclose(type);
    H5Dclose(dataset);
    return status;
}

static dlp_status read_layers(hid_t weights_group, const char *path, dlp_tensor_list *list)
{
    char detail[256];
    string_list layer_names = {0};
    int found;
    DLP_TRY(read_split_string_attribute(weights_group, "layer_names", path, "weights group", &layer_names, &found));
    if (!found)
        return dlp_fail(DLP_ERR_MODEL, "%s: no layer_names attribute: not a Keras 2 .h5 file (a Keras 3 .weights.h5 "
                        "or another HDF5 file?)", path);
    dlp_status status = DLP_OK;
    size_t weight_layers = 0;
    for (size_t i = 0; i < layer_names.count && status == DLP_OK; i++) {
        const char *layer = layer_names.items[i];
        if (!is_clean_utf8(layer)) {
            status = dlp_fail(DLP_ERR_MODEL, "%s: layer number %zu in layer_names: name is not UTF-8 text", path, i);
            break;
        }
        hid_t group = layer[0] ? H5Gopen2(weights_group, layer, H5P_DEFAULT) : -1;
        if (group < 0) {
            status = dlp_fail(DLP_ERR_MODEL, "%s: layer \"%s\" (number %zu in layer_names) has no group (%s)", path,
                              layer, i, hdf5_detail(detail));
            break;
        }
        char where[600];
        snprintf(where, sizeof where, "layer \"%s\"", layer);
        string_list weight_names = {0};
        status = read_split_string_attribute(group, "weight_names", path, where, &weight_names, &found);
        if (status == DLP_OK && !found)
            status = dlp_fail(DLP_ERR_MODEL, "%s: layer \"%s\": no weight_names attribute", path, layer);
        int nested = status == DLP_OK && holds_nested_model(layer, weight_names.items, weight_names.count);
        for (size_t w = 0; w < weight_names.count && status == DLP_OK; w++)
            status = is_clean_utf8(weight_names.items[w])
                         ? read_weight(group, layer, weight_names.items[w], nested, path, list)
                         : dlp_fail(DLP_ERR_MODEL, "%s: layer \"%s\": weight number %zu in weight_names: name is "
                                    "not UTF-8 text", path, layer, w);
        if (weight_names.count) weight_layers++;
        string_list_clear(&weight_names);
        H5Gclose(group);
    }
    if (status == DLP_OK) {
        char count[32];
        snprintf(count, sizeof count, "%zu", layer_names.count);
        status = dlp_tensor_list_set_metadata(list, "layer_count", count);
        snprintf(count, sizeof count, "%zu", weight_layers);
        if (status == DLP_OK) status = dlp_tensor_list_set_metadata(list, "weight_layer_count", count);
    }
    string_list_clear(&layer_names);
    return status;
}

static dlp_status load_open_file(hid_t file, const char *path, dlp_tensor_list *list)
{
    char detail[256];
    DLP_TRY(dlp_tensor_list_set_metadata(list, "format", "keras-h5"));
    DLP_TRY(dlp_tensor_list_set_metadata(list, "source", path));
    /* A whole-model file keeps the weights-only layout inside model_weights. */
    htri_t whole_model = H5Lexists(file, "model_weights", H5P_DEFAULT);
    hid_t weights_group = whole_model > 0 ? H5Gopen2(file, "model_weights", H5P_DEFAULT) : file;
    if (weights_group < 0)
        return dlp_fail(DLP_ERR_MODEL, "%s: model_weights is not a group (%s)", path, hdf5_detail(detail));
    H5Eclear2(H5E_DEFAULT);
    dlp_status status = copy_metadata(file, "keras_version", "keras_version", path, list);
    if (status == DLP_OK && weights_group != file && !dlp_tensor_list_get_metadata(list, "keras_version"))
        status = copy_metadata(weights_group, "keras_version", "keras_version", path, list);
    if (status == DLP_OK) status = copy_metadata(file, "backend", "backend", path, list);
    if (status == DLP_OK) status = copy_metadata(file, "model_config", "model_config", path, list);
    if (status == DLP_OK) status = read_layers(weights_group, path, list);
    if (weights_group != file) H5Gclose(weights_group);
    return status;
}

dlp_status dlp_keras_h5_load(const char *path, dlp_tensor_list **list)
{
    if (!list) return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "dlp_keras_h5_load: NULL list");
    *list = NULL;
    if (!path) return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "dlp_keras_h5_load: NULL path");
    FILE *probe = fopen(path, "rb");
    if (!probe) return dlp_fail(DLP_ERR_IO, "%s: cannot open for reading", path);
    fclose(probe);

    /* The library never prints: HDF5's automatic error printing is off during
     * the call (and put back after), its messages go into ours. */
    H5E_auto2_t old_function = NULL;
    void *old_data = NULL;
    H5Eget_auto2(H5E_DEFAULT, &old_function, &old_data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);

    char detail[256];
    dlp_status status = DLP_OK;
    dlp_tensor_list *result = NULL;
    hid_t file = -1;
    htri_t is_hdf5 = H5Fis_hdf5(path);
    if (is_hdf5 <= 0) {
        status = is_hdf5 == 0 ? dlp_fail(DLP_ERR_MODEL, "%s: not an HDF5 file (no HDF5 signature), expected a Keras "
                                         ".h5 file", path)
                              : dlp_fail(DLP_ERR_MODEL, "%s: cannot be read as HDF5 (%s)", path, hdf5_detail(detail));
        goto done;
    }
    file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (file < 0) {
        status = dlp_fail(DLP_ERR_MODEL, "%s: cannot open as HDF5 (%s)", path, hdf5_detail(detail));
        goto done;
    }
    status = dlp_tensor_list_create(&result);
    if (status == DLP_OK) status = load_open_file(file, path, result);
done:
    if (file >= 0) H5Fclose(file);
    H5Eclear2(H5E_DEFAULT);
    H5Eset_auto2(H5E_DEFAULT, old_function, old_data);
    if (status != DLP_OK) {
        dlp_tensor_list_destroy(result);
        return status;
    }
    *list = result;
    return DLP_OK;
}

dlp_status dlp_keras_h5_read_model_config(const char *path, char **config)
{
    *config = NULL;
    H5E_auto2_t old_function = NULL;
    void *old_data = NULL;
    H5Eget_auto2(H5E_DEFAULT, &old_function, &old_data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    char detail[256];
    dlp_tensor_list *list = NULL;
    dlp_status status = dlp_tensor_list_create(&list);
    hid_t file = status == DLP_OK && H5Fis_hdf5(path) > 0 ? H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT) : -1;
    if (status == DLP_OK && file < 0)
        status = dlp_fail(DLP_ERR_MODEL, "%s: cannot open as HDF5 (%s)", path, hdf5_detail(detail));
    if (status == DLP_OK) status = copy_metadata(file, "model_config", "model_config", path, list);
    const char *text = status == DLP_OK ? dlp_tensor_list_get_metadata(list, "model_config") : NULL;
    if (text) {
        *config = strdup(text);
        if (!*config) status = dlp_fail(DLP_ERR_OUT_OF_MEMORY, "%s: out of memory", path);
    }
    if (file >= 0) H5Fclose(file);
    H5Eclear2(H5E_DEFAULT);
    H5Eset_auto2(H5E_DEFAULT, old_function, old_data);
    dlp_tensor_list_destroy(list);
    return status;
}

/* tensor.c: dtypes and the ordered named-tensor list (see dlp/tensor.h). */
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "dlp/tensor.h"

static const struct {
    const char *name;
    size_t size;
} dtype_table[DLP_DTYPE_COUNT] = {
    [DLP_DTYPE_F32] = {"F32", 4}, [DLP_DTYPE_F16] = {"F16", 2}, [DLP_DTYPE_BF16] = {"BF16", 2},
    [DLP_DTYPE_F64] = {"F64", 8}, [DLP_DTYPE_I8] = {"I8", 1},   [DLP_DTYPE_U8] = {"U8", 1},
    [DLP_DTYPE_I16] = {"I16", 2}, [DLP_DTYPE_U16] = {"U16", 2}, [DLP_DTYPE_I32] = {"I32", 4},
    [DLP_DTYPE_U32] = {"U32", 4}, [DLP_DTYPE_I64] = {"I64", 8}, [DLP_DTYPE_U64] = {"U64", 8},
    [DLP_DTYPE_BOOL] = {"BOOL", 1},
};

size_t dlp_dtype_size(dlp_dtype dtype) { return (unsigned)dtype < DLP_DTYPE_COUNT ? dtype_table[dtype].size : 0; }

const char *dlp_dtype_name(dlp_dtype dtype) { return (unsigned)dtype < DLP_DTYPE_COUNT ? dtype_table[dtype].name : "?"; }

dlp_status dlp_dtype_from_name(const char *name, dlp_dtype *dtype)
{
    for (int i = 0; i < DLP_DTYPE_COUNT; i++)
        if (!strcmp(name, dtype_table[i].name)) {
            *dtype = (dlp_dtype)i;
            return DLP_OK;
        }
    return dlp_fail(DLP_ERR_FORMAT, "unknown dtype \"%s\" (expected F32, F16, BF16, F64, I8, U8, I16, U16, I32, U32, "
                                    "I64, U64 or BOOL)", name);
}

typedef struct {
    char *key;
    char *value;
} metadata_entry;

struct dlp_tensor_list {
    dlp_named_tensor *tensors;
    size_t count, capacity;
    metadata_entry *metadata;
    size_t metadata_count, metadata_capacity;
};

dlp_status dlp_tensor_list_create(dlp_tensor_list **list)
{
    *list = calloc(1, sizeof **list);
    return *list ? DLP_OK : dlp_fail(DLP_ERR_OUT_OF_MEMORY, "tensor list: out of memory");
}

void dlp_tensor_list_destroy(dlp_tensor_list *list)
{
    if (!list) return;
    for (size_t i = 0; i < list->count; i++) {
        free((char *)list->tensors[i].name);
        free(list->tensors[i].data);
    }
    for (size_t i = 0; i < list->metadata_count; i++) {
        free(list->metadata[i].key);
        free(list->metadata[i].value);
    }
    free(list->tensors);
    free(list->metadata);
    free(list);
}

static char *copy_string(const char *text)
{
    size_t n = strlen(text) + 1;
    char *copy = malloc(n);
    if (copy) memcpy(copy, text, n);
    return copy;
}

dlp_status dlp_tensor_list_add(dlp_tensor_list *list, const char *name, dlp_dtype dtype, int ndim,
                               const int64_t *shape, const void *data, dlp_named_tensor **added)
{
    if (added) *added = NULL;
    if ((unsigned)dtype >= DLP_DTYPE_COUNT) return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "tensor \"%s\": invalid dtype %d", name, (int)dtype);
    if (ndim < 0 || ndim > DLP_MAX_DIMS)
        return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "tensor \"%s\": %d dimensions, expected 0..%d", name, ndim, DLP_MAX_DIMS);
    if (dlp_tensor_list_find(list, name)) return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "tensor \"%s\" added twice", name);
    size_t elements = 1;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] < 0) return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "tensor \"%s\": dimension %d is %lld", name, d, (long long)shape[d]);
        if (shape[d] != 0 && elements > SIZE_MAX / 16 / (size_t)shape[d])
            return dlp_fail(DLP_ERR_LIMIT, "tensor \"%s\": element count overflows", name);
        elements *= (size_t)shape[d];
    }
    if (list->count == list->capacity) {
        size_t capacity = list->capacity ? list->capacity * 2 : 16;
        dlp_named_tensor *grown = realloc(list->tensors, capacity * sizeof *grown);
        if (!grown) return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "tensor list: out of memory");
        list->tensors = grown;
        list->capacity = capacity;
    }
    dlp_named_tensor *tensor = &list->tensors[list->count];
    memset(tensor, 0, sizeof *tensor);
    tensor->dtype = dtype;
    tensor->ndim = ndim;
    for (int d = 0; d < ndim; d++) tensor->shape[d] = shape[d];
    tensor->element_count = elements;
    tensor->nbytes = elements * dlp_dtype_size(dtype);
    tensor->name = copy_string(name);
    tensor->data = tensor->nbytes ? malloc(tensor->nbytes) : NULL;
    if (!tensor->name || (tensor->nbytes && !tensor->data)) {
        free((char *)tensor->name);
        free(tensor->data);
        return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "tensor \"%s\": out of memory for %zu bytes", name, tensor->nbytes);
    }
    if (tensor->nbytes) {
        if (data) memcpy(tensor->data, data, tensor->nbytes);
        else memset(tensor->data, 0, tensor->nbytes);
    }
    list->count++;
    if (added) *added = tensor;
    return DLP_OK;
}

size_t dlp_tensor_list_count(const dlp_tensor_list *list) { return list->count; }

const dlp_named_tensor *dlp_tensor_list_at(const dlp_tensor_list *list, size_t index)
{
    return index < list->count ? &list->tensors[index] : NULL;
}

const dlp_named_tensor *dlp_tensor_list_find(const dlp_tensor_list *list, const char *name)
{
    for (size_t i = 0; i < list->count; i++)
        if (!strcmp(list->tensors[i].name, name)) return &list->tensors[i];
    return NULL;
}

dlp_status dlp_tensor_list_set_metadata(dlp_tensor_list *list, const char *key, const char *value)
{
    char *value_copy = copy_string(value);
    if (!value_copy) return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "tensor list metadata: out of memory");
    for (size_t i = 0; i < list->metadata_count; i++)
        if (!strcmp(list->metadata[i].key, key)) {
            free(list->metadata[i].value);
            list->metadata[i].value = value_copy;
            return DLP_OK;
        }
    if (list->metadata_count == list->metadata_capacity) {
        size_t capacity = list->metadata_capacity ? list->metadata_capacity * 2 : 8;
        metadata_entry *grown = realloc(list->metadata, capacity * sizeof *grown);
        if (!grown) {
            free(value_copy);
            return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "tensor list metadata: out of memory");
        }
        list->metadata = grown;
        list->metadata_capacity = capacity;
    }
    char *key_copy = copy_string(key);
    if (!key_copy) {
        free(value_copy);
        return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "tensor list metadata: out of memory");
    }
    list->metadata[list->metadata_count++] = (metadata_entry){key_copy, value_copy};
    return DLP_OK;
}

const char *dlp_tensor_list_get_metadata(const dlp_tensor_list *list, const char *key)
{
    for (size_t i = 0; i < list->metadata_count; i++)
        if (!strcmp(list->metadata[i].key, key)) return list->metadata[i].value;
    return NULL;
}

size_t dlp_tensor_list_metadata_count(const dlp_tensor_list *list) { return list->metadata_count; }

void dlp_tensor_list_metadata_at(const dlp_tensor_list *list, size_t index, const char **key, const char **value)
{
    *key = index < list->metadata_count ? list->metadata[index].key : NULL;
    *value = index < list->metadata_count ? list->metadata[index].value : NULL;
}

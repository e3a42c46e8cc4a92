/* dlp/tensor.h: element types and an ordered list of named tensors.
 * The list is what every weight importer produces (Keras .h5, TensorFlow.js,
 * safetensors, the synthetic generator) and what model builders consume: names
 * are Keras' ("conv2d_1/kernel"), order is Keras' weight order, layouts are
 * Keras' own (conv kernels HWIO, dense kernels [in, out]). */
#ifndef DLP_TENSOR_H
#define DLP_TENSOR_H

#include "dlp/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum dlp_dtype {
    DLP_DTYPE_F32 = 0,
    DLP_DTYPE_F16,
    DLP_DTYPE_BF16,
    DLP_DTYPE_F64,
    DLP_DTYPE_I8,
    DLP_DTYPE_U8,
    DLP_DTYPE_I16,
    DLP_DTYPE_U16,
    DLP_DTYPE_I32,
    DLP_DTYPE_U32,
    DLP_DTYPE_I64,
    DLP_DTYPE_U64,
    DLP_DTYPE_BOOL,
    DLP_DTYPE_COUNT
} dlp_dtype;

/* Bytes per element. */
size_t dlp_dtype_size(dlp_dtype dtype);
/* safetensors' spelling: "F32", "BF16", "U8", ... */
const char *dlp_dtype_name(dlp_dtype dtype);
/* Inverse of dlp_dtype_name; DLP_ERR_FORMAT for an unknown name. */
dlp_status dlp_dtype_from_name(const char *name, dlp_dtype *dtype);

#define DLP_MAX_DIMS 8

typedef struct dlp_named_tensor {
    const char *name;
    dlp_dtype dtype;
    int ndim;
    int64_t shape[DLP_MAX_DIMS];
    size_t element_count;
    size_t nbytes;
    void *data; /* owned by the list, row-major, little-endian */
} dlp_named_tensor;

typedef struct dlp_tensor_list dlp_tensor_list;

dlp_status dlp_tensor_list_create(dlp_tensor_list **list);
void dlp_tensor_list_destroy(dlp_tensor_list *list);

/* Appends a tensor; copies name and data (data may be NULL: zero-filled).
 * Fails on a duplicate name, ndim outside 0..DLP_MAX_DIMS, or a negative dim.
 * If added is not NULL it receives the stored tensor (to fill its data). */
dlp_status dlp_tensor_list_add(dlp_tensor_list *list, const char *name, dlp_dtype dtype, int ndim,
                               const int64_t *shape, const void *data, dlp_named_tensor **added);
size_t dlp_tensor_list_count(const dlp_tensor_list *list);
const dlp_named_tensor *dlp_tensor_list_at(const dlp_tensor_list *list, size_t index);
/* NULL when absent. */
const dlp_named_tensor *dlp_tensor_list_find(const dlp_tensor_list *list, const char *name);

/* String metadata (safetensors' __metadata__): setting a key again replaces it. */
dlp_status dlp_tensor_list_set_metadata(dlp_tensor_list *list, const char *key, const char *value);
/* NULL when absent. */
const char *dlp_tensor_list_get_metadata(const dlp_tensor_list *list, const char *key);
size_t dlp_tensor_list_metadata_count(const dlp_tensor_list *list);
void dlp_tensor_list_metadata_at(const dlp_tensor_list *list, size_t index, const char **key, const char **value);

#ifdef __cplusplus
}
#endif
#endif

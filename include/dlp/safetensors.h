/* dlp/safetensors.h: the native weight format (https://github.com/huggingface/safetensors):
 * an 8-byte little-endian header length N, N bytes of JSON
 * {name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {str: str}},
 * then the raw little-endian tensor bytes. Files are mmap'ed, never copied to read. */
#ifndef DLP_SAFETENSORS_H
#define DLP_SAFETENSORS_H

#include "dlp/core.h"
#include "dlp/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Header lengths above this are refused, as the reference implementation does. */
#define DLP_SAFETENSORS_MAX_HEADER_BYTES 100000000

typedef struct dlp_safetensors dlp_safetensors;

/* Maps and validates a file. Everything the reference implementation
 * (safetensors' Rust `validate`) refuses is refused here with DLP_ERR_FORMAT
 * and a message naming the file, the tensor and the field: malformed or
 * non-object JSON, duplicate keys, unknown dtype, unknown or missing fields,
 * negative or non-integer dims or offsets, byte size != product(shape) *
 * dtype size, offsets past the end, and ranges that overlap, leave a hole, or
 * do not end exactly at the end of the file. */
dlp_status dlp_safetensors_open(const char *path, dlp_safetensors **file);
/* The same checks on bytes in memory; bytes must outlive the handle.
 * name_for_messages is used where a path would be. */
dlp_status dlp_safetensors_parse(const void *bytes, size_t size, const char *name_for_messages,
                                 dlp_safetensors **file);
void dlp_safetensors_close(dlp_safetensors *file);

size_t dlp_safetensors_count(const dlp_safetensors *file);
/* Tensors in the order of their data in the file (the order dlp's writer was
 * given). data points into the mapping: it is read-only, and aligned to the
 * element size only if the file was laid out so (dlp's writer does not pad),
 * so read multi-byte elements with memcpy or use dlp_safetensors_to_list. */
const dlp_named_tensor *dlp_safetensors_at(const dlp_safetensors *file, size_t index);
const dlp_named_tensor *dlp_safetensors_find(const dlp_safetensors *file, const char *name); /* NULL if absent */

const char *dlp_safetensors_metadata(const dlp_safetensors *file, const char *key); /* NULL if absent */
size_t dlp_safetensors_metadata_count(const dlp_safetensors *file);
void dlp_safetensors_metadata_at(const dlp_safetensors *file, size_t index, const char **key, const char **value);

/* Copies every tensor (in file order) and the metadata into a new list. */
dlp_status dlp_safetensors_to_list(const dlp_safetensors *file, dlp_tensor_list **list);
/* open + to_list + close. */
dlp_status dlp_safetensors_load(const char *path, dlp_tensor_list **list);

/* Writes the list's tensors in list order, contiguous, with the list's
 * metadata as __metadata__; the header is padded with spaces to a multiple of
 * 8 bytes (as the reference writer does). The file appears atomically: it is
 * written beside path under a temporary name, then renamed. */
dlp_status dlp_safetensors_write(const char *path, const dlp_tensor_list *list);

#ifdef __cplusplus
}
#endif
#endif

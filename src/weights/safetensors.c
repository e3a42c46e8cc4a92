/* safetensors.c: validating reader (mmap) and atomic writer of safetensors files.
 * The checks follow the reference implementation (safetensors' Rust crate,
 * tensor.rs: read_metadata / Metadata::validate): header length <= 100 MB and
 * within the file, the JSON starts with '{', tensors sorted by offsets must tile
 * the data buffer exactly (each begins where the previous ended, the first at
 * 0, the last ends at the end of the file), byte sizes equal product(shape) *
 * dtype size with overflow checked. jansson additionally rejects duplicate keys. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/status.h"
#include "dlp/safetensors.h"

typedef struct {
    char *key;
    char *value;
} metadata_entry;

struct dlp_safetensors {
    char *name;
    void *mapping; /* NULL when parsing caller bytes */
    size_t mapping_bytes;
    dlp_named_tensor *tensors; /* sorted by data offset */
    size_t count;
    metadata_entry *metadata;
    size_t metadata_count;
};

static char *copy_string(const char *text)
{
    size_t n = strlen(text) + 1;
    char *copy = malloc(n);
    if (copy) memcpy(copy, text, n);
    return copy;
}

void dlp_safetensors_close(dlp_safetensors *file)
{
    if (!file) return;
    for (size_t i = 0; i < file->count; i++) free((char *)file->tensors[i].name);
    for (size_t i = 0; i < file->metadata_count; i++) {
        free(file->metadata[i].key);
        free(file->metadata[i].value);
    }
    free(file->tensors);
    free(file->metadata);
    if (file->mapping) munmap(file->mapping, file->mapping_bytes);
    free(file->name);
    free(file);
}

/* Reads a JSON integer >= 0 that fits in int64. */
static int read_nonnegative(const json_t *value, int64_t *out)
{
    if (!json_is_integer(value)) return 0;
    json_int_t number = json_integer_value(value);
    if (number < 0) return 0;
    *out = (int64_t)number;
    return 1;
}

typedef struct {
    uint64_t begin, end;
} byte_range;

static int compare_by_offset(const void *a, const void *b, void *ranges_context)
{
    const byte_range *ranges = ranges_context;
    const byte_range *x = &ranges[*(const size_t *)a], *y = &ranges[*(const size_t *)b];
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return 0;
}

/* qsort_r is a GNU extension; an insertion sort on indices keeps this
 * portable and is fast enough for the few thousand tensors of a network. */
static void sort_indices(size_t *indices, size_t count, const byte_range *ranges)
{
    for (size_t i = 1; i < count; i++) {
        size_t current = indices[i], j = i;
        while (j > 0 && compare_by_offset(&indices[j - 1], &current, (void *)ranges) > 0) {
            indices[j] = indices[j - 1];
            j--;
        }
        indices[j] = current;
    }
}

static dlp_status parse_tensor(const char *file_name, const char *tensor_name, const json_t *entry,
                               uint64_t data_bytes, dlp_named_tensor *tensor, byte_range *range)
{
    if (!json_is_object(entry))
        return dlp_fail(DLP_ERR_FORMAT, "%s: tensor \"%s\": expected an object with dtype, shape and data_offsets",
                        file_name, tensor_name);
    const char *field;
    json_t *value;
    json_object_foreach((json_t *)entry, field, value)
    {
        if (strcmp(field, "dtype") && strcmp(field, "shape") && strcmp(field, "data_offsets"))
            return dlp_fail(DLP_ERR_FORMAT, "%s: tensor \"%s\": unknown field \"%s\" (expected dtype, shape, data_offsets)",
                            file_name, tensor_name, field);
    }
    const json_t *dtype = json_object_get(entry, "dtype");
    if (!json_is_string(dtype))
        return dlp_fail(DLP_ERR_FORMAT, "%s: tensor \"%s\": field dtype: expected a string", file_name, tensor_name);
    if (dlp_dtype_from_name(json_string_value(dtype), &tensor->dtype) != DLP_OK)
        return dlp_fail_context(DLP_ERR_FORMAT, "%s: tensor \"%s\": field dtype", file_name, tensor_name);

    const json_t *shape = json_object_get(entry, "shape");
    if (!json_is_array(shape))
        return dlp_fail(DLP_ERR_FORMAT, "%s: tensor \"%s\": field shape: expected an array of integers", file_name,
                        tensor_name);
    size_t ndim = json_array_size(shape);
    if (ndim > DLP_MAX_DIMS)
        return dlp_fail(DLP_ERR_UNSUPPORTED, "%s: tensor \"%s\": %zu dimensions, dlp supports at most %d", file_name,
                        tensor_name, ndim, DLP_MAX_DIMS);
    tensor->ndim = (int)ndim;
    uint64_t elements = 1;
    int overflow = 0;
    for (size_t d = 0; d < ndim; d++) {
        int64_t dim;
        if (!read_nonnegative(json_array_get(shape, d), &dim))
            return dlp_fail(DLP_ERR_FORMAT, "%s: tensor \"%s\": shape[%zu]: expected a non-negative integer", file_name,
                            tensor_name, d);
        tensor->shape[d] = dim;
        if (dim && elements > UINT64_MAX / (uint64_t)dim) overflow = 1;
        else elements *= (uint64_t)dim;
    }
    size_t element_bytes = dlp_dtype_size(tensor->dtype);
    if (overflow || elements > UINT64_MAX / element_bytes || elements * element_bytes > SIZE_MAX)
        return dlp_fail(DLP_ERR_FORMAT, "%s: tensor \"%s\": shape's byte size overflows", file_name, tensor_name);

    const json_t *offsets = json_object_get(entry, "data_offsets");
    int64_t begin, end;
    if (!json_is_array(offsets) || json_array_size(offsets) != 2 || !read_nonnegative(json_array_get(offsets, 0), &begin) ||
        !read_nonnegative(json_array_get(offsets, 1), &end))
        return dlp_fail(DLP_ERR_FORMAT, "%s: tensor \"%s\": field data_offsets: expected [begin, end], two "
                                        "non-negative integers", file_name, tensor_name);
    if (end < begin)
        return dlp_fail(DLP_ERR_FORMAT, "%s: tensor \"%s\": data_offsets [%lld, %lld] end before begin", file_name,
                        tensor_name, (long long)begin, (long long)end);
    if ((uint64_t)end > data_bytes)
        return dlp_fail(DLP_ERR_FORMAT, "%s: tensor \"%s\": data_offsets end %lld is past the end of the data (%llu bytes)",
                        file_name, tensor_name, (long long)end, (unsigned long long)data_bytes);
    uint64_t nbytes = elements * element_bytes;
    if ((uint64_t)(end - begin) != nbytes)
        return dlp_fail(DLP_ERR_FORMAT, "%s: tensor \"%s\": %s shape needs %llu bytes, data_offsets give %lld",
                        file_name, tensor_name, dlp_dtype_name(tensor->dtype), (unsigned long long)nbytes,
                        (long long)(end - begin));
    tensor->element_count = (size_t)elements;
    tensor->nbytes = (size_t)nbytes;
    range->begin = (uint64_t)begin;
    range->end = (uint64_t)end;
    return DLP_OK;
}

static dlp_status parse_metadata(dlp_safetensors *file, const json_t *metadata)
{
    if (!json_is_object(metadata))
        return dlp_fail(DLP_ERR_FORMAT, "%s: __metadata__: expected an object of strings", file->name);
    size_t count = json_object_size(metadata);
    file->metadata = calloc(count ? count : 1, sizeof *file->metadata);
    if (!file->metadata) return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "%s: out of memory", file->name);
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)metadata, key, value)
    {
        if (!json_is_string(value))
            return dlp_fail(DLP_ERR_FORMAT, "%s: __metadata__ \"%s\": expected a string value", file->name, key);
        metadata_entry *entry = &file->metadata[file->metadata_count];
        entry->key = copy_string(key);
        entry->value = copy_string(json_string_value(value));
        file->metadata_count++;
        if (!entry->key || !entry->value) return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "%s: out of memory", file->name);
    }
    return DLP_OK;
}

static dlp_status parse_header(dlp_safetensors *file, const uint8_t *bytes, size_t size)
{
    if (size < 8)
        return dlp_fail(DLP_ERR_FORMAT, "%s: %zu bytes, too short for the 8-byte header length", file->name, size);
    uint64_t header_bytes = 0;
    for (int i = 7; i >= 0; i--) header_bytes = header_bytes << 8 | bytes[i];
    if (header_bytes == 0) return dlp_fail(DLP_ERR_FORMAT, "%s: header length is 0", file->name);
    if (header_bytes > DLP_SAFETENSORS_MAX_HEADER_BYTES)
        return dlp_fail(DLP_ERR_FORMAT, "%s: header length %llu exceeds the %d-byte limit", file->name,
                        (unsigned long long)header_bytes, DLP_SAFETENSORS_MAX_HEADER_BYTES);
    if (header_bytes > size - 8)
        return dlp_fail(DLP_ERR_FORMAT, "%s: header length %llu, but only %zu bytes follow (truncated file?)",
                        file->name, (unsigned long long)header_bytes, size - 8);
    const char *header = (const char *)bytes + 8;
    if (header[0] != '{') return dlp_fail(DLP_ERR_FORMAT, "%s: header does not start with '{'", file->name);
    json_error_t error;
    json_t *root = json_loadb(header, (size_t)header_bytes, JSON_REJECT_DUPLICATES, &error);
    if (!root)
        return dlp_fail(DLP_ERR_FORMAT, "%s: header JSON, line %d column %d: %s", file->name, error.line,
                        error.column, error.text);
    dlp_status status = DLP_OK;
    size_t data_offset = 8 + (size_t)header_bytes;
    uint64_t data_bytes = size - data_offset;
    size_t capacity = json_object_size(root);
    byte_range *ranges = calloc(capacity ? capacity : 1, sizeof *ranges);
    dlp_named_tensor *unsorted = calloc(capacity ? capacity : 1, sizeof *unsorted);
    size_t *order = calloc(capacity ? capacity : 1, sizeof *order);
    if (!json_is_object(root)) status = dlp_fail(DLP_ERR_FORMAT, "%s: header is not a JSON object", file->name);
    else if (!ranges || !unsorted || !order) status = dlp_fail(DLP_ERR_OUT_OF_MEMORY, "%s: out of memory", file->name);
    size_t count = 0;
    const char *key;
    json_t *value;
    if (status == DLP_OK) json_object_foreach(root, key, value)
        {
            if (!strcmp(key, "__metadata__")) {
                status = parse_metadata(file, value);
            } else {
                status = parse_tensor(file->name, key, value, data_bytes, &unsorted[count], &ranges[count]);
                if (status == DLP_OK) {
                    unsorted[count].name = copy_string(key);
                    if (!unsorted[count].name) status = dlp_fail(DLP_ERR_OUT_OF_MEMORY, "%s: out of memory", file->name);
                    else count++;
                }
            }
            if (status != DLP_OK) break;
        }
    if (status == DLP_OK) {
        for (size_t i = 0; i < count; i++) order[i] = i;
        sort_indices(order, count, ranges);
        uint64_t expected_begin = 0;
        for (size_t i = 0; i < count && status == DLP_OK; i++) {
            const byte_range *range = &ranges[order[i]];
            if (range->begin != expected_begin)
                status = dlp_fail(DLP_ERR_FORMAT, "%s: tensor \"%s\": data_offsets begin at %llu, expected %llu (%s)",
                                  file->name, unsorted[order[i]].name, (unsigned long long)range->begin,
                                  (unsigned long long)expected_begin,
                                  range->begin < expected_begin ? "overlaps the previous tensor" : "leaves a hole");
            expected_begin = range->end;
        }
        if (status == DLP_OK && expected_begin != data_bytes)
            status = dlp_fail(DLP_ERR_FORMAT, "%s: tensors end at byte %llu of the data, but the file has %llu "
                                              "(trailing bytes or truncated header)",
                              file->name, (unsigned long long)expected_begin, (unsigned long long)data_bytes);
    }
    if (status == DLP_OK) {
        file->tensors = calloc(count ? count : 1, sizeof *file->tensors);
        if (!file->tensors) status = dlp_fail(DLP_ERR_OUT_OF_MEMORY, "%s: out of memory", file->name);
    }
    if (status == DLP_OK) {
        for (size_t i = 0; i < count; i++) {
            file->tensors[i] = unsorted[order[i]];
            file->tensors[i].data = (void *)(bytes + data_offset + ranges[order[i]].begin);
        }
        file->count = count;
    } else {
        for (size_t i = 0; i < count; i++) free((char *)unsorted[i].name);
    }
    free(ranges);
    free(unsorted);
    free(order);
    json_decref(root);
    return status;
}

static dlp_status create_handle(const char *name, dlp_safetensors **file)
{
    *file = calloc(1, sizeof **file);
    if (!*file || !((*file)->name = copy_string(name))) {
        free(*file);
        *file = NULL;
        return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "%s: out of memory", name);
    }
    return DLP_OK;
}

dlp_status dlp_safetensors_parse(const void *bytes, size_t size, const char *name_for_messages, dlp_safetensors **file)
{
    *file = NULL;
    dlp_safetensors *parsed;
    DLP_TRY(create_handle(name_for_messages ? name_for_messages : "safetensors", &parsed));
    dlp_status status = parse_header(parsed, bytes, size);
    if (status != DLP_OK) {
        dlp_safetensors_close(parsed);
        return status;
    }
    *file = parsed;
    return DLP_OK;
}

dlp_status dlp_safetensors_open(const char *path, dlp_safetensors **file)
{
    *file = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return dlp_fail(DLP_ERR_IO, "%s: %s", path, strerror(errno));
    struct stat info;
    if (fstat(fd, &info) != 0) {
        int error = errno;
        close(fd);
        return dlp_fail(DLP_ERR_IO, "%s: %s", path, strerror(error));
    }
    if (!S_ISREG(info.st_mode)) {
        close(fd);
        return dlp_fail(DLP_ERR_IO, "%s: not a regular file", path);
    }
    size_t size = (size_t)info.st_size;
    if (size < 8) {
        close(fd);
        return dlp_fail(DLP_ERR_FORMAT, "%s: %zu bytes, too short for the 8-byte header length", path, size);
    }
    void *mapping = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    int map_error = errno;
    close(fd);
    if (mapping == MAP_FAILED) return dlp_fail(DLP_ERR_IO, "%s: mmap failed: %s", path, strerror(map_error));
    dlp_safetensors *opened;
    dlp_status status = create_handle(path, &opened);
    if (status != DLP_OK) {
        munmap(mapping, size);
        return status;
    }
    opened->mapping = mapping;
    opened->mapping_bytes = size;
    status = parse_header(opened, mapping, size);
    if (status != DLP_OK) {
        dlp_safetensors_close(opened);
        return status;
    }
    *file = opened;
    return DLP_OK;
}

size_t dlp_safetensors_count(const dlp_safetensors *file) { return file->count; }

const dlp_named_tensor *dlp_safetensors_at(const dlp_safetensors *file, size_t index)
{
    return index < file->count ? &file->tensors[index] : NULL;
}

const dlp_named_tensor *dlp_safetensors_find(const dlp_safetensors *file, const char *name)
{
    for (size_t i = 0; i < file->count; i++)
        if (!strcmp(file->tensors[i].name, name)) return &file->tensors[i];
    return NULL;
}

const char *dlp_safetensors_metadata(const dlp_safetensors *file, const char *key)
{
    for (size_t i = 0; i < file->metadata_count; i++)
        if (!strcmp(file->metadata[i].key, key)) return file->metadata[i].value;
    return NULL;
}

size_t dlp_safetensors_metadata_count(const dlp_safetensors *file) { return file->metadata_count; }

void dlp_safetensors_metadata_at(const dlp_safetensors *file, size_t index, const char **key, const char **value)
{
    *key = index < file->metadata_count ? file->metadata[index].key : NULL;
    *value = index < file->metadata_count ? file->metadata[index].value : NULL;
}

dlp_status dlp_safetensors_to_list(const dlp_safetensors *file, dlp_tensor_list **list)
{
    *list = NULL;
    dlp_tensor_list *copy;
    DLP_TRY(dlp_tensor_list_create(&copy));
    dlp_status status = DLP_OK;
    for (size_t i = 0; i < file->count && status == DLP_OK; i++) {
        const dlp_named_tensor *tensor = &file->tensors[i];
        /* The list copies the bytes with memcpy: unaligned sources are fine. */
        status = dlp_tensor_list_add(copy, tensor->name, tensor->dtype, tensor->ndim, tensor->shape, tensor->data, NULL);
    }
    for (size_t i = 0; i < file->metadata_count && status == DLP_OK; i++)
        status = dlp_tensor_list_set_metadata(copy, file->metadata[i].key, file->metadata[i].value);
    if (status != DLP_OK) {
        dlp_tensor_list_destroy(copy);
        return dlp_fail_context(status, "%s", file->name);
    }
    *list = copy;
    return DLP_OK;
}

dlp_status dlp_safetensors_load(const char *path, dlp_tensor_list **list)
{
    *list = NULL;
    dlp_safetensors *file;
    DLP_TRY(dlp_safetensors_open(path, &file));
    dlp_status status = dlp_safetensors_to_list(file, list);
    dlp_safetensors_close(file);
    return status;
}

static char *build_header(const dlp_tensor_list *list, size_t *header_bytes, const char *path)
{
    json_t *root = json_object();
    if (!root) return NULL;
    size_t metadata_count = dlp_tensor_list_metadata_count(list);
    if (metadata_count) {
        json_t *metadata = json_object();
        json_object_set_new(root, "__metadata__", metadata);
        for (size_t i = 0; i < metadata_count; i++) {
            const char *key, *value;
            dlp_tensor_list_metadata_at(list, i, &key, &value);
            json_object_set_new(metadata, key, json_string(value));
        }
    }
    uint64_t offset = 0;
    for (size_t i = 0; i < dlp_tensor_list_count(list); i++) {
        const dlp_named_tensor *tensor = dlp_tensor_list_at(list, i);
        json_t *entry = json_object(), *shape = json_array(), *offsets = json_array();
        json_object_set_new(entry, "dtype", json_string(dlp_dtype_name(tensor->dtype)));
        for (int d = 0; d < tensor->ndim; d++) json_array_append_new(shape, json_integer(tensor->shape[d]));
        json_object_set_new(entry, "shape", shape);
        json_array_append_new(offsets, json_integer((json_int_t)offset));
        json_array_append_new(offsets, json_integer((json_int_t)(offset + tensor->nbytes)));
        json_object_set_new(entry, "data_offsets", offsets);
        json_object_set_new(root, tensor->name, entry);
        offset += tensor->nbytes;
    }
    char *text = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(root);
    if (!text) return NULL;
    size_t length = strlen(text);
    size_t padded = (length + 7) / 8 * 8; /* the data then starts 8-aligned, as the reference pads */
    char *header = realloc(text, padded + 1);
    if (!header) {
        free(text);
        return NULL;
    }
    memset(header + length, ' ', padded - length);
    header[padded] = '\0';
    *header_bytes = padded;
    (void)path;
    return header;
}

static dlp_status write_all(int fd, const void *data, size_t size, const char *path)
{
    const char *bytes = data;
    while (size) {
        ssize_t written = write(fd, bytes, size);
        if (written < 0) {
            if (errno == EINTR) continue;
            return dlp_fail(DLP_ERR_IO, "%s: write failed: %s", path, strerror(errno));
        }
        bytes += written;
        size -= (size_t)written;
    }
    return DLP_OK;
}

dlp_status dlp_safetensors_write(const char *path, const dlp_tensor_list *list)
{
    size_t header_bytes = 0;
    char *header = build_header(list, &header_bytes, path);
    if (!header) return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "%s: out of memory building the header", path);
    size_t temporary_size = strlen(path) + 16;
    char *temporary = malloc(temporary_size);
    if (!temporary) {
        free(header);
        return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "%s: out of memory", path);
    }
    snprintf(temporary, temporary_size, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(temporary);
    if (fd < 0) {
        dlp_status status = dlp_fail(DLP_ERR_IO, "%s: cannot create a file beside it: %s", path, strerror(errno));
        free(temporary);
        free(header);
        return status;
    }
    uint8_t length[8];
    for (int i = 0; i < 8; i++) length[i] = (uint8_t)((uint64_t)header_bytes >> (8 * i));
    dlp_status status = write_all(fd, length, 8, path);
    if (status == DLP_OK) status = write_all(fd, header, header_bytes, path);
    for (size_t i = 0; i < dlp_tensor_list_count(list) && status == DLP_OK; i++) {
        const dlp_named_tensor *tensor = dlp_tensor_list_at(list, i);
        status = write_all(fd, tensor->data, tensor->nbytes, path);
    }
    if (status == DLP_OK && fchmod(fd, 0644) != 0) status = dlp_fail(DLP_ERR_IO, "%s: chmod: %s", path, strerror(errno));
    if (close(fd) != 0 && status == DLP_OK) status = dlp_fail(DLP_ERR_IO, "%s: close: %s", path, strerror(errno));
    if (status == DLP_OK && rename(temporary, path) != 0)
        status = dlp_fail(DLP_ERR_IO, "%s: rename from %s: %s", path, temporary, strerror(errno));
    if (status != DLP_OK) unlink(temporary);
    free(temporary);
    free(header);
    return status;
}

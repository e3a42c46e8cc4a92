/* npy.c: NumPy .npy files of float32 matrices (numpy.lib.format, versions
 * 1.0-3.0), written byte for byte as numpy 1.26's np.save writes them. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "core/status.h"
#include "data/feature_writers.h"
#include "data/npy_map.h"
#include "data/output_file.h"
#include "dlp/io.h"

enum {
    MAGIC_BYTES = 6,
    ARRAY_ALIGN = 64,            /* numpy.lib.format.ARRAY_ALIGN */
    GROWTH_AXIS_MAX_DIGITS = 21, /* numpy.lib.format.GROWTH_AXIS_MAX_DIGITS (numpy >= 1.23) */
    MAX_HEADER_BYTES = 10000,    /* np.load's default max_header_size */
    CHUNK_ELEMENTS = 16384
};
static const unsigned char npy_magic[MAGIC_BYTES] = {0x93, 'N', 'U', 'M', 'P', 'Y'};

static int host_is_little_endian(void)
{
    const uint16_t probe = 1;
    unsigned char first;
    memcpy(&first, &probe, 1);
    return first == 1;
}

/* Python's repr of a shape tuple: "(3,)", "(3, 4)". */
static void format_shape(int ndim, const size_t *shape, char *text, size_t size)
{
    size_t used = (size_t)snprintf(text, size, "(");
    for (int d = 0; d < ndim && used < size; d++)
        used += (size_t)snprintf(text + used, size - used, "%s%zu", d ? ", " : "", shape[d]);
    if (used < size) snprintf(text + used, size - used, ndim == 1 ? ",)" : ")");
}

dlp_status dlp_npy_write_f32(const char *path, const float *data, size_t rows, size_t cols)
{
    size_t shape[2] = {rows, cols};
    return dlp_npy_write_f32_shape(path, data, 2, shape);
}

void dlp_npy_write_header(FILE *file, int ndim, const size_t *shape)
{
    /* numpy's _write_array_header: the dict repr with sorted keys, spaces
     * so the first (growth) axis can be rewritten in place up to 21 digits,
     * then _wrap_header pads so that data starts at a multiple of 64 bytes. */
    char header[320], shape_text[200];
    format_shape(ndim, shape, shape_text, sizeof shape_text);
    int length = snprintf(header, sizeof header, "{'descr': '<f4', 'fortran_order': False, 'shape': %s, }",
                          shape_text);
    char rows_text[32];
    int rows_digits = snprintf(rows_text, sizeof rows_text, "%zu", shape[0]);
    for (int i = rows_digits; i < GROWTH_AXIS_MAX_DIGITS; i++) header[length++] = ' ';
    size_t header_with_newline = (size_t)length + 1;
    size_t padding = ARRAY_ALIGN - (MAGIC_BYTES + 2 + 2 + header_with_newline) % ARRAY_ALIGN;
    size_t total_header = header_with_newline + padding; /* < 256 + 64: fits in 16 bits */
    unsigned char prefix[MAGIC_BYTES + 4];
    memcpy(prefix, npy_magic, MAGIC_BYTES);
    prefix[6] = 1;
    prefix[7] = 0;
    prefix[8] = (unsigned char)(total_header & 0xFF);
    prefix[9] = (unsigned char)(total_header >> 8);
    fwrite(prefix, 1, sizeof prefix, file);
    fwrite(header, 1, (size_t)length, file);
    for (size_t i = 0; i < padding; i++) fputc(' ', file);
    fputc('\n', file);
}

void dlp_npy_write_values(FILE *file, const float *data, size_t count)
{
    if (host_is_little_endian()) {
        if (count) fwrite(data, sizeof(float), count, file);
        return;
    }
    for (size_t i = 0; i < count; i++) {
        uint32_t bits;
        memcpy(&bits, &data[i], 4);
        unsigned char bytes[4] = {(unsigned char)bits, (unsigned char)(bits >> 8), (unsigned char)(bits >> 16),
                                  (unsigned char)(bits >> 24)};
        fwrite(bytes, 1, 4, file);
    }
}

dlp_status dlp_npy_write_f32_shape(const char *path, const float *data, int ndim, const size_t *shape)
{
    if (!path || !shape || ndim < 1 || ndim > DLP_NPY_MAX_DIMS)
        return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "dlp_npy_write_f32: NULL argument or %d dims (1 to 8)", ndim);
    size_t count = 1;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] && count > SIZE_MAX / shape[d] / sizeof(float))
            return dlp_fail(DLP_ERR_LIMIT, "%s: %d-d array of that shape overflows the address space", path, ndim);
        count *= shape[d];
    }
    if (!data && count) return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "dlp_npy_write_f32: NULL argument");
    dlp_output_file output;
    DLP_TRY(dlp_output_file_open(&output, path));
    dlp_npy_write_header(output.file, ndim, shape);
    dlp_npy_write_values(output.file, data, count);
    return dlp_output_file_commit(&output);
}

/* ---- reading: a small parser for the header's Python dict literal -------- */

typedef struct {
    const char *text, *end;
    const char *path;
} header_cursor;

static void skip_spaces(header_cursor *cursor)
{
    while (cursor->text < cursor->end && (*cursor->text == ' ' || *cursor->text == '\t')) cursor->text++;
}

static dlp_status header_error(const header_cursor *cursor, const char *expected)
{
    return dlp_fail(DLP_ERR_FORMAT, "%s: bad .npy header: expected %s", cursor->path, expected);
}

static int take(header_cursor *cursor, char c)
{
    skip_spaces(cursor);
    if (cursor->text < cursor->end && *cursor->text == c) {
        cursor->text++;
        return 1;
    }
    return 0;
}

/* A Python string literal in ' or " (no escapes: descr and key names have none). */
static dlp_status parse_string(header_cursor *cursor, char *out, size_t out_bytes)
{
    skip_spaces(cursor);
    if (cursor->text >= cursor->end || (*cursor->text != '\'' && *cursor->text != '"'))
        return header_error(cursor, "a quoted string");
    char quote = *cursor->text++;
    size_t length = 0;
    while (cursor->text < cursor->end && *cursor->text != quote) {
        if (*cursor->text == '\\' || length + 1 >= out_bytes) return header_error(cursor, "a short plain string");
        out[length++] = *cursor->text++;
    }
    if (cursor->text >= cursor->end) return header_error(cursor, "a closing quote");
    cursor->text++;
    out[length] = '\0';
    return DLP_OK;
}

static dlp_status parse_shape(header_cursor *cursor, size_t *dims, int *dim_count)
{
    if (!take(cursor, '(')) return header_error(cursor, "'(' to open the shape");
    *dim_count = 0;
    for (;;) {
        if (take(cursor, ')')) return DLP_OK;
        skip_spaces(cursor);
        if (cursor->text >= cursor->end || *cursor->text < '0' || *cursor->text > '9')
            return header_error(cursor, "a non-negative integer in the shape");
        size_t value = 0;
        while (cursor->text < cursor->end && *cursor->text >= '0' && *cursor->text <= '9') {
            size_t digit = (size_t)(*cursor->text++ - '0');
            if (value > (SIZE_MAX - digit) / 10)
                return dlp_fail(DLP_ERR_LIMIT, "%s: .npy shape dimension too large", cursor->path);
            value = value * 10 + digit;
        }
        if (*dim_count == DLP_NPY_MAX_DIMS) return dlp_fail(DLP_ERR_UNSUPPORTED, "%s: .npy arrays of more than 8 dimensions", cursor->path);
        dims[(*dim_count)++] = value;
        if (take(cursor, ')')) return DLP_OK;
        if (!take(cursor, ',')) return header_error(cursor, "',' or ')' in the shape");
    }
}

typedef struct {
    char descr[32];
    int fortran_order; /* -1: missing */
    size_t dims[DLP_NPY_MAX_DIMS];
    int dim_count; /* -1: missing */
} npy_header;

static dlp_status parse_header(const char *path, const char *text, size_t length, npy_header *header)
{
    header_cursor cursor = {text, text + length, path};
    header->descr[0] = '\0';
    header->fortran_order = -1;
    header->dim_count = -1;
    if (!take(&cursor, '{')) return header_error(&cursor, "'{'");
    for (;;) {
        if (take(&cursor, '}')) break;
        char key[32];
        DLP_TRY(parse_string(&cursor, key, sizeof key));
        if (!take(&cursor, ':')) return header_error(&cursor, "':' after a key");
        if (strcmp(key, "descr") == 0) {
            DLP_TRY(parse_string(&cursor, header->descr, sizeof header->descr));
        } else if (strcmp(key, "fortran_order") == 0) {
            skip_spaces(&cursor);
            size_t left = (size_t)(cursor.end - cursor.text);
            if (left >= 4 && memcmp(cursor.text, "True", 4) == 0) {
                header->fortran_order = 1;
                cursor.text += 4;
            } else if (left >= 5 && memcmp(cursor.text, "False", 5) == 0) {
                header->fortran_order = 0;
                cursor.text += 5;
            } else {
                return header_error(&cursor, "True or False for fortran_order");
            }
        } else if (strcmp(key, "shape") == 0) {
            DLP_TRY(parse_shape(&cursor, header->dims, &header->dim_count));
        } else {
            return dlp_fail(DLP_ERR_FORMAT, "%s: bad .npy header: unexpected key '%s'", path, key);
        }
        if (take(&cursor, '}')) break;
        if (!take(&cursor, ',')) return header_error(&cursor, "',' or '}' after a value");
    }
    while (cursor.text < cursor.end && (*cursor.text == ' ' || *cursor.text == '\n' || *cursor.text == '\t' ||
                                        *cursor.text == '\r' || *cursor.text == '\0'))
        cursor.text++;
    if (cursor.text != cursor.end) return header_error(&cursor, "only padding after '}'");
    if (!header->descr[0] || header->fortran_order < 0 || header->dim_count < 0)
        return dlp_fail(DLP_ERR_FORMAT, "%s: bad .npy header: descr, fortran_order and shape are all required", path);
    return DLP_OK;
}

static uint32_t load_le32(const unsigned char *bytes)
{
    return (uint32_t)bytes[0] | (uint32_t)bytes[1] << 8 | (uint32_t)bytes[2] << 16 | (uint32_t)bytes[3] << 24;
}

static uint64_t load_le64(const unsigned char *bytes)
{
    return (uint64_t)load_le32(bytes) | (uint64_t)load_le32(bytes + 4) << 32;
}

/* What a header describes, once checked: float32 or float64, how many values, the shape as Python prints it. */
typedef struct {
    int is_f8;
    size_t count, data_bytes;
    char shape_text[200];
} npy_array;

/* Checks the dtype, order and dims (1 to max_dims; max_dims 2: the 2-d reader's refusal), and on a regular file that
 * the data is all there. */
static dlp_status check_array(FILE *file, const char *path, const npy_header *header, size_t data_offset,
                              int max_dims, npy_array *array)
{
    int is_f8;
    if (strcmp(header->descr, "<f4") == 0) is_f8 = 0;
    else if (strcmp(header->descr, "<f8") == 0) is_f8 = 1;
    else if (header->descr[0] == '>')
        return dlp_fail(DLP_ERR_UNSUPPORTED, "%s: big-endian dtype '%s'; dlp reads '<f4' and '<f8' (use "
                        "arr.astype('<f4') before np.save)", path, header->descr);
    else
        return dlp_fail(DLP_ERR_UNSUPPORTED, "%s: dtype '%s'; dlp reads '<f4' and '<f8'", path, header->descr);
    if (header->fortran_order)
        return dlp_fail(DLP_ERR_UNSUPPORTED, "%s: fortran_order is True; dlp reads C-order arrays "
                        "(use np.ascontiguousarray before np.save)", path);
    if (header->dim_count < 1 || header->dim_count > max_dims)
        return max_dims == 2 ? dlp_fail(DLP_ERR_UNSUPPORTED, "%s: a %d-dimensional array; dlp reads 1-d and 2-d arrays",
                                        path, header->dim_count)
                             : dlp_fail(DLP_ERR_UNSUPPORTED, "%s: a %d-dimensional array; dlp reads 1 to %d dims",
                                        path, header->dim_count, max_dims);
    char shape_text[200];
    format_shape(header->dim_count, header->dims, shape_text, sizeof shape_text);
    size_t item_bytes = is_f8 ? 8 : 4, count = 1;
    for (int d = 0; d < header->dim_count; d++) {
        if (header->dims[d] && count > SIZE_MAX / header->dims[d] / item_bytes)
            return dlp_fail(DLP_ERR_LIMIT, "%s: shape %s overflows the address space", path, shape_text);
        count *= header->dims[d];
    }
    size_t data_bytes = count * item_bytes;
    struct stat info;
    if (fstat(fileno(file), &info) != 0) return dlp_fail(DLP_ERR_IO, "%s: %s", path, strerror(errno));
    if (S_ISREG(info.st_mode)) {
        uint64_t file_bytes = (uint64_t)info.st_size;
        if (file_bytes < data_offset || file_bytes - data_offset < data_bytes)
            return dlp_fail(DLP_ERR_FORMAT, "%s: truncated: shape %s needs %zu data bytes, the file has %llu",
                            path, shape_text, data_bytes,
                            (unsigned long long)(file_bytes < data_offset ? 0 : file_bytes - data_offset));
    }
    array->is_f8 = is_f8;
    array->count = count;
    array->data_bytes = data_bytes;
    memcpy(array->shape_text, shape_text, sizeof shape_text);
    return DLP_OK;
}

/* Reads the checked array's values into a new buffer. */
static dlp_status read_array(FILE *file, const char *path, const npy_array *array, float **data_out)
{
    int is_f8 = array->is_f8;
    size_t count = array->count, item_bytes = is_f8 ? 8 : 4;
    const char *shape_text = array->shape_text;
    float *data = malloc(count ? count * sizeof(float) : 1);
    if (!data) return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "%s: out of memory for %zu floats", path, count);
    unsigned char *chunk = malloc(CHUNK_ELEMENTS * 8);
    if (!chunk) {
        free(data);
        return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "%s: out of memory", path);
    }
    dlp_status status = DLP_OK;
    for (size_t done = 0; done < count;) {
        size_t n = count - done < CHUNK_ELEMENTS ? count - done : CHUNK_ELEMENTS;
        size_t got = fread(chunk, item_bytes, n, file);
        if (got != n) {
            status = ferror(file) ? dlp_fail(DLP_ERR_IO, "%s: read failed: %s", path, strerror(errno))
                                  : dlp_fail(DLP_ERR_FORMAT, "%s: truncated: %zu of %zu values present", path,
                                             done + got, count);
            break;
        }
        for (size_t i = 0; i < n; i++) {
            if (is_f8) {
                uint64_t bits = load_le64(chunk + 8 * i);
                double value;
                memcpy(&value, &bits, 8);
                data[done + i] = (float)value;
            } else {
                uint32_t bits = load_le32(chunk + 4 * i);
                memcpy(&data[done + i], &bits, 4);
            }
        }
        done += n;
    }
    free(chunk);
    if (status == DLP_OK && fgetc(file) != EOF)
        status = dlp_fail(DLP_ERR_FORMAT, "%s: bytes after the %zu values of shape %s", path, count, shape_text);
    if (status != DLP_OK) {
        free(data);
        return status;
    }
    *data_out = data;
    return DLP_OK;
}

/* Opens path and reads its prefix and header: *file is left at the first value, *data_offset bytes in. */
static dlp_status open_npy(const char *path, FILE **file_out, npy_header *header, size_t *data_offset)
{
    FILE *file = fopen(path, "rb");
    if (!file) return dlp_fail(DLP_ERR_IO, "%s: %s", path, strerror(errno));
    unsigned char prefix[12];
    dlp_status status = DLP_OK;
    char *text = NULL;
    size_t prefix_bytes = 0, header_bytes = 0;
    if (fread(prefix, 1, 10, file) != 10 || memcmp(prefix, npy_magic, MAGIC_BYTES) != 0) {
        status = dlp_fail(DLP_ERR_FORMAT, "%s: not a .npy file (no \\x93NUMPY magic)", path);
    } else if (prefix[6] == 1) {
        prefix_bytes = 10;
        header_bytes = (size_t)prefix[8] | (size_t)prefix[9] << 8;
    } else if (prefix[6] == 2 || prefix[6] == 3) {
        if (fread(prefix + 10, 1, 2, file) != 2) {
            status = dlp_fail(DLP_ERR_FORMAT, "%s: truncated .npy header", path);
        } else {
            prefix_bytes = 12;
            header_bytes = load_le32(prefix + 8);
        }
    } else {
        status = dlp_fail(DLP_ERR_UNSUPPORTED, "%s: .npy format version %u.%u; dlp reads 1.0, 2.0 and 3.0", path,
                          prefix[6], prefix[7]);
    }
    if (status == DLP_OK && header_bytes > MAX_HEADER_BYTES)
        status = dlp_fail(DLP_ERR_LIMIT, "%s: .npy header of %zu bytes exceeds %d (numpy's max_header_size)", path,
                          header_bytes, MAX_HEADER_BYTES);
    if (status == DLP_OK) {
        text = malloc(header_bytes + 1);
        if (!text) status = dlp_fail(DLP_ERR_OUT_OF_MEMORY, "%s: out of memory", path);
        else if (fread(text, 1, header_bytes, file) != header_bytes)
            status = dlp_fail(DLP_ERR_FORMAT, "%s: truncated .npy header (%zu bytes announced)", path, header_bytes);
    }
    if (status == DLP_OK) status = parse_header(path, text, header_bytes, header);
    free(text);
    if (status != DLP_OK) {
        fclose(file);
        return status;
    }
    *file_out = file;
    *data_offset = prefix_bytes + header_bytes;
    return DLP_OK;
}

static dlp_status read_npy(const char *path, int max_dims, float **data, npy_header *header)
{
    FILE *file = NULL;
    size_t data_offset = 0;
    npy_array array;
    DLP_TRY(open_npy(path, &file, header, &data_offset));
    dlp_status status = check_array(file, path, header, data_offset, max_dims, &array);
    if (status == DLP_OK) status = read_array(file, path, &array, data);
    fclose(file);
    return status;
}

dlp_status dlp_npy_read_f32(const char *path, float **data, size_t *rows, size_t *cols)
{
    if (!path || !data || !rows || !cols) return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "dlp_npy_read_f32: NULL argument");
    *data = NULL;
    *rows = *cols = 0;
    npy_header header;
    DLP_TRY(read_npy(path, 2, data, &header));
    *rows = header.dims[0];
    *cols = header.dim_count == 2 ? header.dims[1] : 1;
    return DLP_OK;
}

dlp_status dlp_npy_read_f32_shape(const char *path, float **data, int *ndim, size_t shape[DLP_NPY_MAX_DIMS])
{
    if (!path || !data || !ndim || !shape)
        return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "dlp_npy_read_f32_shape: NULL argument");
    *data = NULL;
    *ndim = 0;
    npy_header header;
    DLP_TRY(read_npy(path, DLP_NPY_MAX_DIMS, data, &header));
    *ndim = header.dim_count;
    for (int d = 0; d < header.dim_count; d++) shape[d] = header.dims[d];
    return DLP_OK;
}

dlp_status dlp_npy_map_f32(const char *path, dlp_npy_mapped *out)
{
    memset(out, 0, sizeof *out);
    FILE *file = NULL;
    size_t data_offset = 0;
    npy_header header;
    npy_array array;
    DLP_TRY(open_npy(path, &file, &header, &data_offset));
    dlp_status status = check_array(file, path, &header, data_offset, 2, &array);
    struct stat info;
    int mappable = status == DLP_OK && !array.is_f8 && array.count > 0 && host_is_little_endian() &&
                   data_offset % sizeof(float) == 0 && fstat(fileno(file), &info) == 0 && S_ISREG(info.st_mode);
    if (mappable && (uint64_t)info.st_size != data_offset + array.data_bytes)
        status = dlp_fail(DLP_ERR_FORMAT, "%s: bytes after the %zu values of shape %s", path, array.count,
                          array.shape_text);
    if (status == DLP_OK && mappable) {
        void *base = mmap(NULL, (size_t)info.st_size, PROT_READ, MAP_PRIVATE, fileno(file), 0);
        if (base == MAP_FAILED) {
            mappable = 0; /* a file system that cannot map: read it */
        } else {
            out->mapping = base;
            out->mapping_bytes = (size_t)info.st_size;
            out->data = (const float *)((const unsigned char *)base + data_offset);
        }
    }
    if (status == DLP_OK && !mappable) {
        float *data = NULL;
        status = read_array(file, path, &array, &data);
        out->data = out->owned = data;
    }
    fclose(file);
    if (status != DLP_OK) return status;
    out->rows = header.dims[0];
    out->cols = header.dim_count == 2 ? header.dims[1] : 1;
    return DLP_OK;
}

void dlp_npy_unmap(dlp_npy_mapped *mapped)
{
    if (mapped->mapping) munmap(mapped->mapping, mapped->mapping_bytes);
    free(mapped->owned);
    memset(mapped, 0, sizeof *mapped);
}

/* libsvm.c: Spark's LibSVM text format (MLUtils.saveAsLibSVMFile /
 * loadLibSVMFile: "label index:value ...", 1-based ascending indices, zeros
 * omitted), written from and read into dense float matrices. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "data/feature_writers.h"
#include "data/output_file.h"
#include "dlp/io.h"

enum { SPARK_MAX_INDEX = 2147483647 }; /* Spark's indices are Java ints */

/* Java's Double.toString spellings for the non-finite values (Spark writes
 * them, and parses them back with toDouble; strtod reads them too). */
static void write_number(FILE *out, double value, int precision)
{
    if (isnan(value)) fputs("NaN", out);
    else if (isinf(value)) fputs(value > 0 ? "Infinity" : "-Infinity", out);
    else fprintf(out, "%.*g", precision, value);
}

dlp_status dlp_libsvm_write(const char *path, const float *features, size_t rows, size_t cols, const double *labels)
{
    if (!path || (!features && rows && cols)) return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "dlp_libsvm_write: NULL argument");
    if (cols > SPARK_MAX_INDEX)
        return dlp_fail(DLP_ERR_LIMIT, "%s: %zu features; LibSVM indices stop at %d (Spark's Int)", path, cols,
                        SPARK_MAX_INDEX);
    if (cols && rows > SIZE_MAX / cols) return dlp_fail(DLP_ERR_LIMIT, "%s: %zu x %zu overflows", path, rows, cols);
    dlp_output_file output;
    DLP_TRY(dlp_output_file_open(&output, path));
    dlp_libsvm_write_rows(output.file, features, rows, cols, labels);
    return dlp_output_file_commit(&output);
}

void dlp_libsvm_write_rows(FILE *out, const float *features, size_t rows, size_t cols, const double *labels)
{
    for (size_t i = 0; i < rows; i++) {
        write_number(out, labels ? labels[i] : 0.0, 17);
        const float *row = features + i * cols;
        for (size_t j = 0; j < cols; j++) {
            if (row[j] == 0.0f) continue; /* +0 and -0: sparse zeros, as Spark's SparseVector */
            fprintf(out, " %zu:", j + 1);
            write_number(out, (double)row[j], 9);
        }
        fputc('\n', out);
        if (ferror(out)) return; /* the caller's commit reports it */
    }
}

typedef struct {
    size_t row;
    size_t column; /* 0-based */
    float value;
} sparse_entry;

static dlp_status grow(void **items, size_t *capacity, size_t count, size_t item_bytes, const char *path)
{
    if (count < *capacity) return DLP_OK;
    size_t next = *capacity ? *capacity : 256;
    if (*capacity) {
        if (next > SIZE_MAX / 2 / item_bytes) return dlp_fail(DLP_ERR_LIMIT, "%s: too many entries", path);
        next *= 2;
    }
    void *grown = realloc(*items, next * item_bytes);
    if (!grown) return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "%s: out of memory for %zu entries", path, next);
    *items = grown;
    *capacity = next;
    return DLP_OK;
}

/* strtod over a whole token (token is NUL-terminated). */
static int parse_double(const char *token, double *value)
{
    if (!*token) return 0;
    char *end = NULL;
    errno = 0;
    *value = strtod(token, &end);
    return end && *end == '\0';
}

typedef struct {
    sparse_entry *entries;
    size_t entry_count, entry_capacity;
    double *labels;
    size_t row_count, label_capacity;
    size_t max_index; /* 1-based, 0 when none */
} libsvm_parse;

static dlp_status parse_line(libsvm_parse *parse, char *line, const char *path, size_t line_number,
                             size_t num_features)
{
    char *comment = strchr(line, '#');
    if (comment) *comment = '\0';
    char *save = NULL;
    char *token = strtok_r(line, " \t\r\n\v\f", &save);
    if (!token) return DLP_OK; /* blank or comment-only */
    double label;
    if (!parse_double(token, &label))
        return dlp_fail(DLP_ERR_FORMAT, "%s:%zu: label \"%s\" is not a number", path, line_number, token);
    DLP_TRY(grow((void **)&parse->labels, &parse->label_capacity, parse->row_count, sizeof *parse->labels, path));
    size_t row = parse->row_count;
    size_t previous = 0;
    while ((token = strtok_r(NULL, " \t\r\n\v\f", &save)) != NULL) {
        char *colon = strchr(token, ':');
        if (!colon)
            return dlp_fail(DLP_ERR_FORMAT, "%s:%zu: \"%s\" is not index:value", path, line_number, token);
        *colon = '\0';
        if (strcmp(token, "qid") == 0)
            return dlp_fail(DLP_ERR_UNSUPPORTED, "%s:%zu: qid (ranking groups) is not supported", path, line_number);
        size_t index = 0;
        if (!*token) return dlp_fail(DLP_ERR_FORMAT, "%s:%zu: empty index before ':'", path, line_number);
        for (const char *c = token; *c; c++) {
            if (*c < '0' || *c > '9')
                return dlp_fail(DLP_ERR_FORMAT, "%s:%zu: index \"%s\" is not a positive integer", path, line_number,
                                token);
            index = index * 10 + (size_t)(*c - '0');
            if (index > SPARK_MAX_INDEX)
                return dlp_fail(DLP_ERR_LIMIT, "%s:%zu: index %s exceeds %d (Spark's Int)", path, line_number, token,
                                SPARK_MAX_INDEX);
        }
        if (index == 0)
            return dlp_fail(DLP_ERR_FORMAT, "%s:%zu: index 0; LibSVM indices are one-based", path, line_number);
        if (index <= previous)
            return dlp_fail(DLP_ERR_FORMAT, "%s:%zu: index %zu after %zu; indices must be strictly ascending "
                            "(as Spark's loadLibSVMFile requires)", path, line_number, index, previous);
        if (num_features && index > num_features)
            return dlp_fail(DLP_ERR_DATA, "%s:%zu: index %zu exceeds the %zu features expected", path, line_number,
                            index, num_features);
        double value;
        if (!parse_double(colon + 1, &value))
            return dlp_fail(DLP_ERR_FORMAT, "%s:%zu: value \"%s\" of index %zu is not a number", path, line_number,
                            colon + 1, index);
        previous = index;
        DLP_TRY(grow((void **)&parse->entries, &parse->entry_capacity, parse->entry_count, sizeof *parse->entries,
                     path));
        parse->entries[parse->entry_count++] = (sparse_entry){row, index - 1, (float)value};
        if (index > parse->max_index) parse->max_index = index;
    }
    parse->labels[parse->row_count++] = label;
    return DLP_OK;
}

dlp_status dlp_libsvm_read(const char *path, size_t num_features, float **features, double **labels, size_t *rows,
                           size_t *cols)
{
    if (!path || !features || !labels || !rows || !cols)
        return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "dlp_libsvm_read: NULL argument");
    *features = NULL;
    *labels = NULL;
    *rows = *cols = 0;
    if (num_features > SPARK_MAX_INDEX)
        return dlp_fail(DLP_ERR_LIMIT, "%s: %zu features exceed %d (Spark's Int)", path, num_features, SPARK_MAX_INDEX);
    FILE *file = fopen(path, "rb");
    if (!file) return dlp_fail(DLP_ERR_IO, "%s: %s", path, strerror(errno));
    libsvm_parse parse = {0};
    char *line = NULL;
    size_t line_capacity = 0, line_number = 0;
    dlp_status status = DLP_OK;
    for (;;) {
        errno = 0;
        ssize_t length = getline(&line, &line_capacity, file);
        if (length < 0) {
            if (ferror(file)) status = dlp_fail(DLP_ERR_IO, "%s: read failed: %s", path, strerror(errno));
            break;
        }
        line_number++;
        if (memchr(line, '\0', (size_t)length)) {
            status = dlp_fail(DLP_ERR_FORMAT, "%s:%zu: a NUL byte", path, line_number);
            break;
        }
        status = parse_line(&parse, line, path, line_number, num_features);
        if (status != DLP_OK) break;
    }
    free(line);
    fclose(file);
    size_t width = num_features ? num_features : parse.max_index;
    float *dense = NULL;
    if (status == DLP_OK) {
        /* A sparse file can name a huge index in a few bytes; the dense
         * matrix it implies is bounded (found by fuzz_libsvm: one line with
         * index 761040269 asked for 3 GB). */
        if (width > DLP_LIBSVM_MAX_FEATURES) {
            status = dlp_fail(DLP_ERR_LIMIT, "%s: %zu features; at most %d can be read into a dense matrix", path, width,
                              DLP_LIBSVM_MAX_FEATURES);
        } else if (width && parse.row_count > DLP_LIBSVM_MAX_DENSE_BYTES / width / sizeof(float)) {
            status = dlp_fail(DLP_ERR_LIMIT, "%s: %zu rows x %zu features need %.1f GiB as a dense matrix; the limit "
                              "is %.0f GiB (use .npy for large dense features)", path, parse.row_count, width,
                              (double)parse.row_count * (double)width * 4.0 / (1 << 30),
                              (double)DLP_LIBSVM_MAX_DENSE_BYTES / (1 << 30));
        } else if (width && parse.row_count > SIZE_MAX / width / sizeof(float)) {
            status = dlp_fail(DLP_ERR_LIMIT, "%s: %zu rows x %zu features overflow the address space", path,
                              parse.row_count, width);
        } else {
            size_t count = parse.row_count * width;
            dense = calloc(count ? count : 1, sizeof *dense);
            if (!dense) status = dlp_fail(DLP_ERR_OUT_OF_MEMORY, "%s: out of memory for %zu x %zu floats", path,
                                          parse.row_count, width);
        }
    }
    if (status == DLP_OK && !parse.labels) {
        parse.labels = malloc(sizeof *parse.labels);
        if (!parse.labels) status = dlp_fail(DLP_ERR_OUT_OF_MEMORY, "%s: out of memory", path);
    }
    if (status == DLP_OK) {
        for (size_t i = 0; i < parse.entry_count; i++)
            dense[parse.entries[i].row * width + parse.entries[i].column] = parse.entries[i].value;
        *features = dense;
        *labels = parse.labels;
        *rows = parse.row_count;
        *cols = width;
    } else {
        free(dense);
        free(parse.labels);
    }
    free(parse.entries);
    return status;
}

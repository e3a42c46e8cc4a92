/* dlp/io.h: the files dlp reads and writes besides images and weights: NumPy
 * .npy arrays, the CSV manifest of rows, Spark's LibSVM text, JSON Lines. */
#ifndef DLP_IO_H
#define DLP_IO_H

#include <stddef.h>
#include <stdio.h>

#include "dlp/core.h"
#include "dlp/dataset.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Every writer that takes a path writes a temporary file in the same folder
 * ("<path>.tmp.<pid>.<n>", created with the umask's permissions) and renames
 * it onto path only when everything was written and closed, so a failed write
 * never leaves a half-written output; failures name the path. Numbers are
 * printed in the "C" locale's format: the caller must not have changed
 * LC_NUMERIC (libdlp never calls setlocale). */

/* NumPy format 1.0 (numpy.lib.format), dtype '<f4', C order, shape (rows, cols):
 * byte for byte what numpy 1.26's np.save writes for such an array (header
 * padded with spaces to a multiple of 64 bytes). */
dlp_status dlp_npy_write_f32(const char *path, const float *data, size_t rows, size_t cols);

/* Reads a .npy file of format 1.0, 2.0 or 3.0 with dtype '<f4' or '<f8'
 * (float64 is converted to float32, out-of-range values becoming +-inf as
 * numpy's astype does), C order, shape (rows, cols), or (n,) read as n rows of
 * 1 column. Refused: fortran_order True, big-endian or other dtypes, 0-d or
 * more than 2-d shapes (DLP_ERR_UNSUPPORTED); a bad header, truncated data or
 * bytes after the data (DLP_ERR_FORMAT); a header over 10000 bytes (numpy's
 * own max_header_size; DLP_ERR_LIMIT). *data is malloc'ed (never NULL on
 * success, even for 0 rows); the caller frees it with free(). */
dlp_status dlp_npy_read_f32(const char *path, float **data, size_t *rows, size_t *cols);

enum { DLP_NPY_MAX_DIMS = 8 };
/* The same for arrays of any shape of 1 to 8 dims (N x H x W x C, N x T x F):
 * *ndim and shape[0 .. *ndim - 1] receive it; the data in C order. */
dlp_status dlp_npy_read_f32_shape(const char *path, float **data, int *ndim, size_t shape[DLP_NPY_MAX_DIMS]);
/* dlp_npy_write_f32 for a shape of 1 to 8 dims, byte for byte as np.save. */
dlp_status dlp_npy_write_f32_shape(const char *path, const float *data, int ndim, const size_t *shape);

/* The rows of a dataset as CSV: header "origin,label,status,message", one
 * line per row, lines ending in "\n". label is the integer label, empty for
 * -1; status is "ok" or dlp_status_name() of the row's error ("i/o",
 * "format", ...); message is "" when ok. RFC 4180 quoting: a field holding a
 * comma, a double quote, CR or LF is enclosed in double quotes, with quotes
 * doubled. */
dlp_status dlp_manifest_write_csv(const char *path, const dlp_dataset *dataset);

/* Spark's LibSVM text (what MLUtils.saveAsLibSVMFile writes and
 * spark.read.format("libsvm") reads): per row "label i:v i:v ..." with
 * 1-based ascending indices, zero values omitted. Features print with %.9g
 * (float32 round-trips), labels with %.17g (so 1.0 prints "1"); NaN and
 * infinities print "NaN", "Infinity", "-Infinity" (Java's spelling, which
 * Spark and strtod both read). labels may be NULL (then 0 for every row). */
dlp_status dlp_libsvm_write(const char *path, const float *features, size_t rows, size_t cols, const double *labels);

/* Reads LibSVM / svmlight text into a dense row-major [rows, cols] float
 * matrix and a label per row. Lines: "label index:value ..." separated by
 * spaces or tabs; empty lines and lines starting with '#' are skipped, and
 * "#" starts a trailing comment (as scikit-learn's load_svmlight_file).
 * Indices are 1-based and strictly ascending (Spark's rule); "qid:" is
 * refused. num_features 0: cols = the largest index seen; otherwise cols =
 * num_features and a larger index is an error. Malformed text is
 * DLP_ERR_FORMAT naming the file and line. Indices above 2^31-1 (Spark's Int)
 * are DLP_ERR_LIMIT, and so is a dense result wider than
 * DLP_LIBSVM_MAX_FEATURES columns or larger than DLP_LIBSVM_MAX_DENSE_BYTES.
 * Both outputs are malloc'ed (never NULL on success); the
 * caller frees them with free(). */
#define DLP_LIBSVM_MAX_FEATURES (1 << 24)
#define DLP_LIBSVM_MAX_DENSE_BYTES ((size_t)4 << 30)
dlp_status dlp_libsvm_read(const char *path, size_t num_features, float **features, double **labels, size_t *rows,
                           size_t *cols);

/* Writes text as a JSON string literal: '"' and '\\' escaped, \b \f \n \r \t,
 * other control characters below 0x20 as \u00xx (lower-case hex), everything
 * else (DEL, UTF-8, U+2028) passed through: byte for byte Python's
 * json.dumps(text, ensure_ascii=False). Bytes that are not valid UTF-8 are
 * replaced by U+FFFD as Python's bytes.decode("utf-8", "replace") does (one
 * per maximal subpart), so the output is always valid JSON. Errors are left in ferror(out). */
void dlp_json_write_string(FILE *out, const char *text);

/* One JSON object and '\n' (JSON Lines):
 *   {"origin":"...","label":3,"label_name":"cat","status":"ok","error":null,"<array_field>":[0.5,...]}
 * label is null for -1; "label_name" appears only when label_name is not
 * NULL; status is "ok" or "error", error null or the row's message prefixed
 * by its status name ("i/o: ..."); the array appears only when array_field is
 * not NULL, as null when values is NULL, else with floats printed by %.9g
 * (float32 round-trips) and NaN/inf as null. DLP_ERR_IO if writing failed. */
dlp_status dlp_jsonl_write_row(FILE *out, const dlp_row *row, const char *label_name, const char *array_field,
                               const float *values, size_t count);

#ifdef __cplusplus
}
#endif
#endif

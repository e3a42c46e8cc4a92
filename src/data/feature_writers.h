/* feature_writers.h: the .npy and LibSVM writers in parts, for rows written
 * as they are computed (dlp featurize writes each chunk of rows it holds).
 * Each writes to an open stream; the caller checks ferror / commits. */
#ifndef DLP_SRC_DATA_FEATURE_WRITERS_H
#define DLP_SRC_DATA_FEATURE_WRITERS_H

#include <stddef.h>
#include <stdio.h>

/* The .npy header of a float32 array of this shape (1 to 8 dims), byte for
 * byte as np.save writes it; the values follow (dlp_npy_write_values). */
void dlp_npy_write_header(FILE *file, int ndim, const size_t *shape);
/* count float32 values, little-endian. */
void dlp_npy_write_values(FILE *file, const float *data, size_t count);
/* rows LibSVM lines as dlp_libsvm_write writes them (labels NULL: 0). */
void dlp_libsvm_write_rows(FILE *out, const float *features, size_t rows, size_t cols, const double *labels);

#endif

/* fuzz_npy.c: dlp_npy_read_f32, dlp_npy_read_f32_shape (any rank) and
 * dlp_npy_map_f32 on arbitrary bytes: no crash, no leak, a success returns a
 * buffer of exactly rows * cols floats (the product of the shape), and the
 * mapping agrees with the reader: the same status, shape and bits. */
#include <stdlib.h>
#include <string.h>

#include "data/npy_map.h"
#include "dlp/dlp.h"
#include "fuzz_tables.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write_input(data, size, ".npy");
    if (!path) return 0;
    float *values = NULL;
    size_t rows = 0, cols = 0;
    dlp_status read_status = dlp_npy_read_f32(path, &values, &rows, &cols);
    dlp_npy_mapped mapped;
    dlp_status map_status = dlp_npy_map_f32(path, &mapped);
    if (map_status != read_status) abort();
    if (read_status == DLP_OK) {
        volatile float sum = 0;
        for (size_t i = 0; i < rows * cols; i++) sum += values[i];
        if (mapped.rows != rows || mapped.cols != cols) abort();
        if (rows * cols && memcmp(mapped.data, values, rows * cols * sizeof(float)) != 0) abort();
        free(values);
    }
    dlp_npy_unmap(&mapped);
    int ndim = 0;
    size_t shape[DLP_NPY_MAX_DIMS], count = 1;
    if (dlp_npy_read_f32_shape(path, &values, &ndim, shape) == DLP_OK) {
        for (int d = 0; d < ndim; d++) count *= shape[d];
        volatile float sum = 0;
        for (size_t i = 0; i < count; i++) sum += values[i];
        free(values);
    }
    return 0;
}

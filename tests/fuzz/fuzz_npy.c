/* fuzz_npy.c: dlp_npy_read_f32 and dlp_npy_read_f32_shape (any rank) on
 * arbitrary bytes: no crash, no leak, and a success returns a buffer of
 * exactly rows * cols floats (the product of the shape). */
#include <stdlib.h>

#include "dlp/dlp.h"
#include "fuzz_tables.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write_input(data, size, ".npy");
    if (!path) return 0;
    float *values = NULL;
    size_t rows = 0, cols = 0;
    if (dlp_npy_read_f32(path, &values, &rows, &cols) == DLP_OK) {
        volatile float sum = 0;
        for (size_t i = 0; i < rows * cols; i++) sum += values[i];
        free(values);
    }
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

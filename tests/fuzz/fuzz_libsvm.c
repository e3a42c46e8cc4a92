/* fuzz_libsvm.c: dlp_libsvm_read on arbitrary text, with the feature count
 * inferred and fixed. */
#include <stdlib.h>

#include "dlp/dlp.h"
#include "fuzz_tables.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write_input(data, size, ".libsvm");
    if (!path) return 0;
    for (size_t num_features = 0; num_features <= 8; num_features += 8) {
        float *features = NULL;
        double *labels = NULL;
        size_t rows = 0, cols = 0;
        if (dlp_libsvm_read(path, num_features, &features, &labels, &rows, &cols) == DLP_OK) {
            volatile double sum = 0;
            for (size_t i = 0; i < rows; i++) sum += labels[i];
            for (size_t i = 0; i < rows * cols; i++) sum += features[i];
            free(features);
            free(labels);
        }
    }
    return 0;
}

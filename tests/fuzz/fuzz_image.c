/* fuzz_image.c: dlp_image_probe, then decoding (under a 4-megapixel limit so
 * a tiny file cannot ask for a huge, slow decode), then small resizes of
 * whatever decodes. No crash, no leak, no undefined behaviour; a decoded
 * image has the size probe reported. */
#include <stdlib.h>

#include "dlp/dlp.h"
#include "image/image_internal.h"

enum { FUZZ_MAX_PIXELS = 1 << 22 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dlp_image_info info;
    dlp_status probed = dlp_image_probe(data, size, &info);
    dlp_image image;
    if (dlp_image_decode_limited(data, size, FUZZ_MAX_PIXELS, &image) != DLP_OK) return 0;
    if (probed != DLP_OK || info.width != image.width || info.height != image.height) abort();
    float values[7 * 5 * 3];
    uint8_t bytes[7 * 5 * 3];
    for (dlp_resize method = DLP_RESIZE_AREA; method <= DLP_RESIZE_NEAREST; method++) {
        if (dlp_image_resize_float(&image, 7, 5, method, DLP_NORMALIZE_CAFFE, values) != DLP_OK) abort();
        if (dlp_image_resize_u8(&image, 5, 7, method, bytes) != DLP_OK) abort();
    }
    dlp_image_free(&image);
    return 0;
}

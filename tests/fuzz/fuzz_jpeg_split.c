/* fuzz_jpeg_split.c: the JPEG split (image/jpeg_coefficients.h) against
 * TurboJPEG, differentially. Whatever dlp_jpeg_read_coefficients accepts
 * (under a 4-megapixel limit, so that a tiny file cannot ask for a huge
 * coefficient array) is reconstructed by the CPU twin and by the GPU
 * kernels' per-thread items (image/jpeg_pixel.h, run here on the host over
 * a room), and both must equal dlp_image_decode's RGB byte for byte whenever
 * that decodes the file too. No crash, no leak, no undefined behaviour. */
#include <stdlib.h>
#include <string.h>

#include "dlp/dlp.h"
#include "image/image_internal.h"
#include "image/jpeg_coefficients.h"
#include "image/jpeg_pixel.h"

enum { FUZZ_MAX_PIXELS = 1 << 22 };

/* The kernels' items over the room the coefficients were read into. */
static void check_items(const int16_t *room, const dlp_jpeg_coefficients *c, const uint8_t *want)
{
    dlp_jpeg_layout layout;
    dlp_jpeg_layout_of(c, &layout);
    uint16_t quant[3 * 64];
    for (int k = 0; k < 3; k++) memcpy(quant + k * 64, c->component[k].quant, sizeof c->component[k].quant);
    size_t pixels = (size_t)layout.width * (size_t)layout.height;
    uint8_t *samples = malloc(layout.total_samples ? layout.total_samples : 1), *rgb = malloc(pixels * 3 + 1);
    if (!samples || !rgb) abort();
    for (size_t i = 0; i < layout.total_blocks; i++) dlp_jpeg_idct_item(room, quant, &layout, samples, i);
    for (size_t i = 0; i < pixels; i++) dlp_jpeg_pixel_item(samples, &layout, rgb, i);
    if (memcmp(rgb, want, pixels * 3) != 0) abort();
    free(samples);
    free(rgb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dlp_image_info info;
    if (dlp_image_probe(data, size, &info) != DLP_OK || (int64_t)info.width * info.height > FUZZ_MAX_PIXELS) return 0;
    /* The room a batch would give: enough for any image under the limit (1.5 blocks of 64 per 64 pixels, padded). */
    size_t room_blocks = ((size_t)info.width / 8 + 2) * ((size_t)info.height / 8 + 2) * 3;
    int16_t *room = malloc(room_blocks * 64 * sizeof(int16_t));
    dlp_jpeg_coefficients coefficients;
    if (!room || dlp_jpeg_read_coefficients(data, size, room, room_blocks, &coefficients) != DLP_OK) {
        free(room);
        return 0;
    }
    size_t values = (size_t)coefficients.width * (size_t)coefficients.height * 3;
    uint8_t *rgb = malloc(values + 1);
    if (!rgb || dlp_jpeg_reconstruct(&coefficients, rgb) != DLP_OK) abort();
    dlp_image image;
    if (dlp_image_decode_limited(data, size, FUZZ_MAX_PIXELS, &image) == DLP_OK) {
        if (image.width != coefficients.width || image.height != coefficients.height) abort();
        if (memcmp(image.pixels, rgb, values) != 0) abort();
        if (coefficients.in_room) check_items(room, &coefficients, image.pixels);
        dlp_image_free(&image);
    }
    free(rgb);
    dlp_jpeg_coefficients_free(&coefficients);
    free(room);
    return 0;
}

/* fuzz_jpeg_split.c: the JPEG split (image/jpeg_coefficients.h) against
 * TurboJPEG, differentially. Whatever dlp_jpeg_read_coefficients accepts
 * into a room (under a 4-megapixel limit, so that a tiny file cannot ask for
 * a huge coefficient array) is reconstructed by dlp_jpeg_reconstruct, which
 * runs the GPU kernels' per-thread items (image/jpeg_pixel.h) on the host,
 * and must equal dlp_image_decode's RGB byte for byte (which must decode
 * the file too: the split may refuse more, never less); so must the same
 * coefficients carried as a record in a packed batch (image/jpeg_record.h,
 * after a 1x1 image, as the decode stream lays them) through
 * dlp_jpeg_batch_reconstruct, the host twin of the device's batch kernels.
 * No crash, no leak, no undefined behaviour. */
#include <stdlib.h>
#include <string.h>

#include "dlp/dlp.h"
#include "image/image_internal.h"
#include "image/jpeg_coefficients.h"
#include "image/jpeg_record.h"
#include "image/pack.h"

enum { FUZZ_MAX_PIXELS = 1 << 22 };

/* The coefficients as the second image of a packed batch (a 1x1 pixel image
 * first), reconstructed by the batch items: the same bytes as rgb. */
static void check_record(const dlp_jpeg_coefficients *coefficients, const uint8_t *rgb, size_t values)
{
    dlp_jpeg_layout jpeg;
    dlp_jpeg_layout_of(coefficients, &jpeg);
    size_t record = DLP_JPEG_RECORD_ALIGN, total = record + dlp_jpeg_record_bytes(&jpeg);
    uint8_t *pixels = malloc(total + values);
    if (!pixels) abort();
    memset(pixels, 7, record);
    dlp_jpeg_record_write(coefficients, &jpeg, pixels + record);
    dlp_jpeg_job job = {.record = record, .rgb = total};
    uint64_t offsets[2] = {0, total};
    int32_t heights[2] = {1, jpeg.height}, widths[2] = {1, jpeg.width};
    dlp_image_pack_layout layout = {.count = 2, .offsets = offsets, .heights = heights, .widths = widths,
                                    .total_bytes = total, .jpeg_count = 1, .jpeg_jobs = &job,
                                    .reconstructed_bytes = values, .jpeg_blocks = jpeg.total_blocks,
                                    .jpeg_pixels = (size_t)jpeg.width * jpeg.height, .jpeg_samples = jpeg.total_samples};
    if (dlp_jpeg_batch_reconstruct(pixels, &layout, pixels) != DLP_OK) abort();
    if (memcmp(pixels + total, rgb, values) != 0 || pixels[0] != 7) abort();
    free(pixels);
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
    check_record(&coefficients, rgb, values);
    dlp_image image;
    if (dlp_image_decode_limited(data, size, FUZZ_MAX_PIXELS, &image) == DLP_OK) {
        if (image.width != coefficients.width || image.height != coefficients.height) abort();
        if (memcmp(image.pixels, rgb, values) != 0) abort();
        dlp_image_free(&image);
    } else {
        abort(); /* the split must not accept what the full decode refuses (an error row would become a row) */
    }
    free(rgb);
    dlp_jpeg_coefficients_free(&coefficients);
    free(room);
    return 0;
}

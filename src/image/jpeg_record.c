/* jpeg_record.c: a JPEG's coefficients as a record in a packed batch, and
 * the host twin of the device's reconstruction of a batch (jpeg_record.h). */
#include "image/jpeg_record.h"

#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "image/pack.h"

void dlp_jpeg_record_write(const dlp_jpeg_coefficients *coefficients, const dlp_jpeg_layout *layout, uint8_t *dst)
{
    memset(dst, 0, DLP_JPEG_RECORD_HEADER);
    dlp_jpeg_record *record = (dlp_jpeg_record *)(void *)dst;
    record->layout = *layout;
    for (int c = 0; c < 3; c++) memcpy(record->quant[c], coefficients->component[c].quant, sizeof record->quant[c]);
    int16_t *blocks = (int16_t *)(void *)(dst + DLP_JPEG_RECORD_HEADER);
    for (int c = 0; c < 3; c++) {
        size_t count = (size_t)layout->width_in_blocks[c] * (size_t)layout->height_in_blocks[c];
        int16_t *to = blocks + layout->first_block[c] * 64;
        /* Read in place (the record's room) they are there already. */
        if (to != coefficients->component[c].blocks)
            memcpy(to, coefficients->component[c].blocks, count * 64 * sizeof(int16_t));
    }
}

dlp_status dlp_jpeg_batch_reconstruct(const uint8_t *packed, const dlp_image_pack_layout *layout, uint8_t *pixels)
{
    if (!layout->jpeg_count) return DLP_OK;
    uint8_t *samples = malloc(layout->jpeg_samples ? layout->jpeg_samples : 1);
    if (!samples)
        return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "JPEG: cannot allocate %zu bytes of sample planes",
                        layout->jpeg_samples);
    for (size_t i = 0; i < layout->jpeg_blocks; i++)
        dlp_jpeg_batch_idct_item(packed, layout->jpeg_jobs, layout->jpeg_count, samples, i);
    for (size_t i = 0; i < layout->jpeg_pixels; i++)
        dlp_jpeg_batch_pixel_item(packed, layout->jpeg_jobs, layout->jpeg_count, samples, pixels, i);
    free(samples);
    return DLP_OK;
}

/* pack.c: laying a batch of images back to back for the GPU preprocess
 * kernel (see pack.h). */
#include "image/pack.h"

#include <stdlib.h>
#include <string.h>

#include "core/status.h"

static dlp_status check_image(const dlp_image *image, size_t index)
{
    if (!image->pixels) return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "image pack: image %zu has no pixels", index);
    int64_t width = image->width, height = image->height;
    if (width < 1 || height < 1 || width > DLP_IMAGE_MAX_SIDE || height > DLP_IMAGE_MAX_SIDE ||
        width * height > DLP_IMAGE_MAX_PIXELS)
        return dlp_fail(DLP_ERR_LIMIT, "image pack: image %zu is %lldx%lld, expected sides 1..%d and at most %lld pixels",
                        index, (long long)width, (long long)height, DLP_IMAGE_MAX_SIDE,
                        (long long)DLP_IMAGE_MAX_PIXELS);
    return DLP_OK;
}

void dlp_image_pack_layout_free(dlp_image_pack_layout *layout)
{
    if (!layout) return;
    free(layout->offsets);
    free(layout->heights);
    free(layout->widths);
    free(layout->jpeg_jobs);
    memset(layout, 0, sizeof *layout);
}

dlp_status dlp_image_pack_layout_create(const dlp_image *images, size_t count, dlp_image_pack_layout *layout)
{
    if (!layout || (!images && count)) return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "image pack: NULL argument");
    memset(layout, 0, sizeof *layout);
    for (size_t i = 0; i < count; i++) DLP_TRY(check_image(&images[i], i));
    /* count >= 1 below keeps malloc(0) out of it. */
    size_t slots = count ? count : 1;
    layout->offsets = malloc(slots * sizeof *layout->offsets);
    layout->heights = malloc(slots * sizeof *layout->heights);
    layout->widths = malloc(slots * sizeof *layout->widths);
    if (!layout->offsets || !layout->heights || !layout->widths) {
        dlp_image_pack_layout_free(layout);
        return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "image pack: cannot allocate the layout of %zu images", count);
    }
    layout->count = count;
    uint64_t total = 0;
    for (size_t i = 0; i < count; i++) {
        /* Each image is at most 3 * 2^28 bytes, so one step cannot wrap a
         * uint64_t; the check is against what size_t can address. */
        uint64_t bytes = (uint64_t)images[i].width * (uint64_t)images[i].height * 3u;
        if (total > (uint64_t)SIZE_MAX - bytes) {
            dlp_image_pack_layout_free(layout);
            return dlp_fail(DLP_ERR_LIMIT, "image pack: images 0..%zu need more than %zu bytes", i, (size_t)SIZE_MAX);
        }
        layout->offsets[i] = total;
        layout->heights[i] = images[i].height;
        layout->widths[i] = images[i].width;
        total += bytes;
    }
    layout->total_bytes = (size_t)total;
    return DLP_OK;
}

dlp_status dlp_image_pack_copy(const dlp_image *images, const dlp_image_pack_layout *layout, uint8_t *buffer,
                               size_t buffer_bytes)
{
    if (!layout || (layout->count && (!images || !buffer)))
        return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "image pack: NULL argument");
    if (buffer_bytes < layout->total_bytes)
        return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "image pack: buffer has %zu bytes, the batch needs %zu", buffer_bytes,
                        layout->total_bytes);
    for (size_t i = 0; i < layout->count; i++) {
        if (images[i].width != layout->widths[i] || images[i].height != layout->heights[i])
            return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "image pack: image %zu is %dx%d, the layout says %dx%d", i,
                            images[i].width, images[i].height, layout->widths[i], layout->heights[i]);
        size_t bytes = (size_t)layout->heights[i] * (size_t)layout->widths[i] * 3;
        memcpy(buffer + layout->offsets[i], images[i].pixels, bytes);
    }
    return DLP_OK;
}

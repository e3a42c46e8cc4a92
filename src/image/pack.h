/* pack.h: a batch of differently sized RGB8 images laid back to back in one
 * byte buffer, with per-image offsets, heights and widths: the input layout
 * of the GPU preprocess kernel (kernels/preprocess.cu). Host C, no CUDA. */
#ifndef DLP_SRC_IMAGE_PACK_H
#define DLP_SRC_IMAGE_PACK_H

#include <stddef.h>
#include <stdint.h>

#include "dlp/image.h"

struct dlp_jpeg_job;

/* Image i occupies bytes [offsets[i], offsets[i] + heights[i]*widths[i]*3). */
typedef struct dlp_image_pack_layout {
    size_t count;
    uint64_t *offsets;
    int32_t *heights, *widths;
    size_t total_bytes;          /* the packed bytes (what is copied to the device) */
    /* Optional (zero without): JPEGs carried split as records in the packed
     * bytes (image/jpeg_record.h), jpeg_count jobs. Their images' offsets are
     * past total_bytes, into reconstructed_bytes of RGB8 that the device
     * makes from the records before resizing; jpeg_blocks and jpeg_pixels
     * are the batch's items, jpeg_samples its bytes of sample planes. */
    size_t jpeg_count;
    struct dlp_jpeg_job *jpeg_jobs;
    size_t reconstructed_bytes, jpeg_blocks, jpeg_pixels, jpeg_samples;
} dlp_image_pack_layout;

/* Validates images[0..count) (non-NULL pixels, sides 1..DLP_IMAGE_MAX_SIDE,
 * at most DLP_IMAGE_MAX_PIXELS each: DLP_ERR_LIMIT otherwise, naming the
 * image) and fills layout (arrays allocated here; free with
 * dlp_image_pack_layout_free). The total is overflow-checked. count 0 is
 * fine (total_bytes 0). */
dlp_status dlp_image_pack_layout_create(const dlp_image *images, size_t count, dlp_image_pack_layout *layout);

void dlp_image_pack_layout_free(dlp_image_pack_layout *layout);

/* Copies every image to buffer + offsets[i]; buffer_bytes must be at least
 * layout->total_bytes (pinned or not is the caller's choice). */
dlp_status dlp_image_pack_copy(const dlp_image *images, const dlp_image_pack_layout *layout, uint8_t *buffer,
                               size_t buffer_bytes);

#endif

/* image_internal.h: what the image files share, and the decode entry with an
 * explicit pixel limit (the fuzz target decodes under a smaller one). */
#ifndef DLP_SRC_IMAGE_IMAGE_INTERNAL_H
#define DLP_SRC_IMAGE_IMAGE_INTERNAL_H

#include "dlp/image.h"

#include <stdbool.h>

/* dlp_image_decode with max_pixels instead of DLP_IMAGE_MAX_PIXELS. */
dlp_status dlp_image_decode_limited(const void *data, size_t size, int64_t max_pixels, dlp_image *image);

/* Where a decoder may write the RGB8 pixels it makes, so they need no copy
 * (the featurizer decodes straight into the pinned buffer its batch is
 * copied to the GPU from): take(context, width, height) returns room for
 * width*height*3 bytes, or NULL to have them malloc'ed as usual. It is
 * called once the header has passed the limits, from the decoding thread. */
typedef struct dlp_pixel_room {
    uint8_t *(*take)(void *context, int width, int height);
    void *context;
} dlp_pixel_room;

/* dlp_image_decode into room (NULL: like dlp_image_decode). *in_room says
 * where image->pixels are: in the room (then not to be freed: leave the
 * image alone or zero it) or malloc'ed. A failure leaves nothing allocated,
 * but the room taken, if any, holds garbage. */
dlp_status dlp_image_decode_into(const void *data, size_t size, const dlp_pixel_room *room, dlp_image *image,
                                 bool *in_room);

/* Room for the pixels: room's if it gives some (*in_room true), else malloc. */
uint8_t *dlp_pixels_take(const dlp_pixel_room *room, int width, int height, bool *in_room);
/* Frees pixels unless they are in the room. */
void dlp_pixels_give_back(uint8_t *pixels, bool in_room);

/* Format-specific halves of probe and decode (decode_jpeg.c, decode_png.c). */
dlp_status dlp_jpeg_probe(const uint8_t *data, size_t size, dlp_image_info *info);
dlp_status dlp_jpeg_decode(const uint8_t *data, size_t size, int64_t max_pixels, const dlp_pixel_room *room,
                           dlp_image *image, bool *in_room);
dlp_status dlp_png_probe(const uint8_t *data, size_t size, dlp_image_info *info);
dlp_status dlp_png_decode(const uint8_t *data, size_t size, int64_t max_pixels, const dlp_pixel_room *room,
                          dlp_image *image, bool *in_room);

/* DLP_ERR_LIMIT unless width and height are within the limits. */
/* A whole image file into *bytes (malloc'ed; the caller frees it): a regular
 * file of at most DLP_IMAGE_MAX_FILE_BYTES, errors naming the path. Shared by
 * dlp_image_read and the featurizer (which hashes the bytes before decoding). */
dlp_status dlp_image_read_file(const char *path, uint8_t **bytes, size_t *size);
dlp_status dlp_image_check_limits(const char *format, int64_t width, int64_t height, int64_t max_pixels);

#endif

/* image_internal.h: what the image files share, and the decode entry with an
 * explicit pixel limit (the fuzz target decodes under a smaller one). */
#ifndef DLP_SRC_IMAGE_IMAGE_INTERNAL_H
#define DLP_SRC_IMAGE_IMAGE_INTERNAL_H

#include "dlp/image.h"

/* dlp_image_decode with max_pixels instead of DLP_IMAGE_MAX_PIXELS. */
dlp_status dlp_image_decode_limited(const void *data, size_t size, int64_t max_pixels, dlp_image *image);

/* Format-specific halves of probe and decode (decode_jpeg.c, decode_png.c). */
dlp_status dlp_jpeg_probe(const uint8_t *data, size_t size, dlp_image_info *info);
dlp_status dlp_jpeg_decode(const uint8_t *data, size_t size, int64_t max_pixels, dlp_image *image);
dlp_status dlp_png_probe(const uint8_t *data, size_t size, dlp_image_info *info);
dlp_status dlp_png_decode(const uint8_t *data, size_t size, int64_t max_pixels, dlp_image *image);

/* DLP_ERR_LIMIT unless width and height are within the limits. */
/* A whole image file into *bytes (malloc'ed; the caller frees it): a regular
 * file of at most DLP_IMAGE_MAX_FILE_BYTES, errors naming the path. Shared by
 * dlp_image_read and the featurizer (which hashes the bytes before decoding). */
dlp_status dlp_image_read_file(const char *path, uint8_t **bytes, size_t *size);
dlp_status dlp_image_check_limits(const char *format, int64_t width, int64_t height, int64_t max_pixels);

#endif

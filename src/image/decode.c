/* decode.c: format sniffing, probe and decode dispatch, reading image files.
 * The format-specific work is in decode_jpeg.c and decode_png.c. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/status.h"
#include "image/image_internal.h"

static const uint8_t png_signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

/* By content only: a .jpg that holds text is not a JPEG. */
static dlp_image_format sniff_format(const uint8_t *data, size_t size)
{
    if (size >= 3 && data[0] == 0xff && data[1] == 0xd8 && data[2] == 0xff) return DLP_IMAGE_FORMAT_JPEG;
    if (size >= 8 && memcmp(data, png_signature, 8) == 0) return DLP_IMAGE_FORMAT_PNG;
    return DLP_IMAGE_FORMAT_UNKNOWN;
}

static dlp_status fail_unknown_format(const uint8_t *data, size_t size)
{
    if (size == 0) return dlp_fail(DLP_ERR_FORMAT, "empty file (0 bytes), expected a JPEG or PNG image");
    char first[3 * 8 + 1] = "";
    size_t shown = size < 8 ? size : 8;
    for (size_t i = 0; i < shown; i++) snprintf(first + 3 * i, 4, "%s%02x", i ? " " : "", data[i]);
    return dlp_fail(DLP_ERR_UNSUPPORTED,
                    "not a JPEG or PNG image (first bytes %s; expected ff d8 ff or 89 50 4e 47 0d 0a 1a 0a)", first);
}

const char *dlp_image_format_name(dlp_image_format format)
{
    switch (format) {
    case DLP_IMAGE_FORMAT_JPEG: return "jpeg";
    case DLP_IMAGE_FORMAT_PNG: return "png";
    default: return "unknown";
    }
}

dlp_status dlp_image_check_limits(const char *format, int64_t width, int64_t height, int64_t max_pixels)
{
    if (width < 1 || height < 1)
        return dlp_fail(DLP_ERR_FORMAT, "%s header declares %lldx%lld pixels, expected at least 1x1", format,
                        (long long)width, (long long)height);
    if (width > DLP_IMAGE_MAX_SIDE || height > DLP_IMAGE_MAX_SIDE || width * height > max_pixels)
        return dlp_fail(DLP_ERR_LIMIT, "%s header declares %lldx%lld pixels, over the limit (sides <= %d, at most %lld pixels)",
                        format, (long long)width, (long long)height, DLP_IMAGE_MAX_SIDE, (long long)max_pixels);
    return DLP_OK;
}

dlp_status dlp_image_probe(const void *data, size_t size, dlp_image_info *info)
{
    if (!info || (!data && size)) return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "dlp_image_probe: NULL argument");
    memset(info, 0, sizeof *info);
    switch (sniff_format(data, size)) {
    case DLP_IMAGE_FORMAT_JPEG: return dlp_jpeg_probe(data, size, info);
    case DLP_IMAGE_FORMAT_PNG: return dlp_png_probe(data, size, info);
    default: return fail_unknown_format(data, size);
    }
}

static dlp_status decode_into(const void *data, size_t size, int64_t max_pixels, const dlp_pixel_room *room,
                              dlp_image *image, bool *in_room)
{
    if (!image || (!data && size)) return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "dlp_image_decode: NULL argument");
    memset(image, 0, sizeof *image);
    *in_room = false;
    switch (sniff_format(data, size)) {
    case DLP_IMAGE_FORMAT_JPEG: return dlp_jpeg_decode(data, size, max_pixels, room, image, in_room);
    case DLP_IMAGE_FORMAT_PNG: return dlp_png_decode(data, size, max_pixels, room, image, in_room);
    default: return fail_unknown_format(data, size);
    }
}

dlp_status dlp_image_decode_limited(const void *data, size_t size, int64_t max_pixels, dlp_image *image)
{
    bool in_room;
    return decode_into(data, size, max_pixels, NULL, image, &in_room);
}

dlp_status dlp_image_decode_into(const void *data, size_t size, const dlp_pixel_room *room, dlp_image *image,
                                 bool *in_room)
{
    return decode_into(data, size, DLP_IMAGE_MAX_PIXELS, room, image, in_room);
}

uint8_t *dlp_pixels_take(const dlp_pixel_room *room, int width, int height, bool *in_room)
{
    uint8_t *pixels = room && room->take ? room->take(room->context, width, height) : NULL;
    *in_room = pixels != NULL;
    return pixels ? pixels : malloc((size_t)width * (size_t)height * 3);
}

void dlp_pixels_give_back(uint8_t *pixels, bool in_room)
{
    if (!in_room) free(pixels);
}

dlp_status dlp_image_decode(const void *data, size_t size, dlp_image *image)
{
    return dlp_image_decode_limited(data, size, DLP_IMAGE_MAX_PIXELS, image);
}

void dlp_image_free(dlp_image *image)
{
    if (!image) return;
    free(image->pixels);
    memset(image, 0, sizeof *image);
}

dlp_status dlp_image_read_file(const char *path, uint8_t **bytes, size_t *size)
{
    *bytes = NULL;
    *size = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return dlp_fail(DLP_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat info;
    dlp_status status = DLP_OK;
    if (fstat(fd, &info) != 0) status = dlp_fail(DLP_ERR_IO, "%s: cannot stat: %s", path, strerror(errno));
    else if (!S_ISREG(info.st_mode)) status = dlp_fail(DLP_ERR_IO, "%s: not a regular file", path);
    else if (info.st_size > DLP_IMAGE_MAX_FILE_BYTES)
        status = dlp_fail(DLP_ERR_LIMIT, "%s: file of %lld bytes, over the limit of %lld", path,
                          (long long)info.st_size, (long long)DLP_IMAGE_MAX_FILE_BYTES);
    size_t want = status == DLP_OK ? (size_t)info.st_size : 0;
    uint8_t *buffer = status == DLP_OK ? malloc(want ? want : 1) : NULL;
    if (status == DLP_OK && !buffer) status = dlp_fail(DLP_ERR_OUT_OF_MEMORY, "%s: cannot allocate %zu bytes", path, want);
    size_t done = 0;
    while (status == DLP_OK && done < want) {
        ssize_t got = read(fd, buffer + done, want - done);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) status = dlp_fail(DLP_ERR_IO, "%s: read failed: %s", path, strerror(errno));
        else if (got == 0) break; /* shrank while reading: decode what is there */
        else done += (size_t)got;
    }
    close(fd);
    if (status != DLP_OK) {
        free(buffer);
        return status;
    }
    *bytes = buffer;
    *size = done;
    return DLP_OK;
}

dlp_status dlp_image_read(const char *path, dlp_image *image)
{
    if (!path || !image) return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "dlp_image_read: NULL argument");
    memset(image, 0, sizeof *image);
    uint8_t *bytes = NULL;
    size_t size = 0;
    DLP_TRY(dlp_image_read_file(path, &bytes, &size));
    dlp_status status = dlp_image_decode(bytes, size, image);
    free(bytes);
    if (status != DLP_OK) return dlp_fail_context(status, "%s", path);
    return DLP_OK;
}

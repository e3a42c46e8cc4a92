/* decode_png.c: PNG header reading and decoding to RGB8 with libspng. The
 * semantics (alpha dropped, 16-bit high byte, ...) are in dlp/image.h. */
#include <stdlib.h>
#include <string.h>
#include <spng.h>

#include "core/status.h"
#include "image/image_internal.h"

/* Ancillary chunks (text, ICC profiles) are skipped over but libspng reads
 * them; these caps keep a hostile file from making it allocate gigabytes. */
enum { PNG_CHUNK_BYTES_MAX = 16 << 20, PNG_CHUNK_CACHE_BYTES_MAX = 64 << 20 };

static spng_ctx *open_png(const uint8_t *data, size_t size, dlp_status *status)
{
    spng_ctx *ctx = spng_ctx_new(0);
    if (!ctx) {
        *status = dlp_fail(DLP_ERR_OUT_OF_MEMORY, "PNG: spng_ctx_new failed");
        return NULL;
    }
    /* A CRC mismatch in any chunk is corruption, never "good enough". */
    int error = spng_set_crc_action(ctx, SPNG_CRC_ERROR, SPNG_CRC_ERROR);
    if (!error) error = spng_set_chunk_limits(ctx, PNG_CHUNK_BYTES_MAX, PNG_CHUNK_CACHE_BYTES_MAX);
    if (!error) error = spng_set_png_buffer(ctx, data, size);
    if (error) {
        *status = dlp_fail(DLP_ERR_INTERNAL, "PNG: libspng setup failed: %s", spng_strerror(error));
        spng_ctx_free(ctx);
        return NULL;
    }
    *status = DLP_OK;
    return ctx;
}

/* A libspng error as a status: its "limit" errors are ours too. */
static dlp_status png_failure(const char *what, int error)
{
    dlp_status status = error == SPNG_EMEM ? DLP_ERR_OUT_OF_MEMORY
                        : (error == SPNG_EUSER_WIDTH ||
                           error == SPNG_EUSER_HEIGHT || error == SPNG_ECHUNK_LIMITS || error == SPNG_EOVERFLOW)
                            ? DLP_ERR_LIMIT
                            : DLP_ERR_FORMAT;
    return dlp_fail(status, "%sPNG: %s: %s", status == DLP_ERR_FORMAT ? "corrupt " : "", what, spng_strerror(error));
}

static void describe_ihdr(const struct spng_ihdr *ihdr, dlp_image_info *info)
{
    info->format = DLP_IMAGE_FORMAT_PNG;
    info->width = ihdr->width > (uint32_t)INT32_MAX ? INT32_MAX : (int)ihdr->width;
    info->height = ihdr->height > (uint32_t)INT32_MAX ? INT32_MAX : (int)ihdr->height;
    info->bit_depth = ihdr->bit_depth;
    info->progressive = ihdr->interlace_method != 0;
    switch (ihdr->color_type) {
    case SPNG_COLOR_TYPE_GRAYSCALE: info->channels = 1, info->color = "gray"; break;
    case SPNG_COLOR_TYPE_TRUECOLOR: info->channels = 3, info->color = "rgb"; break;
    case SPNG_COLOR_TYPE_INDEXED: info->channels = 3, info->color = "palette"; break;
    case SPNG_COLOR_TYPE_GRAYSCALE_ALPHA: info->channels = 2, info->color = "gray+alpha"; break;
    case SPNG_COLOR_TYPE_TRUECOLOR_ALPHA: info->channels = 4, info->color = "rgba"; break;
    default: info->channels = 0, info->color = "unknown"; break;
    }
}

static dlp_status read_ihdr(spng_ctx *ctx, dlp_image_info *info)
{
    struct spng_ihdr ihdr;
    int error = spng_get_ihdr(ctx, &ihdr);
    if (error) return png_failure("IHDR", error);
    describe_ihdr(&ihdr, info);
    return DLP_OK;
}

dlp_status dlp_png_probe(const uint8_t *data, size_t size, dlp_image_info *info)
{
    dlp_status status;
    spng_ctx *ctx = open_png(data, size, &status);
    if (!ctx) return status;
    /* Our own limits are checked by decode; here any size is reported. */
    spng_set_image_limits(ctx, INT32_MAX, INT32_MAX);
    status = read_ihdr(ctx, info);
    spng_ctx_free(ctx);
    return status;
}

static dlp_status decode_pixels(spng_ctx *ctx, int64_t max_pixels, const dlp_pixel_room *room, dlp_image *image,
                                bool *in_room)
{
    dlp_image_info info = {0};
    DLP_TRY(read_ihdr(ctx, &info));
    DLP_TRY(dlp_image_check_limits("PNG", info.width, info.height, max_pixels));
    size_t bytes = 0;
    int error = spng_decoded_image_size(ctx, SPNG_FMT_RGB8, &bytes);
    if (error) return png_failure("decoded size", error);
    if (bytes != (size_t)info.width * (size_t)info.height * 3)
        return dlp_fail(DLP_ERR_INTERNAL, "PNG: libspng wants %zu bytes for %dx%d RGB8", bytes, info.width, info.height);
    bool pixels_in_room = false;
    uint8_t *pixels = dlp_pixels_take(room, info.width, info.height, &pixels_in_room);
    if (!pixels) return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "PNG: cannot allocate %dx%d pixels", info.width, info.height);
    /* Flags 0: no tRNS, no gamma: the stored colours, alpha dropped. */
    error = spng_decode_image(ctx, pixels, bytes, SPNG_FMT_RGB8, 0);
    /* libspng stops once the last row is inflated, before the last IDAT's
     * CRC; reading the chunks up to IEND checks it (and what follows). */
    const char *where = "image data";
    if (!error) {
        error = spng_decode_chunks(ctx);
        where = "after the image data";
    }
    if (error) {
        dlp_pixels_give_back(pixels, pixels_in_room);
        return png_failure(where, error);
    }
    image->width = info.width;
    image->height = info.height;
    image->pixels = pixels;
    *in_room = pixels_in_room;
    return DLP_OK;
}

dlp_status dlp_png_decode(const uint8_t *data, size_t size, int64_t max_pixels, const dlp_pixel_room *room,
                          dlp_image *image, bool *in_room)
{
    dlp_status status;
    spng_ctx *ctx = open_png(data, size, &status);
    if (!ctx) return status;
    /* Our limits are checked from the IHDR (a clearer message than libspng's). */
    spng_set_image_limits(ctx, INT32_MAX, INT32_MAX);
    status = decode_pixels(ctx, max_pixels, room, image, in_room);
    spng_ctx_free(ctx);
    return status;
}

/* decode_jpeg.c: JPEG header parsing and decoding with TurboJPEG (libjpeg-turbo
 * 2.1, Debian 12: the tj* API; tj3* arrived in 3.0). The semantics are in
 * dlp/image.h. */
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

#include "core/status.h"
#include "image/image_internal.h"

/* What the markers before the first scan say. TurboJPEG 2.1 reports neither
 * the coding process (progressive) nor the Adobe marker, so we walk them. */
typedef struct jpeg_markers {
    int have_frame;     /* a SOFn was found */
    int sof_type;       /* n of SOFn */
    int precision;      /* bits per sample: 8 or 12 (16 for lossless) */
    int width, height, components;
    int component_ids[4];
    int saw_jfif;       /* APP0 "JFIF" */
    int saw_adobe;      /* APP14 "Adobe": its CMYK is stored inverted */
    int adobe_transform; /* 0 none (RGB/CMYK), 1 YCbCr, 2 YCCK */
} jpeg_markers;

static int read_be16(const uint8_t *p) { return (p[0] << 8) | p[1]; }

static int is_sof_marker(int marker)
{
    /* C4 (DHT), C8 (JPG) and CC (DAC) sit in the range but are not frames. */
    return marker >= 0xc0 && marker <= 0xcf && marker != 0xc4 && marker != 0xc8 && marker != 0xcc;
}

static void read_frame_header(const uint8_t *segment, int length, jpeg_markers *markers)
{
    if (markers->have_frame || length < 6) return;
    markers->precision = segment[0];
    markers->height = read_be16(segment + 1);
    markers->width = read_be16(segment + 3);
    markers->components = segment[5];
    for (int i = 0; i < markers->components && i < 4 && 6 + 3 * i < length; i++)
        markers->component_ids[i] = segment[6 + 3 * i];
    markers->have_frame = 1;
}

/* Walks the segments from SOI to the first SOS (or the end of the data). */
static dlp_status read_markers(const uint8_t *data, size_t size, jpeg_markers *markers)
{
    memset(markers, 0, sizeof *markers);
    size_t position = 2;
    while (position < size) {
        /* Garbage between segments is skipped, as libjpeg's next_marker does
         * (it warns; the decode then tolerates the warning). */
        while (position < size && data[position] != 0xff) position++;
        while (position < size && data[position] == 0xff) position++; /* fill bytes */
        if (position >= size) break;
        int marker = data[position++];
        if (marker == 0x01 || (marker >= 0xd0 && marker <= 0xd8)) continue; /* no length */
        if (marker == 0xd9 || marker == 0xda) break;                         /* EOI, SOS */
        if (position + 2 > size) break;
        int length = read_be16(data + position);
        if (length < 2) return dlp_fail(DLP_ERR_FORMAT, "JPEG: marker 0x%02x at byte %zu has length %d", marker,
                                        position - 1, length);
        const uint8_t *segment = data + position + 2;
        size_t available = size - position - 2;
        int body = (size_t)(length - 2) < available ? length - 2 : (int)available; /* cast only when below length */
        if (is_sof_marker(marker) && !markers->have_frame) {
            markers->sof_type = marker - 0xc0;
            read_frame_header(segment, body, markers);
        } else if (marker == 0xe0 && body >= 5 && !memcmp(segment, "JFIF", 5)) {
            markers->saw_jfif = 1;
        } else if (marker == 0xee && body >= 12 && !memcmp(segment, "Adobe", 5)) {
            markers->saw_adobe = 1;
            markers->adobe_transform = segment[11];
        }
        position += 2 + (size_t)(length - 2);
    }
    if (!markers->have_frame)
        return dlp_fail(DLP_ERR_FORMAT, "JPEG: no frame header (SOF marker) before the first scan; truncated?");
    return DLP_OK;
}

/* libjpeg's guess of the colour space (jdapimin.c default_decompress_parms). */
static const char *stored_color(const jpeg_markers *markers)
{
    if (markers->components == 1) return "gray";
    if (markers->components == 3) {
        if (markers->saw_jfif) return "ycbcr";
        if (markers->saw_adobe) return markers->adobe_transform == 0 ? "rgb" : "ycbcr";
        const int *id = markers->component_ids;
        if (id[0] == 'R' && id[1] == 'G' && id[2] == 'B') return "rgb";
        return "ycbcr";
    }
    if (markers->components == 4)
        return markers->saw_adobe && markers->adobe_transform == 2 ? "ycck" : "cmyk";
    return "unknown";
}

static dlp_status describe_markers(const jpeg_markers *markers, dlp_image_info *info)
{
    info->format = DLP_IMAGE_FORMAT_JPEG;
    info->width = markers->width;
    info->height = markers->height;
    info->channels = markers->components;
    info->bit_depth = markers->precision;
    info->color = stored_color(markers);
    /* SOF2, SOF6 (differential), SOF10, SOF14 (arithmetic) are progressive. */
    info->progressive = markers->sof_type == 2 || markers->sof_type == 6 || markers->sof_type == 10 ||
                        markers->sof_type == 14;
    if (markers->components != 1 && markers->components != 3 && markers->components != 4)
        return dlp_fail(DLP_ERR_FORMAT, "JPEG: frame header has %d components, expected 1, 3 or 4",
                        markers->components);
    return DLP_OK;
}

dlp_status dlp_jpeg_probe(const uint8_t *data, size_t size, dlp_image_info *info)
{
    jpeg_markers markers;
    DLP_TRY(read_markers(data, size, &markers));
    return describe_markers(&markers, info);
}

/* TensorFlow's decode_jpeg CMYK -> RGB (jpeg_mem.cc), in place from 4 to 3
 * bytes per pixel. Adobe files hold inverted CMYK (255 = no ink). */
static void cmyk_to_rgb(uint8_t *pixels, size_t pixel_count, int inverted)
{
    for (size_t i = 0; i < pixel_count; i++) {
        const uint8_t *in = pixels + 4 * i;
        int c = in[0], m = in[1], y = in[2], k = in[3];
        uint8_t *out = pixels + 3 * i;
        if (inverted) {
            out[0] = (uint8_t)(k * c / 255);
            out[1] = (uint8_t)(k * m / 255);
            out[2] = (uint8_t)(k * y / 255);
        } else {
            out[0] = (uint8_t)((255 - k) * (255 - c) / 255);
            out[1] = (uint8_t)((255 - k) * (255 - m) / 255);
            out[2] = (uint8_t)((255 - k) * (255 - y) / 255);
        }
    }
}

static dlp_status check_decodable(const jpeg_markers *markers, const dlp_image_info *info, int64_t max_pixels)
{
    int lossless = markers->sof_type == 3 || markers->sof_type == 7 || markers->sof_type == 11 ||
                   markers->sof_type == 15;
    if (lossless) return dlp_fail(DLP_ERR_UNSUPPORTED, "JPEG: lossless JPEG (SOF%d) is not supported", markers->sof_type);
    if (markers->precision != 8)
        return dlp_fail(DLP_ERR_UNSUPPORTED, "JPEG: %d-bit samples, only 8-bit JPEG is supported", markers->precision);
    return dlp_image_check_limits("JPEG", info->width, info->height, max_pixels);
}

/* Image data that ends early: the file is truncated ("Premature end of JPEG
 * file") or a scan stops before its last block ("premature end of data
 * segment"); libjpeg would paint the rest grey. */
static int is_premature_end(const char *message)
{
    return strstr(message, "remature end") != NULL;
}

static dlp_status decompress(tjhandle handle, const uint8_t *data, size_t size, const dlp_image_info *info,
                             int cmyk, uint8_t *pixels)
{
    int width = 0, height = 0, subsampling = 0, colorspace = 0;
    /* A warning here (extraneous bytes between segments) still fills the
     * header fields; only an error is fatal. */
    if (tjDecompressHeader3(handle, data, (unsigned long)size, &width, &height, &subsampling, &colorspace) != 0 &&
        tjGetErrorCode(handle) == TJERR_FATAL)
        return dlp_fail(DLP_ERR_FORMAT, "corrupt JPEG header: %s", tjGetErrorStr2(handle));
    if (width != info->width || height != info->height)
        return dlp_fail(DLP_ERR_FORMAT, "JPEG: header read as %dx%d and %dx%d", info->width, info->height, width,
                        height);
    int format = cmyk ? TJPF_CMYK : TJPF_RGB;
    /* LIMITSCANS refuses progressive files with absurd scan counts (slow
     * decodes of tiny files). TurboJPEG reports only the last warning, so the
     * first pass stops at the first one: a premature end is refused at once
     * (cheaply, even for a huge declared size), any other warning (extraneous
     * bytes, a bad Huffman code) is tolerated by a second pass that runs to
     * the end, as Pillow and TensorFlow do. */
    int flags = TJFLAG_LIMITSCANS;
    if (tjDecompress2(handle, data, (unsigned long)size, pixels, width, 0, height, format,
                      flags | TJFLAG_STOPONWARNING) == 0)
        return DLP_OK;
    const char *message = tjGetErrorStr2(handle);
    if (tjGetErrorCode(handle) == TJERR_FATAL) return dlp_fail(DLP_ERR_FORMAT, "corrupt JPEG: %s", message);
    if (is_premature_end(message)) return dlp_fail(DLP_ERR_FORMAT, "truncated JPEG data: %s", message);
    if (tjDecompress2(handle, data, (unsigned long)size, pixels, width, 0, height, format, flags) != 0 &&
        tjGetErrorCode(handle) == TJERR_FATAL)
        return dlp_fail(DLP_ERR_FORMAT, "corrupt JPEG: %s", tjGetErrorStr2(handle));
    return DLP_OK;
}

/* TurboJPEG writes 4 bytes per pixel for CMYK: those are decoded into a
 * buffer of their own and converted into the room; RGB goes straight there. */
dlp_status dlp_jpeg_decode(const uint8_t *data, size_t size, int64_t max_pixels, const dlp_pixel_room *room,
                           dlp_image *image, bool *in_room)
{
    jpeg_markers markers;
    dlp_image_info info = {0};
    DLP_TRY(read_markers(data, size, &markers));
    DLP_TRY(describe_markers(&markers, &info));
    DLP_TRY(check_decodable(&markers, &info, max_pixels));
    int cmyk = markers.components == 4;
    size_t pixel_count = (size_t)info.width * (size_t)info.height;
    bool decoded_in_room = false;
    uint8_t *decoded = cmyk ? malloc(pixel_count * 4) : dlp_pixels_take(room, info.width, info.height, &decoded_in_room);
    if (!decoded) return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "JPEG: cannot allocate %dx%d pixels", info.width, info.height);
    tjhandle handle = tjInitDecompress();
    dlp_status status = handle ? decompress(handle, data, size, &info, cmyk, decoded)
                               : dlp_fail(DLP_ERR_OUT_OF_MEMORY, "JPEG: tjInitDecompress failed: %s", tjGetErrorStr2(NULL));
    if (handle) tjDestroy(handle);
    if (status != DLP_OK) {
        dlp_pixels_give_back(decoded, decoded_in_room);
        return status;
    }
    uint8_t *pixels = decoded;
    if (cmyk) {
        cmyk_to_rgb(decoded, pixel_count, markers.saw_adobe);
        pixels = dlp_pixels_take(room, info.width, info.height, &decoded_in_room);
        if (pixels) memcpy(pixels, decoded, pixel_count * 3);
        free(decoded);
        if (!pixels) return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "JPEG: cannot allocate %dx%d pixels", info.width, info.height);
    }
    image->width = info.width;
    image->height = info.height;
    image->pixels = pixels;
    *in_room = decoded_in_room;
    return DLP_OK;
}

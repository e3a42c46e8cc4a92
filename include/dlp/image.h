/* dlp/image.h: decoding JPEG and PNG to RGB8, resizing and normalizing to the
 * float input of a network, and loading a batch of dataset rows with threads.
 *
 * Decoding (what dlp_image_decode returns, always RGB8 HWC):
 * - The format is sniffed from the first bytes (JPEG: FF D8 FF; PNG: the
 *   8-byte signature), never from a file name.
 * - JPEG (libjpeg-turbo's TurboJPEG API): baseline, progressive, arithmetic
 *   coded; 8-bit only (12-bit and lossless are DLP_ERR_UNSUPPORTED). Decoded
 *   with the accurate integer DCT and fancy upsampling, the libjpeg defaults
 *   that Pillow (Keras' load_img) uses, so the pixels equal Pillow's exactly
 *   and TensorFlow's decode_jpeg(dct_method="INTEGER_ACCURATE"); TF's default
 *   ("" = INTEGER_FAST) differs by a few levels. Grayscale is replicated to
 *   R=G=B. CMYK and YCCK are converted as TensorFlow's decode_jpeg does
 *   (tensorflow/core/lib/jpeg/jpeg_mem.cc): with an Adobe APP14 marker (the
 *   inverted CMYK Photoshop and Pillow write) R = C*K/255, otherwise
 *   R = (255-C)*(255-K)/255 (integer division; G, B alike). Pillow agrees
 *   on Adobe files (exactly, on the fixtures) but reads every CMYK JPEG as
 *   inverted, so on files without the Adobe marker it differs from TF and
 *   dlp (by up to 186 levels on the fixture).
 *   Image data that ends early is DLP_ERR_FORMAT ("truncated"): a truncated
 *   file, as Pillow (without LOAD_TRUNCATED_IMAGES) and TensorFlow (without
 *   try_recover_truncated) refuse it, and also a scan that stops before its
 *   last block (libjpeg's "premature end of data segment"; Pillow and TF
 *   would paint the rest grey), when that is the first thing libjpeg-turbo
 *   warns about. Other recoverable corruption it only warns about
 *   (extraneous bytes before a marker, a bad Huffman code) is accepted, as
 *   Pillow and TensorFlow do.
 * - PNG (libspng): every colour type and bit depth (1, 2, 4, 8, 16), Adam7
 *   interlacing. Alpha and tRNS are dropped (not composited), as
 *   decode_png(channels=3) and Keras' loader do; palettes are expanded; gray
 *   is replicated; 1/2/4-bit gray is scaled to 0..255 (v * 255 / (2^d - 1));
 *   16-bit samples keep their high byte (v >> 8), as TensorFlow's
 *   decode_png(dtype=uint8) does (libpng's png_set_strip_16). gAMA, sRGB and
 *   iCCP are not applied. A bad CRC in any chunk, or a bad zlib checksum, is
 *   DLP_ERR_FORMAT.
 * - EXIF orientation is ignored, as Keras' load_img and sparkdl do.
 * - Limits: width and height must be <= DLP_IMAGE_MAX_SIDE and
 *   width * height <= DLP_IMAGE_MAX_PIXELS; both are checked from the header
 *   before any pixel buffer is allocated (DLP_ERR_LIMIT). */
#ifndef DLP_IMAGE_H
#define DLP_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "dlp/core.h"
#include "dlp/dataset.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DLP_IMAGE_MAX_SIDE 65535
#define DLP_IMAGE_MAX_PIXELS (INT64_C(1) << 28)
/* dlp_image_read refuses larger files before reading them. */
#define DLP_IMAGE_MAX_FILE_BYTES (INT64_C(1) << 30)

typedef enum dlp_image_format { DLP_IMAGE_FORMAT_UNKNOWN = 0, DLP_IMAGE_FORMAT_JPEG, DLP_IMAGE_FORMAT_PNG } dlp_image_format;

/* What a file's header says (dlp_image_probe). */
typedef struct dlp_image_info {
    dlp_image_format format;
    int width, height;
    int channels;      /* as stored: 1 gray, 2 gray+alpha, 3 rgb/ycbcr/palette, 4 rgba/cmyk/ycck */
    int bit_depth;     /* 8 or 16 (PNG also 1, 2, 4; JPEG 12 is reported, then refused by decode) */
    const char *color; /* static string: "gray", "gray+alpha", "rgb", "rgba", "palette", "cmyk", "ycck",
                        * and "ycbcr" for the usual JPEG */
    int progressive;   /* JPEG progressive / PNG interlaced */
} dlp_image_info;

/* Decoded pixels: RGB8, HWC, row stride width*3. Free with dlp_image_free. */
typedef struct dlp_image {
    int width, height;
    uint8_t *pixels;
} dlp_image;

/* "jpeg", "png", "unknown". */
const char *dlp_image_format_name(dlp_image_format format);

/* Reads the header only (no pixels are decoded). An unknown signature is
 * DLP_ERR_UNSUPPORTED; a damaged header DLP_ERR_FORMAT; sizes beyond the
 * limits are reported, not refused (decode refuses them). */
dlp_status dlp_image_probe(const void *data, size_t size, dlp_image_info *info);

/* Decodes to RGB8 (see the rules above). On failure image is zeroed. */
dlp_status dlp_image_decode(const void *data, size_t size, dlp_image *image);

/* Reads and decodes a file; a failure's message starts with "PATH: " and says
 * why (missing, unreadable, not an image, corrupt, too large). */
dlp_status dlp_image_read(const char *path, dlp_image *image);

/* Frees the pixels and zeroes image (NULL and zeroed images are fine). */
void dlp_image_free(dlp_image *image);

/* Resizing, as TensorFlow 2's tf.image.resize(images, [h, w], method,
 * antialias=False) (tensorflow/core/kernels/image/resize_*_op.cc), in float:
 * - AREA: ResizeArea (align_corners=False): each output pixel averages the
 *   input box [y*s, (y+1)*s) x [x*t, (x+1)*t), s = in_h/out_h, t = in_w/out_w,
 *   partial pixels weighted by their overlap. The default (sparkdl's
 *   featurizer resized with Java's SCALE_AREA_AVERAGING, a box filter).
 * - BILINEAR: ResizeBilinear with half-pixel centres: source (y+0.5)*s-0.5,
 *   clamped to the image, no antialiasing.
 * - NEAREST: ResizeNearestNeighbor with half-pixel centres:
 *   floor((y+0.5)*s), clamped.
 * Output sizes are exact (out_h x out_w; the aspect ratio is not kept, as
 * sparkdl did). */
typedef enum dlp_resize { DLP_RESIZE_AREA = 0, DLP_RESIZE_BILINEAR, DLP_RESIZE_NEAREST } dlp_resize;

/* Keras' imagenet_utils.preprocess_input modes, applied in float32 after the
 * resize: NONE keeps 0..255; TF is x/127.5 - 1 (RGB order); CAFFE swaps to
 * BGR and subtracts the ImageNet mean [103.939, 116.779, 123.68] (B, G, R). */
typedef enum dlp_normalize {
    DLP_NORMALIZE_NONE = 0, /* 0..255 as float */
    DLP_NORMALIZE_TF,       /* x/127.5-1, RGB */
    DLP_NORMALIZE_CAFFE     /* BGR order, minus [103.939,116.779,123.68] (B,G,R) */
} dlp_normalize;

dlp_status dlp_resize_from_name(const char *name, dlp_resize *method);     /* "area", "bilinear", "nearest" */
dlp_status dlp_normalize_from_name(const char *name, dlp_normalize *mode); /* "none", "tf", "caffe" */
const char *dlp_resize_name(dlp_resize method);
const char *dlp_normalize_name(dlp_normalize mode);

/* Resizes to exactly out_h x out_w (1..DLP_IMAGE_MAX_SIDE, at most
 * DLP_IMAGE_MAX_PIXELS) and normalizes into float HWC out[out_h*out_w*3]. */
dlp_status dlp_image_resize_float(const dlp_image *image, int out_h, int out_w, dlp_resize method,
                                  dlp_normalize normalize, float *out);

/* The same resize to uint8 HWC: each float value rounded to nearest, ties to
 * even, and clamped to 0..255, i.e. TensorFlow's
 * tf.saturate_cast(tf.round(tf.image.resize(...)), tf.uint8). NEAREST copies
 * pixels exactly. */
dlp_status dlp_image_resize_u8(const dlp_image *image, int out_h, int out_w, dlp_resize method, uint8_t *out);

/* Batch: rows [first, first+n) of the dataset are read, decoded and
 * resized+normalized into out[i*out_h*out_w*3 ...] with `threads` threads
 * (<= 0: one per CPU). A row that is already failed, or fails now (missing,
 * unreadable, corrupt, unsupported, too large), gets
 * dlp_dataset_set_error(status, "path: reason") and a zero-filled slot; the
 * other rows are unaffected (their values equal dlp_image_read then
 * dlp_image_resize_float of that row alone). Returns DLP_OK unless the call
 * itself is invalid or out of memory; *failed (may be NULL) receives the
 * number of failed rows in the range. */
dlp_status dlp_image_load_batch(dlp_dataset *dataset, size_t first, size_t n, int out_h, int out_w,
                                dlp_resize method, dlp_normalize normalize, int threads, float *out, size_t *failed);

#ifdef __cplusplus
}
#endif
#endif

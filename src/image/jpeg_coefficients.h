/* jpeg_coefficients.h: a JPEG split where a GPU decode would split it
 * (DESIGN.md §5, "later"): the entropy decoding, which stays on the CPU
 * (libjpeg's jpeg_read_coefficients: the quantized DCT coefficients of every
 * block), and the rest, done from the coefficients by
 * dlp_jpeg_reconstruct: dequantization, the accurate integer IDCT,
 * libjpeg's "fancy" chroma upsampling and its YCbCr -> RGB, all in integer
 * arithmetic, so that the RGB is TurboJPEG's (dlp_image_decode's) bit for
 * bit. dlp_jpeg_reconstruct is the CPU twin of the GPU kernels
 * (kernels/jpeg.cu, backend/cuda/jpeg.h), which run the same arithmetic
 * (jpeg_pixel.h; exact on an H200, 2026-11-27). The decode stream uses the
 * split with jpeg_split (the featurizer's GPU path, unless DLP_JPEG_SPLIT=0;
 * image/jpeg_record.h).
 *
 * Covered: 8-bit baseline, extended and progressive (Huffman) YCbCr JPEGs
 * with 3 components, chroma sampled 1x1 under luma 1x1 (4:4:4), 2x1 (4:2:2)
 * or 2x2 (4:2:0). Everything else (grayscale, CMYK/YCCK, other samplings,
 * 12-bit, arithmetic coding), any file libjpeg warns about, a progressive
 * file whose scans leave coefficients incomplete, and a block whose
 * coefficients no 8-bit image gives (corrupt data, where TurboJPEG's SIMD
 * IDCT wraps and saturates: found by fuzz_jpeg_split) is refused, for the
 * caller to decode the usual way. */
#ifndef DLP_SRC_IMAGE_JPEG_COEFFICIENTS_H
#define DLP_SRC_IMAGE_JPEG_COEFFICIENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dlp/core.h"

typedef struct dlp_jpeg_component {
    int h_samp, v_samp;                     /* sampling factors */
    int width, height;                      /* its samples: ceil(image side * factor / the largest factor) */
    int width_in_blocks, height_in_blocks;  /* blocks coded (at least the samples, in whole MCUs) */
    uint16_t quant[64];                     /* the quantization table, natural order */
    int16_t *blocks;                        /* height_in_blocks x width_in_blocks blocks of 64, natural order */
} dlp_jpeg_component;

typedef struct dlp_jpeg_coefficients {
    int width, height;
    dlp_jpeg_component component[3];        /* Y, Cb, Cr */
    bool in_room;                           /* the blocks are in the caller's room, not on the heap */
} dlp_jpeg_coefficients;

/* The blocks go to room (Y's, then Cb's, then Cr's) when its room_blocks
 * blocks of 64 hold them all, else to the heap: a caller decoding file
 * after file into reused memory (a batch's pinned buffer) saves a
 * malloc and its page faults an image. DLP_ERR_UNSUPPORTED for a file
 * outside what is covered (above), DLP_ERR_LIMIT past DLP_IMAGE_MAX_SIDE /
 * DLP_IMAGE_MAX_PIXELS (checked before any coefficient is read),
 * DLP_ERR_FORMAT for corrupt data or a libjpeg warning. The range check of
 * every block costs a multiply-add per coefficient. */
dlp_status dlp_jpeg_read_coefficients(const uint8_t *data, size_t size, int16_t *room, size_t room_blocks,
                                      dlp_jpeg_coefficients *out);

/* Where a reader puts the blocks when it knows how many there are: take
 * returns room for `blocks` blocks of 64 int16 (Y's, then Cb's, then Cr's
 * go there), or NULL for the heap. Called at most once a read, after the
 * header and the entropy decoding; the read may still fail afterwards. */
typedef struct dlp_jpeg_room {
    int16_t *(*take)(void *context, size_t blocks);
    void *context;
} dlp_jpeg_room;

/* dlp_jpeg_read_coefficients with the room chosen by room (NULL: the heap). */
dlp_status dlp_jpeg_read_coefficients_into(const uint8_t *data, size_t size, const dlp_jpeg_room *room,
                                           dlp_jpeg_coefficients *out);
void dlp_jpeg_coefficients_free(dlp_jpeg_coefficients *coefficients);

/* The range check the reader applies to each block (exposed for the tests):
 * isa 0 the plain code, 1 the AVX2 code where the CPU has AVX2 (the
 * reader's choice; elsewhere the plain code). The same answer either way. */
bool dlp_jpeg_block_in_range(const int16_t *block, const uint16_t *quant, int isa);

/* Where one image's parts sit in a reconstruction's buffers (the GPU
 * kernels', kernels/jpeg.cu): its blocks (Y's, then Cb's, then Cr's, 64
 * int16 each, as dlp_jpeg_read_coefficients puts them in a room), its 3 x 64
 * quantizers, and its sample planes (each width_in_blocks * 8 bytes a row). */
typedef struct dlp_jpeg_layout {
    int width, height;                    /* the image */
    int h_samp, v_samp;                   /* luma's sampling factors (chroma's are 1) */
    int width_in_blocks[3], height_in_blocks[3];
    int plane_width[3], plane_height[3];  /* each component's own samples */
    size_t first_block[3];                /* into the blocks */
    size_t plane_offset[3];               /* into the samples */
    size_t total_blocks, total_samples;
} dlp_jpeg_layout;

void dlp_jpeg_layout_of(const dlp_jpeg_coefficients *coefficients, dlp_jpeg_layout *layout);

/* The image as RGB8 (width x height x 3); DLP_ERR_OUT_OF_MEMORY for its sample planes. */
dlp_status dlp_jpeg_reconstruct(const dlp_jpeg_coefficients *coefficients, uint8_t *rgb);

#endif

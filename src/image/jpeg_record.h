/* jpeg_record.h: JPEGs carried split through a packed batch (image/pack.h),
 * for the GPU to finish decoding (DESIGN.md §5, "later"): the decode
 * stream's jpeg_split, on in the featurizer's GPU path unless DLP_JPEG_SPLIT=0.
 *
 * A worker that reads a JPEG's coefficients (image/jpeg_coefficients.h)
 * writes a record into the batch's packed bytes instead of its pixels: the
 * image's dlp_jpeg_layout and 3 x 64 quantizers, then its blocks (Y's, Cb's,
 * Cr's, 64 int16 each) at DLP_JPEG_RECORD_HEADER bytes from the record's
 * start, which is 16-byte aligned. The batch's layout then gives the image
 * an offset past the packed bytes (layout->total_bytes): where its RGB8 will
 * be once reconstructed, in the reconstruction area that follows the packed
 * bytes on the device (layout->reconstructed_bytes long). A job per record
 * says where everything is; the two items below, run once per block and
 * once per output pixel of the whole batch, reconstruct every record: on
 * the GPU (kernels/jpeg.cu, one thread per item, launched by the image
 * stage after its copy) and on the host (dlp_jpeg_batch_reconstruct, the
 * twin the tests check against TurboJPEG). Pure C plus the host/device
 * items; no CUDA types. */
#ifndef DLP_SRC_IMAGE_JPEG_RECORD_H
#define DLP_SRC_IMAGE_JPEG_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "image/jpeg_pixel.h"

typedef struct dlp_jpeg_record {
    dlp_jpeg_layout layout;
    uint16_t quant[3][64];
} dlp_jpeg_record;

/* Bytes from a record's start to its blocks (a multiple of 16). */
#define DLP_JPEG_RECORD_HEADER ((sizeof(dlp_jpeg_record) + 15) / 16 * 16)
/* A record's start within the packed bytes is a multiple of this. */
enum { DLP_JPEG_RECORD_ALIGN = 16 };

/* One record of a batch: where it is and where its results go. */
typedef struct dlp_jpeg_job {
    uint64_t record;       /* offset of the record in the packed bytes */
    uint64_t rgb;          /* offset of its RGB8 in the pixel buffer (>= the packed bytes) */
    uint64_t samples;      /* offset of its sample planes in the batch's samples scratch */
    uint64_t first_block;  /* its first block among the batch's (jobs in order, blocks back to back) */
    uint64_t first_pixel;  /* likewise its first output pixel */
} dlp_jpeg_job;

/* The bytes a record of this layout takes (header and blocks). */
static inline size_t dlp_jpeg_record_bytes(const dlp_jpeg_layout *layout)
{
    return DLP_JPEG_RECORD_HEADER + layout->total_blocks * 64 * sizeof(int16_t);
}

/* The job whose range of first_block (blocks true) or first_pixel holds
 * item i: the last job starting at or before it. count >= 1. */
static inline DLP_JPEG_HD size_t dlp_jpeg_job_of(const dlp_jpeg_job *jobs, size_t count, size_t i, int blocks)
{
    size_t low = 0, high = count - 1;
    while (low < high) {
        size_t middle = low + (high - low + 1) / 2;
        uint64_t first = blocks ? jobs[middle].first_block : jobs[middle].first_pixel;
        if (first <= i) low = middle;
        else high = middle - 1;
    }
    return low;
}

/* Block i of the batch through the IDCT into its image's planes. packed:
 * the batch's packed bytes (records 16-byte aligned in it). */
static inline DLP_JPEG_HD void dlp_jpeg_batch_idct_item(const uint8_t *packed, const dlp_jpeg_job *jobs, size_t count,
                                                        uint8_t *samples, size_t i)
{
    const dlp_jpeg_job *job = &jobs[dlp_jpeg_job_of(jobs, count, i, 1)];
    const dlp_jpeg_record *record = (const dlp_jpeg_record *)(packed + job->record);
    const int16_t *blocks = (const int16_t *)(packed + job->record + DLP_JPEG_RECORD_HEADER);
    dlp_jpeg_blocks in;
    for (int c = 0; c < 3; c++) {
        in.blocks[c] = blocks + record->layout.first_block[c] * 64;
        in.quant[c] = record->quant[c];
    }
    dlp_jpeg_idct_item(in, &record->layout, samples + job->samples, (size_t)(i - job->first_block));
}

/* Output pixel i of the batch (its image's pixels row-major, images in job
 * order) from the planes to RGB8 at pixels + the job's rgb offset. */
static inline DLP_JPEG_HD void dlp_jpeg_batch_pixel_item(const uint8_t *packed, const dlp_jpeg_job *jobs, size_t count,
                                                         const uint8_t *samples, uint8_t *pixels, size_t i)
{
    const dlp_jpeg_job *job = &jobs[dlp_jpeg_job_of(jobs, count, i, 0)];
    const dlp_jpeg_record *record = (const dlp_jpeg_record *)(packed + job->record);
    dlp_jpeg_pixel_item(samples + job->samples, &record->layout, pixels + job->rgb, (size_t)(i - job->first_pixel));
}

/* Writes coefficients' record at dst (16-byte aligned, dlp_jpeg_record_bytes(layout) long; layout from
 * dlp_jpeg_layout_of(coefficients)); blocks read into the record's own room
 * (dst + DLP_JPEG_RECORD_HEADER) stay where they are. */
void dlp_jpeg_record_write(const dlp_jpeg_coefficients *coefficients, const dlp_jpeg_layout *layout, uint8_t *dst);

/* The host twin of the device's reconstruction of a batch (the image
 * stage's launch): every job of layout, block items then pixel items, from
 * packed (layout->total_bytes) into pixels (total_bytes +
 * reconstructed_bytes: the records' RGB8 land past total_bytes; the bytes
 * before it are not touched). DLP_ERR_OUT_OF_MEMORY for the samples scratch. */
struct dlp_image_pack_layout;
dlp_status dlp_jpeg_batch_reconstruct(const uint8_t *packed, const struct dlp_image_pack_layout *layout,
                                      uint8_t *pixels);

#endif

/* preprocess.h: the batched GPU resize + normalize (kernels/preprocess.cu):
 * one launch turns a packed batch of differently sized RGB8 images
 * (src/image/pack.h) into the NHWC float input [count, out_h, out_w, 3] of a
 * network, each image as dlp_image_resize_float would resize and normalize
 * it. No CUDA types here, so the no-CUDA stubs and the tests include it.
 *
 * Verified: the per-pixel math is src/image/resize_pixel.h, shared by the
 * kernel, and unit.resize_pixel checks on the host that it equals
 * dlp_image_resize_float bit for bit; gpu.preprocess_cuda checks the kernel
 * itself on a GPU the same way (bit for bit on an H200, 2026-11-26). The
 * featurizer uses the stage below through graph/plan_images.h. */
#ifndef DLP_SRC_BACKEND_CUDA_PREPROCESS_H
#define DLP_SRC_BACKEND_CUDA_PREPROCESS_H

#include <stddef.h>
#include <stdint.h>

#include "dlp/image.h"
#include "image/pack.h"

/* Launches the kernel on the current device, asynchronously on stream (a
 * cudaStream_t; NULL is the default stream). Every pointer is device memory:
 * the packed pixels and the per-image offsets/heights/widths of a layout from
 * dlp_image_pack_layout_create (its sizes are trusted), and
 * out[count * out_h * out_w * 3]. out_h, out_w as for dlp_image_resize_float. */
dlp_status dlp_cuda_preprocess_batch(const uint8_t *pixels, const uint64_t *offsets, const int32_t *heights,
                                     const int32_t *widths, size_t count, int out_h, int out_w, dlp_resize method,
                                     dlp_normalize normalize, float *out, void *stream);

/* The whole round trip on device `device`, synchronously, through a stage
 * (below, the featurizer's path): packs images,
 * copies them over, launches, copies out[count * out_h * out_w * 3] (host)
 * back and frees what it allocated. For tests and simple callers. */
dlp_status dlp_cuda_preprocess_images(int device, const dlp_image *images, size_t count, int out_h, int out_w,
                                      dlp_resize method, dlp_normalize normalize, float *out);

/* Device buffers for one packed batch, grown as needed and reused from batch
 * to batch (a zeroed struct is an empty stage). */
typedef struct dlp_cuda_image_stage {
    uint8_t *pixels;
    size_t pixel_capacity;
    void *layout;            /* offsets, then heights, then widths */
    size_t layout_capacity;  /* bytes */
    size_t count;            /* images of the batch last copied */
    void *jobs;              /* the JPEG records' jobs (image/jpeg_record.h) */
    size_t jobs_capacity;    /* bytes */
    uint8_t *samples;        /* their sample planes */
    size_t samples_capacity;
} dlp_cuda_image_stage;

/* Enqueues on stream (current device) the copy of a packed batch (packed:
 * layout->total_bytes, ideally pinned, left untouched until the copy is done)
 * and of its layout into the stage's device buffers; with JPEG records
 * (layout->jpeg_count), also their reconstruction into the area after the
 * packed bytes (kernels/jpeg.cu), so the stream's work is done when the
 * batch's images are all RGB8 on the device. */
dlp_status dlp_cuda_image_stage_copy(dlp_cuda_image_stage *stage, const uint8_t *packed,
                                     const dlp_image_pack_layout *layout, void *stream);
/* Enqueues on stream the kernel over the batch last copied into the stage:
 * out (device) gets stage->count * out_h * out_w * 3 floats. */
dlp_status dlp_cuda_image_stage_launch(const dlp_cuda_image_stage *stage, int out_h, int out_w, dlp_resize method,
                                       dlp_normalize normalize, float *out, void *stream);
void dlp_cuda_image_stage_free(dlp_cuda_image_stage *stage);

#endif

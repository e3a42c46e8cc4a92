/* plan_images.h: running a plan on a packed batch of decoded RGB8 images
 * (image/pack.h) on a backend that resizes and normalizes them itself (the
 * CUDA backend, with kernels/preprocess.cu), so the CPU only decodes. The
 * input it makes is what dlp_image_resize_float makes, bit for bit. And
 * downloads that do not wait, so that two batches can be in flight. */
#ifndef DLP_SRC_GRAPH_PLAN_IMAGES_H
#define DLP_SRC_GRAPH_PLAN_IMAGES_H

#include <stdbool.h>
#include <stdint.h>

#include "dlp/graph.h"
#include "image/pack.h"

enum { DLP_PLAN_IMAGE_SLOTS = 2 };

/* Whether the functions below work on this plan (its backend resizes, its input has 3 channels). */
bool dlp_plan_takes_images(const dlp_plan *plan);

/* Starts copying a packed batch to the device, into staging slot 0 or 1, on
 * the backend's copy stream: call it from the thread that prepares the next
 * batch while the plan runs the current one from the other slot. packed (at
 * least layout->total_bytes, pinned for a true asynchronous copy) must stay
 * untouched until the run of this slot has finished. */
dlp_status dlp_plan_stage_images(dlp_plan *plan, int slot, const uint8_t *packed, const dlp_image_pack_layout *layout);

/* Rows of a staged batch whose input the caller made itself (images too
 * large to ship whole, resized and normalized on the CPU; their packed
 * images are placeholders): row index[k] (< the batch's count) gets
 * floats[k * h*w*3, (k + 1) * h*w*3), the plan's input layout. floats must
 * stay untouched until the run has finished (pinned: a truly asynchronous copy). */
typedef struct dlp_plan_input_rows {
    size_t count;
    const size_t *index;
    const float *floats;
} dlp_plan_input_rows;

/* Like dlp_plan_run on the batch staged in slot: waits for its copy, resizes
 * the images to the plan's input size with method and normalizes them on the
 * device, writes rows (NULL or count 0: none) over theirs, then runs the network. */
dlp_status dlp_plan_run_staged_images(dlp_plan *plan, int slot, size_t count, dlp_resize method,
                                      dlp_normalize normalize, const dlp_plan_input_rows *rows);

/* Like dlp_plan_read_output, but returns once the copy is queued behind
 * the last run (a GPU backend; others copy at once): dst, pinned for a truly
 * asynchronous copy, is complete when dlp_plan_wait_output(ticket) returns.
 * Lets the next batch be queued before this one's features are back. */
dlp_status dlp_plan_read_output_async(const dlp_plan *plan, int output, float *dst, size_t capacity_floats,
                                      uint64_t *ticket);
dlp_status dlp_plan_wait_output(const dlp_plan *plan, uint64_t ticket);

#endif

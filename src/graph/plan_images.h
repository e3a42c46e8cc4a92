/* plan_images.h: running a plan on a packed batch of decoded RGB8 images
 * (image/pack.h) on a backend that resizes and normalizes them itself (the
 * CUDA backend, with kernels/preprocess.cu), so the CPU only decodes. The
 * input it makes is what dlp_image_resize_float makes, bit for bit. */
#ifndef DLP_SRC_GRAPH_PLAN_IMAGES_H
#define DLP_SRC_GRAPH_PLAN_IMAGES_H

#include <stdbool.h>
#include <stdint.h>

#include "dlp/graph.h"
#include "image/pack.h"

/* Whether dlp_plan_run_images works on this plan (its backend resizes, its input has 3 channels). */
bool dlp_plan_takes_images(const dlp_plan *plan);

/* Like dlp_plan_run with n = layout->count, the input being the images
 * resized to the plan's input size with method and normalized. packed (at
 * least layout->total_bytes) must stay untouched until the plan's outputs
 * have been read (the copy may still be in flight until then). */
dlp_status dlp_plan_run_images(dlp_plan *plan, const uint8_t *packed, const dlp_image_pack_layout *layout,
                               dlp_resize method, dlp_normalize normalize);

#endif

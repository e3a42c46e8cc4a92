/* test_preprocess_cuda.c: the batched GPU resize + normalize
 * (kernels/preprocess.cu) against the CPU dlp_image_resize_float, image by
 * image: 37 random images of different sizes (1x1, thin, smaller and larger
 * than the output), every method x normalization, into an output poisoned
 * with NaN first. Expected: bit-identical (the kernel runs the per-pixel code
 * unit.resize_pixel checks on the host, with fused multiply-adds ruled out);
 * the largest difference is printed either way. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "backend/cuda/preprocess.h"
#include "check.h"
#include "dlp/device.h"
#include "dlp/image.h"

enum { image_count = 37 };

static uint32_t random_state = 2024u;

static uint32_t next_random(void)
{
    random_state = random_state * 1664525u + 1013904223u;
    return random_state >> 8;
}

static void make_images(dlp_image *images)
{
    for (int i = 0; i < image_count; i++) {
        int height = 1 + (int)(next_random() % 400), width = 1 + (int)(next_random() % 400);
        if (i == 0) height = width = 1;
        if (i == 1) height = 1, width = 333;
        if (i == 2) height = 517, width = 2;
        images[i].height = height;
        images[i].width = width;
        size_t bytes = (size_t)height * (size_t)width * 3;
        images[i].pixels = malloc(bytes);
        for (size_t j = 0; j < bytes; j++) images[i].pixels[j] = (uint8_t)next_random();
    }
}

static void compare(const dlp_image *images, int out_h, int out_w, dlp_resize method, dlp_normalize normalize)
{
    size_t per_image = (size_t)out_h * (size_t)out_w * 3, total = per_image * image_count;
    float *gpu = malloc(total * sizeof *gpu), *cpu = malloc(per_image * sizeof *cpu);
    for (size_t i = 0; i < total; i++) gpu[i] = NAN;
    CHECK_OK(dlp_cuda_preprocess_images(0, images, image_count, out_h, out_w, method, normalize, gpu));
    size_t mismatches = 0;
    double max_difference = 0.0;
    for (int b = 0; b < image_count; b++) {
        CHECK_OK(dlp_image_resize_float(&images[b], out_h, out_w, method, normalize, cpu));
        const float *got = gpu + (size_t)b * per_image;
        for (size_t i = 0; i < per_image; i++) {
            double difference = fabs((double)got[i] - (double)cpu[i]);
            if (!(difference <= max_difference)) max_difference = isnan(difference) ? INFINITY : difference;
            if (!(got[i] == cpu[i])) {
                if (mismatches < 5)
                    fprintf(stderr, "image %d (%dx%d) value %zu: gpu %.9g, cpu %.9g\n", b, images[b].height,
                            images[b].width, i, got[i], cpu[i]);
                mismatches++;
            }
        }
    }
    printf("%s/%s to %dx%d: %zu of %zu values differ, max |gpu - cpu| %g\n", dlp_resize_name(method),
           dlp_normalize_name(normalize), out_h, out_w, mismatches, total, max_difference);
    CHECK(mismatches == 0);
    free(cpu);
    free(gpu);
}

int main(void)
{
    check_skip_without_cuda();
    dlp_image images[image_count];
    make_images(images);
    static const int sizes[][2] = {{224, 224}, {299, 299}, {17, 5}, {1, 1}};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
        for (int method = 0; method < 3; method++)
            for (int normalize = 0; normalize < 3; normalize++)
                compare(images, sizes[s][0], sizes[s][1], (dlp_resize)method, (dlp_normalize)normalize);
    float unused = 0.0f;
    CHECK_FAILS(dlp_cuda_preprocess_images(0, images, image_count, 8, 8, (dlp_resize)7, DLP_NORMALIZE_NONE, &unused),
                DLP_ERR_INVALID_ARGUMENT, "unknown resize method 7");
    CHECK_FAILS(dlp_cuda_preprocess_images(0, images, image_count, 0, 8, DLP_RESIZE_AREA, DLP_NORMALIZE_NONE, &unused),
                DLP_ERR_INVALID_ARGUMENT, "output 0x8");
    int device_count = 0;
    CHECK_OK(dlp_device_count(&device_count));
    CHECK_FAILS(dlp_cuda_preprocess_images(device_count, images, 1, 8, 8, DLP_RESIZE_AREA, DLP_NORMALIZE_NONE, &unused),
                DLP_ERR_DEVICE, "expected 0..");
    for (int i = 0; i < image_count; i++) dlp_image_free(&images[i]);
    return check_summary("preprocess_cuda");
}

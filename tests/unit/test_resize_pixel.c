/* test_resize_pixel.c: the per-pixel resize of src/image/resize_pixel.h (the
 * math of the GPU preprocess kernel) against dlp_image_resize_float, the CPU
 * path that unit.image_resize checks against TensorFlow's fixtures. Every
 * output value of every shape, method and normalization must be bit-identical
 * (tolerance 0: the header repeats resize.c's float operations in order). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "dlp/image.h"
#include "image/resize_pixel.h"

static uint32_t random_state = 12345u;

static uint32_t next_random(void)
{
    random_state = random_state * 1664525u + 1013904223u;
    return random_state >> 8;
}

static int random_between(int low, int high) { return low + (int)(next_random() % (uint32_t)(high - low + 1)); }

static uint8_t *random_pixels(int height, int width)
{
    size_t count = (size_t)height * (size_t)width * 3;
    uint8_t *pixels = malloc(count);
    for (size_t i = 0; i < count; i++) pixels[i] = (uint8_t)next_random();
    return pixels;
}

/* Counts the values that differ (bitwise, via ==; NaN would count too). */
static size_t compare_shape(int in_h, int in_w, int out_h, int out_w, double *max_difference)
{
    dlp_image image = {in_w, in_h, random_pixels(in_h, in_w)};
    dlp_resize_source source = {image.pixels, in_h, in_w};
    size_t count = (size_t)out_h * (size_t)out_w * 3, mismatches = 0;
    float *expected = malloc(count * sizeof *expected);
    for (int method = 0; method < 3; method++)
        for (int normalize = 0; normalize < 3; normalize++) {
            CHECK_OK(dlp_image_resize_float(&image, out_h, out_w, (dlp_resize)method, (dlp_normalize)normalize,
                                            expected));
            for (int y = 0; y < out_h; y++)
                for (int x = 0; x < out_w; x++) {
                    float actual[3];
                    dlp_resize_pixel(source, out_h, out_w, (dlp_resize)method, (dlp_normalize)normalize, y, x, actual);
                    const float *want = expected + ((size_t)y * out_w + x) * 3;
                    for (int c = 0; c < 3; c++) {
                        double difference = fabs((double)actual[c] - (double)want[c]);
                        if (difference > *max_difference) *max_difference = difference;
                        if (!(actual[c] == want[c])) {
                            if (mismatches < 5)
                                fprintf(stderr, "%dx%d -> %dx%d %s/%s (%d,%d,%d): %.9g, expected %.9g\n", in_h, in_w,
                                        out_h, out_w, dlp_resize_name((dlp_resize)method),
                                        dlp_normalize_name((dlp_normalize)normalize), y, x, c, actual[c], want[c]);
                            mismatches++;
                        }
                    }
                }
        }
    free(expected);
    free(image.pixels);
    return mismatches;
}

int main(void)
{
    /* Edge shapes: 1x1 both ways, very thin, exact multiples, odd ratios,
     * the zoo input sizes from typical photo sizes. */
    static const int fixed[][4] = {
        {1, 1, 1, 1},     {1, 1, 5, 7},     {5, 7, 1, 1},     {1, 200, 17, 5},  {200, 1, 3, 9},
        {1, 31, 1, 7},    {31, 1, 64, 1},   {7, 3, 3, 7},     {3, 7, 7, 3},     {8, 8, 4, 4},
        {4, 4, 8, 8},     {9, 9, 6, 6},     {6, 6, 9, 9},     {2, 3, 3, 2},     {333, 500, 299, 299},
        {480, 640, 224, 224}, {97, 61, 224, 224}, {1000, 13, 11, 29}, {13, 1000, 29, 11},
    };
    double max_difference = 0.0;
    size_t mismatches = 0, shapes = 0;
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++, shapes++)
        mismatches += compare_shape(fixed[i][0], fixed[i][1], fixed[i][2], fixed[i][3], &max_difference);
    /* Random shapes, up and down, both sides independent. */
    for (int i = 0; i < 150; i++, shapes++) {
        int in_h = random_between(1, 90), in_w = random_between(1, 90);
        int out_h = random_between(1, 70), out_w = random_between(1, 70);
        mismatches += compare_shape(in_h, in_w, out_h, out_w, &max_difference);
    }
    printf("%zu shapes x 3 methods x 3 normalizations: %zu values differ, max |difference| %g\n", shapes, mismatches,
           max_difference);
    CHECK(mismatches == 0);
    CHECK(max_difference == 0.0);
    return check_summary("resize_pixel");
}

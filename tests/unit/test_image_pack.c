/* test_image_pack.c: the batch packing of src/image/pack.h: offsets are the
 * running sums of height*width*3, the packed bytes are each image's bytes,
 * sizes beyond the image limits and short buffers are refused. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "dlp/image.h"
#include "image/pack.h"

static void check_layout_and_copy(void)
{
    enum { count = 7 };
    static const int sizes[count][2] = {{1, 1}, {3, 5}, {5, 3}, {1, 200}, {200, 1}, {17, 31}, {2, 2}};
    dlp_image images[count];
    size_t expected_total = 0;
    for (int i = 0; i < count; i++) {
        images[i].height = sizes[i][0];
        images[i].width = sizes[i][1];
        size_t bytes = (size_t)sizes[i][0] * (size_t)sizes[i][1] * 3;
        images[i].pixels = malloc(bytes);
        for (size_t j = 0; j < bytes; j++) images[i].pixels[j] = (uint8_t)(j * 7 + (size_t)i * 31);
        expected_total += bytes;
    }
    dlp_image_pack_layout layout;
    CHECK_OK(dlp_image_pack_layout_create(images, count, &layout));
    CHECK(layout.count == count);
    CHECK(layout.total_bytes == expected_total);
    size_t running = 0;
    for (int i = 0; i < count; i++) {
        CHECK(layout.offsets[i] == running);
        CHECK(layout.heights[i] == sizes[i][0] && layout.widths[i] == sizes[i][1]);
        running += (size_t)sizes[i][0] * (size_t)sizes[i][1] * 3;
    }
    uint8_t *buffer = malloc(layout.total_bytes);
    CHECK_FAILS(dlp_image_pack_copy(images, &layout, buffer, layout.total_bytes - 1), DLP_ERR_INVALID_ARGUMENT,
                "the batch needs");
    CHECK_OK(dlp_image_pack_copy(images, &layout, buffer, layout.total_bytes));
    for (int i = 0; i < count; i++) {
        size_t bytes = (size_t)sizes[i][0] * (size_t)sizes[i][1] * 3;
        CHECK(!memcmp(buffer + layout.offsets[i], images[i].pixels, bytes));
    }
    /* An image that changed size since the layout was made is refused. */
    images[2].width = 2;
    CHECK_FAILS(dlp_image_pack_copy(images, &layout, buffer, layout.total_bytes), DLP_ERR_INVALID_ARGUMENT,
                "image 2 is 2x5, the layout says 3x5");
    free(buffer);
    dlp_image_pack_layout_free(&layout);
    CHECK(layout.offsets == NULL && layout.count == 0);
    for (int i = 0; i < count; i++) free(images[i].pixels);
}

static void check_refusals(void)
{
    /* The layout never reads pixels, so one byte stands in for big images. */
    uint8_t byte = 0;
    dlp_image_pack_layout layout;
    dlp_image images[2] = {{4, 4, &byte}, {0, 0, &byte}};
    struct { int width, height; dlp_status status; const char *needle; } cases[] = {
        {0, 5, DLP_ERR_LIMIT, "image 1 is 0x5"},
        {5, 0, DLP_ERR_LIMIT, "image 1 is 5x0"},
        {-3, 5, DLP_ERR_LIMIT, "image 1 is -3x5"},
        {DLP_IMAGE_MAX_SIDE + 1, 1, DLP_ERR_LIMIT, "image 1 is 65536x1"},
        {1, DLP_IMAGE_MAX_SIDE + 1, DLP_ERR_LIMIT, "image 1 is 1x65536"},
        {20000, 20000, DLP_ERR_LIMIT, "at most 268435456 pixels"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        images[1].width = cases[i].width;
        images[1].height = cases[i].height;
        CHECK_FAILS(dlp_image_pack_layout_create(images, 2, &layout), cases[i].status, cases[i].needle);
        CHECK(layout.offsets == NULL);
    }
    /* The largest allowed sizes pass: 65535 x 4096 = 268431360 <= 2^28. */
    images[1].width = DLP_IMAGE_MAX_SIDE;
    images[1].height = 4096;
    CHECK_OK(dlp_image_pack_layout_create(images, 2, &layout));
    CHECK(layout.total_bytes == 48 + (size_t)DLP_IMAGE_MAX_SIDE * 4096 * 3);
    dlp_image_pack_layout_free(&layout);
    images[1].pixels = NULL;
    images[1].width = images[1].height = 2;
    CHECK_FAILS(dlp_image_pack_layout_create(images, 2, &layout), DLP_ERR_INVALID_ARGUMENT, "image 1 has no pixels");
    CHECK_FAILS(dlp_image_pack_layout_create(NULL, 2, &layout), DLP_ERR_INVALID_ARGUMENT, "NULL argument");
    /* An empty batch is an empty layout. */
    CHECK_OK(dlp_image_pack_layout_create(NULL, 0, &layout));
    CHECK(layout.count == 0 && layout.total_bytes == 0);
    CHECK_OK(dlp_image_pack_copy(NULL, &layout, NULL, 0));
    dlp_image_pack_layout_free(&layout);
}

int main(void)
{
    check_layout_and_copy();
    check_refusals();
    return check_summary("image_pack");
}

/* The GPU JPEG reconstruction (src/backend/cuda/jpeg.h, kernels/jpeg.cu) on
 * a device: for every JPEG the split covers among the decoding fixtures and
 * the 48 Pillow variants (as unit.jpeg_coefficients), the RGB that comes
 * back is TurboJPEG's (dlp_image_decode) byte for byte, over an output
 * poisoned first; a device index past the last is refused. And a batch as
 * the featurizer ships it (the JPEG split, its default): every decoding fixture and
 * variant through the decode stream with jpeg_split (PACKED, one batch), so
 * the covered JPEGs are records among other images' pixels, through the
 * image stage's copy and batch kernels: the device's buffer is the host
 * twin's (dlp_jpeg_batch_reconstruct) byte for byte, over a poisoned
 * reconstruction area, and each image in it is dlp_image_decode's. Skips
 * without a usable GPU. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cuda/jpeg.h"
#include "check.h"
#include "dlp/dlp.h"
#include "image/jpeg_coefficients.h"
#include "image/jpeg_record.h"
#include "ml/decode_stream.h"

static int covered, exact;

static void check_file(const char *path, const char *name, void *context)
{
    (void)name, (void)context;
    size_t size = 0;
    uint8_t *bytes = check_read_file(path, &size);
    dlp_jpeg_coefficients coefficients;
    if (!bytes || dlp_jpeg_read_coefficients(bytes, size, NULL, 0, &coefficients) != DLP_OK) {
        free(bytes);
        return;
    }
    covered++;
    dlp_image want = {0};
    CHECK_OK(dlp_image_decode(bytes, size, &want));
    size_t values = (size_t)coefficients.width * (size_t)coefficients.height * 3;
    uint8_t *got = malloc(values);
    if (got && want.pixels) {
        memset(got, 0xA5, values);
        CHECK_OK(dlp_cuda_jpeg_reconstruct(0, &coefficients, got));
        size_t differ = 0;
        for (size_t i = 0; i < values; i++) differ += got[i] != want.pixels[i];
        exact += differ == 0;
        if (differ) fprintf(stderr, "  %s: %zu of %zu values differ from TurboJPEG's\n", path, differ, values);
    }
    free(got);
    dlp_image_free(&want);
    dlp_jpeg_coefficients_free(&coefficients);
    free(bytes);
}

static void add_file(const char *path, const char *name, void *context)
{
    (void)name;
    CHECK_OK(dlp_dataset_add(context, path, 0));
}

static void check_batch(const dlp_dataset *dataset, const dlp_decoded_batch *b)
{
    const dlp_image_pack_layout *l = &b->layout;
    size_t span = l->total_bytes + l->reconstructed_bytes;
    uint8_t *host = malloc(span), *device = malloc(span);
    if (!host || !device) {
        CHECK(false);
        free(host);
        free(device);
        return;
    }
    memcpy(host, b->packed, l->total_bytes);
    memset(host + l->total_bytes, 0x5A, l->reconstructed_bytes);
    memset(device, 0xA5, span);
    CHECK_OK(dlp_jpeg_batch_reconstruct(b->packed, l, host));
    CHECK_OK(dlp_cuda_jpeg_batch_reconstruct(0, b->packed, l, device));
    size_t differ = 0, images_right = 0;
    for (size_t i = 0; i < span; i++) differ += host[i] != device[i];
    for (size_t i = 0; i < b->network_count; i++) {
        dlp_row row;
        dlp_image want = {0};
        size_t size = 0;
        CHECK_OK(dlp_dataset_row(dataset, b->first + b->network_slots[i], &row));
        uint8_t *bytes = check_read_file(row.origin, &size);
        if (bytes && dlp_image_decode(bytes, size, &want) == DLP_OK && want.width == l->widths[i] &&
            want.height == l->heights[i])
            images_right += memcmp(device + l->offsets[i], want.pixels, (size_t)want.width * want.height * 3) == 0;
        dlp_image_free(&want);
        free(bytes);
    }
    printf("split batch: %zu images (%zu as records, %zu blocks), device vs host twin: %zu of %zu bytes differ; "
           "%zu images equal to dlp_image_decode\n", b->network_count, l->jpeg_count, l->jpeg_blocks, differ, span,
           images_right);
    CHECK(l->jpeg_count == 53 && differ == 0 && images_right == b->network_count);
    free(host);
    free(device);
}

static void check_split_batch(void)
{
    dlp_dataset *dataset = NULL;
    CHECK_OK(dlp_dataset_create(&dataset));
    char folder[1100];
    snprintf(folder, sizeof folder, "%s/decode", check_env("DLP_FIXTURES"));
    check_each_file(folder, ".jpg", add_file, dataset);
    check_each_file(folder, ".png", add_file, dataset);
    snprintf(folder, sizeof folder, "%s/jpeg_variants", check_env("DLP_FIXTURES"));
    check_each_file(folder, ".jpg", add_file, dataset);
    size_t rows = dlp_dataset_size(dataset);
    dlp_thread_pool *pool = NULL;
    CHECK_OK(dlp_thread_pool_create(4, &pool));
    dlp_decode_stream_options options = {.batch_size = rows, .ring = 1, .output = DLP_DECODE_PACKED, .out_h = 8,
                                         .out_w = 8, .resize = DLP_RESIZE_BILINEAR, .normalize = DLP_NORMALIZE_TF,
                                         .pinned_device = 0, .jpeg_split = true};
    dlp_decode_stream *stream = NULL;
    CHECK_OK(dlp_decode_stream_start(pool, dataset, 0, rows, &options, &stream));
    dlp_decoded_batch *batch = NULL;
    if (stream) CHECK_OK(dlp_decode_stream_next(stream, &batch));
    if (batch) {
        check_batch(dataset, batch);
        dlp_decode_stream_release(stream, batch);
    }
    dlp_decode_stream_destroy(stream);
    dlp_thread_pool_destroy(pool);
    dlp_dataset_destroy(dataset);
}

int main(void)
{
    check_skip_without_cuda();
    char folder[1100];
    snprintf(folder, sizeof folder, "%s/decode", check_env("DLP_FIXTURES"));
    check_each_file(folder, ".jpg", check_file, NULL);
    snprintf(folder, sizeof folder, "%s/jpeg_variants", check_env("DLP_FIXTURES"));
    check_each_file(folder, ".jpg", check_file, NULL);
    printf("GPU reconstruction: %d of %d covered files exact\n", exact, covered);
    CHECK(covered == 53 && exact == covered);
    int device_count = 0;
    CHECK_OK(dlp_device_count(&device_count));
    dlp_jpeg_coefficients none = {0};
    uint8_t unused = 0;
    CHECK_FAILS(dlp_cuda_jpeg_reconstruct(device_count, &none, &unused), DLP_ERR_DEVICE, "expected 0..");
    check_split_batch();
    return check_summary("jpeg_cuda");
}

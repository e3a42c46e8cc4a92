/* The GPU JPEG reconstruction (src/backend/cuda/jpeg.h, kernels/jpeg.cu) on
 * a device: for every JPEG the split covers among the decoding fixtures and
 * the 48 Pillow variants (as unit.jpeg_coefficients), the RGB that comes
 * back is TurboJPEG's (dlp_image_decode) byte for byte, over an output
 * poisoned first; a device index past the last is refused. Skips without a
 * usable GPU. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cuda/jpeg.h"
#include "check.h"
#include "dlp/dlp.h"
#include "image/jpeg_coefficients.h"

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
    return check_summary("jpeg_cuda");
}

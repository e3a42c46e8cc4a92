/* The JPEG split of src/image/jpeg_coefficients.h against libjpeg-turbo's
 * own decode: for every JPEG it covers, dlp_jpeg_reconstruct of
 * dlp_jpeg_read_coefficients is TurboJPEG's RGB (dlp_image_decode) byte for
 * byte, read into the heap or into the caller's room, and so are the GPU
 * kernels' per-thread items (image/jpeg_pixel.h) run on the host over the
 * room as the kernels index it. The files: the decoding fixtures (tests/fixtures/decode: baseline
 * 4:2:0, 4:2:2, 4:4:4, optimized Huffman tables, progressive) and 48 small
 * ones from Pillow (tests/fixtures/jpeg_variants, tests/oracle/
 * jpeg_variants_oracle.py: sides of 1, 2, 3, 5, 7, 9, 17, 24, 29, 31, 33,
 * 37 and 40 samples in each sampling, baseline and progressive, qualities
 * 30, 75 and 100). Refused: grayscale, CMYK and YCCK (DLP_ERR_UNSUPPORTED),
 * the 65500x65500 header (DLP_ERR_LIMIT, before any coefficient is read),
 * the fuzzer's short scan, a file cut in half (DLP_ERR_FORMAT: libjpeg
 * warns), a progressive file of its DC scan only (legal, but libjpeg
 * smooths such blocks: DLP_ERR_UNSUPPORTED), and the fuzzer's file whose
 * coefficients no 8-bit image gives (DLP_ERR_UNSUPPORTED). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "dlp/dlp.h"
#include "image/jpeg_coefficients.h"
#include "image/jpeg_pixel.h"

static int exact_files, covered_files, items_exact;

/* The GPU kernels' items (image/jpeg_pixel.h), every one run on the host
 * over the room as the kernels index it: TurboJPEG's RGB again. The layout
 * puts each component's blocks and samples after the one before. */
static void check_items(const int16_t *room, const dlp_jpeg_coefficients *read, const dlp_image *want)
{
    dlp_jpeg_layout layout;
    dlp_jpeg_layout_of(read, &layout);
    size_t blocks = 0;
    for (int c = 0; c < 3; c++) {
        CHECK(layout.first_block[c] == blocks && layout.plane_offset[c] == blocks * 64);
        blocks += (size_t)read->component[c].width_in_blocks * (size_t)read->component[c].height_in_blocks;
    }
    CHECK(layout.total_blocks == blocks && layout.total_samples == blocks * 64);
    uint16_t quant[3 * 64];
    for (int c = 0; c < 3; c++) memcpy(quant + c * 64, read->component[c].quant, sizeof read->component[c].quant);
    size_t pixels = (size_t)layout.width * (size_t)layout.height;
    uint8_t *samples = malloc(layout.total_samples), *rgb = malloc(pixels * 3);
    if (samples && rgb) {
        for (size_t i = 0; i < layout.total_blocks; i++) dlp_jpeg_idct_item(room, quant, &layout, samples, i);
        for (size_t i = 0; i < pixels; i++) dlp_jpeg_pixel_item(samples, &layout, rgb, i);
        CHECK(memcmp(rgb, want->pixels, pixels * 3) == 0);
        items_exact += memcmp(rgb, want->pixels, pixels * 3) == 0;
    }
    free(samples);
    free(rgb);
}

/* The same file read into a room of exactly its blocks: the same blocks, there; one block short: on the heap. */
static void check_room(const uint8_t *bytes, size_t size, const dlp_jpeg_coefficients *heap, const dlp_image *want)
{
    size_t blocks = 0;
    for (int c = 0; c < 3; c++)
        blocks += (size_t)heap->component[c].width_in_blocks * (size_t)heap->component[c].height_in_blocks;
    int16_t *room = malloc(blocks * 64 * sizeof(int16_t));
    for (size_t room_blocks = blocks; room && room_blocks + 1 >= blocks; room_blocks--) {
        dlp_jpeg_coefficients read;
        CHECK_OK(dlp_jpeg_read_coefficients(bytes, size, room, room_blocks, &read));
        CHECK(read.in_room == (room_blocks == blocks) && (room_blocks == blocks) == (read.component[0].blocks == room));
        size_t at = 0;
        for (int c = 0; c < 3; c++) {
            size_t values = (size_t)heap->component[c].width_in_blocks * heap->component[c].height_in_blocks * 64;
            CHECK(memcmp(read.component[c].blocks, heap->component[c].blocks, values * sizeof(int16_t)) == 0);
            if (read.in_room) CHECK(read.component[c].blocks == room + at);
            at += values;
        }
        if (read.in_room) check_items(room, &read, want);
        dlp_jpeg_coefficients_free(&read);
    }
    free(room);
}

/* Reconstructs path's coefficients; status what dlp_jpeg_read_coefficients returned. */
static dlp_status check_file(const char *path)
{
    size_t size = 0;
    uint8_t *bytes = check_read_file(path, &size);
    if (!bytes) return DLP_ERR_IO;
    dlp_jpeg_coefficients coefficients;
    dlp_status status = dlp_jpeg_read_coefficients(bytes, size, NULL, 0, &coefficients);
    if (status == DLP_OK) {
        covered_files++;
        dlp_image want = {0};
        CHECK_OK(dlp_image_decode(bytes, size, &want));
        size_t values = (size_t)coefficients.width * (size_t)coefficients.height * 3;
        uint8_t *got = malloc(values);
        CHECK(got && want.width == coefficients.width && want.height == coefficients.height);
        if (got && want.pixels && want.width == coefficients.width && want.height == coefficients.height) {
            CHECK_OK(dlp_jpeg_reconstruct(&coefficients, got));
            size_t differ = 0;
            for (size_t i = 0; i < values; i++) differ += got[i] != want.pixels[i];
            exact_files += differ == 0;
            if (differ) fprintf(stderr, "  %s: %zu of %zu values differ from TurboJPEG's\n", path, differ, values);
        }
        free(got);
        if (want.pixels) check_room(bytes, size, &coefficients, &want);
        dlp_image_free(&want);
        dlp_jpeg_coefficients_free(&coefficients);
    }
    free(bytes);
    return status;
}

static void check_folder(const char *folder, int *count)
{
    DIR *dir = opendir(folder);
    CHECK(dir != NULL);
    struct dirent *entry;
    while (dir && (entry = readdir(dir))) {
        size_t length = strlen(entry->d_name);
        if (length < 5 || strcmp(entry->d_name + length - 4, ".jpg") != 0) continue;
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", folder, entry->d_name);
        dlp_status status = check_file(path);
        (*count)++;
        /* Covered, or refused for what the file is. */
        bool grey = strstr(entry->d_name, "gray") != NULL;
        bool cmyk = strstr(entry->d_name, "cmyk") || strstr(entry->d_name, "ycck");
        if (grey || cmyk) CHECK(status == DLP_ERR_UNSUPPORTED);
        else if (strstr(entry->d_name, "huge_")) CHECK(status == DLP_ERR_LIMIT);
        else if (strstr(entry->d_name, "fuzz_")) CHECK(status != DLP_OK);
        else CHECK(status == DLP_OK);
        if (status != DLP_OK) printf("  %s: %s\n", entry->d_name, dlp_last_error());
    }
    if (dir) closedir(dir);
}

/* The first half of a covered file: libjpeg decodes around the missing data and warns. */
static void check_truncated(const char *path)
{
    size_t size = 0;
    uint8_t *bytes = check_read_file(path, &size);
    dlp_jpeg_coefficients coefficients;
    if (bytes)
        CHECK_FAILS(dlp_jpeg_read_coefficients(bytes, size / 2, NULL, 0, &coefficients), DLP_ERR_FORMAT, "JPEG: ");
    if (bytes) CHECK(coefficients.component[0].blocks == NULL);
    free(bytes);
}

/* A progressive file cut after its first scan (DC only) and closed with EOI:
 * legal, TurboJPEG decodes it (smoothing the blocks), the split refuses it. */
static void check_dc_only(const char *path)
{
    size_t size = 0;
    uint8_t *bytes = check_read_file(path, &size);
    size_t cut = 0;
    for (size_t i = 0, scans = 0; bytes && i + 1 < size && !cut; i++)
        if (bytes[i] == 0xFF && bytes[i + 1] == 0xDA && ++scans == 2) cut = i;
    CHECK(cut > 0);
    if (cut) {
        bytes[cut] = 0xFF, bytes[cut + 1] = 0xD9;
        dlp_image image = {0};
        CHECK_OK(dlp_image_decode(bytes, cut + 2, &image));
        dlp_image_free(&image);
        dlp_jpeg_coefficients coefficients;
        CHECK_FAILS(dlp_jpeg_read_coefficients(bytes, cut + 2, NULL, 0, &coefficients), DLP_ERR_UNSUPPORTED,
                    "libjpeg smooths");
    }
    free(bytes);
}

int main(void)
{
    char decode[1100], variants[1100], baseline[1200];
    snprintf(decode, sizeof decode, "%s/decode", check_env("DLP_FIXTURES"));
    snprintf(variants, sizeof variants, "%s/jpeg_variants", check_env("DLP_FIXTURES"));
    int decode_count = 0, variant_count = 0;
    check_folder(decode, &decode_count);
    int decode_covered = covered_files;
    check_folder(variants, &variant_count);
    printf("decoding fixtures: %d JPEGs, %d covered; variants: %d, %d covered; %d of %d covered files exact\n",
           decode_count, decode_covered, variant_count, covered_files - decode_covered, exact_files, covered_files);
    CHECK(decode_covered == 5 && variant_count == 48 && covered_files == decode_covered + 48);
    CHECK(exact_files == covered_files && items_exact == covered_files);
    printf("the GPU kernels' items on the host: %d of %d covered files exact\n", items_exact, covered_files);
    snprintf(baseline, sizeof baseline, "%s/baseline_420.jpg", decode);
    check_truncated(baseline);
    snprintf(baseline, sizeof baseline, "%s/progressive_420.jpg", decode);
    check_dc_only(baseline);
    /* fuzz_jpeg_split's first find: a 4:2:2 file whose corrupt coefficients drive the IDCT far past the samples'
     * range, where TurboJPEG's SIMD code and libjpeg's table disagree; TurboJPEG decodes it without a warning. */
    snprintf(baseline, sizeof baseline, "%s/jpeg_refused/fuzz_out_of_range_33x31.jpg", check_env("DLP_FIXTURES"));
    size_t size = 0;
    uint8_t *bytes = check_read_file(baseline, &size);
    dlp_jpeg_coefficients coefficients;
    dlp_image image = {0};
    if (bytes) CHECK_OK(dlp_image_decode(bytes, size, &image));
    if (bytes)
        CHECK_FAILS(dlp_jpeg_read_coefficients(bytes, size, NULL, 0, &coefficients), DLP_ERR_UNSUPPORTED,
                    "no 8-bit image gives");
    dlp_image_free(&image);
    free(bytes);
    return check_summary("jpeg_coefficients");
}

/* The JPEG split of src/image/jpeg_coefficients.h against libjpeg-turbo's
 * own decode: for every JPEG it covers, dlp_jpeg_reconstruct of
 * dlp_jpeg_read_coefficients is TurboJPEG's RGB (dlp_image_decode) byte for
 * byte, the coefficients read to the heap or into the caller's room (laid
 * out as dlp_jpeg_layout_of says). dlp_jpeg_reconstruct runs the GPU
 * kernels' per-thread items (image/jpeg_pixel.h), so this checks their
 * arithmetic and indexing on the host. The files: the decoding fixtures (tests/fixtures/decode: baseline
 * 4:2:0, 4:2:2, 4:4:4, optimized Huffman tables, progressive) and 48 small
 * ones from Pillow (tests/fixtures/jpeg_variants, tests/oracle/
 * jpeg_variants_oracle.py: sides of 1, 2, 3, 5, 7, 9, 17, 24, 29, 31, 33,
 * 37 and 40 samples in each sampling, baseline and progressive, qualities
 * 30, 75 and 100). Refused: grayscale, CMYK and YCCK (DLP_ERR_UNSUPPORTED),
 * the 65500x65500 header (DLP_ERR_LIMIT, before any coefficient is read),
 * the fuzzer's short scan, a file cut in half (DLP_ERR_FORMAT: libjpeg
 * warns), a progressive file of its DC scan only (legal, but libjpeg
 * smooths such blocks: DLP_ERR_UNSUPPORTED), and the fuzzer's file whose
 * coefficients no 8-bit image gives (DLP_ERR_UNSUPPORTED). The reader's
 * range check, plain and AVX2, against its rule on 200,000 random blocks
 * around each limit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "dlp/dlp.h"
#include "image/jpeg_coefficients.h"

static int exact_files, covered_files, room_exact;

/* Whether coefficients reconstruct to want's pixels byte for byte (path names a miss). */
static bool reconstructs_exactly(const dlp_jpeg_coefficients *coefficients, const dlp_image *want, const char *path)
{
    size_t values = (size_t)coefficients->width * (size_t)coefficients->height * 3;
    uint8_t *got = malloc(values);
    CHECK(got && want->width == coefficients->width && want->height == coefficients->height);
    size_t differ = values;
    if (got && want->width == coefficients->width && want->height == coefficients->height) {
        CHECK_OK(dlp_jpeg_reconstruct(coefficients, got));
        differ = 0;
        for (size_t i = 0; i < values; i++) differ += got[i] != want->pixels[i];
        if (differ) fprintf(stderr, "  %s: %zu of %zu values differ from TurboJPEG's\n", path, differ, values);
    }
    free(got);
    return differ == 0;
}

/* The same file read into a room of exactly its blocks: the same blocks, there, laid out as the kernels index
 * them, and TurboJPEG's pixels again; one block short: on the heap. */
static void check_room(const uint8_t *bytes, size_t size, const dlp_jpeg_coefficients *heap, const dlp_image *want,
                       const char *path)
{
    size_t blocks = 0;
    for (int c = 0; c < 3; c++)
        blocks += (size_t)heap->component[c].width_in_blocks * (size_t)heap->component[c].height_in_blocks;
    int16_t *room = malloc(blocks * 64 * sizeof(int16_t));
    for (size_t room_blocks = blocks; room && room_blocks + 1 >= blocks; room_blocks--) {
        dlp_jpeg_coefficients read;
        CHECK_OK(dlp_jpeg_read_coefficients(bytes, size, room, room_blocks, &read));
        CHECK(read.in_room == (room_blocks == blocks) && (room_blocks == blocks) == (read.component[0].blocks == room));
        dlp_jpeg_layout layout;
        dlp_jpeg_layout_of(&read, &layout);
        size_t at = 0;
        for (int c = 0; c < 3; c++) {
            size_t values = (size_t)heap->component[c].width_in_blocks * heap->component[c].height_in_blocks * 64;
            CHECK(memcmp(read.component[c].blocks, heap->component[c].blocks, values * sizeof(int16_t)) == 0);
            CHECK(layout.first_block[c] == at / 64 && layout.plane_offset[c] == at);
            if (read.in_room) CHECK(read.component[c].blocks == room + at);
            at += values;
        }
        CHECK(layout.total_blocks == blocks && layout.total_samples == blocks * 64);
        if (read.in_room) room_exact += reconstructs_exactly(&read, want, path);
        dlp_jpeg_coefficients_free(&read);
    }
    free(room);
}

/* A file of a folder: covered and reconstructed exactly, or refused for what it is. */
static void check_file(const char *path, const char *name, void *context)
{
    (void)context;
    size_t size = 0;
    uint8_t *bytes = check_read_file(path, &size);
    CHECK(bytes != NULL);
    if (!bytes) return;
    dlp_jpeg_coefficients coefficients;
    dlp_status status = dlp_jpeg_read_coefficients(bytes, size, NULL, 0, &coefficients);
    if (status == DLP_OK) {
        covered_files++;
        dlp_image want = {0};
        CHECK_OK(dlp_image_decode(bytes, size, &want));
        if (want.pixels) {
            exact_files += reconstructs_exactly(&coefficients, &want, path);
            check_room(bytes, size, &coefficients, &want, path);
        }
        dlp_image_free(&want);
        dlp_jpeg_coefficients_free(&coefficients);
    } else {
        printf("  %s: %s\n", name, dlp_last_error());
    }
    free(bytes);
    bool grey = strstr(name, "gray") != NULL, cmyk = strstr(name, "cmyk") || strstr(name, "ycck");
    if (grey || cmyk) CHECK(status == DLP_ERR_UNSUPPORTED);
    else if (strstr(name, "huge_")) CHECK(status == DLP_ERR_LIMIT);
    else if (strstr(name, "fuzz_")) CHECK(status != DLP_OK);
    else CHECK(status == DLP_OK);
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

/* The plain block_in_range definition, written out here from its rule (not
 * the library's code): every |coefficient| x quantizer <= 2048, each
 * column's sum <= 4096, the block's <= 8192. */
static bool in_range_by_rule(const int16_t *block, const uint16_t *quant)
{
    int64_t total = 0;
    for (int column = 0; column < 8; column++) {
        int64_t sum = 0;
        for (int row = 0; row < 8; row++) {
            int64_t value = (int64_t)(block[row * 8 + column] < 0 ? -block[row * 8 + column] : block[row * 8 + column]) *
                            quant[row * 8 + column];
            if (value > 2048) return false;
            sum += value;
        }
        if (sum > 4096) return false;
        total += sum;
    }
    return total <= 8192;
}

/* Both range checks (the plain code and AVX2 where the CPU has it) agree
 * with the rule on random blocks around each limit and on the extremes. */
static void check_range_checks(void)
{
    unsigned seed = 12345;
    size_t blocks = 0, in = 0, disagree = 0;
    int16_t block[64];
    uint16_t quant[64];
    for (int trial = 0; trial < 200000; trial++) {
        int spread = (int[]){3, 12, 40, 300, 33000}[trial % 5];
        int q_max = (int[]){1, 8, 64, 255, 65535}[(trial / 5) % 5];
        int dense = rand_r(&seed) % 64 + 1;
        for (int k = 0; k < 64; k++) {
            int magnitude = rand_r(&seed) % (spread + 1);
            if (magnitude > 32767) magnitude = rand_r(&seed) % 2 ? 32767 : 32768;
            int value = rand_r(&seed) % 2 ? -magnitude : magnitude;
            block[k] = rand_r(&seed) % 64 < dense ? (int16_t)(value < -32768 ? -32768 : value > 32767 ? 32767 : value) : 0;
            quant[k] = (uint16_t)(1 + rand_r(&seed) % q_max);
        }
        /* Every tenth block pushed onto a limit: one value of 2048 or 2049, a column of 4096 or 4097. */
        if (trial % 10 == 1) {
            memset(block, 0, sizeof block);
            for (int k = 0; k < 64; k++) quant[k] = 1;
            block[rand_r(&seed) % 64] = (int16_t)(rand_r(&seed) % 2 ? 2048 : -2049);
        } else if (trial % 10 == 2) {
            memset(block, 0, sizeof block);
            for (int k = 0; k < 64; k++) quant[k] = 1;
            int column = rand_r(&seed) % 8;
            for (int row = 0; row < 8; row++) block[row * 8 + column] = 512;
            block[column] = (int16_t)(rand_r(&seed) % 2 ? 512 : -513);
            for (int c = 0; c < 8; c++) block[7 * 8 + c] = c == column ? block[7 * 8 + c] : (int16_t)(rand_r(&seed) % 2 ? 585 : 586);
        }
        bool want = in_range_by_rule(block, quant);
        bool plain = dlp_jpeg_block_in_range(block, quant, 0), vector = dlp_jpeg_block_in_range(block, quant, 1);
        disagree += plain != want || vector != want;
        in += want;
        blocks++;
    }
    printf("range checks: %zu blocks, %zu in range, %zu disagree with the rule\n", blocks, in, disagree);
    CHECK(disagree == 0 && in > blocks / 10 && in < blocks - blocks / 10);
}

int main(void)
{
    char decode[1100], variants[1100], baseline[1200];
    snprintf(decode, sizeof decode, "%s/decode", check_env("DLP_FIXTURES"));
    snprintf(variants, sizeof variants, "%s/jpeg_variants", check_env("DLP_FIXTURES"));
    size_t decode_count = check_each_file(decode, ".jpg", check_file, NULL);
    int decode_covered = covered_files;
    size_t variant_count = check_each_file(variants, ".jpg", check_file, NULL);
    printf("decoding fixtures: %zu JPEGs, %d covered; variants: %zu, %d covered; %d of %d covered files exact, "
           "%d read into a room\n", decode_count, decode_covered, variant_count, covered_files - decode_covered,
           exact_files, covered_files, room_exact);
    CHECK(decode_covered == 5 && variant_count == 48 && covered_files == decode_covered + 48);
    CHECK(exact_files == covered_files && room_exact == covered_files);
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
    check_range_checks();
    return check_summary("jpeg_coefficients");
}

/* Decoding against TensorFlow 2.18 (tests/oracle/image_oracle.py, fixtures in
 * tests/fixtures/decode/): every PNG colour type, bit depth and interlacing,
 * and baseline/progressive/grayscale/CMYK/YCCK JPEGs decode to exactly the
 * pixels of tf.io.decode_png / decode_jpeg(channels=3,
 * dct_method="INTEGER_ACCURATE") (tolerance 0; Pillow agrees too except where
 * the JSON records otherwise). The real photos in ../shared/oracle decode to
 * Pillow's pixels (checksum). Probe reports what the files were written as.
 * Bad inputs: each becomes its own error row in one dlp_image_load_batch while
 * the good rows of that batch equal decoding them alone. */
#include <jansson.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "dlp/dlp.h"
#include "image/image_internal.h"

static const char *fixtures;
static char decode_dir[1024];

static void write_all(const char *path, const void *data, size_t size)
{
    FILE *file = fopen(path, "wb");
    CHECK(file != NULL);
    if (!file) return;
    CHECK(fwrite(data, 1, size, file) == size);
    fclose(file);
}

/* A room of capacity bytes between guard bytes; declines when too small. */
typedef struct test_room {
    uint8_t *bytes;
    size_t capacity;
    int taken;
} test_room;

enum { GUARD = 64 };

static uint8_t *take_test_room(void *context, int width, int height)
{
    test_room *room = context;
    room->taken++;
    return (size_t)width * height * 3 <= room->capacity ? room->bytes + GUARD : NULL;
}

/* dlp_image_decode_into: in a room that fits, the pixels land there (guards
 * untouched); a room that declines gets malloc'ed pixels; both equal TF's. */
static void check_room(const char *path, const uint8_t *expected, size_t expected_size)
{
    size_t size = 0;
    uint8_t *data = check_read_file(path, &size);
    for (int fits = 0; fits < 2 && data; fits++) {
        test_room room = {malloc(expected_size + 2 * GUARD), fits ? expected_size : expected_size - 1, 0};
        memset(room.bytes, 0xA5, expected_size + 2 * GUARD);
        dlp_pixel_room take = {take_test_room, &room};
        dlp_image image;
        bool in_room = !fits;
        CHECK_OK(dlp_image_decode_into(data, size, &take, &image, &in_room));
        CHECK(room.taken == 1 && in_room == (fits == 1));
        CHECK(image.pixels && (image.pixels == room.bytes + GUARD) == (fits == 1));
        CHECK(image.pixels && memcmp(image.pixels, expected, expected_size) == 0);
        bool guards = true;
        for (int i = 0; i < GUARD; i++)
            guards = guards && room.bytes[i] == 0xA5 && room.bytes[GUARD + room.capacity + i] == 0xA5;
        CHECK(guards);
        if (!in_room) dlp_image_free(&image);
        /* Half a file fails whether the room was taken or not, leaking nothing. */
        CHECK(dlp_image_decode_into(data, size / 2, &take, &image, &in_room) != DLP_OK);
        free(room.bytes);
    }
    free(data);
}

static void check_against_tensorflow(json_t *entry)
{
    const char *name = json_string_value(json_object_get(entry, "file"));
    int width = (int)json_integer_value(json_object_get(entry, "width"));
    int height = (int)json_integer_value(json_object_get(entry, "height"));
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", decode_dir, json_string_value(json_object_get(entry, "expected")));
    size_t expected_size = 0;
    uint8_t *expected = check_read_file(path, &expected_size);
    CHECK(expected && expected_size == (size_t)width * height * 3);
    snprintf(path, sizeof path, "%s/%s", decode_dir, name);
    dlp_image image;
    CHECK_OK(dlp_image_read(path, &image));
    CHECK(image.width == width && image.height == height);
    int worst = 0;
    if (expected && image.pixels && image.width == width && image.height == height)
        for (size_t i = 0; i < expected_size; i++) {
            int diff = abs((int)image.pixels[i] - (int)expected[i]);
            if (diff > worst) worst = diff;
        }
    if (worst) fprintf(stderr, "%s: max diff %d against TensorFlow\n", name, worst);
    CHECK(worst == 0);
    dlp_image_free(&image);
    if (expected) check_room(path, expected, expected_size);
    free(expected);
}

/* What each file was written as (the oracle's recipe), against probe. */
typedef struct probe_case {
    const char *file;
    dlp_image_format format;
    int channels, bit_depth, progressive;
    const char *color;
} probe_case;

static const probe_case probe_cases[] = {
    {"gray1.png", DLP_IMAGE_FORMAT_PNG, 1, 1, 0, "gray"},
    {"gray16_interlaced.png", DLP_IMAGE_FORMAT_PNG, 1, 16, 1, "gray"},
    {"palette4_interlaced.png", DLP_IMAGE_FORMAT_PNG, 3, 4, 1, "palette"},
    {"rgb8.png", DLP_IMAGE_FORMAT_PNG, 3, 8, 0, "rgb"},
    {"gray_alpha16.png", DLP_IMAGE_FORMAT_PNG, 2, 16, 0, "gray+alpha"},
    {"rgba8.png", DLP_IMAGE_FORMAT_PNG, 4, 8, 0, "rgba"},
    {"baseline_420.jpg", DLP_IMAGE_FORMAT_JPEG, 3, 8, 0, "ycbcr"},
    {"progressive_420.jpg", DLP_IMAGE_FORMAT_JPEG, 3, 8, 1, "ycbcr"},
    {"gray_progressive.jpg", DLP_IMAGE_FORMAT_JPEG, 1, 8, 1, "gray"},
    {"cmyk_adobe.jpg", DLP_IMAGE_FORMAT_JPEG, 4, 8, 0, "cmyk"},
    {"cmyk_plain.jpg", DLP_IMAGE_FORMAT_JPEG, 4, 8, 0, "cmyk"},
    {"ycck.jpg", DLP_IMAGE_FORMAT_JPEG, 4, 8, 0, "ycck"},
};

static void check_probe(void)
{
    for (size_t i = 0; i < sizeof probe_cases / sizeof probe_cases[0]; i++) {
        const probe_case *want = &probe_cases[i];
        char path[1200];
        snprintf(path, sizeof path, "%s/%s", decode_dir, want->file);
        size_t size = 0;
        uint8_t *data = check_read_file(path, &size);
        dlp_image_info info;
        CHECK_OK(dlp_image_probe(data, size, &info));
        CHECK(info.format == want->format && info.channels == want->channels);
        CHECK(info.bit_depth == want->bit_depth && info.progressive == want->progressive);
        CHECK(info.color && !strcmp(info.color, want->color));
        CHECK(info.width == (want->format == DLP_IMAGE_FORMAT_PNG ? 13 : 37));
        CHECK(info.height == (want->format == DLP_IMAGE_FORMAT_PNG ? 7 : 29));
        free(data);
    }
    CHECK(!strcmp(dlp_image_format_name(DLP_IMAGE_FORMAT_JPEG), "jpeg"));
    CHECK(!strcmp(dlp_image_format_name(DLP_IMAGE_FORMAT_PNG), "png"));
}

/* The 100000x100000 PNG and 65500x65500 JPEG headers: probe reports the
 * size; decode refuses before allocating. */
static void check_limits(void)
{
    static const char *const names[] = {"huge_100000x100000.png", "huge_65500x65500.jpg"};
    static const int sides[] = {100000, 65500};
    for (int i = 0; i < 2; i++) {
        char path[1200];
        snprintf(path, sizeof path, "%s/%s", decode_dir, names[i]);
        size_t size = 0;
        uint8_t *data = check_read_file(path, &size);
        dlp_image_info info;
        CHECK_OK(dlp_image_probe(data, size, &info));
        CHECK(info.width == sides[i] && info.height == sides[i]);
        dlp_image image;
        CHECK_FAILS(dlp_image_decode(data, size, &image), DLP_ERR_LIMIT, "over the limit");
        CHECK(image.pixels == NULL);
        free(data);
    }
    dlp_image image;
    CHECK_FAILS(dlp_image_decode("", 0, &image), DLP_ERR_FORMAT, "empty");
    CHECK_FAILS(dlp_image_decode("GIF89a......", 12, &image), DLP_ERR_UNSUPPORTED, "not a JPEG or PNG");
}

/* libjpeg-turbo warnings: bytes between the last scan and EOI (Pillow and TF
 * accept the file) or between header segments decode to the clean file's
 * pixels; the libFuzzer input
 * whose scan ends early for its 65315x29 frame is refused at the first
 * warning (it took 10 s to decode fully under ASan; a regression guard). */
static void check_jpeg_warnings(void)
{
    char path[1200];
    size_t size = 0;
    snprintf(path, sizeof path, "%s/baseline_420.jpg", decode_dir);
    uint8_t *clean = check_read_file(path, &size);
    if (!clean) return;
    uint8_t *noisy = malloc(size + 3);
    memcpy(noisy, clean, size - 2);
    memcpy(noisy + size - 2, "\x12\x34\x56\xff\xd9", 5); /* 3 extraneous bytes, then EOI */
    dlp_image a, b;
    CHECK_OK(dlp_image_decode(clean, size, &a));
    CHECK_OK(dlp_image_decode(noisy, size + 3, &b));
    CHECK(a.pixels && b.pixels && memcmp(a.pixels, b.pixels, (size_t)a.width * a.height * 3) == 0);
    dlp_image_free(&b);
    /* 2 garbage bytes between two segments of the header (libjpeg skips them
     * with a warning; Pillow decodes the file as the clean one). */
    size_t dqt = 2;
    while (dqt + 1 < size && !(clean[dqt] == 0xff && clean[dqt + 1] == 0xdb)) dqt++;
    memcpy(noisy, clean, dqt);
    memcpy(noisy + dqt, "\x01\x02", 2);
    memcpy(noisy + dqt + 2, clean + dqt, size - dqt);
    CHECK_OK(dlp_image_decode(noisy, size + 2, &b));
    CHECK(a.pixels && b.pixels && memcmp(a.pixels, b.pixels, (size_t)a.width * a.height * 3) == 0);
    dlp_image_free(&a);
    dlp_image_free(&b);
    free(noisy);
    free(clean);
    /* The same frame header marked 12-bit, or lossless (SOF3): reported by
     * probe, refused by decode (libjpeg-turbo 2.1's TurboJPEG is 8-bit only). */
    clean = check_read_file(strcat(strcpy(path, decode_dir), "/baseline_420.jpg"), &size);
    size_t sof = 2;
    while (clean && sof + 4 < size && !(clean[sof] == 0xff && clean[sof + 1] == 0xc0)) sof++;
    if (clean && sof + 4 < size) {
        dlp_image_info info;
        clean[sof + 4] = 12;
        CHECK_OK(dlp_image_probe(clean, size, &info));
        CHECK(info.bit_depth == 12);
        CHECK_FAILS(dlp_image_decode(clean, size, &a), DLP_ERR_UNSUPPORTED, "12-bit");
        clean[sof + 4] = 8;
        clean[sof + 1] = 0xc3;
        CHECK_FAILS(dlp_image_decode(clean, size, &a), DLP_ERR_UNSUPPORTED, "lossless");
    }
    free(clean);
    snprintf(path, sizeof path, "%s/fuzz_short_scan_65315x29.jpg", decode_dir);
    CHECK_FAILS(dlp_image_read(path, &a), DLP_ERR_FORMAT, "premature end of data segment");
}

static uint64_t checksum(const dlp_image *image, uint64_t *sum)
{
    uint64_t total = 0;
    *sum = 0;
    for (size_t i = 0; i < (size_t)image->width * image->height * 3; i++) {
        total += (uint64_t)image->pixels[i] * (i % 65521 + 1);
        *sum += image->pixels[i];
    }
    return total;
}

static void check_real_photos(json_t *photos)
{
    const char *shared = check_env("DLP_SHARED_DIR");
    const char *name;
    json_t *want;
    json_object_foreach(photos, name, want) {
        char path[1200];
        snprintf(path, sizeof path, "%s/oracle/inception_v3/%s", shared, name);
        if (access(path, R_OK) != 0) {
            printf("real photo %s not found: skipped\n", path);
            continue;
        }
        dlp_image image;
        CHECK_OK(dlp_image_read(path, &image));
        if (!image.pixels) continue;
        CHECK(image.width == json_integer_value(json_object_get(want, "width")));
        CHECK(image.height == json_integer_value(json_object_get(want, "height")));
        uint64_t sum = 0, weighted = checksum(&image, &sum);
        CHECK(weighted == (uint64_t)json_integer_value(json_object_get(want, "checksum")));
        CHECK(sum == (uint64_t)json_integer_value(json_object_get(want, "sum")));
        dlp_image_free(&image);
    }
}

/* --- the batch with bad rows --- */

enum { OUT_H = 19, OUT_W = 23, SLOT = OUT_H * OUT_W * 3 };

static void make_bad_files(const char *tmp)
{
    char path[1200], source[1200];
    size_t size = 0;
    snprintf(path, sizeof path, "%s/image_zero.jpg", tmp);
    write_all(path, "", 0);
    snprintf(source, sizeof source, "%s/baseline_420.jpg", decode_dir);
    uint8_t *data = check_read_file(source, &size);
    snprintf(path, sizeof path, "%s/image_truncated.jpg", tmp);
    if (data) write_all(path, data, size * 6 / 10);
    free(data);
    snprintf(source, sizeof source, "%s/rgb8.png", decode_dir);
    data = check_read_file(source, &size);
    snprintf(path, sizeof path, "%s/image_bad_crc.png", tmp);
    if (data) {
        data[size - 12 - 1] ^= 0x5a; /* the last byte of IDAT's CRC (IEND is the last 12 bytes) */
        write_all(path, data, size);
    }
    free(data);
    snprintf(path, sizeof path, "%s/image_text.jpg", tmp);
    write_all(path, "this is not a picture\n", 22);
    snprintf(path, sizeof path, "%s/image_folder.png", tmp);
    mkdir(path, 0755);
}

typedef struct batch_row {
    const char *path; /* relative to decode_dir when fixture, else tmp */
    int in_tmp;
    dlp_status expected; /* DLP_OK for good rows */
    const char *reason;  /* a word the message must hold */
} batch_row;

static const batch_row batch_rows[] = {
    {"baseline_420.jpg", 0, DLP_OK, NULL},
    {"image_zero.jpg", 1, DLP_ERR_FORMAT, "empty"},
    {"rgb16.png", 0, DLP_OK, NULL},
    {"image_truncated.jpg", 1, DLP_ERR_FORMAT, "truncated"},
    {"image_bad_crc.png", 1, DLP_ERR_FORMAT, "checksum"},
    {"gray_progressive.jpg", 0, DLP_OK, NULL},
    {"image_text.jpg", 1, DLP_ERR_UNSUPPORTED, "not a JPEG or PNG"},
    {"huge_100000x100000.png", 0, DLP_ERR_LIMIT, "100000x100000"},
    {"image_missing.png", 1, DLP_ERR_IO, "No such file"},
    {"image_folder.png", 1, DLP_ERR_IO, "not a regular file"},
    {"cmyk_adobe.jpg", 0, DLP_OK, NULL},
    {"palette4_interlaced.png", 0, DLP_OK, NULL},
};
enum { BATCH_ROWS = sizeof batch_rows / sizeof batch_rows[0] };

static void row_path(const batch_row *row, const char *tmp, char *path, size_t size)
{
    snprintf(path, size, "%s/%s", row->in_tmp ? tmp : decode_dir, row->path);
}

static void check_batch(void)
{
    const char *tmp = check_env("DLP_TEST_TMP");
    make_bad_files(tmp);
    dlp_dataset *dataset = NULL;
    CHECK_OK(dlp_dataset_create(&dataset));
    if (!dataset) return;
    char path[1200];
    CHECK_OK(dlp_dataset_add(dataset, "before-the-batch.png", 0)); /* row 0: outside the range */
    for (int i = 0; i < BATCH_ROWS; i++) {
        row_path(&batch_rows[i], tmp, path, sizeof path);
        CHECK_OK(dlp_dataset_add(dataset, path, i % 3));
    }
    CHECK_OK(dlp_dataset_add(dataset, "already-failed.png", 1)); /* failed before the batch */
    CHECK_OK(dlp_dataset_set_error(dataset, BATCH_ROWS + 1, DLP_ERR_DATA, "already-failed.png: earlier error"));
    size_t n = BATCH_ROWS + 1, failed = 0;
    float *out = malloc(n * SLOT * sizeof *out);
    for (size_t i = 0; i < n * SLOT; i++) out[i] = 7.0f; /* every slot must be overwritten */
    CHECK_OK(dlp_image_load_batch(dataset, 1, n, OUT_H, OUT_W, DLP_RESIZE_BILINEAR, DLP_NORMALIZE_CAFFE, 3, out, &failed));
    size_t want_failed = 1;
    for (int i = 0; i < BATCH_ROWS; i++) want_failed += batch_rows[i].expected != DLP_OK;
    CHECK(failed == want_failed);
    CHECK(dlp_dataset_error_count(dataset) == want_failed);

    float *alone = malloc(SLOT * sizeof *alone);
    for (int i = 0; i < BATCH_ROWS; i++) {
        const batch_row *want = &batch_rows[i];
        dlp_row row;
        CHECK_OK(dlp_dataset_row(dataset, (size_t)i + 1, &row));
        const float *slot = out + (size_t)i * SLOT;
        if (want->expected == DLP_OK) {
            CHECK(row.status == DLP_OK);
            dlp_image image;
            row_path(want, tmp, path, sizeof path);
            CHECK_OK(dlp_image_read(path, &image));
            CHECK_OK(dlp_image_resize_float(&image, OUT_H, OUT_W, DLP_RESIZE_BILINEAR, DLP_NORMALIZE_CAFFE, alone));
            CHECK(memcmp(slot, alone, SLOT * sizeof *alone) == 0);
            dlp_image_free(&image);
            continue;
        }
        CHECK(row.status == want->expected);
        row_path(want, tmp, path, sizeof path);
        CHECK(strncmp(row.message, path, strlen(path)) == 0 && row.message[strlen(path)] == ':');
        CHECK(strstr(row.message, want->reason) != NULL);
        if (row.status != want->expected || !strstr(row.message, want->reason))
            fprintf(stderr, "row %s: %s \"%s\"\n", want->path, dlp_status_name(row.status), row.message);
        int zero = 1;
        for (size_t k = 0; k < SLOT; k++) zero &= slot[k] == 0.0f;
        CHECK(zero);
    }
    dlp_row row;
    CHECK_OK(dlp_dataset_row(dataset, BATCH_ROWS + 1, &row));
    CHECK(row.status == DLP_ERR_DATA && !strcmp(row.message, "already-failed.png: earlier error"));
    CHECK(out[(n - 1) * SLOT] == 0.0f);
    CHECK_OK(dlp_dataset_row(dataset, 0, &row));
    CHECK(row.status == DLP_OK);

    /* A file without read permission (root reads it anyway: then the folder
     * row above stands for "unreadable"). */
    if (geteuid() != 0) {
        snprintf(path, sizeof path, "%s/image_no_permission.png", tmp);
        write_all(path, "x", 1);
        chmod(path, 0);
        dlp_image image;
        CHECK_FAILS(dlp_image_read(path, &image), DLP_ERR_IO, "Permission denied");
    }

    /* One thread gives the same bytes as three. */
    float *serial = malloc(n * SLOT * sizeof *serial);
    CHECK_OK(dlp_image_load_batch(dataset, 1, n, OUT_H, OUT_W, DLP_RESIZE_BILINEAR, DLP_NORMALIZE_CAFFE, 1, serial, NULL));
    CHECK(memcmp(serial, out, n * SLOT * sizeof *out) == 0);
    CHECK_FAILS(dlp_image_load_batch(dataset, 5, n, OUT_H, OUT_W, DLP_RESIZE_AREA, DLP_NORMALIZE_NONE, 1, serial, NULL),
                DLP_ERR_INVALID_ARGUMENT, "outside");
    free(serial);
    free(alone);
    free(out);
    dlp_dataset_destroy(dataset);
}

int main(void)
{
    fixtures = check_env("DLP_FIXTURES");
    snprintf(decode_dir, sizeof decode_dir, "%s/decode", fixtures);
    char path[1200];
    snprintf(path, sizeof path, "%s/decode.json", decode_dir);
    json_t *root = json_load_file(path, 0, NULL);
    CHECK(root != NULL);
    if (!root) return check_summary("image_decode");
    size_t index;
    json_t *entry;
    json_array_foreach(json_object_get(root, "files"), index, entry) check_against_tensorflow(entry);
    check_probe();
    check_limits();
    check_jpeg_warnings();
    check_real_photos(json_object_get(root, "photos"));
    check_batch();
    printf("decode: %zu files against TensorFlow %s, exact\n", json_array_size(json_object_get(root, "files")),
           json_string_value(json_object_get(root, "tensorflow")));
    json_decref(root);
    return check_summary("image_decode");
}

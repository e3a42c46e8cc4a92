/* Resize and normalize against TensorFlow 2.18's tf.image.resize
 * (antialias=False) and Keras' preprocess_input (tests/oracle/resize_oracle.py,
 * fixtures in tests/fixtures/resize/): float output within 1e-4 (0..255
 * scale; normalized values too), uint8 output (tf.saturate_cast(tf.round))
 * within 1 grey level, and every output row's sum within 1e-4 relative. */
#include <jansson.h>

#include "check.h"
#include "dlp/dlp.h"

static const char *fixtures;
static double worst_float, worst_sum;
static int worst_u8;

static void *read_fixture(const char *name, size_t expected_bytes)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/resize/%s", fixtures, name);
    FILE *file = fopen(path, "rb");
    CHECK(file != NULL);
    if (!file) return NULL;
    void *data = malloc(expected_bytes + 1);
    size_t got = fread(data, 1, expected_bytes + 1, file);
    fclose(file);
    CHECK(got == expected_bytes);
    if (got != expected_bytes) {
        free(data);
        return NULL;
    }
    return data;
}

/* The case's input: raw bytes, or a crop of a committed PNG decoded by dlp
 * (PNG decoding is exact, checked in test_image_decode). */
static int load_input(json_t *item, int in_h, int in_w, dlp_image *image)
{
    json_t *source = json_object_get(item, "source");
    image->width = in_w;
    image->height = in_h;
    if (!strcmp(json_string_value(json_object_get(source, "kind")), "raw")) {
        char name[256];
        snprintf(name, sizeof name, "%s_in.u8", json_string_value(json_object_get(item, "name")));
        image->pixels = read_fixture(name, (size_t)in_h * in_w * 3);
        return image->pixels != NULL;
    }
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", fixtures, json_string_value(json_object_get(source, "file")));
    dlp_image full;
    CHECK_OK(dlp_image_read(path, &full));
    if (!full.pixels) return 0;
    json_t *crop = json_object_get(source, "crop");
    int y0 = (int)json_integer_value(json_array_get(crop, 0)), x0 = (int)json_integer_value(json_array_get(crop, 1));
    image->pixels = malloc((size_t)in_h * in_w * 3);
    for (int y = 0; y < in_h; y++)
        memcpy(image->pixels + (size_t)y * in_w * 3, full.pixels + ((size_t)(y0 + y) * full.width + x0) * 3,
               (size_t)in_w * 3);
    dlp_image_free(&full);
    return 1;
}

static void compare_floats(const char *what, const float *actual, const float *expected, size_t count, double tolerance)
{
    double worst = 0;
    for (size_t i = 0; i < count; i++) {
        double diff = fabs((double)actual[i] - (double)expected[i]);
        if (!(diff <= worst)) worst = diff;
    }
    if (worst > worst_float) worst_float = worst;
    if (!(worst <= tolerance)) fprintf(stderr, "%s: max abs diff %g\n", what, worst);
    CHECK(worst <= tolerance);
}

static void check_method(json_t *item, json_t *entry, const dlp_image *image, int out_h, int out_w, dlp_resize method)
{
    const char *name = json_string_value(json_object_get(item, "name"));
    json_t *rows = json_object_get(item, "rows");
    size_t row_values = (size_t)out_w * 3, kept = json_array_size(rows);
    size_t count = (size_t)out_h * row_values;
    float *values = malloc(count * sizeof *values);
    uint8_t *bytes = malloc(count);
    CHECK_OK(dlp_image_resize_float(image, out_h, out_w, method, DLP_NORMALIZE_NONE, values));
    CHECK_OK(dlp_image_resize_u8(image, out_h, out_w, method, bytes));
    float *expected = read_fixture(json_string_value(json_object_get(entry, "f32")), kept * row_values * 4);
    uint8_t *expected_u8 = read_fixture(json_string_value(json_object_get(entry, "u8")), kept * row_values);
    for (size_t r = 0; expected && expected_u8 && r < kept; r++) {
        size_t y = (size_t)json_integer_value(json_array_get(rows, r));
        char what[300];
        snprintf(what, sizeof what, "%s %s row %zu", name, dlp_resize_name(method), y);
        compare_floats(what, values + y * row_values, expected + r * row_values, row_values, 1e-4);
        for (size_t i = 0; i < row_values; i++) {
            int diff = abs((int)bytes[y * row_values + i] - (int)expected_u8[r * row_values + i]);
            if (diff > worst_u8) worst_u8 = diff;
            CHECK(diff <= 1);
        }
    }
    json_t *sums = json_object_get(entry, "row_sums");
    CHECK(json_array_size(sums) == (size_t)out_h);
    for (int y = 0; y < out_h && (size_t)y < json_array_size(sums); y++) {
        double sum = 0, want = json_number_value(json_array_get(sums, (size_t)y));
        for (size_t i = 0; i < row_values; i++) sum += values[(size_t)y * row_values + i];
        double relative = fabs(sum - want) / (fabs(want) + 1.0);
        if (relative > worst_sum) worst_sum = relative;
        CHECK(relative <= 1e-4);
    }
    /* Keras preprocess_input on the area result, for the small cases. */
    static const char *const modes[] = {"tf", "caffe"};
    for (int m = 0; m < 2; m++) {
        json_t *file = json_object_get(entry, modes[m]);
        if (!file) continue;
        float *want = read_fixture(json_string_value(file), count * 4);
        float *normalized = malloc(count * sizeof *normalized);
        CHECK_OK(dlp_image_resize_float(image, out_h, out_w, method, m == 0 ? DLP_NORMALIZE_TF : DLP_NORMALIZE_CAFFE,
                                        normalized));
        if (want) compare_floats(modes[m], normalized, want, count, 1e-4);
        free(want);
        free(normalized);
    }
    free(expected);
    free(expected_u8);
    free(values);
    free(bytes);
}

static void check_names(void)
{
    dlp_resize method;
    dlp_normalize mode;
    CHECK_OK(dlp_resize_from_name("bilinear", &method));
    CHECK(method == DLP_RESIZE_BILINEAR);
    CHECK_FAILS(dlp_resize_from_name("bicubic", &method), DLP_ERR_INVALID_ARGUMENT, "bicubic");
    CHECK_OK(dlp_normalize_from_name("caffe", &mode));
    CHECK(mode == DLP_NORMALIZE_CAFFE);
    CHECK_FAILS(dlp_normalize_from_name("torch", &mode), DLP_ERR_INVALID_ARGUMENT, "torch");
    uint8_t pixel[3] = {1, 2, 3}, out[3];
    dlp_image image = {1, 1, pixel};
    CHECK_FAILS(dlp_image_resize_u8(&image, 0, 5, DLP_RESIZE_AREA, out), DLP_ERR_INVALID_ARGUMENT, "0x5");
    CHECK_FAILS(dlp_image_resize_u8(&image, 70000, 1, DLP_RESIZE_AREA, out), DLP_ERR_INVALID_ARGUMENT, "70000");
}

int main(void)
{
    fixtures = check_env("DLP_FIXTURES");
    char path[1024];
    snprintf(path, sizeof path, "%s/resize/cases.json", fixtures);
    json_t *root = json_load_file(path, 0, NULL);
    CHECK(root != NULL);
    if (!root) return check_summary("image_resize");
    json_t *cases = json_object_get(root, "cases");
    size_t index;
    json_t *item;
    json_array_foreach(cases, index, item) {
        json_t *in = json_object_get(item, "in"), *out = json_object_get(item, "out");
        int in_h = (int)json_integer_value(json_array_get(in, 0)), in_w = (int)json_integer_value(json_array_get(in, 1));
        int out_h = (int)json_integer_value(json_array_get(out, 0)), out_w = (int)json_integer_value(json_array_get(out, 1));
        dlp_image image = {0};
        if (!load_input(item, in_h, in_w, &image)) continue;
        for (dlp_resize method = DLP_RESIZE_AREA; method <= DLP_RESIZE_NEAREST; method++) {
            json_t *entry = json_object_get(json_object_get(item, "methods"), dlp_resize_name(method));
            CHECK(entry != NULL);
            if (entry) check_method(item, entry, &image, out_h, out_w, method);
        }
        dlp_image_free(&image);
    }
    check_names();
    printf("resize: %zu cases against TensorFlow %s: max |float diff| %.3g, max uint8 diff %d, max row-sum rel diff %.3g\n",
           json_array_size(cases), json_string_value(json_object_get(root, "tensorflow")), worst_float, worst_u8,
           worst_sum);
    json_decref(root);
    return check_summary("image_resize");
}

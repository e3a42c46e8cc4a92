/* test_synth.c: dlp-synth-v1 in C gives the values tests/oracle/synth.py wrote
 * (tests/fixtures/synth/synth_v1.json): first u values bit for bit, first and
 * last float32 values exactly, sums to 1e-9 relative. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "dlp/tensor.h"
#include "weights/synth.h"

static void check_case(json_t *c)
{
    int layer = (int)json_integer_value(json_object_get(c, "layer"));
    const char *slot = json_string_value(json_object_get(c, "slot"));
    json_t *shape_json = json_object_get(c, "shape");
    int64_t shape[DLP_MAX_DIMS];
    int ndim = (int)json_array_size(shape_json);
    CHECK(slot && ndim <= DLP_MAX_DIMS);
    if (!slot || ndim > DLP_MAX_DIMS) return;
    size_t count = 1;
    for (int d = 0; d < ndim; d++) {
        shape[d] = json_integer_value(json_array_get(shape_json, (size_t)d));
        count *= (size_t)shape[d];
    }
    json_t *u_first = json_object_get(c, "u_first");
    for (size_t i = 0; i < json_array_size(u_first); i++) {
        double expected = strtod(json_string_value(json_array_get(u_first, i)), NULL);
        double actual = dlp_synth_uniform(layer, slot, i);
        if (actual != expected) fprintf(stderr, "%d/%s u[%zu]: %.17g vs Python %.17g\n", layer, slot, i, actual, expected);
        CHECK(actual == expected);
    }
    float *values = malloc(count * sizeof *values);
    CHECK(values != NULL);
    if (!values) return;
    CHECK_OK(dlp_synth_fill(layer, slot, shape, ndim, values));
    json_t *first = json_object_get(c, "first");
    for (size_t i = 0; i < json_array_size(first) && i < count; i++) {
        float expected = (float)json_real_value(json_array_get(first, i));
        if (values[i] != expected) fprintf(stderr, "%d/%s [%zu]: %.9g vs Python %.9g\n", layer, slot, i, values[i], expected);
        CHECK(values[i] == expected);
    }
    CHECK(values[count - 1] == (float)json_number_value(json_object_get(c, "last")));
    double sum = 0, sum_squares = 0;
    for (size_t i = 0; i < count; i++) {
        sum += values[i];
        sum_squares += (double)values[i] * values[i];
    }
    double expected_squares = json_number_value(json_object_get(c, "sum_squares"));
    /* NumPy sums pairwise, we sum in order: both are within ~count * 1e-16 of the exact sum. */
    CHECK_NEAR(sum, json_number_value(json_object_get(c, "sum")), 1e-9 * (1.0 + expected_squares));
    CHECK_NEAR(sum_squares, expected_squares, 1e-9 * (1.0 + expected_squares));
    free(values);
}

static void check_tensor_list(void)
{
    dlp_synth_spec specs[] = {
        {.layer_index = 0, .layer_name = "conv2d", .slot = "kernel", .ndim = 4, .shape = {3, 3, 3, 32}},
        {.layer_index = 1, .layer_name = "batch_normalization", .slot = "beta", .ndim = 1, .shape = {32}},
        {.layer_index = 1, .layer_name = "batch_normalization", .slot = "moving_mean", .ndim = 1, .shape = {32}},
    };
    dlp_tensor_list *list = NULL;
    CHECK_OK(dlp_synth_tensor_list(specs, 3, &list));
    if (!list) return;
    CHECK(dlp_tensor_list_count(list) == 3);
    const dlp_named_tensor *t = dlp_tensor_list_at(list, 2);
    CHECK(t && !strcmp(t->name, "batch_normalization/moving_mean") && t->dtype == DLP_DTYPE_F32 && t->ndim == 1 &&
          t->shape[0] == 32);
    float expected[32];
    CHECK_OK(dlp_synth_fill(1, "moving_mean", specs[2].shape, 1, expected));
    CHECK(t && !memcmp(t->data, expected, sizeof expected));
    const char *format = dlp_tensor_list_get_metadata(list, "format");
    CHECK(format && !strcmp(format, "dlp-synth-v1"));
    dlp_tensor_list_destroy(list);

    dlp_synth_spec bad = {.layer_index = 4, .layer_name = "dense", .slot = "weights", .ndim = 1, .shape = {2}};
    CHECK_FAILS(dlp_synth_tensor_list(&bad, 1, &list), DLP_ERR_INVALID_ARGUMENT, "dense/weights");
    CHECK(list == NULL);
    float out[2];
    CHECK_FAILS(dlp_synth_fill(0, "scale", bad.shape, 1, out), DLP_ERR_INVALID_ARGUMENT, "scale");
    CHECK_FAILS(dlp_synth_fill(-1, "bias", bad.shape, 1, out), DLP_ERR_INVALID_ARGUMENT, "negative layer");
    int64_t negative = -2;
    CHECK_FAILS(dlp_synth_fill(0, "bias", &negative, 1, out), DLP_ERR_INVALID_ARGUMENT, "negative dim");
}

int main(void)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/synth/synth_v1.json", check_env("DLP_FIXTURES"));
    json_error_t error;
    json_t *doc = json_load_file(path, 0, &error);
    CHECK(doc != NULL);
    if (!doc) {
        fprintf(stderr, "%s: %s\n", path, error.text);
        return check_summary("synth");
    }
    json_t *cases = json_object_get(doc, "cases");
    CHECK(json_array_size(cases) >= 10);
    for (size_t i = 0; i < json_array_size(cases); i++) check_case(json_array_get(cases, i));
    json_decref(doc);
    check_tensor_list();
    return check_summary("synth");
}

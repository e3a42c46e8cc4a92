/* test_synth.c: dlp-synth-v1 in C gives the values tests/oracle/synth.py wrote
 * (tests/fixtures/synth/synth_v1.json): first u values bit for bit, first and
 * last float32 values exactly, sums to 1e-9 relative; and full-size classifier
 * weights that reproduce the logits of tests/fixtures/keras/. */
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

static float *read_array(const char *dir, const char *model, json_t *index, const char *name, size_t count)
{
    json_t *entry = json_object_get(json_object_get(index, "arrays"), name);
    char path[4096];
    snprintf(path, sizeof path, "%s/keras/%s.bin", dir, model);
    FILE *file = fopen(path, "rb");
    float *values = malloc(count * sizeof *values);
    int ok = entry && file && values &&
             fseek(file, (long)json_integer_value(json_object_get(entry, "offset_bytes")), SEEK_SET) == 0 &&
             fread(values, sizeof *values, count, file) == count;
    if (file) fclose(file);
    CHECK(ok);
    if (!ok) {
        free(values);
        return NULL;
    }
    return values;
}

/* Full-size tensors: the classifier of InceptionV3, Xception and ResNet50 made
 * by the C generator, applied to Keras' pooled features (avg over the
 * featurizer output = the input of "predictions"), gives the logits NumPy
 * computed from Keras' own layer input and the Python generator's weights. */
static void check_zoo_classifier(const char *dir, const char *model)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/keras/%s.json", dir, model);
    json_t *index = json_load_file(path, 0, NULL);
    snprintf(path, sizeof path, "%s/keras/weight_order_%s.json", dir, model);
    json_t *order = json_load_file(path, 0, NULL);
    CHECK(index && order);
    json_t *weights = json_object_get(order, "weights");
    size_t n = json_array_size(weights);
    CHECK(n >= 2);
    if (!index || !order || n < 2) goto done;
    json_t *kernel = json_array_get(weights, n - 2), *bias = json_array_get(weights, n - 1);
    int k = (int)json_integer_value(json_array_get(kernel, 0));
    CHECK(!strcmp(json_string_value(json_array_get(kernel, 2)), "kernel"));
    CHECK(!strcmp(json_string_value(json_array_get(bias, 2)), "bias"));
    int64_t shape[2] = {json_integer_value(json_array_get(json_array_get(kernel, 3), 0)),
                        json_integer_value(json_array_get(json_array_get(kernel, 3), 1))};
    CHECK(shape[0] == 2048 && shape[1] == 1000);
    if (shape[0] != 2048 || shape[1] != 1000) goto done;
    float *w = malloc(2048 * 1000 * sizeof *w), b[1000];
    float *features = read_array(dir, model, index, "avg", 3 * 2048);
    float *logits = read_array(dir, model, index, "logits", 3 * 1000);
    CHECK(w != NULL);
    if (w && features && logits) {
        CHECK_OK(dlp_synth_fill(k, "kernel", shape, 2, w));
        CHECK_OK(dlp_synth_fill(k, "bias", &shape[1], 1, b));
        double worst = 0, scale = 0;
        for (int image = 0; image < 3; image++)
            for (int j = 0; j < 1000; j++) {
                double z = b[j];
                for (int i = 0; i < 2048; i++) z += (double)features[image * 2048 + i] * w[(size_t)i * 1000 + j];
                double expected = logits[image * 1000 + j];
                worst = fmax(worst, fabs(z - expected));
                scale = fmax(scale, fabs(expected));
            }
        /* float32 features averaged by NumPy vs Keras' GlobalAveragePooling: ~1e-7 relative. */
        if (worst > 1e-5 * scale) fprintf(stderr, "%s: logits off by %g (largest %g)\n", model, worst, scale);
        CHECK(worst <= 1e-5 * scale);
    }
    free(w);
    free(features);
    free(logits);
done:
    json_decref(index);
    json_decref(order);
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
    const char *models[] = {"inception_v3", "xception", "resnet50"};
    for (int m = 0; m < 3; m++) check_zoo_classifier(check_env("DLP_FIXTURES"), models[m]);
    return check_summary("synth");
}

/* test_keras_h5.c: the Keras .h5 importer against files Keras (tf-keras 2.18)
 * and h5py wrote, and what Keras says is in them (tests/oracle/h5_oracle.py ->
 * tests/fixtures/h5/small_cnn.json): names, order, shapes, values; bad files
 * refused with the file and the layer/weight named. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "dlp/tensor.h"
#include "dlp/weights.h"

static char fixtures[2048];

static void check_file(const char *file, json_t *expected, size_t layer_count)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", fixtures, file);
    dlp_tensor_list *list = NULL;
    CHECK_OK(dlp_keras_h5_load(path, &list));
    if (!list) return;
    json_t *tensors = json_object_get(expected, "tensors");
    CHECK(dlp_tensor_list_count(list) == json_array_size(tensors));
    for (size_t i = 0; i < json_array_size(tensors) && i < dlp_tensor_list_count(list); i++) {
        json_t *want = json_array_get(tensors, i);
        const dlp_named_tensor *t = dlp_tensor_list_at(list, i);
        const char *name = json_string_value(json_object_get(want, "name"));
        if (strcmp(t->name, name)) fprintf(stderr, "%s: tensor %zu is %s, Keras says %s\n", file, i, t->name, name);
        CHECK(!strcmp(t->name, name));
        CHECK(t->dtype == DLP_DTYPE_F32);
        json_t *shape = json_object_get(want, "shape");
        CHECK(t->ndim == (int)json_array_size(shape));
        for (int d = 0; d < t->ndim && d < (int)json_array_size(shape); d++)
            CHECK(t->shape[d] == json_integer_value(json_array_get(shape, (size_t)d)));
        const float *values = t->data;
        json_t *first = json_object_get(want, "first");
        for (size_t j = 0; j < json_array_size(first) && j < t->element_count; j++)
            CHECK(values[j] == (float)json_number_value(json_array_get(first, j)));
        double sum = 0, squares = 0;
        for (size_t j = 0; j < t->element_count; j++) {
            sum += values[j];
            squares += (double)values[j] * values[j];
        }
        double want_squares = json_number_value(json_object_get(want, "sum_squares"));
        /* Same float32 values summed in another order: ~1e-16 relative. */
        CHECK_NEAR(sum, json_number_value(json_object_get(want, "sum")), 1e-9 * (1 + want_squares));
        CHECK_NEAR(squares, want_squares, 1e-9 * (1 + want_squares));
    }
    const char *format = dlp_tensor_list_get_metadata(list, "format");
    const char *source = dlp_tensor_list_get_metadata(list, "source");
    const char *version = dlp_tensor_list_get_metadata(list, "keras_version");
    const char *layers = dlp_tensor_list_get_metadata(list, "layer_count");
    const char *config = dlp_tensor_list_get_metadata(list, "model_config");
    CHECK(format && !strcmp(format, "keras-h5"));
    CHECK(source && !strcmp(source, path));
    CHECK(version && version[0] == '2');
    CHECK(layers && strtoul(layers, NULL, 10) == layer_count);
    int has_config = json_is_true(json_object_get(expected, "has_model_config"));
    CHECK(has_config == (config != NULL));
    if (config) {
        json_error_t error;
        json_t *parsed = json_loads(config, 0, &error);
        CHECK(parsed && json_object_get(parsed, "config") && json_object_get(parsed, "class_name"));
        json_decref(parsed);
    }
    dlp_tensor_list_destroy(list);
}

static void check_refused(const char *path, dlp_status status, const char *needle)
{
    dlp_tensor_list *list = (dlp_tensor_list *)&list; /* must come back NULL */
    CHECK_FAILS(dlp_keras_h5_load(path, &list), status, needle);
    const char *base = strrchr(path, '/');
    CHECK(strstr(dlp_last_error(), base ? base + 1 : path) != NULL);
    CHECK(list == NULL);
}

static void check_bad_files(json_t *bad)
{
    const char *file;
    json_t *needle;
    json_object_foreach(bad, file, needle) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", fixtures, file);
        check_refused(path, DLP_ERR_MODEL, json_string_value(needle));
    }
    CHECK(json_object_size(bad) >= 5);

    const char *tmp = check_env("DLP_TEST_TMP");
    char source[4096], path[4096];
    /* Truncated: the first half of a good file (HDF5 checks the end-of-file address). */
    snprintf(source, sizeof source, "%s/small_cnn_model.h5", fixtures);
    snprintf(path, sizeof path, "%s/keras_h5_truncated.h5", tmp);
    FILE *in = fopen(source, "rb"), *out = fopen(path, "wb");
    CHECK(in && out);
    if (in && out) {
        static char buffer[1 << 16];
        size_t n = fread(buffer, 1, sizeof buffer, in);
        fwrite(buffer, 1, n / 2, out);
    }
    if (in) fclose(in);
    if (out) fclose(out);
    check_refused(path, DLP_ERR_MODEL, "truncated file");
    /* Truncated inside the superblock, and a file of text. */
    snprintf(path, sizeof path, "%s/keras_h5_stub.h5", tmp);
    out = fopen(path, "wb");
    if (out) {
        fwrite("\x89HDF\r\n\x1a\n\0", 1, 9, out);
        fclose(out);
    }
    check_refused(path, DLP_ERR_MODEL, "keras_h5_stub.h5");
    snprintf(path, sizeof path, "%s/keras_h5_text.h5", tmp);
    out = fopen(path, "wb");
    if (out) {
        fputs("{\"not\": \"hdf5\"}\n", out);
        fclose(out);
    }
    check_refused(path, DLP_ERR_MODEL, "not an HDF5 file");
    snprintf(path, sizeof path, "%s/no_such_file.h5", tmp);
    check_refused(path, DLP_ERR_IO, "cannot open");
    CHECK_FAILS(dlp_keras_h5_load(path, NULL), DLP_ERR_INVALID_ARGUMENT, "NULL");
}

int main(void)
{
    snprintf(fixtures, sizeof fixtures, "%s/h5", check_env("DLP_FIXTURES"));
    char path[4096];
    snprintf(path, sizeof path, "%s/small_cnn.json", fixtures);
    json_error_t error;
    json_t *doc = json_load_file(path, 0, &error);
    CHECK(doc != NULL);
    if (!doc) {
        fprintf(stderr, "%s: %s\n", path, error.text);
        return check_summary("keras_h5");
    }
    size_t layer_count = json_array_size(json_object_get(doc, "layer_names"));
    json_t *files = json_object_get(doc, "files");
    const char *file;
    json_t *expected;
    json_object_foreach(files, file, expected) check_file(file, expected, layer_count);
    CHECK(json_object_size(files) == 3);
    check_bad_files(json_object_get(doc, "bad_files"));
    json_decref(doc);
    return check_summary("keras_h5");
}

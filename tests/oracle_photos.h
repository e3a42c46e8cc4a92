/* oracle_photos.h: the three real photos of ../shared/oracle/inception_v3 and
 * TensorFlow.js' outputs for them (expected.json), shared by the suites that
 * check the real InceptionV3 (CPU, CUDA, and as a user's Keras model). The
 * photos are decoded here with libspng directly, not through libdlp, so the
 * networks are checked on inputs the code under test did not make. */
#ifndef DLP_TESTS_ORACLE_PHOTOS_H
#define DLP_TESTS_ORACLE_PHOTOS_H

#include <jansson.h>
#include <math.h>
#include <spng.h>
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "dlp/dlp.h"
#include "dlp/keras_model.h"

enum {
    ORACLE_SIDE = 299,
    ORACLE_PIXELS = ORACLE_SIDE * ORACLE_SIDE * 3,
    ORACLE_IMAGES = 3,
    ORACLE_MIXED5 = 17 * 17 * 768
};

/* Decodes a 299x299 PNG to RGB8 and normalizes it as Keras' 'tf' mode. */
static inline int oracle_load_photo(const char *path, float *out)
{
    FILE *file = fopen(path, "rb");
    if (!file) return 0;
    spng_ctx *ctx = spng_ctx_new(0);
    spng_set_png_file(ctx, file);
    struct spng_ihdr ihdr;
    size_t size = 0;
    int ok = spng_get_ihdr(ctx, &ihdr) == 0 && ihdr.width == ORACLE_SIDE && ihdr.height == ORACLE_SIDE &&
             spng_decoded_image_size(ctx, SPNG_FMT_RGB8, &size) == 0 && size == ORACLE_PIXELS;
    unsigned char *rgb = ok ? malloc(size) : NULL;
    ok = ok && rgb && spng_decode_image(ctx, rgb, size, SPNG_FMT_RGB8, 0) == 0;
    for (size_t i = 0; ok && i < ORACLE_PIXELS; i++) out[i] = (float)rgb[i] / 127.5f - 1.0f;
    free(rgb);
    spng_ctx_free(ctx);
    fclose(file);
    return ok;
}

static inline double oracle_relative_l2(const float *actual, const double *expected, size_t count)
{
    double diff = 0, norm = 0;
    for (size_t i = 0; i < count; i++) {
        diff += (actual[i] - expected[i]) * (actual[i] - expected[i]);
        norm += expected[i] * expected[i];
    }
    return sqrt(diff / norm);
}

/* The n numbers of a JSON array (count checked). */
static inline void oracle_read_array(json_t *array, double *values, size_t n)
{
    CHECK(json_array_size(array) == n);
    for (size_t k = 0; k < n; k++) values[k] = json_number_value(json_array_get(array, k));
}

/* The real nsfwjs InceptionV3's model.json in ../shared: 1 with its path,
 * 0 absent (the reason is printed; the caller skips). */
static inline int oracle_nsfwjs_path(const char *shared, char *path, size_t size)
{
    snprintf(path, size, "%s/models/nsfwjs-inception_v3/model.json", shared);
    FILE *probe = fopen(path, "rb");
    if (!probe) {
        printf("skipped: %s not found\n", path);
        return 0;
    }
    fclose(probe);
    return 1;
}

/* nsfwjs as a weight list: 1 loaded (*weights may still be NULL after a
 * failed check), 0 absent. */
static inline int oracle_load_nsfwjs(const char *shared, dlp_tensor_list **weights)
{
    char path[1024];
    *weights = NULL;
    if (!oracle_nsfwjs_path(shared, path, sizeof path)) return 0;
    CHECK_OK(dlp_tfjs_load(path, weights));
    return 1;
}

/* nsfwjs as a user's Keras model: the loaded model, or NULL (absent, or a failed check). */
static inline dlp_keras_model *oracle_load_nsfwjs_model(const char *shared)
{
    char path[1024];
    dlp_keras_model *model = NULL;
    if (oracle_nsfwjs_path(shared, path, sizeof path)) CHECK_OK(dlp_keras_model_load(path, NULL, &model));
    return model;
}

/* expected.json's "results" array, loaded once; NULL (with a failed check) when unreadable. */
static inline json_t *oracle_load_expected(const char *shared)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/oracle/inception_v3/expected.json", shared);
    json_t *expected = json_load_file(path, 0, NULL);
    CHECK(expected != NULL);
    return expected;
}

/* The three photos, in the order of expected.json's results, into input
 * (ORACLE_IMAGES x ORACLE_PIXELS floats). */
static inline void oracle_load_photos(const char *shared, json_t *results, float *input)
{
    CHECK(json_array_size(results) == ORACLE_IMAGES);
    for (int i = 0; i < ORACLE_IMAGES; i++) {
        char path[1024];
        const char *image = json_string_value(json_object_get(json_array_get(results, (size_t)i), "image"));
        snprintf(path, sizeof path, "%s/oracle/inception_v3/%s", shared, image ? image : "?");
        CHECK(oracle_load_photo(path, input + (size_t)i * ORACLE_PIXELS));
    }
}

/* Each image's 2048 pooled features (rel-L2), mixed5 sum (relative) and head
 * probabilities (rel-L2) against TF.js, all <= 1e-4 (the tolerance). */
static inline void oracle_check_outputs(json_t *results, const char *label, const float *features,
                                        const float *mixed5, const float *probs)
{
    for (int i = 0; i < ORACLE_IMAGES; i++) {
        json_t *result = json_array_get(results, (size_t)i);
        double reference[2048], prob_reference[5];
        oracle_read_array(json_object_get(result, "features"), reference, 2048);
        double feature_error = oracle_relative_l2(features + (size_t)i * 2048, reference, 2048);
        double sum = 0;
        for (size_t k = 0; k < ORACLE_MIXED5; k++) sum += mixed5[(size_t)i * ORACLE_MIXED5 + k];
        double want_sum = json_number_value(json_object_get(result, "mixed5_sum"));
        double sum_error = fabs(sum - want_sum) / fabs(want_sum);
        oracle_read_array(json_object_get(result, "probs"), prob_reference, 5);
        double prob_error = oracle_relative_l2(probs + i * 5, prob_reference, 5);
        printf("%s %s: features rel-L2 %.3g, mixed5 sum %.9g vs %.9g (rel %.3g), probs rel-L2 %.3g\n", label,
               json_string_value(json_object_get(result, "image")), feature_error, sum, want_sum, sum_error,
               prob_error);
        CHECK(feature_error <= 1e-4);
        CHECK(sum_error <= 1e-4);
        CHECK(prob_error <= 1e-4);
    }
}

/* nsfwjs loaded as a user's Keras model (its whole graph, head included), run
 * on backend over the three photos: each image's 5 probabilities within 1e-4
 * absolute of TF.js' (issue 7's acceptance). The output is NaN-poisoned first,
 * so an output the backend never wrote fails. */
static inline void oracle_check_nsfwjs_user_model(const char *shared, dlp_keras_model *model, dlp_backend *backend,
                                                  const char *label)
{
    json_t *expected = oracle_load_expected(shared);
    json_t *results = json_object_get(expected, "results");
    float *input = malloc(sizeof(float) * ORACLE_PIXELS * ORACLE_IMAGES);
    oracle_load_photos(shared, results, input);
    dlp_plan *plan = NULL;
    CHECK_OK(dlp_keras_model_plan(model, backend, ORACLE_IMAGES, &plan));
    if (plan && json_array_size(results) == ORACLE_IMAGES) {
        float probs[5 * ORACLE_IMAGES];
        for (int i = 0; i < 5 * ORACLE_IMAGES; i++) probs[i] = NAN;
        CHECK_OK(dlp_plan_run(plan, input, ORACLE_IMAGES));
        CHECK_OK(dlp_plan_read_output(plan, 0, probs, 5 * ORACLE_IMAGES));
        for (int i = 0; i < ORACLE_IMAGES; i++) {
            json_t *want = json_object_get(json_array_get(results, (size_t)i), "probs");
            double worst = 0;
            for (size_t k = 0; k < 5; k++) {
                double d = fabs(probs[i * 5 + k] - json_number_value(json_array_get(want, k)));
                worst = d > worst || isnan(d) ? d : worst;
            }
            printf("%s %s: probs [%.6f %.6f %.6f %.6f %.6f], max abs difference to TF.js %.3g\n", label,
                   json_string_value(json_object_get(json_array_get(results, (size_t)i), "image")), probs[i * 5],
                   probs[i * 5 + 1], probs[i * 5 + 2], probs[i * 5 + 3], probs[i * 5 + 4], worst);
            CHECK(json_array_size(want) == 5);
            CHECK(worst <= 1e-4);
        }
    }
    dlp_plan_destroy(plan);
    free(input);
    json_decref(expected);
}

#endif

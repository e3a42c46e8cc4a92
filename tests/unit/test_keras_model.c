/* Users' own Keras models built from their model_config
 * (src/models/keras_config.c), against what Keras and TensorFlow.js computed:
 *  - tests/fixtures/keras_model (tests/oracle/keras_model_oracle.py, tf-keras
 *    2.18): a Functional model using every supported layer and activation,
 *    a [6, 8] tensor model and a Sequential [10] model, saved as whole-model
 *    .h5, and a model Keras 3 wrote (its config format): every output within
 *    relative L2 1e-5 of Keras' (batched);
 *  - the real nsfwjs InceptionV3 (TF.js layers model, Keras 2.2.4 config)
 *    built from its config alone, head included, on the three oracle photos:
 *    probabilities within 1e-4 absolute of TensorFlow.js 4.22's;
 *  - configs Keras wrote with a layer or an option dlp does not support are
 *    refused, naming the layer, its class and the option. */
#include <jansson.h>

#include "check.h"
#include "oracle_photos.h"
#include "dlp/dlp.h"

static double max_abs_difference(const float *a, const float *b, size_t count)
{
    double worst = 0;
    for (size_t i = 0; i < count; i++) worst = fmax(worst, fabs((double)a[i] - b[i]));
    return worst;
}

static double max_abs(const float *a, size_t count)
{
    double worst = 0;
    for (size_t i = 0; i < count; i++) worst = fmax(worst, fabs((double)a[i]));
    return worst;
}

/* Loads <stem>.h5, runs it on <stem>_x.npy in one batch and compares each
 * output with <stem>_y<i>.npy. */
static void check_fixture_model(const char *fixtures, const char *stem, int expected_outputs)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/keras_model/%s.h5", fixtures, stem);
    dlp_keras_model *model = NULL;
    CHECK_OK(dlp_keras_model_load(path, NULL, &model));
    if (!model) return;
    CHECK(dlp_keras_model_output_count(model) == expected_outputs);
    float *x = NULL;
    size_t rows = 0, cols = 0;
    snprintf(path, sizeof path, "%s/keras_model/%s_x.npy", fixtures, stem);
    CHECK_OK(dlp_npy_read_f32(path, &x, &rows, &cols));
    CHECK(cols == dlp_shape_elements(dlp_keras_model_input_shape(model)));
    dlp_backend *cpu = NULL;
    dlp_plan *plan = NULL;
    CHECK_OK(dlp_backend_create_cpu(2, &cpu));
    CHECK_OK(dlp_keras_model_plan(model, cpu, (int)rows, &plan));
    if (plan && x) CHECK_OK(dlp_plan_run(plan, x, (int)rows));
    for (int o = 0; plan && o < dlp_keras_model_output_count(model); o++) {
        float *want = NULL;
        size_t want_rows = 0, want_cols = 0;
        snprintf(path, sizeof path, "%s/keras_model/%s_y%d.npy", fixtures, stem, o);
        CHECK_OK(dlp_npy_read_f32(path, &want, &want_rows, &want_cols));
        size_t per_image = dlp_shape_elements(dlp_keras_model_output_shape(model, o));
        CHECK(want_rows == rows && want_cols == per_image);
        float *have = malloc(sizeof(float) * rows * per_image);
        if (want && want_cols == per_image && want_rows == rows) {
            CHECK_OK(dlp_plan_read_output(plan, o, have, rows * per_image));
            double error = check_relative_l2(have, want, rows * per_image);
            printf("%s output %d (%s, node \"%s\"): %zu x %zu, relative L2 %.3g\n", stem, o,
                   dlp_keras_model_output_layer(model, o), dlp_keras_model_output_name(model, o), rows, per_image,
                   error);
            CHECK(error <= 1e-5);
        }
        free(have);
        free(want);
    }
    /* The same through dlp_keras_model_apply in batches of 2 (the last one short). */
    for (int o = 0; plan && x && o < dlp_keras_model_output_count(model); o++) {
        size_t per_image = dlp_shape_elements(dlp_keras_model_output_shape(model, o));
        float *batched = malloc(sizeof(float) * rows * per_image), *whole = malloc(sizeof(float) * rows * per_image);
        CHECK_OK(dlp_keras_model_apply(model, cpu, x, rows, 2, o, batched, rows * per_image));
        CHECK_OK(dlp_plan_read_output(plan, o, whole, rows * per_image));
        CHECK(max_abs_difference(batched, whole, rows * per_image) <= 1e-6 * (1 + max_abs(whole, rows * per_image)));
        free(batched);
        free(whole);
    }
    dlp_plan_destroy(plan);
    dlp_backend_destroy(cpu);
    free(x);
    dlp_keras_model_destroy(model);
}

static char *read_text(const char *path)
{
    FILE *file = fopen(path, "rb");
    if (!file) return NULL;
    fseek(file, 0, SEEK_END);
    long size = ftell(file);
    fseek(file, 0, SEEK_SET);
    char *text = malloc((size_t)size + 1);
    if (text && fread(text, 1, (size_t)size, file) != (size_t)size) {
        free(text);
        text = NULL;
    }
    if (text) text[size] = '\0';
    fclose(file);
    return text;
}

static void check_refused(const char *fixtures, const char *name, const char *needle1, const char *needle2)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/keras_model/refuse_%s.json", fixtures, name);
    char *config = read_text(path);
    CHECK(config != NULL);
    if (!config) return;
    dlp_keras_model *model = NULL;
    dlp_status status = dlp_keras_model_from_config(config, NULL, &model);
    printf("refuse_%s: %s: %s\n", name, dlp_status_name(status), dlp_last_error());
    CHECK(status == DLP_ERR_UNSUPPORTED);
    CHECK(strstr(dlp_last_error(), needle1) != NULL);
    CHECK(strstr(dlp_last_error(), needle2) != NULL);
    CHECK(model == NULL);
    free(config);
}

static void check_refusals(const char *fixtures)
{
    check_refused(fixtures, "lstm", "layer \"recurrent\" (LSTM)", "not supported");
    check_refused(fixtures, "conv3d", "layer \"volume_conv\" (Conv3D)", "not supported");
    check_refused(fixtures, "dilation", "layer \"dilated\" (Conv2D)", "dilation_rate (2, 2)");
    check_refused(fixtures, "groups", "layer \"grouped\" (Conv2D)", "groups 2");
    check_refused(fixtures, "channels_first", "layer \"nchw\" (Conv2D)", "data_format \"channels_first\"");
    check_refused(fixtures, "concat_batch", "layer \"batch_concat\" (Concatenate)", "axis 0");
    check_refused(fixtures, "nested_lstm", "layer \"encoder/recurrent\" (LSTM)", "not supported");
    check_refused(fixtures, "nested_shared", "(Functional)", "called 2 times");
    check_refused(fixtures, "nested_two_outputs", "layer \"split\" (Functional)", "2 outputs");

    /* The refusal comes from the first pass: an unsupported layer listed last
     * is found even though an earlier layer's inputs are broken. */
    const char *late =
        "{\"class_name\": \"Functional\", \"config\": {\"name\": \"m\", \"layers\": ["
        "{\"class_name\": \"InputLayer\", \"name\": \"in\", \"config\": {\"batch_input_shape\": [null, 4, 4, 3]},"
        " \"inbound_nodes\": []},"
        "{\"class_name\": \"Dense\", \"name\": \"d\", \"config\": {\"units\": 2}, \"inbound_nodes\": "
        "[[[\"in\", 0, 0, {}]]]},"
        "{\"class_name\": \"Conv2D\", \"name\": \"c\", \"config\": {\"filters\": 2, \"kernel_size\": 3, "
        "\"dilation_rate\": [1, 3]}, \"inbound_nodes\": [[[\"d\", 0, 0, {}]]]}],"
        " \"input_layers\": [[\"in\", 0, 0]], \"output_layers\": [[\"c\", 0, 0]]}}";
    dlp_keras_model *model = NULL;
    CHECK_FAILS(dlp_keras_model_from_config(late, NULL, &model), DLP_ERR_UNSUPPORTED,
                "layer \"c\" (Conv2D): dilation_rate (1, 3)");
    /* A shared layer (called twice) and an open image size without options. */
    const char *shared =
        "{\"class_name\": \"Functional\", \"config\": {\"name\": \"m\", \"layers\": ["
        "{\"class_name\": \"InputLayer\", \"name\": \"in\", \"config\": {\"batch_input_shape\": [null, 4]},"
        " \"inbound_nodes\": []},"
        "{\"class_name\": \"Dense\", \"name\": \"d\", \"config\": {\"units\": 4}, \"inbound_nodes\": "
        "[[[\"in\", 0, 0, {}]], [[\"d\", 0, 0, {}]]]}],"
        " \"input_layers\": [[\"in\", 0, 0]], \"output_layers\": [[\"d\", 1, 0]]}}";
    CHECK_FAILS(dlp_keras_model_from_config(shared, NULL, &model), DLP_ERR_UNSUPPORTED,
                "layer \"d\" (Dense): called 2 times");
    const char *open_size =
        "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"s\", \"layers\": ["
        "{\"class_name\": \"Conv2D\", \"config\": {\"name\": \"c\", \"filters\": 2, \"kernel_size\": [3, 3], "
        "\"batch_input_shape\": [null, null, null, 3]}}]}}";
    CHECK_FAILS(dlp_keras_model_from_config(open_size, NULL, &model), DLP_ERR_UNSUPPORTED, "open (None)");
    dlp_keras_model_options options = {16, 20};
    CHECK_OK(dlp_keras_model_from_config(open_size, &options, &model));
    if (model) {
        dlp_shape in = dlp_keras_model_input_shape(model), out = dlp_keras_model_output_shape(model, 0);
        CHECK(in.h == 16 && in.w == 20 && in.c == 3);
        CHECK(out.h == 14 && out.w == 18 && out.c == 2);
        CHECK(strcmp(dlp_keras_model_input_name(model), "c_input") == 0);
        dlp_keras_model_destroy(model);
    }
}

/* dlp_keras_model_load checks the config before it reads any weight: a
 * TF.js model.json with an LSTM and a shard that does not exist is refused
 * for the LSTM, not for the missing shard (a Keras .h5's model_config
 * attribute is likewise read alone first). */
static void check_refused_before_weights(const char *fixtures)
{
    const char *tmp = check_env("DLP_TEST_TMP");
    char path[1024], config_path[1024];
    snprintf(config_path, sizeof config_path, "%s/keras_model/refuse_lstm.json", fixtures);
    char *config = read_text(config_path);
    CHECK(config != NULL);
    if (!config) return;
    snprintf(path, sizeof path, "%s/keras_model_lstm.json", tmp);
    FILE *file = fopen(path, "w");
    CHECK(file != NULL);
    if (!file) {
        free(config);
        return;
    }
    fprintf(file, "{\"format\": \"layers-model\", \"modelTopology\": {\"model_config\": %s}, \"weightsManifest\": "
                  "[{\"paths\": [\"missing-shard.bin\"], \"weights\": [{\"name\": \"recurrent/kernel\", "
                  "\"shape\": [24, 16], \"dtype\": \"float32\"}]}]}",
            config);
    fclose(file);
    dlp_keras_model *model = NULL;
    CHECK_FAILS(dlp_keras_model_load(path, NULL, &model), DLP_ERR_UNSUPPORTED, "layer \"recurrent\" (LSTM)");
    CHECK(model == NULL);
    snprintf(path, sizeof path, "%s/keras_model/refuse_lstm.h5", fixtures);
    CHECK_FAILS(dlp_keras_model_load(path, NULL, &model), DLP_ERR_UNSUPPORTED, "layer \"recurrent\" (LSTM)");
    free(config);
}

/* Rescaling with per-channel lists and Normalization(invert=True) with the
 * config's mean and variance, on a [2, 3] input, against their definitions
 * (tf-keras 2.18: x*scale + offset; mean + x*max(sqrt(variance), 1e-7)). */
static void check_affine_layers(void)
{
    const char *config =
        "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"affine\", \"layers\": ["
        "{\"class_name\": \"InputLayer\", \"config\": {\"name\": \"in\", \"batch_input_shape\": [null, 2, 3]}},"
        "{\"class_name\": \"Rescaling\", \"config\": {\"name\": \"r\", \"scale\": [0.5, -2.0, 4.0], \"offset\": 1.5}},"
        "{\"class_name\": \"Normalization\", \"config\": {\"name\": \"n\", \"axis\": -1, \"invert\": true, "
        "\"mean\": [1.0, 2.0, 3.0], \"variance\": [4.0, 0.25, 9.0]}}]}}";
    dlp_keras_model *model = NULL;
    CHECK_OK(dlp_keras_model_from_config(config, NULL, &model));
    if (!model) return;
    int dims[3];
    CHECK(dlp_keras_model_input_dims(model, dims) == 2 && dims[0] == 2 && dims[1] == 3);
    dlp_backend *cpu = NULL;
    dlp_plan *plan = NULL;
    CHECK_OK(dlp_backend_create_cpu(1, &cpu));
    CHECK_OK(dlp_keras_model_plan(model, cpu, 1, &plan));
    float x[6] = {1, -2, 3, 0.5f, 7, -1}, y[6];
    const double scale[3] = {0.5, -2.0, 4.0}, mean[3] = {1, 2, 3}, deviation[3] = {2, 0.5, 3};
    if (plan) {
        CHECK_OK(dlp_plan_run(plan, x, 1));
        CHECK_OK(dlp_plan_read_output(plan, 0, y, 6));
        for (int i = 0; i < 6; i++) {
            int c = i % 3;
            CHECK_NEAR(y[i], mean[c] + (x[i] * scale[c] + 1.5) * deviation[c], 1e-5);
        }
    }
    dlp_plan_destroy(plan);
    dlp_backend_destroy(cpu);
    dlp_keras_model_destroy(model);
}

enum { SIDE = ORACLE_SIDE };

static void check_nsfwjs(const char *shared)
{
    dlp_keras_model *model = oracle_load_nsfwjs_model(shared);
    if (!model) return;
    CHECK(dlp_keras_model_output_count(model) == 1);
    CHECK(strcmp(dlp_keras_model_output_name(model, 0), "dense_3") == 0);
    dlp_shape in = dlp_keras_model_input_shape(model);
    CHECK(in.h == SIDE && in.w == SIDE && in.c == 3);
    CHECK(dlp_keras_model_output_shape(model, 0).c == 5);

    dlp_backend *cpu = NULL;
    CHECK_OK(dlp_backend_create_cpu(0, &cpu));
    if (cpu) oracle_check_nsfwjs_user_model(shared, model, cpu, "nsfwjs");
    dlp_backend_destroy(cpu);
    dlp_keras_model_destroy(model);
}

/* A nested model's layers become nodes "<model>/<layer>", so equal inner
 * names in two nested models ("conv" in backbone and head) stay apart, and
 * the outer model's own layers keep their names. */
static void check_nested_names(const char *fixtures)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/keras_model/nested_functional.h5", fixtures);
    dlp_keras_model *model = NULL;
    CHECK_OK(dlp_keras_model_load(path, NULL, &model));
    if (!model) return;
    const dlp_graph *graph = dlp_keras_model_graph(model);
    CHECK(dlp_graph_find(graph, "backbone/conv") >= 0 && dlp_graph_find(graph, "head/conv") >= 0);
    CHECK(dlp_graph_find(graph, "backbone/merge") >= 0 && dlp_graph_find(graph, "scale") >= 0);
    CHECK(dlp_graph_find(graph, "backbone/backbone_in") < 0); /* the inner input is the outer tensor */
    CHECK(!strcmp(dlp_keras_model_input_name(model), "image"));
    dlp_keras_model_destroy(model);
    snprintf(path, sizeof path, "%s/keras_model/nested_sequential.h5", fixtures);
    CHECK_OK(dlp_keras_model_load(path, NULL, &model));
    if (model) CHECK(dlp_graph_find(dlp_keras_model_graph(model), "middle/innermost/deep_bn") >= 0);
    dlp_keras_model_destroy(model);
}

int main(void)
{
    const char *fixtures = check_env("DLP_FIXTURES");
    const char *shared = check_env("DLP_SHARED_DIR");
    check_fixture_model(fixtures, "every_layer", 6);
    check_fixture_model(fixtures, "tensor_2d", 1);
    check_fixture_model(fixtures, "sequential", 1);
    check_fixture_model(fixtures, "keras3", 2);
    check_fixture_model(fixtures, "nested_functional", 1);
    check_fixture_model(fixtures, "nested_sequential", 1);
    check_nested_names(fixtures);
    check_refusals(fixtures);
    check_refused_before_weights(fixtures);
    check_affine_layers();
    check_nsfwjs(shared);
    return check_summary("keras_model");
}

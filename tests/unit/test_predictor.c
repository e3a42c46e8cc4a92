/* test_predictor.c: the ImageNet predictor (dlp/predictor.h, dlp classify)
 * against tf-keras 2.18's decode_predictions on the zoo models with
 * dlp-synth-v1 weights (tests/fixtures/imagenet/, from
 * tests/oracle/imagenet_oracle.py), CPU backend:
 *   the built-in class list equals data/imagenet_class_index.json (parsed here
 *   with Jansson) and the (wnid, description) pairs Keras printed;
 *   per model and chosen input (a fixture photo, Keras-preprocessed, times
 *   2^-k): dlp_predictor_run_tensors' top 5 against decode_predictions. A
 *   rank the oracle marks determined (float64 logit gap to both neighbours
 *   >= 1e-4 max|logit|, probability a normal float) must have the same class
 *   id, wnid and description; every rank's probability must be within
 *   1e-4 * ||p_keras||_2 of Keras' (the zoo suites' relative-L2 budget, which
 *   bounds each element); at an undetermined rank (synthetic ResNet50's
 *   exact 0.0 ties, ordered by NumPy's argsort) our class must be one Keras
 *   gives that probability too (Keras' full row, probabilities.npy);
 *   dlp_imagenet_top_k on Keras' own probabilities gives decode_predictions'
 *   determined ranks exactly;
 * and for ResNet50 (its 224 photos are committed): dlp_predictor_run on the
 * image files with a missing file (NaN row, error on the row), weights
 * without the top refused naming "predictions", and `dlp classify` (JSON
 * Lines top 5 and .npy probabilities) on the same files.
 * test_predictor_vgg.c includes this file for VGG16 and VGG19. */
#include <jansson.h>
#include <sys/wait.h>

#include "check.h"
#include "dlp/dlp.h"
#include "weights/synth.h"
#include "zoo_fixture.h"

#ifndef PREDICTOR_MODELS
#define PREDICTOR_MODELS "inception_v3,xception,resnet50"
#define PREDICTOR_SUITE "predictor"
#endif
/* tests/gpu/test_predictor_cuda.c runs this suite with "cuda". */
#ifndef PREDICTOR_DEVICE
#define PREDICTOR_DEVICE "cpu"
#endif

enum { INPUTS = 3, TOP = 5, CLASSES = DLP_IMAGENET_CLASSES };
static const char *fixtures, *shared, *source_dir, *tmp;

static dlp_tensor_list *synthetic_weights(json_t *order, const char *skip_layer)
{
    json_t *rows = json_object_get(order, "weights");
    size_t count = json_array_size(rows), used = 0;
    dlp_synth_spec *specs = calloc(count ? count : 1, sizeof *specs);
    if (!specs) return NULL;
    for (size_t r = 0; r < count; r++) {
        json_t *row = json_array_get(rows, r), *shape = json_array_get(row, 3);
        const char *layer = json_string_value(json_array_get(row, 1));
        if (skip_layer && !strcmp(layer, skip_layer)) continue;
        dlp_synth_spec *spec = &specs[used++];
        spec->layer_index = (int)json_integer_value(json_array_get(row, 0));
        spec->layer_name = layer;
        spec->slot = json_string_value(json_array_get(row, 2));
        spec->ndim = (int)json_array_size(shape);
        for (int d = 0; d < spec->ndim && d < DLP_MAX_DIMS; d++)
            spec->shape[d] = json_integer_value(json_array_get(shape, (size_t)d));
    }
    dlp_tensor_list *list = NULL;
    CHECK_OK(dlp_synth_tensor_list(specs, used, &list));
    free(specs);
    return list;
}

static void check_class_list(json_t *doc)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/data/imagenet_class_index.json", source_dir);
    json_error_t error;
    json_t *file = json_load_file(path, JSON_REJECT_DUPLICATES, &error);
    CHECK(file && json_object_size(file) == CLASSES);
    int same = 0;
    for (int id = 0; file && id < CLASSES; id++) {
        char key[8];
        snprintf(key, sizeof key, "%d", id);
        json_t *entry = json_object_get(file, key);
        const char *wnid = NULL, *description = NULL;
        CHECK_OK(dlp_imagenet_class(id, &wnid, &description));
        same += wnid && description && !strcmp(wnid, json_string_value(json_array_get(entry, 0))) &&
                !strcmp(description, json_string_value(json_array_get(entry, 1)));
    }
    printf("  class list: %d of 1000 classes equal data/imagenet_class_index.json (MD5 %s per the oracle, Keras pins %s)\n",
           same, json_string_value(json_object_get(json_object_get(doc, "class_index"), "md5")),
           json_string_value(json_object_get(json_object_get(doc, "class_index"), "keras_pinned_md5")));
    CHECK(same == CLASSES);
    CHECK(!strcmp(json_string_value(json_object_get(json_object_get(doc, "class_index"), "md5")),
                  json_string_value(json_object_get(json_object_get(doc, "class_index"), "keras_pinned_md5"))));
    CHECK_FAILS(dlp_imagenet_class(CLASSES, NULL, NULL), DLP_ERR_INVALID_ARGUMENT, "1000");
    CHECK_FAILS(dlp_imagenet_class(-1, NULL, NULL), DLP_ERR_INVALID_ARGUMENT, "-1");
    json_decref(file);
}

/* Ties rank by class id; k bounds; NaN refused. */
static void check_top_k_rules(void)
{
    float row[CLASSES];
    for (int c = 0; c < CLASSES; c++) row[c] = 0.0f;
    row[7] = 0.5f, row[3] = 0.25f, row[900] = 0.25f;
    dlp_prediction top[4];
    CHECK_OK(dlp_imagenet_top_k(row, 4, top));
    CHECK(top[0].class_id == 7 && top[1].class_id == 3 && top[2].class_id == 900 && top[3].class_id == 0);
    CHECK_FAILS(dlp_imagenet_top_k(row, 0, top), DLP_ERR_INVALID_ARGUMENT, "top k = 0");
    CHECK_FAILS(dlp_imagenet_top_k(row, 1001, top), DLP_ERR_INVALID_ARGUMENT, "1001");
    row[5] = NAN;
    CHECK_FAILS(dlp_imagenet_top_k(row, 4, top), DLP_ERR_INVALID_ARGUMENT, "class 5 is NaN");
}

/* Our top 5 (from `ours`) against decode_predictions for one input; keras_row
 * is Keras' full probability row. Returns the number of mismatches. */
static int compare_top5(const char *model, json_t *input, const dlp_prediction *ours, const float *keras_row)
{
    json_t *decoded = json_object_get(input, "decode_predictions"), *ids = json_object_get(input, "class_ids");
    json_t *determined = json_object_get(input, "determined");
    double tolerance = 1e-4 * json_number_value(json_object_get(input, "probability_l2"));
    int failures = 0;
    double worst = 0;
    for (int r = 0; r < TOP; r++) {
        json_t *want = json_array_get(decoded, (size_t)r);
        const char *wnid = json_string_value(json_array_get(want, 0)), *name = json_string_value(json_array_get(want, 1));
        double p = json_number_value(json_array_get(want, 2)), error = fabs(ours[r].probability - p);
        worst = fmax(worst, error);
        bool ok = error <= tolerance;
        if (json_is_true(json_array_get(determined, (size_t)r)))
            ok = ok && ours[r].class_id == json_integer_value(json_array_get(ids, (size_t)r)) && wnid && name &&
                 !strcmp(ours[r].wnid, wnid) && !strcmp(ours[r].description, name);
        else
            ok = ok && fabs(keras_row[ours[r].class_id] - p) <= tolerance;
        if (!ok)
            fprintf(stderr, "  %s %s 2^-%lld rank %d: ours %d %s %s %.9g, Keras %lld %s %s %.9g (%s)\n", model,
                    json_string_value(json_object_get(input, "photo")),
                    json_integer_value(json_object_get(input, "scale_exponent")), r + 1, ours[r].class_id,
                    ours[r].wnid, ours[r].description, ours[r].probability,
                    json_integer_value(json_array_get(ids, (size_t)r)), wnid, name, p,
                    json_is_true(json_array_get(determined, (size_t)r)) ? "determined" : "tied in Keras");
        failures += !ok;
    }
    printf("  %s %-9s x 2^-%lld: top-5 %s (%s), worst |dp| %.3g (tolerance %.3g)\n", model,
           json_string_value(json_object_get(input, "photo")),
           json_integer_value(json_object_get(input, "scale_exponent")), failures ? "DIFFERS" : "equal",
           ours[0].description, worst, tolerance);
    return failures;
}

static const zoo_model_case *find_case(const char *fixture)
{
    for (int i = 0; i < ZOO_MODEL_CASES; i++)
        if (!strcmp(zoo_model_cases[i].fixture, fixture)) return &zoo_model_cases[i];
    return NULL;
}

static void photo_path(const zoo_model_case *model, const char *photo, char *path, size_t size)
{
    if (model->input == 299) snprintf(path, size, "%s/oracle/inception_v3/%s_299.png", shared, photo);
    else snprintf(path, size, "%s/images/%s_%d.png", fixtures, photo, model->input);
}

/* The library's image path (decode, resize to the model's side, its
 * normalization), times the input's scale. */
static bool load_input(const zoo_model_case *model, json_t *input, float *out)
{
    char path[4096];
    photo_path(model, json_string_value(json_object_get(input, "photo")), path, sizeof path);
    dlp_image image = {0};
    if (dlp_image_read(path, &image) != DLP_OK) return false;
    const dlp_model_info *info = dlp_zoo_find(model->name);
    dlp_normalize normalize = info->preprocessing == DLP_PREPROCESS_CAFFE ? DLP_NORMALIZE_CAFFE : DLP_NORMALIZE_TF;
    bool ok = dlp_image_resize_float(&image, model->input, model->input, DLP_RESIZE_AREA, normalize, out) == DLP_OK;
    dlp_image_free(&image);
    float scale = (float)json_number_value(json_object_get(input, "scale"));
    for (size_t i = 0; i < (size_t)model->input * model->input * 3; i++) out[i] *= scale;
    return ok;
}

static float *read_npy(const char *path, size_t *rows)
{
    float *data = NULL;
    size_t cols = 0;
    CHECK_OK(dlp_npy_read_f32(path, &data, rows, &cols));
    CHECK(cols == CLASSES);
    return data;
}

/* Rows [first_row, +INPUTS) of probabilities.npy: Keras' top 5 through dlp_imagenet_top_k. */
static void check_decode_of_keras(const char *model, json_t *inputs, const float *keras_rows)
{
    for (size_t i = 0; i < json_array_size(inputs); i++) {
        json_t *input = json_array_get(inputs, i);
        dlp_prediction top[TOP];
        CHECK_OK(dlp_imagenet_top_k(keras_rows + i * CLASSES, TOP, top));
        json_t *determined = json_object_get(input, "determined"), *decoded = json_object_get(input, "decode_predictions");
        for (int r = 0; r < TOP; r++) {
            json_t *want = json_array_get(decoded, (size_t)r);
            CHECK(top[r].probability == (float)json_number_value(json_array_get(want, 2)));
            if (json_is_true(json_array_get(determined, (size_t)r)))
                CHECK(!strcmp(top[r].wnid, json_string_value(json_array_get(want, 0))));
        }
    }
    (void)model;
}

static dlp_predictor *make_predictor(const char *name, const dlp_tensor_list *weights, const char *path)
{
    dlp_predictor_options options;
    dlp_predictor_options_init(&options);
    options.model = name;
    options.device = PREDICTOR_DEVICE;
    options.batch_size = INPUTS;
    options.weights = path;
    dlp_predictor *predictor = NULL;
    if (weights) CHECK_OK(dlp_predictor_create_with_weights(&options, weights, &predictor));
    else CHECK_OK(dlp_predictor_create(&options, &predictor));
    return predictor;
}

/* Runs `dlp classify ARGS` with stderr to a file; returns the exit code. */
static int run_cli(const char *args, const char *stderr_path)
{
    char command[12288];
    snprintf(command, sizeof command, "'%s' classify %s 2>'%s'", check_env("DLP_BIN"), args, stderr_path);
    int status = system(command);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static bool file_contains(const char *path, const char *needle)
{
    char text[8192] = "";
    FILE *file = fopen(path, "r");
    size_t n = file ? fread(text, 1, sizeof text - 1, file) : 0;
    text[n] = 0;
    if (file) fclose(file);
    if (!strstr(text, needle)) fprintf(stderr, "%s lacks \"%s\": %s\n", path, needle, text);
    return strstr(text, needle) != NULL;
}

/* JSON Lines from dlp classify: top_k of each line against the fixture. */
static void check_cli_jsonl(const char *path, json_t *inputs, const float *keras_rows)
{
    FILE *file = fopen(path, "r");
    CHECK(file != NULL);
    char line[16384];
    size_t i = 0;
    while (file && fgets(line, sizeof line, file) && i < json_array_size(inputs)) {
        json_t *doc = json_loads(line, 0, NULL), *top = json_object_get(doc, "top_k");
        dlp_prediction ours[TOP];
        CHECK(json_array_size(top) == TOP);
        for (int r = 0; r < TOP && json_array_size(top) == TOP; r++) {
            json_t *entry = json_array_get(top, (size_t)r);
            ours[r].class_id = (int)json_integer_value(json_object_get(entry, "class"));
            ours[r].wnid = json_string_value(json_object_get(entry, "wnid"));
            ours[r].description = json_string_value(json_object_get(entry, "description"));
            ours[r].probability = (float)json_number_value(json_object_get(entry, "probability"));
        }
        if (json_array_size(top) == TOP)
            CHECK(compare_top5("cli ResNet50", json_array_get(inputs, i), ours, keras_rows + i * CLASSES) == 0);
        json_decref(doc);
        i++;
    }
    CHECK(i == json_array_size(inputs));
    if (file) fclose(file);
}

static void record_done(void *context, size_t done, size_t total)
{
    if (done <= total) *(size_t *)context = done;
}

/* ResNet50 from image files: the library's dataset path and the CLI. */
static void check_files(const zoo_model_case *model, json_t *order, json_t *inputs, const float *tensor_probs,
                        const float *keras_rows)
{
    char weights_path[1024], notop_path[1024], images[3][1024], args[8192], err[1024], out[1024];
    snprintf(weights_path, sizeof weights_path, "%s/predictor_%s.safetensors", tmp, model->fixture);
    snprintf(notop_path, sizeof notop_path, "%s/predictor_%s_notop.safetensors", tmp, model->fixture);
    snprintf(err, sizeof err, "%s/predictor_stderr.txt", tmp);
    dlp_tensor_list *weights = synthetic_weights(order, NULL), *notop = synthetic_weights(order, "predictions");
    CHECK_OK(dlp_safetensors_write(weights_path, weights));
    CHECK_OK(dlp_safetensors_write(notop_path, notop));
    dlp_tensor_list_destroy(weights);
    dlp_tensor_list_destroy(notop);

    dlp_dataset *dataset = NULL;
    CHECK_OK(dlp_dataset_create(&dataset));
    for (size_t i = 0; i < INPUTS; i++) {
        json_t *input = json_array_get(inputs, i);
        CHECK(json_integer_value(json_object_get(input, "scale_exponent")) == 0);
        photo_path(model, json_string_value(json_object_get(input, "photo")), images[i], sizeof images[i]);
        CHECK_OK(dlp_dataset_add(dataset, images[i], -1));
    }
    CHECK_OK(dlp_dataset_add(dataset, "/nonexistent/missing.png", -1));
    dlp_predictor *predictor = make_predictor(model->name, NULL, weights_path);
    float *probs = malloc((INPUTS + 1) * CLASSES * sizeof(float));
    size_t failed = 0;
    if (predictor && probs) {
        size_t done = 0;
        CHECK_OK(dlp_predictor_run_progress(predictor, dataset, 0, INPUTS + 1, probs, &failed, record_done, &done));
        CHECK(done == INPUTS + 1);
        double worst = 0;
        for (size_t k = 0; k < INPUTS * CLASSES; k++) worst = fmax(worst, fabs(probs[k] - tensor_probs[k]));
        printf("  %s from files: max |difference| to the tensor path %.3g, failed rows %zu\n", model->name, worst,
               failed);
        CHECK(worst <= 1e-6 && failed == 1 && isnan(probs[INPUTS * CLASSES]));
        dlp_row row;
        CHECK_OK(dlp_dataset_row(dataset, INPUTS, &row));
        CHECK(row.status != DLP_OK);
    }
    free(probs);
    dlp_predictor_destroy(predictor);
    dlp_dataset_destroy(dataset);

    dlp_predictor_options options;
    dlp_predictor_options_init(&options);
    options.model = model->name;
    options.device = PREDICTOR_DEVICE;
    options.weights = notop_path;
    dlp_predictor *refused = NULL;
    CHECK_FAILS(dlp_predictor_create(&options, &refused), DLP_ERR_MODEL, "no weights for layer \"predictions\"");
    CHECK(refused == NULL);

    snprintf(out, sizeof out, "%s/predictor_top5.jsonl", tmp);
    snprintf(args, sizeof args,
             "--model %s --weights '%s' --device " PREDICTOR_DEVICE " --top-k 5 -o '%s' '%s' '%s' '%s'", model->name,
             weights_path, out, images[0], images[1], images[2]);
    CHECK(run_cli(args, err) == 0);
    check_cli_jsonl(out, inputs, keras_rows);
    snprintf(out, sizeof out, "%s/predictor_probabilities.npy", tmp);
    snprintf(args, sizeof args,
             "--model %s --weights '%s' --device " PREDICTOR_DEVICE " --probabilities -o '%s' '%s' '%s' '%s'",
             model->name, weights_path, out, images[0], images[1], images[2]);
    CHECK(run_cli(args, err) == 0);
    size_t rows = 0;
    float *cli_probs = read_npy(out, &rows);
    CHECK(rows == INPUTS);
    for (size_t k = 0; cli_probs && rows == INPUTS && k < INPUTS * CLASSES; k++)
        if (cli_probs[k] != tensor_probs[k] && fabs(cli_probs[k] - tensor_probs[k]) > 1e-6) {
            CHECK(!"dlp classify --probabilities differs from the library");
            break;
        }
    free(cli_probs);
    /* One row per chunk (DLP_FEATURIZE_CHUNK_BYTES=4000): the same bytes, a missing file keeping its row (exit 5). */
    static const char *const chunked_outputs[2][2] = {{"--top-k 5", "jsonl"}, {"--probabilities", "npy"}};
    for (int k = 0; k < 2; k++) {
        char whole[1024], chunked[1024];
        snprintf(whole, sizeof whole, "%s/predictor_whole.%s", tmp, chunked_outputs[k][1]);
        snprintf(chunked, sizeof chunked, "%s/predictor_chunked.%s", tmp, chunked_outputs[k][1]);
        for (int pass = 0; pass < 2; pass++) {
            snprintf(args, sizeof args,
                     "--model %s --weights '%s' --device " PREDICTOR_DEVICE " %s -o '%s' '%s' /nonexistent.png '%s' "
                     "'%s'", model->name, weights_path, chunked_outputs[k][0], pass ? chunked : whole, images[0],
                     images[1], images[2]);
            if (pass) setenv("DLP_FEATURIZE_CHUNK_BYTES", "4000", 1);
            CHECK(run_cli(args, err) == 5);
            unsetenv("DLP_FEATURIZE_CHUNK_BYTES");
        }
        size_t whole_bytes = 0, chunked_bytes = 0;
        unsigned char *a = check_read_file(whole, &whole_bytes), *b = check_read_file(chunked, &chunked_bytes);
        CHECK(a && b && whole_bytes > 0 && whole_bytes == chunked_bytes && memcmp(a, b, whole_bytes) == 0);
        free(a), free(b);
    }
    snprintf(args, sizeof args, "--model %s --weights '%s' --device " PREDICTOR_DEVICE " -o '%s' '%s'", model->name,
             notop_path, out, images[0]);
    CHECK(run_cli(args, err) == 3);
    CHECK(file_contains(err, "no weights for layer \"predictions\""));
    remove(weights_path);
    remove(notop_path);
}

static void check_model(const char *fixture, json_t *doc, const float *keras_all)
{
    const zoo_model_case *model = find_case(fixture);
    json_t *entry = json_object_get(json_object_get(doc, "models"), fixture);
    json_t *inputs = json_object_get(entry, "inputs");
    CHECK(model && json_array_size(inputs) == INPUTS);
    if (!model || json_array_size(inputs) != INPUTS) return;
    const float *keras_rows = keras_all + (size_t)json_integer_value(json_object_get(entry, "first_row")) * CLASSES;
    check_decode_of_keras(model->name, inputs, keras_rows);
    size_t pixels = (size_t)model->input * model->input * 3;
    float *input = malloc(INPUTS * pixels * sizeof(float)), *probs = malloc(INPUTS * CLASSES * sizeof(float));
    bool loaded = input && probs;
    for (size_t i = 0; loaded && i < INPUTS; i++) loaded = load_input(model, json_array_get(inputs, i), input + i * pixels);
    if (!loaded && model->input == 299) {
        printf("  %s: skipped, its 299x299 photos are in ../shared/oracle/inception_v3 (not found)\n", model->name);
        free(input);
        free(probs);
        return;
    }
    CHECK(loaded);
    char order_file[256];
    snprintf(order_file, sizeof order_file, "weight_order_%s.json", fixture);
    json_t *order = zoo_fixture_json(fixtures, order_file);
    dlp_tensor_list *weights = order ? synthetic_weights(order, NULL) : NULL;
    dlp_predictor *predictor = weights ? make_predictor(model->name, weights, NULL) : NULL;
    dlp_tensor_list_destroy(weights);
    if (predictor && loaded) {
        CHECK_OK(dlp_predictor_run_tensors(predictor, input, INPUTS, probs));
        for (size_t i = 0; i < INPUTS; i++) {
            dlp_prediction top[TOP];
            CHECK_OK(dlp_imagenet_top_k(probs + i * CLASSES, TOP, top));
            CHECK(compare_top5(model->name, json_array_get(inputs, i), top, keras_rows + i * CLASSES) == 0);
        }
        if (!strcmp(fixture, "resnet50")) check_files(model, order, inputs, probs, keras_rows);
    }
    dlp_predictor_destroy(predictor);
    json_decref(order);
    free(input);
    free(probs);
}

int main(void)
{
    fixtures = check_env("DLP_FIXTURES");
    shared = check_env("DLP_SHARED_DIR");
    source_dir = check_env("DLP_SOURCE_DIR");
    tmp = check_env("DLP_TEST_TMP");
    if (strcmp(PREDICTOR_DEVICE, "cpu") != 0) check_skip_without_cuda();
    char path[4096];
    snprintf(path, sizeof path, "%s/imagenet/decode_predictions.json", fixtures);
    json_error_t error;
    json_t *doc = json_load_file(path, 0, &error);
    CHECK(doc != NULL);
    snprintf(path, sizeof path, "%s/imagenet/probabilities.npy", fixtures);
    size_t rows = 0;
    float *keras_all = doc ? read_npy(path, &rows) : NULL;
    if (doc && keras_all) {
        check_class_list(doc);
        check_top_k_rules();
        const char *models = getenv("DLP_PREDICTOR_MODELS") ? getenv("DLP_PREDICTOR_MODELS") : PREDICTOR_MODELS;
        char list[256];
        snprintf(list, sizeof list, "%s", models);
        for (char *name = strtok(list, ","); name; name = strtok(NULL, ",")) check_model(name, doc, keras_all);
    }
    free(keras_all);
    json_decref(doc);
    return check_summary(PREDICTOR_SUITE);
}

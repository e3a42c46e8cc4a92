/* TF.js layers import: the real nsfwjs model (382 uint8-quantized weights,
 * dequantized as q*scale + min) and bad inputs written to DLP_TEST_TMP:
 * missing and truncated shards, shape/byte mismatches, bad quantization,
 * unknown dtypes, each refused with the file, the weight and expected/found. */
#include <jansson.h>

#include "check.h"
#include "dlp/dlp.h"

static char tmp_dir[512];

static void write_bytes(const char *name, const void *data, size_t size)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", tmp_dir, name);
    FILE *file = fopen(path, "wb");
    if (size) fwrite(data, 1, size, file);
    fclose(file);
}

static const char *model_path(void)
{
    static char path[1024];
    snprintf(path, sizeof path, "%s/model.json", tmp_dir);
    return path;
}

/* A two-weight model: w1 uint8 [2,2] scale 0.5 min -1, w2 float32 [3]. */
static void write_model(const char *w1_quantization, const char *w2_shape, const char *w2_dtype)
{
    char json[2048];
    snprintf(json, sizeof json,
             "{\"format\":\"layers-model\",\"modelTopology\":{\"model_config\":{\"class_name\":\"Sequential\","
             "\"config\":{\"name\":\"s\",\"layers\":[]}}},\"weightsManifest\":[{\"paths\":[\"g-shard1of2.bin\","
             "\"g-shard2of2.bin\"],\"weights\":[{\"name\":\"dense_1/kernel\",\"shape\":[2,2],\"dtype\":\"float32\","
             "\"quantization\":%s},{\"name\":\"dense_1/bias\",\"shape\":%s,\"dtype\":\"%s\"}]}]}",
             w1_quantization, w2_shape, w2_dtype);
    write_bytes("model.json", json, strlen(json));
}

static void write_shards(size_t second_bytes)
{
    unsigned char q[4] = {0, 1, 2, 255};
    float w2[3] = {1.5f, -2.0f, 0.25f};
    unsigned char second[12];
    memcpy(second, w2, sizeof w2);
    write_bytes("g-shard1of2.bin", q, 2);
    unsigned char rest[14];
    memcpy(rest, q + 2, 2);
    memcpy(rest + 2, second, second_bytes);
    write_bytes("g-shard2of2.bin", rest, 2 + second_bytes);
}

static const char *good_quantization = "{\"dtype\":\"uint8\",\"scale\":0.5,\"min\":-1}";

int main(void)
{
    snprintf(tmp_dir, sizeof tmp_dir, "%s/tfjs", check_env("DLP_TEST_TMP"));
    char command[600];
    snprintf(command, sizeof command, "mkdir -p '%s'", tmp_dir);
    CHECK(system(command) == 0);

    /* A small model split across two shards. */
    write_model(good_quantization, "[3]", "float32");
    write_shards(12);
    dlp_tensor_list *list = NULL;
    CHECK_OK(dlp_tfjs_load(model_path(), &list));
    if (list) {
        CHECK(dlp_tensor_list_count(list) == 2);
        const dlp_named_tensor *kernel = dlp_tensor_list_at(list, 0);
        CHECK(strcmp(kernel->name, "dense_1/kernel") == 0 && kernel->dtype == DLP_DTYPE_F32);
        const float *k = kernel->data;
        CHECK(k[0] == -1.0f && k[1] == -0.5f && k[2] == 0.0f && k[3] == 126.5f);
        const float *bias = dlp_tensor_list_at(list, 1)->data;
        CHECK(bias[0] == 1.5f && bias[1] == -2.0f && bias[2] == 0.25f);
        const char *config = dlp_tensor_list_get_metadata(list, "model_config");
        CHECK(config && strstr(config, "Sequential"));
        dlp_tensor_list_destroy(list);
    }

    /* Truncated shard: names the weight it cuts and the byte counts. */
    write_shards(8);
    list = NULL;
    CHECK_FAILS(dlp_tfjs_load(model_path(), &list), DLP_ERR_FORMAT, "dense_1/bias");
    CHECK_FAILS(dlp_tfjs_load(model_path(), &list), DLP_ERR_FORMAT, "hold 12 bytes, its weights take 16");
    CHECK(list == NULL);
    /* Too many bytes (shape says fewer than the shards hold). */
    write_shards(12);
    write_model(good_quantization, "[2]", "float32");
    CHECK_FAILS(dlp_tfjs_load(model_path(), &list), DLP_ERR_FORMAT, "g-shard2of2.bin");
    /* Fuzz finding: a shape far larger than the shards was allocated before
     * the shards were read (malloc of 4 TB); now refused from the file sizes. */
    write_model(good_quantization, "[1000000000000]", "float32");
    CHECK_FAILS(dlp_tfjs_load(model_path(), &list), DLP_ERR_FORMAT, "truncated or missing");
    /* Missing shard. */
    write_model(good_quantization, "[3]", "float32");
    char path[1024];
    snprintf(path, sizeof path, "%s/g-shard2of2.bin", tmp_dir);
    remove(path);
    CHECK_FAILS(dlp_tfjs_load(model_path(), &list), DLP_ERR_IO, "g-shard2of2.bin");
    CHECK_FAILS(dlp_tfjs_load(model_path(), &list), DLP_ERR_IO, "dense_1/kernel");
    write_shards(12);
    /* Bad quantization parameters and dtypes. */
    write_model("{\"dtype\":\"uint8\",\"scale\":\"x\",\"min\":0}", "[3]", "float32");
    CHECK_FAILS(dlp_tfjs_load(model_path(), &list), DLP_ERR_FORMAT, "dense_1/kernel");
    write_model("{\"dtype\":\"uint8\",\"scale\":1e999,\"min\":0}", "[3]", "float32");
    CHECK_FAILS(dlp_tfjs_load(model_path(), &list), DLP_ERR_FORMAT, "overflow"); /* JSON has no infinities */
    write_model("{\"dtype\":\"int4\",\"scale\":1,\"min\":0}", "[3]", "float32");
    CHECK_FAILS(dlp_tfjs_load(model_path(), &list), DLP_ERR_UNSUPPORTED, "int4");
    write_model(good_quantization, "[3]", "complex64");
    CHECK_FAILS(dlp_tfjs_load(model_path(), &list), DLP_ERR_UNSUPPORTED, "complex64");
    write_model(good_quantization, "[-3]", "float32");
    CHECK_FAILS(dlp_tfjs_load(model_path(), &list), DLP_ERR_FORMAT, "dense_1/bias");
    write_model(good_quantization, "[1099511627776, 1099511627776]", "float32");
    CHECK_FAILS(dlp_tfjs_load(model_path(), &list), DLP_ERR_LIMIT, "dense_1/bias");
    write_bytes("model.json", "{\"weightsManifest\": 3", 21);
    CHECK_FAILS(dlp_tfjs_load(model_path(), &list), DLP_ERR_FORMAT, "model.json");
    CHECK_FAILS(dlp_tfjs_load("/nonexistent/model.json", &list), DLP_ERR_IO, "/nonexistent/model.json");
    /* Shard paths must stay beside model.json. */
    const char *escape = "{\"weightsManifest\":[{\"paths\":[\"../x.bin\"],\"weights\":[]}]}";
    write_bytes("model.json", escape, strlen(escape));
    CHECK_FAILS(dlp_tfjs_load(model_path(), &list), DLP_ERR_FORMAT, "../x.bin");

    /* The real nsfwjs model: every manifest weight, in manifest order, dequantized. */
    snprintf(path, sizeof path, "%s/models/nsfwjs-inception_v3/model.json", check_env("DLP_SHARED_DIR"));
    json_t *root = json_load_file(path, 0, NULL);
    if (!root) {
        printf("skipped: %s not readable\n", path);
        return check_failures ? 1 : 77;
    }
    list = NULL;
    CHECK_OK(dlp_tfjs_load(path, &list));
    json_t *weights = json_object_get(json_array_get(json_object_get(root, "weightsManifest"), 0), "weights");
    CHECK(list && dlp_tensor_list_count(list) == json_array_size(weights));
    for (size_t i = 0; list && i < json_array_size(weights) && i < dlp_tensor_list_count(list); i++) {
        json_t *w = json_array_get(weights, i);
        const dlp_named_tensor *t = dlp_tensor_list_at(list, i);
        CHECK(strcmp(t->name, json_string_value(json_object_get(w, "name"))) == 0);
        json_t *q = json_object_get(w, "quantization");
        double scale = json_number_value(json_object_get(q, "scale")), min = json_number_value(json_object_get(q, "min"));
        /* Every value is min + k*scale for an integer k in 0..255. */
        const float *data = t->data;
        for (size_t e = 0; e < t->element_count; e += 97) {
            double k = (data[e] - min) / scale;
            CHECK(k > -1e-3 && k < 255.001 && fabs(k - round(k)) < 1e-3);
        }
    }
    if (list) CHECK(dlp_tensor_list_get_metadata(list, "model_config") != NULL);
    dlp_tensor_list_destroy(list);
    json_decref(root);
    return check_summary("tfjs");
}

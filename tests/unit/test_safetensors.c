/* safetensors: files written by the reference Python package read back
 * exactly; dlp's writer round-trips (and tests/oracle/safetensors_oracle.py
 * loads its output with the reference package); malformed files are refused
 * with the reason. */
#include <jansson.h>
#include <sys/stat.h>

#include "check.h"
#include "dlp/dlp.h"

static char scratch_dir[4096];

static const char *scratch(const char *name)
{
    static char path[4200];
    snprintf(path, sizeof path, "%s/%s", scratch_dir, name);
    return path;
}

static int hex_value(char c) { return c <= '9' ? c - '0' : c - 'a' + 10; }

/* Tensor bytes equal the hex string the reference package recorded. */
static int bytes_equal_hex(const void *data, size_t nbytes, const char *hex)
{
    if (strlen(hex) != 2 * nbytes) return 0;
    const unsigned char *bytes = data;
    for (size_t i = 0; i < nbytes; i++)
        if (bytes[i] != (unsigned char)(hex_value(hex[2 * i]) << 4 | hex_value(hex[2 * i + 1]))) return 0;
    return 1;
}

static void check_against_reference(const dlp_safetensors *file, json_t *expected)
{
    json_t *tensors = json_object_get(expected, "tensors");
    CHECK(dlp_safetensors_count(file) == json_object_size(tensors));
    const char *name;
    json_t *want;
    json_object_foreach(tensors, name, want)
    {
        const dlp_named_tensor *tensor = dlp_safetensors_find(file, name);
        CHECK(tensor != NULL);
        if (!tensor) continue;
        CHECK(strcmp(dlp_dtype_name(tensor->dtype), json_string_value(json_object_get(want, "dtype"))) == 0);
        json_t *shape = json_object_get(want, "shape");
        CHECK(tensor->ndim == (int)json_array_size(shape));
        for (int d = 0; d < tensor->ndim && d < (int)json_array_size(shape); d++)
            CHECK(tensor->shape[d] == json_integer_value(json_array_get(shape, (size_t)d)));
        CHECK(bytes_equal_hex(tensor->data, tensor->nbytes, json_string_value(json_object_get(want, "hex"))));
    }
    json_t *metadata = json_object_get(expected, "metadata");
    CHECK(dlp_safetensors_metadata_count(file) == json_object_size(metadata));
    json_t *value;
    json_object_foreach(metadata, name, value)
    {
        const char *ours = dlp_safetensors_metadata(file, name);
        CHECK(ours && strcmp(ours, json_string_value(value)) == 0);
    }
}

static void test_reference_and_round_trip(void)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/safetensors/expected.json", check_env("DLP_FIXTURES"));
    json_error_t error;
    json_t *expected = json_load_file(path, 0, &error);
    CHECK(expected != NULL);
    if (!expected) return;
    snprintf(path, sizeof path, "%s/safetensors/reference.safetensors", check_env("DLP_FIXTURES"));
    dlp_safetensors *file = NULL;
    CHECK_OK(dlp_safetensors_open(path, &file));
    if (!file) return;
    check_against_reference(file, expected);

    /* Tensors come in data order; the reference writer sorts by dtype size
     * then name, so I64 "ids" and F64 "double" lead. */
    CHECK(dlp_safetensors_at(file, 0) && dlp_safetensors_at(file, 0)->dtype != DLP_DTYPE_U8);

    /* Round trip through dlp's writer: same tensors and metadata, and the
     * file is kept for the oracle to load with the reference package. */
    dlp_tensor_list *list = NULL;
    CHECK_OK(dlp_safetensors_to_list(file, &list));
    dlp_safetensors_close(file);
    if (!list) return;
    CHECK_OK(dlp_safetensors_write(scratch("dlp_written.safetensors"), list));
    dlp_safetensors *again = NULL;
    CHECK_OK(dlp_safetensors_open(scratch("dlp_written.safetensors"), &again));
    if (again) {
        check_against_reference(again, expected);
        /* dlp's writer keeps list order. */
        for (size_t i = 0; i < dlp_tensor_list_count(list); i++)
            CHECK(strcmp(dlp_safetensors_at(again, i)->name, dlp_tensor_list_at(list, i)->name) == 0);
        dlp_safetensors_close(again);
    }
    /* The header is padded so the data begins 8-aligned. */
    FILE *written = fopen(scratch("dlp_written.safetensors"), "rb");
    unsigned char length_bytes[8] = {0};
    CHECK(written && fread(length_bytes, 1, 8, written) == 8);
    if (written) fclose(written);
    uint64_t header_bytes = 0;
    for (int i = 7; i >= 0; i--) header_bytes = header_bytes << 8 | length_bytes[i];
    CHECK(header_bytes % 8 == 0);

    dlp_tensor_list *loaded = NULL;
    CHECK_OK(dlp_safetensors_load(scratch("dlp_written.safetensors"), &loaded));
    CHECK(loaded && dlp_tensor_list_count(loaded) == dlp_tensor_list_count(list));
    if (loaded) CHECK(strcmp(dlp_tensor_list_get_metadata(loaded, "architecture"), "test") == 0);
    dlp_tensor_list_destroy(loaded);
    dlp_tensor_list_destroy(list);

    /* The oracle's verdict on a file dlp wrote, if recorded. */
    snprintf(path, sizeof path, "%s/safetensors/python_reads_dlp.json", check_env("DLP_FIXTURES"));
    json_t *verdict = json_load_file(path, 0, &error);
    CHECK(verdict && json_is_true(json_object_get(verdict, "all_tensors_equal")));
    json_decref(verdict);
    json_decref(expected);
}

/* A file from a header string and data_bytes zero bytes. */
static dlp_status parse_text(const char *header, size_t data_bytes, dlp_safetensors **file)
{
    static unsigned char buffer[4096];
    size_t header_bytes = strlen(header);
    for (int i = 0; i < 8; i++) buffer[i] = (unsigned char)((uint64_t)header_bytes >> (8 * i));
    memcpy(buffer + 8, header, header_bytes);
    memset(buffer + 8 + header_bytes, 0, data_bytes);
    return dlp_safetensors_parse(buffer, 8 + header_bytes + data_bytes, "bad.safetensors", file);
}

#define CHECK_REFUSED(header, data_bytes, needle)                                                                      \
    do {                                                                                                               \
        dlp_safetensors *refused_ = NULL;                                                                              \
        CHECK_FAILS(parse_text(header, data_bytes, &refused_), DLP_ERR_FORMAT, needle);                                \
        CHECK(refused_ == NULL);                                                                                       \
    } while (0)

static void test_malformed(void)
{
    dlp_safetensors *file = NULL;
    CHECK_OK(parse_text("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, &file));
    dlp_safetensors_close(file);
    CHECK_OK(parse_text("{}", 0, &file)); /* no tensors at all is valid */
    dlp_safetensors_close(file);

    CHECK_REFUSED("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}", 8, "header JSON");
    CHECK_REFUSED("[1,2]   ", 0, "start with '{'");
    CHECK_REFUSED("{\"a\":[1]}", 0, "expected an object");
    CHECK_REFUSED("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4, "past the end");
    CHECK_REFUSED("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                  "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12, "overlaps");
    CHECK_REFUSED("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                  "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[12,16]}}", 16, "leaves a hole");
    CHECK_REFUSED("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8, "needs 12 bytes");
    CHECK_REFUSED("{\"a\":{\"dtype\":\"F31\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "F31");
    CHECK_REFUSED("{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8, "shape[0]");
    CHECK_REFUSED("{\"a\":{\"dtype\":\"F32\",\"shape\":[2.5],\"data_offsets\":[0,8]}}", 8, "shape[0]");
    CHECK_REFUSED("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", 8, "end before begin");
    CHECK_REFUSED("{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8, "data_offsets");
    CHECK_REFUSED("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"x\":1}}", 8, "unknown field");
    CHECK_REFUSED("{\"__metadata__\":{\"k\":3}}", 0, "expected a string value");
    CHECK_REFUSED("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                  "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, "duplicate");
    CHECK_REFUSED("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 12, "trailing bytes");
    CHECK_REFUSED("{\"a\":{\"dtype\":\"F64\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,8]}}", 8,
                  "overflows");

    unsigned char short_file[5] = {1, 0, 0, 0, 0};
    CHECK_FAILS(dlp_safetensors_parse(short_file, sizeof short_file, "short", &file), DLP_ERR_FORMAT, "too short");
    unsigned char zero_header[8] = {0};
    CHECK_FAILS(dlp_safetensors_parse(zero_header, 8, "zero", &file), DLP_ERR_FORMAT, "header length is 0");
    unsigned char long_header[12] = {0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0, '{', '}', ' ', ' '};
    CHECK_FAILS(dlp_safetensors_parse(long_header, sizeof long_header, "long", &file), DLP_ERR_FORMAT, "limit");
    unsigned char truncated[12] = {100, 0, 0, 0, 0, 0, 0, 0, '{', '}', ' ', ' '};
    CHECK_FAILS(dlp_safetensors_parse(truncated, sizeof truncated, "cut", &file), DLP_ERR_FORMAT, "truncated");

    CHECK_FAILS(dlp_safetensors_open(scratch("no-such.safetensors"), &file), DLP_ERR_IO, "no-such.safetensors");
    CHECK_FAILS(dlp_safetensors_open(scratch_dir, &file), DLP_ERR_IO, "not a regular file");
    FILE *empty = fopen(scratch("empty.safetensors"), "wb");
    if (empty) fclose(empty);
    CHECK_FAILS(dlp_safetensors_open(scratch("empty.safetensors"), &file), DLP_ERR_FORMAT, "too short");

    /* A failed write leaves nothing behind. */
    dlp_tensor_list *list = NULL;
    CHECK_OK(dlp_tensor_list_create(&list));
    CHECK_FAILS(dlp_safetensors_write(scratch("no-such-folder/x.safetensors"), list), DLP_ERR_IO, "no-such-folder");
    dlp_tensor_list_destroy(list);
}

int main(void)
{
    snprintf(scratch_dir, sizeof scratch_dir, "%s/safetensors", check_env("DLP_TEST_TMP"));
    mkdir(scratch_dir, 0777);
    test_reference_and_round_trip();
    test_malformed();
    return check_summary("safetensors");
}

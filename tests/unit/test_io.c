/* I/O: .npy against files numpy wrote (np.save) and refuses, LibSVM against
 * scikit-learn's dump_svmlight_file, CSV quoting against Python's csv module,
 * JSON escapes against Python's json.dumps; JSON Lines parsed back by jansson.
 * Fixtures: tests/oracle/io_oracle.py -> tests/fixtures/io/. */
#include <dirent.h>
#include <jansson.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "data/npy_map.h"
#include "dlp/dlp.h"

static char fixture_dir[4096], tmp_dir[4096];

static const char *fixture(const char *name)
{
    static char path[8192];
    snprintf(path, sizeof path, "%s/%s", fixture_dir, name);
    return path;
}

static const char *scratch(const char *name)
{
    static char path[8192];
    snprintf(path, sizeof path, "%s/%s", tmp_dir, name);
    return path;
}

static void write_text(const char *path, const char *text)
{
    FILE *file = fopen(path, "wb");
    fputs(text, file);
    fclose(file);
}

static uint32_t float_bits(float value)
{
    uint32_t bits;
    memcpy(&bits, &value, 4);
    return bits;
}

static float bits_float(json_int_t bits)
{
    uint32_t b = (uint32_t)bits;
    float value;
    memcpy(&value, &b, 4);
    return value;
}

/* No "<name>.tmp.*" left in the scratch folder. */
static int no_temporary_files(void)
{
    DIR *dir = opendir(tmp_dir);
    int clean = 1;
    for (struct dirent *entry; dir && (entry = readdir(dir));)
        if (strstr(entry->d_name, ".tmp.")) clean = 0;
    if (dir) closedir(dir);
    return clean;
}

static void test_npy(json_t *expected)
{
    const char *name;
    json_t *value;
    json_object_foreach(json_object_get(expected, "npy_read"), name, value) {
        float *data = NULL;
        size_t rows = 99, cols = 99;
        CHECK_OK(dlp_npy_read_f32(fixture(name), &data, &rows, &cols));
        CHECK(rows == (size_t)json_integer_value(json_object_get(value, "rows")));
        CHECK(cols == (size_t)json_integer_value(json_object_get(value, "cols")));
        json_t *bits = json_object_get(value, "bits");
        CHECK(json_array_size(bits) == rows * cols);
        int same = data != NULL;
        for (size_t i = 0; same && i < json_array_size(bits) && i < rows * cols; i++)
            same = float_bits(data[i]) == (uint32_t)json_integer_value(json_array_get(bits, i));
        if (!same) fprintf(stderr, "%s: values differ from np.load\n", name);
        CHECK(same);
        /* dlp_npy_map_f32 (dlp train and evaluate): the same values bit for bit; float32 mapped, float64 and empty
         * arrays read. */
        dlp_npy_mapped mapped;
        CHECK_OK(dlp_npy_map_f32(fixture(name), &mapped));
        CHECK(mapped.rows == rows && mapped.cols == cols && mapped.data != NULL);
        CHECK(rows * cols == 0 || (data && memcmp(mapped.data, data, rows * cols * sizeof(float)) == 0));
        int is_f32 = strncmp(name, "f32_", 4) == 0 && rows * cols > 0;
        CHECK(is_f32 ? mapped.mapping != NULL && mapped.owned == NULL : mapped.mapping == NULL);
        dlp_npy_unmap(&mapped);
        CHECK(mapped.data == NULL && mapped.mapping == NULL);
        free(data);
    }
    json_object_foreach(json_object_get(expected, "npy_refused"), name, value) {
        float *data = NULL;
        size_t rows, cols;
        dlp_npy_mapped mapped;
        for (int map = 0; map < 2; map++) { /* the reader's refusals, then the mapping's: the same */
            dlp_status status = map ? dlp_npy_map_f32(fixture(name), &mapped)
                                    : dlp_npy_read_f32(fixture(name), &data, &rows, &cols);
            CHECK(status == DLP_ERR_UNSUPPORTED || status == DLP_ERR_FORMAT);
            CHECK(strstr(dlp_last_error(), json_string_value(value)) != NULL);
            CHECK(strstr(dlp_last_error(), name) != NULL);
        }
        CHECK(data == NULL && mapped.data == NULL && mapped.mapping == NULL);
    }
    json_object_foreach(json_object_get(expected, "npy_write"), name, value) {
        size_t rows = (size_t)json_integer_value(json_object_get(value, "rows"));
        size_t cols = (size_t)json_integer_value(json_object_get(value, "cols"));
        json_t *bits = json_object_get(value, "bits");
        float *source = malloc((rows * cols + 1) * sizeof *source);
        for (size_t i = 0; i < rows * cols; i++) source[i] = bits_float(json_integer_value(json_array_get(bits, i)));
        CHECK_OK(dlp_npy_write_f32(scratch(name), source, rows, cols));
        size_t ours_size = 0, numpy_size = 0;
        unsigned char *ours = check_read_file(scratch(name), &ours_size);
        unsigned char *numpy = check_read_file(fixture(name), &numpy_size);
        int same = ours && numpy && ours_size == numpy_size && memcmp(ours, numpy, numpy_size) == 0;
        if (!same) fprintf(stderr, "%s: our bytes differ from np.save's\n", name);
        CHECK(same);
        free(ours);
        free(numpy);
        free(source);
    }
    /* Failures name the path and leave nothing behind. */
    float one = 1.0f;
    CHECK_FAILS(dlp_npy_write_f32(scratch("no-such-folder/x.npy"), &one, 1, 1), DLP_ERR_IO, "no-such-folder/x.npy");
    CHECK_FAILS(dlp_npy_write_f32(scratch("huge.npy"), &one, SIZE_MAX / 2, 3), DLP_ERR_LIMIT, "huge.npy");
    float *data = NULL;
    size_t rows, cols;
    CHECK_FAILS(dlp_npy_read_f32(scratch("absent.npy"), &data, &rows, &cols), DLP_ERR_IO, "absent.npy");
    dlp_npy_mapped absent;
    CHECK_FAILS(dlp_npy_map_f32(scratch("absent.npy"), &absent), DLP_ERR_IO, "absent.npy");
    /* Headers that lie or are malformed. */
    static const char *const bad_headers[] = {
        "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999, 99999999999), }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (999999999999999999999999, 2), }",
        "{'descr': '<f4', 'fortran_order': False, }",
        "{'descr': '<f4', 'fortran_order': Maybe, 'shape': (1, 1), }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1), 'extra': 1}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1), } trailing",
        "{'descr': '<f4 ",
    };
    for (size_t i = 0; i < sizeof bad_headers / sizeof *bad_headers; i++) {
        FILE *file = fopen(scratch("bad.npy"), "wb");
        size_t length = strlen(bad_headers[i]) + 1;
        fwrite("\x93NUMPY\x01\x00", 1, 8, file);
        fputc((int)(length & 0xFF), file);
        fputc((int)(length >> 8), file);
        fputs(bad_headers[i], file);
        fputs("\n\0\0\x80\x3f", file);
        fclose(file);
        dlp_status status = dlp_npy_read_f32(scratch("bad.npy"), &data, &rows, &cols);
        CHECK(status == DLP_ERR_FORMAT || status == DLP_ERR_LIMIT);
        CHECK(strstr(dlp_last_error(), "bad.npy") != NULL);
    }
    write_text(scratch("short.npy"), "\x93NUMPY");
    CHECK_FAILS(dlp_npy_read_f32(scratch("short.npy"), &data, &rows, &cols), DLP_ERR_FORMAT, "short.npy");
    CHECK(no_temporary_files());
}

static void test_libsvm(json_t *expected)
{
    json_t *reference = json_object_get(expected, "libsvm");
    size_t want_rows = (size_t)json_integer_value(json_object_get(reference, "rows"));
    size_t want_cols = (size_t)json_integer_value(json_object_get(reference, "cols"));
    json_t *bits = json_object_get(reference, "bits"), *want_labels = json_object_get(reference, "labels");
    const char *files[] = {"sklearn.svm", "sklearn_comment.svm"};
    for (int f = 0; f < 2; f++) {
        float *features = NULL;
        double *labels = NULL;
        size_t rows = 0, cols = 0;
        CHECK_OK(dlp_libsvm_read(fixture(files[f]), 0, &features, &labels, &rows, &cols));
        CHECK(rows == want_rows && cols == want_cols);
        int same = features && rows == want_rows && cols == want_cols;
        for (size_t i = 0; same && i < rows * cols; i++)
            same = float_bits(features[i]) == (uint32_t)json_integer_value(json_array_get(bits, i));
        for (size_t i = 0; same && i < rows; i++)
            same = labels[i] == json_real_value(json_array_get(want_labels, i));
        if (!same) fprintf(stderr, "%s: values differ from scikit-learn's\n", files[f]);
        CHECK(same);
        free(features);
        free(labels);
    }
    /* num_features widens; a smaller one refuses. */
    float *features = NULL;
    double *labels = NULL;
    size_t rows = 0, cols = 0;
    CHECK_OK(dlp_libsvm_read(fixture("sklearn.svm"), 12, &features, &labels, &rows, &cols));
    CHECK(rows == want_rows && cols == 12);
    if (features && cols == 12)
        CHECK(features[1 * 12 + 0] == bits_float(json_integer_value(json_array_get(bits, 1 * want_cols + 0))));
    free(features);
    free(labels);
    CHECK_FAILS(dlp_libsvm_read(fixture("sklearn.svm"), 5, &features, &labels, &rows, &cols), DLP_ERR_DATA,
                "sklearn.svm:");

    /* Our writer, read back: the source arrays (zeros omitted, so -0 reads as 0). */
    float source[4 * 5] = {0.5f, 0, -0.0f, 1e-30f, 3.4028235e38f, 0, 0, 0, 0, 0,
                           -1.25f, 0.1f, 0, 0, 7, 1.17549435e-38f, 0, 2, 0, -3};
    double source_labels[4] = {0, 1, 2.5, 1e-300};
    CHECK_OK(dlp_libsvm_write(scratch("ours.svm"), source, 4, 5, source_labels));
    CHECK_OK(dlp_libsvm_read(scratch("ours.svm"), 5, &features, &labels, &rows, &cols));
    CHECK(rows == 4 && cols == 5);
    int same = features && rows == 4 && cols == 5;
    for (size_t i = 0; same && i < 20; i++) same = features[i] == source[i];
    for (size_t i = 0; same && i < 4; i++) same = labels[i] == source_labels[i];
    CHECK(same);
    free(features);
    free(labels);
    size_t size = 0;
    unsigned char *text = check_read_file(scratch("ours.svm"), &size);
    /* Spark's layout: row 2 is all zeros, so the label alone; indices one-based. */
    CHECK(text && strstr((char *)text, "\n1\n") != NULL);
    CHECK(text && strncmp((char *)text, "0 1:0.5 4:1e-30 5:3.40282347e+38\n", 32) == 0);
    free(text);

    /* Malformed lines: refused, with the file and line. */
    static const struct {
        const char *text;
        dlp_status status;
        const char *needle;
    } bad[] = {
        {"1 1:1\n1 3:1 2:1\n", DLP_ERR_FORMAT, "bad.svm:2: index 2 after 3"},
        {"1 0:1\n", DLP_ERR_FORMAT, "bad.svm:1: index 0"},
        {"# c\nx 1:1\n", DLP_ERR_FORMAT, "bad.svm:2: label"},
        {"1 1:abc\n", DLP_ERR_FORMAT, "bad.svm:1: value"},
        {"1 1\n", DLP_ERR_FORMAT, "bad.svm:1:"},
        {"1 -2:1\n", DLP_ERR_FORMAT, "bad.svm:1: index"},
        {"1 qid:3 1:1\n", DLP_ERR_UNSUPPORTED, "bad.svm:1: qid"},
        {"1 99999999999:1\n", DLP_ERR_LIMIT, "bad.svm:1: index"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        write_text(scratch("bad.svm"), bad[i].text);
        CHECK_FAILS(dlp_libsvm_read(scratch("bad.svm"), 0, &features, &labels, &rows, &cols), bad[i].status,
                    bad[i].needle);
    }
    write_text(scratch("empty.svm"), "# nothing\n\n");
    CHECK_OK(dlp_libsvm_read(scratch("empty.svm"), 0, &features, &labels, &rows, &cols));
    CHECK(rows == 0 && cols == 0 && features && labels);
    free(features);
    free(labels);
}

static dlp_status status_from_name(const char *name)
{
    for (int s = DLP_OK; s <= DLP_ERR_INTERNAL; s++)
        if (strcmp(dlp_status_name((dlp_status)s), name) == 0) return (dlp_status)s;
    return DLP_ERR_INTERNAL;
}

static void test_csv(json_t *expected)
{
    json_t *reference = json_object_get(expected, "csv"), *rows = json_object_get(reference, "rows");
    dlp_dataset *dataset = NULL;
    CHECK_OK(dlp_dataset_create(&dataset));
    for (size_t i = 0; i < json_array_size(rows); i++) {
        json_t *row = json_array_get(rows, i);
        CHECK_OK(dlp_dataset_add(dataset, json_string_value(json_object_get(row, "origin")),
                                 json_integer_value(json_object_get(row, "label"))));
        dlp_status status = status_from_name(json_string_value(json_object_get(row, "status")));
        if (status != DLP_OK)
            CHECK_OK(dlp_dataset_set_error(dataset, i, status, json_string_value(json_object_get(row, "message"))));
    }
    CHECK_OK(dlp_manifest_write_csv(scratch("manifest.csv"), dataset));
    size_t size = 0;
    unsigned char *text = check_read_file(scratch("manifest.csv"), &size);
    const char *want = json_string_value(json_object_get(reference, "text"));
    CHECK(text && strcmp((char *)text, want) == 0);
    if (text && strcmp((char *)text, want) != 0) fprintf(stderr, "ours:\n%s\npython's csv:\n%s\n", text, want);
    free(text);
    /* CR alone is quoted too (RFC 4180; Python's csv with "\n" line ends does not). */
    dlp_dataset_destroy(dataset);
    CHECK_OK(dlp_dataset_create(&dataset));
    CHECK_OK(dlp_dataset_add(dataset, "a\rb", -1));
    CHECK_OK(dlp_manifest_write_csv(scratch("manifest.csv"), dataset));
    text = check_read_file(scratch("manifest.csv"), &size);
    CHECK(text && strcmp((char *)text, "origin,label,status,message\n\"a\rb\",,ok,\n") == 0);
    free(text);
    CHECK_FAILS(dlp_manifest_write_csv(scratch("nowhere/m.csv"), dataset), DLP_ERR_IO, "nowhere/m.csv");
    dlp_dataset_destroy(dataset);
    CHECK(no_temporary_files());
}

static int hex_value(char c) { return c <= '9' ? c - '0' : c - 'a' + 10; }

static void test_json(json_t *expected)
{
    json_t *cases = json_object_get(expected, "json_strings");
    for (size_t i = 0; i < json_array_size(cases); i++) {
        const char *hex = json_string_value(json_object_get(json_array_get(cases, i), "hex"));
        const char *want = json_string_value(json_object_get(json_array_get(cases, i), "json"));
        size_t length = strlen(hex) / 2;
        char *input = malloc(length + 1);
        for (size_t k = 0; k < length; k++) input[k] = (char)(hex_value(hex[2 * k]) << 4 | hex_value(hex[2 * k + 1]));
        input[length] = 0;
        char *text = NULL;
        size_t size = 0;
        FILE *out = open_memstream(&text, &size);
        dlp_json_write_string(out, input);
        fclose(out);
        CHECK(strcmp(text, want) == 0);
        if (strcmp(text, want) != 0) fprintf(stderr, "json case %zu: ours %s, python's %s\n", i, text, want);
        free(text);
        free(input);
    }
    json_t *rows = json_object_get(expected, "jsonl");
    for (size_t i = 0; i < json_array_size(rows); i++) {
        json_t *spec = json_array_get(rows, i);
        dlp_row row = {json_string_value(json_object_get(spec, "origin")),
                       json_integer_value(json_object_get(spec, "label")),
                       status_from_name(json_string_value(json_object_get(spec, "status"))),
                       json_string_value(json_object_get(spec, "message"))};
        json_t *bits = json_object_get(spec, "values_bits");
        float values[16];
        for (size_t k = 0; k < json_array_size(bits) && k < 16; k++)
            values[k] = bits_float(json_integer_value(json_array_get(bits, k)));
        char *text = NULL;
        size_t size = 0;
        FILE *out = open_memstream(&text, &size);
        CHECK_OK(dlp_jsonl_write_row(out, &row, json_string_value(json_object_get(spec, "label_name")),
                                     json_string_value(json_object_get(spec, "field")), json_is_null(bits) ? NULL : values,
                                     json_array_size(bits)));
        fclose(out);
        CHECK(size > 0 && text[size - 1] == '\n' && strchr(text, '\n') == text + size - 1);
        json_error_t error;
        json_t *parsed = json_loads(text, 0, &error);
        CHECK(parsed != NULL);
        json_t *want = json_object_get(spec, "object");
        CHECK(json_object_size(parsed) == json_object_size(want));
        const char *key;
        json_t *want_value;
        json_object_foreach(want, key, want_value) {
            json_t *got = json_object_get(parsed, key);
            if (json_is_array(want_value)) {
                int same = json_array_size(got) == json_array_size(want_value);
                for (size_t k = 0; same && k < json_array_size(want_value); k++) {
                    json_t *w = json_array_get(want_value, k), *g = json_array_get(got, k);
                    same = json_is_null(w) ? json_is_null(g)
                                           : json_is_number(g) && (float)json_number_value(g) == (float)json_number_value(w);
                }
                CHECK(same);
            } else {
                CHECK(json_equal(got, want_value));
                if (!json_equal(got, want_value)) fprintf(stderr, "jsonl row %zu: field %s differs: %s\n", i, key, text);
            }
        }
        json_decref(parsed);
        free(text);
    }
}

/* Found by fuzz_libsvm: a few bytes naming a huge index must not allocate
 * the dense matrix they imply. */
static void test_libsvm_dense_limits(void)
{
    const char *path = scratch("huge_index.svm");
    FILE *file = fopen(path, "w");
    fputs("0 1:.2534 761040269:125\n", file);
    fclose(file);
    float *features = NULL;
    double *labels = NULL;
    size_t rows = 0, cols = 0;
    CHECK_FAILS(dlp_libsvm_read(path, 0, &features, &labels, &rows, &cols), DLP_ERR_LIMIT, "761040269 features");
    CHECK(features == NULL && labels == NULL);
}

/* N-D arrays: np.save's 4-d and 3-d files (tests/oracle/keras_nested_oracle.py)
 * read with their shapes and written back byte for byte; the 2-d reader
 * refuses them, naming the dims. */
static void test_npy_shapes(void)
{
    static const char *const stems[] = {"nd_conv_x", "nd_series_x", "nd_conv_y0"};
    for (size_t k = 0; k < sizeof stems / sizeof stems[0]; k++) {
        char numpy_path[4200], ours_path[4200];
        snprintf(numpy_path, sizeof numpy_path, "%s/keras_model/%s.npy", check_env("DLP_FIXTURES"), stems[k]);
        snprintf(ours_path, sizeof ours_path, "%s/%s.npy", tmp_dir, stems[k]);
        float *data = NULL;
        int ndim = 0;
        size_t shape[DLP_NPY_MAX_DIMS];
        CHECK_OK(dlp_npy_read_f32_shape(numpy_path, &data, &ndim, shape));
        CHECK(ndim >= 3);
        if (data) CHECK_OK(dlp_npy_write_f32_shape(ours_path, data, ndim, shape));
        size_t ours_size = 0, numpy_size = 0;
        unsigned char *ours = check_read_file(ours_path, &ours_size), *numpy = check_read_file(numpy_path, &numpy_size);
        CHECK(ours && numpy && ours_size == numpy_size && memcmp(ours, numpy, numpy_size) == 0);
        free(ours);
        free(numpy);
        free(data);
        size_t rows, cols;
        data = NULL;
        CHECK_FAILS(dlp_npy_read_f32(numpy_path, &data, &rows, &cols), DLP_ERR_UNSUPPORTED, "-dimensional array");
    }
}

/* Output targets (data/output_file.c): a FIFO and /dev/null are written in place, never renamed over (as root
 * that replaced the device node); a link to a file keeps the link and replaces the file it names; a folder is
 * refused; /dev/full reports ENOSPC. */
static void test_output_targets(void)
{
    const float values[4] = {1, 2, 3, 4};
    CHECK_OK(dlp_npy_write_f32("/dev/null", values, 2, 2));
    struct stat info;
    CHECK(stat("/dev/null", &info) == 0 && S_ISCHR(info.st_mode));
    if (stat("/dev/full", &info) == 0 && S_ISCHR(info.st_mode)) {
        CHECK_FAILS(dlp_npy_write_f32("/dev/full", values, 2, 2), DLP_ERR_IO, "No space left on device");
        CHECK(stat("/dev/full", &info) == 0 && S_ISCHR(info.st_mode));
    }
    CHECK_FAILS(dlp_npy_write_f32(tmp_dir, values, 2, 2), DLP_ERR_IO, "is a folder");

    /* A FIFO: a reader child takes the bytes; they are the same as a plain file's. */
    char fifo[8192], plain[8192], copy[8192], link_path[8192]; /* scratch() returns one static buffer */
    snprintf(fifo, sizeof fifo, "%s", scratch("out.fifo"));
    snprintf(plain, sizeof plain, "%s", scratch("plain.npy"));
    snprintf(copy, sizeof copy, "%s", scratch("from_fifo.npy"));
    snprintf(link_path, sizeof link_path, "%s", scratch("link.npy"));
    unlink(fifo);
    CHECK(mkfifo(fifo, 0600) == 0);
    fflush(NULL); /* the child exits with _exit: nothing buffered is written twice */
    alarm(60);    /* a writer that never opens the FIFO fails the test instead of hanging it (both sides) */
    pid_t child = fork();
    if (child == 0) {
        FILE *in = fopen(fifo, "rb"), *out = fopen(copy, "wb");
        int c;
        while (in && out && (c = fgetc(in)) != EOF) fputc(c, out);
        _exit(in && out && fclose(out) == 0 ? 0 : 1);
    }
    CHECK_OK(dlp_npy_write_f32(fifo, values, 2, 2));
    int child_status = -1;
    waitpid(child, &child_status, 0);
    alarm(0);
    CHECK(WIFEXITED(child_status) && WEXITSTATUS(child_status) == 0);
    CHECK(lstat(fifo, &info) == 0 && S_ISFIFO(info.st_mode));
    CHECK_OK(dlp_npy_write_f32(plain, values, 2, 2));
    float *back = NULL;
    size_t rows = 0, cols = 0;
    CHECK_OK(dlp_npy_read_f32(copy, &back, &rows, &cols));
    CHECK(back && rows == 2 && cols == 2 && memcmp(back, values, sizeof values) == 0);
    free(back);
    unlink(fifo);

    /* A link: it stays a link, and the file it names gets the new rows. */
    unlink(link_path);
    CHECK(symlink(plain, link_path) == 0);
    const float other[2] = {5, 6};
    CHECK_OK(dlp_npy_write_f32(link_path, other, 1, 2));
    CHECK(lstat(link_path, &info) == 0 && S_ISLNK(info.st_mode));
    back = NULL;
    CHECK_OK(dlp_npy_read_f32(plain, &back, &rows, &cols));
    CHECK(back && rows == 1 && cols == 2 && back[0] == 5 && back[1] == 6);
    free(back);
    unlink(link_path);
    CHECK(no_temporary_files());
}

int main(void)
{
    snprintf(fixture_dir, sizeof fixture_dir, "%s/io", check_env("DLP_FIXTURES"));
    snprintf(tmp_dir, sizeof tmp_dir, "%s/io", check_env("DLP_TEST_TMP"));
    mkdir(tmp_dir, 0777);
    json_error_t error;
    json_t *expected = json_load_file(fixture("expected.json"), 0, &error);
    if (!expected) {
        fprintf(stderr, "%s: %s (run tests/oracle/io_oracle.py)\n", fixture("expected.json"), error.text);
        return 1;
    }
    test_npy(expected);
    test_npy_shapes();
    test_libsvm(expected);
    test_libsvm_dense_limits();
    test_csv(expected);
    test_json(expected);
    test_output_targets();
    json_decref(expected);
    return check_summary("io");
}

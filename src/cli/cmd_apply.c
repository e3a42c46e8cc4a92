/* cmd_apply.c: `dlp apply`: a user's own Keras model (whole-model .h5, TF.js
 * model.json, or dlp convert's safetensors with its model_config) on images
 * (through the featurizer's decode stream and batch runner) or on arrays
 * (.npy rows), batched; one output row per input row. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/images.h"
#include "cli/progress.h"
#include "core/status.h"
#include "data/feature_writers.h"
#include "data/output_file.h"
#include "graph/backend_choice.h"
#include "graph/plan_images.h"
#include "ml/batch_runner.h"

static const char usage[] =
    "Usage: dlp apply --keras MODEL (--images DIR|LIST ... | --npy X.npy | --jsonl X.jsonl) [OPTIONS] -o OUT\n\n"
    "Runs a Keras model built from its own model_config (Sequential or Functional;\n"
    "see dlp/keras_model.h for the layers) and writes one row of its output per input.\n"
    "Images are decoded, resized to the model's input and preprocessed; a file that\n"
    "cannot be read keeps its row, with NaN values (null in JSON Lines), and exit code 5.\n"
    "Arrays: the .npy's first axis is the batch; each input either has the model's\n"
    "own shape (an [N, H, W, C] array into a conv model, [N, T, F]) and the output\n"
    "keeps its shape ([N, ...] .npy, nested JSON arrays), or is flattened to one row\n"
    "([N, H*W*C]) and so is the output. JSON Lines input: one array per line (nested\n"
    "as the input's shape, or flat), or an object whose \"input\" holds it.\n\n"
    "Options:\n"
    "  --keras MODEL       whole-model .h5, TF.js model.json (or its folder), or safetensors\n"
    "  --images SRC        a folder tree or a list file (path[,label]); repeat to combine\n"
    "  --npy X.npy         float32/float64 array [N, input shape...] or [N, input elements]\n"
    "  --jsonl X.jsonl     JSON Lines of arrays (see above)\n"
    "  -o, --output OUT    .npy (float32 [N, D] or [N, output shape...]) or .jsonl (JSON Lines)\n"
    "  --format F          npy or jsonl (default: from OUT's extension; needed for /dev/stdout)\n"
    "  --output-index I    which model output (default 0)\n"
    "  --resize M          area (default), bilinear or nearest\n"
    "  --preprocess P      none (default: 0..255), tf (x/127.5-1), caffe, or scale:A,B (x*A+B)\n"
    "  --size H,W          the image size, for a model whose input size is open (None)\n"
    "  --batch N           inputs per network run (default 16)\n"
    "  --threads N         decoding and CPU threads (default: all cores)\n"
    "  --device D          auto (default: the first GPU when one works, else the CPU), cpu, cuda or cuda:N\n"
    "  --quiet             no progress bar (it is drawn only when stderr is a terminal)\n"
    "  -h, --help          this help\n";

enum { OPT_KERAS = 1000, OPT_IMAGES, OPT_NPY, OPT_OUTPUT_INDEX, OPT_RESIZE, OPT_PREPROCESS, OPT_SIZE, OPT_BATCH,
       OPT_THREADS, OPT_DEVICE, OPT_JSONL, OPT_FORMAT, OPT_QUIET };

typedef struct apply_settings {
    const char *model_path, *npy_path, *jsonl_path, *output, *format;
    bool jsonl_output; /* -o is JSON Lines (--format, or the extension), else .npy */
    /* Arrays given in the model's own shape: outputs keep theirs (rank, dims). */
    int shaped, output_rank, output_dims[3];
    int output_index, batch, threads, quiet;
    const char *device; /* auto, cpu, cuda or cuda:N */
    dlp_resize resize;
    dlp_normalize normalize;
    int scaled; /* scale:A,B given */
    double scale, offset;
    dlp_keras_model_options model_options;
} apply_settings;

static int parse_preprocess(const char *text, apply_settings *s)
{
    if (!strncmp(text, "scale:", 6)) {
        char *end = NULL;
        s->scale = strtod(text + 6, &end);
        if (end == text + 6 || *end != ',') return 0;
        const char *second = end + 1;
        s->offset = strtod(second, &end);
        if (end == second || *end) return 0;
        s->scaled = 1;
        s->normalize = DLP_NORMALIZE_NONE;
        return 1;
    }
    s->scaled = 0;
    return dlp_normalize_from_name(text, &s->normalize) == DLP_OK;
}

/* The backend --device names, as dlp featurize (graph/backend_choice.h); *cuda_device -1 for the CPU. */
static dlp_status create_backend(const apply_settings *s, dlp_backend **backend, int *cuda_device, char *described,
                                 size_t capacity)
{
    dlp_backend_choice choice;
    DLP_TRY(dlp_backend_choose(s->device, s->threads, NULL, &choice));
    *backend = choice.backend;
    *cuda_device = choice.cuda_device;
    snprintf(described, capacity, "%s", choice.described);
    return DLP_OK;
}

/* One output as JSON arrays nested as dims (NaN and inf as null). */
static void write_nested(FILE *out, const float *values, int rank, const int *dims)
{
    size_t inner = 1;
    for (int d = 1; d < rank; d++) inner *= (size_t)dims[d];
    fputc('[', out);
    for (int i = 0; i < dims[0]; i++) {
        if (i) fputc(',', out);
        if (rank > 1) write_nested(out, values + (size_t)i * inner, rank - 1, dims + 1);
        else if (isfinite(values[i])) fprintf(out, "%.9g", values[i]);
        else fputs("null", out);
    }
    fputc(']', out);
}

/* dlp_jsonl_write_row's fields, then "output" nested as the model's output. */
static dlp_status write_nested_row(FILE *out, const dlp_row *row, const apply_settings *s, const float *values)
{
    char *line = NULL;
    size_t length = 0;
    FILE *buffer = open_memstream(&line, &length);
    if (!buffer) return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "out of memory");
    dlp_status status = dlp_jsonl_write_row(buffer, row, NULL, NULL, NULL, 0);
    fclose(buffer);
    if (status == DLP_OK && length >= 2) {
        fwrite(line, 1, length - 2, out);
        fputs(",\"output\":", out);
        write_nested(out, values, s->output_rank, s->output_dims);
        fputs("}\n", out);
    }
    free(line);
    /* errno is the failed write's (stdio sets it). */
    return status == DLP_OK && ferror(out) ? dlp_fail(DLP_ERR_IO, "%s: write failed: %s", s->output, strerror(errno))
                                           : status;
}

/* The output, written as rows are computed (bounded memory for any number of rows): a .npy header first (the row
 * count is known before any row is), then each batch's values; or one JSON line per row. Whole or not at all, as
 * every dlp writer (data/output_file.h). */
typedef struct apply_output {
    dlp_output_file file;
    const apply_settings *s;
    const dlp_dataset *dataset; /* NULL for arrays: rows are named "row N" */
    size_t rows, dim;
    bool header_written;        /* .npy: written with the first rows, so that a run refused before any row writes
                                   nothing to a target written in place (/dev/stdout) */
} apply_output;

static dlp_status output_open(apply_output *o, const apply_settings *s, const dlp_dataset *dataset, size_t rows,
                              size_t dim)
{
    *o = (apply_output){.s = s, .dataset = dataset, .rows = rows, .dim = dim};
    return dlp_output_file_open(&o->file, s->output);
}

static void write_npy_header(apply_output *o)
{
    const apply_settings *s = o->s;
    size_t shape[4] = {o->rows, o->dim, 0, 0};
    int ndim = 2;
    if (s->shaped) {
        ndim = s->output_rank + 1;
        for (int d = 0; d < s->output_rank; d++) shape[d + 1] = (size_t)s->output_dims[d];
    }
    dlp_npy_write_header(o->file.file, ndim, shape);
    o->header_written = true;
}

/* Rows [first, first + count), their values count x dim. batch (or NULL): the decoded batch of these rows, whose
 * failures the dataset does not hold yet (the batch runner records them when the run ends). */
static dlp_status output_rows(apply_output *o, size_t first, size_t count, const float *values,
                              const dlp_decoded_batch *batch)
{
    const apply_settings *s = o->s;
    FILE *out = o->file.file;
    if (!s->jsonl_output) {
        if (!o->header_written) write_npy_header(o);
        dlp_npy_write_values(out, values, count * o->dim);
        /* errno is the failed write's (stdio sets it). */
        return ferror(out) ? dlp_fail(DLP_ERR_IO, "%s: write failed: %s", s->output, strerror(errno)) : DLP_OK;
    }
    dlp_status status = DLP_OK;
    char origin[64];
    for (size_t i = 0; i < count && status == DLP_OK; i++) {
        dlp_row row = {origin, -1, DLP_OK, ""};
        if (o->dataset)
            dlp_dataset_row(o->dataset, first + i, &row);
        else
            snprintf(origin, sizeof origin, "row %zu", first + i);
        if (batch && batch->status[i] != DLP_OK) {
            row.status = batch->status[i];
            row.message = batch->message[i];
        }
        const char *label = o->dataset && row.label >= 0 ? dlp_dataset_label_name(o->dataset, row.label) : NULL;
        const float *row_values = values + i * o->dim;
        if (s->shaped)
            status = write_nested_row(out, &row, s, row_values);
        else
            status = dlp_jsonl_write_row(out, &row, label, "output", row.status == DLP_OK ? row_values : NULL, o->dim);
    }
    return status;
}

/* Commits the file after status DLP_OK, else removes it (in place: what was written stays) and returns status. */
static dlp_status output_close(apply_output *o, dlp_status status)
{
    if (status == DLP_OK && !o->s->jsonl_output && !o->header_written) write_npy_header(o); /* no rows */
    return status == DLP_OK ? dlp_output_file_commit(&o->file) : dlp_output_file_abort(&o->file, status);
}

/* Arrays (rows x the model's input elements) in chunks of at most DLP_FEATURIZE_CHUNK_BYTES of output, each written
 * as it is computed. */
static dlp_status apply_arrays(const apply_settings *s, const dlp_keras_model *model, dlp_backend *backend,
                               const float *arrays, size_t rows, size_t dim, apply_output *out)
{
    size_t elements = dlp_shape_elements(dlp_keras_model_input_shape(model));
    int batch = s->batch > 0 ? s->batch : 16;
    size_t chunk = 0;
    DLP_TRY(cli_chunk_rows(rows, dim, &chunk));
    float *values = malloc((chunk ? chunk : 1) * (dim ? dim : 1) * sizeof(float));
    if (!values) return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "apply: cannot allocate %zu rows of %zu outputs", chunk, dim);
    cli_progress progress;
    cli_progress_start(&progress, "apply", rows, !s->quiet);
    dlp_status status = DLP_OK;
    for (size_t first = 0; first < rows && status == DLP_OK; first += chunk) {
        size_t n = rows - first < chunk ? rows - first : chunk;
        status = dlp_keras_model_apply(model, backend, arrays + first * elements, n, batch, s->output_index, values,
                                       n * dim);
        if (status == DLP_OK) status = output_rows(out, first, n, values, NULL);
        cli_progress_advance(&progress, n);
    }
    cli_progress_finish(&progress);
    free(values);
    return status;
}

/* Images: the featurizer's pipeline (ml/batch_runner.h) over the user's
 * model: worker threads decode into a ring of batches while the network runs;
 * on a GPU the device resizes and normalizes (not for scale:A,B, which the
 * CPU applies after resizing) and two batches are in flight. Each batch's
 * rows are written as it lands, a failed row with NaN values. */
typedef struct image_run {
    apply_output *out;
    size_t dim;
    float *values; /* a batch of rows */
    size_t failed;
} image_run;

static dlp_status land_images(void *context, const dlp_decoded_batch *batch, const float *outputs)
{
    image_run *run = context;
    size_t dim = run->dim;
    for (size_t k = 0; k < batch->count * dim; k++) run->values[k] = NAN;
    for (size_t i = 0; i < batch->network_count; i++)
        memcpy(run->values + batch->network_slots[i] * dim, outputs + i * dim, dim * sizeof(float));
    run->failed += batch->count - batch->network_count;
    return output_rows(run->out, batch->first, batch->count, run->values, batch);
}

static dlp_status apply_images(const apply_settings *s, const dlp_keras_model *model, dlp_backend *backend,
                               int cuda_device, dlp_dataset *dataset, size_t dim, apply_output *out,
                               size_t *failed_total)
{
    dlp_shape in = dlp_keras_model_input_shape(model);
    if (in.c != 3) {
        int dims[3], rank = dlp_keras_model_input_dims(model, dims);
        return dlp_fail(DLP_ERR_MODEL,
                        "the model's input has %d dims (last %d): images need (height, width, 3); use --npy", rank,
                        dims[rank - 1]);
    }
    size_t rows = dlp_dataset_size(dataset);
    int batch = s->batch > 0 ? s->batch : 16;
    const char *name = dlp_keras_model_output_name(model, s->output_index);
    dlp_plan *plan = NULL;
    dlp_thread_pool *pool = NULL;
    image_run run = {.out = out, .dim = dim};
    dlp_status status = dlp_plan_create(dlp_keras_model_graph(model), backend, batch, &name, 1, &plan);
    if (status == DLP_OK) status = dlp_thread_pool_create(s->threads, &pool);
    run.values = malloc((size_t)batch * (dim ? dim : 1) * sizeof(float));
    if (status == DLP_OK && !run.values)
        status = dlp_fail(DLP_ERR_OUT_OF_MEMORY, "apply: cannot allocate a batch of %d outputs", batch);
    if (status == DLP_OK) {
        dlp_batch_runner runner;
        dlp_decode_stream_options stream;
        dlp_batch_runner_init(&runner, &stream, plan, cuda_device, !s->scaled && dlp_plan_takes_images(plan),
                              (size_t)batch, in.h, in.w, s->resize, s->normalize);
        stream.affine = s->scaled;
        stream.scale = s->scale;
        stream.offset = s->offset;
        cli_progress progress;
        cli_progress_start(&progress, "apply", rows, !s->quiet);
        cli_progress_at at = {&progress, 0};
        runner.landed = land_images;
        runner.context = &run;
        runner.progress = cli_progress_advance_at;
        runner.progress_context = &at;
        status = dlp_batch_runner_run(&runner, pool, dataset, 0, rows, &stream);
        cli_progress_finish(&progress);
    }
    *failed_total = run.failed;
    free(run.values);
    dlp_thread_pool_destroy(pool);
    dlp_plan_destroy(plan);
    return status;
}

/* "[N, 8, 8, 3]" for messages. */
static void format_input_shape(int rank, const int *dims, char *text, size_t size)
{
    size_t used = (size_t)snprintf(text, size, "[N");
    for (int d = 0; d < rank && used < size; d++) used += (size_t)snprintf(text + used, size - used, ", %d", dims[d]);
    if (used < size) snprintf(text + used, size - used, "]");
}

/* A .npy whose dims after the batch are the model's input dims (shaped) or
 * one row of its elements (flattened, the output flattened likewise). */
static dlp_status read_npy_arrays(apply_settings *s, const dlp_keras_model *model, float **arrays, size_t *rows)
{
    int ndim = 0, dims[3], rank = dlp_keras_model_input_dims(model, dims);
    size_t shape[DLP_NPY_MAX_DIMS], elements = dlp_shape_elements(dlp_keras_model_input_shape(model));
    DLP_TRY(dlp_npy_read_f32_shape(s->npy_path, arrays, &ndim, shape));
    bool shaped = ndim == rank + 1;
    for (int d = 0; shaped && d < rank; d++) shaped = shape[d + 1] == (size_t)dims[d];
    bool flat = ndim == 2 && shape[1] == elements;
    if (!shaped && !flat) {
        char want[64], have[200] = "";
        format_input_shape(rank, dims, want, sizeof want);
        for (int d = 0; d < ndim; d++)
            snprintf(have + strlen(have), sizeof have - strlen(have), "%s%zu", d ? ", " : "", shape[d]);
        free(*arrays);
        *arrays = NULL;
        return dlp_fail(DLP_ERR_DATA, "%s: shape [%s]; the model's input \"%s\" takes %s, or [N, %zu] flattened",
                        s->npy_path, have, dlp_keras_model_input_name(model), want, elements);
    }
    *rows = shape[0];
    s->shaped = shaped && rank > 1;
    return DLP_OK;
}

/* Whether value is an array nested as dims[0..rank-1] with numbers inside. */
static bool nested_as(json_t *value, int rank, const int *dims)
{
    if (!json_is_array(value) || json_array_size(value) != (size_t)dims[0]) return false;
    for (size_t i = 0; i < json_array_size(value); i++) {
        json_t *item = json_array_get(value, i);
        if (rank > 1 ? !nested_as(item, rank - 1, dims + 1) : !json_is_number(item)) return false;
    }
    return true;
}

/* Appends the numbers of a nested array in row-major order. */
static void append_numbers(json_t *value, float *out, size_t *count)
{
    if (json_is_number(value)) {
        out[(*count)++] = (float)json_number_value(value);
        return;
    }
    for (size_t i = 0; i < json_array_size(value); i++) append_numbers(json_array_get(value, i), out, count);
}

/* One JSON Lines input: an array nested as the input's shape, or flat, or {"input": that}. */
static dlp_status parse_json_input(apply_settings *s, const dlp_keras_model *model, const char *line, size_t number,
                                   float *out, bool *nested)
{
    int dims[3], rank = dlp_keras_model_input_dims(model, dims);
    int flat_dims[1] = {(int)dlp_shape_elements(dlp_keras_model_input_shape(model))};
    json_error_t error;
    json_t *root = json_loads(line, 0, &error);
    json_t *value = json_is_object(root) ? json_object_get(root, "input") : root;
    *nested = rank > 1 && nested_as(value, rank, dims);
    bool flat = nested_as(value, 1, flat_dims);
    size_t count = 0;
    if (*nested || flat) append_numbers(value, out, &count);
    json_decref(root);
    if (!root) return dlp_fail(DLP_ERR_DATA, "%s: line %zu: %s", s->jsonl_path, number, error.text);
    if (*nested || flat) return DLP_OK;
    char want[64];
    format_input_shape(rank, dims, want, sizeof want);
    return dlp_fail(DLP_ERR_DATA, "%s: line %zu: expected an array of %d numbers, or nested as the input %s (N: the lines)",
                    s->jsonl_path, number, flat_dims[0], want);
}

static dlp_status read_jsonl_arrays(apply_settings *s, const dlp_keras_model *model, float **arrays, size_t *rows)
{
    size_t elements = dlp_shape_elements(dlp_keras_model_input_shape(model)), capacity = 0, number = 0;
    FILE *file = fopen(s->jsonl_path, "r");
    if (!file) return dlp_fail(DLP_ERR_IO, "%s: cannot open: %s", s->jsonl_path, strerror(errno));
    char *line = NULL;
    size_t line_capacity = 0;
    dlp_status status = DLP_OK;
    *rows = 0;
    while (status == DLP_OK && getline(&line, &line_capacity, file) >= 0) {
        number++;
        if (strspn(line, " \t\r\n") == strlen(line)) continue;
        if (*rows == capacity) {
            capacity = capacity ? capacity * 2 : 64;
            float *grown = realloc(*arrays, capacity * elements * sizeof(float));
            if (!grown) {
                status = dlp_fail(DLP_ERR_OUT_OF_MEMORY, "%s: out of memory at line %zu", s->jsonl_path, number);
                break;
            }
            *arrays = grown;
        }
        bool nested = false;
        status = parse_json_input(s, model, line, number, *arrays + *rows * elements, &nested);
        if (*rows == 0) s->shaped = nested;
        (*rows)++;
    }
    free(line);
    fclose(file);
    if (status == DLP_OK && !*arrays) *arrays = malloc(sizeof(float));
    return status;
}

static int parse_options(int argc, char **argv, apply_settings *s, dlp_dataset **dataset)
{
    static const struct option options[] = {
        {"keras", required_argument, NULL, OPT_KERAS},          {"images", required_argument, NULL, OPT_IMAGES},
        {"npy", required_argument, NULL, OPT_NPY},              {"output", required_argument, NULL, 'o'},
        {"jsonl", required_argument, NULL, OPT_JSONL},
        {"output-index", required_argument, NULL, OPT_OUTPUT_INDEX},
        {"resize", required_argument, NULL, OPT_RESIZE},        {"preprocess", required_argument, NULL, OPT_PREPROCESS},
        {"size", required_argument, NULL, OPT_SIZE},            {"batch", required_argument, NULL, OPT_BATCH},
        {"threads", required_argument, NULL, OPT_THREADS},      {"help", no_argument, NULL, 'h'},
        {"device", required_argument, NULL, OPT_DEVICE},        {"format", required_argument, NULL, OPT_FORMAT},
        {"quiet", no_argument, NULL, OPT_QUIET},                {0}};
    int option;
    long number;
    optind = 1;
    while ((option = getopt_long(argc, argv, "ho:", options, NULL)) != -1) {
        switch (option) {
        case OPT_KERAS: s->model_path = optarg; break;
        case OPT_NPY: s->npy_path = optarg; break;
        case OPT_JSONL: s->jsonl_path = optarg; break;
        case 'o': s->output = optarg; break;
        case OPT_FORMAT: s->format = optarg; break;
        case OPT_IMAGES: {
            dlp_status status = cli_add_image_source(dataset, optarg);
            if (status != DLP_OK) return cli_fail("apply", status);
            break;
        }
        case OPT_OUTPUT_INDEX:
            if (!cli_parse_int(optarg, 0, 1000, &number)) return cli_usage_error("apply", "--output-index %s", optarg);
            s->output_index = (int)number;
            break;
        case OPT_RESIZE:
            if (dlp_resize_from_name(optarg, &s->resize) != DLP_OK)
                return cli_usage_error("apply", "--resize %s: expected area, bilinear or nearest", optarg);
            break;
        case OPT_PREPROCESS:
            if (!parse_preprocess(optarg, s))
                return cli_usage_error("apply", "--preprocess %s: expected none, tf, caffe or scale:A,B", optarg);
            break;
        case OPT_SIZE:
            if (sscanf(optarg, "%d,%d", &s->model_options.input_h, &s->model_options.input_w) != 2 ||
                s->model_options.input_h <= 0 || s->model_options.input_w <= 0)
                return cli_usage_error("apply", "--size %s: expected H,W", optarg);
            break;
        case OPT_BATCH:
            if (!cli_parse_int(optarg, 1, 1 << 16, &number)) return cli_usage_error("apply", "--batch %s", optarg);
            s->batch = (int)number;
            break;
        case OPT_THREADS:
            if (!cli_parse_int(optarg, 1, 4096, &number)) return cli_usage_error("apply", "--threads %s", optarg);
            s->threads = (int)number;
            break;
        case OPT_DEVICE:
            if (strcmp(optarg, "auto") && strcmp(optarg, "cpu") && dlp_cuda_device_index(optarg) < 0)
                return cli_usage_error("apply", "--device %s: expected auto, cpu, cuda or cuda:N", optarg);
            s->device = optarg;
            break;
        case OPT_QUIET: s->quiet = 1; break;
        case 'h': fputs(usage, stdout); return -1;
        default: return cli_usage_error("apply", "unknown option");
        }
    }
    if (optind < argc) return cli_usage_error("apply", "unexpected argument '%s'", argv[optind]);
    if (!s->model_path || !s->output || (!!*dataset + !!s->npy_path + !!s->jsonl_path) != 1)
        return cli_usage_error("apply", "--keras, -o and one of --images, --npy or --jsonl are required");
    return cli_npy_or_jsonl("apply", s->output, s->format, &s->jsonl_output);
}

int cli_apply(int argc, char **argv)
{
    apply_settings s = {0};
    s.resize = DLP_RESIZE_AREA;
    s.normalize = DLP_NORMALIZE_NONE;
    s.device = "auto";
    dlp_dataset *dataset = NULL;
    int code = parse_options(argc, argv, &s, &dataset);
    if (code != CLI_EXIT_OK) {
        dlp_dataset_destroy(dataset);
        return code < 0 ? CLI_EXIT_OK : code;
    }
    dlp_keras_model *model = NULL;
    dlp_backend *backend = NULL;
    float *arrays = NULL;
    apply_output out;
    bool opened = false;
    size_t rows = 0, failed = 0, dim = 0;
    int cuda_device = -1;
    char device[512] = "";
    dlp_status status = cli_check_output_path(s.output);
    if (status == DLP_OK) {
        status = dlp_keras_model_load(s.model_path, &s.model_options, &model);
        /* The model file is there but refused (a layer dlp lacks, sizes past its limits, a damaged file): exit 3,
         * as README's exit codes say; a file that cannot be read stays 2. */
        if (status == DLP_ERR_FORMAT || status == DLP_ERR_UNSUPPORTED || status == DLP_ERR_LIMIT) {
            cli_error("apply", "%s", dlp_last_error());
            code = CLI_EXIT_MODEL;
        }
    }
    if (status == DLP_OK && s.output_index >= dlp_keras_model_output_count(model)) {
        cli_error("apply", "--output-index %d: the model has %d outputs", s.output_index,
                  dlp_keras_model_output_count(model));
        status = DLP_ERR_INVALID_ARGUMENT;
        code = CLI_EXIT_USAGE;
    }
    if (status == DLP_OK) status = create_backend(&s, &backend, &cuda_device, device, sizeof device);
    if (status == DLP_OK) {
        dim = dlp_shape_elements(dlp_keras_model_output_shape(model, s.output_index));
        s.output_rank = dlp_keras_model_output_dims(model, s.output_index, s.output_dims);
        if (s.npy_path) status = read_npy_arrays(&s, model, &arrays, &rows);
        else if (s.jsonl_path) status = read_jsonl_arrays(&s, model, &arrays, &rows);
        else rows = dlp_dataset_size(dataset);
    }
    if (status == DLP_OK) opened = (status = output_open(&out, &s, dataset, rows, dim)) == DLP_OK;
    if (status == DLP_OK && (s.npy_path || s.jsonl_path))
        status = apply_arrays(&s, model, backend, arrays, rows, dim, &out);
    else if (status == DLP_OK)
        status = apply_images(&s, model, backend, cuda_device, dataset, dim, &out, &failed);
    if (opened) status = output_close(&out, status);
    if (status != DLP_OK && code == CLI_EXIT_OK) {
        code = cli_fail("apply", status);
    } else if (status == DLP_OK) {
        fprintf(stderr, "apply: %zu rows x %zu values (output \"%s\" of model \"%s\"), %zu failed, on %s\n", rows,
                dim, dlp_keras_model_output_layer(model, s.output_index), dlp_keras_model_name(model), failed, device);
        if (failed) code = CLI_EXIT_FAILED_ROWS;
    }
    free(arrays);
    dlp_backend_destroy(backend);
    dlp_keras_model_destroy(model);
    dlp_dataset_destroy(dataset);
    return code;
}

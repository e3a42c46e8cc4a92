/* cmd_classify.c: `dlp classify`: a zoo model with its ImageNet top on image
 * files (sparkdl's DeepImagePredictor): the top K classes with their WordNet
 * ids and descriptions, or the 1000 probabilities. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli/images.h"
#include "cli/progress.h"
#include "core/status.h"
#include "data/feature_writers.h"
#include "data/output_file.h"
#include "dlp/predictor.h"

static const char usage[] =
    "Usage: dlp classify --model NAME [--weights FILE] [--top-k K | --probabilities]\n"
    "                    (FILE... | --images DIR|LIST ...) -o OUT.jsonl|OUT.npy [OPTIONS]\n\n"
    "Classifies images with a zoo model and its ImageNet top (Keras' 1000 classes;\n"
    "the class list is Keras' imagenet_class_index.json, built into dlp). JSON Lines:\n"
    "one line per image, in order, with \"top_k\": [{\"class\", \"wnid\", \"description\",\n"
    "\"probability\"}, ...] ranked as Keras' decode_predictions, or \"probabilities\" (1000).\n"
    ".npy: float32 [N, 1000] probabilities. A file that cannot be read keeps its line\n"
    "(status error, NaN probabilities in .npy) and the exit code is 5. Rows are written as\n"
    "they are computed, at most DLP_FEATURIZE_CHUNK_BYTES (4 GiB) of probabilities held.\n\n"
    "Options:\n"
    "  --model NAME        InceptionV3, Xception, ResNet50, VGG16 or VGG19\n"
    "  --weights FILE      weights with the ImageNet top: .safetensors, Keras .h5, TF.js model.json;\n"
    "                      default: <model>.safetensors as `dlp models` looks for weights\n"
    "  --top-k K           classes per image, 1..1000 (default 5)\n"
    "  --probabilities     the 1000 probabilities instead of the top K\n"
    "  --images SRC        a folder tree or a list file (path[,label]); repeat to combine\n"
    "  -o, --output OUT    .jsonl (JSON Lines) or .npy (probabilities)\n"
    "  --format F          jsonl or npy (default: from OUT's extension; needed for /dev/stdout)\n"
    "  --resize M          area (default, sparkdl's), bilinear or nearest\n"
    "  --batch-size N      images per network run (default 16)\n"
    "  --threads N         decoding and CPU threads (default: all cores)\n"
    "  --device D          auto (default), cpu, cuda or cuda:N\n"
    "  --quiet             no progress bar (it is drawn only when stderr is a terminal)\n"
    "  -h, --help          this help\n";

enum { OPT_TOP_K = CLI_OPT_FIRST_FREE, OPT_PROBABILITIES, OPT_IMAGES, OPT_FORMAT, OPT_QUIET };

typedef struct classify_settings {
    dlp_predictor_options options;
    const char *output, *format;
    int top_k, probabilities, npy, quiet;
} classify_settings;

/* Adds positional image paths as rows after the --images sources. */
static dlp_status add_files(dlp_dataset **dataset, char **paths, int count)
{
    if (count == 0) return DLP_OK;
    dlp_dataset *files = NULL;
    DLP_TRY(dlp_dataset_create(&files));
    dlp_status status = DLP_OK;
    for (int i = 0; i < count && status == DLP_OK; i++) status = dlp_dataset_add(files, paths[i], -1);
    if (status != DLP_OK) {
        dlp_dataset_destroy(files);
        return status;
    }
    return cli_join_dataset(dataset, files);
}

static int parse_value(int option, const char *argument, classify_settings *s)
{
    long number;
    switch (option) {
    case CLI_OPT_MODEL: s->options.model = argument; return 1;
    case CLI_OPT_WEIGHTS: s->options.weights = argument; return 1;
    case CLI_OPT_DEVICE: s->options.device = argument; return 1;
    case OPT_PROBABILITIES: s->probabilities = 1; return 1;
    case OPT_QUIET: s->quiet = 1; return 1;
    case 'o': s->output = argument; return 1;
    case OPT_FORMAT: s->format = argument; return 1;
    case CLI_OPT_RESIZE:
        if (dlp_resize_from_name(argument, &s->options.resize) == DLP_OK) return 1;
        return cli_usage_error("classify", "--resize %s: expected area, bilinear or nearest", argument), -1;
    case OPT_TOP_K:
        if (!cli_parse_int(argument, 1, DLP_IMAGENET_CLASSES, &number))
            return cli_usage_error("classify", "--top-k %s: expected 1..1000", argument), -1;
        s->top_k = (int)number;
        return 1;
    case CLI_OPT_BATCH_SIZE:
        if (!cli_parse_int(argument, 1, 4096, &number))
            return cli_usage_error("classify", "--batch-size %s: expected 1..4096", argument), -1;
        s->options.batch_size = (int)number;
        return 1;
    case CLI_OPT_THREADS:
        if (!cli_parse_int(argument, 1, 4096, &number))
            return cli_usage_error("classify", "--threads %s: expected 1..4096", argument), -1;
        s->options.threads = (int)number;
        return 1;
    default: return 0;
    }
}

/* CLI_EXIT_OK to go on, -1 after --help, else the exit code. */
static int parse_options(int argc, char **argv, classify_settings *s, dlp_dataset **dataset)
{
    static const struct option options[] = {
        {"model", required_argument, NULL, CLI_OPT_MODEL},       {"weights", required_argument, NULL, CLI_OPT_WEIGHTS},
        {"top-k", required_argument, NULL, OPT_TOP_K},           {"probabilities", no_argument, NULL, OPT_PROBABILITIES},
        {"images", required_argument, NULL, OPT_IMAGES},         {"output", required_argument, NULL, 'o'},
        {"resize", required_argument, NULL, CLI_OPT_RESIZE},     {"batch-size", required_argument, NULL, CLI_OPT_BATCH_SIZE},
        {"threads", required_argument, NULL, CLI_OPT_THREADS},   {"device", required_argument, NULL, CLI_OPT_DEVICE},
        {"format", required_argument, NULL, OPT_FORMAT},         {"help", no_argument, NULL, 'h'},
        {"quiet", no_argument, NULL, OPT_QUIET},                 {0}};
    int option, top_k_given = 0;
    optind = 1;
    while ((option = getopt_long(argc, argv, "ho:", options, NULL)) != -1) {
        if (option == 'h') {
            fputs(usage, stdout);
            return -1;
        }
        if (option == OPT_IMAGES) {
            dlp_status status = cli_add_image_source(dataset, optarg);
            if (status != DLP_OK) return cli_fail("classify", status);
            continue;
        }
        if (option == OPT_TOP_K) top_k_given = 1;
        int handled = parse_value(option, optarg, s);
        if (handled < 0) return CLI_EXIT_USAGE;
        if (handled == 0) return cli_usage_error("classify", "unknown option");
    }
    dlp_status status = add_files(dataset, argv + optind, argc - optind);
    if (status != DLP_OK) return cli_fail("classify", status);
    if (!s->options.model || !s->output || !*dataset)
        return cli_usage_error("classify", "--model, -o and at least one image (FILE or --images) are required");
    bool jsonl = false;
    int code = cli_npy_or_jsonl("classify", s->output, s->format, &jsonl);
    if (code != CLI_EXIT_OK) return code;
    s->npy = !jsonl;
    if (top_k_given && s->probabilities)
        return cli_usage_error("classify", "--top-k and --probabilities exclude each other");
    if (s->npy && top_k_given)
        return cli_usage_error("classify", "-o %s: a .npy output holds the probabilities; --top-k needs .jsonl",
                               s->output);
    return CLI_EXIT_OK;
}

static void write_top_k(FILE *out, const float *probabilities, int k, dlp_prediction *top)
{
    if (dlp_imagenet_top_k(probabilities, k, top) != DLP_OK) {
        fputs("null", out);
        return;
    }
    fputc('[', out);
    for (int r = 0; r < k; r++) {
        fprintf(out, "%s{\"class\":%d,\"wnid\":", r ? "," : "", top[r].class_id);
        dlp_json_write_string(out, top[r].wnid);
        fputs(",\"description\":", out);
        dlp_json_write_string(out, top[r].description);
        fprintf(out, ",\"probability\":%.9g}", top[r].probability);
    }
    fputc(']', out);
}

/* One JSON line per row of [first, first + count): origin, label, status/error, then top_k or probabilities. */
static dlp_status write_jsonl_rows(const classify_settings *s, FILE *out, const dlp_dataset *dataset, size_t first,
                                   size_t count, const float *probabilities, dlp_prediction *top)
{
    dlp_status status = DLP_OK;
    for (size_t i = 0; i < count && status == DLP_OK; i++) {
        dlp_row row;
        dlp_dataset_row(dataset, first + i, &row);
        const float *p = probabilities + i * DLP_IMAGENET_CLASSES;
        const char *label = row.label >= 0 ? dlp_dataset_label_name(dataset, row.label) : NULL;
        if (s->probabilities) {
            status = dlp_jsonl_write_row(out, &row, label, "probabilities", row.status == DLP_OK ? p : NULL,
                                         DLP_IMAGENET_CLASSES);
            continue;
        }
        /* dlp_jsonl_write_row's fields, then top_k in place of its closing brace. */
        char *line = NULL;
        size_t length = 0;
        FILE *buffer = open_memstream(&line, &length);
        if (!buffer) return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "out of memory");
        status = dlp_jsonl_write_row(buffer, &row, label, NULL, NULL, 0);
        fclose(buffer);
        if (status == DLP_OK && length >= 2) {
            fwrite(line, 1, length - 2, out);
            fputs(",\"top_k\":", out);
            if (row.status == DLP_OK) write_top_k(out, p, s->top_k, top);
            else fputs("null", out);
            fputs("}\n", out);
        }
        free(line);
    }
    return status;
}

/* Classifies every row in chunks of at most DLP_FEATURIZE_CHUNK_BYTES of probabilities (1000 floats a row), each
 * written as it is computed: the .npy header first (the row count is known), then its values; or JSON Lines. */
static dlp_status classify_rows(const classify_settings *s, dlp_predictor *predictor, dlp_dataset *dataset,
                                size_t *failed)
{
    size_t rows = dlp_dataset_size(dataset), chunk = 0;
    DLP_TRY(cli_chunk_rows(rows, DLP_IMAGENET_CLASSES, &chunk));
    float *probabilities = malloc((chunk ? chunk : 1) * DLP_IMAGENET_CLASSES * sizeof(float));
    dlp_prediction *top = malloc((size_t)s->top_k * sizeof *top);
    dlp_output_file file;
    dlp_status status = probabilities && top ? dlp_output_file_open(&file, s->output)
                                             : dlp_fail(DLP_ERR_OUT_OF_MEMORY, "out of memory for %zu rows", chunk);
    if (status != DLP_OK) {
        free(probabilities), free(top);
        return status;
    }
    /* The .npy header goes with the first rows (or at the end, for none), so that a run refused before any row
     * writes nothing to a target written in place (/dev/stdout). */
    size_t shape[2] = {rows, DLP_IMAGENET_CLASSES};
    cli_progress progress;
    cli_progress_start(&progress, "classify", rows, !s->quiet);
    for (size_t first = 0; first < rows && status == DLP_OK; first += chunk) {
        size_t count = rows - first < chunk ? rows - first : chunk, chunk_failed = 0;
        cli_progress_at at = {&progress, first};
        status = dlp_predictor_run_progress(predictor, dataset, first, count, probabilities, &chunk_failed,
                                            cli_progress_advance_at, &at);
        *failed += chunk_failed;
        if (status == DLP_OK && s->npy) {
            if (first == 0) dlp_npy_write_header(file.file, 2, shape);
            dlp_npy_write_values(file.file, probabilities, count * DLP_IMAGENET_CLASSES);
        } else if (status == DLP_OK) status = write_jsonl_rows(s, file.file, dataset, first, count, probabilities, top);
        /* errno is the failed write's (stdio sets it). */
        if (status == DLP_OK && ferror(file.file))
            status = dlp_fail(DLP_ERR_IO, "%s: write failed: %s", s->output, strerror(errno));
    }
    cli_progress_finish(&progress);
    if (status == DLP_OK && s->npy && rows == 0) dlp_npy_write_header(file.file, 2, shape);
    free(probabilities), free(top);
    return status == DLP_OK ? dlp_output_file_commit(&file) : dlp_output_file_abort(&file, status);
}

int cli_classify(int argc, char **argv)
{
    classify_settings s;
    memset(&s, 0, sizeof s);
    dlp_predictor_options_init(&s.options);
    s.top_k = 5;
    dlp_dataset *dataset = NULL;
    int code = parse_options(argc, argv, &s, &dataset);
    if (code != CLI_EXIT_OK) {
        dlp_dataset_destroy(dataset);
        return code < 0 ? CLI_EXIT_OK : code;
    }
    size_t rows = dlp_dataset_size(dataset), failed = 0;
    dlp_predictor *predictor = NULL;
    dlp_status status = cli_check_output_path(s.output);
    if (status == DLP_OK) status = dlp_predictor_create(&s.options, &predictor);
    if (status == DLP_OK) status = classify_rows(&s, predictor, dataset, &failed);
    if (status != DLP_OK) {
        code = cli_fail("classify", status);
    } else {
        fprintf(stderr, "classify: %zu images with %s on %s, %zu failed\n", rows, dlp_predictor_model(predictor)->name,
                dlp_predictor_device(predictor), failed);
        if (failed) code = CLI_EXIT_FAILED_ROWS;
    }
    dlp_predictor_destroy(predictor);
    dlp_dataset_destroy(dataset);
    return code;
}

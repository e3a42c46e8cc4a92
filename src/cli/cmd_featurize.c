/* cmd_featurize.c: `dlp featurize`: images -> features (.npy, LibSVM or JSON
 * Lines) plus the CSV manifest of rows (origin, label, status, message). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli/images.h"
#include "core/status.h"
#include "data/feature_writers.h"
#include "data/output_file.h"

static const char usage[] =
    "Usage: dlp featurize [OPTIONS] --images DIR|LIST [--images ...] -o OUT\n\n"
    "Runs a zoo network with its top peeled off over images and writes one feature\n"
    "row per image, in the order of the rows (a folder is scanned in byte order of\n"
    "its paths; labels come from sub-folder names). A file that cannot be read or\n"
    "decoded keeps its row: its features are NaN (null in JSON Lines) and the manifest\n"
    "says why. Exit code 5 when some rows failed. Rows are written as they are computed, in\n"
    "chunks of at most DLP_FEATURIZE_CHUNK_BYTES (default 4 GiB) of features.\n\n"
    "Options:\n"
    "  --images SRC        a folder tree (class sub-folders) or a list file (path[,label]);\n"
    "                      repeat to combine several\n"
    "  -o, --output OUT    features file (- for standard output); format from --format or the extension\n"
    "                      (.npy float32 [N, D]; .libsvm/.txt Spark's LibSVM; .jsonl JSON Lines)\n"
    "  --format F          npy, libsvm or jsonl\n"
    "  --manifest CSV      rows as CSV (default: OUT with .csv instead of its extension)\n" CLI_FEATURIZER_HELP
    "  -h, --help          this help\n";

enum { OPT_IMAGES = CLI_OPT_FIRST_FREE, OPT_FORMAT, OPT_MANIFEST };

static const char *format_from_path(const char *path)
{
    const char *dot = strrchr(path, '.');
    if (dot && !strcmp(dot, ".npy")) return "npy";
    if (dot && (!strcmp(dot, ".libsvm") || !strcmp(dot, ".txt") || !strcmp(dot, ".svm"))) return "libsvm";
    if (dot && (!strcmp(dot, ".jsonl") || !strcmp(dot, ".json"))) return "jsonl";
    return NULL;
}

/* The features file as the rows arrive, chunk by chunk (cli_featurize_chunks): written under a temporary name and
 * renamed into place at the end, as the other writers' (data/output_file.h); "-" is stdout. */
typedef struct feature_output {
    const char *path, *format;
    const dlp_dataset *dataset;
    size_t dim;
    dlp_output_file output;
    FILE *file;
} feature_output;

static dlp_status open_features(feature_output *o)
{
    if (!strcmp(o->path, "-")) {
        o->file = stdout;
    } else {
        DLP_TRY(dlp_output_file_open(&o->output, o->path));
        o->file = o->output.file;
    }
    size_t shape[2] = {dlp_dataset_size(o->dataset), o->dim};
    if (!strcmp(o->format, "npy")) dlp_npy_write_header(o->file, 2, shape);
    return DLP_OK;
}

static dlp_status write_jsonl_rows(const feature_output *o, size_t first, size_t count, const float *features)
{
    dlp_status status = DLP_OK;
    for (size_t i = 0; i < count && status == DLP_OK; i++) {
        dlp_row row;
        dlp_dataset_row(o->dataset, first + i, &row);
        const char *label = row.label >= 0 ? dlp_dataset_label_name(o->dataset, row.label) : NULL;
        status = dlp_jsonl_write_row(o->file, &row, label, "features",
                                     row.status == DLP_OK ? features + i * o->dim : NULL, o->dim);
    }
    return status;
}

static dlp_status write_libsvm_rows(const feature_output *o, size_t first, size_t count, const float *features)
{
    double *labels = malloc((count ? count : 1) * sizeof *labels);
    if (!labels) return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "featurize: out of memory for %zu labels", count);
    for (size_t i = 0; i < count; i++) {
        dlp_row row;
        dlp_dataset_row(o->dataset, first + i, &row);
        labels[i] = row.label >= 0 ? (double)row.label : 0.0;
    }
    dlp_libsvm_write_rows(o->file, features, count, o->dim, labels);
    free(labels);
    return DLP_OK;
}

static dlp_status write_chunk(void *context, size_t first, size_t count, const float *features)
{
    const feature_output *o = context;
    dlp_status status = DLP_OK;
    if (!strcmp(o->format, "npy")) dlp_npy_write_values(o->file, features, count * o->dim);
    else if (!strcmp(o->format, "jsonl")) status = write_jsonl_rows(o, first, count, features);
    else status = write_libsvm_rows(o, first, count, features);
    if (status == DLP_OK && ferror(o->file)) /* errno is the failed write's (stdio sets it) */
        status = dlp_fail(DLP_ERR_IO, "%s: write failed: %s", o->path, strerror(errno));
    return status;
}

static dlp_status close_features(feature_output *o, dlp_status status)
{
    if (o->file == stdout) {
        if (fflush(stdout) != 0 && status == DLP_OK)
            status = dlp_fail(DLP_ERR_IO, "standard output: write failed: %s", strerror(errno));
        return status;
    }
    return status == DLP_OK ? dlp_output_file_commit(&o->output) : dlp_output_file_abort(&o->output, status);
}

int cli_featurize(int argc, char **argv)
{
    static const struct option options[] = {CLI_FEATURIZER_LONG_OPTIONS,
                                            {"images", required_argument, NULL, OPT_IMAGES},
                                            {"output", required_argument, NULL, 'o'},
                                            {"format", required_argument, NULL, OPT_FORMAT},
                                            {"manifest", required_argument, NULL, OPT_MANIFEST},
                                            {"help", no_argument, NULL, 'h'},
                                            {0}};
    cli_featurizer_settings settings;
    cli_featurizer_settings_init(&settings);
    const char *output = NULL, *format = NULL, *manifest = NULL;
    dlp_dataset *dataset = NULL;
    int option, exit_code = CLI_EXIT_OK;
    optind = 1;
    while ((option = getopt_long(argc, argv, "ho:", options, NULL)) != -1) {
        int handled = cli_featurizer_option("featurize", option, optarg, &settings);
        if (handled < 0) goto usage_failed;
        if (handled) continue;
        switch (option) {
        case 'o': output = optarg; break;
        case OPT_FORMAT: format = optarg; break;
        case OPT_MANIFEST: manifest = optarg; break;
        case OPT_IMAGES: {
            dlp_status status = cli_add_image_source(&dataset, optarg);
            if (status != DLP_OK) {
                dlp_dataset_destroy(dataset);
                return cli_fail("featurize", status);
            }
            break;
        }
        case 'h': dlp_dataset_destroy(dataset); fputs(usage, stdout); return CLI_EXIT_OK;
        default: cli_usage_error("featurize", "unknown option"); goto usage_failed;
        }
    }
    if (optind < argc) {
        cli_usage_error("featurize", "unexpected argument '%s'", argv[optind]);
        goto usage_failed;
    }
    if (!dataset || !output) {
        cli_usage_error("featurize", "--images and -o are required");
        goto usage_failed;
    }
    if (!format) format = format_from_path(output);
    if (!format || (strcmp(format, "npy") && strcmp(format, "libsvm") && strcmp(format, "jsonl"))) {
        cli_usage_error("featurize", "output format: expected npy, libsvm or jsonl (--format, or the extension of %s)",
                        output);
        goto usage_failed;
    }

    dlp_status status = cli_check_output_path(output);
    if (status == DLP_OK) status = cli_check_output_path(manifest);
    if (status != DLP_OK) {
        dlp_dataset_destroy(dataset);
        return cli_fail("featurize", status);
    }
    dlp_featurizer *featurizer = NULL;
    status = dlp_featurizer_create(&settings.options, &featurizer);
    if (status != DLP_OK) {
        dlp_dataset_destroy(dataset);
        return cli_fail("featurize", status);
    }
    dlp_featurize_stats stats = {0};
    size_t dim = dlp_featurizer_dim(featurizer);
    feature_output out = {.path = output, .format = format, .dataset = dataset, .dim = dim};
    status = open_features(&out);
    if (status == DLP_OK)
        status = close_features(&out, cli_featurize_chunks(featurizer, dataset, settings.quiet, write_chunk, &out,
                                                           &stats));
    char manifest_path[4096];
    if (status == DLP_OK && strcmp(output, "-")) {
        if (!manifest) {
            const char *dot = strrchr(output, '.'), *slash = strrchr(output, '/');
            int stem = dot && (!slash || dot > slash) ? (int)(dot - output) : (int)strlen(output);
            snprintf(manifest_path, sizeof manifest_path, "%.*s.csv", stem, output);
            manifest = manifest_path;
        }
        status = dlp_manifest_write_csv(manifest, dataset);
    }
    if (status != DLP_OK) {
        exit_code = cli_fail("featurize", status);
    } else {
        fprintf(stderr,
                "featurize: %zu rows x %zu features (%s, %s) in %.2fs (%.0f rows/s; first batch of %zu after "
                "%.2fs): %zu computed, %zu from cache, %zu failed\n",
                stats.rows, dim, dlp_featurizer_model(featurizer)->name, dlp_featurizer_device(featurizer),
                stats.seconds, stats.seconds > 0 ? stats.rows / stats.seconds : 0.0, stats.first_batch_rows,
                stats.first_batch_seconds, stats.computed, stats.cache_hits, stats.failed);
        if (stats.jpeg_split)
            fprintf(stderr, "featurize: %zu of the %zu computed rows decoded by the JPEG split (DLP_JPEG_SPLIT)\n",
                    stats.jpeg_split, stats.computed);
        if (stats.failed) exit_code = CLI_EXIT_FAILED_ROWS;
    }
    dlp_featurizer_destroy(featurizer);
    dlp_dataset_destroy(dataset);
    return exit_code;

usage_failed:
    dlp_dataset_destroy(dataset);
    return CLI_EXIT_USAGE;
}

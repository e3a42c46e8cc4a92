/* cmd_featurize.c: `dlp featurize`: images -> features (.npy, LibSVM or JSON
 * Lines) plus the CSV manifest of rows (origin, label, status, message). */
#include <stdlib.h>
#include <string.h>

#include "cli/images.h"
#include "core/status.h"
#include "data/output_file.h"

static const char usage[] =
    "Usage: dlp featurize [OPTIONS] --images DIR|LIST [--images ...] -o OUT\n\n"
    "Runs a zoo network with its top peeled off over images and writes one feature\n"
    "row per image, in the order of the rows (a folder is scanned in byte order of\n"
    "its paths; labels come from sub-folder names). A file that cannot be read or\n"
    "decoded keeps its row: its features are NaN (null in JSON Lines) and the manifest\n"
    "says why. Exit code 5 when some rows failed.\n\n"
    "Options:\n"
    "  --images SRC        a folder tree (class sub-folders) or a list file (path[,label]);\n"
    "                      repeat to combine several\n"
    "  -o, --output OUT    features file; format from --format or the extension\n"
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

static dlp_status write_jsonl_rows(FILE *out, const dlp_dataset *dataset, const float *features, size_t dim)
{
    dlp_status status = DLP_OK;
    for (size_t i = 0; i < dlp_dataset_size(dataset) && status == DLP_OK; i++) {
        dlp_row row;
        dlp_dataset_row(dataset, i, &row);
        status = dlp_jsonl_write_row(out, &row, row.label >= 0 ? dlp_dataset_label_name(dataset, row.label) : NULL,
                                     "features", row.status == DLP_OK ? features + i * dim : NULL, dim);
    }
    return status;
}

/* "-" is stdout; a file appears whole or not at all, as the other writers'. */
static dlp_status write_jsonl(const char *path, const dlp_dataset *dataset, const float *features, size_t dim)
{
    if (!strcmp(path, "-")) return write_jsonl_rows(stdout, dataset, features, dim);
    dlp_output_file out;
    DLP_TRY(dlp_output_file_open(&out, path));
    dlp_status status = write_jsonl_rows(out.file, dataset, features, dim);
    return status == DLP_OK ? dlp_output_file_commit(&out) : dlp_output_file_abort(&out, status);
}

static dlp_status write_features(const char *path, const char *format, const dlp_dataset *dataset,
                                 const float *features, size_t dim)
{
    size_t rows = dlp_dataset_size(dataset);
    if (!strcmp(format, "npy")) return dlp_npy_write_f32(path, features, rows, dim);
    if (!strcmp(format, "jsonl")) return write_jsonl(path, dataset, features, dim);
    double *labels = malloc((rows ? rows : 1) * sizeof *labels);
    if (!labels) return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "featurize: out of memory for %zu labels", rows);
    for (size_t i = 0; i < rows; i++) {
        dlp_row row;
        dlp_dataset_row(dataset, i, &row);
        labels[i] = row.label >= 0 ? (double)row.label : 0.0;
    }
    dlp_status status = dlp_libsvm_write(path, features, rows, dim, labels);
    free(labels);
    return status;
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
    float *features = NULL;
    dlp_featurize_stats stats = {0};
    size_t dim = dlp_featurizer_dim(featurizer);
    status = cli_featurize_dataset(featurizer, dataset, settings.quiet, &features, &stats);
    if (status == DLP_OK) status = write_features(output, format, dataset, features, dim);
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
        if (stats.failed) exit_code = CLI_EXIT_FAILED_ROWS;
    }
    free(features);
    dlp_featurizer_destroy(featurizer);
    dlp_dataset_destroy(dataset);
    return exit_code;

usage_failed:
    dlp_dataset_destroy(dataset);
    return CLI_EXIT_USAGE;
}

/* images.c: featurizer options, image sources and featurizing with a
 * progress bar, shared by the commands that read images. */
#include "cli/images.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/progress.h"
#include "core/status.h"

void cli_featurizer_settings_init(cli_featurizer_settings *settings)
{
    memset(settings, 0, sizeof *settings);
    dlp_featurizer_options_init(&settings->options);
    settings->options.model = "InceptionV3";
}

int cli_featurizer_option(const char *command, int option, const char *argument, cli_featurizer_settings *settings)
{
    dlp_featurizer_options *options = &settings->options;
    long value;
    switch (option) {
    case CLI_OPT_MODEL: options->model = argument; return 1;
    case CLI_OPT_WEIGHTS: options->weights = argument; return 1;
    case CLI_OPT_DEVICE: options->device = argument; return 1;
    case CLI_OPT_PRECISION:
        if (dlp_cuda_precision_from_name(argument, &options->precision, &options->allow_tf32) == DLP_OK) return 1;
        cli_usage_error(command, "--precision '%s': expected fp32, tf32, fp16 or bf16", argument);
        return -1;
    case CLI_OPT_CACHE_DIR: options->cache_dir = argument; return 1;
    case CLI_OPT_NO_CACHE: options->cache_dir = ""; return 1;
    case CLI_OPT_QUIET: settings->quiet = 1; return 1;
    case CLI_OPT_CPU_PREPROCESS: options->cpu_preprocess = true; return 1;
    case CLI_OPT_CUDA_GRAPHS: options->cuda_graphs = true; return 1;
    case CLI_OPT_NO_CUDA_GRAPHS: options->cuda_graphs = false; return 1;
    case CLI_OPT_POOLING:
        if (dlp_pooling_from_name(argument, &options->pooling) == DLP_OK && options->pooling != DLP_POOLING_NONE)
            return 1;
        cli_usage_error(command, "--pooling '%s': expected avg, max or flatten", argument);
        return -1;
    case CLI_OPT_RESIZE:
        if (dlp_resize_from_name(argument, &options->resize) == DLP_OK) return 1;
        cli_usage_error(command, "--resize '%s': expected area, bilinear or nearest", argument);
        return -1;
    case CLI_OPT_BATCH_SIZE:
        if (cli_parse_int(argument, 1, 4096, &value)) {
            options->batch_size = (int)value;
            return 1;
        }
        cli_usage_error(command, "--batch-size '%s': expected an integer in 1..4096", argument);
        return -1;
    case CLI_OPT_THREADS:
        if (cli_parse_int(argument, 1, 1024, &value)) {
            options->threads = (int)value;
            return 1;
        }
        cli_usage_error(command, "--threads '%s': expected an integer in 1..1024", argument);
        return -1;
    default: return 0;
    }
}

dlp_status cli_join_dataset(dlp_dataset **dataset, dlp_dataset *added)
{
    if (!*dataset) {
        *dataset = added;
        return DLP_OK;
    }
    dlp_dataset *joined = NULL;
    dlp_status status = dlp_dataset_union(*dataset, added, &joined);
    dlp_dataset_destroy(added);
    if (status != DLP_OK) return status;
    dlp_dataset_destroy(*dataset);
    *dataset = joined;
    return DLP_OK;
}

dlp_status cli_add_image_source(dlp_dataset **dataset, const char *source)
{
    struct stat info;
    dlp_dataset *added = NULL;
    DLP_TRY(dlp_dataset_create(&added));
    dlp_status status;
    int is_folder = stat(source, &info) == 0 && S_ISDIR(info.st_mode);
    if (is_folder) status = dlp_dataset_scan_directory(added, source);
    else status = dlp_dataset_read_list(added, source);
    if (status != DLP_OK) {
        dlp_dataset_destroy(added);
        return status;
    }
    /* Not an error (a folder of new files may be empty today), but almost always a wrong path. */
    if (dlp_dataset_size(added) == 0)
        fprintf(stderr, "dlp: warning: %s: %s\n", source,
                is_folder ? "no files under this folder (names starting with '.' are skipped)"
                          : "lists no files");
    return cli_join_dataset(dataset, added);
}

static dlp_status featurize_chunk_bytes(unsigned long long *bytes)
{
    const char *text = getenv("DLP_FEATURIZE_CHUNK_BYTES");
    *bytes = 4ULL << 30;
    if (text && *text) {
        char *end = NULL;
        errno = 0;
        *bytes = strtoull(text, &end, 10);
        if (*end || errno || *bytes == 0 || *text == '-')
            return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "DLP_FEATURIZE_CHUNK_BYTES=%s: expected a whole number of bytes, "
                            "1 or more", text);
    }
    return DLP_OK;
}

dlp_status cli_chunk_rows(size_t rows, size_t dim, size_t *chunk)
{
    unsigned long long bytes = 0;
    DLP_TRY(featurize_chunk_bytes(&bytes));
    size_t per_chunk = (size_t)(bytes / (dim ? dim * sizeof(float) : 1));
    *chunk = per_chunk == 0 ? 1 : per_chunk < rows ? per_chunk : rows;
    return DLP_OK;
}

dlp_status cli_featurize_chunks(dlp_featurizer *featurizer, dlp_dataset *dataset, int quiet, cli_feature_sink sink,
                                void *context, dlp_featurize_stats *stats)
{
    size_t rows = dlp_dataset_size(dataset), dim = dlp_featurizer_dim(featurizer), chunk = 0;
    DLP_TRY(cli_chunk_rows(rows, dim, &chunk));
    float *features = malloc((chunk ? chunk : 1) * dim * sizeof(float));
    if (!features)
        return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "featurize: cannot allocate %zu x %zu features", chunk, dim);
    cli_progress progress;
    cli_progress_start(&progress, "featurize", rows, !quiet);
    *stats = (dlp_featurize_stats){0};
    dlp_status status = DLP_OK;
    size_t first = 0;
    do { /* once for no rows, as before chunks: the sink writes an empty file */
        size_t count = rows - first < chunk ? rows - first : chunk;
        cli_progress_at at = {&progress, first};
        dlp_featurize_stats part = {0};
        status = dlp_featurizer_run(featurizer, dataset, first, count, features, cli_progress_advance_at, &at, &part);
        if (status == DLP_OK) status = sink(context, first, count, features);
        stats->rows += part.rows, stats->cache_hits += part.cache_hits, stats->computed += part.computed;
        stats->failed += part.failed, stats->seconds += part.seconds, stats->jpeg_split += part.jpeg_split;
        if (first == 0) {
            stats->first_batch_seconds = part.first_batch_seconds;
            stats->first_batch_rows = part.first_batch_rows;
        }
        first += count;
    } while (status == DLP_OK && first < rows);
    cli_progress_finish(&progress);
    free(features);
    return status;
}

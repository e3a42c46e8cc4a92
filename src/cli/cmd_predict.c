/* cmd_predict.c: `dlp predict PIPELINE (FILE|FOLDER... | --images SOURCE | --stdin)`:
 * applies a fitted pipeline to images and writes one JSON line per image, in
 * input order. Files and folders are featurized in chunks (next_chunk): one
 * featurizer run each, decoding beside the network, lines written as each
 * chunk ends. With --stdin, paths are read as they arrive and gathered into
 * micro-batches that close when full (--batch-size) or when the oldest
 * waiting path has waited --max-latency-ms; each batch's lines are written
 * and flushed as soon as it finishes. EOF or SIGINT/SIGTERM: the rows under
 * way (a chunk, or the paths already read) are finished and written, then
 * the command exits; a second signal stops it at once. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/images.h"
#include "cli/predictions.h"
#include "cli/progress.h"
#include "core/status.h"

static const char usage[] =
    "Usage: dlp predict [OPTIONS] PIPELINE (FILE... | --images SOURCE | --stdin)\n\n"
    "Applies a pipeline written by `dlp fit` to images: one JSON line per image on stdout\n"
    "(or -o FILE), in input order:\n"
    "  {\"origin\":..,\"label\":null,\"status\":\"ok\",\"error\":null,\"prediction\":3,\n"
    "   \"prediction_name\":\"3\",\"probability\":[..],\"top_k\":[{\"label\":3,\"name\":\"3\",\"probability\":0.93},..]}\n"
    "A file that cannot be read or decoded gives a line with \"status\":\"error\" and the reason;\n"
    "the other images are unaffected (exit code 5 at the end).\n"
    "A FILE that is a folder is read as by --images. The rows are the --images sources', then\n"
    "the FILEs'. \"label\" is the row's class from its folder or list when the pipeline has a\n"
    "class of that name (the index, as \"prediction\"), else null.\n"
    "Images are featurized a few seconds' worth at a time, decoding beside the network; each\n"
    "such chunk's lines are written as it ends. SIGINT/SIGTERM finishes and writes the rows under\n"
    "way, then stops (exit 0 or 5); a second one stops at once.\n\n"
    "Options:\n"
    "  --images SOURCE     a folder (labels from its sub-folders) or a list file (path[,label]),\n"
    "                      as for dlp featurize; repeatable\n"
    "  --stdin             read paths from stdin, one per line, as they arrive (streaming)\n"
    "  --max-latency-ms N  streaming: a batch closes when its oldest path has waited N ms (default 50)\n"
    "  --top-k K           add the K most probable classes with their names (default 0)\n"
    "  -o, --output FILE   write the JSON lines here instead of stdout\n"
    "  --weights FILE      the featurizer's weights, if not where the pipeline recorded them\n"
    "                      (their sha256 must match the pipeline's)\n"
    "  --batch-size N      images per batch (default 16 on the CPU, 64 on a GPU)\n"
    "  --threads N, --device D, --cache-dir DIR, --no-cache, --quiet: as for dlp featurize\n"
    "  -h, --help          this help\n";

enum { OPT_STDIN = CLI_OPT_FIRST_FREE, OPT_MAX_LATENCY, OPT_TOP_K, OPT_IMAGES };

static volatile sig_atomic_t stop_requested;

/* The first SIGINT or SIGTERM asks for a stop after the rows under way;
 * both then get their default action back, so the next one of either stops
 * the command at once. */
static void request_stop(int signal_number)
{
    (void)signal_number;
    stop_requested = 1;
    struct sigaction fallback = {0};
    fallback.sa_handler = SIG_DFL;
    sigemptyset(&fallback.sa_mask);
    sigaction(SIGINT, &fallback, NULL); /* async-signal-safe */
    sigaction(SIGTERM, &fallback, NULL);
}

typedef struct predictor {
    dlp_pipeline *pipeline;
    dlp_featurizer *featurizer;
    FILE *out;
    off_t whole; /* -o FILE: its length after the last whole row (a failed write is cut back to it); else -1 */
    size_t top_k;
    int quiet;
    size_t rows, failed;         /* written */
    float *features;             /* room for capacity rows */
    cli_predictions predictions; /* capacity rows */
    size_t capacity;
} predictor;

static dlp_status reserve_rows(predictor *p, size_t rows)
{
    if (rows <= p->capacity) return DLP_OK;
    size_t dim = dlp_featurizer_dim(p->featurizer);
    free(p->features);
    cli_predictions_free(&p->predictions);
    p->capacity = 0;
    p->features = malloc(rows * dim * sizeof(float));
    if (!p->features) return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "predict: cannot allocate %zu x %zu features", rows, dim);
    DLP_TRY(cli_predictions_alloc(p->pipeline, rows, &p->predictions));
    p->capacity = rows;
    return DLP_OK;
}

/* Featurizes and predicts rows [first, first + count) of dataset and writes
 * their lines (each flushed); progress (or NULL) advances per batch. */
static dlp_status predict_rows(predictor *p, dlp_dataset *dataset, size_t first, size_t count, cli_progress *progress)
{
    DLP_TRY(reserve_rows(p, count));
    dlp_featurize_stats stats = {0};
    cli_progress_at at = {progress, first};
    dlp_status status = dlp_featurizer_run(p->featurizer, dataset, first, count, p->features,
                                           progress ? cli_progress_advance_at : NULL, &at, &stats);
    if (status == DLP_OK)
        status = cli_predict_range(p->pipeline, dataset, first, count, p->features, dlp_featurizer_dim(p->featurizer),
                                   &p->predictions, 0);
    for (size_t i = 0; status == DLP_OK && i < count; i++) {
        dlp_row row;
        status = dlp_dataset_row(dataset, first + i, &row);
        int64_t label = status == DLP_OK ? cli_pipeline_label_or_none(p->pipeline, dataset, &row) : -1;
        if (status == DLP_OK)
            status = cli_write_prediction_row(p->out, p->pipeline, &row, label, &p->predictions, i, p->top_k);
        if (status != DLP_OK) break;
        if (p->whole >= 0) p->whole = ftello(p->out); /* the row writer flushed */
        p->rows++;
        p->failed += row.status != DLP_OK;
    }
    return status;
}

/* Streaming: one micro-batch of paths. */
static dlp_status predict_paths(predictor *p, char **paths, size_t count)
{
    dlp_dataset *dataset = NULL;
    DLP_TRY(dlp_dataset_create(&dataset));
    dlp_status status = DLP_OK;
    for (size_t i = 0; i < count && status == DLP_OK; i++) status = dlp_dataset_add(dataset, paths[i], DLP_LABEL_NONE);
    if (status == DLP_OK) status = predict_rows(p, dataset, 0, count, NULL);
    dlp_dataset_destroy(dataset);
    return status;
}

static double now_ms(void) { return cli_now_seconds() * 1000.0; }

/* Streaming: a line buffer over non-blocking reads of fd 0, so a batch can
 * close on time while a path is still half written. */
typedef struct line_reader {
    char *buffer;
    size_t used, capacity;
    int eof;
} line_reader;

/* Moves complete lines out of the reader into paths; returns how many. */
static size_t take_lines(line_reader *reader, char ***paths, size_t *count, size_t *capacity)
{
    size_t taken = 0, start = 0;
    for (size_t i = 0; i < reader->used; i++) {
        if (reader->buffer[i] != '\n') continue;
        size_t length = i - start;
        if (length && reader->buffer[start + length - 1] == '\r') length--;
        if (length) {
            if (*count == *capacity) {
                size_t grown = *capacity ? *capacity * 2 : 64;
                char **larger = realloc(*paths, grown * sizeof **paths);
                if (!larger) break;
                *paths = larger, *capacity = grown;
            }
            char *path = strndup(reader->buffer + start, length);
            if (!path) break;
            (*paths)[(*count)++] = path;
            taken++;
        }
        start = i + 1;
    }
    memmove(reader->buffer, reader->buffer + start, reader->used - start);
    reader->used -= start;
    return taken;
}

static dlp_status reserve_byte(line_reader *reader)
{
    if (reader->used < reader->capacity) return DLP_OK;
    size_t grown = reader->capacity ? reader->capacity * 2 : 65536;
    char *larger = realloc(reader->buffer, grown);
    if (!larger) return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "stdin: out of memory");
    reader->buffer = larger, reader->capacity = grown;
    return DLP_OK;
}

static dlp_status read_more(line_reader *reader)
{
    DLP_TRY(reserve_byte(reader));
    ssize_t got = read(0, reader->buffer + reader->used, reader->capacity - reader->used);
    if (got > 0) reader->used += (size_t)got;
    else if (got == 0) reader->eof = 1;
    else if (errno != EINTR && errno != EAGAIN) return dlp_fail(DLP_ERR_IO, "stdin: %s", strerror(errno));
    return DLP_OK;
}

static void free_paths(char **paths, size_t count)
{
    for (size_t i = 0; i < count; i++) free(paths[i]);
}

static dlp_status stream(predictor *p, int batch_size, int max_latency_ms)
{
    line_reader reader = {0};
    char **paths = NULL;
    size_t count = 0, capacity = 0;
    double oldest_ms = 0;
    dlp_status status = DLP_OK;
    while (status == DLP_OK) {
        int timeout = -1;
        if (count) {
            double left = oldest_ms + max_latency_ms - now_ms();
            timeout = left > 0 ? (int)left + 1 : 0;
        }
        if (!reader.eof && !stop_requested && (count < (size_t)batch_size)) {
            struct pollfd descriptor = {.fd = 0, .events = POLLIN};
            int ready = poll(&descriptor, 1, timeout);
            if (ready > 0) status = read_more(&reader);
            size_t before = count;
            take_lines(&reader, &paths, &count, &capacity);
            if (before == 0 && count > 0) oldest_ms = now_ms();
        }
        if (reader.eof && reader.used) { /* a last line without '\n' */
            status = reserve_byte(&reader);
            if (status == DLP_OK) reader.buffer[reader.used++] = '\n';
            size_t before = count;
            take_lines(&reader, &paths, &count, &capacity);
            if (before == 0 && count > 0) oldest_ms = now_ms();
        }
        bool finished_input = reader.eof || stop_requested;
        bool due = count && (count >= (size_t)batch_size || now_ms() >= oldest_ms + max_latency_ms || finished_input);
        if (status == DLP_OK && due) {
            size_t n = count < (size_t)batch_size ? count : (size_t)batch_size;
            status = predict_paths(p, paths, n);
            free_paths(paths, n);
            memmove(paths, paths + n, (count - n) * sizeof *paths);
            count -= n;
            if (count) oldest_ms = now_ms();
        }
        if (finished_input && count == 0) break;
    }
    free_paths(paths, count);
    free(paths);
    free(reader.buffer);
    return status;
}

/* Rows per chunk of the dataset: each chunk is one featurizer run, whose
 * decoding overlaps its network batches, and its lines are written when it
 * ends. Sized to take about CHUNK_SECONDS at the last chunk's rate (growing
 * at most 4x a step from one batch), so that lines keep coming and an
 * interrupt is answered soon, while the pipeline's fill and drain at each
 * end (about a batch) stays a small part; a whole number of batches, so that
 * which rows share a batch does not depend on the timing; at most
 * DLP_FEATURIZE_CHUNK_BYTES of features. */
#define CHUNK_SECONDS 2.0

static size_t next_chunk(size_t batch, size_t most, size_t last, double last_seconds)
{
    size_t chunk = batch;
    if (last && last_seconds > 0) {
        double rows = (double)last / last_seconds * CHUNK_SECONDS;
        double grown = (double)last * 4.0;
        chunk = (size_t)(rows < grown ? rows : grown) / batch * batch;
        if (chunk < batch) chunk = batch;
    }
    if (most >= batch) most = most / batch * batch;
    return chunk < most ? chunk : most;
}

/* Every row of dataset in order, chunk by chunk (next_chunk), one progress bar. */
static dlp_status predict_dataset(predictor *p, dlp_dataset *dataset)
{
    size_t rows = dlp_dataset_size(dataset), most = 0, chunk = 0;
    size_t batch = (size_t)dlp_featurizer_batch_size(p->featurizer);
    DLP_TRY(cli_chunk_rows(rows, dlp_featurizer_dim(p->featurizer), &most));
    cli_progress progress;
    cli_progress_start(&progress, "predict", rows, !p->quiet && p->out != stdout);
    dlp_status status = DLP_OK;
    double seconds = 0;
    for (size_t first = 0; first < rows && status == DLP_OK && !stop_requested; first += chunk) {
        chunk = next_chunk(batch, most, chunk, seconds);
        if (chunk > rows - first) chunk = rows - first;
        double start = cli_now_seconds();
        status = predict_rows(p, dataset, first, chunk, &progress);
        seconds = cli_now_seconds() - start;
    }
    cli_progress_finish(&progress);
    return status;
}

/* The FILE arguments in order: a folder is scanned as by --images (labels
 * from its sub-folders), anything else is one image. */
static dlp_status add_file_arguments(dlp_dataset **dataset, char **files, size_t count)
{
    dlp_dataset *plain = NULL; /* the files since the last folder */
    dlp_status status = DLP_OK;
    for (size_t i = 0; i < count && status == DLP_OK; i++) {
        struct stat info;
        if (stat(files[i], &info) == 0 && S_ISDIR(info.st_mode)) {
            if (plain) status = cli_join_dataset(dataset, plain);
            plain = NULL;
            if (status == DLP_OK) status = cli_add_image_source(dataset, files[i]);
            continue;
        }
        if (!plain) status = dlp_dataset_create(&plain);
        if (status == DLP_OK) status = dlp_dataset_add(plain, files[i], DLP_LABEL_NONE);
    }
    if (status == DLP_OK && plain) {
        status = cli_join_dataset(dataset, plain);
        plain = NULL;
    }
    dlp_dataset_destroy(plain);
    return status;
}

int cli_predict(int argc, char **argv)
{
    static const struct option options[] = {CLI_FEATURIZER_LONG_OPTIONS,
                                            {"stdin", no_argument, NULL, OPT_STDIN},
                                            {"max-latency-ms", required_argument, NULL, OPT_MAX_LATENCY},
                                            {"top-k", required_argument, NULL, OPT_TOP_K},
                                            {"images", required_argument, NULL, OPT_IMAGES},
                                            {"output", required_argument, NULL, 'o'},
                                            {"help", no_argument, NULL, 'h'},
                                            {0}};
    cli_featurizer_settings settings;
    cli_featurizer_settings_init(&settings);
    int use_stdin = 0, option;
    long max_latency_ms = 50, top_k = 0;
    const char *output = NULL;
    const char *sources[64];
    size_t source_count = 0;
    optind = 1;
    while ((option = getopt_long(argc, argv, "ho:", options, NULL)) != -1) {
        int handled = cli_featurizer_option("predict", option, optarg, &settings);
        if (handled < 0) return CLI_EXIT_USAGE;
        if (handled) continue;
        switch (option) {
        case OPT_STDIN: use_stdin = 1; break;
        case OPT_MAX_LATENCY:
            if (!cli_parse_int(optarg, 0, 3600000, &max_latency_ms))
                return cli_usage_error("predict", "--max-latency-ms '%s': expected an integer in 0..3600000", optarg);
            break;
        case OPT_TOP_K:
            if (!cli_parse_int(optarg, 0, 4096, &top_k))
                return cli_usage_error("predict", "--top-k '%s': expected an integer in 0..4096", optarg);
            break;
        case OPT_IMAGES:
            if (source_count == sizeof sources / sizeof *sources)
                return cli_usage_error("predict", "--images: at most %zu sources", sizeof sources / sizeof *sources);
            sources[source_count++] = optarg;
            break;
        case 'o': output = optarg; break;
        case 'h': fputs(usage, stdout); return CLI_EXIT_OK;
        default: return cli_usage_error("predict", "unknown option");
        }
    }
    if (optind >= argc) return cli_usage_error("predict", "no PIPELINE given");
    const char *directory = argv[optind++];
    bool have_files = optind < argc || source_count > 0;
    if (use_stdin == have_files)
        return cli_usage_error("predict", use_stdin ? "give FILEs (or --images) or --stdin, not both"
                                                    : "no FILE given (or --images, or --stdin)");
    dlp_dataset *dataset = NULL;
    dlp_status status = DLP_OK;
    for (size_t i = 0; i < source_count && status == DLP_OK; i++) status = cli_add_image_source(&dataset, sources[i]);
    if (status == DLP_OK) status = add_file_arguments(&dataset, argv + optind, (size_t)(argc - optind));
    if (status == DLP_OK && !dataset && !use_stdin) status = dlp_dataset_create(&dataset);
    if (status != DLP_OK) {
        dlp_dataset_destroy(dataset);
        return cli_fail("predict", status);
    }

    predictor p = {.top_k = (size_t)top_k, .quiet = settings.quiet};
    status = cli_open_pipeline(directory, &settings, &p.pipeline, &p.featurizer);
    if (status != DLP_OK) {
        dlp_dataset_destroy(dataset);
        return cli_fail("predict", status);
    }
    p.out = output ? fopen(output, "w") : stdout;
    if (!p.out) {
        cli_error("predict", "%s: cannot create: %s", output, strerror(errno));
        dlp_dataset_destroy(dataset);
        dlp_featurizer_destroy(p.featurizer);
        dlp_pipeline_destroy(p.pipeline);
        return CLI_EXIT_DATA;
    }
    struct stat out_info;
    p.whole = p.out != stdout && fstat(fileno(p.out), &out_info) == 0 && S_ISREG(out_info.st_mode) ? 0 : -1;
    struct sigaction action = {0};
    action.sa_handler = request_stop;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, NULL);
    sigaction(SIGTERM, &action, NULL);
    status = use_stdin ? stream(&p, dlp_featurizer_batch_size(p.featurizer), (int)max_latency_ms)
                       : predict_dataset(&p, dataset);
    if (p.out != stdout && fclose(p.out) != 0 && status == DLP_OK)
        status = dlp_fail(DLP_ERR_IO, "%s: cannot write: %s", output, strerror(errno));
    /* A write that failed part way (a full disk) leaves whole rows only: the file is cut after the last one. */
    if (status != DLP_OK && p.whole >= 0 && truncate(output, p.whole) != 0)
        fprintf(stderr, "dlp predict: %s: cannot cut the partial row: %s\n", output, strerror(errno));
    int exit_code = status != DLP_OK ? cli_fail("predict", status) : p.failed ? CLI_EXIT_FAILED_ROWS : CLI_EXIT_OK;
    if (!settings.quiet)
        fprintf(stderr, "predict: %zu rows, %zu failed%s\n", p.rows, p.failed,
                status != DLP_OK ? " (stopped by the error above)" : stop_requested ? " (interrupted)" : "");
    free(p.features);
    cli_predictions_free(&p.predictions);
    dlp_dataset_destroy(dataset);
    dlp_featurizer_destroy(p.featurizer);
    dlp_pipeline_destroy(p.pipeline);
    return exit_code;
}

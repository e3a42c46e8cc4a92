/* images.h: what dlp featurize, fit, evaluate and predict share: the
 * featurizer options (--model, --weights, --pooling, --resize, --batch-size,
 * --threads, --device, --precision, --cache-dir, --no-cache), image sources (folders and
 * list files) and featurizing a dataset with a progress bar. */
#ifndef DLP_CLI_IMAGES_H
#define DLP_CLI_IMAGES_H

#include <getopt.h>

#include "cli/cli.h"
#include "dlp/featurize.h"

/* getopt_long codes of the featurizer options, above any short option. */
enum {
    CLI_OPT_MODEL = 1000,
    CLI_OPT_WEIGHTS,
    CLI_OPT_POOLING,
    CLI_OPT_RESIZE,
    CLI_OPT_BATCH_SIZE,
    CLI_OPT_THREADS,
    CLI_OPT_DEVICE,
    CLI_OPT_CACHE_DIR,
    CLI_OPT_NO_CACHE,
    CLI_OPT_QUIET,
    CLI_OPT_CPU_PREPROCESS,
    CLI_OPT_PRECISION,
    CLI_OPT_CUDA_GRAPHS,
    CLI_OPT_NO_CUDA_GRAPHS,
    CLI_OPT_FIRST_FREE
};

#define CLI_FEATURIZER_LONG_OPTIONS                                                                                  \
    {"model", required_argument, NULL, CLI_OPT_MODEL}, {"weights", required_argument, NULL, CLI_OPT_WEIGHTS},        \
        {"pooling", required_argument, NULL, CLI_OPT_POOLING}, {"resize", required_argument, NULL, CLI_OPT_RESIZE},  \
        {"batch-size", required_argument, NULL, CLI_OPT_BATCH_SIZE},                                                 \
        {"threads", required_argument, NULL, CLI_OPT_THREADS}, {"device", required_argument, NULL, CLI_OPT_DEVICE},  \
        {"cache-dir", required_argument, NULL, CLI_OPT_CACHE_DIR}, {"no-cache", no_argument, NULL, CLI_OPT_NO_CACHE}, \
        {"quiet", no_argument, NULL, CLI_OPT_QUIET}, {"cpu-preprocess", no_argument, NULL, CLI_OPT_CPU_PREPROCESS},  \
        {"precision", required_argument, NULL, CLI_OPT_PRECISION},                                                   \
        {"cuda-graphs", no_argument, NULL, CLI_OPT_CUDA_GRAPHS},                                                     \
        {"no-cuda-graphs", no_argument, NULL, CLI_OPT_NO_CUDA_GRAPHS}

#define CLI_FEATURIZER_HELP                                                                                          \
    "  --model NAME        zoo model (dlp models), default InceptionV3\n"                                            \
    "  --weights FILE      weights: .safetensors, Keras .h5, TF.js model.json (or its folder);\n"                    \
    "                      default: found as `dlp models` shows\n"                                                   \
    "  --pooling P         avg (default), max or flatten (sparkdl's dims)\n"                                         \
    "  --resize M          area (default, sparkdl's), bilinear or nearest\n"                                         \
    "  --batch-size N      images per network run (default 16 on the CPU, 64 on a GPU if it fits)\n"                 \
    "  --threads N         decoding and CPU threads (default: all cores)\n"                                          \
    "  --device D          auto (default), cpu, cuda or cuda:N\n"                                                    \
    "  --precision P       on a GPU: fp32 (default), tf32, fp16 or bf16 (fp32 accumulation); the CPU is fp32\n"      \
    "  --no-cuda-graphs    on a GPU, launch each kernel of the network one by one (default: from the\n"              \
    "                      third batch of a size, replay the batch as one CUDA graph; --cuda-graphs);\n"             \
    "                      fp16/bf16 then time cuDNN's algorithms instead of taking its heuristic pick\n"            \
    "  --cache-dir DIR     feature cache (default $DLP_CACHE_DIR, else ~/.cache/dlp); features are\n"                \
    "                      keyed by the sha256 of each file's bytes, the model, weights and preprocessing\n"         \
    "  --no-cache          neither read nor write the feature cache\n"                                               \
    "  --cpu-preprocess    on a GPU, resize and normalize on the CPU too (default: the GPU does it,\n"               \
    "                      bit for bit the same input; the CPU threads only read and decode)\n"                      \
    "  --quiet             no progress bar (it is drawn only when stderr is a terminal)\n"

typedef struct cli_featurizer_settings {
    dlp_featurizer_options options;
    int quiet;
} cli_featurizer_settings;

void cli_featurizer_settings_init(cli_featurizer_settings *settings);
/* Handles one featurizer option: 1 handled, 0 not a featurizer option, -1
 * bad value (the usage error is printed). */
int cli_featurizer_option(const char *command, int option, const char *argument, cli_featurizer_settings *settings);

/* Adds the images of source to dataset: a folder is scanned (labels from
 * sub-folders), a regular file is read as a list (path[,label]). Several
 * sources are combined as a union. Returns a dlp_status (message set). */
dlp_status cli_add_image_source(dlp_dataset **dataset, const char *source);
/* Appends added's rows to *dataset (a union, labels reconciled by name) or
 * makes it *dataset when there is none; takes ownership of added. */
dlp_status cli_join_dataset(dlp_dataset **dataset, dlp_dataset *added);

/* Rows per chunk of rows of dim floats: DLP_FEATURIZE_CHUNK_BYTES of them (a whole number of bytes, 1 or more;
 * unset or empty: 4 GiB; anything else is DLP_ERR_INVALID_ARGUMENT naming the variable), at least one row, at most
 * all rows. */
dlp_status cli_chunk_rows(size_t rows, size_t dim, size_t *chunk);

/* Hands cli_featurize_chunks' rows [first, first + count) (features count x D) to the caller's writer. */
typedef dlp_status (*cli_feature_sink)(void *context, size_t first, size_t count, const float *features);

/* Featurizes every row of dataset in chunks of at most DLP_FEATURIZE_CHUNK_BYTES of features (default 4 GiB; the
 * whole dataset when it fits), each handed to sink in row order: memory stays bounded for any number of rows. One
 * progress bar over all rows; stats summed (the first batch is the first chunk's). */
dlp_status cli_featurize_chunks(dlp_featurizer *featurizer, dlp_dataset *dataset, int quiet, cli_feature_sink sink,
                                void *context, dlp_featurize_stats *stats);

#endif

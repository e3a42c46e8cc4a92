/* main.c: the dlp command: global options and dispatch to subcommands. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/status.h"
#include "graph/backend_choice.h"

static const cli_command commands[] = {
    {"devices", "list CUDA devices, or say precisely why there are none", cli_devices},
    {"inspect", "describe an image or a safetensors file", cli_inspect},
    {"models", "list the zoo models, their feature dims and where their weights are", cli_models},
    {"convert", "convert Keras .h5 or TF.js weights to safetensors", cli_convert},
    {"featurize", "images -> features with a zoo network (.npy, LibSVM, JSON Lines)", cli_featurize},
    {"fit", "featurize labelled images, train and evaluate; writes a pipeline directory", cli_fit},
    {"predict", "apply a pipeline to images, in batch or streaming from stdin (JSON Lines)", cli_predict},
    {"train", "fit a logistic regression on a feature file; writes a pipeline directory", cli_train},
    {"evaluate", "apply a pipeline to a feature file and print its metrics", cli_evaluate},
    {"apply", "run your own Keras model (.h5, TF.js) on images or .npy arrays", cli_apply},
    {"classify", "ImageNet classes of images with a zoo model and its top (top K or probabilities)", cli_classify},
};
enum { COMMAND_COUNT = sizeof commands / sizeof commands[0] };

int cli_exit_code(dlp_status status)
{
    switch (status) {
    case DLP_OK: return CLI_EXIT_OK;
    case DLP_ERR_INVALID_ARGUMENT: return CLI_EXIT_USAGE;
    case DLP_ERR_MODEL: return CLI_EXIT_MODEL;
    case DLP_ERR_DEVICE: return CLI_EXIT_DEVICE;
    default: return CLI_EXIT_DATA;
    }
}

void cli_error(const char *command, const char *fmt, ...)
{
    fprintf(stderr, "dlp %s: ", command);
    va_list args;
    va_start(args, fmt);
    vfprintf(stderr, fmt, args);
    va_end(args);
    fputc('\n', stderr);
}

int cli_fail(const char *command, dlp_status status)
{
    cli_error(command, "%s", dlp_last_error());
    return cli_exit_code(status);
}

dlp_status cli_check_output_path(const char *path)
{
    /* Past PATH_MAX the folder would be cut short: the write itself reports such a path. */
    if (!path || strcmp(path, "-") == 0 || strlen(path) >= 4096) return DLP_OK;
    struct stat info, link;
    bool exists = stat(path, &info) == 0;
    if (exists && S_ISDIR(info.st_mode)) return dlp_fail(DLP_ERR_IO, "%s: is a folder, expected a file name", path);
    /* A device, FIFO or process substitution is written in place (data/output_file.h): no file is made beside it. */
    if (exists && !S_ISREG(info.st_mode)) return DLP_OK;
    /* A link to a file: the file it names is replaced, so the temporary file goes beside that one. */
    char *resolved = exists && lstat(path, &link) == 0 && S_ISLNK(link.st_mode) ? realpath(path, NULL) : NULL;
    if (resolved) {
        dlp_status status = strlen(resolved) < 4096 ? cli_check_output_path(resolved) : DLP_OK;
        free(resolved);
        return status;
    }
    const char *slash = strrchr(path, '/');
    char folder[4096];
    if (!slash) snprintf(folder, sizeof folder, ".");
    else if (slash == path) snprintf(folder, sizeof folder, "/");
    else snprintf(folder, sizeof folder, "%.*s", (int)(slash - path), path);
    /* A file made and removed, not access(): root passes access() on folders it cannot create files in (/proc). */
    char probe[4200];
    snprintf(probe, sizeof probe, "%s/.dlp-write-check-XXXXXX", folder);
    int fd = mkstemp(probe);
    if (fd < 0) return dlp_fail(DLP_ERR_IO, "%s: cannot write in %s: %s", path, folder, strerror(errno));
    close(fd);
    unlink(probe);
    return DLP_OK;
}

/* auto: CUDA when this build has it and a device answers, else the CPU. */
int cli_parse_logreg_device(const char *text, dlp_logreg_params *params)
{
    if (!strcmp(text, "cpu")) return params->device = DLP_LOGREG_DEVICE_CPU, 1;
    if (!strcmp(text, "auto")) {
        int count = 0;
        bool gpu = dlp_device_count(&count) == DLP_OK && count > 0;
        params->device = gpu ? DLP_LOGREG_DEVICE_CUDA : DLP_LOGREG_DEVICE_CPU;
        return 1;
    }
    int index = dlp_cuda_device_index(text); /* as --device everywhere */
    if (index < 0) return 0;
    params->device = DLP_LOGREG_DEVICE_CUDA;
    params->cuda_device = index;
    return 1;
}

int cli_npy_or_jsonl(const char *command, const char *output, const char *format, bool *jsonl)
{
    const char *dot = strrchr(output, '.'), *chosen = format ? format : dot ? dot + 1 : "";
    if (strcmp(chosen, "npy") != 0 && strcmp(chosen, "jsonl") != 0)
        return format ? cli_usage_error(command, "--format %s: expected npy or jsonl", format)
                      : cli_usage_error(command, "-o %s: expected a .npy or .jsonl file (or --format npy|jsonl)", output);
    *jsonl = strcmp(chosen, "jsonl") == 0;
    return CLI_EXIT_OK;
}

int cli_usage_error(const char *command, const char *fmt, ...)
{
    fprintf(stderr, "dlp %s: ", command);
    va_list args;
    va_start(args, fmt);
    vfprintf(stderr, fmt, args);
    va_end(args);
    fprintf(stderr, "\nTry 'dlp %s --help'.\n", command);
    return CLI_EXIT_USAGE;
}

int cli_parse_int(const char *text, long min, long max, long *value)
{
    char *end = NULL;
    errno = 0;
    long parsed = strtol(text, &end, 10);
    if (errno || end == text || *end != '\0' || parsed < min || parsed > max) return 0;
    *value = parsed;
    return 1;
}

int cli_parse_double(const char *text, double *value)
{
    char *end = NULL;
    errno = 0;
    double parsed = strtod(text, &end);
    if (errno || end == text || *end != '\0') return 0;
    *value = parsed;
    return 1;
}

static void print_help(FILE *out)
{
    fprintf(out, "Usage: dlp [--version] [--help] COMMAND [ARGS]\n\n"
                 "Transfer learning on images: decode, featurize with a pretrained CNN, train and apply\n"
                 "a logistic regression. Every command takes --help.\n\nCommands:\n");
    for (int i = 0; i < COMMAND_COUNT; i++) fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\nExit codes: 0 ok, 1 usage, 2 input data, 3 model/weights, 4 device,\n"
                 "5 finished with some failed rows.\n"
                 "\nEnvironment: DLP_WEIGHTS_DIR, DLP_CACHE_DIR (folders); switches (0 off, else on):\n"
                 "DLP_CUDA_GRAPHS (on in the featurizer), DLP_CUDA_CONCAT_SLICES (off), DLP_SHA256_PORTABLE;\n"
                 "DLP_CPU_PACKED_GEMM, DLP_CPU_DIRECT_CONV, DLP_CPU_RESIDUAL_FUSION (on);\n"
                 "DLP_CPU_PACKED_GEMM=avx2 (the AVX2 kernel on an AVX-512 CPU, to compare);\n"
                 "DLP_CUDA_SEARCH=heuristic|timed (cuDNN's algorithm choice; see the README);\n"
                 "DLP_CUDA_WORKSPACE_MIB=N (cuDNN's workspace cap per plan; default 256, full fp32 (not tf32) a\n"
                 "quarter of free memory where more);\n"
                 "DLP_CUDA_FP32_TRANSFORMS (off: fp32 convs skip cuDNN's FFT and Winograd);\n"
                 "DLP_CUDA_UNROLLED_3X3 (on: 3x3 depthwise convs and poolings on the GPU unrolled);\n"
                 "DLP_JPEG_SPLIT (on: on a GPU, JPEGs decoded to DCT coefficients only, finished on the GPU);\n"
                 "DLP_FEATURIZE_CHUNK_BYTES=N (featurize, evaluate, fit, apply, classify: at most N bytes of outputs\n"
                 "held, 4 GiB; fit's training rows past it go to a scratch file in TMPDIR).\n"
                 "Unless OMP_WAIT_POLICY or GOMP_SPINCOUNT is set, dlp sets GOMP_SPINCOUNT=1000.\n");
}

/* OpenBLAS and libgomp read their settings only when they load, so this runs
 * the program again with them set: OPENBLAS_CORETYPE when OpenBLAS fell back
 * to generic kernels on this CPU, and GOMP_SPINCOUNT=1000 unless the user
 * chose a wait policy or spin count. libgomp's default spin (300,000 turns)
 * takes the cores a preempted worker needs on a shared machine: at load 6 on
 * 2 cores, InceptionV3 at batch 1 ran at 0.7 images/s spinning and 8 waiting
 * passively. Passive waiting pays a wake-up at every parallel region
 * instead: a short spin ran InceptionV3 at batch 1 16% faster than passive
 * on an idle machine, and 4% slower to 36% faster under load
 * (bench/RESULTS.md, 15:25). */
static void reexec_with_runtime_settings(char **argv)
{
    int changed = 0;
    const char *core = dlp_cpu_blas_coretype_hint();
    if (core && setenv("OPENBLAS_CORETYPE", core, 1) == 0) changed = 1;
    if (!getenv("OMP_WAIT_POLICY") && !getenv("GOMP_SPINCOUNT") && setenv("GOMP_SPINCOUNT", "1000", 1) == 0)
        changed = 1;
    if (changed) execv("/proc/self/exe", argv);
    /* exec failed: go on with the settings already loaded */
}

int main(int argc, char **argv)
{
    reexec_with_runtime_settings(argv);
    if (argc < 2) {
        print_help(stderr);
        return CLI_EXIT_USAGE;
    }
    const char *name = argv[1];
    if (!strcmp(name, "--help") || !strcmp(name, "-h") || !strcmp(name, "help")) {
        print_help(stdout);
        return CLI_EXIT_OK;
    }
    if (!strcmp(name, "--version") || !strcmp(name, "version")) {
        dlp_cuda_versions versions;
        dlp_cuda_get_versions(&versions);
        printf("dlp %s (library %s, CUDA backend %s)\n", DLP_VERSION_STRING, dlp_version_string(),
               versions.built_with_cuda ? "compiled in" : "not built");
        return CLI_EXIT_OK;
    }
    for (int i = 0; i < COMMAND_COUNT; i++)
        if (!strcmp(name, commands[i].name)) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "dlp: '%s' is not a dlp command. Try 'dlp --help'.\n", name);
    return CLI_EXIT_USAGE;
}

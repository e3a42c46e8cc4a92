/* cmd_convert.c: `dlp convert IN OUT.safetensors`: Keras .h5 or TF.js weights
 * to safetensors with provenance metadata, optionally checked against a zoo
 * architecture (dlp_weights_convert). */
#include <getopt.h>
#include <sys/stat.h>

#include "cli/cli.h"

static const char usage[] =
    "Usage: dlp convert IN OUT.safetensors [--model NAME] [--force]\n\n"
    "Converts weights to safetensors: IN is a Keras .h5 file (weights-only, as the official\n"
    "*_weights_tf_dim_ordering_tf_kernels[_notop].h5, or a whole model saved to .h5) or a\n"
    "TensorFlow.js layers model (model.json with its shards beside it, or their directory).\n"
    "Tensors keep Keras' names, order and layouts (conv kernels HWIO, dense [in, out]) as\n"
    "float32; __metadata__ records format dlp-weights-v1, architecture, source and\n"
    "source_sha256, preprocessing, layout, keras_version and model_config when known.\n\n"
    "  --model NAME  check the weights against a zoo model (see 'dlp models'): bound by\n"
    "                Keras order, every shape checked; refused (exit 3) naming the layer and\n"
    "                the expected and found shapes\n"
    "  --force       replace OUT if it exists\n\n"
    "Exit codes: 0 converted, 1 usage (or OUT exists), 2 IN unreadable, 3 weights refused.\n";

int cli_convert(int argc, char **argv)
{
    static const struct option options[] = {{"model", required_argument, NULL, 'm'},
                                            {"force", no_argument, NULL, 'f'},
                                            {"help", no_argument, NULL, 'h'},
                                            {0}};
    const char *model = NULL;
    int force = 0, option;
    optind = 1;
    while ((option = getopt_long(argc, argv, "hfm:", options, NULL)) != -1) {
        switch (option) {
        case 'm': model = optarg; break;
        case 'f': force = 1; break;
        case 'h': fputs(usage, stdout); return CLI_EXIT_OK;
        default: return cli_usage_error("convert", "unknown option");
        }
    }
    if (argc - optind != 2) return cli_usage_error("convert", "expected IN and OUT.safetensors");
    const char *input = argv[optind], *output = argv[optind + 1];
    if (model && !dlp_weights_zoo_model(model)) {
        fprintf(stderr, "dlp convert: model \"%s\" is not in the zoo; known:", model);
        for (int i = 0; i < dlp_zoo_count(); i++) fprintf(stderr, " %s", dlp_zoo_at(i)->name);
        fprintf(stderr, "\nTry 'dlp models'.\n");
        return CLI_EXIT_USAGE;
    }
    struct stat info;
    if (!force && stat(output, &info) == 0)
        return cli_usage_error("convert", "%s exists: use --force to replace it", output);

    dlp_convert_report report;
    dlp_status status = dlp_weights_convert(input, output, model, &report);
    if (status != DLP_OK) return cli_fail("convert", status);
    printf("%s: %zu tensors, %.1f MB, architecture %s%s%s\n", output, report.tensor_count,
           (double)report.data_bytes / 1e6, report.architecture, report.source_sha256[0] ? ", source sha256 " : "",
           report.source_sha256);
    return CLI_EXIT_OK;
}

/* cmd_models.c: `dlp models`: the zoo models, their inputs and feature dims,
 * and where their weights were found (dlp_weights_find's search order). */
#include <getopt.h>
#include <string.h>

#include "cli/cli.h"

static const char usage[] =
    "Usage: dlp models [--json] [--weights-dir DIR]\n\n"
    "Lists the zoo models: input size, preprocessing ('tf': x/127.5 - 1; 'caffe': BGR minus\n"
    "the ImageNet mean), featurizer layer, feature dims for --pooling avg / max / flatten,\n"
    "and the weights file found for each. Weights are looked for, in this order, in\n"
    "--weights-dir DIR, $DLP_WEIGHTS_DIR, ~/.cache/dlp/weights, then ./weights, as\n"
    "<model>.safetensors and <model>_notop.safetensors (the model name compared ignoring\n"
    "case, '_' and '-': inception_v3.safetensors is InceptionV3's), or a TF.js model\n"
    "directory whose name ends with the model's (nsfwjs-inception_v3/model.json).\n"
    "Get them with weights/fetch.sh MODEL (needs internet).\n";

int cli_models(int argc, char **argv)
{
    static const struct option options[] = {{"json", no_argument, NULL, 'j'},
                                            {"weights-dir", required_argument, NULL, 'w'},
                                            {"help", no_argument, NULL, 'h'},
                                            {0}};
    int json = 0, option;
    const char *weights_dir = NULL;
    optind = 1;
    while ((option = getopt_long(argc, argv, "hw:", options, NULL)) != -1) {
        switch (option) {
        case 'j': json = 1; break;
        case 'w': weights_dir = optarg; break;
        case 'h': fputs(usage, stdout); return CLI_EXIT_OK;
        default: return cli_usage_error("models", "unknown option");
        }
    }
    if (optind < argc) return cli_usage_error("models", "unexpected argument '%s'", argv[optind]);

    if (json) printf("{\"models\":[");
    else
        printf("%-12s %-9s %-6s %-20s %6s %6s %8s  %s\n", "model", "input", "prep", "featurizer layer", "avg", "max",
               "flatten", "weights");
    for (int i = 0; i < dlp_zoo_count(); i++) {
        const dlp_model_info *info = dlp_zoo_at(i);
        char full[1024], notop[1024];
        bool have_full = dlp_weights_find(info->name, weights_dir, false, full, sizeof full);
        bool have_notop = dlp_weights_find(info->name, weights_dir, true, notop, sizeof notop);
        const char *preprocessing = info->preprocessing == DLP_PREPROCESS_CAFFE ? "caffe" : "tf";
        dlp_shape shape = info->feature_shape;
        size_t flatten = (size_t)shape.h * (size_t)shape.w * (size_t)shape.c;
        if (json) {
            printf("%s{\"name\":", i ? "," : "");
            dlp_json_write_string(stdout, info->name);
            printf(",\"input\":[%d,%d,3],\"preprocessing\":\"%s\",\"feature_layer\":", info->input_h, info->input_w,
                   preprocessing);
            dlp_json_write_string(stdout, info->feature_layer);
            printf(",\"feature_shape\":[%d,%d,%d],\"dims\":{\"avg\":%d,\"max\":%d,\"flatten\":%zu},\"weights\":",
                   shape.h, shape.w, shape.c, shape.c, shape.c, flatten);
            if (have_full) dlp_json_write_string(stdout, full);
            else printf("null");
            printf(",\"weights_notop\":");
            if (have_notop) dlp_json_write_string(stdout, notop);
            else printf("null");
            printf("}");
        } else {
            char input[32], fetch_hint[128];
            snprintf(input, sizeof input, "%dx%d", info->input_h, info->input_w);
            snprintf(fetch_hint, sizeof fetch_hint, "not found (weights/fetch.sh %s)", info->name);
            printf("%-12s %-9s %-6s %-20s %6d %6d %8zu  %s\n", info->name, input, preprocessing, info->feature_layer,
                   shape.c, shape.c, flatten, have_full ? full : have_notop ? notop : fetch_hint);
            if (have_full && have_notop) printf("%-69s  %s\n", "", notop);
        }
    }
    if (json) printf("]}\n");
    return CLI_EXIT_OK;
}

/* cmd_inspect.c: `dlp inspect FILE`: what an image or safetensors file holds. */
#include <getopt.h>

#include "cli/cli.h"

static const char usage[] = "Usage: dlp inspect FILE...\n\n"
                            "Describes each FILE: an image (format, size, channels, bit depth) or a safetensors\n"
                            "file (tensors with dtype and shape, metadata).\n";

int cli_inspect(int argc, char **argv)
{
    static const struct option options[] = {{"help", no_argument, NULL, 'h'}, {0}};
    int option;
    optind = 1;
    while ((option = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        if (option == 'h') {
            fputs(usage, stdout);
            return CLI_EXIT_OK;
        }
        return cli_usage_error("inspect", "unknown option");
    }
    return cli_usage_error("inspect", "not available in this build yet");
}

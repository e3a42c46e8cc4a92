/* cmd_inspect.c: `dlp inspect FILE`: what an image or safetensors file holds. */
#include "cli/cli.h"

int cli_inspect(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    cli_error("inspect", "not built yet");
    return CLI_EXIT_USAGE;
}

/* cmd_devices.c: `dlp devices`: the CUDA devices, or why there are none. */
#include <getopt.h>
#include <string.h>

#include "cli/cli.h"

static const char usage[] =
    "Usage: dlp devices [--json]\n\n"
    "Lists the CUDA devices dlp can use with their memory and compute capability, and the\n"
    "versions of the driver, CUDA runtime, cuDNN and cuBLAS. When there is none, says why:\n"
    "dlp built without CUDA, no NVIDIA driver, driver too old, or no device.\n"
    "Exit code 0 when at least one device is usable, 4 otherwise.\n";

int cli_devices(int argc, char **argv)
{
    static const struct option options[] = {{"json", no_argument, NULL, 'j'}, {"help", no_argument, NULL, 'h'}, {0}};
    int json = 0, option;
    optind = 1;
    while ((option = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (option) {
        case 'j': json = 1; break;
        case 'h': fputs(usage, stdout); return CLI_EXIT_OK;
        default: return cli_usage_error("devices", "unknown option");
        }
    }
    if (optind < argc) return cli_usage_error("devices", "unexpected argument '%s'", argv[optind]);

    dlp_cuda_versions versions;
    dlp_cuda_get_versions(&versions);
    int count = 0;
    dlp_status status = dlp_device_count(&count);
    if (json) {
        printf("{\"built_with_cuda\":%s,\"driver_version\":%d,\"runtime_version\":%d,\"cudnn_version\":%zu,"
               "\"cublas_version\":%d,\"devices\":[",
               versions.built_with_cuda ? "true" : "false", versions.driver_version, versions.runtime_version,
               versions.cudnn_version, versions.cublas_version);
    } else if (versions.built_with_cuda) {
        printf("CUDA runtime %d.%d, cuDNN %zu.%zu.%zu, cuBLAS %d.%d.%d, driver %s\n", versions.runtime_version / 1000,
               versions.runtime_version % 1000 / 10, versions.cudnn_version / 10000, versions.cudnn_version / 100 % 100,
               versions.cudnn_version % 100, versions.cublas_version / 10000, versions.cublas_version / 100 % 100,
               versions.cublas_version % 100, versions.driver_version ? "present" : "absent");
    }
    for (int i = 0; status == DLP_OK && i < count; i++) {
        dlp_device_info info;
        dlp_status info_status = dlp_device_get_info(i, &info);
        if (info_status != DLP_OK) {
            status = info_status;
            break;
        }
        if (json)
            printf("%s{\"index\":%d,\"name\":\"%s\",\"compute_capability\":\"%d.%d\",\"multiprocessors\":%d,"
                   "\"total_memory_bytes\":%zu,\"free_memory_bytes\":%zu}",
                   i ? "," : "", i, info.name, info.compute_capability_major, info.compute_capability_minor,
                   info.multiprocessor_count, info.total_memory_bytes, info.free_memory_bytes);
        else
            printf("cuda:%d  %s  sm_%d%d  %d SMs  %.1f GiB (%.1f GiB free)\n", i, info.name,
                   info.compute_capability_major, info.compute_capability_minor, info.multiprocessor_count,
                   (double)info.total_memory_bytes / (1 << 30), (double)info.free_memory_bytes / (1 << 30));
    }
    if (json) {
        printf("],\"error\":");
        if (status == DLP_OK) {
            printf("null}\n");
        } else {
            putchar('"');
            for (const char *c = dlp_last_error(); *c; c++) {
                if (*c == '"' || *c == '\\') putchar('\\');
                putchar(*c);
            }
            printf("\"}\n");
        }
        return status == DLP_OK ? CLI_EXIT_OK : CLI_EXIT_DEVICE;
    }
    if (status != DLP_OK) {
        printf("no usable CUDA device: %s\n", dlp_last_error());
        return CLI_EXIT_DEVICE;
    }
    return CLI_EXIT_OK;
}

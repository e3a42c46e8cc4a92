/* backend_choice.c: --device strings to backends (see backend_choice.h). */
#include "graph/backend_choice.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/status.h"
#include "dlp/device.h"

int dlp_cuda_device_index(const char *text)
{
    if (strcmp(text, "cuda") == 0) return 0;
    if (strncmp(text, "cuda:", 5) != 0 || !text[5]) return -1;
    char *end = NULL;
    long index = strtol(text + 5, &end, 10);
    return *end || index < 0 || index > 1024 ? -1 : (int)index;
}

static dlp_status create_cuda(int index, const dlp_cuda_options *options, dlp_backend_choice *choice)
{
    DLP_TRY(dlp_backend_create_cuda(index, options, &choice->backend));
    choice->cuda_device = index;
    bool fp32 = strcmp(choice->precision, "fp32") == 0;
    dlp_device_info info;
    if (dlp_device_get_info(index, &info) == DLP_OK)
        snprintf(choice->described, sizeof choice->described, "cuda:%d (%s%s%s)", index, info.name, fp32 ? "" : ", ",
                 fp32 ? "" : choice->precision);
    else
        snprintf(choice->described, sizeof choice->described, "cuda:%d%s%s", index, fp32 ? "" : " ",
                 fp32 ? "" : choice->precision);
    return DLP_OK;
}

dlp_status dlp_backend_choose(const char *device, int threads, const dlp_cuda_options *cuda_options,
                              dlp_backend_choice *choice)
{
    memset(choice, 0, sizeof *choice);
    choice->cuda_device = -1;
    if (!device || !*device) device = "auto";
    bool automatic = strcmp(device, "auto") == 0;
    int index = automatic ? 0 : dlp_cuda_device_index(device);
    if (!automatic && index < 0 && strcmp(device, "cpu") != 0)
        return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "device '%s': expected auto, cpu, cuda or cuda:N", device);
    const char *precision = cuda_options ? dlp_cuda_precision_name(cuda_options->precision, cuda_options->allow_tf32)
                                         : "fp32";
    bool fp32 = strcmp(precision, "fp32") == 0;
    if (!fp32 && index < 0 && !automatic)
        return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "precision %s needs a CUDA device: the cpu backend computes in fp32 "
                        "only (use --device cuda or auto, or --precision fp32)", precision);
    choice->precision = precision;
    char why_not_cuda[200] = "";
    if (index >= 0) {
        dlp_status status = create_cuda(index, cuda_options, choice);
        if (status == DLP_OK || !automatic) return status;
        snprintf(why_not_cuda, sizeof why_not_cuda, "; no GPU%s%s: %s", fp32 ? "" : ", fp32 instead of ",
                 fp32 ? "" : precision, dlp_last_error());
    }
    choice->precision = "fp32";
    DLP_TRY(dlp_backend_create_cpu(threads, &choice->backend));
    int used = threads > 0 ? threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
    snprintf(choice->described, sizeof choice->described, "cpu (%d thread%s%s)", used, used == 1 ? "" : "s",
             why_not_cuda);
    return DLP_OK;
}

/* no_cuda.c: the device functions when libdlp was built without nvcc. */
#include <string.h>

#include "core/status.h"
#include "dlp/device.h"

dlp_status dlp_device_count(int *count)
{
    *count = 0;
    return dlp_fail(DLP_ERR_DEVICE, "this dlp was built without CUDA (nvcc was not found at build time)");
}

dlp_status dlp_device_get_info(int index, dlp_device_info *info)
{
    memset(info, 0, sizeof *info);
    int count;
    return dlp_device_count(&count);
}

void dlp_cuda_get_versions(dlp_cuda_versions *versions) { memset(versions, 0, sizeof *versions); }

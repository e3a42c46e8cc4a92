/* dlp/device.h: which CUDA devices this process can use, and why not. */
#ifndef DLP_DEVICE_H
#define DLP_DEVICE_H

#include "dlp/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dlp_device_info {
    int index;
    char name[256];
    int compute_capability_major;
    int compute_capability_minor;
    int multiprocessor_count;
    size_t total_memory_bytes;
    size_t free_memory_bytes;
} dlp_device_info;

typedef struct dlp_cuda_versions {
    int built_with_cuda;   /* 0 when libdlp was compiled without nvcc */
    int driver_version;    /* e.g. 13000 for CUDA 13.0; 0 when no driver */
    int runtime_version;
    size_t cudnn_version;  /* e.g. 91900 for cuDNN 9.19.0 */
    int cublas_version;
} dlp_cuda_versions;

/* Number of usable CUDA devices. Fails with DLP_ERR_DEVICE and a message that
 * names the cause: built without CUDA, no NVIDIA driver, driver older than the
 * runtime, no device (or CUDA_VISIBLE_DEVICES hides them all). */
dlp_status dlp_device_count(int *count);
dlp_status dlp_device_get_info(int index, dlp_device_info *info);
/* Versions of the CUDA pieces; never fails (unknown pieces are 0). */
void dlp_cuda_get_versions(dlp_cuda_versions *versions);

#ifdef __cplusplus
}
#endif
#endif

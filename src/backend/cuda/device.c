/* device.c: enumerate CUDA devices and explain precisely why there are none. */
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "dlp/device.h"

/* The static runtime loads the driver (libcuda.so.1) itself; checking for it
 * first turns "cudaErrorInsufficientDriver" on a machine with no driver at all
 * into the message a user can act on. */
static int driver_library_present(void)
{
    void *handle = dlopen("libcuda.so.1", RTLD_LAZY | RTLD_LOCAL);
    if (!handle) return 0;
    dlclose(handle);
    return 1;
}

dlp_status dlp_device_count(int *count)
{
    *count = 0;
    if (!driver_library_present())
        return dlp_fail(DLP_ERR_DEVICE, "no NVIDIA driver: libcuda.so.1 was not found (install the NVIDIA driver, "
                                        "or in a container expose it with the NVIDIA container toolkit)");
    cudaError_t error = cudaGetDeviceCount(count);
    if (error == cudaErrorNoDevice || (error == cudaSuccess && *count == 0)) {
        *count = 0;
        const char *visible = getenv("CUDA_VISIBLE_DEVICES");
        if (visible) return dlp_fail(DLP_ERR_DEVICE, "no CUDA device visible (CUDA_VISIBLE_DEVICES=\"%s\")", visible);
        return dlp_fail(DLP_ERR_DEVICE, "no CUDA device: the NVIDIA driver is loaded but reports no GPU");
    }
    if (error == cudaErrorInsufficientDriver) {
        int driver = 0;
        cudaDriverGetVersion(&driver);
        return dlp_fail(DLP_ERR_DEVICE, "NVIDIA driver too old: it supports CUDA %d.%d, dlp was built with CUDA %d.%d",
                        driver / 1000, driver % 1000 / 10, CUDART_VERSION / 1000, CUDART_VERSION % 1000 / 10);
    }
    if (error != cudaSuccess)
        return dlp_fail(DLP_ERR_DEVICE, "cudaGetDeviceCount failed: %s (%s)", cudaGetErrorName(error),
                        cudaGetErrorString(error));
    return DLP_OK;
}

dlp_status dlp_device_get_info(int index, dlp_device_info *info)
{
    memset(info, 0, sizeof *info);
    int count = 0;
    DLP_TRY(dlp_device_count(&count));
    if (index < 0 || index >= count)
        return dlp_fail(DLP_ERR_DEVICE, "cuda:%d does not exist: %d device(s), cuda:0..cuda:%d", index, count, count - 1);
    struct cudaDeviceProp properties;
    cudaError_t error = cudaGetDeviceProperties(&properties, index);
    if (error != cudaSuccess)
        return dlp_fail(DLP_ERR_DEVICE, "cuda:%d: cudaGetDeviceProperties failed: %s", index, cudaGetErrorString(error));
    info->index = index;
    snprintf(info->name, sizeof info->name, "%s", properties.name);
    info->compute_capability_major = properties.major;
    info->compute_capability_minor = properties.minor;
    info->multiprocessor_count = properties.multiProcessorCount;
    info->total_memory_bytes = properties.totalGlobalMem;
    int previous = 0;
    cudaGetDevice(&previous);
    if (cudaSetDevice(index) == cudaSuccess) {
        size_t free_bytes = 0, total_bytes = 0;
        if (cudaMemGetInfo(&free_bytes, &total_bytes) == cudaSuccess) info->free_memory_bytes = free_bytes;
        cudaSetDevice(previous);
    }
    return DLP_OK;
}

void dlp_cuda_get_versions(dlp_cuda_versions *versions)
{
    memset(versions, 0, sizeof *versions);
    versions->built_with_cuda = 1;
    versions->runtime_version = CUDART_VERSION;
    if (driver_library_present()) cudaDriverGetVersion(&versions->driver_version);
    versions->cudnn_version = cudnnGetVersion();
    int major = 0, minor = 0, patch = 0;
    if (cublasGetProperty(MAJOR_VERSION, &major) == CUBLAS_STATUS_SUCCESS &&
        cublasGetProperty(MINOR_VERSION, &minor) == CUBLAS_STATUS_SUCCESS &&
        cublasGetProperty(PATCH_LEVEL, &patch) == CUBLAS_STATUS_SUCCESS)
        versions->cublas_version = major * 10000 + minor * 100 + patch;
}

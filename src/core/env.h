/* env.h: switches read from the environment (DLP_SHA256_PORTABLE; the CPU
 * backend's DLP_CPU_PACKED_GEMM / DLP_CPU_DIRECT_CONV /
 * DLP_CPU_RESIDUAL_FUSION; the CUDA backend's DLP_CUDA_GRAPHS /
 * DLP_CUDA_CONCAT_SLICES / DLP_CUDA_PACKED_SLICES / DLP_CUDA_FP32_TRANSFORMS /
 * DLP_CUDA_UNROLLED_3X3; the batch runner's DLP_JPEG_SPLIT). */
#ifndef DLP_SRC_CORE_ENV_H
#define DLP_SRC_CORE_ENV_H

#include <stdbool.h>

/* The variable name as a switch: unset or empty, fallback; "0", false;
 * anything else, true. */
bool dlp_env_switch(const char *name, bool fallback);

#endif

/* blas_core.c: notices when OpenBLAS runs generic kernels on a CPU that has
 * better ones. A DYNAMIC_ARCH OpenBLAS picks its kernels from the CPU model
 * when it loads; a model newer than the build (Debian 12's 0.3.21 on an
 * Emerald Rapids Xeon, family 6 model 207) falls back to Prescott's SSE3
 * kernels: sgemm at 28 instead of 320 GFLOP/s on 2 cores. OpenBLAS reads
 * OPENBLAS_CORETYPE only when it loads, so the fix is the program's to make
 * (the dlp CLI re-executes itself with the variable set). */
#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#include "dlp/graph.h"

const char *dlp_cpu_blas_coretype_hint(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
    if (getenv("OPENBLAS_CORETYPE")) return NULL;
    const char *core = openblas_get_corename();
    if (!core || strcmp(core, "Prescott") != 0) return NULL;
    __builtin_cpu_init();
    /* OpenBLAS' SkylakeX kernels use AVX-512 F, BW, DQ and VL. */
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
        return "SkylakeX";
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
#endif
    return NULL;
}

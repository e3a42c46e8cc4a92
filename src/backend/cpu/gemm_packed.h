/* gemm_packed.h: C = A * B in fp32 for the CPU convolutions, with B (a
 * kernel, [K, N] row-major: an HWIO kernel read as the im2col GEMM's
 * [K, cout]) packed once per plan into panels the AVX-512 kernel streams
 * (gemm_packed.c). OpenBLAS' sgemm packs B again at every call, one per
 * row tile, and is chosen by OpenBLAS' own CPU detection. */
#ifndef DLP_SRC_BACKEND_CPU_GEMM_PACKED_H
#define DLP_SRC_BACKEND_CPU_GEMM_PACKED_H

#include <stdbool.h>
#include <stddef.h>

/* Whether this CPU runs the packed GEMM (AVX-512 F) and DLP_CPU_PACKED_GEMM
 * is not "0"; decided once per process. */
bool cpu_gemm_packed_enabled(void);
/* Floats cpu_gemm_pack_b writes for a [k, n] B (n rounded up to 16). */
size_t cpu_gemm_packed_floats(int k, int n);
/* Packs row-major b [k, n] into packed (cpu_gemm_packed_floats(k, n) floats). */
void cpu_gemm_pack_b(const float *b, int k, int n, float *packed);
/* c[m, n_count] = a[m, k] * B[:, n_begin .. n_begin + n_count), B packed by
 * cpu_gemm_pack_b(b, k, n_total); a's rows lda floats apart, c's ldc.
 * n_begin is a multiple of 16. Each c element is the same sum in the same
 * order whatever m, n_begin and n_count are (tiles and threads do not
 * change the floats). */
void cpu_gemm_packed(int m, int n_begin, int n_count, int n_total, int k, const float *a, size_t lda,
                     const float *packed, float *c, size_t ldc);

#endif

/* gemm_packed.h: C = A * B in fp32 for the CPU convolutions, with B (a
 * kernel, [K, N] row-major: an HWIO kernel read as the im2col GEMM's
 * [K, cout]) packed once per plan into panels the AVX-512 kernel streams
 * (gemm_packed.c). OpenBLAS' sgemm packs B again at every call, one per
 * row tile, and is chosen by OpenBLAS' own CPU detection. */
#ifndef DLP_SRC_BACKEND_CPU_GEMM_PACKED_H
#define DLP_SRC_BACKEND_CPU_GEMM_PACKED_H

#include <stdbool.h>
#include <stddef.h>

/* The packed GEMM's kernels: 12 x 32 on AVX-512 F, 6 x 16 on AVX2 + FMA.
 * Both sum each element in the same order with the same fused
 * multiply-adds: the same floats. */
typedef enum cpu_gemm_isa { CPU_GEMM_NONE, CPU_GEMM_AVX2, CPU_GEMM_AVX512 } cpu_gemm_isa;
/* The kernel this process uses, decided once: the best this CPU runs;
 * DLP_CPU_PACKED_GEMM=0 in the environment: none (OpenBLAS' sgemm), "avx2":
 * the AVX2 kernel where the CPU has it (for comparisons). */
cpu_gemm_isa cpu_gemm_packed_isa(void);
/* Whether this CPU runs the packed GEMM: cpu_gemm_packed_isa() != CPU_GEMM_NONE. */
bool cpu_gemm_packed_enabled(void);
/* Whether this CPU runs the kernel isa (AVX2 also needs FMA). */
bool cpu_gemm_isa_supported(cpu_gemm_isa isa);
/* Floats cpu_gemm_pack_b writes for a [k, n] B (n rounded up to 16). */
size_t cpu_gemm_packed_floats(int k, int n);
/* Packs row-major b [k, n] into packed (cpu_gemm_packed_floats(k, n) floats). */
void cpu_gemm_pack_b(const float *b, int k, int n, float *packed);
/* What the GEMM applies to each element of C before storing it, after the
 * last k block: + bias[column], + shortcut[row, column] (rows ld_shortcut
 * floats apart), then max(., 0) with relu; each NULL / false: not applied.
 * Columns and rows count from the first of c. The same operations in the
 * same order as ops.c's tile_epilogue (its relu is x > 0 ? x : 0, as
 * max_ps(x, 0)), so the same floats. */
typedef struct cpu_gemm_epilogue {
    const float *bias;
    const float *shortcut;
    size_t ld_shortcut;
    bool relu;
} cpu_gemm_epilogue;
/* c[m, n_count] = a[m, k] * B[:, n_begin .. n_begin + n_count), B packed by
 * cpu_gemm_pack_b(b, k, n_total); a's rows lda floats apart, c's ldc.
 * n_begin is a multiple of 16. Each c element is the same sum in the same
 * order whatever m, n_begin and n_count are (tiles and threads do not
 * change the floats); epilogue (NULL: none) applied as it says. */
void cpu_gemm_packed(int m, int n_begin, int n_count, int n_total, int k, const float *a, size_t lda,
                     const float *packed, float *c, size_t ldc, const cpu_gemm_epilogue *epilogue);
/* The same with the kernel isa (supported by this CPU; tests compare them). */
void cpu_gemm_packed_isa_run(cpu_gemm_isa isa, int m, int n_begin, int n_count, int n_total, int k, const float *a,
                             size_t lda, const float *packed, float *c, size_t ldc, const cpu_gemm_epilogue *epilogue);

#endif

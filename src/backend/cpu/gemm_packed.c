/* gemm_packed.c: the CPU convolutions' GEMM on AVX-512 with the kernel
 * packed once per plan. A block of 12 rows x 32 columns of C stays in 24
 * registers while k streams past: per k, two vectors of B (one 32-column
 * panel, read in order) and 12 broadcasts of A (each row's k-th float, read
 * in place: the im2col tile or, for a 1x1 conv, the NHWC input itself).
 * k is taken in blocks of 256, so one panel's block (32 KiB) stays in L1
 * while every row block of the tile passes, and the rows' block in L2.
 * On this project's 2-core Xeon one core ran 155-170 GFLOP/s on InceptionV3
 * and ResNet50 conv shapes (256-row tiles) against OpenBLAS sgemm's 125-147,
 * which also repacks B at every call. */
#include "backend/cpu/gemm_packed.h"

#include "core/env.h"

#include <stdatomic.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define PACKED_AVX512 1
#define PACKED_TARGET __attribute__((target("avx512f")))
#else
#define PACKED_AVX512 0
#endif

enum { GEMM_MR = 12, GEMM_KC = 256, GEMM_PANEL = 16 };

bool cpu_gemm_packed_enabled(void)
{
    static atomic_int enabled = -1; /* threads racing here all store the same answer */
    int known = atomic_load_explicit(&enabled, memory_order_relaxed);
    if (known < 0) {
#if PACKED_AVX512
        __builtin_cpu_init();
        known = __builtin_cpu_supports("avx512f") && dlp_env_switch("DLP_CPU_PACKED_GEMM", true);
#else
        known = 0;
#endif
        atomic_store_explicit(&enabled, known, memory_order_relaxed);
    }
    return known;
}

static int panel_count(int n) { return (n + GEMM_PANEL - 1) / GEMM_PANEL; }

size_t cpu_gemm_packed_floats(int k, int n) { return (size_t)k * (size_t)panel_count(n) * GEMM_PANEL; }

/* Layout: k blocks of GEMM_KC (the last shorter); within a block of kc rows
 * of B, panel p (columns 16p .. 16p + 15, zeros past n) is kc x 16 floats
 * in k order, at block + p * kc * 16. */
void cpu_gemm_pack_b(const float *b, int k, int n, float *packed)
{
    int panels = panel_count(n);
    for (int k0 = 0; k0 < k; k0 += GEMM_KC) {
        int kc = k - k0 < GEMM_KC ? k - k0 : GEMM_KC;
        float *block = packed + (size_t)k0 * panels * GEMM_PANEL;
        for (int p = 0; p < panels; p++) {
            int cols = n - p * GEMM_PANEL < GEMM_PANEL ? n - p * GEMM_PANEL : GEMM_PANEL;
            float *panel = block + (size_t)p * kc * GEMM_PANEL;
            for (int kk = 0; kk < kc; kk++) {
                float *dst = panel + (size_t)kk * GEMM_PANEL;
                memcpy(dst, b + (size_t)(k0 + kk) * n + (size_t)p * GEMM_PANEL, (size_t)cols * sizeof(float));
                if (cols < GEMM_PANEL) memset(dst + cols, 0, (size_t)(GEMM_PANEL - cols) * sizeof(float));
            }
        }
    }
}

#if PACKED_AVX512

/* C rows [0, rows) x NV vectors (the last one masked) (+)= A block * panel
 * block. Rows past `rows` are computed from whatever a holds there and
 * dropped; the caller makes them readable (gemm_tail_rows). */
#define GEMM_MICRO(NV)                                                                                          \
    PACKED_TARGET static void micro_##NV(int kc, const float *a, size_t lda, const float *b, float *c,       \
                                         size_t ldc, bool accumulate, int rows, __mmask16 last_mask)          \
    {                                                                                                         \
        __m512 acc[GEMM_MR][NV];                                                                              \
        _Pragma("GCC unroll 12") for (int r = 0; r < GEMM_MR; r++) _Pragma("GCC unroll 2") for (int j = 0;  \
                                                                                               j < NV; j++) { \
            __mmask16 mask = j == NV - 1 ? last_mask : (__mmask16)0xFFFF;                                     \
            acc[r][j] = accumulate && r < rows ? _mm512_maskz_loadu_ps(mask, c + (size_t)r * ldc + 16 * j)    \
                                               : _mm512_setzero_ps();                                         \
        }                                                                                                     \
        const float *b1 = b + (size_t)kc * GEMM_PANEL;                                                        \
        for (int kk = 0; kk < kc; kk++, a++) {                                                                \
            __m512 bv[NV];                                                                                    \
            bv[0] = _mm512_load_ps(b + (size_t)kk * GEMM_PANEL);                                              \
            if (NV > 1) bv[NV - 1] = _mm512_load_ps(b1 + (size_t)kk * GEMM_PANEL);                            \
            _Pragma("GCC unroll 12") for (int r = 0; r < GEMM_MR; r++)                                       \
            {                                                                                                 \
                __m512 x = _mm512_set1_ps(a[(size_t)r * lda]);                                                \
                _Pragma("GCC unroll 2") for (int j = 0; j < NV; j++) acc[r][j] =                              \
                    _mm512_fmadd_ps(x, bv[j], acc[r][j]);                                                     \
            }                                                                                                 \
        }                                                                                                     \
        _Pragma("GCC unroll 12") for (int r = 0; r < GEMM_MR; r++) _Pragma("GCC unroll 2") for (int j = 0;  \
                                                                                               j < NV; j++) { \
            __mmask16 mask = j == NV - 1 ? last_mask : (__mmask16)0xFFFF;                                     \
            if (r < rows) _mm512_mask_storeu_ps(c + (size_t)r * ldc + 16 * j, mask, acc[r][j]);               \
        }                                                                                                     \
    }

GEMM_MICRO(1)
GEMM_MICRO(2)

/* The last m % 12 rows of one k block, copied into a 12-row block whose
 * spare rows are zeros, so the micro kernel reads only memory it owns. */
static void gemm_tail_rows(const float *a, size_t lda, int rows, int kc, float *tail)
{
    for (int r = 0; r < GEMM_MR; r++) {
        if (r < rows)
            memcpy(tail + (size_t)r * kc, a + (size_t)r * lda, (size_t)kc * sizeof(float));
        else
            memset(tail + (size_t)r * kc, 0, (size_t)kc * sizeof(float));
    }
}

#endif

void cpu_gemm_packed(int m, int n_begin, int n_count, int n_total, int k, const float *a, size_t lda,
                     const float *packed, float *c, size_t ldc)
{
#if PACKED_AVX512
    int panels = panel_count(n_total), n_end = n_begin + n_count;
    int panel_begin = n_begin / GEMM_PANEL, panel_end = panel_count(n_end);
    int full_rows = m / GEMM_MR * GEMM_MR, tail = m - full_rows;
    float tail_block[GEMM_MR * GEMM_KC];
    for (int k0 = 0; k0 < k; k0 += GEMM_KC) {
        int kc = k - k0 < GEMM_KC ? k - k0 : GEMM_KC;
        const float *block = packed + (size_t)k0 * panels * GEMM_PANEL;
        bool accumulate = k0 > 0;
        if (tail) gemm_tail_rows(a + (size_t)full_rows * lda + k0, lda, tail, kc, tail_block);
        for (int p = panel_begin; p < panel_end; p += 2) {
            int vectors = p + 1 < panel_end ? 2 : 1;
            int last_cols = n_end - (p + vectors - 1) * GEMM_PANEL;
            __mmask16 mask = last_cols >= GEMM_PANEL ? (__mmask16)0xFFFF : (__mmask16)((1u << last_cols) - 1);
            const float *b = block + (size_t)p * kc * GEMM_PANEL;
            float *cp = c + (size_t)(p * GEMM_PANEL - n_begin);
            void (*micro)(int, const float *, size_t, const float *, float *, size_t, bool, int, __mmask16) =
                vectors == 2 ? micro_2 : micro_1;
            for (int i = 0; i < full_rows; i += GEMM_MR)
                micro(kc, a + (size_t)i * lda + k0, lda, b, cp + (size_t)i * ldc, ldc, accumulate, GEMM_MR, mask);
            if (tail) micro(kc, tail_block, (size_t)kc, b, cp + (size_t)full_rows * ldc, ldc, accumulate, tail, mask);
        }
    }
#else
    (void)m, (void)n_begin, (void)n_count, (void)n_total, (void)k, (void)a, (void)lda, (void)packed, (void)c,
        (void)ldc;
#endif
}

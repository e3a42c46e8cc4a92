/* gemm_packed.c: the CPU convolutions' GEMM on AVX-512 (or AVX2 + FMA)
 * with the kernel packed once per plan. A block of 12 rows x 32 columns of
 * C stays in 24 registers (AVX2: 6 x 16 in 12) while k streams past: per
 * k, two vectors of B (one 32-column panel, read in order) and 12
 * broadcasts of A (each row's k-th float, read in place: the im2col tile
 * or, for a 1x1 conv, the NHWC input itself).
 * k is taken in blocks of 256, so one panel's block (32 KiB) stays in L1
 * while every row block of the tile passes, and the rows' block in L2.
 * On this project's 2-core Xeon one core ran 155-170 GFLOP/s on InceptionV3
 * and ResNet50 conv shapes (256-row tiles) against OpenBLAS sgemm's 125-147,
 * which also repacks B at every call. */
#include "backend/cpu/gemm_packed.h"

#include "backend/cpu/ops.h"
#include "core/env.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define PACKED_AVX512 1
#define PACKED_TARGET __attribute__((target("avx512f")))
#define PACKED_TARGET_AVX2 __attribute__((target("avx2,fma")))
#else
#define PACKED_AVX512 0
#endif

enum { GEMM_MR = 12, GEMM_MR_AVX2 = 6, GEMM_KC = 256, GEMM_PANEL = 16 };

bool cpu_gemm_isa_supported(cpu_gemm_isa isa)
{
#if PACKED_AVX512
    __builtin_cpu_init();
    if (isa == CPU_GEMM_AVX512) return cpu_has_avx512();
    if (isa == CPU_GEMM_AVX2) return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
    return isa == CPU_GEMM_NONE;
}

cpu_gemm_isa cpu_gemm_packed_isa(void)
{
    static atomic_int chosen = -1; /* threads racing here all store the same answer */
    int known = atomic_load_explicit(&chosen, memory_order_relaxed);
    if (known < 0) {
        const char *wanted = getenv("DLP_CPU_PACKED_GEMM");
        if (!dlp_env_switch("DLP_CPU_PACKED_GEMM", true))
            known = CPU_GEMM_NONE;
        else if (cpu_gemm_isa_supported(CPU_GEMM_AVX512) && !(wanted && strcmp(wanted, "avx2") == 0))
            known = CPU_GEMM_AVX512;
        else
            known = cpu_gemm_isa_supported(CPU_GEMM_AVX2) ? CPU_GEMM_AVX2 : CPU_GEMM_NONE;
        atomic_store_explicit(&chosen, known, memory_order_relaxed);
    }
    return (cpu_gemm_isa)known;
}

bool cpu_gemm_packed_enabled(void) { return cpu_gemm_packed_isa() != CPU_GEMM_NONE; }

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
#define GEMM_MICRO(NV, MR)                                                                                      \
    PACKED_TARGET static void micro_##NV##_##MR(int kc, const float *a, size_t lda, const float *b, float *c,       \
                                         size_t ldc, bool accumulate, int rows, __mmask16 last_mask,          \
                                         const cpu_gemm_epilogue *e)                                          \
    {                                                                                                         \
        __m512 acc[MR][NV];                                                                              \
        _Pragma("GCC unroll 12") for (int r = 0; r < MR; r++) _Pragma("GCC unroll 2") for (int j = 0;  \
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
            _Pragma("GCC unroll 12") for (int r = 0; r < MR; r++)                                       \
            {                                                                                                 \
                __m512 x = _mm512_set1_ps(a[(size_t)r * lda]);                                                \
                _Pragma("GCC unroll 2") for (int j = 0; j < NV; j++) acc[r][j] =                              \
                    _mm512_fmadd_ps(x, bv[j], acc[r][j]);                                                     \
            }                                                                                                 \
        }                                                                                                     \
        _Pragma("GCC unroll 12") for (int r = 0; r < MR; r++) _Pragma("GCC unroll 2") for (int j = 0;  \
                                                                                               j < NV; j++) { \
            __mmask16 mask = j == NV - 1 ? last_mask : (__mmask16)0xFFFF;                                     \
            if (r >= rows) continue;                                                                          \
            if (e) { /* the last k block: tile_epilogue's operations, in its order */                         \
                if (e->bias) acc[r][j] = _mm512_add_ps(acc[r][j], _mm512_maskz_loadu_ps(mask, e->bias + 16 * j)); \
                if (e->shortcut)                                                                              \
                    acc[r][j] = _mm512_add_ps(                                                                \
                        acc[r][j], _mm512_maskz_loadu_ps(mask, e->shortcut + (size_t)r * e->ld_shortcut + 16 * j)); \
                if (e->relu) acc[r][j] = _mm512_max_ps(acc[r][j], _mm512_setzero_ps());                       \
            }                                                                                                 \
            _mm512_mask_storeu_ps(c + (size_t)r * ldc + 16 * j, mask, acc[r][j]);                             \
        }                                                                                                     \
    }

GEMM_MICRO(1, 12)
GEMM_MICRO(2, 12)
GEMM_MICRO(1, 8)
GEMM_MICRO(2, 8)
GEMM_MICRO(1, 4)
GEMM_MICRO(2, 4)

typedef void (*micro_fn)(int, const float *, size_t, const float *, float *, size_t, bool, int, __mmask16,
                         const cpu_gemm_epilogue *);

/* The kernel for a block of `rows` (at most 12) rows: the narrowest of 4,
 * 8 and 12 rows that holds them (a 64-row tile, an 8x8 layer at batch 1,
 * ends in 4 rows, not 12 of which 8 are padding). */
static micro_fn micro_for(int vectors, int rows)
{
    static const micro_fn by_rows[2][3] = {{micro_1_4, micro_1_8, micro_1_12}, {micro_2_4, micro_2_8, micro_2_12}};
    return by_rows[vectors - 1][rows <= 4 ? 0 : rows <= 8 ? 1 : 2];
}

/* The AVX2 kernel: C rows [0, rows) x columns [0, cols) of one 16-column
 * panel (+)= A block * panel block, a 6 x 16 block of C in 12 of the 16
 * registers; the same fused multiply-adds in the same order as micro_2. */
PACKED_TARGET_AVX2 static void micro_avx2(int kc, const float *a, size_t lda, const float *b, float *c, size_t ldc,
                                          bool accumulate, int rows, int cols, const cpu_gemm_epilogue *e)
{
    __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    __m256i mask[2] = {_mm256_cmpgt_epi32(_mm256_set1_epi32(cols), lane),
                       _mm256_cmpgt_epi32(_mm256_set1_epi32(cols - 8), lane)};
    __m256 acc[GEMM_MR_AVX2][2];
    _Pragma("GCC unroll 6") for (int r = 0; r < GEMM_MR_AVX2; r++) for (int j = 0; j < 2; j++) acc[r][j] =
        accumulate && r < rows ? _mm256_maskload_ps(c + (size_t)r * ldc + 8 * j, mask[j]) : _mm256_setzero_ps();
    for (int kk = 0; kk < kc; kk++, a++) {
        __m256 b0 = _mm256_load_ps(b + (size_t)kk * GEMM_PANEL), b1 = _mm256_load_ps(b + (size_t)kk * GEMM_PANEL + 8);
        _Pragma("GCC unroll 6") for (int r = 0; r < GEMM_MR_AVX2; r++)
        {
            __m256 x = _mm256_broadcast_ss(a + (size_t)r * lda);
            acc[r][0] = _mm256_fmadd_ps(x, b0, acc[r][0]);
            acc[r][1] = _mm256_fmadd_ps(x, b1, acc[r][1]);
        }
    }
    _Pragma("GCC unroll 6") for (int r = 0; r < GEMM_MR_AVX2; r++) for (int j = 0; j < 2; j++)
    {
        if (r >= rows) continue;
        if (e) { /* the last k block: tile_epilogue's operations, in its order */
            if (e->bias) acc[r][j] = _mm256_add_ps(acc[r][j], _mm256_maskload_ps(e->bias + 8 * j, mask[j]));
            if (e->shortcut)
                acc[r][j] = _mm256_add_ps(
                    acc[r][j], _mm256_maskload_ps(e->shortcut + (size_t)r * e->ld_shortcut + 8 * j, mask[j]));
            if (e->relu) acc[r][j] = _mm256_max_ps(acc[r][j], _mm256_setzero_ps());
        }
        _mm256_maskstore_ps(c + (size_t)r * ldc + 8 * j, mask[j], acc[r][j]);
    }
}

/* The last m % mr rows of one k block, copied into an mr-row block whose
 * spare rows are zeros, so the micro kernel reads only memory it owns. */
static void gemm_tail_rows(const float *a, size_t lda, int rows, int mr, int kc, float *tail)
{
    for (int r = 0; r < mr; r++) {
        if (r < rows)
            memcpy(tail + (size_t)r * kc, a + (size_t)r * lda, (size_t)kc * sizeof(float));
        else
            memset(tail + (size_t)r * kc, 0, (size_t)kc * sizeof(float));
    }
}

/* The epilogue for the columns from `column` (relative to c) and the rows
 * from `row`; NULL before the last k block. */
static const cpu_gemm_epilogue *epilogue_at(const cpu_gemm_epilogue *e, int row, int column, cpu_gemm_epilogue *at)
{
    if (!e) return NULL;
    *at = (cpu_gemm_epilogue){e->bias ? e->bias + column : NULL,
                              e->shortcut ? e->shortcut + (size_t)row * e->ld_shortcut + column : NULL,
                              e->ld_shortcut, e->relu};
    return at;
}

/* One k block of 12-row blocks over 32-column panel pairs (the last one a
 * single panel) on AVX-512. */
static void block_avx512(int kc, int k0, int full_rows, int tail, const float *a, size_t lda, const float *tail_block,
                         const float *block, int panel_begin, int panel_end, int n_begin, int n_end, float *c,
                         size_t ldc, const cpu_gemm_epilogue *e)
{
    bool accumulate = k0 > 0;
    cpu_gemm_epilogue at;
    for (int p = panel_begin; p < panel_end; p += 2) {
        int vectors = p + 1 < panel_end ? 2 : 1;
        int last_cols = n_end - (p + vectors - 1) * GEMM_PANEL;
        __mmask16 mask = last_cols >= GEMM_PANEL ? (__mmask16)0xFFFF : (__mmask16)((1u << last_cols) - 1);
        const float *b = block + (size_t)p * kc * GEMM_PANEL;
        int column = p * GEMM_PANEL - n_begin;
        float *cp = c + (size_t)column;
        micro_fn micro = micro_for(vectors, GEMM_MR);
        for (int i = 0; i < full_rows; i += GEMM_MR)
            micro(kc, a + (size_t)i * lda + k0, lda, b, cp + (size_t)i * ldc, ldc, accumulate, GEMM_MR, mask,
                  epilogue_at(e, i, column, &at));
        if (tail)
            micro_for(vectors, tail)(kc, tail_block, (size_t)kc, b, cp + (size_t)full_rows * ldc, ldc, accumulate,
                                     tail, mask, epilogue_at(e, full_rows, column, &at));
    }
}

/* The same on AVX2: 6-row blocks over single 16-column panels. */
static void block_avx2(int kc, int k0, int full_rows, int tail, const float *a, size_t lda, const float *tail_block,
                       const float *block, int panel_begin, int panel_end, int n_begin, int n_end, float *c,
                       size_t ldc, const cpu_gemm_epilogue *e)
{
    bool accumulate = k0 > 0;
    cpu_gemm_epilogue at;
    for (int p = panel_begin; p < panel_end; p++) {
        int cols = n_end - p * GEMM_PANEL < GEMM_PANEL ? n_end - p * GEMM_PANEL : GEMM_PANEL;
        const float *b = block + (size_t)p * kc * GEMM_PANEL;
        int column = p * GEMM_PANEL - n_begin;
        float *cp = c + (size_t)column;
        for (int i = 0; i < full_rows; i += GEMM_MR_AVX2)
            micro_avx2(kc, a + (size_t)i * lda + k0, lda, b, cp + (size_t)i * ldc, ldc, accumulate, GEMM_MR_AVX2,
                       cols, epilogue_at(e, i, column, &at));
        if (tail)
            micro_avx2(kc, tail_block, (size_t)kc, b, cp + (size_t)full_rows * ldc, ldc, accumulate, tail, cols,
                       epilogue_at(e, full_rows, column, &at));
    }
}

#endif

void cpu_gemm_packed_isa_run(cpu_gemm_isa isa, int m, int n_begin, int n_count, int n_total, int k, const float *a,
                             size_t lda, const float *packed, float *c, size_t ldc, const cpu_gemm_epilogue *epilogue)
{
#if PACKED_AVX512
    int mr = isa == CPU_GEMM_AVX512 ? GEMM_MR : GEMM_MR_AVX2;
    int panels = panel_count(n_total), n_end = n_begin + n_count;
    int panel_begin = n_begin / GEMM_PANEL, panel_end = panel_count(n_end);
    int full_rows = m / mr * mr, tail = m - full_rows;
    float tail_block[GEMM_MR * GEMM_KC];
    for (int k0 = 0; k0 < k; k0 += GEMM_KC) {
        int kc = k - k0 < GEMM_KC ? k - k0 : GEMM_KC;
        const float *block = packed + (size_t)k0 * panels * GEMM_PANEL;
        const cpu_gemm_epilogue *last = k0 + kc >= k ? epilogue : NULL;
        if (tail) gemm_tail_rows(a + (size_t)full_rows * lda + k0, lda, tail, mr, kc, tail_block);
        (isa == CPU_GEMM_AVX512 ? block_avx512 : block_avx2)(kc, k0, full_rows, tail, a, lda, tail_block, block,
                                                             panel_begin, panel_end, n_begin, n_end, c, ldc, last);
    }
#else
    (void)isa, (void)m, (void)n_begin, (void)n_count, (void)n_total, (void)k, (void)a, (void)lda, (void)packed,
        (void)c, (void)ldc, (void)epilogue;
#endif
}

void cpu_gemm_packed(int m, int n_begin, int n_count, int n_total, int k, const float *a, size_t lda,
                     const float *packed, float *c, size_t ldc, const cpu_gemm_epilogue *epilogue)
{
    cpu_gemm_packed_isa_run(cpu_gemm_packed_isa(), m, n_begin, n_count, n_total, k, a, lda, packed, c, ldc, epilogue);
}

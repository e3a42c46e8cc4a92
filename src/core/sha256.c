/* sha256.c: SHA-256 as specified in FIPS 180-4 §6.2 (constants from §4.2.2,
 * initial hash from §5.3.3), streaming over 64-byte blocks. Two block
 * compressors: portable C, and on x86 the SHA extensions (SHA-NI), about six
 * times faster (bench/sha256_rate); one is chosen once per process (see sha256.h). */
#include "core/sha256.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/env.h"
#include "core/status.h"

#if defined(__x86_64__) || defined(__i386__)
#define DLP_SHA256_HAVE_SHA_NI 1
#include <cpuid.h>
#include <immintrin.h>
#else
#define DLP_SHA256_HAVE_SHA_NI 0
#endif

static const uint32_t round_constants[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

static uint32_t rotate_right(uint32_t x, unsigned n) { return (x >> n) | (x << (32 - n)); }

static void compress_block_portable(uint32_t state[8], const unsigned char block[64])
{
    uint32_t w[64];
    for (int t = 0; t < 16; t++)
        w[t] = (uint32_t)block[4 * t] << 24 | (uint32_t)block[4 * t + 1] << 16 | (uint32_t)block[4 * t + 2] << 8 |
               (uint32_t)block[4 * t + 3];
    for (int t = 16; t < 64; t++) {
        uint32_t s0 = rotate_right(w[t - 15], 7) ^ rotate_right(w[t - 15], 18) ^ (w[t - 15] >> 3);
        uint32_t s1 = rotate_right(w[t - 2], 17) ^ rotate_right(w[t - 2], 19) ^ (w[t - 2] >> 10);
        w[t] = w[t - 16] + s0 + w[t - 7] + s1;
    }
    uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
    uint32_t e = state[4], f = state[5], g = state[6], h = state[7];
    for (int t = 0; t < 64; t++) {
        uint32_t sum1 = rotate_right(e, 6) ^ rotate_right(e, 11) ^ rotate_right(e, 25);
        uint32_t choose = (e & f) ^ (~e & g);
        uint32_t temp1 = h + sum1 + choose + round_constants[t] + w[t];
        uint32_t sum0 = rotate_right(a, 2) ^ rotate_right(a, 13) ^ rotate_right(a, 22);
        uint32_t majority = (a & b) ^ (a & c) ^ (b & c);
        uint32_t temp2 = sum0 + majority;
        h = g;
        g = f;
        f = e;
        e = d + temp1;
        d = c;
        c = b;
        b = a;
        a = temp1 + temp2;
    }
    state[0] += a, state[1] += b, state[2] += c, state[3] += d;
    state[4] += e, state[5] += f, state[6] += g, state[7] += h;
}

static void compress_blocks_portable(uint32_t state[8], const unsigned char *blocks, size_t block_count)
{
    for (size_t i = 0; i < block_count; i++) compress_block_portable(state, blocks + 64 * i);
}

#if DLP_SHA256_HAVE_SHA_NI
/* The SHA extensions, as described in Intel's "Intel SHA Extensions" white
 * paper (2013) and the SDM entries for SHA256RNDS2/MSG1/MSG2:
 *   sha256rnds2(cdgh, abef, wk): two rounds; the state is split across two
 *     registers as (low dword to high) F,E,B,A and H,G,D,C; wk's two low dwords
 *     are W[t]+K[t] and W[t+1]+K[t+1]; returns the new F,E,B,A. The old A,B,E,F
 *     are then the new C,D,G,H, so two calls swap the registers' roles back.
 *   sha256msg1(W[t-16..t-13], W[t-12..t-9]): W[t-16+i] + sigma0(W[t-15+i]).
 *   sha256msg2(that + W[t-7..t-4], W[t-4..t-1]): adds sigma1(W[t-2+i]), giving
 *     W[t..t+3] (each lane's sigma1 input may be a lane computed just before).
 * Message registers hold four schedule words, W[t] in the low dword. The
 * helpers carry the same target attribute so that they inline into the
 * compressor; the rest of the build keeps its own flags. */
#define DLP_SHA_NI_TARGET __attribute__((target("sha,sse4.1,ssse3")))

/* Rounds 4*group .. 4*group+3, on the schedule words in message. */
DLP_SHA_NI_TARGET static inline void sha_ni_four_rounds(__m128i *abef, __m128i *cdgh, __m128i message, int group)
{
    __m128i constants = _mm_loadu_si128((const __m128i *)&round_constants[4 * group]);
    __m128i wk = _mm_add_epi32(message, constants);
    *cdgh = _mm_sha256rnds2_epu32(*cdgh, *abef, wk);                         /* now holds A,B,E,F */
    *abef = _mm_sha256rnds2_epu32(*abef, *cdgh, _mm_shuffle_epi32(wk, 0x0e)); /* dwords 2,3 down */
}

/* W[t..t+3] from the 16 words before them, oldest register first. */
DLP_SHA_NI_TARGET static inline __m128i sha_ni_next_message(__m128i w16, __m128i w12, __m128i w8, __m128i w4)
{
    __m128i partial = _mm_sha256msg1_epu32(w16, w12);
    partial = _mm_add_epi32(partial, _mm_alignr_epi8(w4, w8, 4)); /* W[t-7..t-4] */
    return _mm_sha256msg2_epu32(partial, w4);
}

DLP_SHA_NI_TARGET static void compress_blocks_sha_ni(uint32_t state[8], const unsigned char *blocks,
                                                     size_t block_count)
{
    /* Big-endian words to little-endian dwords, W[t] in the low dword. */
    const __m128i byte_swap = _mm_set_epi8(12, 13, 14, 15, 8, 9, 10, 11, 4, 5, 6, 7, 0, 1, 2, 3);
    __m128i a_to_d = _mm_loadu_si128((const __m128i *)&state[0]); /* A,B,C,D (low to high) */
    __m128i e_to_h = _mm_loadu_si128((const __m128i *)&state[4]); /* E,F,G,H */
    __m128i badc = _mm_shuffle_epi32(a_to_d, 0xb1);
    __m128i hgfe = _mm_shuffle_epi32(e_to_h, 0x1b);
    __m128i abef = _mm_alignr_epi8(badc, hgfe, 8);    /* F,E,B,A */
    __m128i cdgh = _mm_blend_epi16(hgfe, badc, 0xf0); /* H,G,D,C */
    for (size_t block = 0; block < block_count; block++) {
        const unsigned char *bytes = blocks + 64 * block;
        __m128i abef_before = abef, cdgh_before = cdgh;
        __m128i m0 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(bytes + 0)), byte_swap);
        __m128i m1 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(bytes + 16)), byte_swap);
        __m128i m2 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(bytes + 32)), byte_swap);
        __m128i m3 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(bytes + 48)), byte_swap);
        sha_ni_four_rounds(&abef, &cdgh, m0, 0);
        sha_ni_four_rounds(&abef, &cdgh, m1, 1);
        sha_ni_four_rounds(&abef, &cdgh, m2, 2);
        sha_ni_four_rounds(&abef, &cdgh, m3, 3);
        /* Rounds 16..63: the four registers rotate, each replaced by the next
         * four schedule words once its own are used. */
        for (int group = 4; group < 16; group += 4) {
            m0 = sha_ni_next_message(m0, m1, m2, m3);
            sha_ni_four_rounds(&abef, &cdgh, m0, group);
            m1 = sha_ni_next_message(m1, m2, m3, m0);
            sha_ni_four_rounds(&abef, &cdgh, m1, group + 1);
            m2 = sha_ni_next_message(m2, m3, m0, m1);
            sha_ni_four_rounds(&abef, &cdgh, m2, group + 2);
            m3 = sha_ni_next_message(m3, m0, m1, m2);
            sha_ni_four_rounds(&abef, &cdgh, m3, group + 3);
        }
        abef = _mm_add_epi32(abef, abef_before);
        cdgh = _mm_add_epi32(cdgh, cdgh_before);
    }
    __m128i abef_reversed = _mm_shuffle_epi32(abef, 0x1b); /* A,B,E,F */
    __m128i ghcd = _mm_shuffle_epi32(cdgh, 0xb1);          /* G,H,C,D */
    _mm_storeu_si128((__m128i *)&state[0], _mm_blend_epi16(abef_reversed, ghcd, 0xf0));
    _mm_storeu_si128((__m128i *)&state[4], _mm_alignr_epi8(ghcd, abef_reversed, 8));
}

/* CPUID rather than __builtin_cpu_supports("sha"): clang 14 (Debian 12's)
 * rejects that feature name. Leaf 1 ECX: SSSE3 bit 9, SSE4.1 bit 19; leaf 7
 * subleaf 0 EBX: SHA bit 29. */
static int cpu_has_sha_ni(void)
{
    unsigned eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return 0;
    int has_sse = (ecx >> 9 & 1) && (ecx >> 19 & 1);
    if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return 0;
    return has_sse && (ebx >> 29 & 1);
}
#else
static int cpu_has_sha_ni(void) { return 0; }
#endif

/* The path in use: chosen once (pthread_once: the featurizer hashes from many
 * threads), atomic so dlp_sha256_use_path may switch it later. */
static pthread_once_t path_once = PTHREAD_ONCE_INIT;
static atomic_int path_in_use = DLP_SHA256_PATH_PORTABLE;

static void choose_path(void)
{
    bool forced = dlp_env_switch("DLP_SHA256_PORTABLE", false);
    atomic_store(&path_in_use, !forced && cpu_has_sha_ni() ? DLP_SHA256_PATH_SHA_NI : DLP_SHA256_PATH_PORTABLE);
}

dlp_sha256_path dlp_sha256_path_in_use(void)
{
    pthread_once(&path_once, choose_path);
    return (dlp_sha256_path)atomic_load_explicit(&path_in_use, memory_order_relaxed);
}

const char *dlp_sha256_path_name(dlp_sha256_path path)
{
    return path == DLP_SHA256_PATH_SHA_NI ? "sha-ni" : "portable";
}

dlp_status dlp_sha256_use_path(dlp_sha256_path path)
{
    pthread_once(&path_once, choose_path);
    if (path != DLP_SHA256_PATH_PORTABLE && path != DLP_SHA256_PATH_SHA_NI)
        return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "sha256: unknown path %d, expected portable (0) or sha-ni (1)",
                        (int)path);
    if (path == DLP_SHA256_PATH_SHA_NI && !cpu_has_sha_ni())
        return dlp_fail(DLP_ERR_UNSUPPORTED, "sha256: sha-ni requested, but %s",
                        DLP_SHA256_HAVE_SHA_NI ? "this CPU lacks the SHA extensions" : "this build is not for x86");
    atomic_store(&path_in_use, path);
    return DLP_OK;
}

static void compress_blocks(uint32_t state[8], const unsigned char *blocks, size_t block_count)
{
#if DLP_SHA256_HAVE_SHA_NI
    if (dlp_sha256_path_in_use() == DLP_SHA256_PATH_SHA_NI) {
        compress_blocks_sha_ni(state, blocks, block_count);
        return;
    }
#endif
    compress_blocks_portable(state, blocks, block_count);
}

void dlp_sha256_init(dlp_sha256 *hash)
{
    static const uint32_t initial[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                        0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    memcpy(hash->state, initial, sizeof initial);
    hash->total_bytes = 0;
    hash->block_bytes = 0;
}

/* Tops up a waiting partial block, then hands every whole block of the input
 * to the compressor in one call (SHA-NI keeps the state in registers across
 * them), and keeps the tail for later. */
void dlp_sha256_update(dlp_sha256 *hash, const void *bytes, size_t count)
{
    if (count == 0) return; /* bytes may be NULL then */
    const unsigned char *in = bytes;
    hash->total_bytes += count;
    if (hash->block_bytes > 0) {
        size_t take = 64 - hash->block_bytes;
        if (take > count) take = count;
        memcpy(hash->block + hash->block_bytes, in, take);
        hash->block_bytes += take;
        in += take;
        count -= take;
        if (hash->block_bytes < 64) return;
        compress_blocks(hash->state, hash->block, 1);
        hash->block_bytes = 0;
    }
    size_t whole_blocks = count / 64;
    if (whole_blocks > 0) compress_blocks(hash->state, in, whole_blocks);
    in += 64 * whole_blocks;
    count -= 64 * whole_blocks;
    if (count > 0) memcpy(hash->block, in, count);
    hash->block_bytes = count;
}

/* Padding (FIPS 180-4 §5.1.1): a 1 bit, zeros, then the message length in bits
 * as a 64-bit big-endian number ending the last block. */
void dlp_sha256_final(dlp_sha256 *hash, unsigned char digest[32])
{
    uint64_t bit_count = hash->total_bytes * 8;
    hash->block[hash->block_bytes++] = 0x80;
    if (hash->block_bytes > 56) {
        memset(hash->block + hash->block_bytes, 0, 64 - hash->block_bytes);
        compress_blocks(hash->state, hash->block, 1);
        hash->block_bytes = 0;
    }
    memset(hash->block + hash->block_bytes, 0, 56 - hash->block_bytes);
    for (int i = 0; i < 8; i++) hash->block[56 + i] = (unsigned char)(bit_count >> (56 - 8 * i));
    compress_blocks(hash->state, hash->block, 1);
    for (int i = 0; i < 8; i++)
        for (int j = 0; j < 4; j++) digest[4 * i + j] = (unsigned char)(hash->state[i] >> (24 - 8 * j));
}

static void digest_to_hex(const unsigned char digest[32], char hex[65])
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        hex[2 * i] = digits[digest[i] >> 4];
        hex[2 * i + 1] = digits[digest[i] & 15];
    }
    hex[64] = 0;
}

void dlp_sha256_hex(const void *bytes, size_t count, char hex[65])
{
    dlp_sha256 hash;
    unsigned char digest[32];
    dlp_sha256_init(&hash);
    dlp_sha256_update(&hash, bytes, count);
    dlp_sha256_final(&hash, digest);
    digest_to_hex(digest, hex);
}

dlp_status dlp_sha256_file(const char *path, char hex[65])
{
    hex[0] = 0;
    FILE *file = fopen(path, "rb");
    if (!file) return dlp_fail(DLP_ERR_IO, "%s: cannot open to hash: %s", path, strerror(errno));
    dlp_sha256 hash;
    dlp_sha256_init(&hash);
    unsigned char buffer[1 << 16];
    size_t got;
    while ((got = fread(buffer, 1, sizeof buffer, file)) > 0) dlp_sha256_update(&hash, buffer, got);
    int failed = ferror(file);
    fclose(file);
    if (failed) return dlp_fail(DLP_ERR_IO, "%s: read error while hashing", path);
    unsigned char digest[32];
    dlp_sha256_final(&hash, digest);
    digest_to_hex(digest, hex);
    return DLP_OK;
}

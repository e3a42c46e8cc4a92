/* sha256.c: SHA-256 as specified in FIPS 180-4 §6.2 (constants from §4.2.2,
 * initial hash from §5.3.3), streaming over 64-byte blocks. */
#include "core/sha256.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/status.h"

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

static void compress_block(uint32_t state[8], const unsigned char block[64])
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

void dlp_sha256_init(dlp_sha256 *hash)
{
    static const uint32_t initial[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                        0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    memcpy(hash->state, initial, sizeof initial);
    hash->total_bytes = 0;
    hash->block_bytes = 0;
}

void dlp_sha256_update(dlp_sha256 *hash, const void *bytes, size_t count)
{
    const unsigned char *in = bytes;
    hash->total_bytes += count;
    while (count > 0) {
        size_t take = 64 - hash->block_bytes;
        if (take > count) take = count;
        memcpy(hash->block + hash->block_bytes, in, take);
        hash->block_bytes += take;
        in += take;
        count -= take;
        if (hash->block_bytes == 64) {
            compress_block(hash->state, hash->block);
            hash->block_bytes = 0;
        }
    }
}

/* Padding (FIPS 180-4 §5.1.1): a 1 bit, zeros, then the message length in bits
 * as a 64-bit big-endian number ending the last block. */
void dlp_sha256_final(dlp_sha256 *hash, unsigned char digest[32])
{
    uint64_t bit_count = hash->total_bytes * 8;
    hash->block[hash->block_bytes++] = 0x80;
    if (hash->block_bytes > 56) {
        memset(hash->block + hash->block_bytes, 0, 64 - hash->block_bytes);
        compress_block(hash->state, hash->block);
        hash->block_bytes = 0;
    }
    memset(hash->block + hash->block_bytes, 0, 56 - hash->block_bytes);
    for (int i = 0; i < 8; i++) hash->block[56 + i] = (unsigned char)(bit_count >> (56 - 8 * i));
    compress_block(hash->state, hash->block);
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

/* sha256.h: SHA-256 (FIPS 180-4), for weight digests, pipeline checks and the
 * feature cache's content keys. */
#ifndef DLP_SRC_CORE_SHA256_H
#define DLP_SRC_CORE_SHA256_H

#include <stddef.h>
#include <stdint.h>

#include "dlp/core.h"

typedef struct dlp_sha256 {
    uint32_t state[8];
    uint64_t length_bytes;
    uint8_t block[64];
    size_t block_used;
} dlp_sha256;

void dlp_sha256_init(dlp_sha256 *hash);
void dlp_sha256_update(dlp_sha256 *hash, const void *data, size_t size);
void dlp_sha256_final(dlp_sha256 *hash, uint8_t digest[32]);
/* Lower-case hex of a digest, NUL-terminated. */
void dlp_sha256_hex(const uint8_t digest[32], char hex[65]);
/* One call over a buffer, hex out. */
void dlp_sha256_buffer(const void *data, size_t size, char hex[65]);
/* The file's sha256 as hex; DLP_ERR_IO naming the path when it cannot be read. */
dlp_status dlp_sha256_file(const char *path, char hex[65]);

#endif

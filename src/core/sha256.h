/* sha256.h: SHA-256 (FIPS 180-4) of bytes and of files, for the provenance of
 * weights (convert's source_sha256), the weights check of a saved pipeline and
 * the featurizer's cache keys (every image file's bytes). */
#ifndef DLP_SRC_CORE_SHA256_H
#define DLP_SRC_CORE_SHA256_H

#include <stddef.h>
#include <stdint.h>

#include "dlp/core.h"

typedef struct dlp_sha256 {
    uint32_t state[8];
    uint64_t total_bytes;
    unsigned char block[64];
    size_t block_bytes; /* bytes waiting in block, 0..63 */
} dlp_sha256;

void dlp_sha256_init(dlp_sha256 *hash);
void dlp_sha256_update(dlp_sha256 *hash, const void *bytes, size_t count);
void dlp_sha256_final(dlp_sha256 *hash, unsigned char digest[32]);

/* The 64 lower-case hex digits and a terminating 0, as sha256sum prints them. */
void dlp_sha256_hex(const void *bytes, size_t count, char hex[65]);
/* Hashes a whole file; DLP_ERR_IO naming the path if it cannot be read. */
dlp_status dlp_sha256_file(const char *path, char hex[65]);

/* The block compressor behind every call above. The first hash in the process
 * picks the x86 SHA extensions (SHA-NI) where the CPU has them, unless the
 * environment sets DLP_SHA256_PORTABLE (to anything but "" or "0"); the
 * portable C code otherwise. Both give the same digests. */
typedef enum dlp_sha256_path { DLP_SHA256_PATH_PORTABLE, DLP_SHA256_PATH_SHA_NI } dlp_sha256_path;

dlp_sha256_path dlp_sha256_path_in_use(void);
/* "portable" or "sha-ni", for messages and benchmark lines. */
const char *dlp_sha256_path_name(dlp_sha256_path path);
/* For tests and benchmarks that compare the paths in one process: every update
 * and final after this call uses path (a hash in flight may mix the paths; its
 * digest is the same). DLP_ERR_UNSUPPORTED if this CPU or build lacks path. */
dlp_status dlp_sha256_use_path(dlp_sha256_path path);

#endif

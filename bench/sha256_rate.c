/* sha256_rate.c: SHA-256 throughput of each block compressor this CPU has
 * (portable C; SHA-NI on x86), on a 47 KB buffer (a typical JPEG: the
 * featurizer hashes every image file's bytes for its cache key) and a 1 MB one.
 * Usage: sha256_rate [--seconds S]   (S per path and size, default 1)
 * Prints one line per path and size: "sha256 path=P bytes=N calls=C seconds=T MB_per_s=R". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/sha256.h"
#include "dlp/dlp.h"

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Hashes the buffer whole (dlp_sha256_hex, as the featurizer does) until
 * seconds have passed; prints the rate in MB/s (10^6 bytes). */
static void time_path(dlp_sha256_path path, const unsigned char *bytes, size_t size, double seconds)
{
    char hex[65];
    dlp_sha256_hex(bytes, size, hex); /* warm caches and the path choice */
    size_t calls = 0;
    double start = now_seconds(), elapsed = 0;
    while (elapsed < seconds) {
        for (int i = 0; i < 8; i++) dlp_sha256_hex(bytes, size, hex);
        calls += 8;
        elapsed = now_seconds() - start;
    }
    printf("sha256 path=%s bytes=%zu calls=%zu seconds=%.2f MB_per_s=%.1f us_per_call=%.2f\n",
           dlp_sha256_path_name(path), size, calls, elapsed, (double)size * calls / elapsed / 1e6,
           elapsed / calls * 1e6);
}

int main(int argc, char **argv)
{
    double seconds = argc > 2 && strcmp(argv[1], "--seconds") == 0 ? atof(argv[2]) : 1.0;
    static const size_t sizes[] = {47 * 1000, 1000 * 1000};
    unsigned char *bytes = malloc(sizes[1]);
    if (!bytes) return 1;
    unsigned state = 1;
    for (size_t i = 0; i < sizes[1]; i++) {
        state = state * 1103515245u + 12345u;
        bytes[i] = (unsigned char)(state >> 16);
    }
    static const dlp_sha256_path paths[] = {DLP_SHA256_PATH_PORTABLE, DLP_SHA256_PATH_SHA_NI};
    for (size_t p = 0; p < 2; p++) {
        if (dlp_sha256_use_path(paths[p]) != DLP_OK) {
            printf("sha256 path=%s skipped: %s\n", dlp_sha256_path_name(paths[p]), dlp_last_error());
            continue;
        }
        for (size_t s = 0; s < 2; s++) time_path(paths[p], bytes, sizes[s], seconds);
    }
    free(bytes);
    return 0;
}

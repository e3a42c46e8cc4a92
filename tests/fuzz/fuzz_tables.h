/* fuzz_tables.h: the file-based parsers (.npy, LibSVM, list files) take a path,
 * so their fuzz targets write each input to a per-process file in /dev/shm. */
#ifndef DLP_FUZZ_TABLES_H
#define DLP_FUZZ_TABLES_H

#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

static const char *fuzz_write_input(const uint8_t *data, size_t size, const char *suffix)
{
    static char path[256];
    snprintf(path, sizeof path, "/dev/shm/dlp-fuzz-%d%s", (int)getpid(), suffix);
    FILE *file = fopen(path, "wb");
    if (!file) return NULL;
    if (size && fwrite(data, 1, size, file) != size) {
        fclose(file);
        return NULL;
    }
    fclose(file);
    return path;
}

#endif

/* npy_map.h: a 2-d float32 .npy file mapped into memory instead of read, for
 * feature matrices larger than one wants on the heap (dlp train, dlp
 * evaluate): the page cache holds them, shared with other readers. */
#ifndef DLP_SRC_DATA_NPY_MAP_H
#define DLP_SRC_DATA_NPY_MAP_H

#include <stddef.h>

#include "dlp/core.h"

typedef struct {
    const float *data; /* rows x cols, C order */
    size_t rows, cols;
    void *mapping;     /* the whole file, when mapped */
    size_t mapping_bytes;
    float *owned;      /* the values read into memory, when not mapped */
} dlp_npy_mapped;

/* The same files, checks and messages as dlp_npy_read_f32. A '<f4' array in a regular file on a little-endian host is
 * mapped read-only; anything else ('<f8', a pipe, an empty array) is read as dlp_npy_read_f32 reads it. */
dlp_status dlp_npy_map_f32(const char *path, dlp_npy_mapped *mapped);
void dlp_npy_unmap(dlp_npy_mapped *mapped);

#endif

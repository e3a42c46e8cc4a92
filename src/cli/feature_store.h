/* feature_store.h: the training rows of `dlp fit` (features and labels),
 * gathered chunk by chunk as they are featurized. Up to
 * DLP_FEATURIZE_CHUNK_BYTES of features stay in memory; past that every row
 * goes to an unlinked scratch file in $TMPDIR (default /tmp), which is mapped
 * read-only for the fit: the page cache, not the heap, holds the matrix, and
 * a matrix larger than memory is read from disk on each pass. */
#ifndef DLP_CLI_FEATURE_STORE_H
#define DLP_CLI_FEATURE_STORE_H

#include <stdio.h>

#include "dlp/core.h"

typedef struct cli_feature_store {
    size_t dim, count;          /* floats per row; rows appended */
    size_t expected_rows;       /* at most this many will be: for the scratch file's size in messages */
    size_t memory_rows;         /* rows that may stay in memory before spilling */
    float *memory;              /* the rows, while not spilled */
    size_t memory_capacity;     /* rows */
    double *labels;             /* count labels (always in memory: 8 bytes a row) */
    size_t label_capacity;
    FILE *scratch;              /* once spilled: the rows, written in order */
    char scratch_path[4200];    /* for messages: the file is unlinked once opened */
    float *mapped;              /* after cli_feature_store_finish on a spilled store */
    size_t mapped_bytes;
} cli_feature_store;

/* An empty store of dim-float rows, of which at most expected_rows will come; the in-memory budget is
 * DLP_FEATURIZE_CHUNK_BYTES (a bad value is DLP_ERR_INVALID_ARGUMENT naming it). */
dlp_status cli_feature_store_init(cli_feature_store *store, size_t dim, size_t expected_rows);
/* Appends one row. A failed scratch write is DLP_ERR_IO naming the file and the reason (a full disk: set TMPDIR). */
dlp_status cli_feature_store_append(cli_feature_store *store, const float *features, double label);
/* After the last append: *features points at count x dim floats (valid until cli_feature_store_free), *labels at
 * count labels. */
dlp_status cli_feature_store_finish(cli_feature_store *store, const float **features, const double **labels);
/* 1 when the rows went to a scratch file. */
int cli_feature_store_spilled(const cli_feature_store *store);
void cli_feature_store_free(cli_feature_store *store);

#endif

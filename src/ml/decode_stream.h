/* decode_stream.h: the featurizer's CPU half. Worker threads take the rows
 * of a dataset range one at a time, in order, and per row read the file,
 * hash its bytes (when a feature cache is used), look the hash up, and
 * decode the image: straight into its batch's packed buffer (PACKED: the
 * GPU resizes), or decoded, resized and normalized into its batch's network
 * input (RESIZED). Batches live in a ring of buffers: a worker that finishes
 * a row takes the next one, in whatever batch it falls (no barrier at the
 * end of a batch), and waits only while every buffer of the ring is held.
 * The consumer takes whole batches, in order, and gives each back when done.
 *
 * The stream only reads the dataset: a row's failure comes back in its
 * batch, for the consumer to record once the stream is destroyed. */
#ifndef DLP_SRC_ML_DECODE_STREAM_H
#define DLP_SRC_ML_DECODE_STREAM_H

#include <stdbool.h>
#include <stddef.h>

#include "core/thread_pool.h"
#include "dlp/dataset.h"
#include "dlp/image.h"
#include "image/pack.h"

enum { DLP_DECODE_MESSAGE_CAPACITY = 512 };

typedef enum { DLP_DECODE_PACKED, DLP_DECODE_RESIZED } dlp_decode_output;

typedef struct dlp_decode_stream_options {
    size_t batch_size;           /* rows per batch, >= 1 */
    int ring;                    /* batch buffers, >= 1 (1: workers wait while the consumer holds a batch) */
    dlp_decode_output output;
    int pinned_device;           /* PACKED: >= 0: page-locked buffers for DMA to this GPU (backend/pinned.h) */
    int out_h, out_w;            /* RESIZED: the network input, how to resize and normalize into it */
    dlp_resize resize;
    dlp_normalize normalize;
    bool hash;                   /* each row's content key: the sha256 of its file's bytes */
    /* Optional, with hash: called from a worker; true when it found the
     * row's features (the row then needs no decoding). */
    bool (*lookup)(void *context, const char *content_key, size_t row);
    void *lookup_context;
} dlp_decode_stream_options;

/* A finished batch: rows [first, first + count) of the dataset. Read only. */
typedef struct dlp_decoded_batch {
    size_t first, count;
    size_t network_count;       /* rows decoded for the network */
    size_t *network_slots;      /* their slots (row - first), increasing */
    /* PACKED: the network rows' pixels, image i at layout.offsets[i]
     * (layout.count == network_count; packed holds layout.total_bytes). */
    uint8_t *packed;
    dlp_image_pack_layout layout;
    /* RESIZED: network_count inputs (out_h x out_w x 3 floats each), in order. */
    float *input;
    /* Per slot: */
    dlp_status *status;         /* why the row failed now (DLP_OK: decoded, cached, or failed before) */
    char (*message)[DLP_DECODE_MESSAGE_CAPACITY];
    char (*content_key)[65];    /* with hash; "" when the file could not be read */
    bool *cache_hit;
    int buffer;                 /* which buffer of the ring */
} dlp_decoded_batch;

typedef struct dlp_decode_stream dlp_decode_stream;

/* Starts decoding rows [first, first + count) of dataset on pool's threads
 * (and one more that drives them). The dataset and pool must stay untouched
 * by others until the stream is destroyed. */
dlp_status dlp_decode_stream_start(dlp_thread_pool *pool, const dlp_dataset *dataset, size_t first, size_t count,
                                   const dlp_decode_stream_options *options, dlp_decode_stream **stream);

/* Waits for the next batch in order; *batch is NULL after the last one.
 * The consumer may hold up to ring - 1 batches when it asks for the next
 * (it holds ring: DLP_ERR_INVALID_ARGUMENT rather than waiting forever).
 * Fails only when out of memory for a batch's packed buffer. */
dlp_status dlp_decode_stream_next(dlp_decode_stream *stream, dlp_decoded_batch **batch);

/* Gives a batch's buffer back to the workers (its pointers become invalid). */
void dlp_decode_stream_release(dlp_decode_stream *stream, dlp_decoded_batch *batch);

/* Stops the workers (a row being decoded is finished first), waits for
 * them and frees everything; fine at any point, and on NULL. */
void dlp_decode_stream_destroy(dlp_decode_stream *stream);

#endif

/* decode_stream.h: the featurizer's CPU half. Worker threads take the rows
 * of a dataset range one at a time, in order, and per row read the file,
 * hash its bytes (when a feature cache is used), look the hash up, and
 * decode the image: straight into its batch's packed buffer (PACKED: the
 * GPU resizes), or decoded, resized and normalized into its batch's network
 * input (RESIZED). PACKED batches hold at most a budget of pixel bytes: an
 * image that would take its batch past it is resized and normalized on the
 * CPU instead (bit for bit what the GPU makes of it), and a one-pixel
 * placeholder keeps its row in the packed layout. Batches live in a ring of
 * buffers: a worker that finishes a row takes the next one, in whatever
 * batch it falls (no barrier at the end of a batch), and waits only while
 * every buffer of the ring is held.
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
#include "ml/pinned_cache.h"

enum { DLP_DECODE_MESSAGE_CAPACITY = 512 };

/* PACKED: the default packed pixel bytes per batch buffer (a ring of three
 * pins three times this, plus the device's staging copy of one batch). */
#define DLP_DECODE_DEFAULT_PACKED_BUDGET ((size_t)256 << 20)
/* The placeholder's bytes (one RGB pixel), kept back from every budget. */
enum { DLP_DECODE_PLACEHOLDER_BYTES = 3 };

typedef enum { DLP_DECODE_PACKED, DLP_DECODE_RESIZED } dlp_decode_output;

typedef struct dlp_decode_stream_options {
    size_t batch_size;           /* rows per batch, >= 1 */
    int ring;                    /* batch buffers, >= 1 (1: workers wait while the consumer holds a batch) */
    dlp_decode_output output;
    int pinned_device;           /* PACKED: >= 0: page-locked buffers for DMA to this GPU (backend/pinned.h) */
    /* PACKED: the most bytes a batch's packed pixels take (its buffer never
     * grows past it), >= DLP_DECODE_PLACEHOLDER_BYTES; 0: the default. */
    size_t packed_budget_bytes;
    /* The network input, how to resize and normalize into it: RESIZED
     * rows, and PACKED rows past the budget. */
    int out_h, out_w;
    dlp_resize resize;
    dlp_normalize normalize;
    /* PACKED only: a JPEG that image/jpeg_coefficients.h covers is read
     * only as far as its coefficients, which go into the batch as a record
     * (image/jpeg_record.h) for the device to finish (the batch's layout
     * then has jobs); any other file, and a JPEG the reader refuses, is
     * decoded as before. The same pixels either way. */
    bool jpeg_split;
    /* RESIZED only: then each input value v becomes (float)(v * scale + offset) (dlp apply's scale:A,B). */
    bool affine;
    double scale, offset;
    /* Optional: where the batch buffers come from and go back to (the
     * caller's, kept across streams: ml/pinned_cache.h); NULL: allocated
     * and freed with the stream. */
    dlp_pinned_cache *buffer_cache;
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
     * (layout.count == network_count; packed holds layout.total_bytes).
     * With jpeg_split, some are records, their images' offsets past
     * total_bytes (image/pack.h, image/jpeg_record.h). */
    uint8_t *packed;
    dlp_image_pack_layout layout;
    size_t packed_capacity;     /* bytes allocated at packed: at most the budget */
    /* PACKED: the network rows past the budget, resized on the CPU:
     * network indices cpu_rows[k] (increasing), their inputs cpu_input
     * (cpu_count x out_h x out_w x 3 floats, in that order), each a 1x1
     * placeholder in the layout. Page-locked like packed (room for
     * batch_size inputs, allocated on a buffer's first such row). */
    size_t cpu_count;
    size_t *cpu_rows;
    float *cpu_input;
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
 * Fails only when out of memory for a batch's packed buffer or CPU-resized inputs. */
dlp_status dlp_decode_stream_next(dlp_decode_stream *stream, dlp_decoded_batch **batch);

/* Gives a batch's buffer back to the workers (its pointers become invalid). */
void dlp_decode_stream_release(dlp_decode_stream *stream, dlp_decoded_batch *batch);

/* Stops the workers (a row being decoded is finished first), waits for
 * them and frees everything; fine at any point, and on NULL. */
void dlp_decode_stream_destroy(dlp_decode_stream *stream);

#endif

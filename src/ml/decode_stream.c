/* decode_stream.c: rows -> a ring of decoded batches (decode_stream.h).
 * One mutex guards the hand-over of buffers; the rows themselves are
 * decoded without it. Rows of batch b go to buffer b % ring, which holds
 * batch b once the consumer has released batch b - ring. Workers take rows
 * in increasing order, so a worker waits only for a batch older than its
 * own, whose rows are all taken by workers that do not wait: the ring
 * always drains.
 *
 * PACKED buffers keep to a byte budget: each image reserves its bytes of
 * its batch's budget before decoding (a compare-and-swap, so concurrent
 * workers never pass it) and the buffer never grows past it. Which images
 * miss the budget depends on the workers' timing; their inputs do not, since
 * the CPU resize is the GPU kernel's exact twin. */
#include "ml/decode_stream.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/pinned.h"
#include "core/sha256.h"
#include "core/status.h"
#include "image/image_internal.h"
#include "image/jpeg_record.h"

typedef struct ring_buffer {
    dlp_decoded_batch view;     /* what the consumer is given */
    size_t batch;               /* the batch it holds, or will once released */
    size_t done;                /* rows of that batch finished (under the mutex) */
    bool held;                  /* by the consumer */
    bool *decoded;              /* per slot: decoded for the network */
    /* PACKED: every image reserves [offset, offset + bytes) of the batch's
     * budget (packed_used, which never passes budget - placeholder). It is
     * decoded there when the buffer reaches that far, else on the heap
     * (spilled) and copied there when the batch is finished, the buffer
     * grown (at most to the budget). The first worker to need room
     * allocates the buffer, for batch_size images the size of its own (plus
     * headroom), at most the budget. An image whose reservation fails is
     * resized on the CPU into its slot of view.cpu_input (allocated by the
     * first such image; NULL then: out of memory, reported by the consumer). */
    atomic_bool packed_allocated;
    pthread_mutex_t allocating;  /* both lazy allocations */
    bool packed_pinned;
    atomic_size_t packed_used;
    uint64_t *slot_offsets;
    int32_t *slot_heights, *slot_widths;
    dlp_image *spilled;
    bool *resized_on_cpu;        /* per slot */
    /* jpeg_split, per slot: the slot's reserved bytes hold a record (from
     * the 16-byte aligned slot offset), or will once its coefficients,
     * read onto the heap, are copied there (spilled_jpeg, like spilled). */
    bool *jpeg_record;
    dlp_jpeg_coefficients *spilled_jpeg;
    atomic_bool cpu_input_allocated;
    bool cpu_input_pinned;
} ring_buffer;

struct dlp_decode_stream {
    dlp_thread_pool *pool;
    const dlp_dataset *dataset;
    size_t first, count, batch_count;
    dlp_decode_stream_options options;
    size_t image_floats;        /* floats per network input */
    size_t packed_budget;       /* PACKED: bytes per batch, placeholder included */
    ring_buffer *ring;
    int ring_size;
    size_t next_batch;          /* the consumer's next */
    pthread_mutex_t mutex;
    pthread_cond_t buffer_free; /* workers wait here for their batch's buffer */
    pthread_cond_t batch_done;  /* the consumer waits here for a batch */
    atomic_bool stopping;
    pthread_t driver;           /* runs the pool's loop over the rows */
    bool driver_started;
};

/* ---- The workers ---- */

typedef struct room_request {
    const dlp_decode_stream *stream;
    ring_buffer *buffer;
    size_t slot;
    size_t offset;              /* where take_room reserved the bytes */
    bool over_budget;           /* set by take_room */
} room_request;

/* bytes (at most the budget) plus a quarter of headroom, capped at the
 * budget: the size the packed buffer is allocated or grown to. */
static size_t with_headroom(const dlp_decode_stream *stream, size_t bytes)
{
    size_t budget = stream->packed_budget;
    return bytes > budget - bytes / 4 ? budget : bytes + bytes / 4;
}

/* Once per buffer: most datasets' images are alike, so a batch of them
 * then decodes in place from the first batch on. Failure leaves capacity 0
 * (everything spills; the consumer's growing reports it). */
static void allocate_packed(const dlp_decode_stream *stream, ring_buffer *buffer, size_t image_bytes)
{
    pthread_mutex_lock(&buffer->allocating);
    if (!atomic_load_explicit(&buffer->packed_allocated, memory_order_acquire)) {
        size_t budget = stream->packed_budget, batch_size = stream->options.batch_size;
        size_t capacity = with_headroom(stream, image_bytes > budget / batch_size ? budget : batch_size * image_bytes);
        buffer->view.packed = dlp_pinned_cache_alloc(stream->options.buffer_cache, capacity,
                                                     stream->options.pinned_device, &buffer->packed_pinned);
        buffer->view.packed_capacity = buffer->view.packed ? capacity : 0;
        atomic_store_explicit(&buffer->packed_allocated, true, memory_order_release);
    }
    pthread_mutex_unlock(&buffer->allocating);
}

/* Reserves bytes of the batch's budget at *offset; false when they would
 * take it past the budget (less the placeholder's bytes). */
static bool reserve_packed(const dlp_decode_stream *stream, ring_buffer *buffer, size_t bytes, size_t *offset)
{
    size_t limit = stream->packed_budget - DLP_DECODE_PLACEHOLDER_BYTES;
    size_t used = atomic_load(&buffer->packed_used);
    do {
        if (bytes > limit - used) return false;
    } while (!atomic_compare_exchange_weak(&buffer->packed_used, &used, used + bytes));
    *offset = used;
    return true;
}

/* Reserves bytes of the batch's budget from a multiple of align (the bytes
 * skipped to get there come out of the budget too) at request->offset: the
 * room there if the packed buffer reaches it, else NULL (spilled; or over
 * budget, request->over_budget set). */
static uint8_t *take_room(room_request *request, size_t bytes, size_t align)
{
    ring_buffer *buffer = request->buffer;
    size_t offset = 0;
    if (!reserve_packed(request->stream, buffer, bytes + align - 1, &offset)) {
        request->over_budget = true;
        return NULL;
    }
    offset = (offset + align - 1) / align * align;
    request->offset = offset;
    if (!atomic_load_explicit(&buffer->packed_allocated, memory_order_acquire))
        allocate_packed(request->stream, buffer, bytes);
    size_t capacity = buffer->view.packed_capacity;
    if (offset > capacity || bytes > capacity - offset) return NULL;
    return buffer->view.packed + offset;
}

/* dlp_pixel_room.take: an image's pixels, at its slot's offset. */
static uint8_t *take_packed_room(void *context, int width, int height)
{
    room_request *request = context;
    uint8_t *room = take_room(request, (size_t)width * (size_t)height * 3, 1);
    if (!request->over_budget) request->buffer->slot_offsets[request->slot] = request->offset;
    return room;
}

/* dlp_jpeg_room.take: a JPEG's record (image/jpeg_record.h), its blocks'
 * room after the header. */
static int16_t *take_record_room(void *context, size_t blocks)
{
    uint8_t *record = take_room(context, DLP_JPEG_RECORD_HEADER + blocks * 64 * sizeof(int16_t), DLP_JPEG_RECORD_ALIGN);
    return record ? (int16_t *)(void *)(record + DLP_JPEG_RECORD_HEADER) : NULL;
}

/* image resized and normalized to the network input, as the GPU kernel
 * would from its packed pixels (dlp_image_resize_float is its twin). */
static dlp_status resize_image(const dlp_decode_stream *stream, const dlp_image *image, float *out)
{
    const dlp_decode_stream_options *o = &stream->options;
    DLP_TRY(dlp_image_resize_float(image, o->out_h, o->out_w, o->resize, o->normalize, out));
    if (o->affine)
        for (size_t i = 0; i < stream->image_floats; i++) out[i] = (float)(out[i] * o->scale + o->offset);
    return DLP_OK;
}

/* Once per buffer, on its first image past the budget: room for a whole
 * batch of inputs, pinned like the packed buffer so that the copy to the
 * device stays asynchronous (from pageable memory CUDA may block the host
 * until the stream reaches the copy). Failure leaves it NULL. */
static void allocate_cpu_input(const dlp_decode_stream *stream, ring_buffer *buffer)
{
    pthread_mutex_lock(&buffer->allocating);
    if (!atomic_load_explicit(&buffer->cpu_input_allocated, memory_order_acquire)) {
        size_t bytes = stream->options.batch_size * stream->image_floats * sizeof(float);
        buffer->view.cpu_input = dlp_pinned_cache_alloc(stream->options.buffer_cache, bytes,
                                                        stream->options.pinned_device, &buffer->cpu_input_pinned);
        atomic_store_explicit(&buffer->cpu_input_allocated, true, memory_order_release);
    }
    pthread_mutex_unlock(&buffer->allocating);
}

/* An image past the budget (decoded on the heap): its input into its slot
 * of cpu_input, a 1x1 placeholder in the packed layout. */
static dlp_status resize_on_cpu(const dlp_decode_stream *stream, ring_buffer *buffer, size_t slot, dlp_image *image)
{
    if (!atomic_load_explicit(&buffer->cpu_input_allocated, memory_order_acquire))
        allocate_cpu_input(stream, buffer);
    dlp_status status = DLP_OK;
    if (buffer->view.cpu_input)
        status = resize_image(stream, image, buffer->view.cpu_input + slot * stream->image_floats);
    dlp_image_free(image);
    buffer->slot_heights[slot] = 1;
    buffer->slot_widths[slot] = 1;
    buffer->resized_on_cpu[slot] = true;
    return status;
}

/* jpeg_split: a JPEG the coefficient reader covers becomes a record (its
 * blocks read straight into the packed buffer where it reaches them, else
 * kept as spilled): true. False (nothing kept; a reservation the reader
 * took is left unused) for every other file, and for a record past the
 * budget: those decode as usual (TurboJPEG's decode, then the CPU resize
 * where the pixels miss the budget too; rare, and faster than the scalar
 * reconstruction). */
static bool split_jpeg(const dlp_decode_stream *stream, ring_buffer *buffer, size_t slot, const uint8_t *bytes,
                       size_t size)
{
    if (size < 2 || bytes[0] != 0xFF || bytes[1] != 0xD8) return false;
    room_request request = {stream, buffer, slot, 0, false};
    dlp_jpeg_room room = {take_record_room, &request};
    dlp_jpeg_coefficients coefficients;
    if (dlp_jpeg_read_coefficients_into(bytes, size, &room, &coefficients) != DLP_OK) return false;
    if (request.over_budget) {
        dlp_jpeg_coefficients_free(&coefficients);
        return false;
    }
    dlp_jpeg_layout layout;
    dlp_jpeg_layout_of(&coefficients, &layout);
    if (coefficients.in_room) {
        dlp_jpeg_record_write(&coefficients, &layout, buffer->view.packed + request.offset);
        dlp_jpeg_coefficients_free(&coefficients);
    } else {
        buffer->spilled_jpeg[slot] = coefficients;
    }
    buffer->slot_offsets[slot] = request.offset;
    buffer->slot_heights[slot] = layout.height;
    buffer->slot_widths[slot] = layout.width;
    buffer->jpeg_record[slot] = true;
    return true;
}

static dlp_status decode_packed(const dlp_decode_stream *stream, ring_buffer *buffer, size_t slot,
                                const uint8_t *bytes, size_t size)
{
    if (stream->options.jpeg_split && split_jpeg(stream, buffer, slot, bytes, size)) return DLP_OK;
    room_request request = {stream, buffer, slot, 0, false};
    dlp_pixel_room room = {take_packed_room, &request};
    dlp_image image;
    bool in_room = false;
    DLP_TRY(dlp_image_decode_into(bytes, size, &room, &image, &in_room));
    if (request.over_budget) return resize_on_cpu(stream, buffer, slot, &image);
    buffer->slot_heights[slot] = image.height;
    buffer->slot_widths[slot] = image.width;
    if (!in_room) buffer->spilled[slot] = image;
    return DLP_OK;
}

static dlp_status decode_resized(const dlp_decode_stream *stream, ring_buffer *buffer, size_t slot,
                                 const uint8_t *bytes, size_t size)
{
    dlp_image image;
    DLP_TRY(dlp_image_decode(bytes, size, &image));
    dlp_status status = resize_image(stream, &image, buffer->view.input + slot * stream->image_floats);
    dlp_image_free(&image);
    return status;
}

static void prepare_row(dlp_decode_stream *stream, ring_buffer *buffer, size_t slot)
{
    dlp_decoded_batch *view = &buffer->view;
    size_t row_index = view->first + slot;
    view->status[slot] = DLP_OK;
    view->message[slot][0] = 0;
    view->content_key[slot][0] = 0;
    view->cache_hit[slot] = false;
    buffer->decoded[slot] = false;
    if (buffer->resized_on_cpu) buffer->resized_on_cpu[slot] = false;
    if (buffer->jpeg_record) buffer->jpeg_record[slot] = false;
    dlp_row row;
    /* A row that failed before keeps its first error. */
    if (dlp_dataset_row(stream->dataset, row_index, &row) != DLP_OK || row.status != DLP_OK) return;
    uint8_t *bytes = NULL;
    size_t size = 0;
    dlp_status status = dlp_image_read_file(row.origin, &bytes, &size);
    if (status == DLP_OK) {
        const dlp_decode_stream_options *o = &stream->options;
        if (o->hash) {
            dlp_sha256_hex(bytes, size, view->content_key[slot]);
            if (o->lookup && o->lookup(o->lookup_context, view->content_key[slot], row_index)) {
                view->cache_hit[slot] = true;
                free(bytes);
                return;
            }
        }
        status = o->output == DLP_DECODE_PACKED ? decode_packed(stream, buffer, slot, bytes, size)
                                                : decode_resized(stream, buffer, slot, bytes, size);
        free(bytes);
        if (status != DLP_OK) dlp_fail_context(status, "%s", row.origin);
    }
    if (status == DLP_OK) {
        buffer->decoded[slot] = true;
    } else {
        view->status[slot] = status;
        snprintf(view->message[slot], DLP_DECODE_MESSAGE_CAPACITY, "%s", dlp_last_error());
    }
}

/* The buffer of batch once it holds it; NULL when the stream is stopping. */
static ring_buffer *wait_for_buffer(dlp_decode_stream *stream, size_t batch)
{
    ring_buffer *buffer = &stream->ring[batch % (size_t)stream->ring_size];
    pthread_mutex_lock(&stream->mutex);
    while (!atomic_load(&stream->stopping) && buffer->batch != batch)
        pthread_cond_wait(&stream->buffer_free, &stream->mutex);
    pthread_mutex_unlock(&stream->mutex);
    return atomic_load(&stream->stopping) ? NULL : buffer;
}

static void finish_row(dlp_decode_stream *stream, ring_buffer *buffer)
{
    pthread_mutex_lock(&stream->mutex);
    if (++buffer->done == buffer->view.count) pthread_cond_signal(&stream->batch_done);
    pthread_mutex_unlock(&stream->mutex);
}

static void decode_row(void *context, size_t index, int worker)
{
    (void)worker;
    dlp_decode_stream *stream = context;
    if (atomic_load(&stream->stopping)) return;
    ring_buffer *buffer = wait_for_buffer(stream, index / stream->options.batch_size);
    if (!buffer) return;
    prepare_row(stream, buffer, index % stream->options.batch_size);
    finish_row(stream, buffer);
}

static void *drive_workers(void *context)
{
    dlp_decode_stream *stream = context;
    dlp_thread_pool_run(stream->pool, stream->count, decode_row, stream);
    return NULL;
}

/* ---- The ring ---- */

/* Points buffer at batch (rows, counters); past the last batch it idles. */
static void assign_batch(dlp_decode_stream *stream, ring_buffer *buffer, size_t batch)
{
    size_t size = stream->options.batch_size;
    buffer->batch = batch;
    buffer->done = 0;
    buffer->view.first = stream->first + batch * size;
    size_t left = batch < stream->batch_count ? stream->count - batch * size : 0;
    buffer->view.count = left < size ? left : size;
    atomic_store(&buffer->packed_used, 0);
}

static void free_spilled(ring_buffer *buffer, size_t batch_size)
{
    for (size_t slot = 0; buffer->spilled && slot < batch_size; slot++) dlp_image_free(&buffer->spilled[slot]);
    for (size_t slot = 0; buffer->spilled_jpeg && slot < batch_size; slot++)
        dlp_jpeg_coefficients_free(&buffer->spilled_jpeg[slot]);
}

static void free_buffer(ring_buffer *buffer, size_t batch_size, dlp_pinned_cache *cache)
{
    dlp_decoded_batch *view = &buffer->view;
    free_spilled(buffer, batch_size);
    free(buffer->spilled);
    free(buffer->spilled_jpeg);
    free(buffer->jpeg_record);
    free(buffer->slot_offsets);
    free(buffer->slot_heights);
    free(buffer->slot_widths);
    free(buffer->resized_on_cpu);
    free(buffer->decoded);
    dlp_pinned_cache_free(cache, view->packed, buffer->packed_pinned);
    dlp_pinned_cache_free(cache, view->cpu_input, buffer->cpu_input_pinned);
    free(view->cpu_rows);
    pthread_mutex_destroy(&buffer->allocating);
    dlp_image_pack_layout_free(&view->layout);
    free(view->network_slots);
    dlp_pinned_cache_free(cache, view->input, false);
    free(view->status);
    free(view->message);
    free(view->content_key);
    free(view->cache_hit);
}

static dlp_status alloc_buffer(const dlp_decode_stream *stream, ring_buffer *buffer, int index)
{
    size_t n = stream->options.batch_size;
    dlp_decoded_batch *view = &buffer->view;
    view->buffer = index;
    view->network_slots = calloc(n, sizeof *view->network_slots);
    view->status = calloc(n, sizeof *view->status);
    view->message = calloc(n, sizeof *view->message);
    view->content_key = calloc(n, sizeof *view->content_key);
    view->cache_hit = calloc(n, sizeof *view->cache_hit);
    buffer->decoded = calloc(n, sizeof *buffer->decoded);
    bool ok = view->network_slots && view->status && view->message && view->content_key && view->cache_hit &&
              buffer->decoded;
    if (stream->options.output == DLP_DECODE_PACKED) {
        buffer->slot_offsets = calloc(n, sizeof *buffer->slot_offsets);
        buffer->slot_heights = calloc(n, sizeof *buffer->slot_heights);
        buffer->slot_widths = calloc(n, sizeof *buffer->slot_widths);
        buffer->spilled = calloc(n, sizeof *buffer->spilled);
        buffer->resized_on_cpu = calloc(n, sizeof *buffer->resized_on_cpu);
        view->cpu_rows = calloc(n, sizeof *view->cpu_rows);
        view->layout.offsets = calloc(n, sizeof *view->layout.offsets);
        view->layout.heights = calloc(n, sizeof *view->layout.heights);
        view->layout.widths = calloc(n, sizeof *view->layout.widths);
        ok = ok && buffer->slot_offsets && buffer->slot_heights && buffer->slot_widths && buffer->spilled &&
             buffer->resized_on_cpu && view->cpu_rows && view->layout.offsets && view->layout.heights &&
             view->layout.widths;
        if (stream->options.jpeg_split) {
            buffer->jpeg_record = calloc(n, sizeof *buffer->jpeg_record);
            buffer->spilled_jpeg = calloc(n, sizeof *buffer->spilled_jpeg);
            view->layout.jpeg_jobs = calloc(n, sizeof *view->layout.jpeg_jobs);
            ok = ok && buffer->jpeg_record && buffer->spilled_jpeg && view->layout.jpeg_jobs;
        }
    } else {
        bool pinned = false; /* the CPU's (a GPU with --cpu-preprocess uploads it from pageable memory) */
        view->input = dlp_pinned_cache_alloc(stream->options.buffer_cache, n * stream->image_floats * sizeof(float),
                                             -1, &pinned);
        ok = ok && view->input;
    }
    if (!ok) return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "featurize: cannot allocate a batch of %zu images", n);
    return DLP_OK;
}

/* ---- The consumer ---- */

static dlp_status grow_packed(const dlp_decode_stream *stream, ring_buffer *buffer, size_t keep, size_t capacity)
{
    bool pinned = false;
    uint8_t *grown = dlp_pinned_cache_alloc(stream->options.buffer_cache, capacity, stream->options.pinned_device,
                                            &pinned);
    if (!grown)
        return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "featurize: cannot allocate %zu bytes for packed images", capacity);
    if (keep) memcpy(grown, buffer->view.packed, keep);
    dlp_pinned_cache_free(stream->options.buffer_cache, buffer->view.packed, buffer->packed_pinned);
    buffer->view.packed = grown;
    buffer->packed_pinned = pinned;
    buffer->view.packed_capacity = capacity;
    atomic_store(&buffer->packed_allocated, true);
    return DLP_OK;
}

/* Room for total bytes (at most the budget), with headroom up to the budget
 * so that the next batches in this buffer decode in place. */
static dlp_status make_packed_room(const dlp_decode_stream *stream, ring_buffer *buffer, size_t total)
{
    size_t capacity = buffer->view.packed_capacity;
    if (total <= capacity) return DLP_OK;
    return grow_packed(stream, buffer, capacity, with_headroom(stream, total));
}

static void clear_jobs(dlp_image_pack_layout *layout)
{
    layout->jpeg_count = 0;
    layout->reconstructed_bytes = layout->jpeg_blocks = layout->jpeg_pixels = layout->jpeg_samples = 0;
}

/* A record's job, after the batch's others: its spilled coefficients
 * written to its reserved bytes first. Returns its image's offset: past the
 * packed bytes (total), in the reconstruction area. */
static uint64_t add_job(ring_buffer *buffer, size_t slot, size_t total, dlp_image_pack_layout *layout)
{
    uint8_t *record = buffer->view.packed + buffer->slot_offsets[slot];
    dlp_jpeg_coefficients *spilled = &buffer->spilled_jpeg[slot];
    if (spilled->component[0].blocks) {
        dlp_jpeg_layout of;
        dlp_jpeg_layout_of(spilled, &of);
        dlp_jpeg_record_write(spilled, &of, record);
        dlp_jpeg_coefficients_free(spilled);
    }
    const dlp_jpeg_layout *jpeg = &((const dlp_jpeg_record *)(const void *)record)->layout;
    dlp_jpeg_job *job = &layout->jpeg_jobs[layout->jpeg_count++];
    *job = (dlp_jpeg_job){.record = buffer->slot_offsets[slot], .rgb = total + layout->reconstructed_bytes,
                          .samples = layout->jpeg_samples, .first_block = layout->jpeg_blocks,
                          .first_pixel = layout->jpeg_pixels};
    size_t pixels = (size_t)jpeg->width * (size_t)jpeg->height;
    layout->reconstructed_bytes += pixels * 3;
    layout->jpeg_samples += jpeg->total_samples;
    layout->jpeg_blocks += jpeg->total_blocks;
    layout->jpeg_pixels += pixels;
    return job->rgb;
}

/* Copies the spilled images to their reserved offsets, puts the placeholder
 * (one black pixel) after the reserved bytes when a row was resized on the
 * CPU, and lays out the network rows. */
static dlp_status pack_network_rows(const dlp_decode_stream *stream, ring_buffer *buffer)
{
    dlp_decoded_batch *view = &buffer->view;
    size_t used = atomic_load(&buffer->packed_used), placeholder = used;
    view->cpu_count = 0;
    for (size_t i = 0; i < view->network_count; i++)
        if (buffer->resized_on_cpu[view->network_slots[i]]) view->cpu_rows[view->cpu_count++] = i;
    if (view->cpu_count && !view->cpu_input)
        return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "featurize: cannot allocate %zu bytes for images resized on the CPU",
                        stream->options.batch_size * stream->image_floats * sizeof(float));
    size_t total = used + (view->cpu_count ? DLP_DECODE_PLACEHOLDER_BYTES : 0);
    DLP_TRY(make_packed_room(stream, buffer, total));
    if (view->cpu_count) memset(view->packed + placeholder, 0, DLP_DECODE_PLACEHOLDER_BYTES);
    clear_jobs(&view->layout);
    for (size_t i = 0; i < view->network_count; i++) {
        size_t slot = view->network_slots[i];
        dlp_image *image = &buffer->spilled[slot];
        if (image->pixels) {
            memcpy(view->packed + buffer->slot_offsets[slot], image->pixels,
                   (size_t)image->width * (size_t)image->height * 3);
            dlp_image_free(image);
        }
        view->layout.offsets[i] = buffer->resized_on_cpu[slot] ? placeholder : buffer->slot_offsets[slot];
        view->layout.heights[i] = buffer->slot_heights[slot];
        view->layout.widths[i] = buffer->slot_widths[slot];
        if (buffer->jpeg_record && buffer->jpeg_record[slot])
            view->layout.offsets[i] = add_job(buffer, slot, total, &view->layout);
    }
    view->layout.count = view->network_count;
    view->layout.total_bytes = total;
    return DLP_OK;
}

/* The inputs of the rows resized on the CPU to the front, in order. */
static void gather_cpu_input(const dlp_decode_stream *stream, dlp_decoded_batch *view)
{
    size_t floats = stream->image_floats;
    for (size_t k = 0; k < view->cpu_count; k++) {
        size_t slot = view->network_slots[view->cpu_rows[k]];
        if (slot != k) memcpy(view->cpu_input + k * floats, view->cpu_input + slot * floats, floats * sizeof(float));
    }
}

static dlp_status finish_batch(const dlp_decode_stream *stream, ring_buffer *buffer)
{
    dlp_decoded_batch *view = &buffer->view;
    view->network_count = 0;
    for (size_t slot = 0; slot < view->count; slot++)
        if (buffer->decoded[slot]) view->network_slots[view->network_count++] = slot;
    if (stream->options.output == DLP_DECODE_PACKED) {
        DLP_TRY(pack_network_rows(stream, buffer));
        gather_cpu_input(stream, view);
        return DLP_OK;
    }
    /* The network inputs to the front, in order. */
    size_t floats = stream->image_floats;
    for (size_t i = 0; i < view->network_count; i++)
        if (view->network_slots[i] != i)
            memcpy(view->input + i * floats, view->input + view->network_slots[i] * floats, floats * sizeof(float));
    return DLP_OK;
}

dlp_status dlp_decode_stream_next(dlp_decode_stream *stream, dlp_decoded_batch **batch)
{
    *batch = NULL;
    if (stream->next_batch >= stream->batch_count) return DLP_OK;
    ring_buffer *buffer = &stream->ring[stream->next_batch % (size_t)stream->ring_size];
    pthread_mutex_lock(&stream->mutex);
    bool held = buffer->held;
    while (!held && buffer->done < buffer->view.count) pthread_cond_wait(&stream->batch_done, &stream->mutex);
    buffer->held = true;
    pthread_mutex_unlock(&stream->mutex);
    if (held)
        return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "decode stream: all %d buffers are held; release a batch first",
                        stream->ring_size);
    stream->next_batch++;
    DLP_TRY(finish_batch(stream, buffer));
    *batch = &buffer->view;
    return DLP_OK;
}

void dlp_decode_stream_release(dlp_decode_stream *stream, dlp_decoded_batch *batch)
{
    ring_buffer *buffer = &stream->ring[batch->buffer];
    pthread_mutex_lock(&stream->mutex);
    buffer->held = false;
    assign_batch(stream, buffer, buffer->batch + (size_t)stream->ring_size);
    pthread_cond_broadcast(&stream->buffer_free);
    pthread_mutex_unlock(&stream->mutex);
}

dlp_status dlp_decode_stream_start(dlp_thread_pool *pool, const dlp_dataset *dataset, size_t first, size_t count,
                                   const dlp_decode_stream_options *options, dlp_decode_stream **out)
{
    *out = NULL;
    if (options->batch_size == 0 || options->ring < 1)
        return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "decode stream: batch size %zu and ring %d, expected >= 1 each",
                        options->batch_size, options->ring);
    if (options->out_h < 1 || options->out_w < 1)
        return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "decode stream: network input %dx%d, expected >= 1 a side",
                        options->out_h, options->out_w);
    if (options->jpeg_split && options->output != DLP_DECODE_PACKED)
        return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "decode stream: the JPEG split needs PACKED output");
    if (options->affine && options->output != DLP_DECODE_RESIZED)
        return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "decode stream: an affine input map needs RESIZED output");
    if (options->packed_budget_bytes && options->packed_budget_bytes < DLP_DECODE_PLACEHOLDER_BYTES)
        return dlp_fail(DLP_ERR_INVALID_ARGUMENT,
                        "decode stream: packed budget of %zu bytes, expected 0 (default) or >= %d",
                        options->packed_budget_bytes, (int)DLP_DECODE_PLACEHOLDER_BYTES);
    dlp_decode_stream *stream = calloc(1, sizeof *stream);
    if (!stream) return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "out of memory");
    stream->pool = pool;
    stream->dataset = dataset;
    stream->first = first;
    stream->count = count;
    stream->batch_count = (count + options->batch_size - 1) / options->batch_size;
    stream->options = *options;
    stream->image_floats = (size_t)options->out_h * (size_t)options->out_w * 3;
    stream->packed_budget =
        options->packed_budget_bytes ? options->packed_budget_bytes : DLP_DECODE_DEFAULT_PACKED_BUDGET;
    stream->ring_size = stream->batch_count < (size_t)options->ring ? (int)stream->batch_count : options->ring;
    if (stream->ring_size < 1) stream->ring_size = 1;
    pthread_mutex_init(&stream->mutex, NULL);
    pthread_cond_init(&stream->buffer_free, NULL);
    pthread_cond_init(&stream->batch_done, NULL);
    atomic_init(&stream->stopping, false);
    dlp_status status = DLP_OK;
    stream->ring = calloc((size_t)stream->ring_size, sizeof *stream->ring);
    if (!stream->ring) status = dlp_fail(DLP_ERR_OUT_OF_MEMORY, "out of memory");
    for (int i = 0; status == DLP_OK && i < stream->ring_size; i++) {
        atomic_init(&stream->ring[i].packed_used, 0);
        atomic_init(&stream->ring[i].packed_allocated, false);
        atomic_init(&stream->ring[i].cpu_input_allocated, false);
        pthread_mutex_init(&stream->ring[i].allocating, NULL);
    }
    for (int i = 0; status == DLP_OK && i < stream->ring_size; i++) {
        status = alloc_buffer(stream, &stream->ring[i], i);
        assign_batch(stream, &stream->ring[i], (size_t)i);
    }
    if (status == DLP_OK) {
        if (pthread_create(&stream->driver, NULL, drive_workers, stream) == 0)
            stream->driver_started = true;
        else
            status = dlp_fail(DLP_ERR_OUT_OF_MEMORY, "decode stream: cannot start a thread");
    }
    if (status != DLP_OK) {
        dlp_decode_stream_destroy(stream);
        return status;
    }
    *out = stream;
    return DLP_OK;
}

void dlp_decode_stream_destroy(dlp_decode_stream *stream)
{
    if (!stream) return;
    atomic_store(&stream->stopping, true);
    pthread_mutex_lock(&stream->mutex);
    pthread_cond_broadcast(&stream->buffer_free);
    pthread_mutex_unlock(&stream->mutex);
    if (stream->driver_started) pthread_join(stream->driver, NULL);
    for (int i = 0; stream->ring && i < stream->ring_size; i++)
        free_buffer(&stream->ring[i], stream->options.batch_size, stream->options.buffer_cache);
    free(stream->ring);
    pthread_cond_destroy(&stream->buffer_free);
    pthread_cond_destroy(&stream->batch_done);
    pthread_mutex_destroy(&stream->mutex);
    free(stream);
}

/* The featurizer's decode stream (src/ml/decode_stream.h) and the batch
 * runner on top of it (src/ml/batch_runner.h).
 * The stream: every row of the
 * range comes back once, in order, in its batch; decoded pixels (PACKED) are
 * TensorFlow's (the .rgb fixtures of tests/oracle/image_oracle.py) wherever
 * the stream put them (in place or spilled and copied); resized inputs
 * (RESIZED) are dlp_image_resize_float of those pixels; missing and
 * non-image and truncated files fail with their path, rows that failed
 * before are left alone, cache lookups skip decoding. With a packed budget
 * of a few images (or none), however the workers race: each batch's packed
 * total and buffer stay within the budget, the rows past it come resized on
 * the CPU, bit for bit dlp_image_resize_float of TensorFlow's pixels, each
 * with a 1x1 placeholder in the layout, the others as before. Batch sizes, ring sizes, thread counts
 * and how many batches the consumer holds vary; stopping early leaks
 * nothing (ASan) and never hangs. The affine map after resizing (dlp apply's
 * scale:A,B) gives (float)(v * scale + offset) of each input exactly, and
 * is refused with PACKED output. The buffer cache (ml/pinned_cache.h) hands
 * blocks back by its size rule and trims its idle ones; streams run again
 * and again on one cache take their buffers from it and stay right.
 * The runner, on the CPU backend with a one-op network (global average
 * pooling, so each output is the mean of the row's resized input): with two
 * batches in flight or one at a time, every good row's output equals the mean
 * of dlp_image_resize_float of TensorFlow's pixels (1e-6), batches land in
 * order with progress after each, the new failures are on the dataset after
 * the run, earlier ones unchanged; two in flight on a ring of 1 is refused.
 * The same with PACKED batches on that CPU backend given the CUDA backend's
 * image hooks (a packed batch staged, resized with dlp_image_resize_float,
 * then the rows resized on the CPU written over theirs), with the default
 * budget and with budgets that send some or all rows to the CPU resize.
 * The JPEG split (jpeg_split): the JPEGs the coefficient reader covers come
 * as records, the rest as pixels; each batch's jobs are in order and in
 * bounds, and the records reconstructed by the host twin of the device's
 * kernels (dlp_jpeg_batch_reconstruct, their per-item code) are
 * TensorFlow's pixels byte for byte, in the stream and through the runner;
 * the runner's stream options have it with device preprocessing only, on
 * unless DLP_JPEG_SPLIT=0. */
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/sha256.h"
#include "core/status.h"
#include "dlp/dlp.h"
#include "ml/batch_runner.h"
#include "image/jpeg_record.h"
#include "ml/decode_stream.h"
#include "graph/plan_internal.h"

enum { FILE_COUNT = 6, OUT_H = 11, OUT_W = 13, MAX_HELD = 8 };

static const char *const file_names[FILE_COUNT] = {"baseline_420.jpg", "cmyk_adobe.jpg", "gray1.png",
                                                   "progressive_420.jpg", "gray_alpha16_interlaced.png", "rgba8.png"};

typedef struct reference {
    char path[1200];
    int width, height;
    uint8_t *pixels; /* TensorFlow's decode */
    float *resized;  /* OUT_H x OUT_W x 3, bilinear, tf */
    char key[65];
} reference;

static reference references[FILE_COUNT];
static char missing_path[1200], text_path[1200], truncated_path[1200];

typedef enum { ROW_GOOD, ROW_MISSING, ROW_TEXT, ROW_FAILED_BEFORE, ROW_TRUNCATED } row_kind;

static row_kind kind_of(size_t row)
{
    if (row % 17 == 16) return ROW_TRUNCATED;
    if (row % 13 == 12) return ROW_FAILED_BEFORE;
    if (row % 11 == 10) return ROW_TEXT;
    if (row % 7 == 6) return ROW_MISSING;
    return ROW_GOOD;
}

static void load_references(const char *decode_dir)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/decode.json", decode_dir);
    json_t *root = json_load_file(path, 0, NULL);
    CHECK(root != NULL);
    for (int f = 0; f < FILE_COUNT; f++) {
        reference *r = &references[f];
        snprintf(r->path, sizeof r->path, "%s/%s", decode_dir, file_names[f]);
        size_t index;
        json_t *entry;
        json_array_foreach(json_object_get(root, "files"), index, entry) {
            if (strcmp(json_string_value(json_object_get(entry, "file")), file_names[f]) != 0) continue;
            r->width = (int)json_integer_value(json_object_get(entry, "width"));
            r->height = (int)json_integer_value(json_object_get(entry, "height"));
            snprintf(path, sizeof path, "%s/%s", decode_dir, json_string_value(json_object_get(entry, "expected")));
            size_t size = 0;
            r->pixels = check_read_file(path, &size);
            CHECK(r->pixels && size == (size_t)r->width * r->height * 3);
        }
        CHECK(r->pixels != NULL);
        if (!r->pixels) continue;
        r->resized = malloc(sizeof(float) * OUT_H * OUT_W * 3);
        dlp_image image = {r->width, r->height, r->pixels};
        CHECK_OK(dlp_image_resize_float(&image, OUT_H, OUT_W, DLP_RESIZE_BILINEAR, DLP_NORMALIZE_TF, r->resized));
        CHECK_OK(dlp_sha256_file(r->path, r->key));
    }
    json_decref(root);
}

static dlp_dataset *make_dataset(size_t rows)
{
    dlp_dataset *dataset = NULL;
    CHECK_OK(dlp_dataset_create(&dataset));
    for (size_t row = 0; row < rows; row++) {
        row_kind kind = kind_of(row);
        const char *path = kind == ROW_MISSING     ? missing_path
                           : kind == ROW_TEXT      ? text_path
                           : kind == ROW_TRUNCATED ? truncated_path
                                                   : references[row % FILE_COUNT].path;
        CHECK_OK(dlp_dataset_add(dataset, path, 0));
        if (kind == ROW_FAILED_BEFORE) CHECK_OK(dlp_dataset_set_error(dataset, row, DLP_ERR_IO, "failed before"));
    }
    return dataset;
}

static bool looked_up(void *context, const char *content_key, size_t row)
{
    (void)context;
    (void)content_key;
    return row % 5 == 0 && kind_of(row) == ROW_GOOD; /* a cache only holds what was decoded once */
}

typedef struct run_config {
    dlp_decode_output output;
    size_t rows, first, count, batch_size;
    int ring, threads, hold; /* hold: batches the consumer keeps before releasing the oldest */
    bool hash;
    size_t budget;           /* PACKED: packed_budget_bytes (0: the default) */
    dlp_pinned_cache *cache; /* the buffers' (NULL: none) */
    bool split;              /* PACKED: jpeg_split */
} run_config;

typedef struct run_tally {
    size_t rows_seen, next_first, wrong;
    size_t packed_rows, cpu_rows; /* PACKED network rows shipped as pixels / resized on the CPU */
    size_t records;               /* of packed_rows, JPEGs shipped as records (jpeg_split) */
    /* The batch being checked as the device would see it: the packed bytes,
     * then the records' RGB8 as dlp_jpeg_batch_reconstruct makes it. */
    uint8_t *pixels;
    size_t span;
} run_tally;

static const size_t image_floats = (size_t)OUT_H * OUT_W * 3;

/* Network row i of a PACKED batch: its pixels in the packed buffer, or
 * (when it is the next of cpu_rows) a placeholder and its input resized on
 * the CPU. */
static bool packed_row_is_right(const dlp_decoded_batch *b, size_t i, const reference *r, size_t *cpu_index,
                                run_tally *tally)
{
    if (*cpu_index < b->cpu_count && b->cpu_rows[*cpu_index] == i) {
        size_t k = (*cpu_index)++;
        tally->cpu_rows++;
        return b->layout.widths[i] == 1 && b->layout.heights[i] == 1 &&
               b->layout.offsets[i] + 3 <= b->layout.total_bytes &&
               memcmp(b->cpu_input + k * image_floats, r->resized, sizeof(float) * image_floats) == 0;
    }
    tally->packed_rows++;
    tally->records += b->layout.offsets[i] >= b->layout.total_bytes;
    size_t bytes = (size_t)r->width * r->height * 3;
    return b->layout.widths[i] == r->width && b->layout.heights[i] == r->height &&
           b->layout.offsets[i] + bytes <= tally->span && memcmp(tally->pixels + b->layout.offsets[i], r->pixels, bytes) == 0;
}

/* A packed batch as the device holds it once staged: its packed bytes,
 * then its records' RGB8 as the stage's kernels make it (their host twin);
 * total_bytes + reconstructed_bytes long. */
static uint8_t *as_staged(const uint8_t *packed, const dlp_image_pack_layout *layout)
{
    size_t span = layout->total_bytes + layout->reconstructed_bytes;
    uint8_t *pixels = malloc(span ? span : 1);
    if (!pixels) return NULL;
    if (layout->total_bytes) memcpy(pixels, packed, layout->total_bytes);
    CHECK_OK(dlp_jpeg_batch_reconstruct(packed, layout, pixels));
    return pixels;
}

/* The records' jobs: in order, each record aligned and inside the packed
 * bytes, its image in the reconstruction area, the items back to back. */
static bool jobs_are_right(const dlp_decoded_batch *b)
{
    const dlp_image_pack_layout *l = &b->layout;
    uint64_t rgb = l->total_bytes, samples = 0, blocks = 0, pixels = 0;
    for (size_t k = 0; k < l->jpeg_count; k++) {
        const dlp_jpeg_job *job = &l->jpeg_jobs[k];
        const dlp_jpeg_layout *jpeg = &((const dlp_jpeg_record *)(const void *)(b->packed + job->record))->layout;
        if (job->record % DLP_JPEG_RECORD_ALIGN || job->record + dlp_jpeg_record_bytes(jpeg) > l->total_bytes ||
            job->rgb != rgb || job->samples != samples || job->first_block != blocks || job->first_pixel != pixels)
            return false;
        rgb += (uint64_t)jpeg->width * jpeg->height * 3;
        samples += jpeg->total_samples;
        blocks += jpeg->total_blocks;
        pixels += (uint64_t)jpeg->width * jpeg->height;
    }
    return rgb == l->total_bytes + l->reconstructed_bytes && samples == l->jpeg_samples && blocks == l->jpeg_blocks &&
           pixels == l->jpeg_pixels;
}

static bool slot_is_right(const run_config *c, const dlp_decoded_batch *b, size_t slot, size_t *network_index,
                          size_t *cpu_index, run_tally *tally)
{
    size_t row = b->first + slot;
    row_kind kind = kind_of(row);
    const reference *r = &references[row % FILE_COUNT];
    bool cached = c->hash && kind == ROW_GOOD && row % 5 == 0;
    if (kind == ROW_FAILED_BEFORE) return b->status[slot] == DLP_OK && !b->cache_hit[slot];
    if (kind == ROW_MISSING) return b->status[slot] == DLP_ERR_IO && strstr(b->message[slot], missing_path);
    if (kind == ROW_TEXT) return b->status[slot] == DLP_ERR_UNSUPPORTED && strstr(b->message[slot], text_path);
    if (kind == ROW_TRUNCATED) return b->status[slot] == DLP_ERR_FORMAT && strstr(b->message[slot], truncated_path);
    if (b->status[slot] != DLP_OK || b->cache_hit[slot] != cached) return false;
    if (c->hash && strcmp(b->content_key[slot], r->key) != 0) return false;
    if (cached) return true;
    size_t i = (*network_index)++;
    if (i >= b->network_count || b->network_slots[i] != slot) return false;
    if (c->output == DLP_DECODE_RESIZED)
        return memcmp(b->input + i * image_floats, r->resized, sizeof(float) * image_floats) == 0;
    return packed_row_is_right(b, i, r, cpu_index, tally);
}

/* The packed total and buffer within the budget; the CPU rows increasing. */
static bool packed_batch_is_right(const run_config *c, const dlp_decoded_batch *b)
{
    size_t budget = c->budget ? c->budget : DLP_DECODE_DEFAULT_PACKED_BUDGET;
    bool right = b->layout.total_bytes <= budget && b->packed_capacity <= budget &&
                 b->layout.count == b->network_count && b->cpu_count <= b->network_count;
    for (size_t k = 0; right && k < b->cpu_count; k++)
        right = b->cpu_rows[k] < b->network_count && (k == 0 || b->cpu_rows[k] > b->cpu_rows[k - 1]);
    return right;
}

static void check_batch(const run_config *c, const dlp_decoded_batch *b, run_tally *tally)
{
    size_t expected_count = c->count - (b->first - c->first) < c->batch_size ? c->count - (b->first - c->first)
                                                                               : c->batch_size;
    if (b->first != tally->next_first || b->count != expected_count) tally->wrong++;
    size_t network_index = 0, cpu_index = 0;
    tally->pixels = b->packed;
    tally->span = b->layout.total_bytes;
    if (c->output == DLP_DECODE_PACKED && b->layout.jpeg_count) {
        if (!c->split || !jobs_are_right(b)) tally->wrong++;
        tally->span = b->layout.total_bytes + b->layout.reconstructed_bytes;
        tally->pixels = as_staged(b->packed, &b->layout);
    }
    for (size_t slot = 0; slot < b->count; slot++)
        if (!slot_is_right(c, b, slot, &network_index, &cpu_index, tally)) tally->wrong++;
    if (network_index != b->network_count) tally->wrong++;
    if (c->output == DLP_DECODE_PACKED && (!packed_batch_is_right(c, b) || cpu_index != b->cpu_count)) tally->wrong++;
    if (tally->pixels != b->packed) free(tally->pixels);
    tally->rows_seen += b->count;
    tally->next_first = b->first + b->count;
}

static void run_stream(const run_config *c)
{
    dlp_dataset *dataset = make_dataset(c->rows);
    dlp_thread_pool *pool = NULL;
    CHECK_OK(dlp_thread_pool_create(c->threads, &pool));
    dlp_decode_stream_options options = {.batch_size = c->batch_size, .ring = c->ring, .output = c->output,
                                         .out_h = OUT_H, .out_w = OUT_W, .resize = DLP_RESIZE_BILINEAR,
                                         .pinned_device = -1,
                                         .normalize = DLP_NORMALIZE_TF, .hash = c->hash,
                                         .lookup = c->hash ? looked_up : NULL, .packed_budget_bytes = c->budget,
                                         .buffer_cache = c->cache, .jpeg_split = c->split};
    dlp_decode_stream *stream = NULL;
    CHECK_OK(dlp_decode_stream_start(pool, dataset, c->first, c->count, &options, &stream));
    run_tally tally = {.next_first = c->first};
    dlp_decoded_batch *held[MAX_HELD];
    int held_count = 0;
    for (;;) {
        dlp_decoded_batch *batch = NULL;
        CHECK_OK(dlp_decode_stream_next(stream, &batch));
        if (batch) held[held_count++] = batch;
        while (held_count > 0 && (held_count >= c->hold || !batch)) {
            check_batch(c, held[0], &tally);
            dlp_decode_stream_release(stream, held[0]);
            memmove(held, held + 1, sizeof held[0] * (size_t)--held_count);
        }
        if (!batch) break;
    }
    if (tally.wrong || tally.rows_seen != c->count)
        fprintf(stderr, "%s batch %zu ring %d threads %d hold %d hash %d budget %zu rows [%zu, +%zu): %zu wrong, %zu seen\n",
                c->output == DLP_DECODE_PACKED ? "packed" : "resized", c->batch_size, c->ring, c->threads, c->hold,
                c->hash, c->budget, c->first, c->count, tally.wrong, tally.rows_seen);
    CHECK(tally.wrong == 0 && tally.rows_seen == c->count);
    /* Every row resized on the CPU with a budget of nothing but the placeholder;
     * none without a budget; some of each with a budget of a few images. */
    if (c->output == DLP_DECODE_PACKED && c->budget == DLP_DECODE_PLACEHOLDER_BYTES) CHECK(tally.packed_rows == 0);
    if (c->output == DLP_DECODE_PACKED && c->budget == 0) CHECK(tally.cpu_rows == 0);
    if (c->output == DLP_DECODE_PACKED && c->budget > DLP_DECODE_PLACEHOLDER_BYTES)
        CHECK(tally.cpu_rows > 0 && tally.packed_rows > 0);
    /* The split: the covered JPEGs (baseline and progressive 4:2:0) as records, the CMYK one and the PNGs as pixels. */
    if (c->split && c->budget != DLP_DECODE_PLACEHOLDER_BYTES) CHECK(tally.records > 0 && tally.records < tally.packed_rows);
    if (!c->split) CHECK(tally.records == 0);
    dlp_decode_stream_destroy(stream);
    dlp_thread_pool_destroy(pool);
    dlp_dataset_destroy(dataset);
}

/* The affine map (dlp apply's scale:A,B) after resizing: RESIZED inputs are
 * (float)(v * scale + offset) of the plain inputs; PACKED with it is refused. */
static void check_affine(void)
{
    dlp_dataset *dataset = make_dataset(40);
    dlp_thread_pool *pool = NULL;
    CHECK_OK(dlp_thread_pool_create(2, &pool));
    dlp_decode_stream_options options = {.batch_size = 6, .ring = 2, .output = DLP_DECODE_PACKED, .out_h = OUT_H,
                                         .out_w = OUT_W, .resize = DLP_RESIZE_BILINEAR, .pinned_device = -1,
                                         .normalize = DLP_NORMALIZE_TF, .affine = true, .scale = 0.37,
                                         .offset = -2.5};
    dlp_decode_stream *stream = NULL;
    CHECK(dlp_decode_stream_start(pool, dataset, 0, 40, &options, &stream) == DLP_ERR_INVALID_ARGUMENT && !stream);
    options.output = DLP_DECODE_RESIZED;
    CHECK_OK(dlp_decode_stream_start(pool, dataset, 0, 40, &options, &stream));
    size_t good = 0, wrong = 0;
    for (dlp_decoded_batch *b = NULL; stream && dlp_decode_stream_next(stream, &b) == DLP_OK && b;) {
        for (size_t i = 0; i < b->network_count; i++) {
            size_t row = b->first + b->network_slots[i];
            const float *plain = references[row % FILE_COUNT].resized, *got = b->input + i * image_floats;
            for (size_t k = 0; k < image_floats; k++) wrong += got[k] != (float)(plain[k] * 0.37 + -2.5);
            good++;
        }
        dlp_decode_stream_release(stream, b);
    }
    size_t want = 0;
    for (size_t row = 0; row < 40; row++) want += kind_of(row) == ROW_GOOD;
    CHECK(good == want && wrong == 0);
    dlp_decode_stream_destroy(stream);
    dlp_thread_pool_destroy(pool);
    dlp_dataset_destroy(dataset);
}

/* Threads taking and giving back blocks of random sizes at once: no block is
 * ever held by two (each fills its block with its own byte and finds it
 * there), and nothing leaks or is freed twice (ASan). */
typedef struct cache_worker {
    dlp_pinned_cache *cache;
    unsigned seed;
    int shared;
} cache_worker;

static void *cache_work(void *context)
{
    cache_worker *w = context;
    unsigned char mark = (unsigned char)w->seed;
    for (int i = 0; i < 20000 && !w->shared; i++) {
        bool pinned = false;
        size_t bytes = 1 + (size_t)rand_r(&w->seed) % 5000;
        unsigned char *memory = dlp_pinned_cache_alloc(w->cache, bytes, -1, &pinned);
        if (!memory) continue;
        memset(memory, mark, bytes);
        sched_yield();
        for (size_t k = 0; k < bytes; k++) w->shared |= memory[k] != mark;
        dlp_pinned_cache_free(w->cache, memory, pinned);
    }
    return NULL;
}

static void check_cache_threads(void)
{
    dlp_pinned_cache *cache = NULL;
    CHECK_OK(dlp_pinned_cache_create(&cache));
    cache_worker workers[4];
    pthread_t threads[4];
    for (int t = 0; t < 4; t++) {
        workers[t] = (cache_worker){cache, (unsigned)t + 1, 0};
        CHECK(pthread_create(&threads[t], NULL, cache_work, &workers[t]) == 0);
    }
    int shared = 0;
    for (int t = 0; t < 4; t++) {
        pthread_join(threads[t], NULL);
        shared |= workers[t].shared;
    }
    dlp_pinned_cache_stats stats = dlp_pinned_cache_get_stats(cache);
    CHECK(!shared && stats.requests == 80000 && stats.reused > 0 && stats.idle_blocks <= DLP_PINNED_CACHE_IDLE);
    dlp_pinned_cache_destroy(cache);
}

/* The buffer cache: a block comes back for a request of its device that it
 * fits within twice the size; at most DLP_PINNED_CACHE_IDLE idle blocks stay
 * (the smallest go); memory it did not allocate is freed as it is. Then
 * streams run again and again on one cache: from the second run of a
 * configuration on, every buffer comes from the cache, and every row is
 * right as before (run_stream's checks). */
static void check_buffer_cache(void)
{
    dlp_pinned_cache *cache = NULL;
    CHECK_OK(dlp_pinned_cache_create(&cache));
    bool pinned = true;
    void *a = dlp_pinned_cache_alloc(cache, 1000, -1, &pinned);
    CHECK(a && !pinned);
    dlp_pinned_cache_free(cache, a, pinned);
    CHECK(dlp_pinned_cache_alloc(cache, 600, -1, &pinned) == a);       /* 600 <= 1000 <= 1200 */
    void *b = dlp_pinned_cache_alloc(cache, 800, -1, &pinned);         /* a is in use */
    CHECK(b && b != a);
    dlp_pinned_cache_free(cache, a, false);
    dlp_pinned_cache_free(cache, b, false);
    void *c = dlp_pinned_cache_alloc(cache, 399, -1, &pinned);         /* 800 and 1000: over twice 399 */
    CHECK(c && c != a && c != b);
    dlp_pinned_cache_free(cache, c, false);
    void *d = dlp_pinned_cache_alloc(cache, 1000, 0, &pinned);         /* another device's */
    CHECK(d && d != a);
    dlp_pinned_cache_free(cache, d, pinned);
    /* 11 blocks of 5000, 10000, .. 55000 bytes given back in that order, after
     * a, b, c and d: of those 15 idle blocks the 7 unused longest go (a, b, c,
     * d, 5000, 10000, 15000); 20000 .. 55000 stay. */
    void *blocks[DLP_PINNED_CACHE_IDLE + 3];
    for (int i = 0; i < DLP_PINNED_CACHE_IDLE + 3; i++)
        blocks[i] = dlp_pinned_cache_alloc(cache, 5000 + 5000 * (size_t)i, -1, &pinned);
    for (int i = 0; i < DLP_PINNED_CACHE_IDLE + 3; i++) dlp_pinned_cache_free(cache, blocks[i], false);
    dlp_pinned_cache_stats stats = dlp_pinned_cache_get_stats(cache);
    CHECK(stats.idle_blocks == DLP_PINNED_CACHE_IDLE);
    size_t reused_before = stats.reused;
    void *kept = dlp_pinned_cache_alloc(cache, 15000, -1, &pinned); /* 20000 fits it */
    void *fresh = dlp_pinned_cache_alloc(cache, 5000, -1, &pinned); /* nothing of 5000..10000 is left */
    stats = dlp_pinned_cache_get_stats(cache);
    CHECK(kept == blocks[3] && fresh && stats.reused == reused_before + 1);
    dlp_pinned_cache_free(cache, kept, false);
    dlp_pinned_cache_free(cache, fresh, false);
    dlp_pinned_cache_free(cache, malloc(10), false); /* not the cache's: freed (ASan: no leak) */
    dlp_pinned_cache_free(cache, NULL, false);
    dlp_pinned_cache_destroy(cache);
    check_cache_threads();

    /* RESIZED buffers have one size, so every request after the first run
     * is served from the cache. A PACKED buffer is first sized for the first
     * image that needs it and grown for larger ones: which image that is
     * depends on the workers' timing, so with these mixed fixtures some of
     * its requests miss. */
    static const run_config configs[] = {
        {DLP_DECODE_RESIZED, 100, 0, 100, 6, 2, 3, 1, false, 0, NULL, false},
        {DLP_DECODE_RESIZED, 90, 0, 90, 16, 3, 2, 2, true, 0, NULL, false},
        {DLP_DECODE_PACKED, 100, 0, 100, 7, 3, 4, 2, true, 0, NULL, false},
        {DLP_DECODE_PACKED, 120, 0, 120, 8, 3, 4, 2, false, 3600, NULL, false},
    };
    for (size_t i = 0; i < sizeof configs / sizeof configs[0]; i++) {
        run_config config = configs[i];
        CHECK_OK(dlp_pinned_cache_create(&config.cache));
        size_t requests = 0, reused = 0;
        for (int run = 0; run < 3; run++) {
            run_stream(&config);
            stats = dlp_pinned_cache_get_stats(config.cache);
            size_t new_requests = stats.requests - requests, new_reused = stats.reused - reused;
            if (run > 0 && config.output == DLP_DECODE_RESIZED) CHECK(new_requests > 0 && new_reused == new_requests);
            if (run > 0 && config.output == DLP_DECODE_PACKED) CHECK(new_requests > 0 && new_reused > 0);
            requests = stats.requests, reused = stats.reused;
        }
        CHECK(stats.idle_blocks <= DLP_PINNED_CACHE_IDLE);
        dlp_pinned_cache_destroy(config.cache);
    }
}

/* Stopping with batches unread (held or not), and asking for more than the ring holds. */
static void check_early_stops(void)
{
    dlp_dataset *dataset = make_dataset(120);
    dlp_thread_pool *pool = NULL;
    CHECK_OK(dlp_thread_pool_create(3, &pool));
    dlp_decode_stream_options options = {.batch_size = 4, .ring = 2, .output = DLP_DECODE_PACKED,
                                         .pinned_device = 0, .out_h = OUT_H, .out_w = OUT_W,
                                         .packed_budget_bytes = 5000};
    for (int taken = 0; taken < 3; taken++) {
        dlp_decode_stream *stream = NULL;
        CHECK_OK(dlp_decode_stream_start(pool, dataset, 0, 120, &options, &stream));
        dlp_decoded_batch *batch = NULL;
        for (int i = 0; i < taken; i++) {
            if (i < 2) CHECK_OK(dlp_decode_stream_next(stream, &batch));
            else CHECK_FAILS(dlp_decode_stream_next(stream, &batch), DLP_ERR_INVALID_ARGUMENT, "release a batch first");
        }
        dlp_decode_stream_destroy(stream);
    }
    dlp_decode_stream *stream = NULL;
    CHECK_OK(dlp_decode_stream_start(pool, dataset, 0, 0, &options, &stream));
    dlp_decoded_batch *batch = (dlp_decoded_batch *)&options;
    CHECK_OK(dlp_decode_stream_next(stream, &batch));
    CHECK(batch == NULL);
    dlp_decode_stream_destroy(stream);
    options.packed_budget_bytes = 2;
    CHECK_FAILS(dlp_decode_stream_start(pool, dataset, 0, 10, &options, &stream), DLP_ERR_INVALID_ARGUMENT,
                "packed budget of 2 bytes");
    options.packed_budget_bytes = 0;
    options.out_w = 0;
    CHECK_FAILS(dlp_decode_stream_start(pool, dataset, 0, 10, &options, &stream), DLP_ERR_INVALID_ARGUMENT,
                "network input 11x0");
    options.out_w = OUT_W;
    options.ring = 0;
    CHECK_FAILS(dlp_decode_stream_start(pool, dataset, 0, 10, &options, &stream), DLP_ERR_INVALID_ARGUMENT, "ring 0");
    dlp_thread_pool_destroy(pool);
    dlp_dataset_destroy(dataset);
}

typedef struct runner_tally {
    size_t first, next_first, landed, wrong, progress_calls, last_done;
    float *outputs; /* count x 3 */
} runner_tally;

static dlp_status land_means(void *context, const dlp_decoded_batch *batch, const float *outputs)
{
    runner_tally *tally = context;
    if (batch->first != tally->next_first) tally->wrong++;
    tally->next_first = batch->first + batch->count;
    for (size_t i = 0; i < batch->network_count; i++)
        memcpy(tally->outputs + (batch->first - tally->first + batch->network_slots[i]) * 3, outputs + i * 3,
               3 * sizeof(float));
    tally->landed += batch->network_count;
    return DLP_OK;
}

static void count_progress(void *context, size_t done, size_t total)
{
    runner_tally *tally = context;
    if (done <= tally->last_done || done > total) tally->wrong++;
    tally->last_done = done;
    tally->progress_calls++;
}

/* After a run: good rows untouched, new failures recorded, earlier ones kept. */
static bool dataset_row_is_right(row_kind kind, const dlp_row *info)
{
    switch (kind) {
    case ROW_GOOD: return info->status == DLP_OK;
    case ROW_FAILED_BEFORE: return info->status == DLP_ERR_IO && strcmp(info->message, "failed before") == 0;
    case ROW_MISSING: return info->status == DLP_ERR_IO && strstr(info->message, missing_path);
    case ROW_TRUNCATED: return info->status == DLP_ERR_FORMAT && strstr(info->message, truncated_path);
    default: return info->status == DLP_ERR_UNSUPPORTED && strstr(info->message, text_path);
    }
}

/* ---- The CUDA backend's image hooks on the CPU: dlp_image_resize_float
 * as the kernel, a copy of the packed batch as the staging slot. ---- */

typedef struct staged_batch {
    uint8_t *pixels;
    dlp_image_pack_layout layout;
} staged_batch;

static staged_batch staged[DLP_PLAN_IMAGE_SLOTS];
static dlp_status (*cpu_upload_input)(dlp_backend *backend, dlp_plan *plan, const float *input, int n);
static size_t staged_rows_given; /* rows the caller resized itself, over the run */
static size_t staged_records;    /* JPEG records staged, over the run */

static void *copy_of(const void *from, size_t bytes)
{
    void *to = malloc(bytes ? bytes : 1);
    if (to && bytes) memcpy(to, from, bytes);
    return to;
}

static void staged_free(staged_batch *batch)
{
    free(batch->pixels);
    dlp_image_pack_layout_free(&batch->layout);
}

static dlp_status stage_on_cpu(dlp_backend *backend, int slot, const uint8_t *packed, const dlp_image_pack_layout *layout)
{
    (void)backend;
    staged_batch *batch = &staged[slot];
    staged_free(batch);
    size_t n = layout->count, span = layout->total_bytes + layout->reconstructed_bytes;
    batch->pixels = as_staged(packed, layout);
    staged_records += layout->jpeg_count;
    /* total_bytes spans the records' RGB8 too. */
    batch->layout = (dlp_image_pack_layout){.count = n, .offsets = copy_of(layout->offsets, n * sizeof(uint64_t)),
                                            .heights = copy_of(layout->heights, n * sizeof(int32_t)),
                                            .widths = copy_of(layout->widths, n * sizeof(int32_t)), .total_bytes = span};
    return batch->pixels ? DLP_OK : dlp_fail(DLP_ERR_OUT_OF_MEMORY, "out of memory");
}

static dlp_status upload_staged_on_cpu(dlp_backend *backend, dlp_plan *plan, int slot, size_t count,
                                       dlp_resize method, dlp_normalize normalize, const dlp_plan_input_rows *rows)
{
    const staged_batch *batch = &staged[slot];
    CHECK(batch->layout.count == count);
    size_t floats = dlp_shape_elements(plan->input_shape);
    float *input = malloc(count * floats * sizeof(float));
    dlp_status status = DLP_OK;
    for (size_t i = 0; status == DLP_OK && i < count; i++) {
        CHECK(batch->layout.offsets[i] + (size_t)batch->layout.heights[i] * batch->layout.widths[i] * 3 <=
              batch->layout.total_bytes);
        dlp_image image = {batch->layout.widths[i], batch->layout.heights[i], batch->pixels + batch->layout.offsets[i]};
        status = dlp_image_resize_float(&image, plan->input_shape.h, plan->input_shape.w, method, normalize,
                                        input + i * floats);
    }
    for (size_t k = 0; rows && k < rows->count; k++)
        memcpy(input + rows->index[k] * floats, rows->floats + k * floats, floats * sizeof(float));
    staged_rows_given += rows ? rows->count : 0;
    if (status == DLP_OK) status = cpu_upload_input(backend, plan, input, (int)count);
    free(input);
    return status;
}

static void run_runner(dlp_plan *plan, bool overlap, int ring, size_t batch_size, dlp_decode_output output,
                       size_t budget, bool split)
{
    size_t rows = 90, first = 3, count = 80;
    dlp_dataset *dataset = make_dataset(rows);
    dlp_thread_pool *pool = NULL;
    CHECK_OK(dlp_thread_pool_create(3, &pool));
    runner_tally tally = {first, first, 0, 0, 0, 0, calloc(count * 3, sizeof(float))};
    dlp_decode_stream_options stream = {.batch_size = batch_size, .ring = ring, .output = output,
                                        .out_h = OUT_H, .out_w = OUT_W, .resize = DLP_RESIZE_BILINEAR,
                                        .normalize = DLP_NORMALIZE_TF, .pinned_device = -1,
                                        .packed_budget_bytes = budget, .jpeg_split = split};
    dlp_batch_runner runner = {.plan = plan, .output_floats = 3, .cuda_device = -1, .overlap = overlap,
                               .resize = DLP_RESIZE_BILINEAR, .normalize = DLP_NORMALIZE_TF,
                               .landed = land_means, .context = &tally, .progress = count_progress,
                               .progress_context = &tally};
    staged_rows_given = staged_records = 0;
    CHECK_OK(dlp_batch_runner_run(&runner, pool, dataset, first, count, &stream));
    size_t good = 0;
    double worst = 0;
    for (size_t i = 0; i < count; i++) {
        size_t row = first + i;
        dlp_row info;
        CHECK_OK(dlp_dataset_row(dataset, row, &info));
        row_kind kind = kind_of(row);
        if (!dataset_row_is_right(kind, &info)) tally.wrong++;
        if (kind != ROW_GOOD) continue;
        good++;
        const float *resized = references[row % FILE_COUNT].resized;
        for (int c = 0; c < 3; c++) {
            double mean = 0;
            for (int p = 0; p < OUT_H * OUT_W; p++) mean += resized[p * 3 + c];
            mean /= OUT_H * OUT_W;
            worst = fmax(worst, fabs(tally.outputs[i * 3 + c] - mean));
        }
    }
    size_t batches = (count + batch_size - 1) / batch_size;
    if (tally.wrong || tally.landed != good || worst > 1e-6 || tally.progress_calls != batches ||
        tally.last_done != count)
        fprintf(stderr, "runner %s overlap %d ring %d batch %zu budget %zu: %zu wrong, %zu of %zu landed, worst %.3g, "
                "%zu progress\n", output == DLP_DECODE_PACKED ? "packed" : "resized", overlap, ring, batch_size, budget,
                tally.wrong, tally.landed, good, worst, tally.progress_calls);
    CHECK(tally.wrong == 0 && tally.landed == good && worst <= 1e-6);
    CHECK(tally.progress_calls == batches && tally.last_done == count);
    /* The budget of the placeholder alone: every row; none by default; some otherwise. */
    if (budget == DLP_DECODE_PLACEHOLDER_BYTES) CHECK(staged_rows_given == good);
    else if (budget == 0) CHECK(staged_rows_given == 0);
    else CHECK(staged_rows_given > 0 && staged_rows_given < good);
    CHECK(split ? staged_records > 0 || budget == DLP_DECODE_PLACEHOLDER_BYTES : staged_records == 0);
    free(tally.outputs);
    dlp_thread_pool_destroy(pool);
    dlp_dataset_destroy(dataset);
}

static void check_runner(void)
{
    dlp_graph *graph = NULL;
    int input = 0, pooled = 0;
    CHECK_OK(dlp_graph_create(&graph));
    CHECK_OK(dlp_graph_input(graph, "input_1", (dlp_shape){OUT_H, OUT_W, 3}, &input));
    CHECK_OK(dlp_graph_unary(graph, "gap", DLP_OP_GLOBAL_AVG_POOL, input, &pooled));
    dlp_backend *cpu = NULL;
    dlp_plan *plan = NULL;
    const char *outputs[1] = {"gap"};
    CHECK_OK(dlp_backend_create_cpu(2, &cpu));
    CHECK_OK(dlp_plan_create(graph, cpu, 16, outputs, 1, &plan));
    dlp_graph_destroy(graph);
    if (plan) {
        run_runner(plan, true, 3, 7, DLP_DECODE_RESIZED, 0, false);
        run_runner(plan, true, 2, 16, DLP_DECODE_RESIZED, 0, false);
        run_runner(plan, false, 1, 5, DLP_DECODE_RESIZED, 0, false);
        run_runner(plan, false, 3, 1, DLP_DECODE_RESIZED, 0, false);
        cpu_upload_input = cpu->upload_input;
        cpu->stage_images = stage_on_cpu;
        cpu->upload_staged_images = upload_staged_on_cpu;
        CHECK(dlp_plan_takes_images(plan));
        run_runner(plan, true, 3, 7, DLP_DECODE_PACKED, 0, false);
        run_runner(plan, true, 3, 7, DLP_DECODE_PACKED, 4000, false);
        run_runner(plan, true, 2, 16, DLP_DECODE_PACKED, 7000, false);
        run_runner(plan, false, 1, 5, DLP_DECODE_PACKED, DLP_DECODE_PLACEHOLDER_BYTES, false);
        run_runner(plan, true, 3, 7, DLP_DECODE_PACKED, 0, true);
        run_runner(plan, true, 2, 16, DLP_DECODE_PACKED, 7000, true);
        run_runner(plan, false, 1, 5, DLP_DECODE_PACKED, DLP_DECODE_PLACEHOLDER_BYTES, true);
        for (int slot = 0; slot < DLP_PLAN_IMAGE_SLOTS; slot++) staged_free(&staged[slot]);
        dlp_decode_stream_options stream = {.batch_size = 4, .ring = 1, .pinned_device = -1, .out_h = OUT_H,
                                            .out_w = OUT_W};
        dlp_batch_runner runner = {.plan = plan, .output_floats = 3, .cuda_device = -1, .overlap = true};
        CHECK_FAILS(dlp_batch_runner_run(&runner, NULL, NULL, 0, 0, &stream), DLP_ERR_INVALID_ARGUMENT, "ring of 2");
        /* The JPEG split reaches the stream only with device preprocessing (PACKED): on unless DLP_JPEG_SPLIT=0. */
        unsetenv("DLP_JPEG_SPLIT");
        dlp_batch_runner_init(&runner, &stream, plan, 0, true, 8, OUT_H, OUT_W, DLP_RESIZE_AREA, DLP_NORMALIZE_TF);
        CHECK(stream.output == DLP_DECODE_PACKED && stream.jpeg_split);
        setenv("DLP_JPEG_SPLIT", "1", 1);
        dlp_batch_runner_init(&runner, &stream, plan, 0, true, 8, OUT_H, OUT_W, DLP_RESIZE_AREA, DLP_NORMALIZE_TF);
        CHECK(stream.output == DLP_DECODE_PACKED && stream.jpeg_split);
        dlp_batch_runner_init(&runner, &stream, plan, 0, false, 8, OUT_H, OUT_W, DLP_RESIZE_AREA, DLP_NORMALIZE_TF);
        CHECK(stream.output == DLP_DECODE_RESIZED && !stream.jpeg_split);
        setenv("DLP_JPEG_SPLIT", "0", 1);
        dlp_batch_runner_init(&runner, &stream, plan, 0, true, 8, OUT_H, OUT_W, DLP_RESIZE_AREA, DLP_NORMALIZE_TF);
        CHECK(!stream.jpeg_split);
        setenv("DLP_JPEG_SPLIT", "", 1); /* empty: the default */
        dlp_batch_runner_init(&runner, &stream, plan, 0, true, 8, OUT_H, OUT_W, DLP_RESIZE_AREA, DLP_NORMALIZE_TF);
        CHECK(stream.jpeg_split);
        unsetenv("DLP_JPEG_SPLIT");
    }
    dlp_plan_destroy(plan);
    dlp_backend_destroy(cpu);
}

/* The first half of a good JPEG: it fails while decoding, after its pixels took room. */
static void write_truncated(const char *good, const char *tmp)
{
    snprintf(truncated_path, sizeof truncated_path, "%s/decode_stream_truncated.jpg", tmp);
    size_t size = 0;
    unsigned char *bytes = check_read_file(good, &size);
    FILE *out = fopen(truncated_path, "wb");
    CHECK(bytes && out);
    if (bytes && out) fwrite(bytes, 1, size / 2, out);
    if (out) fclose(out);
    free(bytes);
}

int main(void)
{
    char decode_dir[1100];
    snprintf(decode_dir, sizeof decode_dir, "%s/decode", check_env("DLP_FIXTURES"));
    load_references(decode_dir);
    const char *tmp = check_env("DLP_TEST_TMP");
    snprintf(missing_path, sizeof missing_path, "%s/decode_stream_missing.jpg", tmp);
    snprintf(text_path, sizeof text_path, "%s/decode_stream_text.jpg", tmp);
    remove(missing_path);
    FILE *text = fopen(text_path, "w");
    CHECK(text != NULL);
    if (text) {
        fputs("not an image\n", text);
        fclose(text);
    }
    write_truncated(references[0].path, tmp);

    static const run_config configs[] = {
        {DLP_DECODE_PACKED, 100, 0, 100, 1, 1, 1, 1, false, 0, NULL, false},
        {DLP_DECODE_PACKED, 100, 0, 100, 7, 3, 4, 2, false, 0, NULL, false},
        {DLP_DECODE_PACKED, 300, 5, 290, 8, 3, 3, 1, true, 0, NULL, false},
        {DLP_DECODE_PACKED, 64, 0, 64, 64, 2, 4, 1, false, 0, NULL, false},
        {DLP_DECODE_PACKED, 200, 0, 200, 3, 4, 8, 3, true, 0, NULL, false},
        {DLP_DECODE_RESIZED, 100, 0, 100, 6, 1, 3, 1, false, 0, NULL, false},
        {DLP_DECODE_RESIZED, 150, 10, 131, 16, 3, 2, 2, true, 0, NULL, false},
        {DLP_DECODE_RESIZED, 5, 0, 5, 16, 3, 1, 1, false, 0, NULL, false},
        /* Budgets: only the placeholder; about one JPEG (3219 bytes) and a
         * PNG (273) of a batch; about two JPEGs; each run a few times. */
        {DLP_DECODE_PACKED, 60, 0, 60, 8, 3, 3, 1, false, DLP_DECODE_PLACEHOLDER_BYTES, NULL, false},
        {DLP_DECODE_PACKED, 120, 0, 120, 8, 3, 4, 2, false, 3600, NULL, false},
        {DLP_DECODE_PACKED, 120, 0, 120, 8, 3, 4, 2, false, 3600, NULL, false},
        {DLP_DECODE_PACKED, 150, 3, 140, 7, 2, 8, 1, true, 6500, NULL, false},
        {DLP_DECODE_PACKED, 150, 3, 140, 7, 2, 8, 1, true, 6500, NULL, false},
        {DLP_DECODE_PACKED, 100, 0, 100, 5, 1, 1, 1, false, 4000, NULL, false},
        {DLP_DECODE_PACKED, 200, 0, 200, 16, 4, 8, 3, false, 7000, NULL, false},
        /* One byte short of a JPEG plus the placeholder: only PNGs ship as pixels. */
        {DLP_DECODE_PACKED, 100, 0, 100, 8, 3, 4, 1, false, 3219 + DLP_DECODE_PLACEHOLDER_BYTES - 1, NULL, false},
        /* The JPEG split: records (about 5.2 kB for these JPEGs) beside pixels, in place and spilled, within
         * budgets and past them. */
        {DLP_DECODE_PACKED, 100, 0, 100, 1, 1, 1, 1, false, 0, NULL, true},
        {DLP_DECODE_PACKED, 100, 0, 100, 7, 3, 4, 2, false, 0, NULL, true},
        {DLP_DECODE_PACKED, 200, 0, 200, 3, 4, 8, 3, true, 0, NULL, true},
        {DLP_DECODE_PACKED, 60, 0, 60, 8, 3, 3, 1, false, DLP_DECODE_PLACEHOLDER_BYTES, NULL, true},
        {DLP_DECODE_PACKED, 150, 3, 140, 7, 2, 8, 1, true, 12000, NULL, true},
        {DLP_DECODE_PACKED, 200, 0, 200, 16, 4, 8, 3, false, 16000, NULL, true},
    };
    for (size_t i = 0; i < sizeof configs / sizeof configs[0]; i++) run_stream(&configs[i]);
    check_early_stops();
    check_affine();
    check_buffer_cache();
    check_runner();
    for (int f = 0; f < FILE_COUNT; f++) {
        free(references[f].pixels);
        free(references[f].resized);
    }
    remove(text_path);
    remove(truncated_path);
    return check_summary("decode_stream");
}

/* The featurizer's decode stream (src/ml/decode_stream.h): every row of the
 * range comes back once, in order, in its batch; decoded pixels (PACKED) are
 * TensorFlow's (the .rgb fixtures of tests/oracle/image_oracle.py) wherever
 * the stream put them (in place or spilled and copied); resized inputs
 * (RESIZED) are dlp_image_resize_float of those pixels; missing and
 * non-image files fail with their path, rows that failed before are left
 * alone, cache lookups skip decoding. Batch sizes, ring sizes, thread counts
 * and how many batches the consumer holds vary; stopping early leaks
 * nothing (ASan) and never hangs. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/sha256.h"
#include "dlp/dlp.h"
#include "ml/decode_stream.h"

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
static char missing_path[1200], text_path[1200];

typedef enum { ROW_GOOD, ROW_MISSING, ROW_TEXT, ROW_FAILED_BEFORE } row_kind;

static row_kind kind_of(size_t row)
{
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
        const char *path = kind == ROW_MISSING ? missing_path : kind == ROW_TEXT ? text_path
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
} run_config;

typedef struct run_tally {
    size_t rows_seen, next_first, wrong;
} run_tally;

static bool slot_is_right(const run_config *c, const dlp_decoded_batch *b, size_t slot, size_t *network_index)
{
    size_t row = b->first + slot;
    row_kind kind = kind_of(row);
    const reference *r = &references[row % FILE_COUNT];
    bool cached = c->hash && kind == ROW_GOOD && row % 5 == 0;
    if (kind == ROW_FAILED_BEFORE) return b->status[slot] == DLP_OK && !b->cache_hit[slot];
    if (kind == ROW_MISSING) return b->status[slot] == DLP_ERR_IO && strstr(b->message[slot], missing_path);
    if (kind == ROW_TEXT) return b->status[slot] == DLP_ERR_UNSUPPORTED && strstr(b->message[slot], text_path);
    if (b->status[slot] != DLP_OK || b->cache_hit[slot] != cached) return false;
    if (c->hash && strcmp(b->content_key[slot], r->key) != 0) return false;
    if (cached) return true;
    size_t i = (*network_index)++;
    if (i >= b->network_count || b->network_slots[i] != slot) return false;
    if (c->output == DLP_DECODE_RESIZED)
        return memcmp(b->input + i * OUT_H * OUT_W * 3, r->resized, sizeof(float) * OUT_H * OUT_W * 3) == 0;
    size_t bytes = (size_t)r->width * r->height * 3;
    return b->layout.widths[i] == r->width && b->layout.heights[i] == r->height &&
           b->layout.offsets[i] + bytes <= b->layout.total_bytes &&
           memcmp(b->packed + b->layout.offsets[i], r->pixels, bytes) == 0;
}

static void check_batch(const run_config *c, const dlp_decoded_batch *b, run_tally *tally)
{
    size_t expected_count = c->count - (b->first - c->first) < c->batch_size ? c->count - (b->first - c->first)
                                                                               : c->batch_size;
    if (b->first != tally->next_first || b->count != expected_count) tally->wrong++;
    size_t network_index = 0;
    for (size_t slot = 0; slot < b->count; slot++)
        if (!slot_is_right(c, b, slot, &network_index)) tally->wrong++;
    if (network_index != b->network_count) tally->wrong++;
    if (c->output == DLP_DECODE_PACKED && b->layout.count != b->network_count) tally->wrong++;
    tally->rows_seen += b->count;
    tally->next_first = b->first + b->count;
}

static void run_stream(const run_config *c)
{
    dlp_dataset *dataset = make_dataset(c->rows);
    dlp_thread_pool *pool = NULL;
    CHECK_OK(dlp_thread_pool_create(c->threads, &pool));
    dlp_decode_stream_options options = {.batch_size = c->batch_size, .ring = c->ring, .output = c->output,
                                         .out_h = OUT_H, .out_w = OUT_W, .resize = DLP_RESIZE_BILINEAR, .pinned_device = -1,
                                         .normalize = DLP_NORMALIZE_TF, .hash = c->hash,
                                         .lookup = c->hash ? looked_up : NULL};
    dlp_decode_stream *stream = NULL;
    CHECK_OK(dlp_decode_stream_start(pool, dataset, c->first, c->count, &options, &stream));
    run_tally tally = {0, c->first, 0};
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
        fprintf(stderr, "%s batch %zu ring %d threads %d hold %d hash %d rows [%zu, +%zu): %zu wrong, %zu seen\n",
                c->output == DLP_DECODE_PACKED ? "packed" : "resized", c->batch_size, c->ring, c->threads, c->hold,
                c->hash, c->first, c->count, tally.wrong, tally.rows_seen);
    CHECK(tally.wrong == 0 && tally.rows_seen == c->count);
    dlp_decode_stream_destroy(stream);
    dlp_thread_pool_destroy(pool);
    dlp_dataset_destroy(dataset);
}

/* Stopping with batches unread (held or not), and asking for more than the ring holds. */
static void check_early_stops(void)
{
    dlp_dataset *dataset = make_dataset(120);
    dlp_thread_pool *pool = NULL;
    CHECK_OK(dlp_thread_pool_create(3, &pool));
    dlp_decode_stream_options options = {.batch_size = 4, .ring = 2, .output = DLP_DECODE_PACKED,
                                         .pinned_device = 0};
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
    options.ring = 0;
    CHECK_FAILS(dlp_decode_stream_start(pool, dataset, 0, 10, &options, &stream), DLP_ERR_INVALID_ARGUMENT, "ring 0");
    dlp_thread_pool_destroy(pool);
    dlp_dataset_destroy(dataset);
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

    static const run_config configs[] = {
        {DLP_DECODE_PACKED, 100, 0, 100, 1, 1, 1, 1, false},
        {DLP_DECODE_PACKED, 100, 0, 100, 7, 3, 4, 2, false},
        {DLP_DECODE_PACKED, 300, 5, 290, 8, 3, 3, 1, true},
        {DLP_DECODE_PACKED, 64, 0, 64, 64, 2, 4, 1, false},
        {DLP_DECODE_PACKED, 200, 0, 200, 3, 4, 8, 3, true},
        {DLP_DECODE_RESIZED, 100, 0, 100, 6, 1, 3, 1, false},
        {DLP_DECODE_RESIZED, 150, 10, 131, 16, 3, 2, 2, true},
        {DLP_DECODE_RESIZED, 5, 0, 5, 16, 3, 1, 1, false},
    };
    for (size_t i = 0; i < sizeof configs / sizeof configs[0]; i++) run_stream(&configs[i]);
    check_early_stops();
    for (int f = 0; f < FILE_COUNT; f++) {
        free(references[f].pixels);
        free(references[f].resized);
    }
    remove(text_path);
    return check_summary("decode_stream");
}

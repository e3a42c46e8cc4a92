/* The feature cache (src/ml/feature_cache.h): what is written (through the
 * background writer, more entries than its queue holds, and with a queue of
 * the minimum 4 entries for wide features) reads back bit for bit after a
 * flush or a close; missing, short and long files are misses; an unwritable
 * folder only loses the writes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "check.h"
#include "ml/feature_cache.h"

static void make_key(unsigned i, char key[65])
{
    for (int c = 0; c < 64; c++) key[c] = "0123456789abcdef"[(i * 2654435761u >> (c % 28)) & 15];
    key[64] = 0;
}

static float value(unsigned i, size_t j) { return (float)i * 1000.0f + (float)j * 0.25f - 3.0f; }

static void check_round_trip(const char *dir, size_t dim, unsigned count, bool close_without_flush)
{
    dlp_feature_cache *cache = NULL;
    CHECK_OK(dlp_feature_cache_open(dir, dim, &cache));
    if (!cache) return;
    float *features = malloc(dim * sizeof(float));
    char key[65];
    for (unsigned i = 0; i < count; i++) {
        for (size_t j = 0; j < dim; j++) features[j] = value(i, j);
        make_key(i, key);
        dlp_feature_cache_write(cache, key, features);
    }
    if (close_without_flush) {
        dlp_feature_cache_close(cache);
        CHECK_OK(dlp_feature_cache_open(dir, dim, &cache));
    } else {
        dlp_feature_cache_flush(cache);
    }
    unsigned wrong = 0;
    for (unsigned i = 0; i < count; i++) {
        make_key(i, key);
        memset(features, 0, dim * sizeof(float));
        bool found = dlp_feature_cache_read(cache, key, features);
        for (size_t j = 0; found && j < dim; j++) found = features[j] == value(i, j);
        if (!found) wrong++;
    }
    if (wrong) fprintf(stderr, "dim %zu, %u writes: %u did not read back\n", dim, count, wrong);
    CHECK(wrong == 0);
    make_key(count + 1, key);
    CHECK(!dlp_feature_cache_read(cache, key, features));
    dlp_feature_cache_close(cache);
    free(features);
}

int main(void)
{
    char dir[1200], path[1400], inside[1500];
    const char *tmp = check_env("DLP_TEST_TMP");
    snprintf(dir, sizeof dir, "%s/feature_cache/features/a", tmp);
    check_round_trip(dir, 16, 3000, false);         /* a queue of 4096: the writer keeps up or not */
    check_round_trip(dir, 2048, 9000, false);       /* queue of ~4000 entries: the writer must drain it */
    snprintf(dir, sizeof dir, "%s/feature_cache/features/b", tmp);
    check_round_trip(dir, 3 << 20, 9, true);        /* 12 MiB rows: the minimum queue of 4 */

    /* A short file and a long one are misses. */
    dlp_feature_cache *cache = NULL;
    snprintf(dir, sizeof dir, "%s/feature_cache/features/c", tmp);
    CHECK_OK(dlp_feature_cache_open(dir, 4, &cache));
    char key[65];
    make_key(7, key);
    snprintf(path, sizeof path, "%s/%.2s", dir, key);
    mkdir(path, 0777);
    snprintf(path, sizeof path, "%s/%.2s/%s.f32", dir, key, key);
    float five[5] = {1, 2, 3, 4, 5}, got[4];
    for (int length = 3; length <= 5; length += 2) {
        FILE *file = fopen(path, "wb");
        CHECK(file != NULL);
        if (file) {
            fwrite(five, sizeof(float), (size_t)length, file);
            fclose(file);
        }
        CHECK(!dlp_feature_cache_read(cache, key, got));
    }
    dlp_feature_cache_close(cache);

    /* A folder that is a file: open refuses it, naming it. */
    snprintf(path, sizeof path, "%s/feature_cache/plain_file", tmp);
    FILE *file = fopen(path, "w");
    if (file) fclose(file);
    snprintf(inside, sizeof inside, "%s/inside", path);
    CHECK_FAILS(dlp_feature_cache_open(inside, 4, &cache), DLP_ERR_IO, "plain_file");
    /* Writes that cannot land (the key's folder is taken by a file) are lost, quietly. */
    snprintf(dir, sizeof dir, "%s/feature_cache/features/d", tmp);
    CHECK_OK(dlp_feature_cache_open(dir, 4, &cache));
    snprintf(path, sizeof path, "%s/%.2s", dir, key);
    file = fopen(path, "w");
    if (file) fclose(file);
    dlp_feature_cache_write(cache, key, five);
    dlp_feature_cache_flush(cache);
    CHECK(!dlp_feature_cache_read(cache, key, got));
    dlp_feature_cache_close(cache);
    return check_summary("feature_cache");
}

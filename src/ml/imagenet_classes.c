/* imagenet_classes.c: the ImageNet class list (Keras' imagenet_class_index.json,
 * data/ in the source tree, compiled into libdlp by CMake as
 * dlp_imagenet_class_index_json) parsed once on first use, and the top-K
 * ranking of a probability row. */
#include "dlp/predictor.h"

#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"

/* Generated at configure time from data/imagenet_class_index.json. */
extern const unsigned char dlp_imagenet_class_index_json[];
extern const size_t dlp_imagenet_class_index_json_size;

typedef struct class_list {
    char *wnid[DLP_IMAGENET_CLASSES];
    char *description[DLP_IMAGENET_CLASSES];
    dlp_status status;
    char error[256];
} class_list;

static class_list classes;
static pthread_once_t classes_once = PTHREAD_ONCE_INIT;

/* A WordNet noun id: 'n' and 8 digits. */
static int is_wnid(const char *text)
{
    if (!text || text[0] != 'n' || strlen(text) != 9) return 0;
    for (int i = 1; i < 9; i++)
        if (text[i] < '0' || text[i] > '9') return 0;
    return 1;
}

static void class_list_error(const char *fmt, const char *detail)
{
    classes.status = DLP_ERR_INTERNAL;
    snprintf(classes.error, sizeof classes.error, fmt, detail);
}

/* {"0": ["n01440764", "tench"], ..., "999": [...]}: exactly these keys. */
static void parse_class_list(void)
{
    json_error_t error;
    json_t *root = json_loadb((const char *)dlp_imagenet_class_index_json, dlp_imagenet_class_index_json_size, JSON_REJECT_DUPLICATES,
                              &error);
    if (!json_is_object(root) || json_object_size(root) != DLP_IMAGENET_CLASSES) {
        class_list_error("the built-in ImageNet class index is not an object of 1000 classes: %s",
                         root ? "wrong size" : error.text);
        json_decref(root);
        return;
    }
    for (int id = 0; id < DLP_IMAGENET_CLASSES && classes.status == DLP_OK; id++) {
        char key[8];
        snprintf(key, sizeof key, "%d", id);
        json_t *entry = json_object_get(root, key);
        const char *wnid = json_string_value(json_array_get(entry, 0));
        const char *description = json_string_value(json_array_get(entry, 1));
        if (json_array_size(entry) != 2 || !is_wnid(wnid) || !description) {
            class_list_error("the built-in ImageNet class index: class \"%s\" is not [wnid, description]", key);
            break;
        }
        classes.wnid[id] = strdup(wnid);
        classes.description[id] = strdup(description);
        if (!classes.wnid[id] || !classes.description[id]) class_list_error("%s", "out of memory");
    }
    json_decref(root);
}

dlp_status dlp_imagenet_class(int id, const char **wnid, const char **description)
{
    if (id < 0 || id >= DLP_IMAGENET_CLASSES)
        return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "ImageNet class %d: expected 0..999", id);
    pthread_once(&classes_once, parse_class_list);
    if (classes.status != DLP_OK) return dlp_fail(classes.status, "%s", classes.error);
    if (wnid) *wnid = classes.wnid[id];
    if (description) *description = classes.description[id];
    return DLP_OK;
}

/* Insertion into the k best so far: higher probability first, then lower id. */
static int ranks_before(float p, int id, const dlp_prediction *other)
{
    return p > other->probability || (p == other->probability && id < other->class_id);
}

dlp_status dlp_imagenet_top_k(const float *probabilities, int k, dlp_prediction *top)
{
    if (k < 1 || k > DLP_IMAGENET_CLASSES) return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "top k = %d: expected 1..1000", k);
    int kept = 0;
    for (int id = 0; id < DLP_IMAGENET_CLASSES; id++) {
        float p = probabilities[id];
        if (isnan(p)) return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "probabilities: class %d is NaN", id);
        if (kept == k && !ranks_before(p, id, &top[k - 1])) continue;
        int slot = kept < k ? kept++ : k - 1;
        while (slot > 0 && ranks_before(p, id, &top[slot - 1])) {
            top[slot] = top[slot - 1];
            slot--;
        }
        top[slot] = (dlp_prediction){id, NULL, NULL, p};
    }
    for (int r = 0; r < k; r++) DLP_TRY(dlp_imagenet_class(top[r].class_id, &top[r].wnid, &top[r].description));
    return DLP_OK;
}

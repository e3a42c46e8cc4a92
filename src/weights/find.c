/* find.c: where a zoo model's weights are on this machine: the search order
 * `dlp models` documents (--weights-dir, $DLP_WEIGHTS_DIR,
 * ~/.cache/dlp/weights, ./weights), file names compared loosely. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dlp/dlp.h"

/* Lower-case letters and digits only: "inception_v3" and "InceptionV3" meet. */
static void name_key(const char *name, size_t length, char *key, size_t capacity)
{
    size_t n = 0;
    for (size_t i = 0; i < length && name[i] && n + 1 < capacity; i++) {
        char c = name[i];
        if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) key[n++] = c;
    }
    key[n] = 0;
}

static bool ends_with(const char *text, const char *suffix)
{
    size_t length = strlen(text), suffix_length = strlen(suffix);
    return length >= suffix_length && strcmp(text + length - suffix_length, suffix) == 0;
}

static bool is_file(const char *path)
{
    struct stat info;
    return stat(path, &info) == 0 && S_ISREG(info.st_mode);
}

static bool search_dir(const char *dir, const char *wanted, bool notop, char *path, size_t capacity)
{
    DIR *handle = opendir(dir);
    if (!handle) return false;
    const char *suffix = notop ? "_notop.safetensors" : ".safetensors";
    bool found = false;
    char key[256], tfjs_match[512] = "", candidate[1024];
    struct dirent *entry;
    /* Sorted choice: the smallest matching name, so the answer does not depend on readdir order. */
    char best[512] = "";
    while ((entry = readdir(handle)) != NULL) {
        const char *name = entry->d_name;
        if (name[0] == '.') continue;
        if (ends_with(name, suffix) && (notop || !ends_with(name, "_notop.safetensors"))) {
            name_key(name, strlen(name) - strlen(suffix), key, sizeof key);
            snprintf(candidate, sizeof candidate, "%s/%s", dir, name);
            if (strcmp(key, wanted) == 0 && is_file(candidate) && (!best[0] || strcmp(name, best) < 0))
                snprintf(best, sizeof best, "%s", name);
        } else if (!notop) {
            /* A TF.js model directory whose name ends with the model's ("nsfwjs-inception_v3"). */
            name_key(name, strlen(name), key, sizeof key);
            size_t key_length = strlen(key), wanted_length = strlen(wanted);
            snprintf(candidate, sizeof candidate, "%s/%s/model.json", dir, name);
            if (key_length >= wanted_length && strcmp(key + key_length - wanted_length, wanted) == 0 &&
                is_file(candidate) && (!tfjs_match[0] || strcmp(name, tfjs_match) < 0))
                snprintf(tfjs_match, sizeof tfjs_match, "%s", name);
        }
    }
    closedir(handle);
    if (best[0]) found = snprintf(path, capacity, "%s/%s", dir, best) < (int)capacity;
    else if (tfjs_match[0]) found = snprintf(path, capacity, "%s/%s/model.json", dir, tfjs_match) < (int)capacity;
    return found;
}

bool dlp_weights_find(const char *model, const char *weights_dir, bool notop, char *path, size_t capacity)
{
    if (!model || !path || capacity == 0) return false;
    char wanted[256];
    name_key(model, strlen(model), wanted, sizeof wanted);
    if (!wanted[0]) return false;
    char home_cache[1024] = "";
    const char *home = getenv("HOME");
    if (home && *home) snprintf(home_cache, sizeof home_cache, "%s/.cache/dlp/weights", home);
    const char *dirs[] = {weights_dir, getenv("DLP_WEIGHTS_DIR"), home_cache[0] ? home_cache : NULL, "weights"};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++)
        if (dirs[i] && *dirs[i] && search_dir(dirs[i], wanted, notop, path, capacity)) return true;
    path[0] = 0;
    return false;
}

/* scan.c: datasets from a folder tree (one sub-folder per class, as Keras'
 * image_dataset_from_directory and sparkdl's readImages + label columns) and
 * from list files ("path[,label]" lines). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/status.h"
#include "data/dataset_internal.h"

/* A file found by the walk: its path and the index of its class folder (-1: none). */
typedef struct {
    char *path;
    long class_index;
    int stat_errno; /* != 0: the entry exists but could not be stat'ed */
} found_file;

typedef struct {
    found_file *files;
    size_t count, capacity;
    char **classes;
    size_t class_count, class_capacity;
} scan_state;

/* (device, inode) of the folders being walked, for loop safety with followed links. */
typedef struct folder_chain {
    dev_t device;
    ino_t inode;
    const struct folder_chain *parent;
} folder_chain;

enum { MAX_DEPTH = 256 };

static dlp_status grow(void **items, size_t *capacity, size_t count, size_t item_bytes)
{
    if (count < *capacity) return DLP_OK;
    size_t next = *capacity ? *capacity : 16;
    if (*capacity) {
        if (next > SIZE_MAX / 2 / item_bytes) return dlp_fail(DLP_ERR_LIMIT, "folder scan: too many entries");
        next *= 2;
    }
    void *grown = realloc(*items, next * item_bytes);
    if (!grown) return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "folder scan: out of memory for %zu entries", next);
    *items = grown;
    *capacity = next;
    return DLP_OK;
}

static char *join_path(const char *folder, const char *name)
{
    size_t folder_length = strlen(folder), name_length = strlen(name);
    int slash = folder_length > 0 && folder[folder_length - 1] != '/';
    if (folder_length > SIZE_MAX - name_length - 2) return NULL;
    char *path = malloc(folder_length + slash + name_length + 1);
    if (!path) return NULL;
    memcpy(path, folder, folder_length);
    if (slash) path[folder_length] = '/';
    memcpy(path + folder_length + slash, name, name_length + 1);
    return path;
}

static dlp_status add_file(scan_state *state, char *path, long class_index, int stat_errno)
{
    dlp_status status = grow((void **)&state->files, &state->capacity, state->count, sizeof *state->files);
    if (status != DLP_OK) {
        free(path);
        return status;
    }
    state->files[state->count++] = (found_file){path, class_index, stat_errno};
    return DLP_OK;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The visible entry names of a folder, sorted bytewise. */
static dlp_status list_folder(const char *folder, char ***names_out, size_t *count_out)
{
    *names_out = NULL;
    *count_out = 0;
    DIR *dir = opendir(folder);
    if (!dir) return dlp_fail(DLP_ERR_IO, "%s: cannot open folder: %s", folder, strerror(errno));
    char **names = NULL;
    size_t count = 0, capacity = 0;
    dlp_status status = DLP_OK;
    for (;;) {
        errno = 0;
        struct dirent *entry = readdir(dir);
        if (!entry) {
            if (errno) status = dlp_fail(DLP_ERR_IO, "%s: cannot read folder: %s", folder, strerror(errno));
            break;
        }
        if (entry->d_name[0] == '.') continue; /* ".", "..", and hidden files and folders */
        status = grow((void **)&names, &capacity, count, sizeof *names);
        if (status != DLP_OK) break;
        size_t length = strlen(entry->d_name);
        names[count] = malloc(length + 1);
        if (!names[count]) {
            status = dlp_fail(DLP_ERR_OUT_OF_MEMORY, "%s: out of memory", folder);
            break;
        }
        memcpy(names[count++], entry->d_name, length + 1);
    }
    closedir(dir);
    if (status != DLP_OK) {
        for (size_t i = 0; i < count; i++) free(names[i]);
        free(names);
        return status;
    }
    if (count) qsort(names, count, sizeof *names, compare_names);
    *names_out = names;
    *count_out = count;
    return DLP_OK;
}

static int in_chain(const folder_chain *chain, const struct stat *info)
{
    for (; chain; chain = chain->parent)
        if (chain->device == info->st_dev && chain->inode == info->st_ino) return 1;
    return 0;
}

/* Walks folder: regular files become rows of class_index, folders are walked
 * (class folders at depth 0 of root), anything else is skipped. */
static dlp_status walk(scan_state *state, const char *folder, long class_index, const folder_chain *chain, int depth)
{
    if (depth > MAX_DEPTH) return dlp_fail(DLP_ERR_LIMIT, "%s: folders nested deeper than %d levels", folder, MAX_DEPTH);
    char **names = NULL;
    size_t count = 0;
    DLP_TRY(list_folder(folder, &names, &count));
    dlp_status status = DLP_OK;
    size_t i = 0;
    for (; i < count && status == DLP_OK; i++) {
        char *path = join_path(folder, names[i]);
        if (!path) {
            status = dlp_fail(DLP_ERR_OUT_OF_MEMORY, "%s: out of memory", folder);
            break;
        }
        struct stat info;
        if (stat(path, &info) != 0) {
            int stat_errno = errno;
            struct stat link_info;
            /* Exists (a dangling or looping link, or no permission): a row that fails, so it is counted. */
            if (lstat(path, &link_info) == 0) status = add_file(state, path, class_index, stat_errno);
            else free(path);
            continue;
        }
        if (S_ISREG(info.st_mode)) {
            status = add_file(state, path, class_index, 0);
        } else if (S_ISDIR(info.st_mode) && !in_chain(chain, &info)) {
            folder_chain link = {info.st_dev, info.st_ino, chain};
            long sub_class = class_index;
            if (depth == 0) {
                status = grow((void **)&state->classes, &state->class_capacity, state->class_count,
                              sizeof *state->classes);
                if (status == DLP_OK) {
                    sub_class = (long)state->class_count;
                    state->classes[state->class_count++] = names[i];
                    names[i] = NULL; /* owned by state now */
                }
            }
            if (status == DLP_OK) status = walk(state, path, sub_class, &link, depth + 1);
            free(path);
        } else {
            free(path); /* fifo, socket, device, or a folder loop */
        }
    }
    for (size_t j = 0; j < count; j++) free(names[j]);
    free(names);
    return status;
}

static int compare_files(const void *a, const void *b)
{
    return strcmp(((const found_file *)a)->path, ((const found_file *)b)->path);
}

static void free_state(scan_state *state)
{
    for (size_t i = 0; i < state->count; i++) free(state->files[i].path);
    free(state->files);
    for (size_t i = 0; i < state->class_count; i++) free(state->classes[i]);
    free(state->classes);
}

/* Adds fresh (a new dataset) to dataset, as dlp_dataset_union would; on
 * failure dataset is unchanged. Consumes fresh. */
static dlp_status merge_into(dlp_dataset *dataset, dlp_dataset *fresh)
{
    if (dataset->row_count == 0 && dataset->name_count == 0) {
        dlp_dataset_take(dataset, fresh);
        return DLP_OK;
    }
    dlp_dataset *merged = NULL;
    dlp_status status = dlp_dataset_union(dataset, fresh, &merged);
    dlp_dataset_destroy(fresh);
    if (status == DLP_OK) dlp_dataset_take(dataset, merged);
    return status;
}

dlp_status dlp_dataset_scan_directory(dlp_dataset *dataset, const char *root)
{
    if (!dataset || !root) return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "dlp_dataset_scan_directory: NULL argument");
    struct stat info;
    if (stat(root, &info) != 0) return dlp_fail(DLP_ERR_IO, "%s: %s", root, strerror(errno));
    if (!S_ISDIR(info.st_mode)) return dlp_fail(DLP_ERR_IO, "%s: not a directory", root);
    scan_state state = {0};
    folder_chain chain = {info.st_dev, info.st_ino, NULL};
    dlp_status status = walk(&state, root, -1, &chain, 0);
    int64_t *class_labels = NULL;
    dlp_dataset *fresh = NULL;
    if (status == DLP_OK) {
        class_labels = malloc((state.class_count ? state.class_count : 1) * sizeof *class_labels);
        if (!class_labels) status = dlp_fail(DLP_ERR_OUT_OF_MEMORY, "%s: out of memory", root);
    }
    if (status == DLP_OK) {
        status = dlp_label_assign((const char *const *)state.classes, state.class_count, class_labels, root);
    }
    if (status == DLP_OK) status = dlp_dataset_create(&fresh);
    for (size_t i = 0; i < state.class_count && status == DLP_OK; i++)
        status = dlp_dataset_set_label_name(fresh, class_labels[i], state.classes[i]);
    if (status == DLP_OK && state.count) qsort(state.files, state.count, sizeof *state.files, compare_files);
    for (size_t i = 0; i < state.count && status == DLP_OK; i++) {
        const found_file *file = &state.files[i];
        int64_t label = file->class_index < 0 ? DLP_LABEL_NONE : class_labels[file->class_index];
        char message[512];
        if (file->stat_errno) snprintf(message, sizeof message, "%s: %s", file->path, strerror(file->stat_errno));
        status = dlp_dataset_append(fresh, file->path, label, file->stat_errno ? DLP_ERR_IO : DLP_OK,
                                    file->stat_errno ? message : NULL);
    }
    free(class_labels);
    free_state(&state);
    if (status != DLP_OK) {
        dlp_dataset_destroy(fresh);
        return status;
    }
    return merge_into(dataset, fresh);
}

/* ---- list files ---------------------------------------------------------- */

enum { MAX_FIELDS = 2 };

/* Splits line (NUL-terminated, modified in place) into at most MAX_FIELDS
 * comma-separated fields with CSV quoting; returns the field count, or -1
 * with *problem set. */
static int split_fields(char *line, char **fields, const char **problem)
{
    int count = 0;
    char *read = line;
    for (;;) {
        while (*read == ' ' || *read == '\t') read++;
        if (count == MAX_FIELDS) {
            *problem = "more than two comma-separated fields (quote a path that holds a comma)";
            return -1;
        }
        char *start = read, *write = read;
        if (*read == '"') {
            read++;
            for (;;) {
                if (!*read) {
                    *problem = "unterminated quote";
                    return -1;
                }
                if (*read == '"') {
                    if (read[1] != '"') break;
                    read++;
                }
                *write++ = *read++;
            }
            read++; /* closing quote */
            while (*read == ' ' || *read == '\t') read++;
            if (*read && *read != ',') {
                *problem = "text after a closing quote";
                return -1;
            }
        } else {
            while (*read && *read != ',') {
                if (*read == '"') {
                    *problem = "a quote inside an unquoted field";
                    return -1;
                }
                *write++ = *read++;
            }
            while (write > start && (write[-1] == ' ' || write[-1] == '\t')) write--;
        }
        char separator = *read;
        *write = '\0';
        fields[count++] = start;
        if (!separator) return count;
        read++; /* past ',' */
    }
}

typedef struct {
    char *path;
    char *label_text; /* NULL: no label */
} list_entry;

static dlp_status malformed(const char *list_path, size_t line_number, const char *problem)
{
    return dlp_fail(DLP_ERR_DATA, "%s:%zu: malformed line: %s (expected \"path\" or \"path,label\")", list_path,
                    line_number, problem);
}

dlp_status dlp_dataset_read_list(dlp_dataset *dataset, const char *list_path)
{
    if (!dataset || !list_path) return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "dlp_dataset_read_list: NULL argument");
    FILE *file = fopen(list_path, "rb");
    if (!file) return dlp_fail(DLP_ERR_IO, "%s: %s", list_path, strerror(errno));
    /* The list's folder, for relative paths ("" when the list is in the current folder). */
    const char *slash = strrchr(list_path, '/');
    size_t folder_length = slash ? (size_t)(slash - list_path) + 1 : 0;
    char *folder = malloc(folder_length + 1);
    list_entry *entries = NULL;
    size_t count = 0, capacity = 0;
    char *line = NULL;
    size_t line_capacity = 0;
    size_t line_number = 0;
    dlp_status status = folder ? DLP_OK : dlp_fail(DLP_ERR_OUT_OF_MEMORY, "%s: out of memory", list_path);
    if (folder) {
        memcpy(folder, list_path, folder_length);
        folder[folder_length] = '\0';
    }
    while (status == DLP_OK) {
        errno = 0;
        ssize_t length = getline(&line, &line_capacity, file);
        if (length < 0) {
            if (ferror(file)) status = dlp_fail(DLP_ERR_IO, "%s: read failed: %s", list_path, strerror(errno));
            break;
        }
        line_number++;
        if (memchr(line, '\0', (size_t)length)) {
            status = malformed(list_path, line_number, "a NUL byte");
            break;
        }
        while (length > 0 && (line[length - 1] == '\n' || line[length - 1] == '\r')) line[--length] = '\0';
        char *text = line;
        if (line_number == 1 && (unsigned char)text[0] == 0xEF && (unsigned char)text[1] == 0xBB &&
            (unsigned char)text[2] == 0xBF)
            text += 3;
        while (*text == ' ' || *text == '\t') text++;
        if (!*text || *text == '#') continue;
        char *fields[MAX_FIELDS];
        const char *problem = NULL;
        int field_count = split_fields(text, fields, &problem);
        if (field_count < 0) {
            status = malformed(list_path, line_number, problem);
            break;
        }
        if (!*fields[0]) {
            status = malformed(list_path, line_number, "empty path");
            break;
        }
        if (field_count == 2 && !*fields[1]) {
            status = malformed(list_path, line_number, "empty label after the comma");
            break;
        }
        status = grow((void **)&entries, &capacity, count, sizeof *entries);
        if (status != DLP_OK) break;
        char *path = fields[0][0] == '/' ? join_path("", fields[0]) : join_path(folder, fields[0]);
        char *label = NULL;
        if (field_count == 2) {
            size_t label_length = strlen(fields[1]);
            label = malloc(label_length + 1);
            if (label) memcpy(label, fields[1], label_length + 1);
        }
        if (!path || (field_count == 2 && !label)) {
            free(path);
            free(label);
            status = dlp_fail(DLP_ERR_OUT_OF_MEMORY, "%s:%zu: out of memory", list_path, line_number);
            break;
        }
        entries[count++] = (list_entry){path, label};
    }
    free(line);
    fclose(file);
    free(folder);

    /* Distinct label texts, then the label rule over them. */
    const char **names = NULL;
    int64_t *labels = NULL;
    size_t name_count = 0;
    dlp_dataset *fresh = NULL;
    if (status == DLP_OK) {
        names = malloc((count ? count : 1) * sizeof *names);
        labels = malloc((count ? count : 1) * sizeof *labels);
        if (!names || !labels) status = dlp_fail(DLP_ERR_OUT_OF_MEMORY, "%s: out of memory", list_path);
    }
    if (status == DLP_OK) {
        for (size_t i = 0; i < count; i++)
            if (entries[i].label_text) names[name_count++] = entries[i].label_text;
        if (name_count) qsort(names, name_count, sizeof *names, compare_names);
        size_t distinct = 0;
        for (size_t i = 0; i < name_count; i++)
            if (distinct == 0 || strcmp(names[distinct - 1], names[i]) != 0) names[distinct++] = names[i];
        name_count = distinct;
        status = dlp_label_assign(names, name_count, labels, list_path);
    }
    if (status == DLP_OK) status = dlp_dataset_create(&fresh);
    for (size_t i = 0; i < name_count && status == DLP_OK; i++)
        status = dlp_dataset_set_label_name(fresh, labels[i], names[i]);
    for (size_t i = 0; i < count && status == DLP_OK; i++) {
        int64_t label = DLP_LABEL_NONE;
        if (entries[i].label_text) {
            /* names are sorted and distinct: binary search */
            size_t low = 0, high = name_count;
            while (low < high) {
                size_t middle = low + (high - low) / 2;
                if (strcmp(names[middle], entries[i].label_text) < 0) low = middle + 1;
                else high = middle;
            }
            label = labels[low];
        }
        status = dlp_dataset_append(fresh, entries[i].path, label, DLP_OK, NULL);
    }
    free(names);
    free(labels);
    for (size_t i = 0; i < count; i++) {
        free(entries[i].path);
        free(entries[i].label_text);
    }
    free(entries);
    if (status != DLP_OK) {
        dlp_dataset_destroy(fresh);
        return status;
    }
    return merge_into(dataset, fresh);
}

/* dataset.c: the dataset table (rows of origin, label, status), label names
 * and their reconciliation (the folder-name rule of DESIGN.md §6), union, subset. */
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "data/dataset_internal.h"

static char *copy_string(const char *text)
{
    size_t length = strlen(text);
    char *copy = malloc(length + 1);
    if (copy) memcpy(copy, text, length + 1);
    return copy;
}

dlp_status dlp_dataset_create(dlp_dataset **dataset)
{
    if (!dataset) return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "dlp_dataset_create: dataset is NULL");
    *dataset = calloc(1, sizeof **dataset);
    if (!*dataset) return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "dlp_dataset_create: out of memory");
    (*dataset)->max_row_label = DLP_LABEL_NONE;
    return DLP_OK;
}

static void free_contents(dlp_dataset *dataset)
{
    for (size_t i = 0; i < dataset->row_count; i++) {
        free(dataset->rows[i].origin);
        free(dataset->rows[i].message);
    }
    free(dataset->rows);
    for (size_t i = 0; i < dataset->name_count; i++) free(dataset->names[i].name);
    free(dataset->names);
}

void dlp_dataset_destroy(dlp_dataset *dataset)
{
    if (!dataset) return;
    free_contents(dataset);
    free(dataset);
}

void dlp_dataset_take(dlp_dataset *target, dlp_dataset *source)
{
    free_contents(target);
    *target = *source;
    free(source);
}

size_t dlp_dataset_size(const dlp_dataset *dataset) { return dataset ? dataset->row_count : 0; }

dlp_status dlp_dataset_row(const dlp_dataset *dataset, size_t index, dlp_row *row)
{
    if (!dataset || !row) return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "dlp_dataset_row: dataset or row is NULL");
    if (index >= dataset->row_count)
        return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "dlp_dataset_row: row %zu out of range (the dataset has %zu rows)",
                        index, dataset->row_count);
    const dlp_dataset_entry *entry = &dataset->rows[index];
    row->origin = entry->origin;
    row->label = entry->label;
    row->status = entry->status;
    row->message = entry->message ? entry->message : "";
    return DLP_OK;
}

dlp_status dlp_dataset_append(dlp_dataset *dataset, const char *origin, int64_t label, dlp_status status,
                              const char *message)
{
    if (dataset->row_count == dataset->row_capacity) {
        size_t capacity = dataset->row_capacity ? dataset->row_capacity : 64;
        if (dataset->row_capacity) {
            if (capacity > SIZE_MAX / 2 / sizeof *dataset->rows)
                return dlp_fail(DLP_ERR_LIMIT, "dataset: too many rows (%zu)", dataset->row_count);
            capacity *= 2;
        }
        dlp_dataset_entry *rows = realloc(dataset->rows, capacity * sizeof *rows);
        if (!rows) return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "dataset: out of memory for %zu rows", capacity);
        dataset->rows = rows;
        dataset->row_capacity = capacity;
    }
    dlp_dataset_entry entry = {copy_string(origin), label, status, NULL};
    if (entry.origin && status != DLP_OK) entry.message = copy_string(message ? message : "");
    if (!entry.origin || (status != DLP_OK && !entry.message)) {
        free(entry.origin);
        return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "dataset: out of memory for row %s", origin);
    }
    dataset->rows[dataset->row_count++] = entry;
    if (label > dataset->max_row_label) dataset->max_row_label = label;
    return DLP_OK;
}

dlp_status dlp_dataset_add(dlp_dataset *dataset, const char *origin, int64_t label)
{
    if (!dataset || !origin) return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "dlp_dataset_add: dataset or origin is NULL");
    if (label < DLP_LABEL_NONE || label > DLP_LABEL_MAX)
        return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "dlp_dataset_add: %s: label %lld outside -1..%lld", origin,
                        (long long)label, (long long)DLP_LABEL_MAX);
    return dlp_dataset_append(dataset, origin, label, DLP_OK, NULL);
}

dlp_status dlp_dataset_set_error(dlp_dataset *dataset, size_t index, dlp_status status, const char *message)
{
    if (!dataset) return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "dlp_dataset_set_error: dataset is NULL");
    if (index >= dataset->row_count)
        return dlp_fail(DLP_ERR_INVALID_ARGUMENT,
                        "dlp_dataset_set_error: row %zu out of range (the dataset has %zu rows)", index,
                        dataset->row_count);
    if (status == DLP_OK)
        return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "dlp_dataset_set_error: row %zu: status must be an error", index);
    dlp_dataset_entry *entry = &dataset->rows[index];
    if (entry->status != DLP_OK) return DLP_OK; /* the first error is the cause; keep it */
    char *copy = copy_string(message ? message : "");
    if (!copy) return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "dlp_dataset_set_error: out of memory");
    entry->status = status;
    entry->message = copy;
    return DLP_OK;
}

size_t dlp_dataset_error_count(const dlp_dataset *dataset)
{
    size_t count = 0;
    for (size_t i = 0; dataset && i < dataset->row_count; i++) count += dataset->rows[i].status != DLP_OK;
    return count;
}

int64_t dlp_dataset_label_count(const dlp_dataset *dataset)
{
    if (!dataset) return 0;
    int64_t max = dataset->max_row_label;
    if (dataset->name_count && dataset->names[dataset->name_count - 1].label > max)
        max = dataset->names[dataset->name_count - 1].label;
    return max + 1;
}

/* Index of label in the sorted name table, or of where it would go. */
static size_t find_name(const dlp_dataset *dataset, int64_t label)
{
    size_t low = 0, high = dataset->name_count;
    while (low < high) {
        size_t middle = low + (high - low) / 2;
        if (dataset->names[middle].label < label) low = middle + 1;
        else high = middle;
    }
    return low;
}

const char *dlp_dataset_label_name(const dlp_dataset *dataset, int64_t label)
{
    if (!dataset) return NULL;
    size_t at = find_name(dataset, label);
    return at < dataset->name_count && dataset->names[at].label == label ? dataset->names[at].name : NULL;
}

dlp_status dlp_dataset_set_label_name(dlp_dataset *dataset, int64_t label, const char *name)
{
    if (!dataset || !name)
        return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "dlp_dataset_set_label_name: dataset or name is NULL");
    if (label < 0 || label > DLP_LABEL_MAX)
        return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "dlp_dataset_set_label_name: label %lld outside 0..%lld",
                        (long long)label, (long long)DLP_LABEL_MAX);
    for (size_t i = 0; i < dataset->name_count; i++)
        if (dataset->names[i].label != label && strcmp(dataset->names[i].name, name) == 0)
            return dlp_fail(DLP_ERR_DATA, "label name \"%s\" is already used by label %lld (given to label %lld)",
                            name, (long long)dataset->names[i].label, (long long)label);
    char *copy = copy_string(name);
    if (!copy) return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "dlp_dataset_set_label_name: out of memory");
    size_t at = find_name(dataset, label);
    if (at < dataset->name_count && dataset->names[at].label == label) {
        free(dataset->names[at].name);
        dataset->names[at].name = copy;
        return DLP_OK;
    }
    if (dataset->name_count >= SIZE_MAX / sizeof *dataset->names - 1) {
        free(copy);
        return dlp_fail(DLP_ERR_LIMIT, "dlp_dataset_set_label_name: too many names");
    }
    dlp_label_name *names = realloc(dataset->names, (dataset->name_count + 1) * sizeof *names);
    if (!names) {
        free(copy);
        return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "dlp_dataset_set_label_name: out of memory");
    }
    dataset->names = names;
    memmove(names + at + 1, names + at, (dataset->name_count - at) * sizeof *names);
    names[at].label = label;
    names[at].name = copy;
    dataset->name_count++;
    return DLP_OK;
}

dlp_status dlp_dataset_copy_names(dlp_dataset *target, const dlp_dataset *source)
{
    for (size_t i = 0; i < source->name_count; i++)
        DLP_TRY(dlp_dataset_set_label_name(target, source->names[i].label, source->names[i].name));
    return DLP_OK;
}

int dlp_label_parse_integer(const char *name, int64_t *value)
{
    int64_t result = 0;
    if (!*name) return 0;
    for (const char *c = name; *c; c++) {
        if (*c < '0' || *c > '9') return 0;
        result = result * 10 + (*c - '0');
        if (result > DLP_LABEL_MAX) return 0;
    }
    *value = result;
    return 1;
}

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

dlp_status dlp_label_assign(const char *const *names, size_t count, int64_t *labels, const char *what)
{
    int all_integers = 1;
    for (size_t i = 0; i < count && all_integers; i++) all_integers = dlp_label_parse_integer(names[i], &labels[i]);
    if (all_integers) {
        for (size_t i = 0; i < count; i++)
            for (size_t j = i + 1; j < count; j++)
                if (labels[i] == labels[j])
                    return dlp_fail(DLP_ERR_DATA, "%s: class names \"%s\" and \"%s\" both mean label %lld", what,
                                    names[i], names[j], (long long)labels[i]);
        return DLP_OK;
    }
    if (count > SIZE_MAX / sizeof(const char *))
        return dlp_fail(DLP_ERR_LIMIT, "%s: too many class names", what);
    const char **sorted = malloc((count ? count : 1) * sizeof *sorted);
    if (!sorted) return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "%s: out of memory for %zu class names", what, count);
    memcpy(sorted, names, count * sizeof *sorted);
    qsort(sorted, count, sizeof *sorted, compare_strings);
    for (size_t i = 0; i < count; i++) {
        /* Binary search: the rank of names[i] among the sorted names. */
        size_t low = 0, high = count;
        while (low < high) {
            size_t middle = low + (high - low) / 2;
            if (strcmp(sorted[middle], names[i]) < 0) low = middle + 1;
            else high = middle;
        }
        labels[i] = (int64_t)low;
    }
    free(sorted);
    return DLP_OK;
}

/* Names are the decimal spellings of their labels: "integer mode". */
static int names_are_own_integers(const dlp_dataset *dataset)
{
    for (size_t i = 0; i < dataset->name_count; i++) {
        int64_t value;
        if (!dlp_label_parse_integer(dataset->names[i].name, &value) || value != dataset->names[i].label) return 0;
    }
    return 1;
}

static int same_names(const dlp_dataset *a, const dlp_dataset *b)
{
    if (a->name_count != b->name_count) return 0;
    for (size_t i = 0; i < a->name_count; i++)
        if (a->names[i].label != b->names[i].label || strcmp(a->names[i].name, b->names[i].name) != 0) return 0;
    return 1;
}

static dlp_status append_rows(dlp_dataset *out, const dlp_dataset *source, const int64_t *label_map)
{
    for (size_t i = 0; i < source->row_count; i++) {
        const dlp_dataset_entry *row = &source->rows[i];
        int64_t label = row->label;
        if (label_map && label >= 0) label = label_map[find_name(source, label)];
        DLP_TRY(dlp_dataset_append(out, row->origin, label, row->status, row->message));
    }
    return DLP_OK;
}

/* Union when ids are kept: names must agree label by label. */
static dlp_status union_keep_labels(const dlp_dataset *a, const dlp_dataset *b, dlp_dataset *out)
{
    DLP_TRY(dlp_dataset_copy_names(out, a));
    for (size_t i = 0; i < b->name_count; i++) {
        const char *existing = dlp_dataset_label_name(a, b->names[i].label);
        if (existing && strcmp(existing, b->names[i].name) != 0)
            return dlp_fail(DLP_ERR_DATA, "dataset union: label %lld is named \"%s\" in the first dataset and \"%s\" in "
                            "the second", (long long)b->names[i].label, existing, b->names[i].name);
        if (!existing) DLP_TRY(dlp_dataset_set_label_name(out, b->names[i].label, b->names[i].name));
    }
    DLP_TRY(append_rows(out, a, NULL));
    return append_rows(out, b, NULL);
}

static dlp_status check_all_named(const dlp_dataset *dataset, const char *which)
{
    for (size_t i = 0; i < dataset->row_count; i++) {
        int64_t label = dataset->rows[i].label;
        if (label >= 0 && !dlp_dataset_label_name(dataset, label))
            return dlp_fail(DLP_ERR_DATA, "dataset union: row %zu (%s) of the %s dataset has label %lld, which has no "
                            "name to match with the other dataset's class names", i, dataset->rows[i].origin, which,
                            (long long)label);
    }
    return DLP_OK;
}

/* Union by names: the label rule applied to the union of both name sets. */
static dlp_status union_by_names(const dlp_dataset *a, const dlp_dataset *b, dlp_dataset *out)
{
    DLP_TRY(check_all_named(a, "first"));
    DLP_TRY(check_all_named(b, "second"));
    size_t total = a->name_count + b->name_count; /* both tables are in memory: no overflow */
    const char **names = malloc((total ? total : 1) * sizeof *names);
    int64_t *labels = malloc((total ? total : 1) * sizeof *labels);
    int64_t *map_a = malloc((a->name_count ? a->name_count : 1) * sizeof *map_a);
    int64_t *map_b = malloc((b->name_count ? b->name_count : 1) * sizeof *map_b);
    dlp_status status = DLP_OK;
    if (!names || !labels || !map_a || !map_b) {
        status = dlp_fail(DLP_ERR_OUT_OF_MEMORY, "dataset union: out of memory");
        goto done;
    }
    size_t distinct = 0;
    for (size_t i = 0; i < a->name_count; i++) names[distinct++] = a->names[i].name;
    for (size_t i = 0; i < b->name_count; i++) {
        size_t j = 0;
        while (j < a->name_count && strcmp(a->names[j].name, b->names[i].name) != 0) j++;
        if (j == a->name_count) names[distinct++] = b->names[i].name;
    }
    status = dlp_label_assign(names, distinct, labels, "dataset union");
    if (status != DLP_OK) goto done;
    for (size_t i = 0; i < distinct && status == DLP_OK; i++)
        status = dlp_dataset_set_label_name(out, labels[i], names[i]);
    if (status != DLP_OK) goto done;
    for (size_t i = 0; i < a->name_count; i++) map_a[i] = labels[i];
    for (size_t i = 0; i < b->name_count; i++) {
        size_t j = 0;
        while (strcmp(names[j], b->names[i].name) != 0) j++;
        map_b[i] = labels[j];
    }
    status = append_rows(out, a, map_a);
    if (status == DLP_OK) status = append_rows(out, b, map_b);
done:
    free(names);
    free(labels);
    free(map_a);
    free(map_b);
    return status;
}

dlp_status dlp_dataset_union(const dlp_dataset *a, const dlp_dataset *b, dlp_dataset **out)
{
    if (!a || !b || !out) return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "dlp_dataset_union: NULL argument");
    *out = NULL;
    dlp_dataset *result = NULL;
    DLP_TRY(dlp_dataset_create(&result));
    dlp_status status;
    if ((names_are_own_integers(a) && names_are_own_integers(b)) || same_names(a, b))
        status = union_keep_labels(a, b, result);
    else
        status = union_by_names(a, b, result);
    if (status != DLP_OK) {
        dlp_dataset_destroy(result);
        return status;
    }
    *out = result;
    return DLP_OK;
}

dlp_status dlp_dataset_subset(const dlp_dataset *dataset, const size_t *indices, size_t count, dlp_dataset **out)
{
    if (!dataset || (!indices && count) || !out)
        return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "dlp_dataset_subset: NULL argument");
    *out = NULL;
    for (size_t i = 0; i < count; i++)
        if (indices[i] >= dataset->row_count)
            return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "dlp_dataset_subset: index %zu is %zu, the dataset has %zu rows",
                            i, indices[i], dataset->row_count);
    dlp_dataset *result = NULL;
    DLP_TRY(dlp_dataset_create(&result));
    dlp_status status = dlp_dataset_copy_names(result, dataset);
    for (size_t i = 0; i < count && status == DLP_OK; i++) {
        const dlp_dataset_entry *row = &dataset->rows[indices[i]];
        status = dlp_dataset_append(result, row->origin, row->label, row->status, row->message);
    }
    if (status != DLP_OK) {
        dlp_dataset_destroy(result);
        return status;
    }
    *out = result;
    return DLP_OK;
}

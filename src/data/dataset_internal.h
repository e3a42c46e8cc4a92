/* dataset_internal.h: the dataset table's layout and the label-naming rule,
 * shared by dataset.c, scan.c and split.c. */
#ifndef DLP_SRC_DATA_DATASET_INTERNAL_H
#define DLP_SRC_DATA_DATASET_INTERNAL_H

#include "dlp/dataset.h"

typedef struct {
    char *origin;
    int64_t label;
    dlp_status status;
    char *message; /* NULL when status is DLP_OK */
} dlp_dataset_entry;

typedef struct {
    int64_t label;
    char *name;
} dlp_label_name;

struct dlp_dataset {
    dlp_dataset_entry *rows;
    size_t row_count, row_capacity;
    dlp_label_name *names; /* sorted by label, labels unique, names unique */
    size_t name_count;
    int64_t max_row_label; /* -1 when no row has a label */
};

/* Appends a row, copying origin and message (message NULL when ok). */
dlp_status dlp_dataset_append(dlp_dataset *dataset, const char *origin, int64_t label, dlp_status status,
                              const char *message);

/* Copies the label names of source into target (which has none). */
dlp_status dlp_dataset_copy_names(dlp_dataset *target, const dlp_dataset *source);

/* Moves the contents of source into target (whose old contents are freed) and
 * destroys source's handle. */
void dlp_dataset_take(dlp_dataset *target, dlp_dataset *source);

/* 1 if name is a decimal integer spelling (ASCII digits, value <= DLP_LABEL_MAX). */
int dlp_label_parse_integer(const char *name, int64_t *value);

/* The label rule: names[0..count-1] are distinct. If all are integers, each
 * gets its value (two spellings of one value are DLP_ERR_DATA, naming both,
 * with `what` as the context); otherwise the names sorted bytewise get 0..count-1. */
dlp_status dlp_label_assign(const char *const *names, size_t count, int64_t *labels, const char *what);

#endif

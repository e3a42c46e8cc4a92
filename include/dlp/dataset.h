/* dlp/dataset.h: the dataset table (one row per image: origin, label, status),
 * built from a folder tree or a list file, combined, subset and split at random. */
#ifndef DLP_DATASET_H
#define DLP_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "dlp/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Labels are -1 (no label) or 0..DLP_LABEL_MAX (Spark's labels are doubles
 * holding class indices; 2^31-1 keeps every index an exact int and a Java int). */
#define DLP_LABEL_NONE (-1)
#define DLP_LABEL_MAX INT64_C(2147483647)

typedef struct dlp_dataset dlp_dataset;

/* One row, as dlp_dataset_row returns it. The strings belong to the dataset
 * and stay valid until the dataset is changed or destroyed. */
typedef struct {
    const char *origin;  /* the file's path as found (root joined with the relative path) */
    int64_t label;       /* DLP_LABEL_NONE (-1) when the row has no label */
    dlp_status status;   /* DLP_OK, or why the row failed (it keeps failing to the end) */
    const char *message; /* "" when status is DLP_OK */
} dlp_row;

dlp_status dlp_dataset_create(dlp_dataset **dataset);
void dlp_dataset_destroy(dlp_dataset *dataset);
size_t dlp_dataset_size(const dlp_dataset *dataset);
dlp_status dlp_dataset_row(const dlp_dataset *dataset, size_t index, dlp_row *row);

/* Appends a row (status DLP_OK). label: -1 or 0..DLP_LABEL_MAX; it may be unnamed. */
dlp_status dlp_dataset_add(dlp_dataset *dataset, const char *origin, int64_t label);

/* Marks row index as failed (status != DLP_OK). A row keeps its first error to
 * the end: a later call on a failed row changes nothing and returns DLP_OK. */
dlp_status dlp_dataset_set_error(dlp_dataset *dataset, size_t index, dlp_status status, const char *message);

/* Counts rows that failed (status != DLP_OK). */
size_t dlp_dataset_error_count(const dlp_dataset *dataset);

/* Class folders: each first-level sub-folder of root is a class; its regular
 * files, found recursively, are its rows; regular files directly under root
 * are rows without a label (-1). Rows are appended in bytewise order of their
 * paths (like `find | LC_ALL=C sort`). Names starting with '.' (files and
 * folders) are skipped. Symbolic links are followed (stat), and a link to a
 * folder that is already being walked (a loop) is skipped; an entry that
 * cannot be stat'ed (a dangling link) becomes a row with status DLP_ERR_IO.
 * Fifos, sockets and devices are skipped. No file is opened: there is no
 * filtering by extension or content; a file that is not an image fails later,
 * at decoding, as an error row.
 * Labels: if every class folder name is a decimal integer (ASCII digits only,
 * value <= DLP_LABEL_MAX, e.g. "0".."9"), the integer is the label and the
 * names are kept (two spellings of one integer, "7" and "07", are an error);
 * otherwise the names sorted bytewise get labels 0..K-1 (Keras'
 * flow_from_directory sorts the same way). Scanning into a non-empty dataset
 * appends as dlp_dataset_union would. A missing or unreadable folder is
 * DLP_ERR_IO naming the path; on failure the dataset is unchanged. */
dlp_status dlp_dataset_scan_directory(dlp_dataset *dataset, const char *root);

/* List file: one row per line, "path" or "path,label"; blank lines and lines
 * whose first non-blank character is '#' are skipped, a UTF-8 byte order mark
 * and CR before LF are ignored, spaces and tabs around unquoted fields are
 * trimmed. A field may be double-quoted as in CSV ("a,b.png" with "" for a
 * quote) to hold a comma. Relative paths are resolved against the list file's
 * folder. Labels are integers or names, given ids by the scan rule above. A
 * malformed line is DLP_ERR_DATA naming the file and the line number; on
 * failure the dataset is unchanged. */
dlp_status dlp_dataset_read_list(dlp_dataset *dataset, const char *list_path);

/* One more than the largest label in use or named (0 when there is none). */
int64_t dlp_dataset_label_count(const dlp_dataset *dataset);
/* The class name of a label, or NULL if it has none. */
const char *dlp_dataset_label_name(const dlp_dataset *dataset, int64_t label);
/* Names a label (replacing its name). Names are unique within a dataset:
 * a name already used by another label is DLP_ERR_DATA. */
dlp_status dlp_dataset_set_label_name(dlp_dataset *dataset, int64_t label, const char *name);

/* Rows of a, then rows of b (errors included). Labels are reconciled by name:
 * - when every name of both is the decimal spelling of its own label (or
 *   there are no names), or when a and b have identical name tables, labels
 *   are kept; one label named differently in a and b is DLP_ERR_DATA naming both;
 * - otherwise the scan rule is applied to the union of the names (so the union
 *   of two scans equals the scan of the merged tree) and rows are relabelled
 *   through their names; a labelled row whose label has no name is DLP_ERR_DATA. */
dlp_status dlp_dataset_union(const dlp_dataset *a, const dlp_dataset *b, dlp_dataset **out);

/* Spark's randomSplit semantics (Dataset.randomSplit): weights (positive,
 * finite) are normalized and cumulated into bounds [lb_j, ub_j) (the last ub
 * is exactly 1); row i goes to split j iff lb_j <= u_i < ub_j, where
 *   u_i = (splitmix64(seed ^ splitmix64(i)) >> 11) * 2^-53
 * and splitmix64(x) is Vigna's SplitMix64 output for state x:
 *   z = x + 0x9E3779B97F4A7C15; z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
 *   z = (z ^ (z >> 27)) * 0x94D049BB133111EB; return z ^ (z >> 31).
 * Split sizes are therefore random; the same seed gives the same split on any
 * machine and thread count. stratified != 0: exact per-class proportions: the
 * rows of each label (-1 is a group too) ordered by (u_i, i) are cut into
 * parts of n_c * w_j / sum(w) rows rounded by largest remainder (ties to the
 * lower j), so the parts sum to n_c. Rows keep their order, status and
 * errors; every split keeps the label names. splits[0..split_count-1]
 * receive new datasets (nothing is allocated on failure). */
dlp_status dlp_dataset_split(const dlp_dataset *dataset, const double *weights, int split_count, uint64_t seed,
                             int stratified, dlp_dataset **splits);

/* A new dataset with rows indices[0..count-1] (in that order, repeats
 * allowed) and the label names. */
dlp_status dlp_dataset_subset(const dlp_dataset *dataset, const size_t *indices, size_t count, dlp_dataset **out);

/* The uniform draw u_i of the split above, for callers that reproduce it. */
double dlp_dataset_split_draw(uint64_t seed, uint64_t index);

#ifdef __cplusplus
}
#endif
#endif

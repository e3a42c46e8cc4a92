/* check.h: the assertions every C test suite uses. A failed CHECK prints
 * file:line and the expression, counts the failure and carries on, so one run
 * shows every broken case; main returns check_summary(). */
#ifndef DLP_TESTS_CHECK_H
#define DLP_TESTS_CHECK_H

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlp/core.h"
#include "dlp/device.h"
#include "dlp/graph.h"
#include "dlp/tensor.h"

static int check_failures;
static int check_count;

#define CHECK(condition)                                                                                               \
    do {                                                                                                               \
        check_count++;                                                                                                 \
        if (!(condition)) {                                                                                            \
            check_failures++;                                                                                          \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #condition);                              \
        }                                                                                                              \
    } while (0)

/* Checks a dlp_status call succeeded, printing dlp_last_error() if not. */
#define CHECK_OK(call)                                                                                                 \
    do {                                                                                                               \
        check_count++;                                                                                                 \
        dlp_status check_status_ = (call);                                                                             \
        if (check_status_ != DLP_OK) {                                                                                 \
            check_failures++;                                                                                          \
            fprintf(stderr, "%s:%d: %s failed (%s): %s\n", __FILE__, __LINE__, #call,                                  \
                    dlp_status_name(check_status_), dlp_last_error());                                                 \
        }                                                                                                              \
    } while (0)

/* Checks a call fails with the given status and a message containing needle. */
#define CHECK_FAILS(call, expected_status, needle)                                                                     \
    do {                                                                                                               \
        check_count++;                                                                                                 \
        dlp_status check_status_ = (call);                                                                             \
        if (check_status_ != (expected_status) || !strstr(dlp_last_error(), (needle))) {                               \
            check_failures++;                                                                                          \
            fprintf(stderr, "%s:%d: %s: expected %s with \"%s\", got %s: \"%s\"\n", __FILE__, __LINE__, #call,         \
                    dlp_status_name(expected_status), (needle), dlp_status_name(check_status_), dlp_last_error());    \
        }                                                                                                              \
    } while (0)

#define CHECK_NEAR(actual, expected, tolerance)                                                                        \
    do {                                                                                                               \
        check_count++;                                                                                                 \
        double check_a_ = (double)(actual), check_e_ = (double)(expected);                                             \
        if (!(fabs(check_a_ - check_e_) <= (tolerance))) {                                                             \
            check_failures++;                                                                                          \
            fprintf(stderr, "%s:%d: %s = %.9g, expected %.9g (tolerance %g)\n", __FILE__, __LINE__, #actual, check_a_, \
                    check_e_, (double)(tolerance));                                                                    \
        }                                                                                                              \
    } while (0)

/* Environment paths the CTest harness sets (see tests/CMakeLists.txt). */
static inline const char *check_env(const char *name)
{
    const char *value = getenv(name);
    if (!value) {
        fprintf(stderr, "environment variable %s is not set: run the suite through ctest\n", name);
        exit(2);
    }
    return value;
}

/* Relative L2 error of actual against expected: ||actual - expected|| / ||expected||,
 * in double; the absolute L2 error when expected is all zero. NaN anywhere
 * makes it NaN, so a bound check on it fails. */
static inline double check_relative_l2(const float *actual, const float *expected, size_t count)
{
    double difference = 0, norm = 0;
    for (size_t i = 0; i < count; i++) {
        double d = (double)actual[i] - expected[i];
        difference += d * d;
        norm += (double)expected[i] * expected[i];
    }
    return norm > 0 ? sqrt(difference / norm) : sqrt(difference);
}

/* A whole file (malloc'ed, with a 0 byte after its *size bytes), or NULL. */
static inline unsigned char *check_read_file(const char *path, size_t *size)
{
    FILE *file = fopen(path, "rb");
    if (!file) return NULL;
    fseek(file, 0, SEEK_END);
    long length = ftell(file);
    fseek(file, 0, SEEK_SET);
    unsigned char *bytes = length >= 0 ? (unsigned char *)malloc((size_t)length + 1) : NULL; /* C++ suites too */
    *size = bytes ? fread(bytes, 1, (size_t)length, file) : 0;
    if (bytes) bytes[*size] = 0;
    fclose(file);
    return bytes;
}

/* Calls visit(path, name, context) for each file of folder whose name ends
 * in suffix, in the folder's order; returns how many (a missing folder is a
 * failed check). */
static inline size_t check_each_file(const char *folder, const char *suffix,
                                     void (*visit)(const char *path, const char *name, void *context), void *context)
{
    DIR *dir = opendir(folder);
    CHECK(dir != NULL);
    size_t count = 0, suffix_length = strlen(suffix);
    for (struct dirent *entry; dir && (entry = readdir(dir));) {
        size_t length = strlen(entry->d_name);
        if (length <= suffix_length || strcmp(entry->d_name + length - suffix_length, suffix) != 0) continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", folder, entry->d_name);
        visit(path, entry->d_name, context);
        count++;
    }
    if (dir) closedir(dir);
    return count;
}

/* GPU suites: exits 77 (CTest's "skipped") with the reason when no CUDA
 * device can be used (dlp_device_count fails, naming it, when there is none). */
static inline void check_skip_without_cuda(void)
{
    int count = 0;
    if (dlp_device_count(&count) == DLP_OK) return;
    printf("skipped: %s\n", dlp_last_error());
    exit(77);
}

/* Sets a graph node's weight slot to float data of that shape. */
static inline void check_set_weight(dlp_graph *graph, int node, const char *slot, int ndim, const int64_t *shape,
                                    float *data)
{
    dlp_named_tensor tensor = {.name = slot, .dtype = DLP_DTYPE_F32, .ndim = ndim, .data = data};
    tensor.element_count = 1;
    for (int d = 0; d < ndim; d++) tensor.shape[d] = shape[d], tensor.element_count *= (size_t)shape[d];
    tensor.nbytes = tensor.element_count * sizeof(float);
    CHECK_OK(dlp_graph_set_weight(graph, node, slot, &tensor));
}

static inline int check_summary(const char *suite)
{
    printf("%s: %d checks, %d failed\n", suite, check_count, check_failures);
    return check_failures ? 1 : 0;
}

#endif

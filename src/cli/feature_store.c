/* feature_store.c: fit's training rows in memory up to a budget, then in an
 * unlinked scratch file mapped read-only (see feature_store.h). */
#include "cli/feature_store.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cli/images.h"
#include "core/status.h"

enum { SCRATCH_BUFFER_BYTES = 1 << 20 };

dlp_status cli_feature_store_init(cli_feature_store *store, size_t dim, size_t expected_rows)
{
    memset(store, 0, sizeof *store);
    store->dim = dim ? dim : 1;
    store->expected_rows = expected_rows;
    return cli_chunk_rows(SIZE_MAX / 2, store->dim, &store->memory_rows);
}

static dlp_status scratch_error(const cli_feature_store *store, const char *what)
{
    const char *reason = errno ? strerror(errno) : "write error";
    double mib = (double)store->expected_rows * (double)store->dim * sizeof(float) / (1024.0 * 1024.0);
    return dlp_fail(DLP_ERR_IO, "%s: cannot %s the training features (%s); set TMPDIR to a folder with room for "
                    "%zu rows x %zu floats (%.1f MiB)", store->scratch_path, what, reason, store->expected_rows,
                    store->dim, mib);
}

/* Moves the rows held in memory to a new scratch file; every later row is written there. */
static dlp_status spill(cli_feature_store *store)
{
    const char *folder = getenv("TMPDIR");
    if (!folder || !*folder) folder = "/tmp";
    snprintf(store->scratch_path, sizeof store->scratch_path, "%s/dlp-fit-features-XXXXXX", folder);
    errno = 0;
    int fd = mkstemp(store->scratch_path);
    if (fd < 0) return scratch_error(store, "create a scratch file for");
    unlink(store->scratch_path); /* gone when the process ends, however it ends */
    store->scratch = fdopen(fd, "w+b");
    if (!store->scratch) {
        close(fd);
        return scratch_error(store, "open a scratch file for");
    }
    setvbuf(store->scratch, NULL, _IOFBF, SCRATCH_BUFFER_BYTES);
    errno = 0;
    if (store->count && fwrite(store->memory, sizeof(float) * store->dim, store->count, store->scratch) != store->count)
        return scratch_error(store, "write");
    free(store->memory);
    store->memory = NULL;
    store->memory_capacity = 0;
    return DLP_OK;
}

static dlp_status grow(void **buffer, size_t *capacity, size_t needed, size_t limit, size_t element_bytes)
{
    if (needed <= *capacity) return DLP_OK;
    size_t wanted = *capacity ? *capacity * 2 : 1024;
    if (wanted > limit) wanted = limit;
    if (wanted < needed) wanted = needed;
    void *grown = realloc(*buffer, wanted * element_bytes);
    if (!grown) return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "out of memory for %zu training rows", wanted);
    *buffer = grown;
    *capacity = wanted;
    return DLP_OK;
}

dlp_status cli_feature_store_append(cli_feature_store *store, const float *features, double label)
{
    if (store->count >= SIZE_MAX / sizeof(double) / 2 || store->count >= SIZE_MAX / sizeof(float) / store->dim - 1)
        return dlp_fail(DLP_ERR_LIMIT, "%zu training rows of %zu features overflow size_t", store->count, store->dim);
    DLP_TRY(grow((void **)&store->labels, &store->label_capacity, store->count + 1, SIZE_MAX / sizeof(double),
                 sizeof(double)));
    if (!store->scratch && store->count == store->memory_rows) DLP_TRY(spill(store));
    if (store->scratch) {
        errno = 0;
        if (fwrite(features, sizeof(float), store->dim, store->scratch) != store->dim)
            return scratch_error(store, "write");
    } else {
        DLP_TRY(grow((void **)&store->memory, &store->memory_capacity, store->count + 1, store->memory_rows,
                     sizeof(float) * store->dim));
        memcpy(store->memory + store->count * store->dim, features, sizeof(float) * store->dim);
    }
    store->labels[store->count++] = label;
    return DLP_OK;
}

dlp_status cli_feature_store_finish(cli_feature_store *store, const float **features, const double **labels)
{
    *labels = store->labels;
    if (!store->scratch) {
        *features = store->memory;
        return DLP_OK;
    }
    errno = 0;
    if (fflush(store->scratch) != 0 || ferror(store->scratch)) return scratch_error(store, "write");
    store->mapped_bytes = store->count * store->dim * sizeof(float);
    void *mapped = mmap(NULL, store->mapped_bytes, PROT_READ, MAP_SHARED, fileno(store->scratch), 0);
    if (mapped == MAP_FAILED) {
        store->mapped_bytes = 0;
        return scratch_error(store, "map");
    }
    store->mapped = mapped;
    *features = store->mapped;
    return DLP_OK;
}

int cli_feature_store_spilled(const cli_feature_store *store)
{
    return store->scratch != NULL;
}

void cli_feature_store_free(cli_feature_store *store)
{
    if (store->mapped) munmap(store->mapped, store->mapped_bytes);
    if (store->scratch) fclose(store->scratch);
    free(store->memory);
    free(store->labels);
    memset(store, 0, sizeof *store);
}

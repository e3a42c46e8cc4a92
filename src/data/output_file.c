/* output_file.c: all-or-nothing output files (temporary file, then rename(2),
 * which replaces the target atomically within one file system). */
#include "data/output_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/status.h"

static atomic_uint temporary_counter;

/* An existing target that is not a regular file: opened for writing as it is. */
static dlp_status open_in_place(dlp_output_file *output, const char *path, const struct stat *target)
{
    if (S_ISDIR(target->st_mode)) return dlp_fail(DLP_ERR_IO, "%s: is a folder, expected a file name", path);
    output->file = fopen(path, "wb");
    if (!output->file) return dlp_fail(DLP_ERR_IO, "%s: cannot open for writing: %s", path, strerror(errno));
    return DLP_OK;
}

dlp_status dlp_output_file_open(dlp_output_file *output, const char *path)
{
    output->file = NULL;
    output->path = path;
    output->temporary_path = NULL;
    output->resolved_path = NULL;
    if (!path || !*path) return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "output path is NULL or empty");
    struct stat target, link;
    if (stat(path, &target) == 0) {
        if (!S_ISREG(target.st_mode)) return open_in_place(output, path, &target);
        if (lstat(path, &link) == 0 && S_ISLNK(link.st_mode)) {
            output->resolved_path = realpath(path, NULL);
            if (!output->resolved_path)
                return dlp_fail(DLP_ERR_IO, "%s: cannot resolve the link: %s", path, strerror(errno));
            path = output->resolved_path;
        }
    }
    size_t length = strlen(path);
    if (length > SIZE_MAX - 64) return dlp_fail(DLP_ERR_LIMIT, "%s: path too long", path);
    char *temporary = malloc(length + 64);
    if (!temporary) return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "%s: out of memory", path);
    for (int attempt = 0; attempt < 100; attempt++) {
        unsigned serial = atomic_fetch_add(&temporary_counter, 1u);
        snprintf(temporary, length + 64, "%s.tmp.%ld.%u", path, (long)getpid(), serial);
        /* O_EXCL: never write through someone else's file or link; mode 0666
         * minus the umask, the permissions fopen would give the target. */
        int fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0) {
            if (errno == EEXIST) continue;
            dlp_status status = dlp_fail(DLP_ERR_IO, "%s: cannot create %s: %s", path, temporary, strerror(errno));
            free(temporary);
            return dlp_output_file_abort(output, status);
        }
        output->file = fdopen(fd, "wb");
        if (!output->file) {
            dlp_status status = dlp_fail(DLP_ERR_IO, "%s: %s", path, strerror(errno));
            close(fd);
            unlink(temporary);
            free(temporary);
            return dlp_output_file_abort(output, status);
        }
        output->temporary_path = temporary;
        return DLP_OK;
    }
    free(temporary);
    return dlp_output_file_abort(output, dlp_fail(DLP_ERR_IO, "%s: cannot find a free temporary file name", path));
}

dlp_status dlp_output_file_abort(dlp_output_file *output, dlp_status status)
{
    if (output->file) fclose(output->file);
    if (output->temporary_path) unlink(output->temporary_path);
    free(output->temporary_path);
    free(output->resolved_path);
    output->file = NULL;
    output->temporary_path = NULL;
    output->resolved_path = NULL;
    return status;
}

dlp_status dlp_output_file_commit(dlp_output_file *output)
{
    FILE *file = output->file;
    output->file = NULL;
    int failed = fflush(file) != 0 || ferror(file);
    int saved_errno = errno;
    if (fclose(file) != 0 && !failed) {
        failed = 1;
        saved_errno = errno;
    }
    if (failed) {
        dlp_status status = dlp_fail(DLP_ERR_IO, "%s: write failed: %s", output->path,
                                     saved_errno ? strerror(saved_errno) : "stream error");
        return dlp_output_file_abort(output, status);
    }
    if (!output->temporary_path) return dlp_output_file_abort(output, DLP_OK); /* written in place */
    const char *target = output->resolved_path ? output->resolved_path : output->path;
    if (rename(output->temporary_path, target) != 0) {
        dlp_status status = dlp_fail(DLP_ERR_IO, "%s: cannot rename %s onto it: %s", target,
                                     output->temporary_path, strerror(errno));
        return dlp_output_file_abort(output, status);
    }
    free(output->temporary_path);
    free(output->resolved_path);
    output->temporary_path = output->resolved_path = NULL;
    return DLP_OK;
}

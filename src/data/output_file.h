/* output_file.h: writes that appear whole or not at all: a temporary file in
 * the target's folder, renamed onto the target once written and closed.
 * An existing target that is not a regular file (/dev/null, /dev/stdout, a
 * FIFO, a shell's process substitution) cannot be replaced that way, and
 * renaming over it would replace the device node itself: it is written in
 * place. A symbolic link to a file is followed: the file it names is
 * replaced, and the link stays. */
#ifndef DLP_SRC_DATA_OUTPUT_FILE_H
#define DLP_SRC_DATA_OUTPUT_FILE_H

#include <stdio.h>

#include "dlp/core.h"

typedef struct {
    FILE *file;
    const char *path;
    char *temporary_path; /* NULL when writing in place */
    char *resolved_path;  /* the file a symbolic link names, renamed onto; NULL: path */
} dlp_output_file;

/* Creates the temporary file; output->file is ready for writing. */
dlp_status dlp_output_file_open(dlp_output_file *output, const char *path);

/* Checks every write succeeded, closes and renames onto the path; on any
 * failure removes the temporary file and fails naming the path. */
dlp_status dlp_output_file_commit(dlp_output_file *output);

/* Closes and removes the temporary file (after a failed write; in place,
 * what was written stays); returns status. */
dlp_status dlp_output_file_abort(dlp_output_file *output, dlp_status status);

#endif

/* status.c: status names and the per-thread last-error message. */
#include "core/status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

enum { MESSAGE_BYTES = 1024 };

/* Per thread, like errno: a library must not share mutable state between the
 * threads of its caller, and a message belongs to the call that failed. */
static _Thread_local char last_message[MESSAGE_BYTES];

const char *dlp_status_name(dlp_status status)
{
    switch (status) {
    case DLP_OK: return "ok";
    case DLP_ERR_INVALID_ARGUMENT: return "invalid argument";
    case DLP_ERR_IO: return "i/o";
    case DLP_ERR_FORMAT: return "format";
    case DLP_ERR_UNSUPPORTED: return "unsupported";
    case DLP_ERR_LIMIT: return "limit";
    case DLP_ERR_OUT_OF_MEMORY: return "out of memory";
    case DLP_ERR_MODEL: return "model";
    case DLP_ERR_DEVICE: return "device";
    case DLP_ERR_DATA: return "data";
    case DLP_ERR_INTERNAL: return "internal";
    }
    return "unknown";
}

const char *dlp_last_error(void) { return last_message; }

dlp_status dlp_fail(dlp_status status, const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    vsnprintf(last_message, sizeof last_message, fmt, args);
    va_end(args);
    return status;
}

dlp_status dlp_fail_context(dlp_status status, const char *fmt, ...)
{
    char previous[MESSAGE_BYTES];
    memcpy(previous, last_message, sizeof previous);
    va_list args;
    va_start(args, fmt);
    int n = vsnprintf(last_message, sizeof last_message, fmt, args);
    va_end(args);
    /* Append ": previous", truncated to fit (a long message keeps its start). */
    size_t used = n < 0 ? 0 : (size_t)n < sizeof last_message ? (size_t)n : sizeof last_message - 1;
    const char *parts[2] = {": ", previous};
    for (int p = 0; p < 2; p++)
        for (const char *c = parts[p]; *c && used + 1 < sizeof last_message; c++) last_message[used++] = *c;
    last_message[used] = '\0';
    return status;
}

const char *dlp_version_string(void) { return DLP_VERSION_STRING; }
int dlp_version(void) { return DLP_VERSION; }

/* status.h: internal helpers to fail with a message (see dlp/core.h). */
#ifndef DLP_SRC_CORE_STATUS_H
#define DLP_SRC_CORE_STATUS_H

#include "dlp/core.h"

#if defined(__GNUC__)
#define DLP_PRINTF(fmt_index, first_arg) __attribute__((format(printf, fmt_index, first_arg)))
#else
#define DLP_PRINTF(fmt_index, first_arg)
#endif

/* Records the formatted message for dlp_last_error() and returns status.
 * Usage: return dlp_fail(DLP_ERR_FORMAT, "%s: header says %d channels, expected 1..4", path, c); */
dlp_status dlp_fail(dlp_status status, const char *fmt, ...) DLP_PRINTF(2, 3);

/* Prepends "context: " to the current message (for adding a file name or row
 * to an error raised deeper down) and returns status unchanged. */
dlp_status dlp_fail_context(dlp_status status, const char *fmt, ...) DLP_PRINTF(2, 3);

/* Propagates a failure: DLP_TRY(call) returns the call's status if not DLP_OK. */
#define DLP_TRY(call)                                                                                                  \
    do {                                                                                                               \
        dlp_status dlp_try_status_ = (call);                                                                           \
        if (dlp_try_status_ != DLP_OK) return dlp_try_status_;                                                         \
    } while (0)

#endif

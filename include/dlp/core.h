/* dlp/core.h: status codes, error messages and version of libdlp.
 *
 * Every libdlp call that can fail returns a dlp_status. On failure the call also
 * records a message (what failed, where: the file, field or row, and what was
 * expected) that dlp_last_error() returns in the same thread, until the next
 * failing call in that thread. The library never prints, exits or aborts. */
#ifndef DLP_CORE_H
#define DLP_CORE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DLP_VERSION_MAJOR 0
#define DLP_VERSION_MINOR 1
#define DLP_VERSION_PATCH 0
#define DLP_VERSION_STRING "0.1.0"
/* One integer that compares: 0.1.0 -> 100. */
#define DLP_VERSION (DLP_VERSION_MAJOR * 10000 + DLP_VERSION_MINOR * 100 + DLP_VERSION_PATCH)

typedef enum dlp_status {
    DLP_OK = 0,
    DLP_ERR_INVALID_ARGUMENT, /* a caller passed a value outside the documented range */
    DLP_ERR_IO,               /* a file could not be opened, read, written or mapped */
    DLP_ERR_FORMAT,           /* the bytes are not what the format requires (corrupt, truncated) */
    DLP_ERR_UNSUPPORTED,      /* well-formed, but a feature dlp does not implement */
    DLP_ERR_LIMIT,            /* a declared size exceeds a documented limit */
    DLP_ERR_OUT_OF_MEMORY,
    DLP_ERR_MODEL,            /* weights or model description do not match what was expected */
    DLP_ERR_DEVICE,           /* no usable GPU: driver, device, library, or device memory */
    DLP_ERR_DATA,             /* input data rejected (labels, NaN, empty split, dims) */
    DLP_ERR_INTERNAL          /* a bug in dlp: please report it */
} dlp_status;

/* Short stable name of a status, e.g. "format". Never NULL. */
const char *dlp_status_name(dlp_status status);

/* Message of the last failure in this thread ("" if none). The pointer stays
 * valid until the next failing libdlp call in this thread. */
const char *dlp_last_error(void);

/* Version of the library actually linked (may differ from the header's). */
const char *dlp_version_string(void);
int dlp_version(void);

#ifdef __cplusplus
}
#endif
#endif

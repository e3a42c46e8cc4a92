/* Core: status names, error messages, version, the thread pool. */
#include <stdatomic.h>

#include "check.h"
#include "core/status.h"
#include "core/thread_pool.h"
#include "dlp/dlp.h"

static void add_index(void *context, size_t index, int worker)
{
    (void)worker;
    atomic_fetch_add((atomic_ullong *)context, (unsigned long long)index + 1);
}

int main(void)
{
    CHECK(strcmp(dlp_status_name(DLP_OK), "ok") == 0);
    CHECK(strcmp(dlp_status_name(DLP_ERR_FORMAT), "format") == 0);
    CHECK(strcmp(dlp_version_string(), DLP_VERSION_STRING) == 0);
    CHECK(dlp_version() == DLP_VERSION);

    CHECK(dlp_fail(DLP_ERR_IO, "%s: cannot open", "a.png") == DLP_ERR_IO);
    CHECK(strcmp(dlp_last_error(), "a.png: cannot open") == 0);
    CHECK(dlp_fail_context(DLP_ERR_IO, "row %d", 7) == DLP_ERR_IO);
    CHECK(strcmp(dlp_last_error(), "row 7: a.png: cannot open") == 0);

    for (int threads = 1; threads <= 4; threads++) {
        dlp_thread_pool *pool = NULL;
        CHECK_OK(dlp_thread_pool_create(threads, &pool));
        CHECK(dlp_thread_pool_size(pool) == threads);
        for (size_t count = 0; count < 50; count += 7) {
            atomic_ullong sum;
            atomic_init(&sum, 0);
            dlp_thread_pool_run(pool, count, add_index, &sum);
            CHECK(atomic_load(&sum) == count * (count + 1) / 2);
        }
        dlp_thread_pool_destroy(pool);
    }
    return check_summary("core");
}

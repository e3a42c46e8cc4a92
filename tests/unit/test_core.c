/* Core: status names, error messages, version, the thread pool. */
#include <stdatomic.h>

#include "check.h"
#include "core/env.h"
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

    /* Environment switches: unset or empty keep the fallback, "0" is off, anything else on. */
    unsetenv("DLP_TEST_SWITCH");
    CHECK(dlp_env_switch("DLP_TEST_SWITCH", true) && !dlp_env_switch("DLP_TEST_SWITCH", false));
    setenv("DLP_TEST_SWITCH", "", 1);
    CHECK(dlp_env_switch("DLP_TEST_SWITCH", true) && !dlp_env_switch("DLP_TEST_SWITCH", false));
    setenv("DLP_TEST_SWITCH", "0", 1);
    CHECK(!dlp_env_switch("DLP_TEST_SWITCH", true) && !dlp_env_switch("DLP_TEST_SWITCH", false));
    const char *on[] = {"1", "yes", "on", "00"};
    for (int i = 0; i < 4; i++) {
        setenv("DLP_TEST_SWITCH", on[i], 1);
        CHECK(dlp_env_switch("DLP_TEST_SWITCH", true) && dlp_env_switch("DLP_TEST_SWITCH", false));
    }
    unsetenv("DLP_TEST_SWITCH");

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
    dlp_tensor_list *list = NULL;
    CHECK_OK(dlp_tensor_list_create(&list));
    int64_t shape[2] = {2, 3};
    float values[6] = {1, 2, 3, 4, 5, 6};
    dlp_named_tensor *added = NULL;
    CHECK_OK(dlp_tensor_list_add(list, "dense/kernel", DLP_DTYPE_F32, 2, shape, values, &added));
    CHECK(added && added->nbytes == 24 && added->element_count == 6 && ((float *)added->data)[5] == 6.0f);
    CHECK_FAILS(dlp_tensor_list_add(list, "dense/kernel", DLP_DTYPE_F32, 2, shape, values, NULL),
                DLP_ERR_INVALID_ARGUMENT, "added twice");
    CHECK_OK(dlp_tensor_list_add(list, "scalar", DLP_DTYPE_I64, 0, NULL, NULL, NULL));
    CHECK(dlp_tensor_list_count(list) == 2 && dlp_tensor_list_find(list, "scalar")->nbytes == 8);
    CHECK(dlp_tensor_list_find(list, "missing") == NULL);
    CHECK_OK(dlp_tensor_list_set_metadata(list, "arch", "resnet50"));
    CHECK_OK(dlp_tensor_list_set_metadata(list, "arch", "vgg16"));
    CHECK(strcmp(dlp_tensor_list_get_metadata(list, "arch"), "vgg16") == 0 && dlp_tensor_list_metadata_count(list) == 1);
    dlp_tensor_list_destroy(list);
    dlp_dtype dtype;
    CHECK_OK(dlp_dtype_from_name("BF16", &dtype));
    CHECK(dtype == DLP_DTYPE_BF16 && dlp_dtype_size(dtype) == 2);
    CHECK_FAILS(dlp_dtype_from_name("F33", &dtype), DLP_ERR_FORMAT, "F33");
    return check_summary("core");
}

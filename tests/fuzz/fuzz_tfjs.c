/* fuzz_tfjs.c: dlp_tfjs_load on an arbitrary model.json beside one fixed
 * 64-byte shard ("group1-shard1of1.bin"): no crash, no leak, no huge
 * allocation, and a success holds tensors no larger than the shard allows. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dlp/dlp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char dir[128], model[192];
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/dev/shm/dlp-fuzz-tfjs-%d", (int)getpid());
        mkdir(dir, 0700);
        char shard[192];
        snprintf(shard, sizeof shard, "%s/group1-shard1of1.bin", dir);
        FILE *file = fopen(shard, "wb");
        if (!file) return 0;
        for (int i = 0; i < 64; i++) fputc(i * 37 + 11, file);
        fclose(file);
        snprintf(model, sizeof model, "%s/model.json", dir);
    }
    FILE *file = fopen(model, "wb");
    if (!file) return 0;
    if (size && fwrite(data, 1, size, file) != size) {
        fclose(file);
        return 0;
    }
    fclose(file);
    dlp_tensor_list *list = NULL;
    if (dlp_tfjs_load(model, &list) == DLP_OK) {
        for (size_t i = 0; i < dlp_tensor_list_count(list); i++) {
            const dlp_named_tensor *tensor = dlp_tensor_list_at(list, i);
            if (tensor->nbytes != tensor->element_count * dlp_dtype_size(tensor->dtype)) abort();
            /* Each group reads the one 64-byte shard: at most 64 elements. */
            if (tensor->element_count > 64) abort();
        }
        dlp_tensor_list_destroy(list);
    }
    return 0;
}

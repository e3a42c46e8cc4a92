/* fuzz_list.c: dataset list files (path[,label]) on arbitrary text. */
#include "dlp/dlp.h"
#include "fuzz_tables.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write_input(data, size, ".list");
    if (!path) return 0;
    dlp_dataset *dataset = NULL;
    if (dlp_dataset_create(&dataset) != DLP_OK) return 0;
    if (dlp_dataset_read_list(dataset, path) == DLP_OK) {
        for (size_t i = 0; i < dlp_dataset_size(dataset); i++) {
            dlp_row row;
            dlp_dataset_row(dataset, i, &row);
        }
        for (int64_t label = 0; label < dlp_dataset_label_count(dataset) && label < 1000; label++)
            dlp_dataset_label_name(dataset, label);
    }
    dlp_dataset_destroy(dataset);
    return 0;
}

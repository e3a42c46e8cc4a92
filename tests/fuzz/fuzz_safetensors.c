/* fuzz_safetensors.c: dlp_safetensors_parse on arbitrary bytes; every tensor
 * and metadata entry of an accepted file is read in full. */
#include <string.h>

#include "dlp/dlp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dlp_safetensors *file = NULL;
    if (dlp_safetensors_parse(data, size, "fuzz", &file) != DLP_OK) return 0;
    volatile unsigned sum = 0;
    for (size_t i = 0; i < dlp_safetensors_count(file); i++) {
        const dlp_named_tensor *tensor = dlp_safetensors_at(file, i);
        const unsigned char *bytes = tensor->data;
        for (size_t b = 0; b < tensor->nbytes; b++) sum += bytes[b];
        sum += (unsigned)strlen(tensor->name);
    }
    for (size_t i = 0; i < dlp_safetensors_metadata_count(file); i++) {
        const char *key, *value;
        dlp_safetensors_metadata_at(file, i, &key, &value);
        sum += (unsigned)(strlen(key) + strlen(value));
    }
    dlp_tensor_list *list = NULL;
    if (dlp_safetensors_to_list(file, &list) == DLP_OK) dlp_tensor_list_destroy(list);
    dlp_safetensors_close(file);
    return 0;
}

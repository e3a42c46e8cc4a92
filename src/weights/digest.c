/* digest.c: the digest that pins a featurizer's weights in a pipeline. It
 * hashes the weights themselves, not the file they came in, so one set of
 * weights read from a Keras .h5, a TF.js model or a safetensors file has one
 * digest, and a pipeline fitted from one form accepts the others. */
#include <string.h>

#include "core/sha256.h"
#include "core/status.h"
#include "dlp/weights.h"

void dlp_weights_digest(const dlp_tensor_list *list, char hex[65])
{
    dlp_sha256 hash;
    dlp_sha256_init(&hash);
    for (size_t i = 0; i < dlp_tensor_list_count(list); i++) {
        const dlp_named_tensor *tensor = dlp_tensor_list_at(list, i);
        dlp_sha256_update(&hash, tensor->name, strlen(tensor->name) + 1);
        for (int d = 0; d < tensor->ndim; d++) {
            int64_t dim = tensor->shape[d];
            dlp_sha256_update(&hash, &dim, sizeof dim);
        }
        dlp_sha256_update(&hash, tensor->data, tensor->nbytes);
    }
    unsigned char digest[32];
    dlp_sha256_final(&hash, digest);
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        hex[2 * i] = digits[digest[i] >> 4];
        hex[2 * i + 1] = digits[digest[i] & 15];
    }
    hex[64] = 0;
}

dlp_status dlp_weights_file_digest(const char *path, char hex[65])
{
    dlp_tensor_list *list = NULL;
    DLP_TRY(dlp_weights_load_any(path, &list));
    dlp_weights_digest(list, hex);
    dlp_tensor_list_destroy(list);
    return DLP_OK;
}

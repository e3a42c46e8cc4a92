/* device_layout.c: host-side planning for device backends (see device_layout.h). */
#include "graph/device_layout.h"

#include <stdlib.h>
#include <string.h>

#include "core/status.h"

void device_hwio_to_ohwi(const float *hwio, int kernel_h, int kernel_w, int in_channels, int out_channels,
                         float *ohwi)
{
    size_t taps = (size_t)kernel_h * kernel_w;
    for (size_t tap = 0; tap < taps; tap++)
        for (int ci = 0; ci < in_channels; ci++) {
            const float *row = hwio + (tap * in_channels + ci) * out_channels;
            for (int co = 0; co < out_channels; co++) ohwi[((size_t)co * taps + tap) * in_channels + ci] = row[co];
        }
}

void device_padding_split(int input, int kernel, int stride, dlp_padding padding, int *before, int *after)
{
    *before = *after = 0;
    if (padding != DLP_PAD_SAME) return;
    int output = dlp_conv_output_size(input, kernel, stride, padding);
    int total = (output - 1) * stride + kernel - input;
    if (total < 0) total = 0;
    *before = total / 2;
    *after = total - total / 2;
}

device_conv_key device_conv_key_make(int batch, dlp_shape input, int out_channels, int kernel_h, int kernel_w,
                                     int pad_h, int pad_w, int stride_h, int stride_w, int math)
{
    device_conv_key key;
    memset(&key, 0, sizeof key);
    key.batch = batch, key.in_h = input.h, key.in_w = input.w, key.in_c = input.c;
    key.out_c = out_channels, key.kernel_h = kernel_h, key.kernel_w = kernel_w;
    key.pad_h = pad_h, key.pad_w = pad_w, key.stride_h = stride_h, key.stride_w = stride_w;
    key.math = math;
    return key;
}

static int find_index(const device_conv_cache *cache, const device_conv_key *key)
{
    for (int i = 0; i < cache->count; i++)
        if (memcmp(&cache->keys[i], key, sizeof *key) == 0) return i;
    return -1;
}

bool device_conv_cache_find(const device_conv_cache *cache, const device_conv_key *key, device_conv_choice *choice)
{
    int i = find_index(cache, key);
    if (i < 0) return false;
    *choice = cache->choices[i];
    return true;
}

dlp_status device_conv_cache_put(device_conv_cache *cache, const device_conv_key *key,
                                 const device_conv_choice *choice)
{
    int i = find_index(cache, key);
    if (i >= 0) {
        cache->choices[i] = *choice;
        return DLP_OK;
    }
    if (cache->count == cache->capacity) {
        int capacity = cache->capacity ? cache->capacity * 2 : 16;
        device_conv_key *keys = realloc(cache->keys, (size_t)capacity * sizeof *keys);
        if (keys) cache->keys = keys;
        device_conv_choice *choices = keys ? realloc(cache->choices, (size_t)capacity * sizeof *choices) : NULL;
        if (!keys || !choices) return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "convolution algorithm cache: out of memory");
        cache->choices = choices;
        cache->capacity = capacity;
    }
    cache->keys[cache->count] = *key;
    cache->choices[cache->count] = *choice;
    cache->count++;
    return DLP_OK;
}

void device_conv_cache_clear(device_conv_cache *cache)
{
    free(cache->keys);
    free(cache->choices);
    memset(cache, 0, sizeof *cache);
}

/* device_layout.c: host-side planning for device backends (see device_layout.h). */
#include "graph/device_layout.h"

#include <stdlib.h>
#include <math.h>
#include <string.h>

#include "core/status.h"
#include "graph/device_extra_layout.h"
#include "graph/plan_internal.h"

void device_hwio_to_ohwi(const float *hwio, int kernel_h, int kernel_w, int in_channels, int out_channels,
                         float *ohwi)
{
    device_hwio_to_ohwi_padded(hwio, kernel_h, kernel_w, in_channels, in_channels, out_channels, ohwi);
}

void device_hwio_to_ohwi_padded(const float *hwio, int kernel_h, int kernel_w, int in_channels, int padded_in_channels,
                                int out_channels, float *ohwi)
{
    size_t taps = (size_t)kernel_h * kernel_w;
    for (size_t tap = 0; tap < taps; tap++)
        for (int ci = 0; ci < padded_in_channels; ci++)
            for (int co = 0; co < out_channels; co++)
                ohwi[((size_t)co * taps + tap) * padded_in_channels + ci] =
                    ci < in_channels ? hwio[(tap * in_channels + ci) * out_channels + co] : 0.0f;
}

int device_conv_channels(int in_channels, bool half, bool pad_channels)
{
    if (!half || !pad_channels || in_channels % 8 == 0) return in_channels;
    return (in_channels + 7) / 8 * 8;
}

size_t device_workspace_cap(size_t given, bool full_fp32, size_t free_bytes)
{
    if (given) return given;
    size_t share = free_bytes / 4;
    return full_fp32 && share > DEVICE_WORKSPACE_DEFAULT_CAP ? share : DEVICE_WORKSPACE_DEFAULT_CAP;
}

bool device_zero_pad_folds(const plan_step *consumer, const dlp_zero_pad_params *pad)
{
    if (pad->top < 0 || pad->bottom < 0 || pad->left < 0 || pad->right < 0) return false;
    switch (consumer->op) {
    case DLP_OP_CONV2D:
        return consumer->params.conv.padding == DLP_PAD_VALID && pad->top == pad->bottom && pad->left == pad->right;
    case DLP_OP_MAX_POOL:
    case DLP_OP_AVG_POOL: return consumer->params.pool.padding == DLP_PAD_VALID;
    default: return false;
    }
}

bool device_writes_strided(const plan_step *producer, bool half_storage)
{
    if (device_extra_step_handled(producer)) return false;
    switch (producer->op) {
    case DLP_OP_CONV2D:
        if (half_storage && producer->params.conv.filters % 8 != 0) return false;
        return producer->params.conv.activation < DLP_ACT_SOFTMAX;
    case DLP_OP_MAX_POOL:
    case DLP_OP_AVG_POOL:
    case DLP_OP_CONCAT: return true;
    default: return false;
    }
}

void device_conv_pads(dlp_shape input, const dlp_conv2d_params *conv, const dlp_zero_pad_params *input_pad, int *top,
                      int *bottom, int *left, int *right)
{
    dlp_shape padded = input;
    if (input_pad) {
        padded.h += input_pad->top + input_pad->bottom;
        padded.w += input_pad->left + input_pad->right;
    }
    device_padding_split(padded.h, conv->kernel_h, conv->stride_h, conv->padding, top, bottom);
    device_padding_split(padded.w, conv->kernel_w, conv->stride_w, conv->padding, left, right);
    if (input_pad) {
        *top += input_pad->top, *bottom += input_pad->bottom;
        *left += input_pad->left, *right += input_pad->right;
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

/* Round to nearest even on the bits: a float's exponent is rebiased (127 ->
 * 15) and its 23-bit mantissa cut to 10; values under 2^-14 become half
 * subnormals (multiples of 2^-24). */
static uint16_t half_bits(float value)
{
    uint32_t x;
    memcpy(&x, &value, sizeof x);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    uint32_t magnitude = x & 0x7fffffffu;
    if (magnitude > 0x7f800000u) return sign | 0x7e00u | (uint16_t)((magnitude >> 13) & 0x3ffu); /* NaN */
    if (magnitude >= 0x477ff000u) return sign | 0x7c00u; /* >= 65520 (half of the gap above 65504): infinity */
    if (magnitude >= 0x38800000u) {                        /* normal: >= 2^-14 */
        uint32_t bits = (magnitude >> 13) - (112u << 10), rest = magnitude & 0x1fffu;
        if (rest > 0x1000u || (rest == 0x1000u && (bits & 1u))) bits++; /* a carry moves into the exponent */
        return sign | (uint16_t)bits;
    }
    int exponent = (int)(magnitude >> 23);
    if (exponent < 102) return sign; /* under 2^-25: rounds to zero */
    uint32_t mantissa = (magnitude & 0x7fffffu) | 0x800000u;
    int shift = 126 - exponent; /* value = mantissa * 2^(exponent - 150), in units of 2^-24 */
    uint32_t bits = mantissa >> shift, rest = mantissa & ((1u << shift) - 1), half_unit = 1u << (shift - 1);
    if (rest > half_unit || (rest == half_unit && (bits & 1u))) bits++;
    return sign | (uint16_t)bits;
}

static uint16_t bfloat16_bits(float value)
{
    uint32_t x;
    memcpy(&x, &value, sizeof x);
    if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((x >> 16) | 0x40u); /* NaN stays quiet */
    x += 0x7fffu + ((x >> 16) & 1u);
    return (uint16_t)(x >> 16);
}

void device_float_to_half(const float *in, uint16_t *out, size_t count)
{
    for (size_t i = 0; i < count; i++) out[i] = half_bits(in[i]);
}

void device_float_to_bfloat16(const float *in, uint16_t *out, size_t count)
{
    for (size_t i = 0; i < count; i++) out[i] = bfloat16_bits(in[i]);
}

float device_half_to_float(uint16_t bits)
{
    int exponent = (bits >> 10) & 31, mantissa = bits & 1023;
    float value;
    if (exponent == 0) value = ldexpf((float)mantissa, -24); /* subnormal: multiples of 2^-24 */
    else if (exponent == 31) value = mantissa ? NAN : INFINITY;
    else value = ldexpf((float)(mantissa | 1024), exponent - 25);
    return (bits & 0x8000u) ? -value : value;
}

float device_bfloat16_to_float(uint16_t bits)
{
    uint32_t x = (uint32_t)bits << 16; /* bf16 is a float's upper half */
    float value;
    memcpy(&value, &x, sizeof value);
    return value;
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

device_conv_key device_conv_key_with(device_conv_key key, int storage, int search)
{
    key.storage = storage;
    key.search = search;
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

dlp_status dlp_cuda_precision_from_name(const char *name, dlp_cuda_precision *precision, bool *allow_tf32)
{
    static const struct {
        const char *name;
        dlp_cuda_precision precision;
        bool tf32;
    } names[] = {{"fp32", DLP_CUDA_FP32, false}, {"tf32", DLP_CUDA_FP32, true}, {"fp16", DLP_CUDA_FP16, false},
                 {"bf16", DLP_CUDA_BF16, false}};
    for (size_t i = 0; name && i < sizeof names / sizeof names[0]; i++)
        if (strcmp(name, names[i].name) == 0) {
            *precision = names[i].precision;
            *allow_tf32 = names[i].tf32;
            return DLP_OK;
        }
    return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "precision '%s': expected fp32, tf32, fp16 or bf16",
                    name ? name : "(null)");
}

const char *dlp_cuda_precision_name(dlp_cuda_precision precision, bool allow_tf32)
{
    switch (precision) {
    case DLP_CUDA_FP32: return allow_tf32 ? "tf32" : "fp32";
    case DLP_CUDA_FP16: return "fp16";
    case DLP_CUDA_BF16: return "bf16";
    }
    return "?";
}

/* Steps reading value, plus one when it is a plan output. */
static int value_uses(const dlp_plan *plan, int value)
{
    int uses = 0;
    for (int s = 0; s < plan->step_count; s++)
        for (int i = 0; i < plan->steps[s].input_count; i++) uses += plan->steps[s].inputs[i] == value;
    for (int o = 0; o < plan->output_count; o++) uses += plan->output_values[o] == value;
    return uses;
}

/* Whether two values' arena ranges (at max_batch) overlap. */
static bool values_overlap(const dlp_plan *plan, int a, int b)
{
    size_t a0 = plan->values[a].offset_floats, b0 = plan->values[b].offset_floats;
    size_t a1 = a0 + plan->values[a].floats_per_image * (size_t)plan->max_batch;
    size_t b1 = b0 + plan->values[b].floats_per_image * (size_t)plan->max_batch;
    return a0 < b1 && b0 < a1;
}

bool device_residual_pattern(const dlp_plan *plan, int s, int *shortcut_value, int *output_value, bool *relu)
{
    if (s < 0 || s + 1 >= plan->step_count) return false;
    const plan_step *conv = &plan->steps[s], *add = &plan->steps[s + 1];
    const plan_step *after = s + 2 < plan->step_count ? &plan->steps[s + 2] : NULL;
    if (conv->op != DLP_OP_CONV2D || conv->params.conv.activation != DLP_ACT_LINEAR || !conv->weights[1]) return false;
    if (add->op != DLP_OP_ADD || add->input_count != 2) return false;
    int shortcut = add->inputs[0] == conv->output ? add->inputs[1] : add->inputs[1] == conv->output ? add->inputs[0] : -1;
    if (shortcut < 0 || shortcut == conv->output || value_uses(plan, conv->output) != 1) return false;
    *relu = after && after->op == DLP_OP_ACTIVATION && after->params.activation == DLP_ACT_RELU &&
            after->inputs[0] == add->output && value_uses(plan, add->output) == 1;
    int output = *relu ? after->output : add->output;
    /* A slice of a concatenation's buffer is written with a pixel stride the residual call does not take. */
    if (plan->values[output].parent >= 0 || plan->values[shortcut].parent >= 0) return false;
    *shortcut_value = shortcut;
    *output_value = output;
    return true;
}

bool device_residual_match(const dlp_plan *plan, int s, int *shortcut_value, int *output_value, bool *direct,
                           bool *relu)
{
    if (!device_residual_pattern(plan, s, shortcut_value, output_value, relu)) return false;
    int output = *output_value, shortcut = *shortcut_value;
    *direct = !values_overlap(plan, output, plan->steps[s].inputs[0]) &&
              (!values_overlap(plan, output, shortcut) ||
               plan->values[output].offset_floats == plan->values[shortcut].offset_floats);
    return true;
}

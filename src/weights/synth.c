/* synth.c: dlp-synth-v1, deterministic synthetic weights (identical to
 * tests/oracle/synth.py; change it only on both sides).
 *
 * For weight-bearing layer k (0-based, Keras' topological order: model.layers
 * filtered to layers with weights) and slot s (the weight's short name: kernel,
 * bias, gamma, beta, moving_mean, moving_variance, depthwise_kernel,
 * pointwise_kernel), key = FNV-1a-64 of the UTF-8 string "k/s" (e.g.
 * "12/kernel"; offset basis 0xcbf29ce484222325, prime 0x100000001b3).
 * Element i (in Keras' own layout, row-major) uses
 *     u = (splitmix64(key + i) >> 11) * 2^-53
 * with splitmix64(x): z = x + 0x9e3779b97f4a7c15;
 *     z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
 *     z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
 *     return z ^ (z >> 31)                       (all arithmetic mod 2^64).
 * Values, computed in double and stored as float32:
 *     kernel, depthwise_kernel, pointwise_kernel: (2u - 1) * sqrt(6 / fan_in),
 *         fan_in = product of all dims but the last (dense [in,out] -> in,
 *         conv HWIO -> h*w*in, depthwise [h,w,in,mult] -> h*w*in,
 *         pointwise [1,1,in,out] -> in);
 *     bias, beta, moving_mean: (2u - 1) * 0.1;
 *     gamma: 0.8 + 0.4u;
 *     moving_variance: 0.5 + u. */
#include "weights/synth.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"

typedef enum { SLOT_KERNEL, SLOT_CENTRED, SLOT_GAMMA, SLOT_VARIANCE, SLOT_UNKNOWN } slot_kind;

static slot_kind slot_kind_of(const char *slot)
{
    if (!slot) return SLOT_UNKNOWN;
    if (!strcmp(slot, "kernel") || !strcmp(slot, "depthwise_kernel") || !strcmp(slot, "pointwise_kernel"))
        return SLOT_KERNEL;
    if (!strcmp(slot, "bias") || !strcmp(slot, "beta") || !strcmp(slot, "moving_mean")) return SLOT_CENTRED;
    if (!strcmp(slot, "gamma")) return SLOT_GAMMA;
    if (!strcmp(slot, "moving_variance")) return SLOT_VARIANCE;
    return SLOT_UNKNOWN;
}

static uint64_t fnv1a64(const char *text)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        h ^= *p;
        h *= 0x100000001b3ULL;
    }
    return h;
}

static uint64_t splitmix64(uint64_t x)
{
    uint64_t z = x + 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t synth_key(int layer_index, const char *slot)
{
    char text[96];
    snprintf(text, sizeof text, "%d/%s", layer_index, slot);
    return fnv1a64(text);
}

static double uniform_from_key(uint64_t key, uint64_t element)
{
    return (double)(splitmix64(key + element) >> 11) * 0x1p-53;
}

double dlp_synth_uniform(int layer_index, const char *slot, uint64_t element)
{
    return uniform_from_key(synth_key(layer_index, slot ? slot : ""), element);
}

dlp_status dlp_synth_fill(int layer_index, const char *slot, const int64_t *shape, int ndim, float *out)
{
    slot_kind kind = slot_kind_of(slot);
    if (kind == SLOT_UNKNOWN)
        return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "dlp-synth-v1: unknown slot \"%s\" (expected kernel, bias, gamma, "
                        "beta, moving_mean, moving_variance, depthwise_kernel or pointwise_kernel)", slot ? slot : "(null)");
    if (layer_index < 0) return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "dlp-synth-v1: negative layer index %d", layer_index);
    if (ndim < 0 || ndim > DLP_MAX_DIMS || (ndim > 0 && !shape))
        return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "dlp-synth-v1: %d/%s: ndim %d outside 0..%d", layer_index, slot,
                        ndim, DLP_MAX_DIMS);
    uint64_t count = 1, fan_in = 1;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] < 0)
            return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "dlp-synth-v1: %d/%s: negative dim %lld", layer_index, slot,
                            (long long)shape[d]);
        if (shape[d] > 0 && count > (uint64_t)SIZE_MAX / 4 / (uint64_t)shape[d])
            return dlp_fail(DLP_ERR_LIMIT, "dlp-synth-v1: %d/%s: element count overflows", layer_index, slot);
        count *= (uint64_t)shape[d];
        if (d < ndim - 1) fan_in *= (uint64_t)shape[d];
    }
    if (count > 0 && !out) return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "dlp-synth-v1: %d/%s: NULL output", layer_index, slot);
    uint64_t key = synth_key(layer_index, slot);
    /* fan_in 0 only with an empty tensor, where nothing is written. */
    double limit = kind == SLOT_KERNEL && fan_in > 0 ? sqrt(6.0 / (double)fan_in) : 0.0;
    for (uint64_t i = 0; i < count; i++) {
        double u = uniform_from_key(key, i), v;
        switch (kind) {
        case SLOT_KERNEL: v = (2.0 * u - 1.0) * limit; break;
        case SLOT_CENTRED: v = (2.0 * u - 1.0) * 0.1; break;
        case SLOT_GAMMA: v = 0.8 + 0.4 * u; break;
        default: v = 0.5 + u; break;
        }
        out[i] = (float)v;
    }
    return DLP_OK;
}

dlp_status dlp_synth_tensor_list(const dlp_synth_spec *specs, size_t count, dlp_tensor_list **list)
{
    *list = NULL;
    if (count > 0 && !specs) return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "dlp-synth-v1: NULL spec list");
    dlp_tensor_list *result;
    DLP_TRY(dlp_tensor_list_create(&result));
    dlp_status status = dlp_tensor_list_set_metadata(result, "format", "dlp-synth-v1");
    for (size_t i = 0; i < count && status == DLP_OK; i++) {
        const dlp_synth_spec *spec = &specs[i];
        char name[512];
        int n = spec->layer_name ? snprintf(name, sizeof name, "%s/%s", spec->layer_name, spec->slot ? spec->slot : "")
                                 : snprintf(name, sizeof name, "layer_%d/%s", spec->layer_index,
                                            spec->slot ? spec->slot : "");
        if (n < 0 || (size_t)n >= sizeof name) {
            status = dlp_fail(DLP_ERR_INVALID_ARGUMENT, "dlp-synth-v1: spec %zu: tensor name too long", i);
            break;
        }
        if (slot_kind_of(spec->slot) == SLOT_UNKNOWN) {
            status = dlp_fail(DLP_ERR_INVALID_ARGUMENT, "dlp-synth-v1: %s: unknown slot", name);
            break;
        }
        dlp_named_tensor *tensor;
        status = dlp_tensor_list_add(result, name, DLP_DTYPE_F32, spec->ndim, spec->shape, NULL, &tensor);
        if (status == DLP_OK) status = dlp_synth_fill(spec->layer_index, spec->slot, spec->shape, spec->ndim, tensor->data);
    }
    if (status != DLP_OK) {
        dlp_tensor_list_destroy(result);
        return status;
    }
    *list = result;
    return DLP_OK;
}

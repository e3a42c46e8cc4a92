// test_kernel_items.cu: the CUDA backend's vector depthwise and pooling
// kernels (kernels/graph_ops.cu) run on the host, no GPU needed: each
// kernel's per-item function (a __host__ __device__ function its grid-stride
// loop calls) is called for every item, over NaN-poisoned outputs, in fp32,
// fp16 and bf16 storage.
// Depthwise (3x3, stride 1, multiplier 1): checked against the definition
// summed in float (bias, then the taps inside the image in kernel order,
// over inputs read through the ReLU when one is folded in), rounded to the
// storage type, within one unit in the last place of the storage type (fp32:
// 1e-6 relative, in case the host compiler contracts a multiply-add). The
// unrolled 3x3 kernel (two output pixels per item) and the general one give
// the same bytes, and each gives the same bytes with 32- and 64-bit indices
// (the launcher takes 32 bits when the items fit). Odd and even widths (the
// pair kernel's last pixel alone), one-pixel images, 'same' and 'valid',
// batch 1-3.
// Pooling (max, and TensorFlow's average over the valid inputs; windows 2x2
// and 3x3, strides 1 and 2, TF 'same' padding and a folded zero padding
// whose taps count as zeros): the definition in float (pool_kernel's), the
// same bytes with 32- and 64-bit indices and (3x3) from the unrolled 3x3
// kernel, written with a pixel stride wider than the channels (a
// concatenation's slice), the channels outside the slice left alone.
// What stays unverified without a GPU: the device code itself (the same
// source, compiled for sm_90), the launches, __ldg.
#include "../../kernels/graph_ops.cu"

#include <vector>

#include "check.h"

namespace {

unsigned long long rng_state = 0x2545F4914F6CDD1Dull;

float uniform()
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (float)((rng_state >> 11) * (1.0 / 9007199254740992.0)) * 2.0f - 1.0f;
}

// One unit in the last place of T at |x| (fp16: 10 fraction bits, subnormals
// below 2^-14; bf16: 7 bits, float's range).
template <typename T> float ulp(float x);
template <> float ulp<float>(float x) { return fmaxf(fabsf(x) * 1e-6f, 1e-30f); }
template <> float ulp<__half>(float x) { return ldexpf(1.0f, (int)fmaxf(floorf(log2f(fabsf(x) + 1e-30f)), -14) - 10); }
template <> float ulp<__nv_bfloat16>(float x) { return ldexpf(1.0f, (int)floorf(log2f(fabsf(x) + 1e-30f)) - 7); }

template <typename T> const char *type_name();
template <> const char *type_name<float>() { return "fp32"; }
template <> const char *type_name<__half>() { return "fp16"; }
template <> const char *type_name<__nv_bfloat16>() { return "bf16"; }

struct shape_case {
    int batch, h, w, c;
    bool same, relu, bias;
};

template <typename T, typename Index>
void run_general(const dlp_cuda_window &g, const T *in, const float *kernel, const float *bias, T *out)
{
    for (size_t i = 0; i < depthwise_vector_items<T>(g); i++)
        depthwise_vector_item<T, Index>(g, in, kernel, bias, out, (Index)i);
}

template <typename T, typename Index>
void run_3x3(const dlp_cuda_window &g, const T *in, const float *kernel, const float *bias, T *out)
{
    for (size_t i = 0; i < depthwise_3x3_items<T>(g); i++)
        depthwise_3x3_item<T, Index>(g, in, kernel, bias, out, (Index)i);
}

template <typename T> void check_case(const shape_case &s)
{
    int pad = s.same ? 1 : 0, out_h = s.same ? s.h : s.h - 2, out_w = s.same ? s.w : s.w - 2;
    dlp_cuda_window g = {s.batch, s.h, s.w, s.c, out_h, out_w, s.c, 3, 3, 1, 1, pad, pad, 0, 0, s.relu ? 1 : 0};
    size_t in_count = (size_t)s.batch * s.h * s.w * s.c, out_count = (size_t)s.batch * out_h * out_w * s.c;
    std::vector<T> in(in_count);
    std::vector<float> in_float(in_count), kernel(9 * (size_t)s.c), bias(s.c);
    for (size_t i = 0; i < in_count; i++) {
        in[i] = from_float<T>(uniform());
        in_float[i] = to_float(in[i]);
    }
    for (float &w : kernel) w = uniform();
    for (float &b : bias) b = uniform();
    const float *b = s.bias ? bias.data() : nullptr;
    // The definition, in float.
    std::vector<float> want(out_count);
    for (int n = 0; n < s.batch; n++)
        for (int oy = 0; oy < out_h; oy++)
            for (int ox = 0; ox < out_w; ox++)
                for (int c = 0; c < s.c; c++) {
                    float sum = b ? b[c] : 0.0f;
                    for (int ky = 0; ky < 3; ky++)
                        for (int kx = 0; kx < 3; kx++) {
                            int iy = oy + ky - pad, ix = ox + kx - pad;
                            if (iy < 0 || iy >= s.h || ix < 0 || ix >= s.w) continue;
                            float x = in_float[(((size_t)n * s.h + iy) * s.w + ix) * s.c + c];
                            if (s.relu) x = x > 0.0f ? x : 0.0f;
                            float product = x * kernel[(size_t)(ky * 3 + kx) * s.c + c];
                            sum += product;
                        }
                    want[(((size_t)n * out_h + oy) * out_w + ox) * s.c + c] = to_float(from_float<T>(sum));
                }
    T poison = from_float<T>(NAN);
    std::vector<T> general(out_count, poison), general64(out_count, poison), pair(out_count, poison),
        pair64(out_count, poison);
    run_general<T, unsigned>(g, in.data(), kernel.data(), b, general.data());
    run_general<T, size_t>(g, in.data(), kernel.data(), b, general64.data());
    run_3x3<T, unsigned>(g, in.data(), kernel.data(), b, pair.data());
    run_3x3<T, size_t>(g, in.data(), kernel.data(), b, pair64.data());
    size_t bad = 0;
    double worst = 0;
    for (size_t i = 0; i < out_count; i++) {
        float got = to_float(general[i]), gap = fabsf(got - want[i]);
        if (!(gap <= ulp<T>(want[i]))) bad++;
        if (gap > worst) worst = gap;
    }
    bool same_pair = !memcmp(pair.data(), general.data(), out_count * sizeof(T));
    bool same_64 = !memcmp(general64.data(), general.data(), out_count * sizeof(T)) &&
                   !memcmp(pair64.data(), pair.data(), out_count * sizeof(T));
    printf("%s %dx%dx%dx%d %s%s%s: largest gap %.3g, %zu past one ulp; 3x3 kernel %s; 64-bit index %s\n",
           type_name<T>(), s.batch, s.h, s.w, s.c, s.same ? "same" : "valid", s.relu ? " relu" : "",
           s.bias ? " bias" : "", worst, bad, same_pair ? "same bytes" : "DIFFERS", same_64 ? "same bytes" : "DIFFERS");
    CHECK(bad == 0);
    CHECK(same_pair);
    CHECK(same_64);
}

// Pooling: the window (kh x kw, stride, pads before) over an n x h x w x c
// input; zero_taps: a folded zero padding (taps outside count as zeros).
struct pool_case {
    int batch, h, w, c, kernel, stride, pad_top, pad_left, out_h, out_w;
    bool zero_taps, is_max;
    int extra_channels; /* the slice's buffer is this much wider */
};

template <typename T> void check_pool(const pool_case &p)
{
    int stride_c = p.c + p.extra_channels;
    dlp_cuda_window g = {p.batch, p.h, p.w, p.c, p.out_h, p.out_w, p.c, p.kernel, p.kernel, p.stride, p.stride,
                         p.pad_top, p.pad_left, p.zero_taps ? 1 : 0, stride_c, 0};
    size_t in_count = (size_t)p.batch * p.h * p.w * p.c, pixels = (size_t)p.batch * p.out_h * p.out_w;
    std::vector<T> in(in_count);
    std::vector<float> in_float(in_count);
    for (size_t i = 0; i < in_count; i++) {
        in[i] = from_float<T>(uniform() - 0.5f); /* mostly negative: a zero tap matters to the max */
        in_float[i] = to_float(in[i]);
    }
    std::vector<float> want(pixels * p.c);
    for (size_t pixel = 0; pixel < pixels; pixel++) {
        int ox = (int)(pixel % p.out_w), oy = (int)(pixel / p.out_w % p.out_h);
        size_t n = pixel / ((size_t)p.out_w * p.out_h);
        for (int c = 0; c < p.c; c++) {
            int y0 = oy * p.stride - p.pad_top, x0 = ox * p.stride - p.pad_left;
            float value = p.is_max ? -FLT_MAX : 0.0f;
            int taps = 0;
            for (int y = y0; y < y0 + p.kernel; y++)
                for (int x = x0; x < x0 + p.kernel; x++) {
                    if (y < 0 || y >= p.h || x < 0 || x >= p.w) continue;
                    float v = in_float[((n * p.h + y) * p.w + x) * p.c + c];
                    value = p.is_max ? (v > value ? v : value) : value + v;
                    taps++;
                }
            if (p.zero_taps && taps < p.kernel * p.kernel) {
                if (p.is_max) value = 0.0f > value ? 0.0f : value;
                taps = p.kernel * p.kernel;
            }
            if (!p.is_max) value *= 1.0f / (float)taps;
            want[pixel * p.c + c] = to_float(from_float<T>(value));
        }
    }
    T poison = from_float<T>(NAN);
    std::vector<T> got(pixels * stride_c, poison), got64(pixels * stride_c, poison);
    std::vector<T> unrolled(pixels * stride_c, poison), unrolled64(pixels * stride_c, poison);
    for (size_t i = 0; i < pool_vector_items<T>(g); i++) {
        pool_vector_item<T, unsigned>(g, p.is_max, in.data(), got.data(), (unsigned)i);
        pool_vector_item<T, size_t>(g, p.is_max, in.data(), got64.data(), i);
        if (p.kernel == 3) {
            pool_3x3_item<T, unsigned>(g, p.is_max, in.data(), unrolled.data(), (unsigned)i);
            pool_3x3_item<T, size_t>(g, p.is_max, in.data(), unrolled64.data(), i);
        }
    }
    size_t bad = 0, touched = 0;
    for (size_t pixel = 0; pixel < pixels; pixel++) {
        for (int c = 0; c < p.c; c++) {
            float value = to_float(got[pixel * stride_c + c]), expected = want[pixel * p.c + c];
            if (!(fabsf(value - expected) <= ulp<T>(expected))) bad++;
        }
        for (int c = p.c; c < stride_c; c++) touched += !isnan(to_float(got[pixel * stride_c + c]));
    }
    bool same_64 = !memcmp(got.data(), got64.data(), got.size() * sizeof(T));
    /* The unrolled 3x3 kernel: the general one's bytes, outside the slice too (both poisoned alike). */
    bool same_unrolled = p.kernel != 3 || (!memcmp(unrolled.data(), got.data(), got.size() * sizeof(T)) &&
                                           !memcmp(unrolled64.data(), got.data(), got.size() * sizeof(T)));
    printf("%s %s pool %dx%d s%d %dx%dx%dx%d -> %dx%d pad %d/%d%s%s: %zu past one ulp, %zu outside the slice "
           "written; 64-bit index %s; unrolled 3x3 %s\n",
           type_name<T>(), p.is_max ? "max" : "avg", p.kernel, p.kernel, p.stride, p.batch, p.h, p.w, p.c, p.out_h,
           p.out_w, p.pad_top, p.pad_left, p.zero_taps ? " zero taps" : "", p.extra_channels ? " slice" : "", bad,
           touched, same_64 ? "same bytes" : "DIFFERS",
           p.kernel != 3 ? "n/a" : same_unrolled ? "same bytes" : "DIFFERS");
    CHECK(bad == 0);
    CHECK(touched == 0);
    CHECK(same_64);
    CHECK(same_unrolled);
}

} // namespace

int main()
{
    const shape_case cases[] = {
        {1, 5, 7, 8, true, false, true},   {2, 9, 6, 16, true, true, true},  {3, 1, 1, 8, true, true, false},
        {1, 2, 9, 24, true, false, false}, {2, 4, 3, 8, false, true, true},  {1, 6, 5, 16, false, false, true},
        {2, 19, 19, 32, true, true, false}, {1, 3, 3, 8, false, true, true},
    };
    for (const shape_case &s : cases) {
        check_case<float>(s);
        check_case<__half>(s);
        check_case<__nv_bfloat16>(s);
    }
    /* Xception's 3x3/2 'same' max pool (TF pads an odd size 1 before and after, an even one 0 before and 1 after),
     * InceptionV3's 3x3/1 'same' average, ResNet's folded pad 1 + 3x3/2 'valid' max, a 2x2/2 'valid' average with a
     * wider slice. */
    const pool_case pools[] = {
        {2, 9, 9, 16, 3, 2, 1, 1, 5, 5, false, true, 0},  {1, 8, 10, 8, 3, 2, 0, 0, 4, 5, false, true, 8},
        {2, 7, 6, 16, 3, 1, 1, 1, 7, 6, false, false, 0}, {1, 9, 8, 8, 3, 2, 1, 1, 5, 4, true, true, 0},
        {1, 5, 5, 8, 3, 1, 2, 2, 7, 7, true, false, 16},  {3, 9, 9, 24, 2, 2, 0, 0, 4, 4, false, false, 8},
    };
    for (const pool_case &p : pools) {
        check_pool<float>(p);
        check_pool<__half>(p);
        check_pool<__nv_bfloat16>(p);
    }
    return check_summary("kernel_items");
}

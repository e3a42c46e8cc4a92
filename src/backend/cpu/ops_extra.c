/* ops_extra.c: CPU ops added for users' own Keras models, each matching the
 * tf-keras 2.18 / TensorFlow definition it names, and the naive references
 * the tests hold them to. */
#include <float.h>
#include <math.h>
#include <string.h>

#include "backend/cpu/ops.h"
#include "backend/cpu/ops_extra.h"
#include "core/status.h"

/* tf.nn.selu's constants (Klambauer et al. 2017). */
#define SELU_ALPHA 1.6732632423543772848170429916717
#define SELU_SCALE 1.0507009873554804934193349852946
/* sqrt(2/pi), as tf.nn.gelu(approximate=True). */
#define GELU_TANH_COEFFICIENT 0.7978845608028654

bool cpu_activation_is_extra(dlp_activation activation)
{
    return activation > DLP_ACT_SOFTMAX && activation < DLP_ACT_COUNT;
}

static float softplus(float x)
{
    /* log(1+e^x) without overflow: max(x, 0) + log1p(e^-|x|). */
    return fmaxf(x, 0.0f) + log1pf(expf(-fabsf(x)));
}

static float activate(dlp_activation activation, float x)
{
    switch (activation) {
    case DLP_ACT_ELU: return x > 0.0f ? x : expm1f(x);
    case DLP_ACT_SELU: return (float)SELU_SCALE * (x > 0.0f ? x : (float)SELU_ALPHA * expm1f(x));
    case DLP_ACT_SWISH: return x / (1.0f + expf(-x));
    case DLP_ACT_GELU: return 0.5f * x * (1.0f + erff(x * (float)M_SQRT1_2));
    case DLP_ACT_GELU_TANH:
        return 0.5f * x * (1.0f + tanhf((float)GELU_TANH_COEFFICIENT * (x + 0.044715f * x * x * x)));
    case DLP_ACT_HARD_SIGMOID: return fminf(fmaxf(0.2f * x + 0.5f, 0.0f), 1.0f);
    case DLP_ACT_SOFTPLUS: return softplus(x);
    case DLP_ACT_HARD_SIGMOID_RELU6: return fminf(fmaxf(x + 3.0f, 0.0f), 6.0f) / 6.0f;
    default: return x;
    }
}

void cpu_activation_extra(dlp_activation activation, float *data, size_t elements, int threads)
{
#pragma omp parallel for num_threads(threads) schedule(static)
    for (size_t i = 0; i < elements; i++) data[i] = activate(activation, data[i]);
}

void cpu_relu(const dlp_relu_params *p, const float *in, size_t elements, float *out, int threads)
{
#pragma omp parallel for num_threads(threads) schedule(static)
    for (size_t i = 0; i < elements; i++) {
        float x = in[i];
        float positive = p->threshold != 0.0f ? (x > p->threshold ? x : 0.0f) : fmaxf(x, 0.0f);
        if (p->has_max_value) positive = fminf(fmaxf(positive, 0.0f), p->max_value);
        if (p->negative_slope != 0.0f) positive -= p->negative_slope * fmaxf(p->threshold - x, 0.0f);
        out[i] = positive;
    }
}

void cpu_permute(const dlp_permute_params *p, const float *in, int n, dlp_shape is, float *out, dlp_shape os)
{
    /* Strides of the input axes, read in output order: the innermost loop walks
     * the output contiguously. */
    size_t input_strides[3] = {(size_t)is.w * is.c, (size_t)is.c, 1};
    size_t s0 = input_strides[p->axes[0]], s1 = input_strides[p->axes[1]], s2 = input_strides[p->axes[2]];
    size_t image = dlp_shape_elements(is);
    for (int b = 0; b < n; b++) {
        const float *src = in + (size_t)b * image;
        float *dst = out + (size_t)b * image;
        for (int i = 0; i < os.h; i++)
            for (int j = 0; j < os.w; j++) {
                const float *row = src + i * s0 + j * s1;
                for (int k = 0; k < os.c; k++) *dst++ = row[k * s2];
            }
    }
}

void cpu_crop(const dlp_zero_pad_params *p, const float *in, int n, dlp_shape is, float *out, dlp_shape os)
{
    for (int b = 0; b < n; b++)
        for (int y = 0; y < os.h; y++)
            memcpy(out + (((size_t)b * os.h + y) * os.w) * os.c,
                   in + (((size_t)b * is.h + y + p->top) * is.w + p->left) * is.c, (size_t)os.w * os.c * sizeof(float));
}

void cpu_elementwise(dlp_op op, const float *const *inputs, int input_count, size_t elements, float *out)
{
    if (op == DLP_OP_SUBTRACT) {
        for (size_t e = 0; e < elements; e++) out[e] = inputs[0][e] - inputs[1][e];
        return;
    }
    if (out != inputs[0]) memcpy(out, inputs[0], elements * sizeof(float));
    for (int i = 1; i < input_count; i++) {
        const float *x = inputs[i];
        if (op == DLP_OP_MULTIPLY)
            for (size_t e = 0; e < elements; e++) out[e] *= x[e];
        else if (op == DLP_OP_MAXIMUM)
            for (size_t e = 0; e < elements; e++) out[e] = fmaxf(out[e], x[e]);
        else
            for (size_t e = 0; e < elements; e++) out[e] += x[e];
    }
    /* Keras' Average sums then divides by the count. */
    if (op == DLP_OP_AVERAGE)
        for (size_t e = 0; e < elements; e++) out[e] /= (float)input_count;
}

void cpu_concat_axis(int axis, const float *const *inputs, const dlp_shape *shapes, int input_count, int n,
                     float *out, dlp_shape os)
{
    /* Per image, concatenation along h joins whole images; along w, whole rows. */
    int outer = axis == 0 ? 1 : os.h;
    for (int b = 0; b < n; b++)
        for (int r = 0; r < outer; r++)
            for (int i = 0; i < input_count; i++) {
                size_t chunk = axis == 0 ? dlp_shape_elements(shapes[i]) : (size_t)shapes[i].w * shapes[i].c;
                size_t image = dlp_shape_elements(shapes[i]);
                memcpy(out, inputs[i] + (size_t)b * image + (size_t)r * chunk, chunk * sizeof(float));
                out += chunk;
            }
}

bool cpu_is_extra_op(dlp_op op)
{
    return op >= DLP_OP_RELU && op < DLP_OP_COUNT && op != DLP_OP_RESHAPE;
}

dlp_status cpu_run_extra_step(const plan_step *step, const float *const *inputs, float *out, int n, int threads)
{
    dlp_shape is = step->input_shapes[0], os = step->output_shape;
    size_t elements = (size_t)n * dlp_shape_elements(os);
    switch (step->op) {
    case DLP_OP_RELU: cpu_relu(&step->params.relu, inputs[0], elements, out, threads); return DLP_OK;
    case DLP_OP_PERMUTE: cpu_permute(&step->params.permute, inputs[0], n, is, out, os); return DLP_OK;
    case DLP_OP_CROP: cpu_crop(&step->params.pad, inputs[0], n, is, out, os); return DLP_OK;
    case DLP_OP_SUBTRACT:
    case DLP_OP_MULTIPLY:
    case DLP_OP_AVERAGE:
    case DLP_OP_MAXIMUM: cpu_elementwise(step->op, inputs, step->input_count, elements, out); return DLP_OK;
    case DLP_OP_CONCAT_AXIS:
        cpu_concat_axis(step->params.axis, inputs, step->input_shapes, step->input_count, n, out, os);
        return DLP_OK;
    case DLP_OP_CHANNEL_AFFINE:
        cpu_channel_affine(inputs[0], (size_t)n * os.h * os.w, os.c, step->weights[0], step->weights[1], out, threads);
        return DLP_OK;
    default: return dlp_fail(DLP_ERR_INTERNAL, "cpu backend: op %s is not an extra op", dlp_op_name(step->op));
    }
}

/* ---- Naive references ---- */

double cpu_activation_extra_naive(dlp_activation activation, double x)
{
    switch (activation) {
    case DLP_ACT_ELU: return x > 0 ? x : exp(x) - 1.0;
    case DLP_ACT_SELU: return SELU_SCALE * (x > 0 ? x : SELU_ALPHA * (exp(x) - 1.0));
    case DLP_ACT_SWISH: return x / (1.0 + exp(-x));
    case DLP_ACT_GELU: return 0.5 * x * (1.0 + erf(x / sqrt(2.0)));
    case DLP_ACT_GELU_TANH: return 0.5 * x * (1.0 + tanh(sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x)));
    case DLP_ACT_HARD_SIGMOID: return x < -2.5 ? 0.0 : x > 2.5 ? 1.0 : 0.2 * x + 0.5;
    case DLP_ACT_SOFTPLUS: return log(1.0 + exp(x));
    case DLP_ACT_HARD_SIGMOID_RELU6: return x <= -3 ? 0.0 : x >= 3 ? 1.0 : x / 6.0 + 0.5;
    default: return x;
    }
}

double cpu_relu_naive(const dlp_relu_params *p, double x)
{
    /* tf-keras 2.18 backend.relu, step by step: the part above the threshold
     * (strictly above unless the threshold is 0), clipped to [0, max_value],
     * minus negative_slope * relu(threshold - x). */
    double positive;
    if (p->threshold != 0)
        positive = x > p->threshold ? x : 0.0;
    else
        positive = x > 0 ? x : 0.0;
    if (p->has_max_value) positive = positive < 0 ? 0 : positive > p->max_value ? p->max_value : positive;
    double below = p->threshold - x;
    return positive - p->negative_slope * (below > 0 ? below : 0.0);
}

void cpu_permute_naive(const dlp_permute_params *p, const float *in, int n, dlp_shape is, float *out)
{
    int dims[3] = {is.h, is.w, is.c};
    int od[3] = {dims[p->axes[0]], dims[p->axes[1]], dims[p->axes[2]]};
    for (int b = 0; b < n; b++)
        for (int i = 0; i < od[0]; i++)
            for (int j = 0; j < od[1]; j++)
                for (int k = 0; k < od[2]; k++) {
                    int index[3];
                    index[p->axes[0]] = i;
                    index[p->axes[1]] = j;
                    index[p->axes[2]] = k;
                    out[(((size_t)b * od[0] + i) * od[1] + j) * od[2] + k] =
                        in[(((size_t)b * is.h + index[0]) * is.w + index[1]) * is.c + index[2]];
                }
}

void cpu_crop_naive(const dlp_zero_pad_params *p, const float *in, int n, dlp_shape is, float *out, dlp_shape os)
{
    for (int b = 0; b < n; b++)
        for (int y = 0; y < os.h; y++)
            for (int x = 0; x < os.w; x++)
                for (int c = 0; c < os.c; c++)
                    out[(((size_t)b * os.h + y) * os.w + x) * os.c + c] =
                        in[(((size_t)b * is.h + y + p->top) * is.w + x + p->left) * is.c + c];
}

void cpu_elementwise_naive(dlp_op op, const float *const *inputs, int input_count, size_t elements, float *out)
{
    for (size_t e = 0; e < elements; e++) {
        double value = inputs[0][e];
        for (int i = 1; i < input_count; i++) {
            double x = inputs[i][e];
            value = op == DLP_OP_SUBTRACT ? value - x : op == DLP_OP_MULTIPLY ? value * x
                  : op == DLP_OP_MAXIMUM  ? (x > value ? x : value) : value + x;
        }
        out[e] = (float)(op == DLP_OP_AVERAGE ? value / input_count : value);
    }
}

void cpu_concat_axis_naive(int axis, const float *const *inputs, const dlp_shape *shapes, int input_count, int n,
                           float *out, dlp_shape os)
{
    for (int b = 0; b < n; b++)
        for (int y = 0; y < os.h; y++)
            for (int x = 0; x < os.w; x++)
                for (int c = 0; c < os.c; c++) {
                    int i = 0, ly = y, lx = x;
                    while (axis == 0 ? ly >= shapes[i].h : lx >= shapes[i].w) {
                        if (axis == 0)
                            ly -= shapes[i].h;
                        else
                            lx -= shapes[i].w;
                        i++;
                    }
                    dlp_shape s = shapes[i];
                    out[(((size_t)b * os.h + y) * os.w + x) * os.c + c] =
                        inputs[i][(((size_t)b * s.h + ly) * s.w + lx) * s.c + c];
                }
    (void)input_count;
}

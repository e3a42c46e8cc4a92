/* cudnn_strided_probe: does any cuDNN engine write a convolution's output
 * into a slice of a wider NHWC buffer (pixel stride > its channels)?
 *
 * Issue 4 asks concatenations to be built by writing into slices of one
 * buffer. cuDNN 9.19's legacy API refused a strided y for every one of
 * InceptionV3's 44 convolutions into a slice (bench/RESULTS.md, 11:06), so
 * those are written packed and copied. This probe asks the graph (backend)
 * API instead, which takes explicit output strides: for InceptionV3-like
 * shapes it builds one conv-forward operation graph with y a slice, asks the
 * heuristics (mode A, then fallback) for engine configurations, and for each
 * (up to 8) tries to finalize an execution plan, runs it, and checks the
 * slice against a double-precision reference of the same rounded inputs at
 * 256 sampled outputs, and that every float outside the slice still holds
 * the poison written before the run (all-ones bytes). It changes nothing in
 * dlp; it says whether the graph API path is worth writing.
 *
 *   cudnn_strided_probe
 * One line per engine tried, then per case and precision:
 *   strided_probe case=3x3_64to96_in288 precision=fp16 engines=N finalized=M correct=K
 * Exit status: 0 ran (whatever the answer); 1 a CUDA error or no device. */
#include <cuda_runtime.h>
#include <cudnn.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph/device_layout.h"

enum { MAX_ENGINES = 8, SAMPLES = 256, UID_X = 1, UID_W = 2, UID_Y = 3 };

typedef struct probe_case {
    const char *name;
    int n, h, w, c;      /* input, NHWC */
    int k, r, s;         /* filters, kernel height, width */
    int stride, pad_h, pad_w;
    int total, offset;   /* the output buffer's channels, the slice's first */
} probe_case;

/* InceptionV3's kinds of convolutions into a concatenation slice. */
static const probe_case cases[] = {
    {"3x3_64to96_in288", 4, 35, 35, 64, 96, 3, 3, 1, 1, 1, 288, 64},
    {"5x5_48to64_in256", 4, 35, 35, 48, 64, 5, 5, 1, 2, 2, 256, 64},
    {"1x7_128to192_in768", 4, 17, 17, 128, 192, 1, 7, 1, 0, 3, 768, 192},
    {"1x1_192to64_in256", 4, 35, 35, 192, 64, 1, 1, 1, 0, 0, 256, 0},
    {"3x3s2_288to384_in768", 4, 35, 35, 288, 384, 3, 3, 2, 0, 0, 768, 0},
};

typedef struct precision {
    const char *name;
    cudnnDataType_t type;
    size_t bytes;
    double bound; /* relative error per sampled output, against the double reference */
} precision;

/* fp32 may run on TF32 tensor cores in the graph API: its bound allows that. */
static const precision precisions[] = {
    {"fp32", CUDNN_DATA_FLOAT, 4, 1e-2},
    {"fp16", CUDNN_DATA_HALF, 2, 1e-2},
    {"bf16", CUDNN_DATA_BFLOAT16, 2, 3e-2},
};

static int cuda_ok(cudaError_t error, const char *what)
{
    if (error == cudaSuccess) return 1;
    fprintf(stderr, "cudnn_strided_probe: %s: %s\n", what, cudaGetErrorString(error));
    return 0;
}

static float uniform(uint64_t *state)
{
    *state ^= *state >> 12, *state ^= *state << 25, *state ^= *state >> 27;
    return (float)((*state * 2685821657736338717ull) >> 40) / (float)(1 << 23) - 1.0f;
}

/* count values in [-1, 1], rounded to the precision: stored (device bytes) and as floats. */
static void random_values(const precision *p, size_t count, uint64_t seed, void *stored, float *rounded)
{
    for (size_t i = 0; i < count; i++) rounded[i] = uniform(&seed);
    if (p->type == CUDNN_DATA_FLOAT) {
        memcpy(stored, rounded, count * sizeof(float));
        return;
    }
    uint16_t *bits = stored;
    if (p->type == CUDNN_DATA_HALF) device_float_to_half(rounded, bits, count);
    else device_float_to_bfloat16(rounded, bits, count);
    for (size_t i = 0; i < count; i++)
        rounded[i] = p->type == CUDNN_DATA_HALF ? device_half_to_float(bits[i]) : device_bfloat16_to_float(bits[i]);
}

static double stored_value(const precision *p, const void *data, size_t i)
{
    if (p->type == CUDNN_DATA_FLOAT) return ((const float *)data)[i];
    uint16_t bits = ((const uint16_t *)data)[i];
    return p->type == CUDNN_DATA_HALF ? device_half_to_float(bits) : device_bfloat16_to_float(bits);
}

/* A tensor descriptor: dims in cuDNN's N, C, H, W order with NHWC strides
 * (pixel_stride elements from one pixel to the next). */
static cudnnBackendDescriptor_t tensor(const precision *p, int64_t uid, int64_t n, int64_t c, int64_t h, int64_t w,
                                       int64_t pixel_stride, cudnnStatus_t *status)
{
    cudnnBackendDescriptor_t desc = NULL;
    int64_t dims[4] = {n, c, h, w};
    int64_t strides[4] = {h * w * pixel_stride, 1, w * pixel_stride, pixel_stride};
    int64_t alignment = (int64_t)p->bytes;
    cudnnDataType_t type = p->type;
    *status = cudnnBackendCreateDescriptor(CUDNN_BACKEND_TENSOR_DESCRIPTOR, &desc);
    if (!*status) *status = cudnnBackendSetAttribute(desc, CUDNN_ATTR_TENSOR_DATA_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &type);
    if (!*status) *status = cudnnBackendSetAttribute(desc, CUDNN_ATTR_TENSOR_DIMENSIONS, CUDNN_TYPE_INT64, 4, dims);
    if (!*status) *status = cudnnBackendSetAttribute(desc, CUDNN_ATTR_TENSOR_STRIDES, CUDNN_TYPE_INT64, 4, strides);
    if (!*status) *status = cudnnBackendSetAttribute(desc, CUDNN_ATTR_TENSOR_UNIQUE_ID, CUDNN_TYPE_INT64, 1, &uid);
    if (!*status)
        *status = cudnnBackendSetAttribute(desc, CUDNN_ATTR_TENSOR_BYTE_ALIGNMENT, CUDNN_TYPE_INT64, 1, &alignment);
    if (!*status) *status = cudnnBackendFinalize(desc);
    return desc;
}

/* The operation graph of one forward convolution; NULL (and why) when cuDNN refuses it. */
static cudnnBackendDescriptor_t conv_graph(cudnnHandle_t handle, const probe_case *pc, const precision *p, int out_h,
                                           int out_w, cudnnBackendDescriptor_t owned[5], cudnnStatus_t *status)
{
    owned[0] = tensor(p, UID_X, pc->n, pc->c, pc->h, pc->w, pc->c, status);
    if (!*status) owned[1] = tensor(p, UID_W, pc->k, pc->c, pc->r, pc->s, pc->c, status);
    if (!*status) owned[2] = tensor(p, UID_Y, pc->n, pc->k, out_h, out_w, pc->total, status);
    if (*status) return NULL;
    int64_t spatial = 2, dilation[2] = {1, 1}, strides[2] = {pc->stride, pc->stride};
    int64_t pre[2] = {pc->pad_h, pc->pad_w};
    /* TensorFlow 'same' puts the odd pixel after: post = total padding - pre. */
    int64_t post[2] = {(out_h - 1) * pc->stride + pc->r - pc->h - pc->pad_h,
                       (out_w - 1) * pc->stride + pc->s - pc->w - pc->pad_w};
    if (post[0] < 0) post[0] = 0;
    if (post[1] < 0) post[1] = 0;
    cudnnDataType_t compute = CUDNN_DATA_FLOAT;
    cudnnConvolutionMode_t mode = CUDNN_CROSS_CORRELATION;
    cudnnBackendDescriptor_t conv = NULL, op = NULL, graph = NULL;
    *status = cudnnBackendCreateDescriptor(CUDNN_BACKEND_CONVOLUTION_DESCRIPTOR, &conv);
    owned[3] = conv;
    if (!*status) *status = cudnnBackendSetAttribute(conv, CUDNN_ATTR_CONVOLUTION_COMP_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &compute);
    if (!*status)
        *status = cudnnBackendSetAttribute(conv, CUDNN_ATTR_CONVOLUTION_CONV_MODE, CUDNN_TYPE_CONVOLUTION_MODE, 1, &mode);
    if (!*status) *status = cudnnBackendSetAttribute(conv, CUDNN_ATTR_CONVOLUTION_SPATIAL_DIMS, CUDNN_TYPE_INT64, 1, &spatial);
    if (!*status) *status = cudnnBackendSetAttribute(conv, CUDNN_ATTR_CONVOLUTION_DILATIONS, CUDNN_TYPE_INT64, 2, dilation);
    if (!*status)
        *status = cudnnBackendSetAttribute(conv, CUDNN_ATTR_CONVOLUTION_FILTER_STRIDES, CUDNN_TYPE_INT64, 2, strides);
    if (!*status) *status = cudnnBackendSetAttribute(conv, CUDNN_ATTR_CONVOLUTION_PRE_PADDINGS, CUDNN_TYPE_INT64, 2, pre);
    if (!*status) *status = cudnnBackendSetAttribute(conv, CUDNN_ATTR_CONVOLUTION_POST_PADDINGS, CUDNN_TYPE_INT64, 2, post);
    if (!*status) *status = cudnnBackendFinalize(conv);
    if (*status) return NULL;
    float alpha = 1.0f, beta = 0.0f;
    *status = cudnnBackendCreateDescriptor(CUDNN_BACKEND_OPERATION_CONVOLUTION_FORWARD_DESCRIPTOR, &op);
    owned[4] = op;
    cudnnBackendAttributeName_t names[4] = {CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_X,
                                            CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_W,
                                            CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_Y,
                                            CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_CONV_DESC};
    cudnnBackendDescriptor_t parts[4] = {owned[0], owned[1], owned[2], conv};
    for (int i = 0; i < 4 && !*status; i++)
        *status = cudnnBackendSetAttribute(op, names[i], CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &parts[i]);
    if (!*status)
        *status = cudnnBackendSetAttribute(op, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_ALPHA, CUDNN_TYPE_FLOAT, 1, &alpha);
    if (!*status)
        *status = cudnnBackendSetAttribute(op, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_BETA, CUDNN_TYPE_FLOAT, 1, &beta);
    if (!*status) *status = cudnnBackendFinalize(op);
    if (*status) return NULL;
    *status = cudnnBackendCreateDescriptor(CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR, &graph);
    if (!*status) *status = cudnnBackendSetAttribute(graph, CUDNN_ATTR_OPERATIONGRAPH_OPS, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &op);
    if (!*status) *status = cudnnBackendSetAttribute(graph, CUDNN_ATTR_OPERATIONGRAPH_HANDLE, CUDNN_TYPE_HANDLE, 1, &handle);
    if (!*status) *status = cudnnBackendFinalize(graph);
    if (*status) {
        if (graph) cudnnBackendDestroyDescriptor(graph);
        return NULL;
    }
    return graph;
}

/* Engine configurations the heuristics offer in one mode (at most MAX_ENGINES). */
static int engine_configs(cudnnBackendDescriptor_t graph, cudnnBackendHeurMode_t mode,
                          cudnnBackendDescriptor_t configs[MAX_ENGINES])
{
    cudnnBackendDescriptor_t heur = NULL;
    int64_t available = 0, returned = 0;
    cudnnStatus_t status = cudnnBackendCreateDescriptor(CUDNN_BACKEND_ENGINEHEUR_DESCRIPTOR, &heur);
    if (!status)
        status = cudnnBackendSetAttribute(heur, CUDNN_ATTR_ENGINEHEUR_OPERATION_GRAPH, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &graph);
    if (!status) status = cudnnBackendSetAttribute(heur, CUDNN_ATTR_ENGINEHEUR_MODE, CUDNN_TYPE_HEUR_MODE, 1, &mode);
    if (!status) status = cudnnBackendFinalize(heur);
    if (!status)
        status = cudnnBackendGetAttribute(heur, CUDNN_ATTR_ENGINEHEUR_RESULTS, CUDNN_TYPE_BACKEND_DESCRIPTOR, 0, &available, NULL);
    if (available > MAX_ENGINES) available = MAX_ENGINES;
    int created = 0;
    for (; !status && created < available; created++)
        status = cudnnBackendCreateDescriptor(CUDNN_BACKEND_ENGINECFG_DESCRIPTOR, &configs[created]);
    if (!status && created)
        status = cudnnBackendGetAttribute(heur, CUDNN_ATTR_ENGINEHEUR_RESULTS, CUDNN_TYPE_BACKEND_DESCRIPTOR, created,
                                          &returned, configs);
    if (status) {
        printf("  heuristics mode %d: %s\n", (int)mode, cudnnGetErrorString(status));
        returned = 0;
    }
    for (int i = (int)returned; i < created; i++) cudnnBackendDestroyDescriptor(configs[i]);
    if (heur) cudnnBackendDestroyDescriptor(heur);
    return (int)returned;
}

static int64_t engine_index(cudnnBackendDescriptor_t config)
{
    cudnnBackendDescriptor_t engine = NULL;
    int64_t count = 0, index = -1;
    if (cudnnBackendCreateDescriptor(CUDNN_BACKEND_ENGINE_DESCRIPTOR, &engine)) return -1;
    if (!cudnnBackendGetAttribute(config, CUDNN_ATTR_ENGINECFG_ENGINE, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &count, &engine))
        cudnnBackendGetAttribute(engine, CUDNN_ATTR_ENGINE_GLOBAL_INDEX, CUDNN_TYPE_INT64, 1, &count, &index);
    cudnnBackendDestroyDescriptor(engine);
    return index;
}

typedef struct buffers {
    void *x, *w, *y;        /* device */
    void *host_y;           /* the whole output buffer read back */
    float *x_values, *w_values;
    size_t y_elements;
} buffers;

/* The reference output (n, oy, ox, kk) in double from the rounded inputs. */
static double reference(const probe_case *pc, const buffers *b, int n, int oy, int ox, int kk)
{
    double sum = 0;
    for (int r = 0; r < pc->r; r++)
        for (int s = 0; s < pc->s; s++) {
            int iy = oy * pc->stride + r - pc->pad_h, ix = ox * pc->stride + s - pc->pad_w;
            if (iy < 0 || iy >= pc->h || ix < 0 || ix >= pc->w) continue;
            const float *x = b->x_values + (((size_t)n * pc->h + iy) * pc->w + ix) * pc->c;
            const float *w = b->w_values + (((size_t)kk * pc->r + r) * pc->s + s) * pc->c; /* KRSC */
            for (int c = 0; c < pc->c; c++) sum += (double)x[c] * w[c];
        }
    return sum;
}

/* Runs one finalized plan; 1 when the slice is right and the rest untouched. */
static int run_and_check(cudnnHandle_t handle, cudnnBackendDescriptor_t plan, const probe_case *pc,
                         const precision *p, buffers *b, int out_h, int out_w, double *worst)
{
    int64_t workspace_bytes = 0, count = 0;
    cudnnBackendGetAttribute(plan, CUDNN_ATTR_EXECUTION_PLAN_WORKSPACE_SIZE, CUDNN_TYPE_INT64, 1, &count, &workspace_bytes);
    void *workspace = NULL;
    if (workspace_bytes > 0 && !cuda_ok(cudaMalloc(&workspace, (size_t)workspace_bytes), "workspace")) return 0;
    if (!cuda_ok(cudaMemset(b->y, 0xFF, b->y_elements * p->bytes), "poison")) return 0;
    void *y_slice = (char *)b->y + (size_t)pc->offset * p->bytes;
    void *pointers[3] = {b->x, b->w, y_slice};
    int64_t uids[3] = {UID_X, UID_W, UID_Y};
    cudnnBackendDescriptor_t pack = NULL;
    cudnnStatus_t status = cudnnBackendCreateDescriptor(CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR, &pack);
    if (!status) status = cudnnBackendSetAttribute(pack, CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS, CUDNN_TYPE_INT64, 3, uids);
    if (!status) status = cudnnBackendSetAttribute(pack, CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS, CUDNN_TYPE_VOID_PTR, 3, pointers);
    if (!status) status = cudnnBackendSetAttribute(pack, CUDNN_ATTR_VARIANT_PACK_WORKSPACE, CUDNN_TYPE_VOID_PTR, 1, &workspace);
    if (!status) status = cudnnBackendFinalize(pack);
    if (!status) status = cudnnBackendExecute(handle, plan, pack);
    if (pack) cudnnBackendDestroyDescriptor(pack);
    int ok = !status && cuda_ok(cudaDeviceSynchronize(), "execute") &&
             cuda_ok(cudaMemcpy(b->host_y, b->y, b->y_elements * p->bytes, cudaMemcpyDeviceToHost), "read back");
    cudaFree(workspace);
    if (status) printf("    execute: %s\n", cudnnGetErrorString(status));
    if (!ok) return 0;
    /* Outside the slice: every byte still 0xFF. */
    size_t pixels = (size_t)pc->n * out_h * out_w, touched = 0;
    for (size_t q = 0; q < pixels; q++)
        for (int ch = 0; ch < pc->total; ch++) {
            if (ch >= pc->offset && ch < pc->offset + pc->k) continue;
            const unsigned char *e = (const unsigned char *)b->host_y + (q * pc->total + ch) * p->bytes;
            for (size_t byte = 0; byte < p->bytes; byte++) touched += e[byte] != 0xFF;
        }
    uint64_t seed = 12345;
    *worst = 0;
    for (int i = 0; i < SAMPLES; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        size_t q = (size_t)(seed >> 33) % pixels;
        int kk = (int)((seed >> 13) % (uint64_t)pc->k);
        int n = (int)(q / ((size_t)out_h * out_w)), oy = (int)(q / out_w % out_h), ox = (int)(q % out_w);
        double want = reference(pc, b, n, oy, ox, kk);
        double got = stored_value(p, b->host_y, q * pc->total + pc->offset + kk);
        double error = fabs(got - want) / fmax(1.0, fabs(want));
        if (!(error <= *worst)) *worst = isnan(error) ? INFINITY : error;
    }
    if (touched) printf("    %zu bytes outside the slice were written\n", touched);
    return touched == 0 && *worst <= p->bound;
}

static int probe(cudnnHandle_t handle, const probe_case *pc, const precision *p)
{
    int out_h = (pc->h + 2 * pc->pad_h - pc->r) / pc->stride + 1;
    int out_w = (pc->w + 2 * pc->pad_w - pc->s) / pc->stride + 1;
    size_t x_elements = (size_t)pc->n * pc->h * pc->w * pc->c, w_elements = (size_t)pc->k * pc->r * pc->s * pc->c;
    buffers b = {0};
    b.y_elements = (size_t)pc->n * out_h * out_w * pc->total;
    void *host_x = malloc(x_elements * p->bytes), *host_w = malloc(w_elements * p->bytes);
    b.x_values = malloc(x_elements * sizeof(float)), b.w_values = malloc(w_elements * sizeof(float));
    b.host_y = malloc(b.y_elements * p->bytes);
    int ran = host_x && host_w && b.x_values && b.w_values && b.host_y;
    if (ran) {
        random_values(p, x_elements, 1, host_x, b.x_values);
        random_values(p, w_elements, 2, host_w, b.w_values);
        ran = cuda_ok(cudaMalloc(&b.x, x_elements * p->bytes), "x") && cuda_ok(cudaMalloc(&b.w, w_elements * p->bytes), "w") &&
              cuda_ok(cudaMalloc(&b.y, b.y_elements * p->bytes), "y") &&
              cuda_ok(cudaMemcpy(b.x, host_x, x_elements * p->bytes, cudaMemcpyHostToDevice), "x upload") &&
              cuda_ok(cudaMemcpy(b.w, host_w, w_elements * p->bytes, cudaMemcpyHostToDevice), "w upload");
    }
    cudnnBackendDescriptor_t owned[5] = {0};
    cudnnStatus_t status = CUDNN_STATUS_SUCCESS;
    cudnnBackendDescriptor_t graph = ran ? conv_graph(handle, pc, p, out_h, out_w, owned, &status) : NULL;
    int tried = 0, finalized = 0, correct = 0;
    if (ran && !graph) printf("  %s %s: operation graph refused: %s\n", pc->name, p->name, cudnnGetErrorString(status));
    cudnnBackendHeurMode_t modes[2] = {CUDNN_HEUR_MODE_A, CUDNN_HEUR_MODE_FALLBACK};
    for (int m = 0; graph && m < 2; m++) {
        cudnnBackendDescriptor_t configs[MAX_ENGINES];
        int count = engine_configs(graph, modes[m], configs);
        for (int e = 0; e < count; e++, tried++) {
            cudnnBackendDescriptor_t plan = NULL;
            status = cudnnBackendCreateDescriptor(CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR, &plan);
            if (!status) status = cudnnBackendSetAttribute(plan, CUDNN_ATTR_EXECUTION_PLAN_HANDLE, CUDNN_TYPE_HANDLE, 1, &handle);
            if (!status)
                status = cudnnBackendSetAttribute(plan, CUDNN_ATTR_EXECUTION_PLAN_ENGINE_CONFIG,
                                                  CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &configs[e]);
            if (!status) status = cudnnBackendFinalize(plan);
            double worst = 0;
            int right = 0;
            if (!status) {
                finalized++;
                right = run_and_check(handle, plan, pc, p, &b, out_h, out_w, &worst);
                correct += right;
            }
            printf("  %s %s mode=%s engine=%lld: %s", pc->name, p->name, m ? "fallback" : "A",
                   (long long)engine_index(configs[e]), status ? cudnnGetErrorString(status) : "finalized");
            if (!status) printf(", worst relative error %.3g: %s", worst, right ? "correct" : "WRONG");
            printf("\n");
            if (plan) cudnnBackendDestroyDescriptor(plan);
            cudnnBackendDestroyDescriptor(configs[e]);
        }
    }
    printf("strided_probe case=%s precision=%s engines=%d finalized=%d correct=%d\n", pc->name, p->name, tried,
           finalized, correct);
    fflush(stdout);
    if (graph) cudnnBackendDestroyDescriptor(graph);
    for (int i = 4; i >= 0; i--)
        if (owned[i]) cudnnBackendDestroyDescriptor(owned[i]);
    cudaFree(b.x), cudaFree(b.w), cudaFree(b.y);
    free(host_x), free(host_w), free(b.x_values), free(b.w_values), free(b.host_y);
    return ran;
}

int main(void)
{
    int devices = 0;
    if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
        fprintf(stderr, "cudnn_strided_probe: no CUDA device\n");
        return 1;
    }
    cudnnHandle_t handle = NULL;
    cudnnStatus_t status = cudnnCreate(&handle);
    if (status) {
        fprintf(stderr, "cudnn_strided_probe: cudnnCreate: %s\n", cudnnGetErrorString(status));
        return 1;
    }
    printf("cuDNN %zu, %zu cases x %zu precisions\n", cudnnGetVersion(), sizeof cases / sizeof cases[0],
           sizeof precisions / sizeof precisions[0]);
    int ok = 1;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
        for (size_t p = 0; p < sizeof precisions / sizeof precisions[0]; p++) ok &= probe(handle, &cases[c], &precisions[p]);
    cudnnDestroy(handle);
    return ok ? 0 : 1;
}

/* fuzz_keras_config.c: dlp_keras_model_from_config on an arbitrary model_config
 * (Keras 2, Keras 3 or TF.js layers JSON): no crash, no leak, no undefined
 * behaviour. A model that builds has positive shapes, and Keras' dims agree
 * with its graph's; one whose activations are small (at most 256 Ki floats
 * per image over all nodes) plans on the CPU backend and runs two rows of a
 * fixed pattern, every output read back. Weights stay at zero (the config
 * alone), so this checks shapes and memory, not values. */
#include <stdlib.h>
#include <string.h>

#include "dlp/dlp.h"

enum { SMALL_FLOATS = 1 << 18 };

static dlp_backend *cpu_backend(void)
{
    static dlp_backend *backend;
    if (!backend && dlp_backend_create_cpu(1, &backend) != DLP_OK) abort();
    return backend;
}

/* Keras' dims (rank 1..3, each positive) hold exactly the shape's elements. */
static void check_dims(int rank, const int dims[3], dlp_shape shape)
{
    if (rank < 1 || rank > 3) abort();
    size_t count = 1;
    for (int d = 0; d < rank; d++) {
        if (dims[d] <= 0) abort();
        count *= (size_t)dims[d];
    }
    if (count != dlp_shape_elements(shape)) abort();
}

static void run_small(const dlp_keras_model *model)
{
    dlp_plan *plan = NULL;
    if (dlp_keras_model_plan(model, cpu_backend(), 2, &plan) != DLP_OK) return;
    size_t in = dlp_shape_elements(dlp_keras_model_input_shape(model));
    float *x = malloc(2 * in * sizeof(float));
    if (x) {
        for (size_t i = 0; i < 2 * in; i++) x[i] = (float)((int)(i % 17) - 8) * 0.25f;
        if (dlp_plan_run(plan, x, 2) == DLP_OK) {
            for (int o = 0; o < dlp_keras_model_output_count(model); o++) {
                size_t floats = 2 * dlp_shape_elements(dlp_plan_output_shape(plan, o));
                float *y = malloc(floats * sizeof(float));
                if (y && dlp_plan_read_output(plan, o, y, floats) != DLP_OK) abort();
                free(y);
            }
        }
        free(x);
    }
    dlp_plan_destroy(plan);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text) return 0;
    if (size) memcpy(text, data, size);
    text[size] = '\0';
    dlp_keras_model_options options = {8, 8}; /* for an input that leaves height and width open */
    dlp_keras_model *model = NULL;
    dlp_status status = dlp_keras_model_from_config(text, &options, &model);
    free(text);
    if (status != DLP_OK) return 0;
    const dlp_graph *graph = dlp_keras_model_graph(model);
    size_t floats = 0;
    for (int i = 0; i < dlp_graph_node_count(graph); i++) {
        dlp_shape shape = dlp_graph_node_shape(graph, i);
        if (shape.h <= 0 || shape.w <= 0 || shape.c <= 0) abort();
        floats += dlp_shape_elements(shape);
    }
    int dims[3];
    check_dims(dlp_keras_model_input_dims(model, dims), dims, dlp_keras_model_input_shape(model));
    int outputs = dlp_keras_model_output_count(model);
    if (outputs < 1) abort();
    for (int o = 0; o < outputs; o++) {
        if (!dlp_keras_model_output_name(model, o) || !dlp_keras_model_output_layer(model, o)) abort();
        check_dims(dlp_keras_model_output_dims(model, o, dims), dims, dlp_keras_model_output_shape(model, o));
    }
    if (floats <= SMALL_FLOATS) run_small(model);
    dlp_keras_model_destroy(model);
    return 0;
}

/* synth_weights: writes a zoo model's base (no top) with dlp-synth-v1 weights
 * as a .safetensors file, for benchmarks that need a weight file of a model
 * whose real weights are not on the machine (only InceptionV3's are, in
 * ../shared). Usage: synth_weights MODEL FILE.safetensors */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "dlp/dlp.h"
#include "graph/graph_internal.h"
#include "weights/synth.h"

static dlp_status write_weights(const char *model, const char *path)
{
    dlp_model_options options = {DLP_TOP_NONE, DLP_POOLING_AVG};
    dlp_graph *graph = NULL;
    DLP_TRY(dlp_zoo_build(model, NULL, &options, &graph));
    int capacity = dlp_graph_node_count(graph), count = 0;
    int *order = malloc(sizeof(int) * (size_t)(capacity + 1));
    dlp_synth_spec *specs = calloc((size_t)capacity * 8 + 1, sizeof *specs);
    dlp_status status = order && specs ? dlp_graph_keras_weight_order(graph, order, capacity, &count)
                                       : dlp_fail(DLP_ERR_OUT_OF_MEMORY, "out of memory");
    size_t spec_count = 0;
    for (int k = 0; status == DLP_OK && k < count; k++) {
        graph_node *node = &graph->nodes[order[k]];
        for (int s = 0; s < node->weight_count && spec_count < (size_t)capacity * 8; s++) {
            graph_weight *weight = &node->weights[s];
            dlp_synth_spec *spec = &specs[spec_count++];
            spec->layer_index = k;
            spec->layer_name = node->name;
            spec->slot = weight->slot;
            spec->ndim = weight->ndim;
            for (int d = 0; d < weight->ndim; d++) spec->shape[d] = weight->shape[d];
        }
    }
    dlp_tensor_list *list = NULL;
    if (status == DLP_OK) status = dlp_synth_tensor_list(specs, spec_count, &list);
    if (status == DLP_OK) status = dlp_safetensors_write(path, list);
    if (status == DLP_OK) printf("%s: %zu tensors of %s (dlp-synth-v1, no top)\n", path, spec_count, model);
    dlp_tensor_list_destroy(list);
    free(specs);
    free(order);
    dlp_graph_destroy(graph);
    return status;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: synth_weights MODEL FILE.safetensors\n");
        return 2;
    }
    if (write_weights(argv[1], argv[2]) != DLP_OK) {
        fprintf(stderr, "synth_weights: %s\n", dlp_last_error());
        return 1;
    }
    return 0;
}

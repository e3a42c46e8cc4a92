/* test_zoo_shapes.c: the five zoo graphs against tf-keras 2.18 (fixtures of
 * tests/oracle/keras_oracle.py): Keras' weight order (layer, slots, shapes of
 * weight_order_<model>.json) equals dlp_graph_keras_weight_order's, every
 * checkpoint layer has Keras' output shape, and the featurizer dims for
 * pooling avg / max / flatten / none are DESIGN.md §3's. No weights: fast. */
#include "check.h"
#include "dlp/dlp.h"
#include "graph/graph_internal.h"
#include "zoo_fixture.h"

static void format_shape(char *text, size_t size, int ndim, const int64_t *shape)
{
    size_t used = (size_t)snprintf(text, size, "[");
    for (int d = 0; d < ndim && used < size; d++) used += (size_t)snprintf(text + used, size - used, d ? ",%lld" : "%lld", (long long)shape[d]);
    if (used < size) snprintf(text + used, size - used, "]");
}

/* Every row [k, layer, slot, shape] of Keras' weight list is slot s of the
 * k-th node in our Keras order, with that name and shape. */
static void check_weight_order(const zoo_model_case *model, dlp_graph *graph, json_t *order_doc, int expected_layers)
{
    int count = 0;
    CHECK_OK(dlp_graph_keras_weight_order(graph, NULL, 0, &count));
    int *order = malloc((size_t)(count ? count : 1) * sizeof(int));
    CHECK_OK(dlp_graph_keras_weight_order(graph, order, count, &count));
    if (count != expected_layers)
        fprintf(stderr, "%s: %d weight-bearing layers, Keras has %d\n", model->name, count, expected_layers);
    CHECK(count == expected_layers);
    json_t *rows = json_object_get(order_doc, "weights");
    int mismatches = 0, slot = 0, previous_k = -1;
    for (size_t r = 0; r < json_array_size(rows); r++) {
        json_t *row = json_array_get(rows, r);
        int k = (int)json_integer_value(json_array_get(row, 0));
        const char *keras_layer = json_string_value(json_array_get(row, 1));
        const char *keras_slot = json_string_value(json_array_get(row, 2));
        json_t *keras_shape = json_array_get(row, 3);
        slot = k == previous_k ? slot + 1 : 0;
        previous_k = k;
        char buffer[128], expected[96], found[96] = "-";
        const char *name = zoo_graph_name(model->fixture, keras_layer, buffer, sizeof buffer);
        int64_t shape[4] = {0};
        int ndim = (int)json_array_size(keras_shape);
        for (int d = 0; d < ndim && d < 4; d++) shape[d] = json_integer_value(json_array_get(keras_shape, (size_t)d));
        format_shape(expected, sizeof expected, ndim, shape);
        const graph_node *node = k < count ? &graph->nodes[order[k]] : NULL;
        const graph_weight *weight = node && slot < node->weight_count ? &node->weights[slot] : NULL;
        if (weight) format_shape(found, sizeof found, weight->ndim, weight->shape);
        bool same = node && weight && !strcmp(node->name, name) && !strcmp(weight->slot, keras_slot) &&
                    !strcmp(expected, found);
        if (!same && mismatches++ < 5)
            fprintf(stderr, "%s weight %zu: Keras %d %s/%s %s, graph %s/%s %s\n", model->name, r, k, name, keras_slot,
                    expected, node ? node->name : "-", weight ? weight->slot : "-", found);
    }
    CHECK(mismatches == 0);
    free(order);
}

/* Keras' output shape of every checkpoint layer (per image; [C] for 1-D). */
static void check_checkpoint_shapes(const zoo_model_case *model, dlp_graph *graph, json_t *index)
{
    json_t *checkpoints = json_object_get(index, "checkpoints");
    CHECK(json_array_size(checkpoints) >= 4);
    for (size_t i = 0; i < json_array_size(checkpoints); i++) {
        json_t *checkpoint = json_array_get(checkpoints, i);
        char buffer[128];
        const char *name = zoo_graph_name(model->fixture, json_string_value(json_object_get(checkpoint, "layer")),
                                          buffer, sizeof buffer);
        json_t *shape = json_object_get(checkpoint, "shape");
        dlp_shape want = {1, 1, 0};
        if (json_array_size(shape) == 3)
            want = (dlp_shape){(int)json_integer_value(json_array_get(shape, 0)),
                               (int)json_integer_value(json_array_get(shape, 1)),
                               (int)json_integer_value(json_array_get(shape, 2))};
        else
            want.c = (int)json_integer_value(json_array_get(shape, 0));
        dlp_shape got = dlp_graph_node_shape(graph, dlp_graph_find(graph, name));
        if (got.h != want.h || got.w != want.w || got.c != want.c)
            fprintf(stderr, "%s %s: %dx%dx%d, Keras %dx%dx%d\n", model->name, name, got.h, got.w, got.c, want.h, want.w,
                    want.c);
        CHECK(got.h == want.h && got.w == want.w && got.c == want.c);
    }
}

static void check_featurizers(const zoo_model_case *model, json_t *index)
{
    const dlp_model_info *info = dlp_zoo_find(model->name);
    CHECK(info != NULL);
    if (!info) return;
    json_t *featurizer = json_object_get(index, "featurizer");
    json_t *shape = json_object_get(featurizer, "shape");
    CHECK(!strcmp(info->feature_layer, json_string_value(json_object_get(featurizer, "layer"))));
    CHECK(info->feature_shape.h == json_integer_value(json_array_get(shape, 0)) &&
          info->feature_shape.w == json_integer_value(json_array_get(shape, 1)) &&
          info->feature_shape.c == json_integer_value(json_array_get(shape, 2)));
    CHECK(info->input_h == model->input && info->input_w == model->input);
    const char *mode = json_string_value(json_object_get(json_object_get(index, "input"), "preprocess"));
    CHECK(info->preprocessing == (!strcmp(mode, "caffe") ? DLP_PREPROCESS_CAFFE : DLP_PREPROCESS_TF));
    const dlp_pooling poolings[4] = {DLP_POOLING_AVG, DLP_POOLING_MAX, DLP_POOLING_FLATTEN, DLP_POOLING_NONE};
    for (int p = 0; p < 4; p++) {
        dlp_model_options options = {DLP_TOP_NONE, poolings[p]};
        dlp_graph *graph = NULL;
        CHECK_OK(dlp_zoo_build(model->name, NULL, &options, &graph));
        if (!graph) continue;
        int last = dlp_graph_node_count(graph) - 1;
        CHECK(!strcmp(dlp_graph_node_name(graph, last), "features"));
        dlp_shape got = dlp_graph_node_shape(graph, last);
        size_t dims = dlp_shape_elements(got);
        if (poolings[p] == DLP_POOLING_NONE)
            CHECK(got.h == info->feature_shape.h && got.w == info->feature_shape.w && got.c == info->feature_shape.c);
        else
            CHECK(got.h == 1 && got.w == 1 &&
                  dims == (poolings[p] == DLP_POOLING_FLATTEN ? model->flatten : (size_t)model->pooled));
        dlp_graph_destroy(graph);
    }
}

int main(void)
{
    const char *fixtures = check_env("DLP_FIXTURES");
    CHECK(dlp_zoo_count() == ZOO_MODEL_CASES);
    for (int m = 0; m < ZOO_MODEL_CASES; m++) {
        const zoo_model_case *model = &zoo_model_cases[m];
        CHECK(dlp_zoo_at(m) && !strcmp(dlp_zoo_at(m)->name, model->name));
        char file[256];
        snprintf(file, sizeof file, "%s.json", model->fixture);
        json_t *index = zoo_fixture_json(fixtures, file);
        snprintf(file, sizeof file, "weight_order_%s.json", model->fixture);
        json_t *order = zoo_fixture_json(fixtures, file);
        CHECK(index && order);
        dlp_model_options options = {DLP_TOP_IMAGENET, DLP_POOLING_AVG};
        dlp_graph *graph = NULL;
        CHECK_OK(dlp_zoo_build(model->name, NULL, &options, &graph));
        if (index && order && graph) {
            int layers = (int)json_integer_value(json_object_get(index, "weight_bearing_layers"));
            check_weight_order(model, graph, order, layers);
            check_checkpoint_shapes(model, graph, index);
            CHECK(!strcmp(dlp_graph_node_name(graph, dlp_graph_node_count(graph) - 1), "predictions"));
            check_featurizers(model, index);
            printf("%s: %d nodes, %d weight-bearing layers checked\n", model->name, dlp_graph_node_count(graph),
                   layers);
        }
        dlp_graph_destroy(graph);
        json_decref(index);
        json_decref(order);
    }
    CHECK(dlp_zoo_find("xception") && dlp_zoo_find("RESNET50") && dlp_zoo_find("vgg19"));
    return check_summary("zoo_shapes");
}

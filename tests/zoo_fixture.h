/* zoo_fixture.h: reading the Keras zoo fixtures (tests/fixtures/keras/, made
 * by tests/oracle/keras_oracle.py from tf-keras 2.18) for the zoo suites. */
#ifndef DLP_TESTS_ZOO_FIXTURE_H
#define DLP_TESTS_ZOO_FIXTURE_H

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The five zoo models: fixture stem, zoo name, and DESIGN.md §3's feature
 * dims (pooling avg/max, flatten). ResNet50's flatten is its 7x7x2048
 * conv5_block3_out flattened (sparkdl's 2048 is pooling avg). */
typedef struct zoo_model_case {
    const char *fixture, *name;
    int input, pooled;
    size_t flatten;
} zoo_model_case;

static const zoo_model_case zoo_model_cases[] = {
    {"inception_v3", "InceptionV3", 299, 2048, 131072}, {"xception", "Xception", 299, 2048, 204800},
    {"resnet50", "ResNet50", 224, 2048, 100352},       {"vgg16", "VGG16", 224, 512, 25088},
    {"vgg19", "VGG19", 224, 512, 25088},
};
enum { ZOO_MODEL_CASES = sizeof zoo_model_cases / sizeof zoo_model_cases[0] };

static inline json_t *zoo_fixture_json(const char *fixtures, const char *file)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/keras/%s", fixtures, file);
    json_error_t error;
    json_t *root = json_load_file(path, 0, &error);
    if (!root) fprintf(stderr, "%s: %s\n", path, error.text);
    return root;
}

/* The graph's name for a tf-keras 2.18 layer name. Our InceptionV3 keeps
 * Keras 2.2.4's auto names (the nsfwjs weights carry them), which count from
 * 1 where tf-keras counts from none: "conv2d" -> "conv2d_1", "add_3" -> "add_4". */
static inline const char *zoo_graph_name(const char *fixture, const char *keras_name, char *buffer, size_t size)
{
    static const char *const auto_prefixes[] = {"conv2d", "batch_normalization", "activation", "max_pooling2d",
                                                "average_pooling2d", "concatenate"};
    if (strcmp(fixture, "inception_v3") != 0) return keras_name;
    for (size_t i = 0; i < sizeof auto_prefixes / sizeof auto_prefixes[0]; i++) {
        size_t length = strlen(auto_prefixes[i]);
        if (strncmp(keras_name, auto_prefixes[i], length) != 0) continue;
        const char *tail = keras_name + length;
        if (*tail == '\0') {
            snprintf(buffer, size, "%s_1", auto_prefixes[i]);
            return buffer;
        }
        if (tail[0] == '_' && isdigit((unsigned char)tail[1])) {
            char *end;
            long number = strtol(tail + 1, &end, 10);
            if (*end == '\0') {
                snprintf(buffer, size, "%s_%ld", auto_prefixes[i], number + 1);
                return buffer;
            }
        }
    }
    return keras_name;
}

#endif

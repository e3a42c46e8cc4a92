/* classify.c: your own Keras model on image files, in a few libdlp calls,
 * on the GPU when one works and on the CPU otherwise.
 *
 *   classify MODEL IMAGE...
 *
 * MODEL: a whole-model Keras .h5, a TensorFlow.js model.json (or its folder),
 * or a safetensors file from `dlp convert` that kept the model_config. Each
 * image is resized to the model's input ('area') and scaled as Keras' 'tf'
 * preprocessing does (x/127.5 - 1); prints the most probable class of the
 * model's first output and its probability, one line per image. */
#include <stdio.h>
#include <stdlib.h>

#include "dlp/dlp.h"
#include "dlp/keras_model.h"

static dlp_backend *open_backend(void)
{
    dlp_backend *backend = NULL;
    if (dlp_backend_create_cuda(0, NULL, &backend) == DLP_OK) return backend;
    fprintf(stderr, "classify: no GPU (%s); running on the CPU\n", dlp_last_error());
    return dlp_backend_create_cpu(0, &backend) == DLP_OK ? backend : NULL;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: classify MODEL IMAGE...\n");
        return 1;
    }
    dlp_keras_model *model = NULL;
    if (dlp_keras_model_load(argv[1], NULL, &model) != DLP_OK) {
        fprintf(stderr, "classify: %s\n", dlp_last_error());
        return 3;
    }
    dlp_backend *backend = open_backend();
    dlp_shape in = dlp_keras_model_input_shape(model);
    size_t classes = dlp_shape_elements(dlp_keras_model_output_shape(model, 0));
    float *input = malloc(dlp_shape_elements(in) * sizeof *input);
    float *probabilities = malloc(classes * sizeof *probabilities);
    int failed = !backend || !input || !probabilities;
    for (int i = 2; i < argc && backend; i++) {
        dlp_image image = {0};
        dlp_status status = dlp_image_read(argv[i], &image);
        if (status == DLP_OK)
            status = dlp_image_resize_float(&image, in.h, in.w, DLP_RESIZE_AREA, DLP_NORMALIZE_TF, input);
        dlp_image_free(&image);
        if (status == DLP_OK)
            status = dlp_keras_model_apply(model, backend, input, 1, 1, 0, probabilities, classes);
        if (status != DLP_OK) {
            printf("%s\terror\t%s\n", argv[i], dlp_last_error());
            failed = 1;
            continue;
        }
        size_t best = 0;
        for (size_t c = 1; c < classes; c++)
            if (probabilities[c] > probabilities[best]) best = c;
        printf("%s\t%zu\t%.6f\n", argv[i], best, probabilities[best]);
    }
    free(input);
    free(probabilities);
    dlp_backend_destroy(backend);
    dlp_keras_model_destroy(model);
    return failed ? 5 : 0;
}

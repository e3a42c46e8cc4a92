/* fuzz_pipeline.c: dlp_pipeline_load on an arbitrary pipeline.json beside
 * one fixed logreg.safetensors (3 classes x 4 features, multinomial, written
 * once per process by dlp_pipeline_save, so its sha256 is the one the seeds
 * record): no crash, no leak. A pipeline that loads transforms two rows of
 * its feature dim (when small), and saves and loads back with the same dims,
 * labels and featurizer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dlp/dlp.h"
#include "fuzz_tables.h"
#include "ml/pipeline_internal.h"

enum { FEATURES = 4, CLASSES = 3, SMALL_DIM = 4096 };

static const char *fixed_directory(void)
{
    static char dir[128];
    if (dir[0]) return dir;
    snprintf(dir, sizeof dir, "/dev/shm/dlp-fuzz-%d-pipeline", (int)getpid()); /* fuzz_write_input's name + suffix */
    double coefficients[CLASSES * FEATURES], intercepts[CLASSES] = {0.5, -0.25, 0.125};
    for (int i = 0; i < CLASSES * FEATURES; i++) coefficients[i] = (i % 5 - 2) * 0.75;
    dlp_pipeline *pipeline = NULL;
    if (dlp_pipeline_create(NULL, &pipeline) != DLP_OK ||
        dlp_logreg_model_create(1, CLASSES, FEATURES, coefficients, intercepts, &pipeline->model) != DLP_OK ||
        dlp_pipeline_save(pipeline, dir) != DLP_OK)
        abort();
    dlp_pipeline_destroy(pipeline);
    return dir;
}

static void check_round_trip(const dlp_pipeline *pipeline)
{
    char dir[160];
    snprintf(dir, sizeof dir, "%s-again", fixed_directory());
    if (dlp_pipeline_save(pipeline, dir) != DLP_OK) return; /* e.g. a label name jansson will not write */
    dlp_pipeline *again = NULL;
    if (dlp_pipeline_load(dir, NULL, DLP_PIPELINE_LOAD_SKIP_WEIGHTS_CHECK, &again) != DLP_OK) abort();
    if (dlp_pipeline_feature_dim(again) != dlp_pipeline_feature_dim(pipeline)) abort();
    if (dlp_pipeline_label_count(again) != dlp_pipeline_label_count(pipeline)) abort();
    for (size_t i = 0; i < dlp_pipeline_label_count(pipeline); i++)
        if (strcmp(dlp_pipeline_label_name(again, i), dlp_pipeline_label_name(pipeline, i)) != 0) abort();
    if (!dlp_pipeline_featurizer(again) != !dlp_pipeline_featurizer(pipeline)) abort();
    dlp_pipeline_destroy(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fixed_directory();
    if (!fuzz_write_input(data, size, "-pipeline/" DLP_PIPELINE_JSON)) return 0;
    dlp_pipeline *pipeline = NULL;
    if (dlp_pipeline_load(fixed_directory(), NULL, DLP_PIPELINE_LOAD_SKIP_WEIGHTS_CHECK, &pipeline) != DLP_OK)
        return 0;
    size_t dim = dlp_pipeline_feature_dim(pipeline);
    const dlp_logreg_model *model = dlp_pipeline_model(pipeline);
    if (!model || dlp_logreg_feature_count(model) != dim) abort();
    if (dim && dim <= SMALL_DIM) {
        size_t columns = dlp_logreg_output_columns(model);
        float *features = malloc(2 * dim * sizeof(float));
        double *raw = malloc(2 * columns * sizeof(double)), *probability = malloc(2 * columns * sizeof(double));
        double prediction[2];
        if (features && raw && probability) {
            for (size_t i = 0; i < 2 * dim; i++) features[i] = (float)(i % 7) - 3.0f;
            if (dlp_pipeline_transform(pipeline, features, 2, dim, raw, probability, prediction) == DLP_OK)
                for (int r = 0; r < 2; r++)
                    if (!(prediction[r] >= 0 && prediction[r] < (double)dlp_logreg_class_count(model))) abort();
        }
        free(features), free(raw), free(probability);
    }
    for (size_t i = 0; i < dlp_pipeline_label_count(pipeline); i++)
        if (!dlp_pipeline_label_name(pipeline, i)) abort();
    check_round_trip(pipeline);
    dlp_pipeline_destroy(pipeline);
    return 0;
}

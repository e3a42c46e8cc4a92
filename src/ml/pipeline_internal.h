/* pipeline_internal.h: the pipeline's fields, shared by pipeline.c (fit,
 * transform) and pipeline_io.c (the directory format). */
#ifndef DLP_SRC_ML_PIPELINE_INTERNAL_H
#define DLP_SRC_ML_PIPELINE_INTERNAL_H

#include "dlp/pipeline.h"

struct dlp_pipeline {
    int has_featurizer;
    dlp_featurizer_description featurizer; /* strings owned (strdup) */
    char **label_names;
    size_t label_count;
    dlp_logreg_model *model;
    dlp_logreg_params params;   /* what the model was fitted with (thresholds not kept) */
    int params_known;           /* 0 for a pipeline loaded without "params" */
    double *objective_history;  /* copy, survives save/load */
    size_t history_count;
};

#endif

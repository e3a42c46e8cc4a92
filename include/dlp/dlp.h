/* dlp.h: the public API of libdlp (Deep Learning Pipelines, native).
 * Include this one header; the per-concept headers it includes stay readable
 * on their own. Conventions: opaque handles made by dlp_*_create/open and
 * released by dlp_*_destroy/close; every fallible call returns dlp_status and
 * leaves a message in dlp_last_error(). */
#ifndef DLP_DLP_H
#define DLP_DLP_H

#include "dlp/core.h"         /* status codes, errors, version */
#include "dlp/device.h"       /* CUDA devices */
#include "dlp/tensor.h"       /* dtypes, named tensor lists (weights) */
#include "dlp/image.h"        /* decode to RGB8, resize, normalize */
#include "dlp/dataset.h"      /* rows (origin, label, status), folder scan, split */
#include "dlp/io.h"           /* .npy, CSV manifest, LibSVM, JSON Lines */
#include "dlp/safetensors.h"  /* weight files */
#include "dlp/weights.h"      /* importers: Keras .h5, TF.js */
#include "dlp/graph.h"        /* network graphs and backends */
#include "dlp/keras_model.h"  /* users' own Keras models from a model_config */
#include "dlp/logreg.h"       /* logistic regression, evaluator */
#include "dlp/pipeline.h"     /* featurizer + logistic regression, saved as a directory */
#include "dlp/featurize.h"    /* a zoo network as a featurizer over image rows */
#include "dlp/predictor.h"    /* a zoo network as an ImageNet classifier, the class list */

#endif

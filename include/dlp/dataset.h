/* dlp/dataset.h: (being written). */
#ifndef DLP_DATASET_H
#define DLP_DATASET_H

#include "dlp/core.h"

#endif

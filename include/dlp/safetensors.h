/* dlp/safetensors.h: (being written). */
#ifndef DLP_SAFETENSORS_H
#define DLP_SAFETENSORS_H

#include "dlp/core.h"

#endif

/* dlp/image.h: (being written). */
#ifndef DLP_IMAGE_H
#define DLP_IMAGE_H

#include "dlp/core.h"

#endif

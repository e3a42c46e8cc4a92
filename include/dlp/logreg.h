/* dlp/logreg.h: (being written). */
#ifndef DLP_LOGREG_H
#define DLP_LOGREG_H

#include "dlp/core.h"

#endif

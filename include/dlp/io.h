/* dlp/io.h: (being written). */
#ifndef DLP_IO_H
#define DLP_IO_H

#include "dlp/core.h"

#endif

/* dlp/graph.h: (being written). */
#ifndef DLP_GRAPH_H
#define DLP_GRAPH_H

#include "dlp/core.h"

#endif

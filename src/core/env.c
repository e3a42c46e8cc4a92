/* env.c: see env.h. */
#include "core/env.h"

#include <stdlib.h>
#include <string.h>

bool dlp_env_switch(const char *name, bool fallback)
{
    const char *value = getenv(name);
    if (!value || !value[0]) return fallback;
    return strcmp(value, "0") != 0;
}

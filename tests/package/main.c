/* Links libdlp as an application would and checks the header matches the library. */
#include <stdio.h>
#include <string.h>

#include <dlp/dlp.h>

int main(void)
{
    int count = 0;
    dlp_status status = dlp_device_count(&count);
    printf("dlp %s, %d device(s)%s%s\n", dlp_version_string(), count, status ? ": " : "", status ? dlp_last_error() : "");
    return strcmp(dlp_version_string(), DLP_VERSION_STRING) == 0 ? 0 : 1;
}

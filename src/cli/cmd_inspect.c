/* cmd_inspect.c: `dlp inspect FILE...`: what an image, safetensors or .npy
 * file holds, recognized by its first bytes (never by its name). */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static const char usage[] =
    "Usage: dlp inspect [--json] FILE...\n\n"
    "Describes each FILE, recognized by its content:\n"
    "  JPEG or PNG image: format, width, height, channels as stored, colour type,\n"
    "                     bit depth, progressive (JPEG) / interlaced (PNG); header only\n"
    "  safetensors:       each tensor's name, dtype and shape, and the __metadata__\n"
    "  .npy array:        dtype, shape and memory order\n"
    "--json writes one JSON object per FILE, one per line.\n"
    "Exit codes: 0 ok, 1 usage, 2 a FILE is unreadable, damaged or of another kind.\n";

/* Files bigger than this are not read whole: only their beginning is sniffed
 * (an image header, a safetensors header, a .npy header all come first). */
enum { SNIFF_BYTES_MAX = 16 << 20 };

static int read_head(const char *path, uint8_t **bytes, size_t *size)
{
    FILE *file = fopen(path, "rb");
    if (!file) {
        cli_error("inspect", "%s: cannot open: %s", path, strerror(errno));
        return CLI_EXIT_DATA;
    }
    *bytes = malloc(SNIFF_BYTES_MAX);
    *size = *bytes ? fread(*bytes, 1, SNIFF_BYTES_MAX, file) : 0;
    int failed = !*bytes || ferror(file);
    fclose(file);
    if (failed) {
        cli_error("inspect", "%s: cannot read", path);
        return CLI_EXIT_DATA;
    }
    return CLI_EXIT_OK;
}

static int inspect_image(const char *path, const uint8_t *bytes, size_t size, int json)
{
    dlp_image_info info;
    dlp_status status = dlp_image_probe(bytes, size, &info);
    if (status != DLP_OK) {
        cli_error("inspect", "%s: %s", path, dlp_last_error());
        return cli_exit_code(status);
    }
    const char *format = dlp_image_format_name(info.format);
    /* The header is reported as is; decoding refuses sizes over the limits. */
    int within_limits = info.width <= DLP_IMAGE_MAX_SIDE && info.height <= DLP_IMAGE_MAX_SIDE &&
                        (int64_t)info.width * info.height <= DLP_IMAGE_MAX_PIXELS;
    if (json) {
        printf("{\"file\":");
        dlp_json_write_string(stdout, path);
        printf(",\"type\":\"image\",\"format\":\"%s\",\"width\":%d,\"height\":%d,\"channels\":%d,\"color\":\"%s\","
               "\"bit_depth\":%d,\"progressive\":%s,\"within_limits\":%s}\n",
               format, info.width, info.height, info.channels, info.color, info.bit_depth,
               info.progressive ? "true" : "false", within_limits ? "true" : "false");
        return CLI_EXIT_OK;
    }
    printf("%s: %s image\n  size         %dx%d (width x height)\n  channels     %d (%s)\n  bit depth    %d\n"
           "  %-12s %s\n",
           path, format, info.width, info.height, info.channels, info.color, info.bit_depth,
           info.format == DLP_IMAGE_FORMAT_PNG ? "interlaced" : "progressive", info.progressive ? "yes" : "no");
    if (!within_limits)
        printf("  limits       over dlp's decode limits (sides <= %d, at most %lld pixels): decoding will refuse it\n",
               DLP_IMAGE_MAX_SIDE, (long long)DLP_IMAGE_MAX_PIXELS);
    return CLI_EXIT_OK;
}

static void print_shape(const int64_t *shape, int ndim, int json)
{
    putchar(json ? '[' : '(');
    for (int d = 0; d < ndim; d++) printf("%s%lld", d ? (json ? "," : ", ") : "", (long long)shape[d]);
    if (!json && ndim == 1) putchar(',');
    putchar(json ? ']' : ')');
}

static int inspect_safetensors(const char *path, int json)
{
    dlp_safetensors *file = NULL;
    dlp_status status = dlp_safetensors_open(path, &file);
    if (status != DLP_OK) return cli_fail("inspect", status);
    size_t count = dlp_safetensors_count(file), metadata = dlp_safetensors_metadata_count(file);
    if (json) {
        printf("{\"file\":");
        dlp_json_write_string(stdout, path);
        printf(",\"type\":\"safetensors\",\"tensors\":[");
    } else {
        printf("%s: safetensors, %zu tensors\n", path, count);
    }
    for (size_t i = 0; i < count; i++) {
        const dlp_named_tensor *tensor = dlp_safetensors_at(file, i);
        if (json) {
            printf("%s{\"name\":", i ? "," : "");
            dlp_json_write_string(stdout, tensor->name);
            printf(",\"dtype\":\"%s\",\"shape\":", dlp_dtype_name(tensor->dtype));
            print_shape(tensor->shape, tensor->ndim, 1);
            printf("}");
        } else {
            printf("  %-40s %-5s ", tensor->name, dlp_dtype_name(tensor->dtype));
            print_shape(tensor->shape, tensor->ndim, 0);
            putchar('\n');
        }
    }
    if (json) printf("],\"metadata\":{");
    else if (metadata) printf("  __metadata__:\n");
    for (size_t i = 0; i < metadata; i++) {
        const char *key, *value;
        dlp_safetensors_metadata_at(file, i, &key, &value);
        if (json) {
            printf("%s", i ? "," : "");
            dlp_json_write_string(stdout, key);
            putchar(':');
            dlp_json_write_string(stdout, value);
        } else {
            printf("    %s = %s\n", key, value);
        }
    }
    if (json) printf("}}\n");
    dlp_safetensors_close(file);
    return CLI_EXIT_OK;
}

/* --- .npy: the header is a Python dict literal (numpy.lib.format) --- */

/* The text after 'key': in header, or NULL. */
static const char *npy_field(const char *header, const char *key)
{
    char quoted[32];
    snprintf(quoted, sizeof quoted, "'%s':", key);
    const char *at = strstr(header, quoted);
    if (!at) return NULL;
    at += strlen(quoted);
    while (*at == ' ') at++;
    return at;
}

static int npy_fail(const char *path, const char *why)
{
    cli_error("inspect", "%s: .npy header: %s", path, why);
    return CLI_EXIT_DATA;
}

static int inspect_npy(const char *path, const uint8_t *bytes, size_t size, int json)
{
    if (size < 10) return npy_fail(path, "truncated");
    int major = bytes[6];
    size_t header_start = major == 1 ? 10 : 12;
    if (major < 1 || major > 3 || size < header_start) return npy_fail(path, "unknown format version");
    size_t header_bytes = major == 1 ? (size_t)bytes[8] | (size_t)bytes[9] << 8
                                     : (size_t)bytes[8] | (size_t)bytes[9] << 8 | (size_t)bytes[10] << 16 |
                                           (size_t)bytes[11] << 24;
    if (header_bytes > 100000 || header_start + header_bytes > size) return npy_fail(path, "truncated or oversized");
    char *header = malloc(header_bytes + 1);
    if (!header) return npy_fail(path, "out of memory");
    memcpy(header, bytes + header_start, header_bytes);
    header[header_bytes] = '\0';
    const char *descr = npy_field(header, "descr"), *order = npy_field(header, "fortran_order");
    const char *shape = npy_field(header, "shape");
    char dtype[64] = "";
    int64_t dims[DLP_MAX_DIMS];
    int ndim = 0, ok = descr && order && shape && *descr == '\'' && *shape == '(';
    if (ok) {
        const char *end = strchr(descr + 1, '\'');
        ok = end && (size_t)(end - descr - 1) < sizeof dtype;
        if (ok) memcpy(dtype, descr + 1, (size_t)(end - descr - 1));
    }
    for (const char *p = ok ? shape + 1 : ""; ok && *p && *p != ')';) {
        char *next;
        errno = 0;
        long long dim = strtoll(p, &next, 10);
        if (next == p) break;
        ok = ndim < DLP_MAX_DIMS && dim >= 0 && !errno;
        if (ok) dims[ndim++] = dim;
        p = next;
        while (*p == ',' || *p == ' ') p++;
    }
    int fortran = ok && !strncmp(order, "True", 4);
    free(header);
    if (!ok) return npy_fail(path, "expected {'descr': '...', 'fortran_order': ..., 'shape': (...)}");
    if (json) {
        printf("{\"file\":");
        dlp_json_write_string(stdout, path);
        printf(",\"type\":\"npy\",\"version\":%d,\"dtype\":", major);
        dlp_json_write_string(stdout, dtype);
        printf(",\"shape\":");
        print_shape(dims, ndim, 1);
        printf(",\"fortran_order\":%s}\n", fortran ? "true" : "false");
        return CLI_EXIT_OK;
    }
    printf("%s: .npy (format %d.0)\n  dtype        %s\n  shape        ", path, major, dtype);
    print_shape(dims, ndim, 0);
    printf("\n  order        %s\n", fortran ? "Fortran (column-major)" : "C (row-major)");
    return CLI_EXIT_OK;
}

static int looks_like_safetensors(const uint8_t *bytes, size_t size)
{
    if (size < 10) return 0;
    uint64_t header = 0;
    for (int i = 7; i >= 0; i--) header = header << 8 | bytes[i];
    return header >= 2 && header <= DLP_SAFETENSORS_MAX_HEADER_BYTES && bytes[8] == '{';
}

static int inspect_file(const char *path, int json)
{
    uint8_t *bytes = NULL;
    size_t size = 0;
    int code = read_head(path, &bytes, &size);
    if (code != CLI_EXIT_OK) {
        free(bytes);
        return code;
    }
    dlp_image_info info;
    if (dlp_image_probe(bytes, size, &info) != DLP_ERR_UNSUPPORTED || size == 0)
        code = size == 0 ? (cli_error("inspect", "%s: empty file (0 bytes)", path), CLI_EXIT_DATA)
                         : inspect_image(path, bytes, size, json);
    else if (size >= 6 && !memcmp(bytes, "\x93NUMPY", 6)) code = inspect_npy(path, bytes, size, json);
    else if (looks_like_safetensors(bytes, size)) code = inspect_safetensors(path, json);
    else {
        cli_error("inspect", "%s: not a JPEG, PNG, safetensors or .npy file (judged by its first bytes)", path);
        code = CLI_EXIT_DATA;
    }
    free(bytes);
    return code;
}

int cli_inspect(int argc, char **argv)
{
    static const struct option options[] = {{"json", no_argument, NULL, 'j'}, {"help", no_argument, NULL, 'h'}, {0}};
    int json = 0, option;
    optind = 1;
    while ((option = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (option) {
        case 'j': json = 1; break;
        case 'h': fputs(usage, stdout); return CLI_EXIT_OK;
        default: return cli_usage_error("inspect", "unknown option");
        }
    }
    if (optind >= argc) return cli_usage_error("inspect", "expected at least one FILE");
    int worst = CLI_EXIT_OK;
    for (int i = optind; i < argc; i++) {
        int code = inspect_file(argv[i], json);
        if (code != CLI_EXIT_OK && worst == CLI_EXIT_OK) worst = code;
    }
    fflush(stdout);
    return worst;
}

/* text_writers.c: the CSV manifest of rows (RFC 4180 quoting) and JSON Lines
 * rows (strings escaped as Python's json.dumps(ensure_ascii=False) does). */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "core/status.h"
#include "data/output_file.h"
#include "dlp/io.h"

static void write_csv_field(FILE *out, const char *text)
{
    if (!strpbrk(text, ",\"\r\n")) {
        fputs(text, out);
        return;
    }
    fputc('"', out);
    for (const char *c = text; *c; c++) {
        if (*c == '"') fputc('"', out);
        fputc(*c, out);
    }
    fputc('"', out);
}

dlp_status dlp_manifest_write_csv(const char *path, const dlp_dataset *dataset)
{
    if (!path || !dataset) return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "dlp_manifest_write_csv: NULL argument");
    dlp_output_file output;
    DLP_TRY(dlp_output_file_open(&output, path));
    FILE *out = output.file;
    fputs("origin,label,status,message\n", out);
    size_t count = dlp_dataset_size(dataset);
    for (size_t i = 0; i < count; i++) {
        dlp_row row;
        dlp_status status = dlp_dataset_row(dataset, i, &row);
        if (status != DLP_OK) return dlp_output_file_abort(&output, status);
        write_csv_field(out, row.origin);
        fputc(',', out);
        if (row.label >= 0) fprintf(out, "%lld", (long long)row.label);
        fputc(',', out);
        fputs(dlp_status_name(row.status), out);
        fputc(',', out);
        write_csv_field(out, row.message);
        fputc('\n', out);
        if (ferror(out)) break; /* commit reports it */
    }
    return dlp_output_file_commit(&output);
}

/* Bytes taken by the UTF-8 sequence at text: a whole valid sequence (*valid
 * = 1), or its longest valid-looking prefix, or 1 byte, which the caller
 * replaces by one U+FFFD ("maximal subpart" substitution, Unicode §3.9, which
 * Python's bytes.decode(errors="replace") does too). Overlong forms,
 * surrogates and values above U+10FFFF are invalid (Unicode Table 3-7). */
static size_t utf8_sequence(const unsigned char *text, int *valid)
{
    unsigned char c = text[0];
    size_t continuation;
    unsigned char low = 0x80, high = 0xBF; /* allowed range of the second byte */
    *valid = 0;
    if (c < 0x80) {
        *valid = 1;
        return 1;
    } else if (c >= 0xC2 && c <= 0xDF) {
        continuation = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
        continuation = 2;
        if (c == 0xE0) low = 0xA0;
        if (c == 0xED) high = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        continuation = 3;
        if (c == 0xF0) low = 0x90;
        if (c == 0xF4) high = 0x8F;
    } else {
        return 1;
    }
    for (size_t i = 1; i <= continuation; i++) {
        unsigned char byte = text[i]; /* the terminating NUL fails the test: never read past it */
        if (i == 1 ? byte < low || byte > high : byte < 0x80 || byte > 0xBF) return i;
    }
    *valid = 1;
    return continuation + 1;
}

/* The inside of a JSON string literal, without the quotes. */
static void write_json_body(FILE *out, const char *text)
{
    const unsigned char *c = (const unsigned char *)(text ? text : "");
    while (*c) {
        switch (*c) {
        case '"': fputs("\\\"", out); c++; continue;
        case '\\': fputs("\\\\", out); c++; continue;
        case '\b': fputs("\\b", out); c++; continue;
        case '\f': fputs("\\f", out); c++; continue;
        case '\n': fputs("\\n", out); c++; continue;
        case '\r': fputs("\\r", out); c++; continue;
        case '\t': fputs("\\t", out); c++; continue;
        default: break;
        }
        if (*c < 0x20) {
            fprintf(out, "\\u%04x", *c);
            c++;
            continue;
        }
        int valid;
        size_t length = utf8_sequence(c, &valid);
        if (valid) fwrite(c, 1, length, out);
        else fputs("\xEF\xBF\xBD", out);
        c += length;
    }
}

void dlp_json_write_string(FILE *out, const char *text)
{
    fputc('"', out);
    write_json_body(out, text);
    fputc('"', out);
}

/* %.9g: the shortest printf precision that round-trips every float32. */
static void write_json_float(FILE *out, float value)
{
    if (!isfinite(value)) fputs("null", out);
    else fprintf(out, "%.9g", (double)value);
}

dlp_status dlp_jsonl_write_row(FILE *out, const dlp_row *row, const char *label_name, const char *array_field,
                               const float *values, size_t count)
{
    if (!out || !row) return dlp_fail(DLP_ERR_INVALID_ARGUMENT, "dlp_jsonl_write_row: NULL argument");
    fputs("{\"origin\":", out);
    dlp_json_write_string(out, row->origin);
    if (row->label >= 0) fprintf(out, ",\"label\":%lld", (long long)row->label);
    else fputs(",\"label\":null", out);
    if (label_name) {
        fputs(",\"label_name\":", out);
        dlp_json_write_string(out, label_name);
    }
    if (row->status == DLP_OK) {
        fputs(",\"status\":\"ok\",\"error\":null", out);
    } else {
        fputs(",\"status\":\"error\",\"error\":\"", out);
        /* The kind and the message in one string: "i/o: photo.jpg: No such file". */
        write_json_body(out, dlp_status_name(row->status));
        fputs(": ", out);
        write_json_body(out, row->message ? row->message : "");
        fputs("\"", out);
    }
    if (array_field) {
        fputc(',', out);
        dlp_json_write_string(out, array_field);
        fputc(':', out);
        if (!values) {
            fputs("null", out);
        } else {
            fputc('[', out);
            for (size_t i = 0; i < count; i++) {
                if (i) fputc(',', out);
                write_json_float(out, values[i]);
            }
            fputc(']', out);
        }
    }
    fputs("}\n", out);
    if (ferror(out)) /* errno is the failed write's (stdio sets it) */
        return dlp_fail(DLP_ERR_IO, "writing a JSON Lines row for %s failed: %s", row->origin, strerror(errno));
    return DLP_OK;
}

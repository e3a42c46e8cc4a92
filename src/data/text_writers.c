/* text_writers.c: the CSV manifest of rows (RFC 4180 quoting) and JSON Lines
 * rows (strings escaped as Python's json.dumps(ensure_ascii=False) does). */
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

/* Length of the valid UTF-8 sequence at text (1..4), or 0 if the bytes there
 * are not one (overlong forms, surrogates and values above U+10FFFF are not). */
static size_t utf8_sequence_length(const unsigned char *text)
{
    unsigned char c = text[0];
    if (c < 0x80) return 1;
    size_t length;
    uint32_t low_bound;
    uint32_t value;
    if (c >= 0xC2 && c <= 0xDF) {
        length = 2;
        value = c & 0x1F;
        low_bound = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        length = 3;
        value = c & 0x0F;
        low_bound = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        length = 4;
        value = c & 0x07;
        low_bound = 0x10000;
    } else {
        return 0;
    }
    for (size_t i = 1; i < length; i++) {
        if ((text[i] & 0xC0) != 0x80) return 0; /* also stops at the terminating NUL */
        value = value << 6 | (text[i] & 0x3F);
    }
    if (value < low_bound || value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF)) return 0;
    return length;
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
        size_t length = utf8_sequence_length(c);
        if (length) {
            fwrite(c, 1, length, out);
            c += length;
        } else {
            /* One U+FFFD per maximal invalid subsequence (Unicode 15, §3.9 "U+FFFD
             * substitution of maximal subparts"), approximated: skip the lead byte
             * and any continuation bytes that follow it. */
            fputs("\xEF\xBF\xBD", out);
            c++;
            while ((*c & 0xC0) == 0x80) c++;
        }
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
    if (ferror(out)) return dlp_fail(DLP_ERR_IO, "writing a JSON Lines row for %s failed", row->origin);
    return DLP_OK;
}

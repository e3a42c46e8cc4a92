/* jpeg_coefficients.c: see jpeg_coefficients.h. The coefficients come from
 * libjpeg's API (libjpeg-turbo 2.1, Debian's libjpeg62-turbo: TurboJPEG 2.1
 * does not hand them out); its errors are caught with setjmp/longjmp, as
 * its error manager expects. The reconstruction follows libjpeg-turbo's
 * own integer arithmetic, step by step:
 * - the IDCT is the accurate integer one (JDCT_ISLOW, jidctint.c): the
 *   Loeffler-Ligtenberg-Moschytz butterflies with 13-bit constants, a first
 *   pass over columns keeping 2 extra bits, a second over rows, each result
 *   rounded, shifted and clamped through libjpeg's range-limit table
 *   (idct_sample below);
 * - chroma is upsampled by libjpeg's "fancy" triangle filter (jdsample.c):
 *   each output sample weighs its nearest input 3/4 and the next nearest
 *   1/4, horizontally (4:2:2) or in both directions (4:2:0: 9/16, 3/16,
 *   3/16, 1/16), rounding half up on one side and half down on the other,
 *   edges repeating the outermost sample; a component at most 2 samples
 *   wide is repeated instead;
 * - YCbCr -> RGB uses libjpeg's 16-bit fixed-point tables (jdcolor.c). */
#include "image/jpeg_coefficients.h"

#include <setjmp.h>
#include <stdbool.h>
#include <stdio.h> /* before jpeglib.h, which uses FILE */
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

#include "core/status.h"
#include "dlp/image.h"

/* ---- Reading ---- */

_Static_assert(sizeof(JCOEF) == sizeof(int16_t), "libjpeg's coefficients are copied as int16_t");

typedef struct error_trap {
    struct jpeg_error_mgr manager; /* first: libjpeg sees only this */
    jmp_buf jump;
    bool warned;
    char message[JMSG_LENGTH_MAX];
} error_trap;

static void trap_error(j_common_ptr cinfo)
{
    error_trap *trap = (error_trap *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, trap->message);
    longjmp(trap->jump, 1);
}

/* Level -1 is a warning (corrupt data libjpeg decoded around); higher levels are traces. */
static void trap_message(j_common_ptr cinfo, int level)
{
    error_trap *trap = (error_trap *)cinfo->err;
    if (level >= 0 || trap->warned) return;
    (*cinfo->err->format_message)(cinfo, trap->message);
    trap->warned = true;
}

static dlp_status check_covered(const struct jpeg_decompress_struct *cinfo)
{
    if ((int64_t)cinfo->image_width > DLP_IMAGE_MAX_SIDE || (int64_t)cinfo->image_height > DLP_IMAGE_MAX_SIDE ||
        (int64_t)cinfo->image_width * cinfo->image_height > DLP_IMAGE_MAX_PIXELS)
        return dlp_fail(DLP_ERR_LIMIT, "JPEG: %ux%u is past the limit of %d a side and %lld pixels",
                        cinfo->image_width, cinfo->image_height, DLP_IMAGE_MAX_SIDE,
                        (long long)DLP_IMAGE_MAX_PIXELS);
    if (cinfo->data_precision != 8 || cinfo->arith_code || cinfo->num_components != 3 ||
        cinfo->jpeg_color_space != JCS_YCbCr)
        return dlp_fail(DLP_ERR_UNSUPPORTED,
                        "JPEG: %d components, colour space %d, %d-bit, %s coding: only 3-component 8-bit "
                        "Huffman-coded YCbCr is covered",
                        cinfo->num_components, (int)cinfo->jpeg_color_space, cinfo->data_precision,
                        cinfo->arith_code ? "arithmetic" : "Huffman");
    const jpeg_component_info *y = &cinfo->comp_info[0];
    bool luma = (y->h_samp_factor == 1 && y->v_samp_factor == 1) || (y->h_samp_factor == 2 && y->v_samp_factor == 1) ||
                (y->h_samp_factor == 2 && y->v_samp_factor == 2);
    for (int c = 1; c < 3; c++)
        luma = luma && cinfo->comp_info[c].h_samp_factor == 1 && cinfo->comp_info[c].v_samp_factor == 1;
    if (!luma)
        return dlp_fail(DLP_ERR_UNSUPPORTED, "JPEG: sampling %dx%d,%dx%d,%dx%d is not 4:4:4, 4:2:2 or 4:2:0",
                        y->h_samp_factor, y->v_samp_factor, cinfo->comp_info[1].h_samp_factor,
                        cinfo->comp_info[1].v_samp_factor, cinfo->comp_info[2].h_samp_factor,
                        cinfo->comp_info[2].v_samp_factor);
    return DLP_OK;
}

/* Component c's blocks out of libjpeg's virtual array, to blocks or (NULL) the heap. */
static dlp_status copy_component(struct jpeg_decompress_struct *cinfo, jvirt_barray_ptr array, int c,
                                 int16_t *blocks, dlp_jpeg_component *out)
{
    const jpeg_component_info *info = &cinfo->comp_info[c];
    if (!info->quant_table) return dlp_fail(DLP_ERR_FORMAT, "JPEG: component %d has no quantization table", c);
    out->h_samp = info->h_samp_factor;
    out->v_samp = info->v_samp_factor;
    int h_max = cinfo->max_h_samp_factor, v_max = cinfo->max_v_samp_factor;
    out->width = (int)(((int64_t)cinfo->image_width * out->h_samp + h_max - 1) / h_max);
    out->height = (int)(((int64_t)cinfo->image_height * out->v_samp + v_max - 1) / v_max);
    out->width_in_blocks = (int)info->width_in_blocks;
    out->height_in_blocks = (int)info->height_in_blocks;
    for (int k = 0; k < 64; k++) out->quant[k] = info->quant_table->quantval[k];
    size_t row_blocks = (size_t)out->width_in_blocks;
    out->blocks = blocks ? blocks : malloc((size_t)out->height_in_blocks * row_blocks * 64 * sizeof(int16_t));
    if (!out->blocks) return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "JPEG: out of memory for the coefficients");
    for (int by = 0; by < out->height_in_blocks; by++) {
        JBLOCKARRAY row = (*cinfo->mem->access_virt_barray)((j_common_ptr)cinfo, array, (JDIMENSION)by, 1, FALSE);
        memcpy(out->blocks + (size_t)by * row_blocks * 64, row[0], row_blocks * sizeof(JBLOCK));
    }
    return DLP_OK;
}

dlp_status dlp_jpeg_read_coefficients(const uint8_t *data, size_t size, int16_t *room, size_t room_blocks,
                                      dlp_jpeg_coefficients *out)
{
    memset(out, 0, sizeof *out);
    struct jpeg_decompress_struct cinfo;
    error_trap trap = {.warned = false};
    cinfo.err = jpeg_std_error(&trap.manager);
    trap.manager.error_exit = trap_error;
    trap.manager.emit_message = trap_message;
    if (setjmp(trap.jump)) {
        jpeg_destroy_decompress(&cinfo);
        dlp_jpeg_coefficients_free(out);
        return dlp_fail(DLP_ERR_FORMAT, "JPEG: %s", trap.message);
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    jpeg_read_header(&cinfo, TRUE);
    dlp_status status = check_covered(&cinfo);
    jvirt_barray_ptr *arrays = status == DLP_OK ? jpeg_read_coefficients(&cinfo) : NULL;
    if (status == DLP_OK && trap.warned) status = dlp_fail(DLP_ERR_FORMAT, "JPEG: %s", trap.message);
    out->width = (int)cinfo.image_width;
    out->height = (int)cinfo.image_height;
    size_t total = 0;
    for (int c = 0; c < 3 && status == DLP_OK; c++)
        total += (size_t)cinfo.comp_info[c].width_in_blocks * cinfo.comp_info[c].height_in_blocks;
    out->in_room = room && total <= room_blocks;
    size_t at = 0;
    for (int c = 0; c < 3 && status == DLP_OK; c++) {
        status = copy_component(&cinfo, arrays[c], c, out->in_room ? room + at * 64 : NULL, &out->component[c]);
        at += (size_t)cinfo.comp_info[c].width_in_blocks * cinfo.comp_info[c].height_in_blocks;
    }
    jpeg_destroy_decompress(&cinfo);
    if (status != DLP_OK) dlp_jpeg_coefficients_free(out);
    return status;
}

void dlp_jpeg_coefficients_free(dlp_jpeg_coefficients *coefficients)
{
    for (int c = 0; c < 3 && !coefficients->in_room; c++) free(coefficients->component[c].blocks);
    memset(coefficients, 0, sizeof *coefficients);
}

/* ---- Reconstruction ---- */

enum { CONST_BITS = 13, PASS1_BITS = 2 };
#define FIX13(x) ((int64_t)((x) * (1 << CONST_BITS) + 0.5))

static int64_t descale(int64_t x, int n) { return (x + ((int64_t)1 << (n - 1))) >> n; }

/* libjpeg's post-IDCT range limit: the value centred on 0 taken modulo
 * 1024, then 0..127 -> 128..255, up to 511 -> 255, up to 895 -> 0, the
 * rest (negative values down to -128) -> 0..127. */
static uint8_t idct_sample(int64_t centred)
{
    int m = (int)(centred & 1023);
    return (uint8_t)(m < 128 ? m + 128 : m < 512 ? 255 : m < 896 ? 0 : m - 896);
}

/* One 1-D pass of the accurate IDCT over in[0], in[step], .., in[7 step]:
 * the even and odd halves, then out[k] = the kth output before descaling. */
static void idct_1d(const int64_t *in, int step, int64_t out[8])
{
    int64_t z2 = in[2 * step], z3 = in[6 * step];
    int64_t z1 = (z2 + z3) * FIX13(0.541196100);
    int64_t t2 = z1 - z3 * FIX13(1.847759065), t3 = z1 + z2 * FIX13(0.765366865);
    int64_t t0 = (in[0] + in[4 * step]) * (1 << CONST_BITS), t1 = (in[0] - in[4 * step]) * (1 << CONST_BITS);
    int64_t t10 = t0 + t3, t13 = t0 - t3, t11 = t1 + t2, t12 = t1 - t2;
    t0 = in[7 * step], t1 = in[5 * step], t2 = in[3 * step], t3 = in[1 * step];
    z1 = t0 + t3, z2 = t1 + t2, z3 = t0 + t2;
    int64_t z4 = t1 + t3, z5 = (z3 + z4) * FIX13(1.175875602);
    t0 *= FIX13(0.298631336), t1 *= FIX13(2.053119869), t2 *= FIX13(3.072711026), t3 *= FIX13(1.501321110);
    z1 *= -FIX13(0.899976223), z2 *= -FIX13(2.562915447), z3 = z3 * -FIX13(1.961570560) + z5;
    z4 = z4 * -FIX13(0.390180644) + z5;
    t0 += z1 + z3, t1 += z2 + z4, t2 += z2 + z3, t3 += z1 + z4;
    out[0] = t10 + t3, out[7] = t10 - t3, out[1] = t11 + t2, out[6] = t11 - t2;
    out[2] = t12 + t1, out[5] = t12 - t1, out[3] = t13 + t0, out[4] = t13 - t0;
}

/* One block: coefficients x quantizers, columns then rows, into 8 rows of out (stride bytes apart). */
static void idct_block(const int16_t *block, const uint16_t *quant, uint8_t *out, size_t stride)
{
    int64_t in[64], work[64], row[8];
    for (int k = 0; k < 64; k++) in[k] = (int64_t)block[k] * quant[k];
    for (int c = 0; c < 8; c++) {
        idct_1d(in + c, 8, row);
        for (int r = 0; r < 8; r++) work[r * 8 + c] = descale(row[r], CONST_BITS - PASS1_BITS);
    }
    for (int r = 0; r < 8; r++) {
        idct_1d(work + r * 8, 1, row);
        for (int c = 0; c < 8; c++) out[r * stride + c] = idct_sample(descale(row[c], CONST_BITS + PASS1_BITS + 3));
    }
}

typedef struct plane {
    uint8_t *samples;
    size_t stride;
    int width, height; /* the component's own samples (the rest of the blocks is padding) */
} plane;

static bool idct_component(const dlp_jpeg_component *c, plane *p)
{
    p->stride = (size_t)c->width_in_blocks * 8;
    p->width = c->width;
    p->height = c->height;
    p->samples = malloc(p->stride * (size_t)c->height_in_blocks * 8);
    if (!p->samples) return false;
    for (int by = 0; by < c->height_in_blocks; by++)
        for (int bx = 0; bx < c->width_in_blocks; bx++)
            idct_block(c->blocks + ((size_t)by * c->width_in_blocks + bx) * 64, c->quant,
                       p->samples + (size_t)by * 8 * p->stride + (size_t)bx * 8, p->stride);
    return true;
}

static int sample(const plane *p, int x, int y) { return p->samples[(size_t)y * p->stride + (size_t)x]; }

/* Chroma at image pixel (x, y) of a component sampled 1 / h across and 1 / v
 * down (h, v in {1, 2}), upsampled as libjpeg does. */
static int upsampled(const plane *p, int h, int v, int x, int y)
{
    int i = x / h, r = y / v;
    if (h == 1) return sample(p, i, r);
    if (p->width <= 2) return sample(p, i, r);
    bool left = x % 2 == 0;
    int beside = left ? i - 1 : i + 1; /* the next nearest column */
    bool edge = left ? i == 0 : i == p->width - 1;
    if (v == 1) { /* 4:2:2 */
        if (edge) return sample(p, i, r);
        return (sample(p, i, r) * 3 + sample(p, beside, r) + (left ? 1 : 2)) >> 2;
    }
    /* 4:2:0: column sums of the row and the next nearest row (the edge rows repeat). */
    int other = y % 2 == 0 ? (r > 0 ? r - 1 : 0) : (r + 1 < p->height ? r + 1 : p->height - 1);
    int here = sample(p, i, r) * 3 + sample(p, i, other);
    if (edge) return left ? (here * 4 + 8) >> 4 : (here * 4 + 7) >> 4;
    int next = sample(p, beside, r) * 3 + sample(p, beside, other);
    return left ? (here * 3 + next + 8) >> 4 : (here * 3 + next + 7) >> 4;
}

static uint8_t clamp_sample(int64_t x) { return (uint8_t)(x < 0 ? 0 : x > 255 ? 255 : x); }

dlp_status dlp_jpeg_reconstruct(const dlp_jpeg_coefficients *coefficients, uint8_t *rgb)
{
    /* jdcolor.c's tables: FIX(x) with 16 fraction bits, rounded. */
    const int64_t cr_r = (int64_t)(1.40200 * 65536 + 0.5), cb_b = (int64_t)(1.77200 * 65536 + 0.5);
    const int64_t cr_g = (int64_t)(0.71414 * 65536 + 0.5), cb_g = (int64_t)(0.34414 * 65536 + 0.5);
    plane planes[3] = {{0}};
    bool ok = true;
    for (int c = 0; c < 3 && ok; c++) ok = idct_component(&coefficients->component[c], &planes[c]);
    int h = coefficients->component[0].h_samp, v = coefficients->component[0].v_samp;
    for (int y = 0; ok && y < coefficients->height; y++) {
        for (int x = 0; x < coefficients->width; x++) {
            int64_t luma = sample(&planes[0], x, y);
            int64_t cb = upsampled(&planes[1], h, v, x, y) - 128, cr = upsampled(&planes[2], h, v, x, y) - 128;
            uint8_t *out = rgb + ((size_t)y * (size_t)coefficients->width + (size_t)x) * 3;
            out[0] = clamp_sample(luma + ((cr_r * cr + 32768) >> 16));
            out[1] = clamp_sample(luma + ((-cb_g * cb + 32768 - cr_g * cr) >> 16));
            out[2] = clamp_sample(luma + ((cb_b * cb + 32768) >> 16));
        }
    }
    for (int c = 0; c < 3; c++) free(planes[c].samples);
    return ok ? DLP_OK : dlp_fail(DLP_ERR_OUT_OF_MEMORY, "JPEG: out of memory for the sample planes");
}

/* jpeg_coefficients.c: see jpeg_coefficients.h. The coefficients come from
 * libjpeg's API (libjpeg-turbo 2.1, Debian's libjpeg62-turbo: TurboJPEG 2.1
 * does not hand them out); its errors are caught with setjmp/longjmp, as
 * its error manager expects. The reconstruction's arithmetic, which follows
 * libjpeg-turbo's own step by step, is in jpeg_pixel.h. */
#include "image/jpeg_coefficients.h"

#include <setjmp.h>
#include <stdbool.h>
#include <stdio.h> /* before jpeglib.h, which uses FILE */
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

#include "core/status.h"
#include "dlp/image.h"
#include "image/jpeg_pixel.h"

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

/* A progressive file whose scans leave some coefficient bits unknown is
 * legal (a preview of DC scans only, say), and libjpeg decodes it with
 * block smoothing, which estimates the missing low-frequency terms
 * (jdcoefct.c): not what the reconstruction does, so it is refused. */
static dlp_status check_complete(const struct jpeg_decompress_struct *cinfo)
{
    if (!cinfo->progressive_mode) return DLP_OK;
    if (!cinfo->coef_bits) return dlp_fail(DLP_ERR_UNSUPPORTED, "JPEG: progressive without its scan status");
    for (int c = 0; c < cinfo->num_components; c++)
        for (int k = 0; k < 64; k++)
            if (cinfo->coef_bits[c][k] != 0)
                return dlp_fail(DLP_ERR_UNSUPPORTED,
                                "JPEG: progressive scans leave component %d zigzag coefficient %d %s "
                                "(libjpeg smooths such blocks)",
                                c, k, cinfo->coef_bits[c][k] < 0 ? "unsent" : "short of its low bits");
    return DLP_OK;
}

/* Whether a block's coefficients stay where TurboJPEG's SIMD IDCT (16-bit
 * lanes) and the reconstruction's 64-bit one agree: every dequantized
 * coefficient within 2048, each column's magnitudes summing to at most 4096
 * and the block's to at most 8192. An 8-bit image's DCT cannot leave these
 * (|F| <= 1024 plus half a quantizer; over 1.6 million blocks of real JPEGs
 * the largest were 1026, 2326 and 3955); past them only corrupt or crafted
 * data, where the SIMD code's 16-bit products wrap and its sums saturate. */
static bool block_in_range(const int16_t *block, const uint16_t *quant)
{
    /* Branch-free over the rows, 8 column sums at once: an |coefficient| x quantizer fits 32 bits unsigned
     * (32768 x 65535), and is capped at 2049 before summing so that no sum overflows. */
    uint32_t columns[8] = {0}, over = 0;
    for (int row = 0; row < 8; row++) {
        for (int column = 0; column < 8; column++) {
            int32_t coefficient = block[row * 8 + column];
            uint32_t value = (uint32_t)(coefficient < 0 ? -coefficient : coefficient) * quant[row * 8 + column];
            value = value > 2049 ? 2049 : value;
            over |= value > 2048;
            columns[column] += value;
        }
    }
    uint32_t total = 0;
    for (int column = 0; column < 8; column++) {
        over |= columns[column] > 4096;
        total += columns[column];
    }
    return !over && total <= 8192;
}

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define HAVE_RANGE_AVX2 1

/* block_in_range 16 coefficients at a time (two rows per vector), the same
 * arithmetic in 16-bit lanes: a product's high half nonzero means past 65535,
 * so capped at 2049 like the rest; four capped values sum to at most 8196,
 * a column's eight to 16392, and the block's total is only needed when no
 * column passed 4096 (then at most 32768, summed in 32 bits anyway). */
__attribute__((target("avx2"))) static bool block_in_range_avx2(const int16_t *block, const uint16_t *quant)
{
    const __m256i zero = _mm256_setzero_si256(), cap = _mm256_set1_epi16(2049), limit = _mm256_set1_epi16(2048);
    __m256i over = zero, sum = zero;
    for (int k = 0; k < 64; k += 16) {
        __m256i magnitude = _mm256_abs_epi16(_mm256_loadu_si256((const __m256i *)(const void *)(block + k)));
        __m256i q = _mm256_loadu_si256((const __m256i *)(const void *)(quant + k));
        __m256i low = _mm256_mullo_epi16(magnitude, q), high = _mm256_mulhi_epu16(magnitude, q);
        __m256i wide = _mm256_andnot_si256(_mm256_cmpeq_epi16(high, zero), cap);
        __m256i value = _mm256_max_epu16(_mm256_min_epu16(low, cap), wide);
        over = _mm256_or_si256(over, _mm256_cmpgt_epi16(value, limit));
        sum = _mm256_add_epi16(sum, value);
    }
    __m128i columns = _mm_add_epi16(_mm256_castsi256_si128(sum), _mm256_extracti128_si256(sum, 1));
    __m128i column_over = _mm_cmpgt_epi16(columns, _mm_set1_epi16(4096));
    if (!_mm256_testz_si256(over, over) || !_mm_testz_si128(column_over, column_over)) return false;
    __m128i pairs = _mm_madd_epi16(columns, _mm_set1_epi16(1));
    pairs = _mm_add_epi32(pairs, _mm_shuffle_epi32(pairs, 0x4E));
    pairs = _mm_add_epi32(pairs, _mm_shuffle_epi32(pairs, 0xB1));
    return _mm_cvtsi128_si32(pairs) <= 8192;
}
#endif

typedef bool (*range_check)(const int16_t *block, const uint16_t *quant);

static range_check range_check_for(int isa)
{
#ifdef HAVE_RANGE_AVX2
    if (isa != 0 && __builtin_cpu_supports("avx2")) return block_in_range_avx2;
#endif
    (void)isa;
    return block_in_range;
}

bool dlp_jpeg_block_in_range(const int16_t *block, const uint16_t *quant, int isa)
{
    return range_check_for(isa)(block, quant);
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
    range_check in_range = range_check_for(1);
    out->blocks = blocks ? blocks : malloc((size_t)out->height_in_blocks * row_blocks * 64 * sizeof(int16_t));
    if (!out->blocks) return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "JPEG: out of memory for the coefficients");
    for (int by = 0; by < out->height_in_blocks; by++) {
        JBLOCKARRAY row = (*cinfo->mem->access_virt_barray)((j_common_ptr)cinfo, array, (JDIMENSION)by, 1, FALSE);
        int16_t *copy = out->blocks + (size_t)by * row_blocks * 64;
        memcpy(copy, row[0], row_blocks * sizeof(JBLOCK));
        for (size_t bx = 0; bx < row_blocks; bx++)
            if (!in_range(copy + bx * 64, out->quant))
                return dlp_fail(DLP_ERR_UNSUPPORTED, "JPEG: component %d block (%d, %zu) has coefficients no 8-bit "
                                "image gives (corrupt data)", c, by, bx);
    }
    return DLP_OK;
}

typedef struct fixed_room {
    int16_t *blocks;
    size_t capacity;
} fixed_room;

static int16_t *take_fixed_room(void *context, size_t blocks)
{
    fixed_room *room = context;
    return room->blocks && blocks <= room->capacity ? room->blocks : NULL;
}

dlp_status dlp_jpeg_read_coefficients(const uint8_t *data, size_t size, int16_t *room, size_t room_blocks,
                                      dlp_jpeg_coefficients *out)
{
    fixed_room fixed = {room, room_blocks};
    dlp_jpeg_room take = {take_fixed_room, &fixed};
    return dlp_jpeg_read_coefficients_into(data, size, &take, out);
}

dlp_status dlp_jpeg_read_coefficients_into(const uint8_t *data, size_t size, const dlp_jpeg_room *room,
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
    if (status == DLP_OK && !arrays) status = dlp_fail(DLP_ERR_FORMAT, "JPEG: no coefficients (data ended early)");
    if (status == DLP_OK) status = check_complete(&cinfo);
    if (status == DLP_OK && trap.warned) status = dlp_fail(DLP_ERR_FORMAT, "JPEG: %s", trap.message);
    out->width = (int)cinfo.image_width;
    out->height = (int)cinfo.image_height;
    size_t total = 0;
    for (int c = 0; c < 3 && status == DLP_OK; c++)
        total += (size_t)cinfo.comp_info[c].width_in_blocks * cinfo.comp_info[c].height_in_blocks;
    int16_t *blocks = status == DLP_OK && room && room->take ? room->take(room->context, total) : NULL;
    out->in_room = blocks != NULL;
    size_t at = 0;
    for (int c = 0; c < 3 && status == DLP_OK; c++) {
        status = copy_component(&cinfo, arrays[c], c, blocks ? blocks + at * 64 : NULL, &out->component[c]);
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

/* ---- Reconstruction: the arithmetic is jpeg_pixel.h's, shared with the GPU kernels ---- */

void dlp_jpeg_layout_of(const dlp_jpeg_coefficients *coefficients, dlp_jpeg_layout *layout)
{
    memset(layout, 0, sizeof *layout);
    layout->width = coefficients->width;
    layout->height = coefficients->height;
    layout->h_samp = coefficients->component[0].h_samp;
    layout->v_samp = coefficients->component[0].v_samp;
    for (int c = 0; c < 3; c++) {
        const dlp_jpeg_component *component = &coefficients->component[c];
        size_t blocks = (size_t)component->width_in_blocks * (size_t)component->height_in_blocks;
        layout->width_in_blocks[c] = component->width_in_blocks;
        layout->height_in_blocks[c] = component->height_in_blocks;
        layout->plane_width[c] = component->width;
        layout->plane_height[c] = component->height;
        layout->first_block[c] = layout->total_blocks;
        layout->plane_offset[c] = layout->total_samples;
        layout->total_blocks += blocks;
        layout->total_samples += blocks * 64;
    }
}

dlp_status dlp_jpeg_reconstruct(const dlp_jpeg_coefficients *coefficients, uint8_t *rgb)
{
    dlp_jpeg_layout layout;
    dlp_jpeg_layout_of(coefficients, &layout);
    dlp_jpeg_blocks in;
    for (int c = 0; c < 3; c++) {
        in.blocks[c] = coefficients->component[c].blocks;
        in.quant[c] = coefficients->component[c].quant;
    }
    uint8_t *samples = malloc(layout.total_samples ? layout.total_samples : 1);
    if (!samples) return dlp_fail(DLP_ERR_OUT_OF_MEMORY, "JPEG: out of memory for the sample planes");
    for (size_t i = 0; i < layout.total_blocks; i++) dlp_jpeg_idct_item(in, &layout, samples, i);
    for (size_t i = 0; i < (size_t)layout.width * (size_t)layout.height; i++)
        dlp_jpeg_pixel_item(samples, &layout, rgb, i);
    free(samples);
    return DLP_OK;
}

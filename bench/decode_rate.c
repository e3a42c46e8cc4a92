/* decode_rate.c: the decode ceiling of end-to-end featurization: how many
 * images per second one core reads and decodes (libjpeg-turbo / libspng
 * through dlp_image_read_file + dlp_image_decode, the featurizer's own
 * calls), times the cores. Usage: decode_rate DIR|LIST [--seconds S]
 * Prints: "decode single_core images_per_s=R cores=C ceiling_images_per_s=R*C", then the same for
 * reading each file and its JPEG coefficients only (the entropy decoding:
 * what a decode split with the GPU leaves to the CPU, image/jpeg_coefficients.h),
 * into one reused buffer as a batch's would be:
 * "decode_coefficients single_core ... of_full_decode_time=F", F the
 * coefficients' share of the full decode's time. A file outside what the
 * split covers counts as failed in the second line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dlp/dlp.h"
#include "image/image_internal.h"
#include "image/jpeg_coefficients.h"

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0) {
        fprintf(stderr, "usage: decode_rate DIR|LIST [--seconds S]\n");
        return argc < 2 ? 2 : 0;
    }
    double seconds = argc > 3 && strcmp(argv[2], "--seconds") == 0 ? atof(argv[3]) : 3.0;
    dlp_dataset *dataset = NULL;
    struct stat info;
    dlp_status status = dlp_dataset_create(&dataset);
    if (status == DLP_OK)
        status = stat(argv[1], &info) == 0 && S_ISDIR(info.st_mode) ? dlp_dataset_scan_directory(dataset, argv[1])
                                                                    : dlp_dataset_read_list(dataset, argv[1]);
    if (status != DLP_OK || dlp_dataset_size(dataset) == 0) {
        fprintf(stderr, "decode_rate: %s: %s\n", argv[1], status != DLP_OK ? dlp_last_error() : "no images");
        return 1;
    }
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    enum { ROOM_BLOCKS = 1 << 20 }; /* 128 MiB: a reused buffer, as a batch's would be */
    int16_t *room = malloc((size_t)ROOM_BLOCKS * 64 * sizeof(int16_t));
    double full_rate = 0;
    size_t failed_total = 0;
    for (int mode = 0; mode < 2; mode++) {
        size_t images = 0, failed = 0, rows = dlp_dataset_size(dataset);
        double start = now_seconds(), elapsed = 0;
        while (elapsed < seconds) {
            dlp_row row;
            dlp_dataset_row(dataset, images % rows, &row);
            uint8_t *bytes = NULL;
            size_t size = 0;
            dlp_image image = {0};
            dlp_jpeg_coefficients coefficients = {0};
            dlp_status read = dlp_image_read_file(row.origin, &bytes, &size);
            if (read == DLP_OK && mode == 0) read = dlp_image_decode(bytes, size, &image);
            if (read == DLP_OK && mode == 1)
                read = dlp_jpeg_read_coefficients(bytes, size, room, ROOM_BLOCKS, &coefficients);
            failed += read != DLP_OK;
            dlp_image_free(&image);
            dlp_jpeg_coefficients_free(&coefficients);
            free(bytes);
            images++;
            elapsed = now_seconds() - start;
        }
        double rate = images / elapsed;
        if (mode == 0) {
            full_rate = rate;
            printf("decode single_core images=%zu failed=%zu seconds=%.2f images_per_s=%.1f cores=%ld "
                   "ceiling_images_per_s=%.0f\n", images, failed, elapsed, rate, cores, rate * cores);
        } else {
            printf("decode_coefficients single_core images=%zu failed=%zu seconds=%.2f images_per_s=%.1f cores=%ld "
                   "ceiling_images_per_s=%.0f of_full_decode_time=%.3f\n", images, failed, elapsed, rate, cores,
                   rate * cores, full_rate / rate);
        }
        failed_total += failed;
    }
    dlp_dataset_destroy(dataset);
    free(room);
    return failed_total ? 1 : 0;
}

/* backend_choice.h: the backend a --device string names, the same way in
 * every command and library entry point that takes one (the featurizer, the
 * predictor, dlp apply). */
#ifndef DLP_SRC_GRAPH_BACKEND_CHOICE_H
#define DLP_SRC_GRAPH_BACKEND_CHOICE_H

#include "dlp/graph.h"

enum { DLP_BACKEND_DESCRIPTION_CAPACITY = 320 };

typedef struct dlp_backend_choice {
    dlp_backend *backend;
    int cuda_device;        /* -1: the CPU */
    const char *precision;  /* what the network computes in: "fp32", "tf32", "fp16" or "bf16" */
    char described[DLP_BACKEND_DESCRIPTION_CAPACITY];  /* "cuda:0 (NVIDIA H200, fp16)", "cpu (2 threads; no GPU: <why>)" */
} dlp_backend_choice;

/* device: "auto" (also NULL or ""), "cpu", "cuda" or "cuda:N". cuda[:N] must
 * work; auto takes CUDA device 0 when it works, else the CPU, with the reason
 * in described. cuda_options may be NULL (fp32). A precision other than fp32
 * is refused for "cpu" (the CPU backend computes in fp32 only); for auto
 * without a GPU it falls back to fp32 and says so. threads: the CPU
 * backend's (<= 0: all cores). Errors: DLP_ERR_INVALID_ARGUMENT (the
 * string), DLP_ERR_DEVICE (cuda asked for and not usable). */
dlp_status dlp_backend_choose(const char *device, int threads, const dlp_cuda_options *cuda_options,
                              dlp_backend_choice *choice);

/* "cuda" -> 0, "cuda:N" -> N; -1 when text is not a CUDA device. */
int dlp_cuda_device_index(const char *text);

#endif

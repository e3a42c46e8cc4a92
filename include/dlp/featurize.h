/* dlp/featurize.h: a zoo network with its top peeled off, run over the image
 * rows of a dataset (sparkdl's DeepImageFeaturizer). Rows never disappear: a
 * row whose file is missing or corrupt gets an error (dlp_dataset_set_error)
 * and a row of NaN features; the other rows are unaffected. */
#ifndef DLP_FEATURIZE_H
#define DLP_FEATURIZE_H

#include <stdbool.h>
#include <stddef.h>

#include "dlp/core.h"
#include "dlp/dataset.h"
#include "dlp/graph.h"
#include "dlp/image.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dlp_featurizer_options {
    const char *model;       /* zoo name, e.g. "InceptionV3" (case, '_' and '-' ignored) */
    const char *weights;     /* a weight file (.safetensors, Keras .h5, TF.js model.json or its folder);
                                NULL: dlp_weights_find(model) */
    dlp_pooling pooling;     /* default DLP_POOLING_AVG */
    dlp_resize resize;       /* default DLP_RESIZE_AREA (sparkdl's) */
    int batch_size;          /* images per network run; <= 0: 16 on the CPU, 64 on a GPU (fewer where
                                64 images' activations would take over half the free device memory) */
    int threads;             /* decoding threads and CPU backend threads; <= 0: all cores */
    const char *device;      /* "auto" (NULL), "cpu", "cuda" or "cuda:N" */
    const char *cache_dir;   /* feature cache folder; NULL: dlp_feature_cache_default_dir(); "" disables it */
    bool cpu_preprocess;     /* resize and normalize on the CPU even on a GPU (default: on the GPU, which
                                gives the same input bit for bit; the CPU then only decodes) */
    /* CUDA only (the CPU backend is fp32): DLP_CUDA_FP32 (default), FP16 or
     * BF16, and TF32 for fp32. fp16/bf16 plans fuse conv+bias+activation
     * and, only with cuda_graphs off, choose convolution algorithms by
     * timing them (fp32 keeps the heuristic, unfused path). Device "cpu"
     * with anything but fp32 is refused; "auto" without a GPU computes in
     * fp32 and says so in dlp_featurizer_device. Features cached under another precision are not
     * reused (fp32 and CPU features are the same entries). */
    dlp_cuda_precision precision;
    bool allow_tf32;
    /* CUDA only: from the third batch of a size on, the network runs as one
     * CUDA graph launch instead of a launch per kernel (the first batch
     * launches kernel by kernel, the second is recorded). Same kernels, same
     * results; less host work per batch, which counts when the decoding
     * threads take every core. Default true (dlp_featurizer_options_init);
     * DLP_CUDA_GRAPHS=0 in the environment turns it off. */
    bool cuda_graphs;
    /* GPU resizing only: the most bytes of decoded pixels one batch ships to
     * the device (three batches are held in pinned memory); an image that
     * would take its batch past it is resized on the CPU instead (the same
     * floats). 0: 256 MiB; otherwise at least 3. */
    size_t packed_budget_bytes;
} dlp_featurizer_options;

/* The defaults above (model NULL: the caller must set it). */
void dlp_featurizer_options_init(dlp_featurizer_options *options);

typedef struct dlp_featurizer dlp_featurizer;

/* Loads the weights, builds the model with its featurizer output, picks the
 * device and plans the network. Errors: DLP_ERR_INVALID_ARGUMENT (unknown
 * model or device string), DLP_ERR_MODEL (weights refused: the importer's or
 * the binder's message), DLP_ERR_DEVICE (device "cuda" asked for and not
 * usable; "auto" falls back to the CPU instead), DLP_ERR_IO. */
dlp_status dlp_featurizer_create(const dlp_featurizer_options *options, dlp_featurizer **featurizer);
void dlp_featurizer_destroy(dlp_featurizer *featurizer);

/* Feature dimension D (2048 for InceptionV3 with avg pooling). */
size_t dlp_featurizer_dim(const dlp_featurizer *featurizer);
/* Images per network run: options.batch_size, or the default it chose (16 on the CPU; 64 on a GPU, or fewer
 * where 64 would not fit). dlp_featurizer_run cuts its rows into batches of this size from first on. */
int dlp_featurizer_batch_size(const dlp_featurizer *featurizer);
const dlp_model_info *dlp_featurizer_model(const dlp_featurizer *featurizer);
/* The weight file used, and the hex sha256 of the weights themselves: tensor
 * names, shapes and float32 data in Keras order, so the same weights read
 * from .h5, model.json or .safetensors have the same digest. */
const char *dlp_featurizer_weights_path(const dlp_featurizer *featurizer);
const char *dlp_featurizer_weights_sha256(const dlp_featurizer *featurizer);
/* "cpu (2 threads)" or "cuda:0 (NVIDIA H100 80GB HBM3)"; ", fp16" (tf32, bf16) added inside the
 * parentheses when not fp32. */
const char *dlp_featurizer_device(const dlp_featurizer *featurizer);

typedef struct dlp_featurize_stats {
    size_t rows;           /* rows asked for */
    size_t cache_hits;     /* rows whose features came from the cache */
    size_t computed;       /* rows that went through the network */
    size_t failed;         /* rows with an error (new or earlier) */
    double seconds;        /* wall time of the call */
    /* Wall time from the call to the first batch's features landing
     * (computed or from the cache): the run's one-time start (batch buffers;
     * on a GPU under the timed search, choosing each convolution's
     * algorithm), with first_batch_rows rows. 0 for no rows. */
    double first_batch_seconds;
    size_t first_batch_rows;
    /* Of computed, the rows whose JPEG the GPU finished decoding from its
     * DCT coefficients (the JPEG split, on unless DLP_JPEG_SPLIT=0; README
     * "Environment"). */
    size_t jpeg_split;
} dlp_featurize_stats;

/* Called after each batch from the calling thread; done counts finished rows. */
typedef void (*dlp_featurize_progress)(void *context, size_t done, size_t total);

/* Featurizes rows [first, first + count) of dataset into features (count x D
 * floats, row-major). The featurizer keeps its batch buffers (page-locked on
 * a GPU: a few batches of decoded images) from one call to the next, so that
 * many short calls do not allocate and pin them each time; they are freed
 * with it. Failed rows (already failed, or failing now: the reason
 * is recorded on the row) get NaN features. With a cache, each image's
 * features are stored under the sha256 of its file bytes and of the
 * configuration (model, weights digest, pooling, resize), and found again on
 * the next call without decoding or running the network. Returns DLP_OK unless
 * the call itself fails (invalid arguments, out of memory, a device error);
 * stats and progress may be NULL. */
dlp_status dlp_featurizer_run(dlp_featurizer *featurizer, dlp_dataset *dataset, size_t first, size_t count,
                              float *features, dlp_featurize_progress progress, void *progress_context,
                              dlp_featurize_stats *stats);

/* $DLP_CACHE_DIR, else $XDG_CACHE_HOME/dlp, else $HOME/.cache/dlp, else NULL. */
const char *dlp_feature_cache_default_dir(void);

#ifdef __cplusplus
}
#endif
#endif

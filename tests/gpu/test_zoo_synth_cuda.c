/* test_zoo_synth_cuda.c: test_zoo_synth.c's checks (the five zoo models with
 * dlp-synth-v1 weights on the fixture photos against tf-keras 2.18, relative
 * L2 <= 1e-4) run on the CUDA backend; skips without a device. */
#define ZOO_SYNTH_MODELS "inception_v3,xception,resnet50,vgg16,vgg19"
#define ZOO_SYNTH_SUITE "zoo_synth_cuda"
#define ZOO_SYNTH_BACKEND_CUDA 1
#include "dlp/device.h"
#include "unit/test_zoo_synth.c"

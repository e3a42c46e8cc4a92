/* test_predictor_cuda.c: the ImageNet predictor suite (tests/unit/test_predictor.c)
 * on the CUDA backend (fp32, TF32 off) for all five models: top 5 against
 * Keras' decode_predictions with the same rules and tolerances as on the CPU,
 * plus the ResNet50 file, refusal and `dlp classify --device cuda` checks.
 * Skips without a CUDA device. */
#define PREDICTOR_DEVICE "cuda"
#define PREDICTOR_MODELS "inception_v3,xception,resnet50,vgg16,vgg19"
#define PREDICTOR_SUITE "predictor_cuda"
#include "unit/test_predictor.c"
